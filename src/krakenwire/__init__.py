"""krakenwire: the fastest way to cancel orders on Kraken from Python.

A Kraken Spot WebSocket v2 trading client centred on ``batch_cancel``, built on picows and
msgspec, with a local simulator ([`krakenwire.sim`][krakenwire.sim]) and a public sans-IO core
(`krakenwire.protocol`). Start with [`connect`][krakenwire.connect].

Names are imported on first use (``import krakenwire`` loads neither picows nor pluggy
until a name that needs them is used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from ._auth import Credentials, CredentialsError, Token, TokenFetcher, sign
    from ._balances import Balances
    from ._config import (
        DEFAULT_TIMEOUT,
        ClientConfig,
        ClientStats,
        ConnectBudget,
        ReconnectPolicy,
        StateChange,
    )
    from ._connect import connect
    from ._keeper import CancelAfterKeeper
    from ._openorders import OpenOrder, OpenOrders
    from ._orders import (
        ConditionalOrderType,
        ConditionalSpec,
        FeePreference,
        OrderType,
        PriceType,
        Side,
        StpType,
        TimeInForce,
        TriggerReference,
        TriggerSpec,
    )
    from ._pacer import PACER_TIERS, Pacer
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
        RateLimitPaced,
        RemoteProtocolError,
        RequestTimeout,
        RiskRejected,
        ServiceUnavailable,
        ValidationError,
    )
    from .hookspecs import Veto, hookimpl
    from .market import Book, BookInvalid, MarketData, connect_market
    from .protocol._events import ChannelFrame

# public name -> (module, attribute): loaded by __getattr__ on first use
_LAZY: dict[str, tuple[str, str]] = {
    "Abandoned": (".errors", "Abandoned"),
    "AddOrderResult": ("._results", "AddOrderResult"),
    "AmendOrderResult": ("._results", "AmendOrderResult"),
    "AuthError": (".errors", "AuthError"),
    "Balances": ("._balances", "Balances"),
    "BatchAddItem": ("._results", "BatchAddItem"),
    "BatchAddResult": ("._results", "BatchAddResult"),
    "BatchCancelResult": ("._results", "BatchCancelResult"),
    "Book": (".market", "Book"),
    "BookInvalid": (".market", "BookInvalid"),
    "CancelAfterKeeper": ("._keeper", "CancelAfterKeeper"),
    "CancelAfterResult": ("._results", "CancelAfterResult"),
    "CancelAllResult": ("._results", "CancelAllResult"),
    "CancelConfirmation": ("._results", "CancelConfirmation"),
    "CancelOnlyMode": (".errors", "CancelOnlyMode"),
    "CancelOrderReply": ("._results", "CancelOrderReply"),
    "CancelOrderResult": ("._results", "CancelOrderResult"),
    "CancelOrdersResult": ("._results", "CancelOrdersResult"),
    "ChannelFrame": (".protocol._events", "ChannelFrame"),
    "ChunkOutcome": ("._results", "ChunkOutcome"),
    "Client": (".client", "Client"),
    "ClientConfig": ("._config", "ClientConfig"),
    "ClientStats": ("._config", "ClientStats"),
    "ConditionalOrderType": ("._orders", "ConditionalOrderType"),
    "ConditionalSpec": ("._orders", "ConditionalSpec"),
    "ConnectBudget": ("._config", "ConnectBudget"),
    "ConnectError": (".errors", "ConnectError"),
    "ConnectionClosed": (".errors", "ConnectionClosed"),
    "ConnectionLost": (".errors", "ConnectionLost"),
    "Credentials": ("._auth", "Credentials"),
    "CredentialsError": ("._auth", "CredentialsError"),
    "DEFAULT_TIMEOUT": ("._config", "DEFAULT_TIMEOUT"),
    "DeadlineElapsed": (".errors", "DeadlineElapsed"),
    "EditOrderResult": ("._results", "EditOrderResult"),
    "FeePreference": ("._orders", "FeePreference"),
    "InsufficientFunds": (".errors", "InsufficientFunds"),
    "InvalidArguments": (".errors", "InvalidArguments"),
    "InvalidOrder": (".errors", "InvalidOrder"),
    "InvalidPrice": (".errors", "InvalidPrice"),
    "InvalidSession": (".errors", "InvalidSession"),
    "KrakenAPIError": (".errors", "KrakenAPIError"),
    "KrakenwireError": (".errors", "KrakenwireError"),
    "LocalProtocolError": (".errors", "LocalProtocolError"),
    "MarketData": (".market", "MarketData"),
    "NotConnected": (".errors", "NotConnected"),
    "NotExecuted": (".errors", "NotExecuted"),
    "OpenOrder": ("._openorders", "OpenOrder"),
    "OpenOrders": ("._openorders", "OpenOrders"),
    "OrderType": ("._orders", "OrderType"),
    "OrderView": ("._views", "OrderView"),
    "OrdersLimitExceeded": (".errors", "OrdersLimitExceeded"),
    "OutcomeUnknown": (".errors", "OutcomeUnknown"),
    "PACER_TIERS": ("._pacer", "PACER_TIERS"),
    "Pacer": ("._pacer", "Pacer"),
    "PermissionDenied": (".errors", "PermissionDenied"),
    "PluginContext": ("._views", "PluginContext"),
    "PongResult": ("._results", "PongResult"),
    "PriceType": ("._orders", "PriceType"),
    "ProtocolError": (".errors", "ProtocolError"),
    "RateLimitExceeded": (".errors", "RateLimitExceeded"),
    "RateLimitPaced": (".errors", "RateLimitPaced"),
    "Reconciliation": ("._results", "Reconciliation"),
    "ReconnectPolicy": ("._config", "ReconnectPolicy"),
    "RemoteProtocolError": (".errors", "RemoteProtocolError"),
    "RequestTimeout": (".errors", "RequestTimeout"),
    "RequestView": ("._views", "RequestView"),
    "RiskRejected": (".errors", "RiskRejected"),
    "ServiceUnavailable": (".errors", "ServiceUnavailable"),
    "Side": ("._orders", "Side"),
    "StateChange": ("._config", "StateChange"),
    "StpType": ("._orders", "StpType"),
    "TimeInForce": ("._orders", "TimeInForce"),
    "Token": ("._auth", "Token"),
    "TokenFetcher": ("._auth", "TokenFetcher"),
    "TriggerReference": ("._orders", "TriggerReference"),
    "TriggerSpec": ("._orders", "TriggerSpec"),
    "ValidationError": (".errors", "ValidationError"),
    "Veto": (".hookspecs", "Veto"),
    "connect": ("._connect", "connect"),
    "connect_market": (".market", "connect_market"),
    "format_timestamp": ("._timefmt", "format_timestamp"),
    "hookimpl": (".hookspecs", "hookimpl"),
    "parse_timestamp": ("._timefmt", "parse_timestamp"),
    "sign": ("._auth", "sign"),
}

__all__ = [
    "DEFAULT_TIMEOUT",
    "PACER_TIERS",
    "Abandoned",
    "AddOrderResult",
    "AmendOrderResult",
    "AuthError",
    "Balances",
    "BatchAddItem",
    "BatchAddResult",
    "BatchCancelResult",
    "Book",
    "BookInvalid",
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
    "ConditionalOrderType",
    "ConditionalSpec",
    "ConnectBudget",
    "ConnectError",
    "ConnectionClosed",
    "ConnectionLost",
    "Credentials",
    "CredentialsError",
    "DeadlineElapsed",
    "EditOrderResult",
    "FeePreference",
    "InsufficientFunds",
    "InvalidArguments",
    "InvalidOrder",
    "InvalidPrice",
    "InvalidSession",
    "KrakenAPIError",
    "KrakenwireError",
    "LocalProtocolError",
    "MarketData",
    "NotConnected",
    "NotExecuted",
    "OpenOrder",
    "OpenOrders",
    "OrderType",
    "OrderView",
    "OrdersLimitExceeded",
    "OutcomeUnknown",
    "Pacer",
    "PermissionDenied",
    "PluginContext",
    "PongResult",
    "PriceType",
    "ProtocolError",
    "RateLimitExceeded",
    "RateLimitPaced",
    "Reconciliation",
    "ReconnectPolicy",
    "RemoteProtocolError",
    "RequestTimeout",
    "RequestView",
    "RiskRejected",
    "ServiceUnavailable",
    "Side",
    "StateChange",
    "StpType",
    "TimeInForce",
    "Token",
    "TokenFetcher",
    "TriggerReference",
    "TriggerSpec",
    "ValidationError",
    "Veto",
    "connect",
    "connect_market",
    "format_timestamp",
    "hookimpl",
    "parse_timestamp",
    "sign",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'krakenwire' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), attr)
    globals()[name] = value  # once: later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
