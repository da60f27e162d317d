"""The asyncio client: a thin picows transport around the sans-IO :class:`Session`.

Frames are handled in picows' ``on_ws_frame`` callback (no task per frame): the session decodes
the frame and the client resolves the waiting Future. A request's path is validate -> pre-send
check -> encode -> send -> receive -> decode -> resolve, with no logging or dict building on it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import picows

from ._auth import Credentials, TokenFetcher
from ._protocol import ChannelMessage, Pending, Session, Unmatched, chunk
from ._results import (
    BatchCancelResult,
    CancelAfterResult,
    CancelAllResult,
    CancelOrderResult,
    CancelOrdersResult,
    ChunkOutcome,
    PongResult,
)
from ._validate import check_order_ids, chunk_sizes
from .errors import (
    AuthError,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    KrakenAPIError,
    KrakenwireError,
    RemoteProtocolError,
    RequestTimeout,
    RiskRejected,
    ValidationError,
)
from .plugins import PluginHost

__all__ = ["DEFAULT_TIMEOUT", "Client", "ClientStats", "check_url", "connect"]

log = logging.getLogger("krakenwire")
DEFAULT_TIMEOUT = 10.0
KEEPALIVE_INTERVAL = 20.0  # Kraken drops a socket idle for ~60 s (kraken-ws-v2.md section 1)
_TEXT = picows.WSMsgType.TEXT
_CLOSE = picows.WSMsgType.CLOSE
_now_ns = time.monotonic_ns
# Requests the pre-send risk check sees (not ping/subscribe housekeeping).
_TRADING = frozenset(
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """Refuse URLs that would leak a token: plain ``ws://`` is allowed only to loopback.

    Raises:
        ValidationError: not a ws/wss URL, or ``ws://`` to a non-loopback host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValidationError(f"not a ws:// or wss:// URL: {url!r}", field="url", value=url)
    if parts.scheme == "ws" and not _is_loopback(parts.hostname):
        raise ValidationError(
            f"refusing plain ws:// to {parts.hostname!r}: a token never travels unencrypted; "
            "use wss:// (ws:// is allowed for loopback only)",
            field="url",
            value=url,
        )
    return url


class ClientStats:
    """Counters of frames that were not answers to our requests."""

    __slots__ = ("frames", "heartbeats", "unmatched", "malformed", "channel")

    def __init__(self) -> None:
        self.frames = 0
        self.heartbeats = 0
        self.unmatched = 0
        self.malformed = 0
        self.channel = 0

    def __repr__(self) -> str:
        return "ClientStats(" + ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + ")"


