"""The transport: bytes to and from one picows socket, and futures woken by the session's events.

The hot path lives here and decides nothing: `Link.call` hands a built request to the
session (which checks, encodes and registers it), writes the bytes and awaits a Future;
`_Listener.on_ws_frame` hands each frame to the session and resolves the Future the
event names. Outcomes, deadlines and losses are the session's decisions. Nothing a peer sends or
a callback raises escapes the frame callback: picows would drop the socket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import picows

from ._config import ClientStats
from ._events import ChannelFrame, Completed, Event, Failed, Malformed, Stale
from ._methods import Call
from ._protocol import Session
from .errors import NotConnected, RiskRejected
from .plugins import PluginHost

__all__ = ["SWEEP_INTERVAL", "Link"]

log = logging.getLogger("krakenwire")
_TEXT = picows.WSMsgType.TEXT
_CLOSE = picows.WSMsgType.CLOSE
_CONT = picows.WSMsgType.CONTINUATION
_now_ns = time.monotonic_ns
SWEEP_INTERVAL = 0.01  # timeout resolution: a request expires within 10 ms of its deadline
_MAX_MESSAGE = 16 * 1024 * 1024  # a fragmented message larger than this is dropped


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
        link.stats.frames += 1
        try:
            if frame.msg_type is _TEXT and frame.fin and self.parts is None:
                ev = link.session.receive(frame.get_payload_as_memoryview(), now)
            else:
                payload = self._other(transport, frame)
                if payload is None:
                    return
                ev = link.session.receive(payload, now)
            if ev is not None:
                link.dispatch(ev)
        except Exception:  # never let a frame or a callback kill the socket
            link.stats.callback_errors += 1
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
                link.stats.not_understood += 1
                log.warning("krakenwire: dropped a fragmented message over %d bytes", _MAX_MESSAGE)
                return None
            if not frame.fin:
                return None
            whole, self.parts = b"".join(self.parts), None
            return whole
        if kind is _TEXT:  # a new text message interrupted a fragmented one
            self.parts = None
            return frame.get_payload_as_bytes()
        link.stats.not_understood += 1  # binary, or a stray continuation: not Kraken's
        return None

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        if transport is self.link.transport:
            self.link.lost()


class Link:
    """Writes requests to the current socket and wakes their callers.

    ``on_channel`` (every [`ChannelFrame`][krakenwire.ChannelFrame]), ``on_stale`` (a request held
    for a new token) and ``on_lost`` (the socket dropped, every pending request already has its
    outcome) are set by the lifecycle.

    Args:
        session: the sans-IO session (every decision is its).
        plugins: pre-resolved hook callers.
        stats: counters to update.
        context: the read-only plugin context passed to hooks.
    """

    def __init__(
        self,
        session: Session,
        plugins: PluginHost,
        stats: ClientStats,
        context: Any,
    ) -> None:
        self.session = session
        self.plugins = plugins
        self.stats = stats
        self.context = context
        # Set by the lifecycle that owns this link:
        self.on_channel: Callable[[ChannelFrame], None] = _ignore
        self.on_stale: Callable[[Stale], None] = _ignore
        self.on_lost: Callable[[Any], None] = _ignore
        # Set by a client with a warm standby: called first when the socket drops, to move
        # idempotent requests in flight to the other socket (returns nothing).
        self.on_failover: Callable[[Link], None] | None = None
        # handle -> (link, handle) of requests moved to another link, for abandon().
        self.moved: dict[int, tuple[Link, int]] = {}
        self.transport: picows.WSTransport | None = None
        self.close_code: Any = None
        self.futures: dict[int, asyncio.Future[Any]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_rx_ns = 0
        self.last_tx_ns = 0
        self._sweeper: asyncio.TimerHandle | None = None

    def listener(self) -> _Listener:
        return _Listener(self)

    def attach(self, transport: picows.WSTransport) -> None:
        """Use ``transport`` from now on (a fresh connection)."""
        self.loop = asyncio.get_running_loop()
        self.transport = transport
        self.close_code = None
        self.last_rx_ns = self.last_tx_ns = _now_ns()

    @property
    def is_open(self) -> bool:
        t = self.transport
        return t is not None and not t.is_disconnected

    # ---- the hot path ---------------------------------------------------------------------

    def _transport(self, call: Call) -> picows.WSTransport:
        t = self.transport
        if t is None or t.is_disconnected:
            raise NotConnected(f"not connected: {call.spec.name} was not sent")
        return t

    def _vetoed(self, exc: RiskRejected) -> None:
        audit = self.plugins.audit
        if audit is not None and exc.request is not None and self.loop is not None:
            self.loop.call_soon(audit, exc.request, exc, 0, self.context)

    def start(
        self, call: Call, timeout: float, waiter: Any = None, origin: int = 0
    ) -> tuple[int, asyncio.Future[Any]]:
        """Send ``call`` now; return its handle and the Future its outcome will resolve (or
        ``waiter``, any object with a Future's ``done``/``set_result``/``set_exception``).
        ``origin`` is the handle of the request this re-sends (a failover), if any.

        Raises:
            NotConnected: no open socket (nothing sent). RiskRejected: vetoed (nothing sent).
            ValidationError: it cannot be encoded (nothing sent).
        """
        t = self._transport(call)
        now = _now_ns()
        try:
            rid, data = self.session.send(call, now, int(timeout * 1e9), origin)
        except RiskRejected as exc:
            self._vetoed(exc)
            raise
        loop = self.loop
        assert loop is not None
        fut = self.futures[rid] = loop.create_future() if waiter is None else waiter
        intent = self.plugins.intent
        if intent is not None:
            intent(self.session.view(rid), self.context)
        # One sweeping timer per connection instead of a TimerHandle per request: arming and
        # cancelling a call_later cost more than the rest of the send.
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_INTERVAL, self._sweep)
        t.send(_TEXT, data)
        self.last_tx_ns = now
        return rid, fut

    def start_all(
        self, calls: list[Call], timeout: float, waiters: list[Any] | None = None
    ) -> list[tuple[int, asyncio.Future[Any]]]:
        """Send requests that go together: every one passes the risk check before any is
        written (a veto sends none)."""
        t = self._transport(calls[0])
        now = _now_ns()
        try:
            frames = self.session.send_all(calls, now, int(timeout * 1e9))
        except RiskRejected as exc:
            self._vetoed(exc)
            raise
        loop = self.loop
        assert loop is not None
        out = []
        intent = self.plugins.intent
        for i, (rid, data) in enumerate(frames):
            fut = self.futures[rid] = loop.create_future() if waiters is None else waiters[i]
            if intent is not None:
                intent(self.session.view(rid), self.context)
            t.send(_TEXT, data)
            out.append((rid, fut))
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_INTERVAL, self._sweep)
        self.last_tx_ns = now
        return out

    async def call(self, call: Call, timeout: float) -> Any:
        """Send ``call`` and wait for its one outcome (its result, or its error raised)."""
        rid, fut = self.start(call, timeout)
        try:
            return await fut
        except asyncio.CancelledError:
            self.abandon(rid)
            raise

    def abandon(self, handle: int) -> None:
        """The caller gave up: free the request now; it still gets its audit record."""
        moved = self.moved.pop(handle, None)
        if moved is not None:  # it failed over to another socket: abandon it there
            moved[0].abandon(moved[1])
            return
        self.futures.pop(handle, None)
        for ev in self.session.abandon(handle, _now_ns()):
            self.dispatch(ev)

    def dispatch(self, ev: Event) -> None:
        """Act on one session event: wake the caller, schedule the audit, route the rest."""
        t = type(ev)
        if t is Completed or t is Failed:
            fut = self.futures.pop(ev.handle, None)  # type: ignore[union-attr]
            if t is Completed:
                if fut is not None and not fut.done():
                    fut.set_result(ev.result)  # type: ignore[union-attr]
            elif fut is not None and not fut.done():
                fut.set_exception(ev.error)  # type: ignore[union-attr]
            audit = self.plugins.audit
            if audit is not None and ev.request is not None:  # type: ignore[union-attr]
                # Scheduled after the waiter's wake-up, so the caller has its answer first.
                outcome = ev.result if t is Completed else ev.error  # type: ignore[union-attr]
                loop = self.loop
                assert loop is not None
                loop.call_soon(audit, ev.request, outcome, ev.elapsed_ns, self.context)  # type: ignore[union-attr]
        elif t is ChannelFrame:
            self.on_channel(ev)  # type: ignore[arg-type]
        elif t is Stale:
            self.on_stale(ev)  # type: ignore[arg-type]
        elif t is Malformed:
            n = self.stats.malformed
            if n <= 10 or n % 1000 == 0:
                log.warning("krakenwire: ignored a malformed frame (%d so far): %s", n, ev.reason)  # type: ignore[union-attr]
        elif log.isEnabledFor(logging.DEBUG):  # Unmatched: counted by the session
            log.debug("krakenwire: reply completes no request: %r", ev)

    def write(self, data: bytes) -> None:
        """Write a frame the session produced outside `start` (a re-send)."""
        t = self.transport
        if t is not None and not t.is_disconnected:
            t.send(_TEXT, data)
            self.last_tx_ns = _now_ns()

    def resend_held(self) -> None:
        """Re-send every request held for a token refresh (the new token is in the session)."""
        intent = self.plugins.intent
        for handle, data in self.session.resend_held(_now_ns()):
            if intent is not None:
                intent(self.session.view(handle), self.context)
            self.write(data)

    def fail_held(self) -> None:
        """No new token: every held request ends with its stale-token rejection."""
        for ev in self.session.fail_held(_now_ns()):
            self.dispatch(ev)

    def _sweep(self) -> None:
        """Expire requests past their deadline; runs every SWEEP_INTERVAL while any pend."""
        self._sweeper = None
        session = self.session
        if not len(session):
            return
        try:
            for ev in session.tick(_now_ns()):
                self.dispatch(ev)
        finally:
            if len(session) and self.loop is not None:
                self._sweeper = self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    def lost(self) -> None:
        """The socket dropped: every pending request gets its outcome, then ``on_lost``."""
        self.transport = None
        if self.on_failover is not None:
            try:
                self.on_failover(self)
            except Exception:
                log.exception("krakenwire: failover to the standby failed")
        for ev in self.session.connection_lost(_now_ns()):
            try:
                self.dispatch(ev)
            except Exception:
                log.exception("krakenwire: error while failing a request")
        self.on_lost(self.close_code)

    def drop(self) -> None:
        """Drop the socket without the close handshake (no reply to our ping)."""
        t = self.transport
        if t is not None and not t.is_disconnected:
            t.disconnect(graceful=False)

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None


def _ignore(_: Any) -> None:
    pass
