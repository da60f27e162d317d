"""One simulated ws-auth connection: a picows listener that parses, dispatches and replies.

Everything runs inside ``on_ws_frame`` with no task per frame. Outbound frames go straight to
the transport unless a latency switch delays one, in which case they wait in a per-connection
queue drained by one timer, so frames never overtake each other (a method reply always leaves
before the executions updates it caused, kraken-ws-v2.md §4).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from decimal import Decimal
from typing import Any

import msgspec
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from ._book import Account, LedgerEntry
from ._clock import clock
from ._ctx import INVALID, PERMISSION_DENIED, Ctx, charge_refused
from ._engine import Engine
from ._methods import HANDLERS
from ._wire import (
    ENCODER,
    ChannelOnly,
    CountResult,
    ExecFrame,
    Inbound,
    Pong,
    RecordedCountResp,
    Resp,
    SubErr,
    SubResult,
    SubscribeParams,
    number_error,
    refusal,
)

__all__ = ["Conn"]

_log = logging.getLogger("krakenwire.sim")
_INBOUND = msgspec.json.Decoder(Inbound)
_SUBSCRIBE = msgspec.json.Decoder(SubscribeParams)
_CHANNEL = msgspec.json.Decoder(ChannelOnly)
# float_hook: numbers typed Any in the order params arrive as exact Decimals (sim/_wire.py).
_DECODERS = {
    name: msgspec.json.Decoder(spec[0], float_hook=Decimal) for name, spec in HANDLERS.items()
}
_LOOSE: msgspec.json.Decoder[Any] = msgspec.json.Decoder()
_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CLOSE = WSMsgType.CLOSE
SESSION = "ESession:Invalid session"
# Recorded from the venue (kraken-async-rs test data, 2024-05; kraken-ws-v2.md section 9).
NO_TOKEN = "Token(s) not found"
UNSUPPORTED_EVENT = "Unsupported event"
FLOOD = b'{"Error":"Exceeded msg rate"}'
_PUBLIC = frozenset(("book", "ticker", "trade", "ohlc", "instrument", "status"))
_PUBLIC_ERR = "Public market data subscriptions are unavailable on this endpoint. Try ws.kraken.com"
_JUNK: tuple[bytes, ...] = (
    b"this is not json {",
    b'{"method":"frobnicate","req_id":987654321987,"success":false,'
    b'"error":"EGeneral:Invalid arguments"}',
    b'{"channel":"sim_junk","type":"update","data":[{"zz":1}],"unexpected":true}',
)


class Conn(WSListener):
    """Server side of one WebSocket connection to the simulator."""

    def __init__(self, eng: Engine) -> None:
        super().__init__()
        self.eng = eng
        self.transport: WSTransport | None = None
        self.closed = False
        self.connection_id = eng.rng.getrandbits(63) | (1 << 63)  # Kraken's exceed 2**63
        self.account: Account | None = None  # set while subscribed to executions
        self.token: str | None = None
        self.order_status = True
        self.ratecounter = False
        self.last_in = self.unsubscribed_at = time.monotonic()
        self.seq = 0
        self.frames = 0
        # Extra seconds before each frame to this connection (fixed, uniform jitter): one slow
        # socket among several of an account (set_connection_latency).
        self.extra_latency = (0.0, 0.0)
        self.trades = 0
        self._loop = asyncio.get_running_loop()
        self._q: deque[tuple[float, bytes]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        # Arrival times of the last msg_rate_limit messages (the message-rate switch).
        limit = eng.config.msg_rate_limit
        self._arrivals: deque[float] | None = deque(maxlen=limit) if limit else None

    # -- picows callbacks --------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.eng.connected(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._shut()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        t_in = time.time_ns()
        eng = self.eng
        eng.frames_received += 1
        self.last_in = time.monotonic()
        msg_type = frame.msg_type
        if msg_type is _CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if msg_type is not _TEXT and msg_type is not _BINARY or eng.blackhole:
            return
        arrivals = self._arrivals
        if arrivals is not None:
            now = self.last_in
            if len(arrivals) == arrivals.maxlen and now - arrivals[0] < 1.0:
                eng.flood_refusals += 1
                self.send(FLOOD)  # Kraken's bare notice; the message itself is dropped
                return
            arrivals.append(now)
        self.frames += 1
        try:
            self._handle(frame.get_payload_as_bytes(), t_in)
        except Exception:  # never let junk (or a sim bug) kill the connection
            _log.exception("simulator failed on a frame")
            self._resp("", None, None, INVALID, clock.text(t_in), 0.0)
        junk_every = eng.config.junk_every
        if junk_every and self.frames % junk_every == 0:
            self.send(_JUNK[(self.frames // junk_every - 1) % len(_JUNK)])

    # -- sending -----------------------------------------------------------------------------

    def close(self, code: int, reason: bytes) -> None:
        """Close with a close frame (``code``, ``reason``), as Kraken's idle timeouts do."""
        if not self.closed and self.transport is not None:
            self.transport.send_close(WSCloseCode(code), reason)
            self.transport.disconnect()

    def kill(self, code: int | None = None) -> None:
        """Drop the connection now: abruptly (``None``) or with a close frame. Frames waiting
        behind a latency switch die with it."""
        self._q.clear()
        if self.transport is None or self.closed:
            return
        if code is None:
            self.transport.disconnect(graceful=False)
        else:
            self.transport.send_close(WSCloseCode(code))
            self.transport.disconnect()

    def send(self, data: bytes, delay: float = 0.0) -> None:
        """Send now, or after ``delay`` seconds, never ahead of frames already waiting."""
        if self.closed or self.transport is None:
            return
        fixed, jitter = self.extra_latency
        if fixed or jitter:
            delay += fixed + self.eng.rng.uniform(0.0, jitter)
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
        q = self._q
        while q and q[0][0] <= now:
            self.transport.send(_TEXT, q.popleft()[1])
        if q:
            self._timer = self._loop.call_at(q[0][0], self._drain)

    def _resp(
        self,
        method: str,
        req_id: int | None,
        result: Any,
        error: str | None,
        t_in: str,
        delay: float,
    ) -> None:
        out_ns = time.time_ns() + int(delay * 1e9)
        if (
            error is None
            and method == "batch_cancel"
            and type(result) is CountResult
            and self.eng.config.reply_shape == "recorded"
        ):
            # The shape recorded from the live venue: no result, a top-level orders_cancelled.
            recorded = RecordedCountResp(
                method=method,
                orders_cancelled=result.count,
                req_id=req_id,
                success=True,
                time_in=t_in,
                time_out=self.eng.fmt_out(out_ns),
            )
            self.send(ENCODER.encode(recorded), delay)
            return
        resp = Resp(
            method=method,
            req_id=req_id,
            result=result,
            success=error is None,
            error=error,
            time_in=t_in,
            time_out=self.eng.fmt_out(out_ns),
        )
        self.send(ENCODER.encode(resp), delay)

    def _sub_err(
        self,
        method: str,
        req_id: int | None,
        channel: str | None,
        error: str,
        t_in: str,
        delay: float,
    ) -> None:
        err = SubErr(
            error=error,
            method=method,
            time_in=t_in,
            time_out=self.eng.fmt_out(time.time_ns() + int(delay * 1e9)),
        )
        if channel is not None:
            err.channel = channel
        if req_id is not None:
            err.req_id = req_id
        self.send(ENCODER.encode(err), delay)

    # -- dispatch ----------------------------------------------------------------------------

    def _handle(self, data: bytes, t_in_ns: int) -> None:
        t_in = clock.text(t_in_ns)
        eng = self.eng
        try:
            msg = _INBOUND.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._malformed(data, t_in)
            return
        method = msg.method
        req_id = msg.req_id
        if method in _DECODERS:
            self._trade(method, req_id, msg.params, t_in)
        elif method == "ping" and msg.params:
            # Recorded: a ping carrying params is refused, not answered with a pong.
            error = refusal("params", method)
            self._resp(method, req_id, None, error, t_in, eng.delay())
        elif method == "ping":
            delay = eng.delay()
            pong = Pong(time_in=t_in, time_out=eng.fmt_out(time.time_ns() + int(delay * 1e9)))
            if req_id is not None:
                pong.req_id = req_id
            self.send(ENCODER.encode(pong), delay)
        elif (
            (method == "subscribe" or method == "unsubscribe")
            and msg.params
            and bytes(memoryview(msg.params)[:1]) != b"{"
        ):
            # Recorded: a subscribe whose params are not an object is an "Unsupported event".
            self._resp(method, req_id, None, UNSUPPORTED_EVENT, t_in, eng.delay())
        elif method == "subscribe" or method == "unsubscribe":
            self._subscription(method, req_id, msg.params, t_in)
        elif method:  # a method Kraken does not know: its recorded answer to a bad event
            self._resp(method, req_id, None, UNSUPPORTED_EVENT, t_in, eng.delay())
        else:
            self._resp("", req_id, None, INVALID, t_in, eng.delay())

    def _malformed(self, data: bytes, t_in: str) -> None:
        """Junk or wrongly typed envelope: echo what can be salvaged (req_id, method)."""
        method = ""
        req_id: int | None = None
        try:
            loose = _LOOSE.decode(data)
        except msgspec.DecodeError:
            loose = None
        if isinstance(loose, dict):
            m = loose.get("method")
            r = loose.get("req_id")
            method = m if isinstance(m, str) else ""
            req_id = r if isinstance(r, int) and not isinstance(r, bool) else None
        self._resp(method, req_id, None, INVALID, t_in, self.eng.delay())

    def _trade(self, method: str, req_id: int | None, raw: msgspec.Raw, t_in: str) -> None:
        eng = self.eng
        bad_number = number_error(method, raw)
        if bad_number is not None:
            self._refused(method, req_id, raw, bad_number, t_in)
            return
        try:
            params = _DECODERS[method].decode(raw)
        except msgspec.ValidationError as e:
            self._refused(method, req_id, raw, refusal(e, method), t_in)
            return
        except msgspec.DecodeError:
            self._refused(method, req_id, raw, INVALID, t_in)
            return
        acct = eng.auth(params.token)
        if acct is None:
            error = SESSION if params.token else NO_TOKEN  # both recorded from the venue
            self._resp(method, req_id, None, error, t_in, eng.delay())
            return
        entry = LedgerEntry(req_id=req_id, method=method)
        ctx = Ctx(method, req_id, entry)
        _, handler, places = HANDLERS[method]
        if eng.config.deny_trading:  # an API key without the trading permission
            ctx.fail(PERMISSION_DENIED)
        elif eng.system == "maintenance":
            ctx.fail("EService:Unavailable")
        elif places and eng.system == "cancel_only":
            ctx.fail("EService:Market in cancel_only mode")
        else:
            # Hold executions updates back until the reply is out (reply first, then updates).
            eng.hold()
            try:
                handler(eng, ctx, acct, params)
            finally:
                eng.release()
        eng.record(acct, entry)
        self.trades += 1
        cfg = eng.config
        close = (cfg.close_after is not None and self.trades >= cfg.close_after) or (
            cfg.close_prob > 0.0 and eng.rng.random() < cfg.close_prob
        )
        if cfg.updates_before_reply and not close:
            eng.flush()  # executions updates first, then the method reply
        if close or (cfg.drop_reply_prob > 0.0 and eng.rng.random() < cfg.drop_reply_prob):
            entry.reply_sent = False
        else:
            delay = eng.delay()
            for result, err in ctx.replies:
                self._resp(method, req_id, result, err, t_in, delay)
        if close and self.transport is not None:
            self.closed = True
            self.transport.disconnect(graceful=False)
        eng.flush()

    def _refused(
        self, method: str, req_id: int | None, raw: msgspec.Raw, error: str, t_in: str
    ) -> None:
        """A request that failed validation: Kraken still charges the method's fixed
        rate-counter cost (kraken-ws-v2.md section 6) when it can tell whose and which pair."""
        eng = self.eng
        if error != NO_TOKEN:
            charge_refused(eng, method, raw)
        self._resp(method, req_id, None, error, t_in, eng.delay())

    def _subscription(self, method: str, req_id: int | None, raw: msgspec.Raw, t_in: str) -> None:
        eng = self.eng
        delay = eng.delay()
        try:
            channel = _CHANNEL.decode(raw).channel
        except (msgspec.DecodeError, msgspec.ValidationError):
            channel = None
        if channel in _PUBLIC:  # Kraken's recorded answer on ws-auth (kraken-ws-v2.md §1)
            self._sub_err(method, req_id, channel, _PUBLIC_ERR, t_in, delay)
            return
        try:
            p = _SUBSCRIBE.decode(raw)
        except msgspec.ValidationError as e:
            self._sub_err(method, req_id, None, refusal(e, method), t_in, delay)
            return
        except msgspec.DecodeError:
            self._sub_err(method, req_id, None, INVALID, t_in, delay)
            return
        channel = p.channel
        if channel == "balances":
            self._balances(method, req_id, p, t_in, delay)
            return
        if channel != "executions":
            self._sub_err(method, req_id, channel, INVALID, t_in, delay)
            return
        acct = eng.auth(p.token)
        if acct is None:
            self._sub_err(method, req_id, channel, SESSION, t_in, delay)
            return
        if method == "unsubscribe":
            if self.account is None:
                # Kraken answers with method "subscribe" here (kraken-ws-v2.md §3).
                self._sub_err("subscribe", req_id, channel, "Subscription Not Found", t_in, delay)
                return
            eng.unsubscribe(self)
            self._resp(method, req_id, SubResult(channel), None, t_in, delay)
            return
        if self.account is not None:
            self._sub_err(method, req_id, channel, "Already subscribed", t_in, delay)
            return
        snap_orders = p.snap_orders if p.snapshot is None else p.snapshot
        snap_trades = p.snap_trades if p.snapshot_trades is None else p.snapshot_trades
        eng.subscribe(self, acct, p.token)
        self.order_status = p.order_status
        self.ratecounter = p.ratecounter
        result = SubResult(channel, eng.config.maxratecount, snap_orders, snap_trades)
        self._resp(method, req_id, result, None, t_in, delay)
        self.seq += 1
        data = msgspec.Raw(eng.snapshot(acct, snap_orders, snap_trades))
        self.send(ENCODER.encode(ExecFrame("executions", "snapshot", data, self.seq)), delay)

    def _balances(
        self, method: str, req_id: int | None, p: SubscribeParams, t_in: str, delay: float
    ) -> None:
        """The ``balances`` channel: snapshot after the ack, then one update per ledger
        entry (engine)."""
        eng = self.eng
        acct = eng.auth(p.token)
        if acct is None:
            self._sub_err(method, req_id, "balances", SESSION, t_in, delay)
        elif method == "unsubscribe":
            if eng.unsubscribe_balances(self):
                self._resp(method, req_id, SubResult("balances"), None, t_in, delay)
            else:
                self._sub_err(
                    "subscribe", req_id, "balances", "Subscription Not Found", t_in, delay
                )
        elif eng.balances_subscribed(self):
            self._sub_err(method, req_id, "balances", "Already subscribed", t_in, delay)
        else:
            snap = eng.subscribe_balances(self, acct, p.snapshot is not False)
            ack = SubResult("balances", snapshot=p.snapshot is not False)
            self._resp(method, req_id, ack, None, t_in, delay)
            if snap is not None:
                self.send(snap, delay)

    # -- lifecycle ---------------------------------------------------------------------------

    def _shut(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._q.clear()
        self.eng.disconnected(self)
