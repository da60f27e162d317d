"""The connection's life: connect, subscribe, keep alive, reconnect, refresh the token, close.

One `Lifecycle` per client. Exactly one connection attempt is in flight at any time and
at most one socket is live: the reconnect loop is a single task, an attempt whose subscribe
fails drops its own socket without starting another loop, and only the loss of an established
connection starts one. A stale token is refreshed once for every request it rejected (a single
fetch in flight). Every state change is logged once and delivered to ``on_state`` and
`Lifecycle.changes`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import picows

from ._auth import TokenFetcher
from ._balances import Balances, subscribe_balances
from ._config import ClientConfig, ClientStats, ReconnectPolicy, StateChange
from ._link import Link
from ._openorders import OpenOrders
from ._watchdog import Watchdog
from .errors import (
    AuthError,
    ConnectError,
    ConnectionClosed,
    InvalidSession,
    KrakenAPIError,
    KrakenwireError,
    OutcomeUnknown,
)
from .methods import housekeeping as _build
from .plugins import PluginHost
from .protocol._events import ChannelFrame, Stale

__all__ = ["Lifecycle"]

log = logging.getLogger("krakenwire")
_now_ns = time.monotonic_ns
_POLICY_VIOLATION = picows.WSCloseCode.POLICY_VIOLATION


class TokenSource(Protocol):
    """This socket's token in the router (read, and replaced after a refresh)."""

    @property
    def token(self) -> str: ...

    def set_token(self, token: str) -> None: ...


