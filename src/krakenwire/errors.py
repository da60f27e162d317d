"""Every exception krakenwire raises, all under [`KrakenwireError`][krakenwire.KrakenwireError],
data in attributes.

Every error says which of three things happened, as a base class a caller can catch:
[`NotExecuted`][krakenwire.NotExecuted] (nothing was sent, or Kraken refused it:
``ValidationError``, ``RiskRejected``, ``KrakenAPIError`` and its per-code subclasses,
``AuthError``, ``ConnectError``, ``NotConnected``) or [`OutcomeUnknown`][krakenwire.OutcomeUnknown]
(it may or may not have executed: ``RequestTimeout``, ``ConnectionLost``, ``RemoteProtocolError``,
``Abandoned``); anything else is a success and comes back as a result. Within that, the tree also
says who broke the rules (h11/h2 style).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "Abandoned",
    "AuthError",
    "CancelOnlyMode",
    "ConnectError",
    "ConnectionClosed",
    "ConnectionLost",
    "DeadlineElapsed",
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
    "OrdersLimitExceeded",
    "OutcomeUnknown",
    "PermissionDenied",
    "ProtocolError",
    "RateLimitExceeded",
    "RateLimitPaced",
    "RemoteProtocolError",
    "RequestTimeout",
    "RiskRejected",
    "ServiceUnavailable",
    "ValidationError",
    "error_for_code",
    "reply_error",
]


class KrakenwireError(Exception):
    """Base class of every error raised by krakenwire."""

    #: ``"rejected"`` (did not execute) or ``"unknown"`` (may or may not have executed).
    outcome = "rejected"


class NotExecuted(KrakenwireError):
    """The request did not execute: it was never sent (bad input, a veto, no connection) or
    Kraken refused it. Safe to fix and retry."""

    outcome = "rejected"


class OutcomeUnknown(KrakenwireError):
    """The request was sent and its fate is UNKNOWN: it may or may not have executed.

    Reconcile through the executions stream (``client.reconcile(exc.ids)``) before assuming
    either; re-cancelling is safe (cancels are idempotent), re-placing an order is not.

    Attributes:
        req_id: the request's ``req_id``.
        method: the request's method.
        ids: the order ids / cl_ord_ids the request named, if any.
        replies: the replies that did arrive before the outcome became unknown (a multi-id
            ``cancel_order``), as [`CancelOrderReply`][krakenwire.CancelOrderReply] items.
    """

    outcome = "unknown"

    def __init__(
        self,
        message: str,
        *,
        req_id: int | None = None,
        method: str = "",
        ids: Sequence[str] = (),
        replies: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self.req_id = req_id
        self.method = method
        self.ids = tuple(ids)
        self.replies = tuple(replies)


class ProtocolError(KrakenwireError):
    """One side broke the Kraken WebSocket v2 protocol; see the two subclasses."""


class LocalProtocolError(ProtocolError, NotExecuted, ValueError):
    """We were about to send something Kraken forbids. Nothing was sent; fix the call."""


class ValidationError(LocalProtocolError):
    """Bad input to a client call, detected before anything was sent.

    Attributes:
        field: the parameter at fault (``"orders"``, ``"cl_ord_id"``, ...).
        value: the offending value (an order id, a count), never a secret.
    """

    def __init__(self, message: str, *, field: str = "", value: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class RemoteProtocolError(ProtocolError, OutcomeUnknown):
    """A frame from the server could not be parsed or matched. Counted; never fatal.

    As a request's outcome (the reply to it was unreadable, or said ``success: true`` without
    a result), the request reached Kraken and its fate is UNKNOWN: reconcile.
    """


class ConnectionClosed(KrakenwireError, ConnectionError):
    """The WebSocket is not open (never opened, closed by us or by the server). See
    [`NotConnected`][krakenwire.NotConnected] (nothing sent),
    [`ConnectError`][krakenwire.ConnectError] and [`ConnectionLost`][krakenwire.ConnectionLost]."""


class NotConnected(ConnectionClosed, NotExecuted):
    """A call was made while the connection is not open (reconnecting or closed): nothing was
    sent. Wait with ``client.wait_connected()`` and retry, or give up."""


class ConnectError(ConnectionClosed, NotExecuted):
    """Connecting failed (refused, unreachable, handshake rejected, no answer to the executions
    subscribe in time). Nothing was sent."""


class ConnectionLost(ConnectionClosed, OutcomeUnknown):
    """The connection dropped while this request was in flight: its outcome is UNKNOWN.

    The request may or may not have executed. Reconcile through the executions stream (or
    re-cancel, which is idempotent for cancels) before assuming either.
    """


class RequestTimeout(OutcomeUnknown, TimeoutError):
    """No (complete) reply within ``timeout`` seconds: the outcome is UNKNOWN.

    Attributes:
        timeout: the seconds waited.
        partial: alias of ``replies`` (the replies that did arrive).
    """

    def __init__(
        self, message: str, *, timeout: float = 0.0, partial: Sequence[Any] = (), **kw: Any
    ) -> None:
        kw.setdefault("replies", partial)
        super().__init__(message, **kw)
        self.timeout = timeout

    @property
    def partial(self) -> tuple[Any, ...]:
        return self.replies


class Abandoned(OutcomeUnknown):
    """The caller stopped waiting (its task was cancelled, e.g. by ``asyncio.wait_for``) after
    the request was sent: its outcome is UNKNOWN. The caller sees ``CancelledError``; this is
    the outcome the audit hook records."""


class RiskRejected(NotExecuted):
    """A pre-send risk hook vetoed the request; nothing was sent.

    Attributes:
        veto: the veto object returned by the hook (has ``reason`` and ``plugin``).
        reason: the veto's reason.
        plugin: the name of the plugin that vetoed (or failed, which also blocks).
    """

    def __init__(self, veto: Any) -> None:
        self.veto = veto
        self.request: Any = None  # the RequestView that was vetoed, when there was one
        self.reason: str = getattr(veto, "reason", str(veto))
        self.plugin: str = getattr(veto, "plugin", "") or ""
        who = f" by plugin {self.plugin!r}" if self.plugin else ""
        super().__init__(f"request vetoed{who}: {self.reason}")


class RateLimitPaced(NotExecuted):
    """A [`Pacer`][krakenwire.Pacer] held back an order-entry request that Kraken's trading rate
    counter would refuse (``EOrder:Rate limit exceeded``), and waiting for the counter to decay
    would take longer than allowed (or the pacer refuses instead of waiting): nothing was sent.

    Attributes:
        symbol: the pair whose counter is full.
        counter: the pacer's value of that counter now.
        threshold: the counter's limit (less the pacer's headroom).
        cost: what the request would add.
        wait: seconds of decay until it fits (``inf`` if it never can).
    """

    def __init__(
        self, symbol: str, counter: float, threshold: float, cost: float, wait: float
    ) -> None:
        self.symbol = symbol
        self.counter = counter
        self.threshold = threshold
        self.cost = cost
        self.wait = wait
        super().__init__(
            f"rate counter of {symbol} at {counter:.1f} + {cost:g} would pass {threshold:g}: "
            f"held back before sending (fits in {wait:.2f} s); nothing was sent"
        )


class AuthError(NotExecuted):
    """Authentication failed: token fetch refused, or a token rejected by the server.

    Attributes:
        error: Kraken's exact error string, when there is one.
    """

    def __init__(self, message: str, *, error: str = "") -> None:
        super().__init__(message)
        self.error = error


class KrakenAPIError(NotExecuted):
    """Kraken answered ``success: false``. The request was rejected, so it did not execute.

    Attributes:
        error: Kraken's exact error string (e.g. ``"EOrder:Invalid order"``); ``code`` is an alias.
        req_id: the request's ``req_id``.
        method: the request's method.
    """

    def __init__(self, error: str, *, req_id: int | None = None, method: str = "") -> None:
        super().__init__(f"{method or 'request'} rejected by Kraken: {error}")
        self.error = error
        self.req_id = req_id
        self.method = method

    @property
    def code(self) -> str:
        return self.error


class InvalidArguments(KrakenAPIError):
    """``EGeneral:Invalid arguments`` (and its ``:detail`` forms), ``Unsupported field: ...``,
    ``<Field> field must be a number_float``, ``Unsupported event``: the server found the
    request malformed."""


class PermissionDenied(KrakenAPIError):
    """``EGeneral:Permission denied``: the API key lacks a permission."""


class InvalidOrder(KrakenAPIError):
    """``EOrder:Invalid order`` / ``EOrder:Unknown order``: no such open order."""


class InvalidPrice(KrakenAPIError):
    """``EOrder:Invalid price`` (and ``EOrder:Tick size check failed``): fix the price."""


class RateLimitExceeded(KrakenAPIError):
    """``EOrder:Rate limit exceeded`` and the other rate-limit errors: back off."""


class InsufficientFunds(KrakenAPIError):
    """``EOrder:Insufficient funds``."""


class OrdersLimitExceeded(KrakenAPIError):
    """``EOrder:Orders limit exceeded``: too many open orders on the pair."""


class ServiceUnavailable(KrakenAPIError):
    """``EService:Unavailable`` (maintenance) or ``EGeneral:Internal error``."""


class CancelOnlyMode(KrakenAPIError):
    """``EService:Market in cancel_only mode`` / ``post_only mode``: only some requests work."""


class DeadlineElapsed(KrakenAPIError):
    """``EService:Deadline elapsed``: the request's ``deadline`` passed before matching."""


