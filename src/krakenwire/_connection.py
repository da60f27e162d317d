"""The connection under the client: picows transport, hot path, and lifecycle.

Frames are handled in picows' ``on_ws_frame`` callback (no task per frame): the sans-IO session
decodes the frame and the connection resolves the waiting Future. The lifecycle keeps the
socket alive for weeks: a watchdog pings when nothing arrives and drops a dead socket, a
reconnect loop with capped, jittered exponential backoff stays inside Kraken's connection
budget, ``executions`` is re-subscribed, a fresh token is fetched per connection (with
credentials), and close code 1008 is terminal. Every state change is logged once and delivered
to ``on_state`` and :meth:`Connection.state_changes`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Self
from urllib.parse import urlsplit

import msgspec
import picows

from ._auth import Credentials, TokenFetcher, is_loopback_host
from ._openorders import OpenOrders
from ._protocol import ChannelMessage, Pending, Session, Unmatched
from .errors import (
    AuthError,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    InvalidSession,
    KrakenAPIError,
    KrakenwireError,
    RemoteProtocolError,
    RequestTimeout,
    RiskRejected,
    ValidationError,
)
from .plugins import PluginHost

__all__ = [
    "DEFAULT_TIMEOUT",
    "ClientStats",
    "ConnectBudget",
    "Connection",
    "StateChange",
    "check_url",
]

log = logging.getLogger("krakenwire")
DEFAULT_TIMEOUT = 10.0
_TEXT = picows.WSMsgType.TEXT
_CLOSE = picows.WSMsgType.CLOSE
_POLICY_VIOLATION = picows.WSCloseCode.POLICY_VIOLATION
_now_ns = time.monotonic_ns
SWEEP_INTERVAL = 0.01  # timeout resolution: a request expires within 10 ms of its deadline
# Requests the pre-send risk check sees (not ping/subscribe housekeeping).
TRADING = frozenset(
    {
        "batch_cancel",
        "cancel_order",
        "cancel_all",
        "cancel_all_orders_after",
        "add_order",
        "batch_add",
        "amend_order",
        "edit_order",
    }
)


def check_url(url: str) -> str:
    """Refuse URLs that would leak a token: plain ``ws://`` is allowed only to loopback.

    Raises:
        ValidationError: not a ws/wss URL, or ``ws://`` to a non-loopback host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValidationError(f"not a ws:// or wss:// URL: {url!r}", field="url", value=url)
    if parts.scheme == "ws" and not is_loopback_host(parts.hostname):
        raise ValidationError(
            f"refusing plain ws:// to {parts.hostname!r}: a token never travels unencrypted; "
            "use wss:// (ws:// is allowed for loopback only)",
            field="url",
            value=url,
        )
    return url


class ClientStats:
    """Counters of frames that were not answers to our requests, and of reconnects."""

    __slots__ = (
        "frames",
        "heartbeats",
        "unmatched",
        "malformed",
        "channel",
        "reconnects",
        "token_refreshes",
    )

    def __init__(self) -> None:
        self.frames = 0
        self.heartbeats = 0
        self.unmatched = 0
        self.malformed = 0
        self.channel = 0
        self.reconnects = 0
        self.token_refreshes = 0

    def __repr__(self) -> str:
        return "ClientStats(" + ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + ")"


class StateChange(msgspec.Struct, frozen=True):
    """One state change: ``connecting``, ``connected``, ``disconnected``, ``reconnecting``,
    ``closed``. ``reason`` says why (never a secret)."""

    state: str
    previous: str
    reason: str = ""
    at: float = 0.0


