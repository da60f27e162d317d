"""krakenwire: the fastest way to cancel orders on Kraken from Python.

A Kraken Spot WebSocket v2 trading client centred on ``batch_cancel``, built on picows and
msgspec, with a local simulator (:mod:`krakenwire.sim`) and a public sans-IO core
(:mod:`krakenwire.protocol`). Start with :func:`connect`.
"""

from ._auth import Credentials, CredentialsError, Token, TokenFetcher, sign
from ._config import (
    DEFAULT_TIMEOUT,
    ClientConfig,
    ClientStats,
    ConnectBudget,
    ReconnectPolicy,
    StateChange,
)
from ._connect import connect
from ._events import ChannelFrame
from ._keeper import CancelAfterKeeper
from ._openorders import OpenOrders
from ._orders import OrderType, Side, TimeInForce
from ._results import (
    AddOrderResult,
    AmendOrderResult,
    BatchAddItem,
    BatchAddResult,
    BatchCancelResult,
    CancelAfterResult,
    CancelAllResult,
    CancelConfirmation,
    CancelOrderReply,
    CancelOrderResult,
    CancelOrdersResult,
    ChunkOutcome,
    EditOrderResult,
    PongResult,
    Reconciliation,
)
from ._timefmt import format_timestamp, parse_timestamp
from ._views import OrderView, PluginContext, RequestView
from .client import Client
from .errors import (
    Abandoned,
    AuthError,
    CancelOnlyMode,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    DeadlineElapsed,
    InsufficientFunds,
    InvalidArguments,
    InvalidOrder,
    InvalidPrice,
    InvalidSession,
    KrakenAPIError,
    KrakenwireError,
    LocalProtocolError,
    NotConnected,
    NotExecuted,
    OrdersLimitExceeded,
    OutcomeUnknown,
    PermissionDenied,
    ProtocolError,
    RateLimitExceeded,
    RemoteProtocolError,
    RequestTimeout,
    RiskRejected,
    ServiceUnavailable,
    ValidationError,
)
from .hookspecs import Veto, hookimpl

__version__ = "0.1.0"

__all__ = [
    "Abandoned",
    "AddOrderResult",
    "AmendOrderResult",
    "AuthError",
    "BatchAddItem",
    "BatchAddResult",
    "BatchCancelResult",
    "CancelAfterKeeper",
    "CancelAfterResult",
    "CancelAllResult",
    "CancelConfirmation",
    "CancelOnlyMode",
    "CancelOrderReply",
    "CancelOrderResult",
    "CancelOrdersResult",
    "ChannelFrame",
    "ChunkOutcome",
    "Client",
    "ClientConfig",
    "ClientStats",
    "ConnectBudget",
    "ConnectError",
    "ConnectionClosed",
    "ConnectionLost",
    "Credentials",
    "CredentialsError",
    "DEFAULT_TIMEOUT",
    "DeadlineElapsed",
    "EditOrderResult",
    "InsufficientFunds",
    "InvalidArguments",
    "InvalidOrder",
    "InvalidPrice",
    "InvalidSession",
    "KrakenAPIError",
    "KrakenwireError",
    "LocalProtocolError",
    "NotConnected",
    "NotExecuted",
    "OpenOrders",
    "OrderType",
    "OrderView",
    "OrdersLimitExceeded",
    "OutcomeUnknown",
    "PermissionDenied",
    "PluginContext",
    "PongResult",
    "ProtocolError",
    "RateLimitExceeded",
    "Reconciliation",
    "ReconnectPolicy",
    "RemoteProtocolError",
    "RequestTimeout",
    "RequestView",
    "RiskRejected",
    "ServiceUnavailable",
    "Side",
    "StateChange",
    "TimeInForce",
    "Token",
    "TokenFetcher",
    "ValidationError",
    "Veto",
    "connect",
    "format_timestamp",
    "hookimpl",
    "parse_timestamp",
    "sign",
]
