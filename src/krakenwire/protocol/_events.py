"""The events the sans-IO session emits: small immutable Structs holding nothing of the
transport (no Future, no socket, no token)."""

from __future__ import annotations

from typing import Any

import msgspec

from .._notices import Notice
from .._views import RequestView
from ..errors import KrakenwireError

__all__ = [
    "Absorbed",
    "ChannelFrame",
    "Completed",
    "Event",
    "Failed",
    "Malformed",
    "Notice",
    "Stale",
    "Unmatched",
]


class Completed(msgspec.Struct, frozen=True, gc=False):
    """A request succeeded: ``result`` is its typed result. ``handle`` is the ``req_id`` it was
    first sent with (the key the caller waits on); ``request`` its view when plugins want it."""

    handle: int
    result: Any
    request: RequestView | None = None
    elapsed_ns: int = 0


class Failed(msgspec.Struct, frozen=True, gc=False):
    """A request ended in an error: a ``NotExecuted`` or an ``OutcomeUnknown`` subclass."""

    handle: int
    error: KrakenwireError
    request: RequestView | None = None
    elapsed_ns: int = 0


class Absorbed(msgspec.Struct, frozen=True, gc=False):
    """One copy of a request with several (hedged, failed over, re-sent for a new token)
    settled; its caller waits for the merged outcome. ``req_id`` is the copy's own: the audit
    pairs this outcome with the copy's intent. Wakes nobody."""

    req_id: int
    outcome: Any
    request: RequestView | None = None
    elapsed_ns: int = 0


class Stale(msgspec.Struct, frozen=True, gc=False):
    """Kraken rejected a request for a stale token; it is held (not executed) until
    `Router.resend_held` (after a token refresh) or `Router.fail_held`."""

    handle: int
    fresh: bool = False  # a newer token is already in use: re-send now, no new fetch
    conn: int = 0  # the connection whose token was refused


class ChannelFrame(msgspec.Struct, frozen=True, gc=False):
    """A frame that is not a method reply: status, heartbeat, executions, or unknown."""

    channel: str
    type: str
    data: Any
    sequence: int | None


class Unmatched(msgspec.Struct, frozen=True, gc=False):
    """A method reply that completes nothing: no such pending ``req_id``, another method, a
    duplicate, or an order the request did not name. Counted, never delivered."""

    method: str
    req_id: int | None
    reason: str


class Malformed(msgspec.Struct, frozen=True, gc=False):
    """A frame that could not be decoded at all (not JSON, not an object, nested too deep)."""

    reason: str


Event = Completed | Failed | Absorbed | Stale | ChannelFrame | Unmatched | Malformed | Notice
