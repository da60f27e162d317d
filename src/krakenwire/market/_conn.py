"""The public market-data connection: connect, subscribe, keep alive, reconnect, close.

`MarketData` owns one picows socket to Kraken's public endpoint (``wss://ws.kraken.com/v2``)
and the `Feed` that handles its frames. On every (re)connect it subscribes ``instrument``
first (the book checksum needs each pair's precisions), waits for its snapshot, then subscribes
again every book, ticker and trade the user asked for; books are valid again when their fresh
snapshots arrive. Reconnects use the trading client's `ReconnectPolicy` (capped, jittered
backoff inside the connection budget); state changes are `StateChange` objects with
``connection="market"``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import picows

from .._config import DEFAULT_TIMEOUT, ReconnectPolicy, StateChange, check_url
from .._validate import check_timeout
from ..errors import ConnectError, ConnectionClosed, KrakenAPIError, ValidationError
from ..plugins import PluginHost
from ._book import Book
from ._feed import Feed, MarketStats
from ._messages import PING, Instrument, Pair, Reply, subscribe_frame

__all__ = ["DEPTHS", "PUBLIC_URL", "MarketData", "connect_market"]

log = logging.getLogger("krakenwire.market")
PUBLIC_URL = "wss://ws.kraken.com/v2"
DEPTHS = (10, 25, 100, 500, 1000)
_now_ns = time.monotonic_ns


class _Pending:
    """A subscribe request waiting for one ack (or error) per symbol."""

    __slots__ = ("left", "future", "errors")

    def __init__(self, symbols: Iterable[str], future: asyncio.Future[None]) -> None:
        self.left = set(symbols)
        self.future = future
        self.errors: list[str] = []


class MarketData:
    """A connection to Kraken's public WebSocket v2 endpoint. Create it with
    `connect_market`; use it as an async context manager or call `close`.

    Attributes:
        url: the endpoint.
        books: symbol -> the live `Book` of every subscribed book.
        instruments: symbol -> `Pair`, from the ``instrument`` channel.
        stats: `MarketStats` counters.
        state: ``connecting``, ``connected``, ``disconnected``, ``reconnecting`` or ``closed``.
    """

    def __init__(
        self,
        url: str,
        *,
        on_book: Callable[[Book], Any] | None,
        on_state: Callable[[StateChange], None] | None,
        plugins: PluginHost | None,
        timeout: float,
        reconnect: bool,
        liveness_timeout: float,
        ping_timeout: float,
        keepalive_interval: float,
        policy: ReconnectPolicy,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.stats = MarketStats()
        self.feed = Feed(self.stats)
        self.feed.on_book = on_book
        self.feed.on_invalid = self._invalid
        self.feed.on_reply = self._reply
        self.feed.on_instrument = self._instrument
        self.feed.on_lost = self._lost
        self.books = self.feed.books
        self.instruments: dict[str, Pair] = {}
        self.state = "connecting"
        self._on_state = on_state
        self._plugins = plugins
        self._reconnect_on = reconnect
        self._liveness = liveness_timeout
        self._ping_timeout = ping_timeout
        self._keepalive = keepalive_interval
        self._policy = policy
        self._ssl = ssl_context
        self._req_id = 0
        self._pending: dict[int, _Pending] = {}
        self._instrument_in: asyncio.Event | None = None
        self._tickers: set[str] = set()
        self._trades: dict[str, bool] = {}  # symbol -> snapshot wanted
        self._streams: list[tuple[frozenset[str], asyncio.Queue[Any]]] = []
        self._watchers: list[asyncio.Queue[StateChange]] = []
        self._closing = False
        self._closed = asyncio.Event()
        self._tick: asyncio.TimerHandle | None = None
        self._probe_ns = 0  # when the liveness ping went out (0: none outstanding)
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"MarketData(url={self.url!r}, state={self.state!r}, books={sorted(self.books)})"

    async def __aenter__(self) -> MarketData:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- state ------------------------------------------------------------------------------

    def _set_state(self, state: str, reason: str = "") -> None:
        change = StateChange(state, self.state, reason, time.time(), "market")
        if state in ("connecting", "connected", "disconnected", "reconnecting", "closed"):
            self.state = state
        log.info("krakenwire market %s: %s%s", self.url, state, f" ({reason})" if reason else "")
        if self._on_state is not None:
            try:
                self._on_state(change)
            except Exception:
                self.stats.callback_errors += 1
                log.exception("krakenwire market: on_state callback raised (ignored)")
        for q in self._watchers:
            q.put_nowait(change)

    async def state_changes(self) -> AsyncIterator[StateChange]:
        """Every state change from now on (also ``book_invalid``), until ``closed``."""
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

    def _event(self, name: str, detail: dict[str, Any]) -> None:
        if self._plugins is not None:
            self._plugins.event(name, {**detail, "connection": "market"})

    def _invalid(self, book: Book) -> None:
        """A book failed its checksum (the feed has already asked for a fresh snapshot)."""
        reason = f"{book.symbol}: {book.reason}"
        log.warning("krakenwire market %s: book invalid, re-subscribing: %s", self.url, reason)
        self._set_state("book_invalid", reason)
        self._event("book_invalid", {"symbol": book.symbol, "reason": book.reason})

    # ---- connecting -------------------------------------------------------------------------

    async def _connect_once(self) -> None:
        self._policy.record()
        try:
            transport, _ = await picows.ws_connect(
                lambda: self.feed,
                self.url,
                ssl_context=self._ssl,
                websocket_handshake_timeout=self.timeout,
                enable_auto_pong=True,
            )
        except (TimeoutError, OSError, picows.WSError, ssl.SSLError) as exc:
            why = str(exc) or type(exc).__name__
            raise ConnectError(f"cannot connect to {self.url}: {why}") from None
        self.feed.on_ws_connected(transport)  # idempotent; picows has called it already
        self._start_ticking()
        try:
            await self._subscribe_instrument()
        except BaseException:
            self.feed.drop()
            raise
        for symbol, book in self.books.items():
            self._send_sub("book", [symbol], depth=book.depth)
        if self._tickers:
            self._send_sub("ticker", sorted(self._tickers))
        for symbol, snap in self._trades.items():
            self._send_sub("trade", [symbol], snapshot=snap)
        self._policy.reset()
        self._set_state("connected")
        self._event("connected", {"url": self.url})

    async def _subscribe_instrument(self) -> None:
        self._instrument_in = asyncio.Event()
        await self._request("instrument", ["instrument"], snapshot=True)
        try:
            await asyncio.wait_for(self._instrument_in.wait(), self.timeout)
        except TimeoutError:
            raise ConnectError(
                f"no instrument snapshot from {self.url} within {self.timeout} s"
            ) from None

    def _instrument(self, data: Instrument) -> None:
        for pair in data.pairs:
            self.instruments[pair.symbol] = pair
            book = self.books.get(pair.symbol)
            if book is not None and (
                book.price_precision != pair.price_precision
                or book.qty_precision != pair.qty_precision
            ):
                book.set_precision(pair.price_precision, pair.qty_precision)
                book.invalidate("the pair's precision changed")
                self.feed.resync(book)
        if self._instrument_in is not None:
            self._instrument_in.set()

    def _lost(self) -> None:
        self._stop_ticking()
        for p in self._pending.values():
            if not p.future.done():
                p.future.set_exception(ConnectionClosed(f"connection to {self.url} lost"))
        self._pending.clear()
        self.feed.lose_books("connection lost")
        self._event("disconnected", {"url": self.url})
        if self._closing or self.state != "connected":
            return
        self._set_state("disconnected", "dropped")
        if not self._reconnect_on:
            self._closing = True
            self._set_state("closed", "dropped (reconnect is off)")
            self._closed.set()
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        n = 0
        while not self._closing:
            delay = self._policy.next_delay()
            n += 1
            self._set_state("reconnecting", f"attempt {n} in {delay:.2f} s")
            await asyncio.sleep(delay)
            if self._closing:
                return
            try:
                await self._connect_once()
            except (ConnectError, ConnectionClosed, KrakenAPIError) as exc:
                log.info("krakenwire market: reconnect attempt %d failed: %s", n, exc)
                continue
            self.stats.reconnects += 1
            return

    # ---- keep-alive -------------------------------------------------------------------------

    def _start_ticking(self) -> None:
        self._stop_ticking()
        self._probe_ns = 0
        self._schedule()

    def _schedule(self) -> None:
        period = min(1.0, self._liveness / 4, self._keepalive / 4)
        self._tick = asyncio.get_running_loop().call_later(period, self._on_tick)

    def _stop_ticking(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _on_tick(self) -> None:
        self._tick = None
        feed = self.feed
        if feed.transport is None:
            return
        now = _now_ns()
        if self._probe_ns and feed.last_rx_ns > self._probe_ns:
            self._probe_ns = 0  # something arrived since the probe: alive
        if self._probe_ns:
            if (now - self._probe_ns) / 1e9 >= self._ping_timeout:
                log.warning("krakenwire market %s: no answer to a ping: dropping", self.url)
                feed.drop()
                return
        elif (now - feed.last_rx_ns) / 1e9 >= self._liveness:
            self._probe_ns = now
            feed.send(PING)
        elif (now - feed.last_tx_ns) / 1e9 >= self._keepalive:
            feed.send(PING)
        self._schedule()

    # ---- subscriptions ----------------------------------------------------------------------

    def _send_sub(
        self, channel: str, symbols: list[str], method: str = "subscribe", **params: Any
    ) -> int:
        self._req_id += 1
        rid = self._req_id
        if channel != "instrument":
            params["symbol"] = symbols
        self.feed.send(subscribe_frame(method, channel, rid, **params))
        return rid

    async def _request(
        self, channel: str, symbols: list[str], method: str = "subscribe", **params: Any
    ) -> None:
        if self.feed.transport is None:
            raise ConnectionClosed(f"not connected to {self.url}")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        rid = self._send_sub(channel, symbols, method, **params)
        self._pending[rid] = _Pending(symbols, fut)
        try:
            await asyncio.wait_for(fut, self.timeout)
        except TimeoutError:
            raise ConnectError(f"no answer to {method} {channel} within {self.timeout} s") from None
        finally:
            self._pending.pop(rid, None)

    def _reply(self, reply: Reply) -> None:
        p = self._pending.get(reply.req_id) if reply.req_id is not None else None
        if p is None:
            if reply.success is False:
                log.warning(
                    "krakenwire market %s: %s refused: %s", self.url, reply.method, reply.error
                )
            return
        result = reply.result or {}
        symbol = result.get("symbol") or reply.symbol
        if reply.success is False:
            p.errors.append(reply.error or "unknown error")
            if symbol is None:
                p.left.clear()
        if symbol is not None:
            p.left.discard(symbol)
        elif result.get("channel") == "instrument":
            p.left.clear()
        if not p.left and not p.future.done():
            if p.errors:
                p.future.set_exception(
                    KrakenAPIError("; ".join(p.errors), req_id=reply.req_id, method=reply.method)
                )
            else:
                p.future.set_result(None)

    def _symbols(self, symbols: str | Iterable[str]) -> list[str]:
        out = [symbols] if isinstance(symbols, str) else list(symbols)
        if not out or not all(type(s) is str and s for s in out):
            raise ValidationError("symbols must be one or more non-empty str", field="symbol")
        return out

    async def subscribe_book(
        self, symbols: str | Iterable[str], depth: int = 10, *, wait: bool = True
    ) -> list[Book]:
        """Subscribe to ``book`` for ``symbols``; returns their `Book` objects once each
        has a valid snapshot (``wait=False``: at once, still invalid).

        Raises:
            ValidationError: a bad depth, or a symbol the ``instrument`` channel does not list.
            KrakenAPIError: Kraken refused the subscription (its error string in ``.error``).
            ConnectError: no answer in time.
        """
        syms = self._symbols(symbols)
        if depth not in DEPTHS:
            raise ValidationError(f"depth must be one of {DEPTHS}, not {depth!r}", field="depth")
        for s in syms:
            if s not in self.instruments:
                raise ValidationError(
                    f"{s!r} is not a pair Kraken's instrument channel lists",
                    field="symbol",
                    value=s,
                )
            if s in self.books:
                raise ValidationError(
                    f"the {s} book is already subscribed", field="symbol", value=s
                )
        out = []
        for s in syms:
            pair = self.instruments[s]
            self.books[s] = Book(s, depth, pair.price_precision, pair.qty_precision)
            out.append(self.books[s])
        try:
            await self._request("book", syms, depth=depth)
        except BaseException:
            for s in syms:
                self.books.pop(s, None)
            raise
        if wait:
            await self._wait_valid(out)
        return out

    async def _wait_valid(self, books: list[Book]) -> None:
        deadline = time.monotonic() + self.timeout
        for b in books:
            while not b.valid:
                if time.monotonic() > deadline:
                    raise ConnectError(f"no valid {b.symbol} book snapshot within {self.timeout} s")
                await asyncio.sleep(0.005)

    async def unsubscribe_book(self, symbols: str | Iterable[str]) -> None:
        """Stop the ``book`` of ``symbols`` (their Book objects become invalid)."""
        syms = [s for s in self._symbols(symbols) if s in self.books]
        if not syms:
            return
        depth = self.books[syms[0]].depth
        for s in syms:
            self.books.pop(s).invalidate("unsubscribed")
        await self._request("book", syms, "unsubscribe", depth=depth)

    async def subscribe_ticker(self, symbols: str | Iterable[str]) -> None:
        """Subscribe to ``ticker``: `Ticker` messages in `stream`."""
        syms = self._symbols(symbols)
        await self._request("ticker", syms)
        self._tickers.update(syms)

    async def subscribe_trade(
        self, symbols: str | Iterable[str], *, snapshot: bool = False
    ) -> None:
        """Subscribe to ``trade``: one `Trade` per trade in `stream` (with
        ``snapshot``, the last 50 first)."""
        syms = self._symbols(symbols)
        await self._request("trade", syms, snapshot=snapshot)
        for s in syms:
            self._trades[s] = snapshot

    # ---- the async-iterator form ------------------------------------------------------------

    async def stream(self, *channels: str, maxsize: int = 10000) -> AsyncIterator[Any]:
        """Every message of ``channels`` (all by default: ``book``, ``ticker``, ``trade``,
        ``instrument``) as it arrives: a `Book` after each book frame (the live object),
        a `Ticker`, a `Trade` per trade, an `Instrument`. A consumer that
        falls ``maxsize`` behind loses messages (counted in ``stats.dropped``).
        """
        wanted = frozenset(channels or ("book", "ticker", "trade", "instrument"))
        q: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        entry = (wanted, q)
        self._streams.append(entry)
        self.feed.on_other = self._fan_out
        try:
            while True:
                yield await q.get()
        finally:
            self._streams.remove(entry)
            if not self._streams:
                self.feed.on_other = None

    def _fan_out(self, channel: str, item: Any) -> None:
        for wanted, q in self._streams:
            if channel in wanted:
                try:
                    q.put_nowait(item)
                except asyncio.QueueFull:
                    self.stats.dropped += 1
                    if self.stats.dropped == 1:
                        log.warning("krakenwire market: a stream() consumer is behind; dropping")

    # ---- closing ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Close for good."""
        if self._closing and self._closed.is_set():
            return
        self._closing = True
        if self._task is not None:
            self._task.cancel()
        self._stop_ticking()
        t = self.feed.transport
        if t is not None and not t.is_disconnected:
            t.send_close(picows.WSCloseCode.OK)
            t.disconnect()
            await t.wait_disconnected()
        if self.state != "closed":
            self._set_state("closed", "closed by the user")
        self._closed.set()