class ConnectBudget:
    """At most ``max_attempts`` connection attempts in any rolling ``window`` seconds.

    Kraken's Cloudflare front bans an IP for 10 minutes after ~150 attempts in 10 minutes
    (kraken-ws-v2.md section 1); the default keeps well under that.
    """

    def __init__(
        self,
        max_attempts: int = 100,
        window: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_attempts = max_attempts
        self.window = window
        self._clock = clock
        self._times: deque[float] = deque()

    def delay(self) -> float:
        """Seconds until one more attempt fits in the budget (0 if it fits now)."""
        now = self._clock()
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()
        if len(self._times) < self.max_attempts:
            return 0.0
        return self._times[0] + self.window - now

    def record(self) -> None:
        self._times.append(self._clock())


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Capped exponential backoff, equal jitter: in ``[d/2, d]``, ``d = min(cap, base*2**n)``."""
    d = min(cap, base * 2.0 ** min(attempt, 30))
    return d / 2 + rng.uniform(0, d / 2)


class _Listener(picows.WSListener):
    """picows callbacks; everything happens synchronously inside them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        c = self.conn
        now = _now_ns()
        c._last_rx_ns = now
        if frame.msg_type is not _TEXT:
            if frame.msg_type is _CLOSE:
                c._close_code = frame.get_close_code()
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            return
        c.stats.frames += 1
        try:
            ev = c._session.receive(frame.get_payload_as_memoryview(), now)
        except RemoteProtocolError as exc:
            c.stats.malformed += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("ignored malformed frame: %s", exc)
            return
        if type(ev) is Pending:
            c._settle(ev)
        elif ev is None:
            return
        elif type(ev) is ChannelMessage:
            c._on_channel(ev)
        elif type(ev) is Unmatched:
            c.stats.unmatched += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("reply matches no pending request: %r", ev)

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        if transport is self.conn._transport:
            self.conn._on_disconnected()


class Connection:
    """Transport, hot path and lifecycle of one authenticated trading connection.

    Args:
        url: the ``ws(s)://.../v2`` endpoint.
        token: the WebSocket token (or ``None`` with ``credentials``).
        credentials, rest_url: to fetch a fresh token per connection and after the server
            invalidates one (``ESession:Invalid session`` / ``EAPI:Invalid token``).
        timeout: default seconds per call.
        reconnect: reconnect after an unexpected disconnect (not after close code 1008).
        liveness_timeout: no frame for this long -> ping; no pong within ``ping_timeout``
            -> the socket is dropped and (with ``reconnect``) re-established.
        keepalive_interval: ping when nothing was sent for this long (Kraken drops idle sockets
            after ~60 s).
        backoff_base, backoff_cap: reconnect delays; ``connect_budget`` caps attempts.
        on_state: called with each :class:`StateChange`.
        ssl_context: for ``wss://``; default verifies certificates.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        credentials: Credentials | None = None,
        rest_url: str = "https://api.kraken.com",
        timeout: float = DEFAULT_TIMEOUT,
        on_executions: Callable[[ChannelMessage], None] | None = None,
        plugins: PluginHost | None = None,
        reconnect: bool = True,
        liveness_timeout: float = 15.0,
        ping_timeout: float = 5.0,
        keepalive_interval: float = 20.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        connect_budget: ConnectBudget | None = None,
        on_state: Callable[[StateChange], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = check_url(url)
        self.timeout = timeout
        self.stats = ClientStats()
        self.status: str = ""
        self.executions_sequence: int | None = None
        self.on_executions = on_executions
        self.on_state = on_state
        self.plugins = plugins if plugins is not None else PluginHost(autoload=False)
        self.open_orders = OpenOrders()
        self.state = "connecting"
        self.reconnect = reconnect
        self.liveness_timeout = liveness_timeout
        self.ping_timeout = ping_timeout
        self.keepalive_interval = keepalive_interval
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.budget = connect_budget or ConnectBudget()
        self._credentials = credentials
        self._fetcher = (
            TokenFetcher(credentials, rest_url, timeout=timeout)
            if credentials is not None
            else None
        )
        self._ssl = ssl_context
        self._session = Session(token or "")
        self._transport: picows.WSTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._close_code: Any = None
        self._closing = False
        self._closed = asyncio.Event()
        self._connected = asyncio.Event()
        self._tick: asyncio.TimerHandle | None = None
        self._probe: asyncio.Future[Any] | None = None
        self._last_tx_ns = 0
        self._sweeper: asyncio.TimerHandle | None = None
        self._last_rx_ns = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watchers: list[asyncio.Queue[StateChange]] = []
        self._rng = random.Random()

    def __repr__(self) -> str:
        return f"<krakenwire.Client {self.url} {self.state} pending={len(self._session.pending)}>"

    @property
    def is_open(self) -> bool:
        t = self._transport
        return t is not None and not t.is_disconnected

    @property
    def pending(self) -> int:
        """Requests sent and not yet settled."""
        return len(self._session.pending)

    # ---- state ----------------------------------------------------------------------------

    def _set_state(self, state: str, reason: str = "") -> None:
        if state == self.state and not reason:
            return
        change = StateChange(state, self.state, reason, time.time())
        self.state = state
        log.info("krakenwire %s: %s%s", self.url, state, f" ({reason})" if reason else "")
        if self.on_state is not None:
            try:
                self.on_state(change)
            except Exception:
                log.exception("on_state callback raised (ignored)")
        for q in self._watchers:
            q.put_nowait(change)

    async def state_changes(self) -> AsyncIterator[StateChange]:
        """Iterate over state changes from now on, until the connection is closed for good."""
        q: asyncio.Queue[StateChange] = asyncio.Queue()
        self._watchers.append(q)
        try:
            while True:
                change = await q.get()
                yield change
                if change.state == "closed":
                    return
        finally:
            self._watchers.remove(q)

    # ---- lifecycle ------------------------------------------------------------------------

    async def _open(self, *, subscribe: bool = True) -> None:
        """First connection: failures are raised, not retried."""
        self._loop = asyncio.get_running_loop()
        self._subscribe = subscribe
        try:
            await self._connect_once(fresh_token=not self._session.token)
        except KrakenwireError as exc:
            self._closing = True
            self._set_state("closed", f"connect failed: {type(exc).__name__}")
            self._closed.set()
            raise

    async def _fresh_token(self) -> None:
        assert self._fetcher is not None
        tok = await self._fetcher.fetch()
        self._session.token = tok.value
        self.stats.token_refreshes += 1
        self.plugins.event("token_refreshed", self, {"expires": tok.expires})

    async def _connect_once(self, *, fresh_token: bool) -> None:
        if fresh_token:
            await self._fresh_token()
        self.budget.record()
        try:
            transport, _ = await picows.ws_connect(
                lambda: _Listener(self),
                self.url,
                ssl_context=self._ssl,
                websocket_handshake_timeout=self.timeout,
                enable_auto_pong=True,
            )
        except (TimeoutError, OSError, picows.WSError) as exc:
            raise ConnectError(
                f"cannot connect to {self.url}: {exc or type(exc).__name__}"
            ) from None
        self._transport = transport
        self._close_code = None
        self._last_rx_ns = _now_ns()
        self._last_tx_ns = _now_ns()
        self._arm_tick()
        if self._subscribe:
            try:
                await self.subscribe_executions()
            except KrakenAPIError as exc:
                if (
                    isinstance(exc, InvalidSession)
                    and self._fetcher is not None
                    and not fresh_token
                ):
                    # The token died server-side: one fresh one, one more try.
                    await self._fresh_token()
                    try:
                        await self.subscribe_executions()
                    except KrakenAPIError as exc2:
                        await self._drop()
                        raise AuthError(
                            f"subscribe to executions refused: {exc2.error}", error=exc2.error
                        ) from None
                else:
                    await self._drop()
                    raise AuthError(
                        f"subscribe to executions refused: {exc.error}", error=exc.error
                    ) from None
            except KrakenwireError:
                await self._drop()
                raise
        self._connected.set()
        self._set_state("connected")
        self.plugins.event("connected", self, {"url": self.url})

    async def _drop(self) -> None:
        t = self._transport
        if t is not None and not t.is_disconnected:
            t.disconnect()
            await t.wait_disconnected()

    async def close(self) -> None:
        """Close for good; requests still in flight fail with :class:`ConnectionLost`."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        t = self._transport
        if t is not None and not t.is_disconnected:
            t.send_close(picows.WSCloseCode.OK)
            t.disconnect()
            await t.wait_disconnected()
        self._stop_tick()
        self._fail_pending()
        if self.state != "closed":
            self._set_state("closed", "closed by the user")
        self._closed.set()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed for good."""
        await self._closed.wait()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until connected (again). Raises ConnectionClosed if closed for good."""
        if self._closing:
            raise ConnectionClosed(f"connection to {self.url} is closed")
        await asyncio.wait_for(self._connected.wait(), timeout)

    def _on_disconnected(self) -> None:
        self._stop_tick()
        self._connected.clear()
        self._fail_pending()
        self.open_orders.reset()
        code = self._close_code
        self.plugins.event("disconnected", self, {"url": self.url, "close_code": str(code or "")})
        if self._closing:
            return
        reason = f"close code {code.value}" if code is not None else "connection dropped"
        self._set_state("disconnected", reason)
        if code is _POLICY_VIOLATION or not self.reconnect or not self._subscribe:
            self._closing = True
            why = "close code 1008 is terminal" if code is _POLICY_VIOLATION else reason
            self._set_state("closed", why)
            self._closed.set()
            return
        self._spawn(self._reconnect_loop())

    def _spawn(self, coro: Any) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reconnect_loop(self) -> None:
        attempt = 0
        while not self._closing:
            delay = max(
                backoff(attempt, self.backoff_base, self.backoff_cap, self._rng),
                self.budget.delay(),
            )
            if self.status == "maintenance":
                delay = max(delay, 5.0)  # Kraken: after maintenance no faster than every 5 s
            attempt += 1
            self._set_state("reconnecting", f"attempt {attempt} in {delay:.2f} s")
            await asyncio.sleep(delay)
            if self._closing:
                return
            try:
                await self._connect_once(fresh_token=self._fetcher is not None)
            except AuthError as exc:
                # A refused token is not retried in a loop: the user must act.
                self._closing = True
                self._set_state("closed", f"authentication failed: {exc.error or exc}")
                self._closed.set()
                return
            except KrakenwireError as exc:
                log.info(
                    "krakenwire %s: reconnect attempt %d failed: %s",
                    self.url,
                    attempt,
                    type(exc).__name__,
                )
                continue
            self.stats.reconnects += 1
            return

    # ---- watchdog and keep-alive ----------------------------------------------------------

    def _arm_tick(self) -> None:
        assert self._loop is not None
        period = min(1.0, self.liveness_timeout / 4, self.keepalive_interval / 4)
        self._tick = self._loop.call_later(period, self._on_tick)

    def _stop_tick(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _on_tick(self) -> None:
        self._tick = None
        if not self.is_open:
            return
        silent = (_now_ns() - self._last_rx_ns) / 1e9
        if silent >= self.liveness_timeout and self._probe is None:
            p, data = self._session.ping()
            self._probe = self._write(p, data, self.ping_timeout)
            self._probe.add_done_callback(self._probe_done)
        elif (_now_ns() - self._last_tx_ns) / 1e9 >= self.keepalive_interval:
            p, data = self._session.ping()
            self._write(p, data, self.timeout).add_done_callback(_consume)
        self._arm_tick()

    def _probe_done(self, fut: asyncio.Future[Any]) -> None:
        self._probe = None
        if fut.cancelled() or fut.exception() is None:
            return
        t = self._transport
        if isinstance(fut.exception(), RequestTimeout) and t is not None and not t.is_disconnected:
            log.warning(
                "krakenwire %s: no frame for %.1f s and no pong: dropping the socket",
                self.url,
                self.liveness_timeout + self.ping_timeout,
            )
            t.disconnect(graceful=False)

    # ---- the hot path ---------------------------------------------------------------------

    def _send(self, p: Pending, data: bytes, timeout: float | None) -> asyncio.Future[Any]:
        check = self.plugins.check
        if check is not None and p.method in TRADING:
            self._check(check, p)
        return self._write(p, data, timeout)

    def _check(self, check: Callable[[Any, Any], None], p: Pending) -> None:
        try:
            check(p, self)
        except RiskRejected as exc:
            self._session.forget(p.req_id)
            audit = self.plugins.audit
            if audit is not None and self._loop is not None:
                self._loop.call_soon(audit, p, exc, 0, self)
            raise

    def _write(self, p: Pending, data: bytes, timeout: float | None) -> asyncio.Future[Any]:
        t = self._transport
        if t is None or t.is_disconnected:
            self._session.forget(p.req_id)
            raise ConnectionClosed(
                f"not connected to {self.url} (state {self.state}): {p.method} was not sent"
            )
        loop = self._loop
        assert loop is not None
        fut = loop.create_future()
        p.waiter = fut
        # One sweeping timer per connection instead of a TimerHandle per request: arming and
        # cancelling a call_later cost more than the rest of the send (bench: inproc).
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_INTERVAL, self._sweep)
        p.sent_ns = now = _now_ns()
        p.deadline = now + int((self.timeout if timeout is None else timeout) * 1e9)
        t.send(_TEXT, data)
        self._last_tx_ns = now
        return fut

    def _settle(self, p: Pending) -> None:
        out = p.outcome
        if (
            type(out) is InvalidSession
            and self._fetcher is not None
            and not p.retried
            and p.method in TRADING
        ):
            # Rejected (so not executed) for a stale token: refresh once and re-send.
            p.retried = True
            self._spawn(self._refresh_and_resend(p))
            return
        fut = p.waiter
        if fut is not None and not fut.done():
            if isinstance(out, BaseException):
                fut.set_exception(out)
            else:
                fut.set_result(out)
        audit = self.plugins.audit
        if audit is not None and self._loop is not None:
            # Scheduled after the waiter's wake-up, so the caller has its answer first.
            self._loop.call_soon(audit, p, out, _now_ns() - p.sent_ns, self)

    async def _refresh_and_resend(self, p: Pending) -> None:
        rejected = p.outcome
        try:
            await self._fresh_token()
            t = self._transport
            if t is None or t.is_disconnected:
                raise ConnectionClosed("disconnected during the token refresh")
            data = self._session.resubmit(p)
        except (KrakenwireError, asyncio.CancelledError):
            p.outcome = rejected  # it was rejected and not re-sent: it did not execute
            self._settle(p)
            return
        t.send(_TEXT, data)  # same deadline: the caller's timeout covers the refresh too

    def _sweep(self) -> None:
        """Expire requests past their deadline; runs every SWEEP_INTERVAL while any pend."""
        self._sweeper = None
        pending = self._session.pending
        if not pending:
            return
        now = _now_ns()
        for p in [p for p in pending.values() if 0 < p.deadline <= now]:
            self._expire(p)
        if pending and self._loop is not None:
            self._sweeper = self._loop.call_later(SWEEP_INTERVAL, self._sweep)

    def _expire(self, p: Pending) -> None:
        fut = p.waiter
        if fut is not None and fut.done():
            return
        self._session.forget(p.req_id)
        secs = round((p.deadline - p.sent_ns) / 1e9, 3)
        p.outcome = RequestTimeout(
            f"no complete reply to {p.method} req_id={p.req_id} within {secs} s: the "
            "outcome is unknown (it may or may not have executed)",
            req_id=p.req_id,
            method=p.method,
            ids=p.all_ids,
            timeout=secs,
            partial=p.replies,
        )
        p.retried = True
        self._settle(p)

    def _fail_pending(self) -> None:
        for p in self._session.fail_all():
            p.outcome = ConnectionLost(
                f"connection to {self.url} lost after sending {p.method} req_id={p.req_id}"
                f" naming {len(p.all_ids)} id(s): the outcome is unknown (it may or may not"
                " have executed); reconcile via the executions stream (client.reconcile)",
                req_id=p.req_id,
                method=p.method,
                ids=p.all_ids,
            )
            p.retried = True
            self._settle(p)

    def _on_channel(self, ev: ChannelMessage) -> None:
        ch = ev.channel
        if ch == "heartbeat":
            self.stats.heartbeats += 1
        elif ch == "executions":
            self.executions_sequence = ev.sequence
            if not self.open_orders.apply(ev) and not self._closing:
                log.warning(
                    "krakenwire %s: executions sequence gap: taking a fresh snapshot", self.url
                )
                self._spawn(self._resnapshot())
            if self.on_executions is not None:
                self.on_executions(ev)
            notify = self.plugins.executions
            if notify is not None:
                notify(ev, self)
        elif ch == "status":
            data = ev.data
            if isinstance(data, list) and data and isinstance(data[0], dict):
                self.status = str(data[0].get("system", ""))
        else:
            self.stats.channel += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("unsolicited frame: %r", ev.raw[:200])

    async def _resnapshot(self) -> None:
        self.open_orders.reset()
        try:
            await self.subscribe_executions(unsubscribe=True)
            await self.subscribe_executions()
        except KrakenwireError as exc:
            log.warning(
                "krakenwire %s: re-subscribe after a sequence gap failed: %s", self.url, exc
            )

    async def subscribe_executions(
        self,
        *,
        snap_orders: bool = True,
        snap_trades: bool = False,
        order_status: bool = True,
        ratecounter: bool = False,
        unsubscribe: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """(Un)subscribe ``executions`` (done by ``connect``; Kraken closes an auth socket with
        no subscription)."""
        p, data = self._session.subscribe_executions(
            snap_orders=snap_orders,
            snap_trades=snap_trades,
            order_status=order_status,
            ratecounter=ratecounter,
            unsubscribe=unsubscribe,
        )
        return await self._send(p, data, timeout)


def _consume(fut: asyncio.Future[Any]) -> None:
    # Keep-alive pings nobody awaits: read the exception so asyncio does not log it.
    if not fut.cancelled():
        fut.exception()
