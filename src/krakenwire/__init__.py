"""krakenwire: the fastest way to cancel orders on Kraken from Python.

A Kraken Spot WebSocket v2 trading client centred on ``batch_cancel``, built on picows and
msgspec, with a local simulator (:mod:`krakenwire.sim`). Start with :func:`connect`.
"""

from ._auth import Credentials, CredentialsError, Token, TokenFetcher, sign
from ._openorders import OpenOrders
from ._protocol import ChannelMessage, Pending, Session
from ._results import (
    BatchCancelResult,
    CancelAfterResult,
    CancelAllResult,
    CancelOrderReply,
    CancelOrderResult,
    CancelOrdersResult,
    ChunkOutcome,
    PongResult,
    Reconciliation,
)
from ._timefmt import format_timestamp, parse_timestamp
from .client import DEFAULT_TIMEOUT, Client, ClientStats, ConnectBudget, StateChange, connect
from .errors import (
    AuthError,
    CancelOnlyMode,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    DeadlineElapsed,
    InsufficientFunds,
    InvalidArguments,
    InvalidOrder,
    InvalidSession,
    KrakenAPIError,
    KrakenwireError,
    LocalProtocolError,
    OrdersLimitExceeded,
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
    "ConnectBudget",
    "OpenOrders",
    "Reconciliation",
    "StateChange",
    "Veto",
    "hookimpl",
    "AuthError",
    "BatchCancelResult",
    "CancelAfterResult",
    "CancelAllResult",
    "CancelOnlyMode",
    "CancelOrderReply",
    "CancelOrderResult",
    "CancelOrdersResult",
    "ChannelMessage",
    "ChunkOutcome",
    "Client",
    "ClientStats",
    "ConnectError",
    "ConnectionClosed",
    "ConnectionLost",
    "Credentials",
    "CredentialsError",
    "DEFAULT_TIMEOUT",
    "DeadlineElapsed",
    "InsufficientFunds",
    "InvalidArguments",
    "InvalidOrder",
    "InvalidSession",
    "KrakenAPIError",
    "KrakenwireError",
    "LocalProtocolError",
    "OrdersLimitExceeded",
    "Pending",
    "PermissionDenied",
    "PongResult",
    "ProtocolError",
    "RateLimitExceeded",
    "RemoteProtocolError",
    "RequestTimeout",
    "RiskRejected",
    "ServiceUnavailable",
    "Session",
    "Token",
    "TokenFetcher",
    "ValidationError",
    "connect",
    "format_timestamp",
    "parse_timestamp",
    "sign",
]
