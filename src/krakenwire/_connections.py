"""The client's sockets (one, or two with a warm standby) around the one router that decides.

`Connections` sends a request on the right socket (the primary, both for a hedge, the
chunks of a ``cancel_orders``), hands every received frame to the `Router` and acts on
its events: wake the caller's Future (or callback), schedule the audit, route channel frames to
the socket's lifecycle. When a socket drops it asks the router what happens to each request on
it (an idempotent one is re-sent on the standby; the router merges its copies), promotes the
standby, and writes the re-sends. One sweeper timer expires deadlines for both sockets.
Nothing here settles a request: every outcome is the router's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import picows

from ._auth import Credentials, TokenFetcher
from ._config import ClientConfig, ClientStats, ReconnectPolicy, StateChange
from ._lifecycle import Lifecycle
from ._link import Link
from ._notices import PROXY_RESTARTING, Notice, record
from ._openorders import OpenOrders
from .errors import NotConnected, RiskRejected
from .methods import Call
from .plugins import PluginHost
from .protocol._events import Absorbed, ChannelFrame, Completed, Event, Failed, Malformed, Stale
from .protocol._router import Router

__all__ = ["SWEEP_INTERVAL", "Connections"]

log = logging.getLogger("krakenwire")
_TEXT = picows.WSMsgType.TEXT
_now_ns = time.monotonic_ns
SWEEP_INTERVAL = 0.01  # timeout resolution: a request expires within 10 ms of its deadline


class _Token:
    """One socket's token in the router, as the lifecycle reads and refreshes it."""

    __slots__ = ("router", "conn")

    def __init__(self, router: Router, conn: int) -> None:
        self.router = router
        self.conn = conn

    @property
    def token(self) -> str:
        return self.router.token(self.conn)

    def set_token(self, token: str) -> None:
        self.router.set_token(token, self.conn)

    def __repr__(self) -> str:
        return "<token redacted>"


