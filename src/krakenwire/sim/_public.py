"""The simulator's public endpoint (Kraken's ``wss://ws.kraken.com/v2``), on its own port.

`PublicHub` serves ``instrument``, ``book`` (depths 10, 25, 100, 500, 1000, snapshot then
updates, each with Kraken's checksum computed from the simulator's own book, `._pubbook`),
``ticker`` and ``trade``, with Kraken's subscribe acks (one per symbol) and error strings, the
status frame on connect, heartbeats once subscribed, and pong. The books follow the market's
price (`._market`); a timer makes them move every ``SimConfig.book_interval`` seconds while
anybody subscribes, and `PublicHub.publish` moves them on demand (tests, floods). Fault
switches: a corrupted checksum, a dropped update, a delayed frame (``SimConfig.book_*`` for
every Nth update, and one-shot levers on the hub).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import msgspec
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest

from ._clock import clock
from ._engine import Engine
from ._pairs import instrument_data, pairs
from ._pubbook import SimBook
from ._wire import ENCODER, Inbound, Pong, StatusData, StatusFrame

__all__ = ["BOOK_DEPTHS", "PublicConn", "PublicHub"]

_log = logging.getLogger("krakenwire.sim")
_TEXT = WSMsgType.TEXT
_CLOSE = WSMsgType.CLOSE
BOOK_DEPTHS = frozenset((10, 25, 100, 500, 1000))
_INBOUND = msgspec.json.Decoder(Inbound)
_LOOSE: msgspec.json.Decoder[Any] = msgspec.json.Decoder()
_HEARTBEAT = b'{"channel":"heartbeat"}'
INVALID = "EGeneral:Invalid arguments"
PRIVATE_ERR = "Private data and trading are unavailable on this endpoint. Try ws-auth.kraken.com"
_PRIVATE = frozenset(("executions", "balances", "level3"))
_CHANNELS = frozenset(("book", "ticker", "trade", "instrument"))
_TRADES_KEPT = 50


class PublicConn(WSListener):
    """Server side of one public connection."""

    def __init__(self, hub: PublicHub) -> None:
        super().__init__()
        self.hub = hub
        self.transport: WSTransport | None = None
        self.closed = False
        self.connection_id = hub.engine.rng.getrandbits(63) | (1 << 63)
        self.books: dict[str, int] = {}  # symbol -> depth
        self.tickers: set[str] = set()
        self.trades: set[str] = set()
        self.instrument = False
        self.frames_in = 0
        self._loop = asyncio.get_running_loop()
        self._q: deque[tuple[float, bytes]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def subscribed(self) -> bool:
        return bool(self.books or self.tickers or self.trades or self.instrument)

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.hub.conns[self] = None
        if self.hub.engine.config.status_on_connect:
            data = StatusData(
                self.hub.engine.config.version, self.hub.engine.system, "v2", self.connection_id
            )
            self.send(ENCODER.encode(StatusFrame("status", "update", [data])))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._q.clear()
        self.hub.conns.pop(self, None)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        t_in = time.time_ns()
        if frame.msg_type is _CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type is not _TEXT or self.hub.engine.blackhole:
            return
        self.frames_in += 1
        try:
            self.hub.handle(self, frame.get_payload_as_bytes(), clock.text(t_in))
        except Exception:
            _log.exception("simulator (public) failed on a frame")

    def send(self, data: bytes, delay: float = 0.0) -> None:
        """Send now or after ``delay`` s, never ahead of frames already waiting."""
        if self.closed or self.transport is None:
            return
        if delay <= 0.0 and not self._q:
            self.transport.send(_TEXT, data)
            return
        due = self._loop.time() + delay
        if self._q and due < self._q[-1][0]:
            due = self._q[-1][0]
        self._q.append((due, data))
        if self._timer is None:
            self._timer = self._loop.call_at(self._q[0][0], self._drain)

    def _drain(self) -> None:
        self._timer = None
        if self.closed or self.transport is None:
            self._q.clear()
            return
        now = self._loop.time()
        while self._q and self._q[0][0] <= now:
            self.transport.send(_TEXT, self._q.popleft()[1])
        if self._q:
            self._timer = self._loop.call_at(self._q[0][0], self._drain)

    def close(self, code: int) -> None:
        if not self.closed and self.transport is not None:
            self.transport.send_close(WSCloseCode(code))
            self.transport.disconnect()


class PublicHub:
    """The public endpoint's state: books, trades, tickers, subscribers, fault levers.

    Attributes:
        updates_sent: book update frames written (after the fault switches).
        corrupt_next, drop_next: one-shot levers: corrupt the checksum of / drop the next N
            book updates (of every symbol).
        delay_next: seconds by which to delay the next book update frame (0: none).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        cfg = engine.config
        self.pairs = pairs(cfg)
        self.books: dict[str, SimBook] = {}
        self.conns: dict[PublicConn, None] = {}
        self.trades: dict[str, deque[dict[str, Any]]] = {
            s: deque(maxlen=_TRADES_KEPT) for s in self.pairs
        }
        self.volume: dict[str, int] = dict.fromkeys(self.pairs, 0)
        self._trade_id: dict[str, int] = dict.fromkeys(self.pairs, 0)
        self.updates = 0  # book update steps (per symbol), the fault switches count these
        self.updates_sent = 0
        self.corrupt_next = 0
        self.drop_next = 0
        self.delay_next = 0.0
        self._timers: list[asyncio.TimerHandle] = []

    # ---- timers -----------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.engine.config
        self._every(loop, cfg.heartbeat_interval, self._beat)
        if cfg.book_interval:
            self._every(loop, cfg.book_interval, self._auto_step)

    def stop(self) -> None:
        for h in self._timers:
            h.cancel()
        self._timers.clear()
        for conn in list(self.conns):
            conn.close(1001)

    def _every(self, loop: asyncio.AbstractEventLoop, period: float, fn: Any) -> None:
        index = len(self._timers)

        def tick() -> None:
            self._timers[index] = loop.call_later(period, tick)
            fn()

        self._timers.append(loop.call_later(period, tick))

    def _beat(self) -> None:
        if self.engine.blackhole:
            return
        for conn in self.conns:
            if conn.subscribed:
                conn.send(_HEARTBEAT)

    def _auto_step(self) -> None:
        if self.engine.blackhole:
            return
        symbols = {s for c in self.conns for s in (*c.books, *c.tickers, *c.trades)}
        for symbol in sorted(symbols):
            self.publish(symbol)

    # ---- the market -------------------------------------------------------------------------

    def book(self, symbol: str) -> SimBook:
        b = self.books.get(symbol)
        if b is None:
            b = SimBook(self.pairs[symbol], self.engine.market.price(symbol), self.engine.rng)
            self.books[symbol] = b
        return b

    def publish(self, symbol: str = "BTC/USD", steps: int = 1) -> None:
        """Move ``symbol``'s book ``steps`` times now and send every subscriber its update
        (and the trades and ticker the moves made)."""
        for _ in range(steps):
            book = self.book(symbol)
            before = book.best()
            book.step(self.engine.market.price(symbol))
            self.updates += 1
            if book.last_trade is not None:
                self._trade(symbol, book)
            self._send_updates(symbol, book)
            if book.best() != before:
                self._send_ticker(symbol, book, "update")

    def _send_updates(self, symbol: str, book: SimBook) -> None:
        cfg = self.engine.config
        n = self.updates
        depths = {c.books[symbol] for c in self.conns if symbol in c.books}
        if not depths:
            return
        drop = self.drop_next > 0 or (
            cfg.book_drop_every is not None and n % cfg.book_drop_every == 0
        )
        corrupt = self.corrupt_next > 0 or (
            cfg.book_corrupt_every is not None and n % cfg.book_corrupt_every == 0
        )
        delay = self.delay_next or (
            cfg.book_delay
            if cfg.book_delay_every is not None and n % cfg.book_delay_every == 0
            else 0.0
        )
        self.drop_next = max(0, self.drop_next - 1)
        self.corrupt_next = max(0, self.corrupt_next - 1) if not drop else self.corrupt_next
        self.delay_next = 0.0
        checksum = book.checksum()
        if corrupt and not drop:
            checksum = (checksum + 1) % 2**32
        ts = clock.text(time.time_ns())
        frames = {}
        for depth in depths:
            asks, bids = book.diff(depth)
            frames[depth] = (
                f'{{"channel":"book","type":"update","data":[{{"symbol":"{symbol}",'
                f'"bids":[{book.levels_json(bids)}],"asks":[{book.levels_json(asks)}],'
                f'"checksum":{checksum},"timestamp":"{ts}"}}]}}'
            ).encode()
        if drop:
            return  # the book moved, subscribers never hear of it: their next checksum fails
        for conn in self.conns:
            wanted = conn.books.get(symbol)
            if wanted is not None:
                conn.send(frames[wanted], delay)
                self.updates_sent += 1

    def _trade(self, symbol: str, book: SimBook) -> None:
        assert book.last_trade is not None
        side, price, qty = book.last_trade
        book.last_trade = None
        self._trade_id[symbol] += 1
        self.volume[symbol] += qty
        row = {
            "symbol": symbol,
            "side": side,
            "price": msgspec.Raw(book.price_text(price).encode()),
            "qty": msgspec.Raw(book.qty_text(qty).encode()),
            "ord_type": "market",
            "trade_id": self._trade_id[symbol],
            "timestamp": clock.text(time.time_ns()),
        }
        self.trades[symbol].append(row)
        frame = ENCODER.encode({"channel": "trade", "type": "update", "data": [row]})
        for conn in self.conns:
            if symbol in conn.trades:
                conn.send(frame)

    def _ticker_row(self, symbol: str, book: SimBook) -> dict[str, Any]:
        b, bq, a, aq = book.best()
        last = (
            self.trades[symbol][-1]["price"]
            if self.trades[symbol]
            else msgspec.Raw(book.price_text(book.mid).encode())
        )
        raw = msgspec.Raw
        return {
            "symbol": symbol,
            "bid": raw(book.price_text(b).encode()),
            "bid_qty": raw(book.qty_text(bq).encode()),
            "ask": raw(book.price_text(a).encode()),
            "ask_qty": raw(book.qty_text(aq).encode()),
            "last": last,
            "volume": raw(book.qty_text(self.volume[symbol]).encode()),
            "vwap": raw(book.price_text(book.mid).encode()),
            "low": raw(book.price_text(b).encode()),
            "high": raw(book.price_text(a).encode()),
            "change": 0.0,
            "change_pct": 0.0,
            "timestamp": clock.text(time.time_ns()),
        }

    def _send_ticker(
        self, symbol: str, book: SimBook, kind: str, only: PublicConn | None = None
    ) -> None:
        targets = [only] if only is not None else [c for c in self.conns if symbol in c.tickers]
        if not targets:
            return
        frame = ENCODER.encode(
            {"channel": "ticker", "type": kind, "data": [self._ticker_row(symbol, book)]}
        )
        for conn in targets:
            conn.send(frame)

    # ---- requests ---------------------------------------------------------------------------

    def handle(self, conn: PublicConn, data: bytes, t_in: str) -> None:
        try:
            msg = _INBOUND.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            loose = None
            try:
                loose = _LOOSE.decode(data)
            except msgspec.DecodeError:
                pass
            rid = loose.get("req_id") if isinstance(loose, dict) else None
            self._reply(conn, "", rid if type(rid) is int else None, t_in, error=INVALID)
            return
        method, rid = msg.method or "", msg.req_id
        if method == "ping":
            pong = Pong(time_in=t_in, time_out=clock.text(time.time_ns()))
            if rid is not None:
                pong.req_id = rid
            conn.send(ENCODER.encode(pong))
            return
        if method not in ("subscribe", "unsubscribe"):
            # Trading on the public host: Kraken's recorded answer (kraken-ws-v2.md section 1).
            self._reply(conn, method, rid, t_in, error=PRIVATE_ERR if method else INVALID)
            return
        try:
            params = _LOOSE.decode(msg.params) if msg.params else None
        except msgspec.DecodeError:
            params = None
        if not isinstance(params, dict) or not isinstance(params.get("channel"), str):
            self._reply(conn, method, rid, t_in, error=INVALID)
            return
        channel = params["channel"]
        if channel in _PRIVATE:
            self._reply(conn, method, rid, t_in, error=PRIVATE_ERR, channel=channel)
            return
        if channel not in _CHANNELS:
            self._reply(conn, method, rid, t_in, error=f"Channel {channel} not supported")
            return
        if channel == "instrument":
            self._instrument(conn, method, rid, params, t_in)
            return
        symbols = params.get("symbol")
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(isinstance(s, str) for s in symbols)
        ):
            self._reply(conn, method, rid, t_in, error=INVALID, channel=channel)
            return
        depth = params.get("depth", 10)
        if channel == "book" and (type(depth) is not int or depth not in BOOK_DEPTHS):
            self._reply(conn, method, rid, t_in, error=INVALID, channel=channel)
            return
        snapshot = params.get("snapshot", channel != "trade")
        for symbol in symbols:
            self._one(conn, method, rid, channel, symbol, depth, bool(snapshot), t_in)

    def _one(
        self,
        conn: PublicConn,
        method: str,
        rid: int | None,
        channel: str,
        symbol: str,
        depth: int,
        snapshot: bool,
        t_in: str,
    ) -> None:
        if symbol not in self.pairs:
            self._reply(
                conn,
                method,
                rid,
                t_in,
                error=f"Currency pair not supported {symbol}",
                symbol=symbol,
            )
            return
        subs: Any = (
            conn.books
            if channel == "book"
            else conn.tickers
            if channel == "ticker"
            else conn.trades
        )
        if method == "unsubscribe":
            if symbol not in subs:
                self._reply(
                    conn, "subscribe", rid, t_in, error="Subscription Not Found", symbol=symbol
                )
                return
            subs.pop(symbol) if channel == "book" else subs.discard(symbol)
            result: dict[str, Any] = {"channel": channel, "symbol": symbol}
            if channel == "book":
                result["depth"] = depth
            self._reply(conn, method, rid, t_in, result=result)
            return
        if symbol in subs:
            self._reply(conn, method, rid, t_in, error="Already subscribed", symbol=symbol)
            return
        result = {"channel": channel, "snapshot": snapshot, "symbol": symbol}
        if channel == "book":
            result["depth"] = depth
        self._reply(conn, method, rid, t_in, result=result)
        book = self.book(symbol)
        if channel == "book":
            conn.books[symbol] = depth
            # Every change is published at once to each depth that has subscribers, so the
            # current top is also what the others of this depth hold.
            asks, bids = book.snapshot_levels(depth)
            checksum = book.checksum()
            conn.send(
                (
                    f'{{"channel":"book","type":"snapshot","data":[{{"symbol":"{symbol}",'
                    f'"bids":[{book.levels_json(bids)}],"asks":[{book.levels_json(asks)}],'
                    f'"checksum":{checksum}}}]}}'
                ).encode()
            )
        elif channel == "ticker":
            conn.tickers.add(symbol)
            self._send_ticker(symbol, book, "snapshot", only=conn)
        else:
            conn.trades.add(symbol)
            if snapshot:
                rows = list(self.trades[symbol])
                conn.send(ENCODER.encode({"channel": "trade", "type": "snapshot", "data": rows}))

    def _instrument(
        self, conn: PublicConn, method: str, rid: int | None, params: dict[str, Any], t_in: str
    ) -> None:
        if method == "unsubscribe":
            if not conn.instrument:
                self._reply(
                    conn,
                    "subscribe",
                    rid,
                    t_in,
                    error="Subscription Not Found",
                    channel="instrument",
                )
                return
            conn.instrument = False
            self._reply(conn, method, rid, t_in, result={"channel": "instrument"})
            return
        if conn.instrument:
            self._reply(conn, method, rid, t_in, error="Already subscribed", channel="instrument")
            return
        conn.instrument = True
        snapshot = bool(params.get("snapshot", True))
        self._reply(conn, method, rid, t_in, result={"channel": "instrument", "snapshot": snapshot})
        if snapshot:
            data = instrument_data(self.engine.config)
            conn.send(ENCODER.encode({"channel": "instrument", "type": "snapshot", "data": data}))

    def _reply(
        self,
        conn: PublicConn,
        method: str,
        rid: int | None,
        t_in: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        symbol: str | None = None,
        channel: str | None = None,
    ) -> None:
        out: dict[str, Any] = {"method": method}
        if rid is not None:
            out["req_id"] = rid
        if error is None:
            out["result"] = result
            out["success"] = True
        else:
            if channel is not None:
                out["channel"] = channel
            out["error"] = error
            if symbol is not None:
                out["symbol"] = symbol
            out["success"] = False
        out["time_in"] = t_in
        out["time_out"] = clock.text(time.time_ns())
        conn.send(ENCODER.encode(out))

    # ---- the server's factory ---------------------------------------------------------------

    def factory(self, request: WSUpgradeRequest) -> PublicConn | None:
        if self.engine.config.strict_path and request.path.split(b"?", 1)[0] != b"/v2":
            return None
        return PublicConn(self)
