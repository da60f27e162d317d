"""Tick-to-cancel: from a book frame leaving the server to the cancel it triggers arriving back.

Run by the runner as ``python -m bench.tick_to_cancel PLAN_JSON`` (prints one JSON line; progress
on stderr); the processes it starts are this module too (``serve``, ``client``).

The server (one process, uvloop) is both of Kraken's hosts in miniature: the public one (status,
``instrument``, ``book`` depth 10: an ack and a snapshot, then a pre-built stream of updates)
and the trading one (``executions`` ack and an empty snapshot, ``batch_cancel`` answered at
once with ``count``), plus the REST token and ``AssetPairs`` endpoints python-kraken-sdk needs
(the simulator's own REST server). Its book frames are generated before the run by the
simulator's book (:mod:`krakenwire.sim._pubbook`), each with Kraken's checksum. Every
``trigger`` frames the mid jumps ``TICKS`` ticks; between triggers one level at depth 2..9
changes (the best bid and ask stay put). The server stamps ``time.monotonic_ns()`` right before
writing each trigger frame and on the arrival of each ``batch_cancel`` frame (one host,
CLOCK_MONOTONIC: one clock for both); a cancel is matched to the latest trigger sent before it
(triggers are milliseconds apart, cancels arrive within a fraction of that).

Every client does the same work: decode each book update, apply it, verify its checksum, and
when the best bid has moved ``TICKS/2`` ticks from where it last pulled, send a 10-id
``batch_cancel``:

- ``krakenwire-cb``: ``connect_market(on_book=...)`` calling ``client.batch_cancel_cb`` inside
  the frame callback (two sockets, as in production);
- ``krakenwire-await``: ``async for book in market.stream("book")`` and ``await
  client.batch_cancel(ids)``;
- ``krakenwire-market``: krakenwire's market data (``connect_market(on_book=...)``) writing the
  hand-written client's pre-built cancel frame on a bare picows trading socket: the market-data
  path alone, without the trading client's request building;
- ``picows``: a hand-written picows + msgspec client: its own Structs, a dict-and-sorted-list
  book in integer units, the checksum, and a pre-built cancel frame;
- ``kraken-sdk``: python-kraken-sdk's ``SpotOrderBookClient`` (its book and checksum) whose
  callback awaits ``send_message`` of the cancel on its ``SpotWSClient``.

Two loads: ``quiet`` (one update every 2 ms) and ``flood`` (bursts of 20 updates every 1 ms,
about 20,000 updates/s). Each client process reports its CPU time per book update over the
flood (``time.process_time()``, user+sys, between the first and the last update it handled,
sampled every 64th update). Each (load, client) pair runs ``rounds`` times, the clients
interleaved within a round so drift hits them all; the samples of all rounds are pooled.
Processes are pinned with ``os.sched_setaffinity``: server and client on the same CPU (the
client-cost mode of the headline), so a figure is the work done, not where the scheduler put it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import zlib
from bisect import bisect_left, insort
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import picows

ROOT = Path(__file__).resolve().parent.parent
TEXT = picows.WSMsgType.TEXT
TICKS = 10  # the mid jumps this many ticks at a trigger
SYMBOL = "BTC/USD"
IDS = [f"OTICK{i:02d}-XXXXX-XXXXXX" for i in range(10)]
TOKEN = "bench-tick-token"
CLIENTS = ["picows", "krakenwire-market", "krakenwire-cb", "krakenwire-await", "kraken-sdk"]
PLAN = {
    "quiet": {"frames": 2000, "trigger": 10, "burst": 1, "period": 0.002},
    "flood": {"frames": 60000, "trigger": 200, "burst": 20, "period": 0.001},
    "clients": CLIENTS,
    "cpu": 0,
    "rounds": 3,
}
TARGETS = {"p50_vs_picows": 1.3, "cpu_vs_sdk": 0.3}


def _log(msg: str) -> None:
    print(f"tick-to-cancel: {msg}", file=sys.stderr, flush=True)


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


# ---- the frames ---------------------------------------------------------------------------


def make_frames(n: int, trigger: int, seed: int = 5) -> tuple[bytes, list[bytes], list[bool]]:
    """A snapshot and ``n`` updates (depth 10, each with Kraken's checksum); ``flags[i]`` says
    whether update ``i`` is a trigger (the mid jumps ``TICKS`` ticks)."""
    from krakenwire.sim import SimConfig
    from krakenwire.sim._pairs import pairs
    from krakenwire.sim._pubbook import SimBook

    rng = random.Random(seed)
    pair = pairs(SimConfig())[SYMBOL]
    mid = Decimal(30000)
    book = SimBook(pair, mid, rng, levels=40)
    asks, bids = book.snapshot_levels(10)
    snap = (
        f'{{"channel":"book","type":"snapshot","data":[{{"symbol":"{SYMBOL}",'
        f'"bids":[{book.levels_json(bids)}],"asks":[{book.levels_json(asks)}],'
        f'"checksum":{book.checksum()}}}]}}'
    ).encode()
    frames, flags = [], []
    up = True
    tick = pair.tick_size
    for i in range(1, n + 1):
        is_trigger = i % trigger == 0
        if is_trigger:
            mid += tick * TICKS if up else -tick * TICKS
            up = not up
            book.step(mid, changes=0)
            book.last_trade = None
        else:
            side = book.bids if rng.random() < 0.5 else book.asks
            sign = -1 if side is book.bids else 1
            k = rng.randint(2, 9)
            side[book.mid + sign * k * book.tick] = book._qty()
        a, b = book.diff(10)
        frames.append(
            (
                f'{{"channel":"book","type":"update","data":[{{"symbol":"{SYMBOL}",'
                f'"bids":[{book.levels_json(b)}],"asks":[{book.levels_json(a)}],'
                f'"checksum":{book.checksum()},"timestamp":"2026-12-02T10:00:00.000000Z"}}]}}'
            ).encode()
        )
        flags.append(is_trigger)
    return snap, frames, flags


# ---- the server ---------------------------------------------------------------------------


class Env(msgspec.Struct):
    method: str = ""
    params: dict[str, Any] = {}
    req_id: int | None = None


_env = msgspec.json.Decoder(Env).decode
_enc = msgspec.json.Encoder(decimal_format="number").encode
_TIMES = {"time_in": "2026-01-01T00:00:00.000000Z", "time_out": "2026-01-01T00:00:00.000010Z"}


class Server:
    def __init__(self, mode: dict[str, Any], needs_trade: bool) -> None:
        self.mode = mode
        self.snap, self.frames, self.flags = make_frames(mode["frames"], mode["trigger"])
        self.needs_trade = needs_trade
        self.book_conn: picows.WSTransport | None = None
        self.trade_ok = not needs_trade
        self.started = False
        self.sent: list[int] = []  # send stamp of each trigger
        self.cancels: list[int] = []
        self.done = asyncio.Event()
        self.i = 0

    def maybe_start(self) -> None:
        if self.started or self.book_conn is None or not self.trade_ok:
            return
        self.started = True
        asyncio.get_running_loop().call_later(1.0, self.tick)  # a second to settle

    def tick(self) -> None:
        t = self.book_conn
        if t is None or t.is_disconnected:
            self.done.set()
            return
        frames, flags, now = self.frames, self.flags, time.monotonic_ns
        for _ in range(self.mode["burst"]):
            i = self.i
            if i >= len(frames):
                asyncio.get_running_loop().call_later(1.0, self.done.set)
                return
            if flags[i]:
                self.sent.append(now())
            t.send(TEXT, frames[i])
            self.i = i + 1
        asyncio.get_running_loop().call_later(self.mode["period"], self.tick)


class Conn(picows.WSListener):
    def __init__(self, srv: Server) -> None:
        self.srv = srv
        self.t: picows.WSTransport | None = None

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.t = transport
        transport.send(
            TEXT,
            b'{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online",'
            b'"api_version":"v2","connection_id":1}]}',
        )

    def reply(self, method: str, req_id: int | None, result: Any) -> None:
        assert self.t is not None
        msg: dict[str, Any] = {"method": method, "result": result, "success": True, **_TIMES}
        if req_id is not None:
            msg["req_id"] = req_id
        self.t.send(TEXT, _enc(msg))

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type is picows.WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type is not TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if b'"batch_cancel"' in payload:
            self.srv.cancels.append(time.monotonic_ns())
        try:
            env = _env(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        m, rid, p = env.method, env.req_id, env.params
        if m == "batch_cancel":
            self.reply(m, rid, {"count": len(p.get("orders", []))})
        elif m == "ping":
            transport.send(TEXT, _enc({"method": "pong", "req_id": rid, **_TIMES}))
        elif m in ("subscribe", "unsubscribe"):
            ch = p.get("channel")
            if ch == "instrument":
                from krakenwire.sim import SimConfig
                from krakenwire.sim._pairs import instrument_data

                self.reply(m, rid, {"channel": ch, "snapshot": True})
                data = instrument_data(SimConfig())
                transport.send(TEXT, _enc({"channel": ch, "type": "snapshot", "data": data}))
            elif ch == "executions":
                self.reply(m, rid, {"channel": ch, "snap_orders": True, "snap_trades": False})
                transport.send(
                    TEXT, b'{"channel":"executions","type":"snapshot","data":[],"sequence":1}'
                )
                self.srv.trade_ok = True
                self.srv.maybe_start()
            elif ch == "book":
                for s in p.get("symbol", []):
                    self.reply(
                        m, rid, {"channel": "book", "depth": 10, "snapshot": True, "symbol": s}
                    )
                if m == "subscribe":
                    if self.srv.started:
                        _log("a client re-subscribed the book mid-run (a checksum failure?)")
                    transport.send(TEXT, self.srv.snap)
                    self.srv.book_conn = transport
                    self.srv.maybe_start()
            else:
                self.reply(m, rid, {"channel": ch})


async def serve(mode: dict[str, Any], needs_trade: bool, cpu: int) -> int:
    pin(cpu)
    from krakenwire.sim import SimConfig
    from krakenwire.sim._pairs import asset_pairs_reply
    from krakenwire.sim._rest import RestTokenServer

    srv = Server(mode, needs_trade)
    conns: list[Conn] = []

    def factory(_r: Any) -> Conn:
        conns.append(Conn(srv))
        return conns[-1]

    server = await picows.ws_create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    key, secret = "bench-key", "YmVuY2gtdGljay1zZWNyZXQ="
    rest = RestTokenServer(
        {key: secret},
        lambda _k: TOKEN,
        public=lambda name, q: asset_pairs_reply(SimConfig(), q),
    )
    await rest.start()
    print(
        json.dumps(
            {
                "url": f"ws://127.0.0.1:{port}/v2",
                "base": f"ws://127.0.0.1:{port}",
                "rest": rest.url,
                "key": key,
                "secret": secret,
            }
        ),
        flush=True,
    )
    await srv.done.wait()
    for c in conns:
        if c.t is not None and not c.t.is_disconnected:
            c.t.disconnect()
    server.close()
    await rest.stop()
    pairs = []
    for c in srv.cancels:  # the latest trigger sent before this cancel arrived
        j = bisect_left(srv.sent, c) - 1
        if j >= 0:
            pairs.append((j, c - srv.sent[j]))
    seen: dict[int, int] = {}
    for j, d in pairs:
        seen.setdefault(j, d)
    print(
        json.dumps(
            {"lat": list(seen.values()), "triggers": len(srv.sent), "cancels": len(srv.cancels)}
        ),
        flush=True,
    )
    return 0


# ---- the clients --------------------------------------------------------------------------


class Meter:
    """Counts book updates; samples CPU every 64th so the sampling costs nothing measurable."""

    def __init__(self) -> None:
        self.n = 0
        self.first: tuple[int, float] | None = None
        self.last: tuple[int, float] | None = None

    def tick(self) -> None:
        self.n += 1
        if self.n & 63 == 0:
            now = (self.n, time.process_time())
            if self.first is None:
                self.first = now
            self.last = now

    def result(self) -> dict[str, Any]:
        if self.first is None or self.last is None or self.last[0] == self.first[0]:
            return {"updates": self.n}
        n = self.last[0] - self.first[0]
        return {"updates": self.n, "cpu_us": (self.last[1] - self.first[1]) / n * 1e6}


class Trigger:
    """Has the best bid moved TICKS/2 ticks since the last pull?"""

    def __init__(self) -> None:
        self.anchor: float | None = None

    def moved(self, best_bid: float) -> bool:
        if self.anchor is None:
            self.anchor = best_bid
            return False
        if abs(best_bid - self.anchor) >= TICKS / 2 * 0.1 - 1e-9:
            self.anchor = best_bid
            return True
        return False


async def client_krakenwire_market(srv: dict[str, Any], stop: asyncio.Event) -> Meter:
    import krakenwire

    meter, trig = Meter(), Trigger()
    trade, _ = await picows.ws_connect(_Quiet, srv["url"])
    trade.send(
        TEXT, _enc({"method": "subscribe", "params": {"channel": "executions", "token": TOKEN}})
    )
    cancel = _enc(
        {"method": "batch_cancel", "params": {"orders": IDS, "token": TOKEN}, "req_id": 1}
    )

    def on_book(book: krakenwire.Book) -> None:
        meter.tick()
        if book.valid and book.updates and trig.moved(book.best_bid):
            trade.send(TEXT, cancel)

    market = await krakenwire.connect_market(
        srv["url"],
        on_book=on_book,
        reconnect=False,
        on_state=lambda c: stop.set() if c.state in ("disconnected", "closed") else None,
    )
    await market.subscribe_book(SYMBOL, depth=10)
    await stop.wait()
    await market.close()
    trade.disconnect()
    return meter


async def client_krakenwire(srv: dict[str, Any], awaitable: bool, stop: asyncio.Event) -> Meter:
    import krakenwire

    meter, trig = Meter(), Trigger()
    client = await krakenwire.connect(srv["url"], token=TOKEN, autoload_plugins=False)
    noop = lambda _r: None  # noqa: E731

    def on_book(book: krakenwire.Book) -> None:
        meter.tick()
        if book.valid and book.updates and trig.moved(book.best_bid):
            client.batch_cancel_cb(IDS, on_done=noop)

    market = await krakenwire.connect_market(
        srv["url"],
        on_book=None if awaitable else on_book,
        reconnect=False,
        on_state=lambda c: stop.set() if c.state in ("disconnected", "closed") else None,
    )
    if awaitable:

        async def consume() -> None:
            async for book in market.stream("book"):
                meter.tick()
                if book.valid and book.updates and trig.moved(book.best_bid):
                    await client.batch_cancel(IDS)

        task = asyncio.ensure_future(consume())
    await market.subscribe_book(SYMBOL, depth=10)
    await stop.wait()
    if awaitable:
        task.cancel()
    if market.stats.mismatches:
        _log(f"krakenwire saw {market.stats.mismatches} checksum mismatches")
    await market.close()
    await client.close()
    return meter


class _Lv(msgspec.Struct):
    price: float
    qty: float


class _Data(msgspec.Struct):
    symbol: str
    bids: list[_Lv] = []
    asks: list[_Lv] = []
    checksum: int = 0


class _Msg(msgspec.Struct):
    channel: str = ""
    type: str = ""
    data: list[_Data] = []


class HandBook(picows.WSListener):
    """The hand-written reference: picows + msgspec, a book in integer units, the checksum, a
    pre-built cancel frame written on the trading socket."""

    def __init__(self, meter: Meter, stop: asyncio.Event) -> None:
        self.meter, self.stop, self.trig = meter, stop, Trigger()
        self.dec = msgspec.json.Decoder(_Msg)
        self.trade: picows.WSTransport | None = None
        self.asks: list[int] = []
        self.bids: list[int] = []  # negated prices
        self.aq: dict[int, str] = {}
        self.bq: dict[int, str] = {}
        self.cancel = _enc(
            {"method": "batch_cancel", "params": {"orders": IDS, "token": TOKEN}, "req_id": 1}
        )
        self.mismatches = 0

    def side(self, levels: list[_Lv], keys: list[int], seg: dict[int, str], sign: int) -> None:
        for lv in levels:
            p = round(lv.price * 10)
            q = round(lv.qty * 100000000)
            k = p * sign
            if q:
                if k not in seg:
                    insort(keys, k)
                seg[k] = f"{p}{q}"
            elif k in seg:
                del seg[k]
                del keys[bisect_left(keys, k)]
        while len(keys) > 10:
            del seg[keys.pop()]

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        try:
            msg = self.dec.decode(frame.get_payload_as_memoryview())
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if msg.channel != "book":
            return
        for d in msg.data:
            if msg.type == "snapshot":
                self.asks, self.bids, self.aq, self.bq = [], [], {}, {}
            self.side(d.asks, self.asks, self.aq, 1)
            self.side(d.bids, self.bids, self.bq, -1)
            text = "".join(
                [
                    *map(self.aq.__getitem__, self.asks[:10]),
                    *map(self.bq.__getitem__, self.bids[:10]),
                ]
            )
            if zlib.crc32(text.encode()) != d.checksum:
                self.mismatches += 1
                continue
            self.meter.tick()
            if (
                msg.type == "update"
                and self.trig.moved(-self.bids[0] / 10)
                and self.trade is not None
            ):
                self.trade.send(TEXT, self.cancel)

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        self.stop.set()


class _Quiet(picows.WSListener):
    pass


async def client_picows(srv: dict[str, Any], stop: asyncio.Event) -> Meter:
    meter = Meter()
    book = HandBook(meter, stop)
    trade, _ = await picows.ws_connect(_Quiet, srv["url"])
    trade.send(
        TEXT, _enc({"method": "subscribe", "params": {"channel": "executions", "token": TOKEN}})
    )
    book.trade = trade
    t, _ = await picows.ws_connect(lambda: book, srv["url"])
    t.send(
        TEXT, b'{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}'
    )
    await stop.wait()
    if book.mismatches:
        _log(f"the hand-written client saw {book.mismatches} checksum mismatches")
    trade.disconnect()
    return meter


async def client_sdk(srv: dict[str, Any], stop: asyncio.Event) -> Meter:
    from kraken.spot import Market, SpotOrderBookClient, SpotWSClient

    meter, trig = Meter(), Trigger()
    trading = SpotWSClient(
        key=srv["key"],
        secret=srv["secret"],
        rest_url=srv["rest"],
        auth_ws_url=srv["base"],
        no_public=True,
        callback=_sdk_quiet,
    )
    await trading.start()
    await trading.subscribe(params={"channel": "executions"})
    cancel = {"method": "batch_cancel", "params": {"orders": IDS}}

    class Book(SpotOrderBookClient):  # type: ignore[misc]
        WS_URL = srv["base"]

    async def on_update(pair: str, message: dict[str, Any]) -> None:
        if "error" in message:
            _log(f"kraken-sdk: {message['error']}")
            return
        meter.tick()
        book = ob.get(pair)
        if message.get("type") == "update" and book is not None and book["valid"]:
            best = float(next(iter(book["bid"])))
            if trig.moved(best):
                await trading.send_message(cancel)

    ob = Book(depth=10, callback=on_update)
    ob._SpotOrderBookClient__market = Market(url=srv["rest"])
    await ob.start()
    await ob.add_book(pairs=[SYMBOL])
    last = -1
    while True:  # the SDK has no disconnect callback: done when updates stop coming
        await asyncio.sleep(1.5)
        if meter.n == last and meter.n > 0:
            break
        last = meter.n
    await ob.close()
    await trading.close()
    return meter


async def _sdk_quiet(message: Any) -> None:
    pass


async def run_client(name: str, srv: dict[str, Any], cpu: int) -> int:
    pin(cpu)
    stop = asyncio.Event()
    if name == "picows":
        meter = await client_picows(srv, stop)
    elif name == "krakenwire-market":
        meter = await client_krakenwire_market(srv, stop)
    elif name.startswith("krakenwire"):
        meter = await client_krakenwire(srv, name.endswith("await"), stop)
    else:
        meter = await client_sdk(srv, stop)
    print(json.dumps(meter.result()), flush=True)
    return 0


# ---- the runner ---------------------------------------------------------------------------


def _percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(p / 100 * len(s) + 0.999999) - 1))] if s else float("nan")


def one(client: str, mode: dict[str, Any], cpu: int) -> dict[str, Any]:
    env = {**os.environ, "KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    s = subprocess.Popen(
        [sys.executable, "-m", "bench.tick_to_cancel", "serve", json.dumps(mode), "1", str(cpu)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert s.stdout is not None
        srv = json.loads(s.stdout.readline())
        c = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.tick_to_cancel",
                "client",
                client,
                json.dumps(srv),
                str(cpu),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        if c.returncode != 0:
            raise RuntimeError(f"client {client} exited {c.returncode}: {c.stderr.strip()[-300:]}")
        line = s.stdout.readline()
        s.wait(30)
    finally:
        if s.poll() is None:
            s.kill()
    out: dict[str, Any] = json.loads(c.stdout.strip().splitlines()[-1]) if c.stdout.strip() else {}
    res = json.loads(line) if line else {"lat": []}
    lat = [v / 1000 for v in res["lat"]]
    out.update(triggers=res.get("triggers", 0), lat=lat)
    return out


def pooled(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One (load, client) figure from its rounds: latencies pooled, CPU the median round."""
    errors = [r["error"] for r in rounds if "error" in r]
    ok = [r for r in rounds if "error" not in r]
    if not ok:
        return {"error": errors[0] if errors else "no round ran"}
    lat = [v for r in ok for v in r["lat"]]
    cpus = sorted(r["cpu_us"] for r in ok if r.get("cpu_us"))
    return {
        "rounds": len(ok),
        "errors": errors,
        "triggers": sum(r["triggers"] for r in ok),
        "n": len(lat),
        "updates": sum(r.get("updates", 0) for r in ok),
        "p50": _percentile(lat, 50),
        "p99": _percentile(lat, 99),
        "p999": _percentile(lat, 99.9),
        "cpu_us": cpus[len(cpus) // 2] if cpus else None,
    }


def run(plan: dict[str, Any]) -> dict[str, Any]:
    cpu = int(plan.get("cpu", 0))
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for mode in ("quiet", "flood"):
        for i in range(int(plan.get("rounds", 3))):
            for client in plan.get("clients", CLIENTS):
                _log(f"{mode} round {i + 1} {client}")
                try:
                    r = one(client, plan[mode], cpu)
                except Exception as exc:  # noqa: BLE001 - a client that breaks is reported
                    r = {"error": f"{type(exc).__name__}: {exc}"}
                raw.setdefault(mode, {}).setdefault(client, []).append(r)
    results = {m: {c: pooled(rs) for c, rs in by.items()} for m, by in raw.items()}
    return {"results": results, "verdicts": verdicts(results)}


def verdicts(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode, by in results.items():
        ref = by.get("picows", {}).get("p50")
        cb = by.get("krakenwire-cb", {}).get("p50")
        if ref and cb:
            r = cb / ref
            out[f"{mode} p50 krakenwire-cb / picows"] = (
                r,
                TARGETS["p50_vs_picows"],
                r <= TARGETS["p50_vs_picows"],
            )
        mk = by.get("krakenwire-market", {}).get("p50")
        if ref and mk:
            r = mk / ref
            out[f"{mode} p50 krakenwire-market / picows"] = (
                r,
                TARGETS["p50_vs_picows"],
                r <= TARGETS["p50_vs_picows"],
            )
    flood = results.get("flood", {})
    kw = flood.get("krakenwire-cb", {}).get("cpu_us")
    sdk = flood.get("kraken-sdk", {}).get("cpu_us")
    if kw and sdk:
        r = kw / sdk
        out["flood CPU per update krakenwire-cb / kraken-sdk"] = (
            r,
            TARGETS["cpu_vs_sdk"],
            r <= TARGETS["cpu_vs_sdk"],
        )
    return out


def table(res: dict[str, Any]) -> str:
    """The tick-to-cancel table (markdown), with targets and verdicts."""
    lines = [
        "### Tick-to-cancel (server: book frame out -> cancel frame in; same CPU)",
        "",
        "| load | client | p50 µs | p99 µs | p99.9 µs | triggers | matched | CPU µs/update |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, by in res.get("results", {}).items():
        for client, r in by.items():
            if "error" in r:
                lines.append(f"| {mode} | {client} | error: {r['error']} | | | | | |")
                continue
            cpu = f"{r['cpu_us']:.1f}" if r.get("cpu_us") else "-"
            lines.append(
                f"| {mode} | {client} | {r['p50']:.1f} | {r['p99']:.1f} | {r['p999']:.1f} | "
                f"{r.get('triggers')} | {r['n']} | {cpu} |"
            )
    lines += ["", "| ratio | value | target | verdict |", "|---|---|---|---|"]
    for name, (value, target, ok) in res.get("verdicts", {}).items():
        lines.append(f"| {name} | {value:.2f}x | <= {target}x | {'PASS' if ok else 'MISS'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    import uvloop

    if argv and argv[0] == "serve":
        return uvloop.run(serve(json.loads(argv[1]), argv[2] == "1", int(argv[3])))
    if argv and argv[0] == "client":
        return uvloop.run(run_client(argv[1], json.loads(argv[2]), int(argv[3])))
    plan = {**PLAN, **(json.loads(argv[0]) if argv else {})}
    res = run(plan)
    print(table(res), file=sys.stderr, flush=True)
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