async def connect_market(
    url: str = PUBLIC_URL,
    *,
    on_book: Callable[[Book], Any] | None = None,
    on_state: Callable[[StateChange], None] | None = None,
    plugins: PluginHost | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    reconnect: bool = True,
    liveness_timeout: float = 15.0,
    ping_timeout: float = 5.0,
    keepalive_interval: float = 20.0,
    backoff_base: float = 0.5,
    backoff_cap: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
) -> MarketData:
    """Open a public market-data connection; returns once the ``instrument`` snapshot is in.

    Args:
        url: ``wss://ws.kraken.com/v2``, or the simulator's ``sim.public_url``.
        on_book: called inside the frame callback with the `Book` after every snapshot
            and update, and once when a book turns invalid (``book.valid`` false). From here a
            strategy may call ``client.batch_cancel_cb(...)`` on its trading client: the cancel
            leaves in the same pass as the book frame arrived. Exceptions are logged and
            counted, never propagated.
        on_state: called with every `StateChange` (``connection="market"``), including
            ``book_invalid`` when a checksum fails.
        plugins: a `PluginHost` (e.g. ``client.plugins``) whose plugins get
            ``krakenwire_connection_event`` for ``connected``, ``disconnected`` and
            ``book_invalid``.
        timeout: seconds for the handshake and each subscribe.
        reconnect: re-establish the connection (and every subscription) after a drop.
        liveness_timeout: no frame for this long -> a ping; no answer within
            ``ping_timeout`` -> the socket is dropped and re-established.
        ping_timeout: seconds to wait for anything after the liveness ping.
        keepalive_interval: ping when nothing was sent for this long.
        backoff_base: the first reconnect delay (capped, jittered exponential backoff).
        backoff_cap: the longest reconnect delay.
        ssl_context: for ``wss://``; the default verifies certificates.

    Raises:
        ValidationError: a bad argument.
        ConnectError: the connection or the instrument subscription failed.
    """
    check_url(url)
    for name, value in (
        ("timeout", timeout),
        ("liveness_timeout", liveness_timeout),
        ("ping_timeout", ping_timeout),
        ("keepalive_interval", keepalive_interval),
        ("backoff_base", backoff_base),
        ("backoff_cap", backoff_cap),
    ):
        check_timeout(value, name)
    for name, fn in (("on_book", on_book), ("on_state", on_state)):
        if fn is not None and not callable(fn):
            raise ValidationError(f"{name} must be callable", field=name)
    if plugins is not None and not isinstance(plugins, PluginHost):
        raise ValidationError("plugins must be a PluginHost (e.g. client.plugins)", field="plugins")
    md = MarketData(
        url,
        on_book=on_book,
        on_state=on_state,
        plugins=plugins,
        timeout=timeout,
        reconnect=reconnect,
        liveness_timeout=liveness_timeout,
        ping_timeout=ping_timeout,
        keepalive_interval=keepalive_interval,
        policy=ReconnectPolicy(base=backoff_base, cap=backoff_cap),
        ssl_context=ssl_context,
    )
    try:
        await md._connect_once()
    except BaseException:
        md._closing = True
        md.feed.drop()
        md._set_state("closed", "connect failed")
        raise
    return md
