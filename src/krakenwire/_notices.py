"""Kraken's connection-level notices: frames that answer no request and belong to no channel.

Two are recorded from the live venue (kraken-ws-v2.md sections 5 and 9): the v1-era flood
notice ``{"Error":"Exceeded msg rate"}`` (a JSON object with a capital ``Error`` and nothing
else) and the bare text frame ``CloudFlare WebSocket proxy restarting`` (not JSON at all: the
proxy in front of Kraken is about to drop the socket). Neither settles a request: a request
that drew the flood notice gets no reply and ends by its deadline (outcome unknown), exactly as
before. They are counted (``ClientStats.rate_limit_notices``/``proxy_restarts``) and logged,
rate-limited. Sans-IO: the transport calls `classify` on the frames the session could
not place (a ``Malformed`` event, or a ``ChannelFrame`` with no channel) and `record`
with what it returns.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

__all__ = [
    "PROXY_RESTARTING",
    "RATE_LIMITED",
    "Notice",
    "classify",
    "flood_notice",
    "record",
]

log = logging.getLogger("krakenwire")

RATE_LIMITED = "rate_limited"
PROXY_RESTARTING = "proxy_restarting"
_PROXY_TEXT = b"CloudFlare WebSocket proxy restarting"


class Notice(msgspec.Struct, frozen=True, gc=False):
    """A connection-level notice: ``kind`` is `RATE_LIMITED` or
    `PROXY_RESTARTING`; ``text`` Kraken's words (never a secret: these frames carry
    none)."""

    kind: str
    text: str


class _Flood(msgspec.Struct):
    Error: str | None = None  # noqa: N815 - Kraken's key
    method: str = ""
    channel: str = ""
    req_id: int | None = None


_decode_flood = msgspec.json.Decoder(_Flood).decode


def classify(payload: bytes | memoryview) -> Notice | None:
    """The notice a frame carries, or ``None`` for any other frame. Cheap on the frames it is
    meant for (rare, off the reply path); never raises."""
    data = bytes(payload[:512])
    if data.strip().startswith(_PROXY_TEXT):
        return Notice(PROXY_RESTARTING, data.strip().decode("ascii", "replace"))
    if b'"Error"' not in data:
        return None
    try:
        f = _decode_flood(payload)
    except Exception:
        return None
    if f.Error is None or f.method or f.channel or f.req_id is not None:
        return None  # an error that answers a request is the session's, not a notice
    return Notice(RATE_LIMITED if "rate" in f.Error.lower() else "error", f.Error)


def flood_notice(error: str) -> Notice:
    """The notice of a decoded ``{"Error": ...}`` frame that names no request or channel."""
    return Notice(RATE_LIMITED if "rate" in error.lower() else "error", error)


def record(stats: Any, notice: Notice, where: str = "") -> None:
    """Count ``notice`` in ``stats`` (a `ClientStats`) and log it: the first 10 of each
    kind and every 1000th after (a flood of them must not flood the log too)."""
    if notice.kind == PROXY_RESTARTING:
        stats.proxy_restarts += 1
        n = stats.proxy_restarts
        what = "Kraken's proxy announced a restart: this socket will drop"
    elif notice.kind == RATE_LIMITED:
        stats.rate_limit_notices += 1
        n = stats.rate_limit_notices
        what = "Kraken refused a message for the message rate (it gets no reply)"
    else:
        stats.channel += 1
        n = stats.channel
        what = "Kraken sent an error that answers no request"
    if n <= 10 or n % 1000 == 0:
        log.warning("krakenwire%s: %s (%d so far): %s", where, what, n, notice.text)