class Connections:
    """The sockets of one client and the router that decides for all of them.

    Args:
        config: the client's frozen configuration.
        token: the WebSocket token (``None`` with ``credentials``: fetched per socket).
        credentials: API key and secret for REST token fetches.
        plugins, stats, orders, policy, context: shared with the lifecycles.
        on_state, on_executions: the user's callbacks.
        standby: keep a second socket warm.
    """

    def __init__(
        self,
        config: ClientConfig,
        token: str | None,
        credentials: Credentials | None,
        plugins: PluginHost,
        stats: ClientStats,
        orders: OpenOrders,
        policy: ReconnectPolicy,
        context: Any,
        on_state: Callable[[StateChange], None] | None,
        on_executions: Callable[[ChannelFrame], None] | None,
        standby: bool,
    ) -> None:
        n = 2 if standby else 1
        self.router = router = Router(token or "", conns=n)
        router.hold_stale = credentials is not None
        self.plugins = plugins
        self.stats = stats
        self.context = context
        self.orders = orders
        self.futures: dict[int, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.primary = 0
        self.closing = False
        self._sweeper: asyncio.TimerHandle | None = None
        self.links: list[Link] = []
        self.lives: list[Lifecycle] = []
        for i, role in enumerate(("primary", "standby")[:n]):
            link = Link(self, i)
            fetcher = (
                TokenFetcher(credentials, config.rest_url, timeout=config.timeout)
                if credentials is not None
                else None
            )
            life = Lifecycle(
                config,
                _Token(router, i),
                link,
                plugins,
                stats,
                orders,
                policy if i == 0 else ReconnectPolicy(policy.base, policy.cap, policy.budget),
                fetcher,
                on_state,
                on_executions,
                stream=i,
                role=role,
            )
            link.on_channel, link.on_stale, link.on_lost = (
                life.on_channel,
                life.on_stale,
                life.on_lost,
            )
            if standby:
                life.on_up = self._came_up
            self.links.append(link)
            self.lives.append(life)
        stats.sessions.append(router)
        orders.on_order = self._order_seen

    # ---- which socket ---------------------------------------------------------------------

    @property
    def link(self) -> Link:
        return self.links[self.primary]

    @property
    def life(self) -> Lifecycle:
        return self.lives[self.primary]

    def other(self) -> int | None:
        """The other socket's index when it is open (the standby), else ``None``."""
        for i, link in enumerate(self.links):
            if i != self.primary and link.is_open:
                return i
        return None

    def attach(self) -> None:
        self.loop = asyncio.get_running_loop()

    def _promote(self, to: int, why: str) -> None:
        old = self.primary
        self.primary = to
        self.lives[old].role, self.lives[to].role = "standby", "primary"
        self.lives[to].set_state("connected", why)
        self.plugins.event("standby_promoted", {"url": self.lives[to].config.url})

    def _came_up(self, life: Lifecycle) -> None:
        """A socket (re)connected: if the primary is still down, this one becomes primary."""
        i = self.lives.index(life)
        if i != self.primary and not self.link.is_open:
            self._promote(i, "standby promoted to primary")

    # ---- sending --------------------------------------------------------------------------

    def _open_link(self, call: Call, conn: int) -> Link:
        link = self.links[conn]
        t = link.transport
        if t is None or t.is_disconnected:
            raise NotConnected(f"not connected: {call.spec.name} was not sent")
        return link

    def _vetoed(self, exc: RiskRejected) -> None:
        audit = self.plugins.audit
        if audit is not None and exc.request is not None and self.loop is not None:
            self.loop.call_soon(audit, exc.request, exc, 0, self.context)

    def _arm(self) -> None:
        # One sweeping timer instead of a TimerHandle per request: arming and cancelling a
        # call_later cost more than the rest of the send. Never more than one.
        if self._sweeper is None and self.loop is not None:
            self._sweeper = self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    def start(
        self, call: Call, timeout: float, waiter: Any = None, conn: int | None = None
    ) -> tuple[int, Any]:
        """Send ``call`` now on the primary (or socket ``conn``); return its handle and the
        Future its outcome resolves (or ``waiter``, any object with a Future's
        ``done``/``set_result``/``set_exception``).

        Raises:
            NotConnected: no open socket (nothing sent). RiskRejected: vetoed (nothing sent).
            ValidationError: it cannot be encoded (nothing sent).
        """
        i = self.primary if conn is None else conn
        link = self._open_link(call, i)
        now = _now_ns()
        try:
            rid, data = self.router.send(call, now, int(timeout * 1e9), i)
        except RiskRejected as exc:
            self._vetoed(exc)
            raise
        loop = self.loop
        assert loop is not None
        fut = self.futures[rid] = loop.create_future() if waiter is None else waiter
        intent = self.plugins.intent
        if intent is not None:
            intent(self.router.view(rid), self.context)
        self._arm()
        t = link.transport
        assert t is not None
        t.send(_TEXT, data)
        link.last_tx_ns = now
        return rid, fut

    def start_hedged(self, call: Call, timeout: float, waiter: Any = None) -> tuple[int, Any]:
        """Send ``call`` on both sockets (the primary alone if the other is down)."""
        other = self.other()
        if other is None:
            return self.start(call, timeout, waiter)
        link = self._open_link(call, self.primary)
        now = _now_ns()
        try:
            handle, frames = self.router.send_hedged(
                call, call.copy(), now, int(timeout * 1e9), (self.primary, other)
            )
        except RiskRejected as exc:
            self._vetoed(exc)
            raise
        loop = self.loop
        assert loop is not None
        fut = self.futures[handle] = loop.create_future() if waiter is None else waiter
        self._announce(frames, handle)
        for i, data in frames:
            (link if i == self.primary else self.links[i]).write(data)
        self._arm()
        return handle, fut

    def start_group(
        self, calls: list[Call], parts: list[list[str]], timeout: float, waiter: Any = None
    ) -> tuple[int, Any]:
        """Send the chunks of one ``cancel_orders`` on the primary; one handle, one outcome
        (a ``CancelOrdersResult``). Every chunk passes the risk check before any is written."""
        link = self._open_link(calls[0], self.primary)
        now = _now_ns()
        try:
            handle, frames = self.router.send_group(
                calls, parts, now, int(timeout * 1e9), self.primary
            )
        except RiskRejected as exc:
            self._vetoed(exc)
            raise
        loop = self.loop
        assert loop is not None
        fut = self.futures[handle] = loop.create_future() if waiter is None else waiter
        intent = self.plugins.intent
        t = link.transport
        assert t is not None
        for rid, data in frames:
            if intent is not None:
                intent(self.router.view(rid), self.context)
            t.send(_TEXT, data)
        link.last_tx_ns = now
        self._arm()
        return handle, fut

    def _announce(self, frames: list[tuple[int, bytes]], handle: int) -> None:
        intent = self.plugins.intent
        if intent is None:
            return
        router = self.router
        for c in router.copies(handle):
            intent(router.view(c), self.context)

    async def call(
        self, call: Call, timeout: float, hedge: bool = False, conn: int | None = None
    ) -> Any:
        """Send ``call`` and wait for its one outcome (its result, or its error raised)."""
        if hedge:
            handle, fut = self.start_hedged(call, timeout)
        else:
            handle, fut = self.start(call, timeout, None, conn)
        try:
            return await fut
        except asyncio.CancelledError:
            self.abandon(handle)
            raise

    async def wait(self, handle: int, fut: Any) -> Any:
        try:
            return await fut
        except asyncio.CancelledError:
            self.abandon(handle)
            raise

    def abandon(self, handle: int) -> None:
        """The caller gave up: free the request now; every copy still gets its audit record."""
        self.futures.pop(handle, None)
        self._run(self.router.abandon(handle, _now_ns()))

    def resend_held(self, conn: int) -> None:
        link = self.links[conn]
        intent = self.plugins.intent
        router = self.router
        for handle, data in router.resend_held(_now_ns(), conn):
            if intent is not None:
                intent(router.view(router.copies(handle)[-1]), self.context)
            link.write(data)
        self._drain()

    def fail_held(self, conn: int) -> None:
        self._run(self.router.fail_held(_now_ns(), conn))

    # ---- receiving ------------------------------------------------------------------------

    def frame(self, conn: int, payload: bytes | memoryview, now: int) -> None:
        """One frame from socket ``conn``: what the router says it did, acted upon."""
        router = self.router
        ev = router.receive(payload, now, conn)
        if ev is not None:
            self.dispatch(ev, conn)
        if router.outbox:
            self._drain()

    def _drain(self) -> None:
        box = self.router.outbox
        while box:
            self.dispatch(box.pop(0))

    def _run(self, events: list[Event]) -> None:
        for ev in events:
            try:
                self.dispatch(ev)
            except Exception:
                self.stats.callback_errors += 1
                log.exception("krakenwire: error while settling a request")
        self._drain()

    def dispatch(self, ev: Event, conn: int = 0) -> None:
        """Act on one router event: wake the caller, schedule the audit, route the rest."""
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
            self.links[conn].on_channel(ev)  # type: ignore[arg-type]
        elif t is Absorbed:
            audit = self.plugins.audit
            if audit is not None and ev.request is not None and self.loop is not None:  # type: ignore[union-attr]
                self.loop.call_soon(audit, ev.request, ev.outcome, ev.elapsed_ns, self.context)  # type: ignore[union-attr]
        elif t is Stale:
            self.links[ev.conn].on_stale(ev)  # type: ignore[union-attr,arg-type]
        elif t is Notice:
            record(self.stats, ev)  # type: ignore[arg-type]
            if ev.kind == PROXY_RESTARTING:  # type: ignore[union-attr]
                self._restarting(conn)
        elif t is Malformed:
            n = self.stats.malformed
            if n <= 10 or n % 1000 == 0:
                log.warning("krakenwire: ignored a malformed frame (%d so far): %s", n, ev.reason)  # type: ignore[union-attr]
        elif log.isEnabledFor(logging.DEBUG):  # Unmatched: counted by the router
            log.debug("krakenwire: reply completes no request: %r", ev)

    def _restarting(self, conn: int) -> None:
        """Kraken's proxy announced that socket ``conn`` will drop: with the standby up, new
        requests go there from now on (what is in flight fails over when the socket drops)."""
        other = self.other() if conn == self.primary else None
        if other is not None:
            self._promote(other, "the primary's proxy is restarting: standby promoted")

    def _order_seen(self, order_id: str, userref: int | None, status: str | None) -> None:
        """The executions view saw an order (userref cancels complete from it)."""
        if self.router.userrefs_pending:
            self._run(self.router.order_seen(order_id, userref, status, _now_ns()))

    # ---- time and loss --------------------------------------------------------------------

    def _sweep(self) -> None:
        """Expire requests past their deadline; runs every SWEEP_INTERVAL while any pend."""
        self._sweeper = None
        router = self.router
        if not len(router):
            return
        try:
            self._run(router.tick(_now_ns()))
        finally:
            if len(router) and self.loop is not None and self._sweeper is None:
                self._sweeper = self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    def lost(self, conn: int) -> None:
        """Socket ``conn`` dropped: promote the standby if it was the primary, move the
        idempotent requests in flight to it (the router decides which), settle the rest,
        then tell the socket's lifecycle."""
        other = None if self.closing else self.other()
        if other is not None and conn == self.primary:
            self._promote(other, "standby promoted to primary")
        events, resends = self.router.failover(_now_ns(), conn, other)
        if resends and other is not None:
            to = self.links[other]
            intent = self.plugins.intent
            for rid, data in resends:
                if intent is not None:
                    intent(self.router.view(rid), self.context)
                to.write(data)
            self._arm()
        self._run(events)
        self.links[conn].on_lost(self.links[conn].close_code)

    def stop(self) -> None:
        self.closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    @property
    def pending(self) -> int:
        return len(self.router)
