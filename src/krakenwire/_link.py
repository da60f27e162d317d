"""The transport of one socket: bytes in and out of picows, nothing decided here.

`_Listener.on_ws_frame` hands each frame to the `Connections`
(which asks the router what it means and wakes whoever waits); `Link` writes frames and
knows its socket's state. Nothing a peer sends or a callback raises escapes the frame callback:
picows would drop the socket.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import picows

from ._config import ClientStats
from .methods import Call
from .protocol._events import ChannelFrame, Stale

__all__ = ["Hub", "Link"]

log = logging.getLogger("krakenwire")
_TEXT = picows.WSMsgType.TEXT
_CLOSE = picows.WSMsgType.CLOSE
_CONT = picows.WSMsgType.CONTINUATION
_now_ns = time.monotonic_ns
_MAX_MESSAGE = 16 * 1024 * 1024  # a fragmented message larger than this is dropped


class Hub(Protocol):
    """What a link uses of the client's connections (`Connections`)."""

    stats: ClientStats

    def attach(self) -> None: ...

    def frame(self, conn: int, payload: bytes | memoryview, now: int) -> None: ...

    def lost(self, conn: int) -> None: ...

    def start(
        self, call: Call, timeout: float, waiter: Any = None, conn: int | None = None
    ) -> tuple[int, Any]: ...

    async def call(
        self, call: Call, timeout: float, hedge: bool = False, conn: int | None = None
    ) -> Any: ...

    def resend_held(self, conn: int) -> None: ...

    def fail_held(self, conn: int) -> None: ...


class _Listener(picows.WSListener):
    """picows callbacks of one socket; everything happens synchronously inside them."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.parts: list[bytes] | None = None  # a fragmented message being reassembled
        self.size = 0

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        # Attach before the first frame: Kraken's status frame may arrive in the same read as
        # the handshake's end, before ws_connect() has returned.
        self.link.attach(transport)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        link = self.link
        if transport is not link.transport:
            return  # a socket we already left behind
        now = _now_ns()
        link.last_rx_ns = now
        conns = link.conns
        conns.stats.frames += 1
        try:
            if frame.msg_type is _TEXT and frame.fin and self.parts is None:
                conns.frame(link.conn, frame.get_payload_as_memoryview(), now)
            else:
                payload = self._other(transport, frame)
                if payload is not None:
                    conns.frame(link.conn, payload, now)
        except Exception:  # never let a frame or a callback kill the socket
            conns.stats.callback_errors += 1
            log.exception("krakenwire: error while handling a frame (the connection carries on)")

    def _other(self, transport: picows.WSTransport, frame: picows.WSFrame) -> bytes | None:
        """Close, binary and fragmented frames; returns a complete text message, if any."""
        kind = frame.msg_type
        link = self.link
        if kind is _CLOSE:
            link.close_code = frame.get_close_code()
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return None
        if kind is _TEXT and not frame.fin:
            self.parts, self.size = [frame.get_payload_as_bytes()], frame.payload_size
            return None
        if kind is _CONT and self.parts is not None:
            self.parts.append(frame.get_payload_as_bytes())
            self.size += frame.payload_size
            if self.size > _MAX_MESSAGE:
                self.parts = None
                link.conns.stats.not_understood += 1
                log.warning("krakenwire: dropped a fragmented message over %d bytes", _MAX_MESSAGE)
                return None
            if not frame.fin:
                return None
            whole, self.parts = b"".join(self.parts), None
            return whole
        if kind is _TEXT:  # a new text message interrupted a fragmented one
            self.parts = None
            return frame.get_payload_as_bytes()
        link.conns.stats.not_understood += 1  # binary, or a stray continuation: not Kraken's
        return None

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        if transport is self.link.transport:
            self.link.transport = None
            self.link.conns.lost(self.link.conn)


class Link:
    """One socket of a client: writes frames, knows whether it is open.

    ``on_channel`` (every `ChannelFrame` of this socket), ``on_stale`` (a request held
    for a new token) and ``on_lost`` (the socket dropped; every request on it already has its
    outcome or its failover re-send) are set by the lifecycle.
    """

    def __init__(self, conns: Hub, conn: int) -> None:
        self.conns = conns
        self.conn = conn
        self.on_channel: Callable[[ChannelFrame], None] = _ignore
        self.on_stale: Callable[[Stale], None] = _ignore
        self.on_lost: Callable[[Any], None] = _ignore
        self.transport: picows.WSTransport | None = None
        self.close_code: Any = None
        self.last_rx_ns = 0
        self.last_tx_ns = 0

    def listener(self) -> _Listener:
        return _Listener(self)

    def attach(self, transport: picows.WSTransport) -> None:
        """Use ``transport`` from now on (a fresh connection)."""
        self.conns.attach()
        self.transport = transport
        self.close_code = None
        self.last_rx_ns = self.last_tx_ns = _now_ns()

    @property
    def is_open(self) -> bool:
        t = self.transport
        return t is not None and not t.is_disconnected

    def write(self, data: bytes) -> None:
        """Write one frame (the caller checked the socket is open)."""
        t = self.transport
        if t is not None and not t.is_disconnected:
            t.send(_TEXT, data)
            self.last_tx_ns = _now_ns()

    # ---- requests on this very socket (the lifecycle's subscribe, the watchdog's ping) ------

    def start(self, call: Call, timeout: float, waiter: Any = None) -> tuple[int, Any]:
        """Send ``call`` on this socket (not the primary's choice)."""
        return self.conns.start(call, timeout, waiter, conn=self.conn)

    async def call(self, call: Call, timeout: float) -> Any:
        """Send ``call`` on this socket and wait for its one outcome."""
        return await self.conns.call(call, timeout, conn=self.conn)

    def resend_held(self) -> None:
        """Re-send every request held for a token refresh (the new token is in the router)."""
        self.conns.resend_held(self.conn)

    def fail_held(self) -> None:
        """No new token: every held request ends with its stale-token rejection."""
        self.conns.fail_held(self.conn)

    def drop(self) -> None:
        """Drop the socket without the close handshake (no reply to our ping)."""
        t = self.transport
        if t is not None and not t.is_disconnected:
            t.disconnect(graceful=False)

    def stop(self) -> None:
        """Nothing of its own to stop (the sweeper is the client's)."""

    def __repr__(self) -> str:
        return f"Link(conn={self.conn}, open={self.is_open})"


def _ignore(_: Any) -> None:
    pass