class Lifecycle:
    """Connects the `Link` to a socket and keeps it connected."""

    def __init__(
        self,
        config: ClientConfig,
        session: TokenSource,
        link: Link,
        plugins: PluginHost,
        stats: ClientStats,
        open_orders: OpenOrders,
        policy: ReconnectPolicy,
        fetcher: TokenFetcher | None,
        on_state: Callable[[StateChange], None] | None,
        on_executions: Callable[[ChannelFrame], None] | None,
        *,
        stream: int = 0,
        role: str = "primary",
    ) -> None:
        self.stream = stream  # this socket's executions stream in the shared open-order view
        self.role = role  # "primary" or "standby" (a standby is promoted when the primary dies)
        self.connection_id: int | None = None  # Kraken's, from the status frame
        # Called after every successful connect (a standby client promotes a standby that
        # comes back while the primary is still down).
        self.on_up: Callable[[Lifecycle], None] | None = None
        self.config = config
        self.session = session
        self.link = link
        self.plugins = plugins
        self.stats = stats
        self.open_orders = open_orders
        self.policy = policy
        self.fetcher = fetcher
        self.on_state = on_state
        self.on_executions = on_executions
        self.balances: Balances | None = None  # set by the client with connect(balances=True)
        self.state = "connecting"
        self.system = ""  # Kraken's last status: online, cancel_only, maintenance, post_only
        self.closing = False
        self.closed = asyncio.Event()
        self.connected = asyncio.Event()
        self._established = False  # the current socket finished connect (subscribe included)
        self._reconnect: asyncio.Task[None] | None = None
        self._refresh: asyncio.Task[None] | None = None
        self._resnap: asyncio.Task[None] | None = None
        self._rebal: asyncio.Task[None] | None = None
        self._watchdog = Watchdog(config, link)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watchers: list[asyncio.Queue[StateChange]] = []

    # ---- state ----------------------------------------------------------------------------

    def set_state(self, state: str, reason: str = "") -> None:
        if state == self.state and not reason:
            return
        change = StateChange(state, self.state, reason, time.time(), self.role)
        self.state = state
        log.info(
            "krakenwire %s %s: %s%s",
            self.config.url,
            self.role,
            state,
            f" ({reason})" if reason else "",
        )
        if self.on_state is not None:
            try:
                self.on_state(change)
            except Exception:
                self.stats.callback_errors += 1
                log.exception("on_state callback raised (ignored)")
        for q in self._watchers:
            q.put_nowait(change)

    async def changes(self) -> AsyncIterator[StateChange]:
        """State changes from now on, until the connection is closed for good."""
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

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- connecting -----------------------------------------------------------------------

    async def open(self) -> None:
        """The first connection: failures are raised, not retried."""
        try:
            await self._connect_once(fresh_token=not self.session.token)
        except KrakenwireError as exc:
            self.closing = True
            self.set_state("closed", f"connect failed: {type(exc).__name__}")
            self.closed.set()
            raise

    async def _fresh_token(self) -> None:
        assert self.fetcher is not None
        tok = await self.fetcher.fetch()
        self.session.set_token(tok.value)
        self.stats.token_refreshes += 1
        self.plugins.event("token_refreshed", {"expires": tok.expires})

    async def _connect_once(self, *, fresh_token: bool) -> None:
        cfg = self.config
        if fresh_token:
            await self._fresh_token()
        self.policy.record()
        self.stats.connect_attempts += 1
        self._established = False
        try:
            transport, _ = await picows.ws_connect(
                self.link.listener,
                cfg.url,
                ssl_context=cfg.ssl_context,
                websocket_handshake_timeout=cfg.timeout,
                enable_auto_pong=True,
            )
        except (TimeoutError, OSError, picows.WSError, ssl.SSLError) as exc:
            why = str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError):
                why = f"no WebSocket handshake within {cfg.timeout} s"
            elif cfg.url.startswith("wss:") and isinstance(exc, ssl.SSLError | ConnectionError):
                why += " (the TLS handshake failed: does the server speak TLS? ws:// if not)"
            raise ConnectError(f"cannot connect to {cfg.url}: {why}") from None
        self.link.attach(transport)
        self._watchdog.start()
        if cfg.subscribe:
            try:
                await self._subscribe(fresh_token)
            except BaseException:
                await self._drop()
                raise
        self._established = True
        self.policy.reset()
        self.connected.set()
        self.set_state("connected")
        self.plugins.event("connected", {"url": cfg.url, "connection": self.role})
        if self.on_up is not None:
            self.on_up(self)

    async def _subscribe(self, fresh_token: bool) -> None:
        """Subscribe ``executions`` and wait for its snapshot, so ``open_orders`` is complete
        when ``connect()`` returns."""
        secs = self.config.timeout
        try:
            await self._subscribe_call(secs)
        except InvalidSession as exc:
            if self.fetcher is None or fresh_token:
                raise AuthError(_token_refused(exc.error), error=exc.error) from None
            await self._fresh_token()  # the token died server-side: one fresh one, one more try
            try:
                await self._subscribe_call(secs)
            except KrakenAPIError as exc2:
                raise AuthError(_token_refused(exc2.error), error=exc2.error) from None
        except KrakenAPIError as exc:
            raise AuthError(
                f"the executions subscribe was refused: {exc.error}", error=exc.error
            ) from None
        try:
            await asyncio.wait_for(self.open_orders.stream_ready(self.stream).wait(), secs)
        except TimeoutError:
            raise ConnectError(
                f"no executions snapshot within {secs} s of the subscribe ack"
            ) from None
        if self.balances is not None:
            await self.link.call(subscribe_balances(), secs)  # a refusal is raised as is
            try:
                await asyncio.wait_for(self.balances.ready.wait(), secs)
            except TimeoutError:
                raise ConnectError(f"no balances snapshot within {secs} s of the ack") from None

    async def _subscribe_call(self, secs: float) -> Any:
        try:
            return await self.link.call(_build.subscribe_executions(), secs)
        except OutcomeUnknown as exc:  # no answer, or the socket dropped: nothing is running
            code = self.link.close_code
            why = (
                f"the server closed the connection (close code {code.value} {code.name})"
                if code is not None
                else f"no answer ({type(exc).__name__})"
            )
            raise ConnectError(
                f"connected to {self.config.url} but the executions subscribe failed: {why}; "
                "cannot trade on this connection"
            ) from None

    async def _drop(self) -> None:
        t = self.link.transport
        if t is not None and not t.is_disconnected:
            t.disconnect()
            await t.wait_disconnected()

    def on_lost(self, close_code: Any) -> None:
        """The link's socket dropped (its pending requests already have their outcomes)."""
        self._watchdog.stop()
        self.connected.clear()
        self.open_orders.reset(self.stream)
        if self.balances is not None:
            self.balances.reset(self.stream)
        self.connection_id = None
        established, self._established = self._established, False
        self.plugins.event(
            "disconnected",
            {"url": self.config.url, "close_code": str(close_code or ""), "connection": self.role},
        )
        if self.closing or not established:
            return  # closing, or an attempt that failed: its caller handles it
        reason = f"close code {close_code.value}" if close_code is not None else "dropped"
        self.set_state("disconnected", reason)
        if close_code is _POLICY_VIOLATION or not self.config.reconnect:
            self.closing = True
            why = "close code 1008 is terminal" if close_code is _POLICY_VIOLATION else reason
            self.set_state("closed", why)
            self.closed.set()
            return
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = self._spawn(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        n = 0
        while not self.closing:
            delay = self.policy.next_delay(maintenance=self.system == "maintenance")
            n += 1
            self.set_state("reconnecting", f"attempt {n} in {delay:.2f} s")
            await asyncio.sleep(delay)
            if self.closing:
                return
            try:
                await self._connect_once(fresh_token=self.fetcher is not None)
            except AuthError as exc:
                # A refused token is not retried in a loop: the user must act.
                self.closing = True
                self.set_state("closed", f"authentication failed: {exc.error or exc}")
                self.closed.set()
                return
            except KrakenwireError as exc:
                log.info(
                    "krakenwire %s: reconnect attempt %d failed: %s",
                    self.config.url,
                    n,
                    type(exc).__name__,
                )
                continue
            self.stats.reconnects += 1
            return

    # ---- token refresh --------------------------------------------------------------------

    def on_stale(self, ev: Stale) -> None:
        """A request was rejected for a stale token and is held: refresh once for all."""
        if ev.fresh:
            self.link.resend_held()  # sent with an older token than the current one
        elif self._refresh is None or self._refresh.done():
            self._refresh = self._spawn(self._refresh_and_resend())

    async def _refresh_and_resend(self) -> None:
        try:
            await self._fresh_token()
        except (KrakenwireError, asyncio.CancelledError):
            self.link.fail_held()  # rejected and not re-sent: they did not execute
            return
        self.link.resend_held()

    # ---- executions, status ---------------------------------------------------------------

    def on_channel(self, ev: ChannelFrame) -> None:
        ch = ev.channel
        if ch == "heartbeat":
            self.stats.heartbeats += 1
        elif ch == "executions":
            try:
                in_order = self.open_orders.apply(ev, self.stream)
            except Exception as exc:
                self.stats.not_understood += 1
                log.warning("krakenwire %s: ignored an executions frame: %s", self.config.url, exc)
                in_order = True
            if not in_order and not self.closing:
                log.warning("krakenwire %s: executions sequence gap: resnapshot", self.config.url)
                if self._resnap is None or self._resnap.done():
                    self._resnap = self._spawn(self._resnapshot())
            if self.on_executions is not None:
                try:
                    self.on_executions(ev)
                except Exception:
                    self.stats.callback_errors += 1
                    log.exception("krakenwire: on_executions callback raised (ignored)")
            notify = self.plugins.executions
            if notify is not None:
                notify(ev, self.plugins.context)
        elif ch == "balances" and self.balances is not None:
            try:
                in_order = self.balances.apply(ev, self.stream)
            except Exception as exc:
                self.stats.not_understood += 1
                log.warning("krakenwire %s: ignored a balances frame: %s", self.config.url, exc)
                in_order = True
            if not in_order and not self.closing:
                log.warning("krakenwire %s: balances sequence gap: resnapshot", self.config.url)
                if self._rebal is None or self._rebal.done():
                    self._rebal = self._spawn(self._resnapshot_balances())
        elif ch == "status":
            data = ev.data
            if isinstance(data, list) and data and isinstance(data[0], dict):
                self.system = str(data[0].get("system", ""))
                cid = data[0].get("connection_id")
                self.connection_id = cid if type(cid) is int else self.connection_id
        else:
            self.stats.channel += 1

    async def _resnapshot(self) -> None:
        self.open_orders.reset(self.stream)
        try:
            secs = self.config.timeout
            await self.link.call(_build.subscribe_executions(unsubscribe=True), secs)
            await self.link.call(_build.subscribe_executions(), secs)
        except KrakenwireError as exc:
            log.warning("krakenwire %s: re-subscribe after a gap failed: %s", self.config.url, exc)

    async def _resnapshot_balances(self) -> None:
        try:
            secs = self.config.timeout
            await self.link.call(subscribe_balances(unsubscribe=True), secs)
            await self.link.call(subscribe_balances(), secs)
        except KrakenwireError as exc:
            log.warning("krakenwire %s: balances re-subscribe failed: %s", self.config.url, exc)

    # ---- closing --------------------------------------------------------------------------

    async def close(self) -> None:
        """Close for good; requests still in flight fail with ``ConnectionLost``."""
        self.closing = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except BaseException:  # noqa: S110 - cancelled on purpose
                pass
        t = self.link.transport
        if t is not None and not t.is_disconnected:
            t.send_close(picows.WSCloseCode.OK)
            t.disconnect()
            await t.wait_disconnected()
        self._watchdog.stop()
        self.link.stop()
        if self.state != "closed":
            self.set_state("closed", "closed by the user")
        self.closed.set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        if self.closing:
            raise ConnectionClosed(f"connection to {self.config.url} is closed")
        waiter = asyncio.ensure_future(self.connected.wait())
        closed = asyncio.ensure_future(self.closed.wait())
        try:
            done, _ = await asyncio.wait(
                {waiter, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
            closed.cancel()
        if waiter in done:
            return
        if closed in done:
            raise ConnectionClosed(f"connection to {self.config.url} is closed")
        raise TimeoutError(f"not connected within {timeout} s")


def _token_refused(error: str) -> str:
    return (
        f"the WebSocket token was refused ({error}): it is invalid or expired; fetch a new one "
        "(GetWebSocketsToken) or pass credentials= so krakenwire fetches it"
    )
