"""Every exception krakenwire raises, all under :class:`KrakenwireError`, data in attributes.

The tree splits errors by who broke the rules (h11/h2 style): we refused to send something
(``LocalProtocolError`` / ``ValidationError``, ``RiskRejected``), the peer sent something we
cannot use (``RemoteProtocolError``), Kraken answered ``success: false`` (``KrakenAPIError`` and
its per-code subclasses), or the outcome is unknown (``RequestTimeout``, ``ConnectionLost``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
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
    "OrdersLimitExceeded",
    "PermissionDenied",
    "ProtocolError",
    "RateLimitExceeded",
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


class ProtocolError(KrakenwireError):
    """One side broke the Kraken WebSocket v2 protocol; see the two subclasses."""


class LocalProtocolError(ProtocolError, ValueError):
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


class RemoteProtocolError(ProtocolError):
    """A frame from the server could not be parsed or matched. Counted; never fatal.

    When it is a request's outcome (the reply to it was unreadable, or said ``success: true``
    without a result), the request reached Kraken and its fate is UNKNOWN: reconcile.
    """

    outcome = "unknown"


class ConnectionClosed(KrakenwireError, ConnectionError):
    """The WebSocket is not open (never opened, closed by us or by the server)."""


class ConnectError(ConnectionClosed):
    """Connecting failed (refused, unreachable, handshake rejected). Nothing was sent."""


class ConnectionLost(ConnectionClosed):
    """The connection dropped while this request was in flight: its outcome is UNKNOWN.

    The request may or may not have executed. Reconcile through the executions stream (or
    re-cancel, which is idempotent for cancels) before assuming either.

    Attributes:
        req_id: the request's ``req_id`` (``None`` if it never got one).
        method: the request's method.
        ids: the order ids / cl_ord_ids the request named, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        req_id: int | None = None,
        method: str = "",
        ids: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.req_id = req_id
        self.method = method
        self.ids = tuple(ids)
        self.outcome = "unknown"


class RequestTimeout(KrakenwireError, TimeoutError):
    """No (complete) reply within ``timeout`` seconds: the outcome is UNKNOWN.

    Attributes:
        req_id, method, ids: as for :class:`ConnectionLost`.
        timeout: the seconds waited.
        partial: replies that did arrive (``cancel_order`` with several ids), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        req_id: int | None = None,
        method: str = "",
        ids: Sequence[str] = (),
        timeout: float = 0.0,
        partial: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self.req_id = req_id
        self.method = method
        self.ids = tuple(ids)
        self.timeout = timeout
        self.partial = tuple(partial)
        self.outcome = "unknown"


class RiskRejected(KrakenwireError):
    """A pre-send risk hook vetoed the request; nothing was sent.

    Attributes:
        veto: the veto object returned by the hook (has ``reason`` and ``plugin``).
        reason: the veto's reason.
        plugin: the name of the plugin that vetoed (or failed, which also blocks).
    """

    def __init__(self, veto: Any) -> None:
        self.veto = veto
        self.reason: str = getattr(veto, "reason", str(veto))
        self.plugin: str = getattr(veto, "plugin", "") or ""
        who = f" by plugin {self.plugin!r}" if self.plugin else ""
        super().__init__(f"request vetoed{who}: {self.reason}")


class AuthError(KrakenwireError):
    """Authentication failed: token fetch refused, or a token rejected by the server.

    Attributes:
        error: Kraken's exact error string, when there is one.
    """

    def __init__(self, message: str, *, error: str = "") -> None:
        super().__init__(message)
        self.error = error


class KrakenAPIError(KrakenwireError):
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
    """``EGeneral:Invalid arguments``: the server found the request malformed."""


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
    """``ESession:Invalid session`` / ``EAPI:Invalid token``: the token is bad or stale."""

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
}


def reply_error(
    error: str | None, success: bool | None, *, req_id: int | None = None, method: str = ""
) -> KrakenAPIError | RemoteProtocolError:
    """The outcome of a reply that carries no usable result.

    ``success: false`` is Kraken's rejection (:func:`error_for_code`). ``success: true`` with no
    result is a reply we cannot read: the request executed or not, we cannot tell, so it is
    never reported as a rejection.
    """
    if success:
        return RemoteProtocolError(
            f"{method or 'request'} req_id={req_id}: reply says success but has no result; "
            "the outcome is unknown"
        )
    return error_for_code(
        error or "success:false with no error string", req_id=req_id, method=method
    )


def error_for_code(error: str, *, req_id: int | None = None, method: str = "") -> KrakenAPIError:
    """Build the most specific :class:`KrakenAPIError` for Kraken's error string."""
    cls = _BY_CODE.get(error)
    if cls is None:
        # "EGeneral:Internal error:123" and "EGeneral:Invalid arguments:Index unavailable"
        # carry a suffix; match on the first two colon-separated parts.
        head = ":".join(error.split(":", 2)[:2])
        cls = _BY_CODE.get(head, KrakenAPIError)
    return cls(error, req_id=req_id, method=method)