class InvalidSession(KrakenAPIError, AuthError):
    """``ESession:Invalid session`` / ``EAPI:Invalid token`` / ``Token(s) not found``: the
    token is bad, stale or missing."""

    def __init__(self, error: str, *, req_id: int | None = None, method: str = "") -> None:
        KrakenAPIError.__init__(self, error, req_id=req_id, method=method)


# One dict keyed on the exact code; anything else falls back to KrakenAPIError.
_BY_CODE: dict[str, type[KrakenAPIError]] = {
    "EGeneral:Invalid arguments": InvalidArguments,
    "EGeneral:Permission denied": PermissionDenied,
    "EOrder:Invalid order": InvalidOrder,
    "EOrder:Unknown order": InvalidOrder,
    "EOrder:Rate limit exceeded": RateLimitExceeded,
    "EOrder:Domain rate limit exceeded": RateLimitExceeded,
    "EAuth:Rate limit exceeded": RateLimitExceeded,
    "EAuth:Too many requests": RateLimitExceeded,
    "EGeneral:Too many requests": RateLimitExceeded,
    "EOrder:Insufficient funds": InsufficientFunds,
    "EOrder:Invalid price": InvalidPrice,
    "EOrder:Tick size check failed": InvalidPrice,
    "EOrder:Orders limit exceeded": OrdersLimitExceeded,
    "EService:Unavailable": ServiceUnavailable,
    "EGeneral:Internal error": ServiceUnavailable,
    "EService:Market in cancel_only mode": CancelOnlyMode,
    "EService:Market in post_only mode": CancelOnlyMode,
    "EService:Deadline elapsed": DeadlineElapsed,
    "ESession:Invalid session": InvalidSession,
    "EAPI:Invalid token": InvalidSession,
    # Recorded from the live venue (kraken-ws-v2.md section 9): a request without a token, and
    # a request Kraken could not place at all (subscribe with a bad body).
    "Token(s) not found": InvalidSession,
    "Unsupported event": InvalidArguments,
}
# Recorded prefixes/suffixes: "Unsupported field: 'price' for the given msg type: add order",
# "Limit_price field must be a number_float".
_UNSUPPORTED = "Unsupported field: "
_NOT_A_NUMBER = " field must be a number_float"