class _Listener(picows.WSListener):
    """picows callbacks; everything happens synchronously inside them."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        c = self.client
        if frame.msg_type is not _TEXT:
            if frame.msg_type is _CLOSE:
                c._close_code = frame.get_close_code()
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            return
        now = _now_ns()
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
        self.client._on_disconnected()


class Client:
    """An authenticated Kraken WebSocket v2 trading connection. Create it with :func:`connect`.

    Every call takes ``timeout=`` (seconds, default :data:`DEFAULT_TIMEOUT`). A call raises
    :class:`ValidationError` before sending on bad input, :class:`KrakenAPIError` when Kraken
    answers ``success: false``, and :class:`RequestTimeout` / :class:`ConnectionLost` when the
    outcome is unknown.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        on_executions: Callable[[ChannelMessage], None] | None = None,
        plugins: PluginHost | None = None,
    ) -> None:
        self.url = check_url(url)
        self.plugins = plugins if plugins is not None else PluginHost(autoload=False)
        self.timeout = timeout
        self.stats = ClientStats()
        self.status: str = ""
        self.executions_sequence: int | None = None
        self.on_executions = on_executions
        self._session = Session(token)
        self._transport: picows.WSTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._close_code: Any = None
        self._closed = asyncio.Event()
        self._keepalive: asyncio.TimerHandle | None = None
        self._last_send = 0.0
        self._status_seen: asyncio.Event | None = None

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"<krakenwire.Client {self.url} {state} pending={len(self._session.pending)}>"

    @property
    def is_open(self) -> bool:
        t = self._transport
        return t is not None and not t.is_disconnected

    @property
    def pending(self) -> int:
        """Requests sent and not yet settled."""
        return len(self._session.pending)

    # ---- lifecycle ------------------------------------------------------------------------

    async def _open(self, *, subscribe: bool = True) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            transport, _ = await picows.ws_connect(
                lambda: _Listener(self),
                self.url,
                websocket_handshake_timeout=self.timeout,
                enable_auto_pong=True,
            )
        except (TimeoutError, OSError, picows.WSError) as exc:
            raise ConnectError(
                f"cannot connect to {self.url}: {exc or type(exc).__name__}"
            ) from None
        self._transport = transport
        self._closed.clear()
        self._arm_keepalive()
        self.plugins.event("connected", self, {"url": self.url})
        if subscribe:
            try:
                await self.subscribe_executions()
            except KrakenAPIError as exc:
                await self.close()
                raise AuthError(
                    f"subscribe to executions refused: {exc.error}", error=exc.error
                ) from None
            except KrakenwireError:
                await self.close()
                raise

    async def close(self) -> None:
        """Close the connection; requests still in flight fail with :class:`ConnectionLost`."""
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        t = self._transport
        if t is not None and not t.is_disconnected:
            t.send_close(picows.WSCloseCode.OK)
            t.disconnect()
            await t.wait_disconnected()
        self._fail_pending()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_closed(self) -> None:
        """Wait until the connection is gone."""
        await self._closed.wait()

    def _on_disconnected(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        self._fail_pending()
        self._closed.set()
        self.plugins.event(
            "disconnected", self, {"url": self.url, "close_code": str(self._close_code or "")}
        )

    def _fail_pending(self) -> None:
        for p in self._session.fail_all():
            if p.timer is not None:
                p.timer.cancel()
            p.outcome = ConnectionLost(
                f"connection to {self.url} lost after sending {p.method} req_id={p.req_id}"
                f" naming {len(p.all_ids)} id(s): the outcome is unknown (it may or may not"
                " have executed); reconcile via the executions stream",
                req_id=p.req_id,
                method=p.method,
                ids=p.all_ids,
            )
            self._settle(p)

    def _arm_keepalive(self) -> None:
        assert self._loop is not None
        self._keepalive = self._loop.call_later(KEEPALIVE_INTERVAL, self._keepalive_tick)

    def _keepalive_tick(self) -> None:
        self._keepalive = None
        if not self.is_open:
            return
        if time.monotonic() - self._last_send >= KEEPALIVE_INTERVAL * 0.9:
            p, data = self._session.ping()
            self._send(p, data, self.timeout).add_done_callback(_consume)
        self._arm_keepalive()

    # ---- the hot path ---------------------------------------------------------------------

    def _send(self, p: Pending, data: bytes, timeout: float | None) -> asyncio.Future[Any]:
        check = self.plugins.check
        if check is not None and p.method in _TRADING:
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
            raise ConnectionClosed(f"not connected to {self.url}: {p.method} was not sent")
        loop = self._loop
        assert loop is not None
        fut = loop.create_future()
        p.waiter = fut
        p.timer = loop.call_later(
            self.timeout if timeout is None else timeout, self._expire, p, timeout
        )
        p.sent_ns = _now_ns()
        t.send(_TEXT, data)
        self._last_send = time.monotonic()
        return fut

    def _settle(self, p: Pending) -> None:
        if p.timer is not None:
            p.timer.cancel()
        fut = p.waiter
        out = p.outcome
        if fut is not None and not fut.done():
            if isinstance(out, BaseException):
                fut.set_exception(out)
            else:
                fut.set_result(out)
        audit = self.plugins.audit
        if audit is not None and self._loop is not None:
            # Scheduled after the waiter's wake-up, so the caller has its answer first.
            self._loop.call_soon(audit, p, out, _now_ns() - p.sent_ns, self)

    def _expire(self, p: Pending, timeout: float | None) -> None:
        if self._session.forget(p.req_id) is None:
            return
        p.timer = None
        secs = self.timeout if timeout is None else timeout
        p.outcome = RequestTimeout(
            f"no complete reply to {p.method} req_id={p.req_id} within {secs} s: the "
            "outcome is unknown (it may or may not have executed)",
            req_id=p.req_id,
            method=p.method,
            ids=p.all_ids,
            timeout=secs,
            partial=p.replies,
        )
        self._settle(p)

    def _on_channel(self, ev: ChannelMessage) -> None:
        ch = ev.channel
        if ch == "heartbeat":
            self.stats.heartbeats += 1
        elif ch == "executions":
            self.executions_sequence = ev.sequence
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

    # ---- public calls ---------------------------------------------------------------------

    async def batch_cancel(
        self,
        orders: Iterable[str | int],
        cl_ord_id: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> BatchCancelResult:
        """Cancel 2..50 orders in ONE wire request.

        Args:
            orders: Kraken order ids or ``order_userref`` numbers (an int is sent as its string).
            cl_ord_id: client order ids; counted with ``orders`` toward the 2..50 limit.
            timeout: seconds to wait for the reply.

        Returns:
            :class:`BatchCancelResult`; ``count`` is Kraken's number cancelled (not per id).

        Raises:
            ValidationError: bad ids or count (nothing sent). KrakenAPIError: Kraken refused.
            RequestTimeout, ConnectionLost: outcome unknown.
        """
        p, data = self._session.batch_cancel(orders, cl_ord_id)
        result: BatchCancelResult = await self._send(p, data, timeout)
        return result

    async def cancel_order(
        self,
        order_id: Iterable[str] | None = None,
        *,
        cl_ord_id: Iterable[str] | None = None,
        order_userref: Iterable[int] | None = None,
        timeout: float | None = None,
    ) -> CancelOrderResult:
        """Cancel orders named by one kind of id; collects Kraken's one-reply-per-order answers.

        Per-order failures (``EOrder:Invalid order``) are in ``result.replies`` (``ok`` False);
        a request-level error (bad arguments, bad token) raises :class:`KrakenAPIError`.
        """
        p, data = self._session.cancel_order(order_id, cl_ord_id, order_userref)
        result: CancelOrderResult = await self._send(p, data, timeout)
        return result

    async def cancel_orders(
        self, ids: Iterable[str | int], *, timeout: float | None = None
    ) -> CancelOrdersResult:
        """Cancel any number of orders: ceil(n/50) batch_cancels, all written before any wait.

        Chunks are balanced so none holds a single id (51 -> 26 + 25); one id goes through
        ``cancel_order``. Never raises for a chunk's failure: each chunk's result or error
        (rejected, or unknown after a timeout / lost connection) is in the aggregate.

        Raises:
            ValidationError: no ids, a bad id or a duplicate anywhere (nothing sent).
        """
        all_ids = check_order_ids(ids)
        n = len(all_ids)
        if n == 0:
            raise ValidationError("cancel_orders needs at least one id", field="ids", value=0)
        s = self._session
        built: list[tuple[Pending, bytes]] = []
        if n == 1:
            built.append(s.cancel_order(all_ids))
        else:
            try:
                for part in chunk(all_ids, chunk_sizes(n)):
                    built.append(s.batch_cancel(part))
            except BaseException:
                for p, _ in built:
                    s.forget(p.req_id)
                raise
        check = self.plugins.check
        if check is not None:  # every chunk passes the risk check before any is sent
            for i, (p, _) in enumerate(built):
                try:
                    self._check(check, p)
                except RiskRejected:
                    for q, _ in built[i + 1 :]:
                        s.forget(q.req_id)
                    raise
        futs = [self._write(p, data, timeout) for p, data in built]
        outcomes = await asyncio.gather(*futs, return_exceptions=True)
        chunks = []
        for (p, _), out in zip(built, outcomes, strict=True):
            if isinstance(out, KrakenwireError):
                chunks.append(ChunkOutcome(p.ids, None, out))
            elif isinstance(out, BaseException):
                raise out
            else:
                chunks.append(ChunkOutcome(p.ids, out, None))
        return CancelOrdersResult(chunks)

    async def cancel_all(self, *, timeout: float | None = None) -> CancelAllResult:
        """Cancel every open order of the account."""
        p, data = self._session.cancel_all()
        result: CancelAllResult = await self._send(p, data, timeout)
        return result

    async def cancel_after(
        self, timeout_s: int, *, timeout: float | None = None
    ) -> CancelAfterResult:
        """Arm (or with 0 disarm) Kraken's dead man's switch: cancel all in ``timeout_s`` s."""
        p, data = self._session.cancel_after(timeout_s)
        result: CancelAfterResult = await self._send(p, data, timeout)
        return result

    async def ping(self, *, timeout: float | None = None) -> PongResult:
        """Application-level ping; returns the pong with its round trip in ``latency_ns``."""
        p, data = self._session.ping()
        result: PongResult = await self._send(p, data, timeout)
        return result

    async def subscribe_executions(
        self,
        *,
        snap_orders: bool = True,
        snap_trades: bool = False,
        order_status: bool = True,
        ratecounter: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Subscribe to ``executions`` (done by :func:`connect`; Kraken closes an auth socket
        with no subscription)."""
        p, data = self._session.subscribe_executions(
            snap_orders=snap_orders,
            snap_trades=snap_trades,
            order_status=order_status,
            ratecounter=ratecounter,
        )
        return await self._send(p, data, timeout)


def _consume(fut: asyncio.Future[Any]) -> None:
    # Keep-alive pings nobody awaits: read the exception so asyncio does not log it.
    if not fut.cancelled():
        fut.exception()


async def connect(
    url: str,
    *,
    token: str | None = None,
    credentials: Credentials | None = None,
    rest_url: str = "https://api.kraken.com",
    timeout: float = DEFAULT_TIMEOUT,
    subscribe: bool = True,
    on_executions: Callable[[ChannelMessage], None] | None = None,
    plugins: Iterable[object] = (),
    autoload_plugins: bool | None = None,
) -> Client:
    """Open an authenticated trading connection.

    Args:
        url: ``wss://ws-auth.kraken.com/v2``, or ``ws://127.0.0.1:PORT/v2`` for the simulator.
        token: a WebSocket token (from GetWebSocketsToken); or give ``credentials``.
        credentials: API key and secret: a fresh token is fetched over REST from ``rest_url``.
        rest_url: Kraken's REST base URL (the simulator's ``sim.rest_url`` offline).
        timeout: default per-call timeout in seconds (also the handshake timeout).
        subscribe: subscribe to ``executions`` (required by Kraken to keep the socket open).
        plugins: plugin objects (modules or instances with ``@hookimpl`` functions), registered
            before the ``krakenwire`` entry points.
        autoload_plugins: load entry points (default: unless
            ``KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD=1``; ``KRAKENWIRE_PLUGINS`` is an allow-list).

    Raises:
        ValidationError: neither token nor credentials, or a URL that would send the token in
            plain text. ConnectError: the server cannot be reached. AuthError: the token was
            refused, or the token fetch was refused (``.error`` is Kraken's string).
    """
    check_url(url)
    if token is None and credentials is not None:
        token = (await TokenFetcher(credentials, rest_url, timeout=timeout).fetch()).value
    if not token or not isinstance(token, str):
        raise ValidationError(
            "connect needs token= (a WebSocket token string) or credentials=",
            field="token",
            value=None,
        )
    host = PluginHost(plugins, autoload=autoload_plugins)
    client = Client(url, token, timeout=timeout, on_executions=on_executions, plugins=host)
    await client._open(subscribe=subscribe)
    return client