def reply_error(
    error: str | None, success: bool | None, *, req_id: int | None = None, method: str = ""
) -> KrakenAPIError | RemoteProtocolError:
    """The outcome of a reply that Kraken did not accept.

    ``success: false`` (or an error string) is Kraken's rejection (`error_for_code`). A
    reply with neither ``success`` nor ``error`` is one we cannot read: the request executed or
    not, we cannot tell, so it is never reported as a rejection. (A ``success: true`` reply is
    a result, never this: the settle functions read what they can, see ``_shapes``; a caller
    that still passes one gets the unknown outcome, as before.)
    """
    if success or (success is None and not error):
        what = "says success but has no result" if success else "has neither success nor error"
        return RemoteProtocolError(
            f"{method or 'request'} req_id={req_id}: reply {what}; the outcome is unknown",
            req_id=req_id,
            method=method,
        )
    return error_for_code(
        error or "success:false with no error string", req_id=req_id, method=method
    )


def error_for_code(error: str, *, req_id: int | None = None, method: str = "") -> KrakenAPIError:
    """Build the most specific [`KrakenAPIError`][krakenwire.KrakenAPIError] for Kraken's error
    string."""
    cls = _BY_CODE.get(error)
    if cls is None and (error.endswith(_NOT_A_NUMBER) or error.startswith(_UNSUPPORTED)):
        cls = InvalidArguments  # Kraken's own words for a malformed request (recorded)
    if cls is None:
        # "EGeneral:Internal error:123" and "EGeneral:Invalid arguments:Index unavailable"
        # carry a suffix; match on the first two colon-separated parts.
        head = ":".join(error.split(":", 2)[:2])
        cls = _BY_CODE.get(head, KrakenAPIError)
    return cls(error, req_id=req_id, method=method)
