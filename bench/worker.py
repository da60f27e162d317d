"""One bench client in its own process: connects to a server, then runs the runner's commands.

Started by the runner as ``python -m bench.worker CLIENT SERVER_JSON [INJECT_DELAY_US]``
(SERVER_JSON: ``url``, ``token``, ``rest_url``, ``api_key``, ``api_secret`` of the reflector or
the simulator). Every client subscribes to ``executions`` at connect, as krakenwire does, so a
server treats them all alike. The worker prints ``{"ready": CLIENT}`` (or
``{"unavailable": why}``) and then answers one JSON command per stdin line with one JSON line.

krakenwire is driven through its public API only: ``krakenwire.connect``,
``client.batch_cancel``, ``client.cancel_orders``, ``client.batch_cancel_cb`` when the installed
krakenwire has it, and plugins through ``connect(plugins=[...])``. Nothing here reaches into
the client; "when was the last frame written" is taken by the reflector as the frame arrives.

Per measured loop the worker reports latency percentiles (HdrHistogram, from a plain list of
samples so recording costs every client the same ~100 ns) and the process CPU time per request
(``time.process_time_ns`` around the measured loop, every thread of the process included).
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hdrh.histogram import HdrHistogram

perf = time.perf_counter_ns
wall = time.time_ns
mono = time.monotonic_ns
cpu = time.process_time_ns


def ids_for(n: int, tag: int = 0) -> list[str]:
    return [f"OBNCH{tag:01d}-{i:05d}-NOTOPN" for i in range(n)]


def new_hist() -> HdrHistogram:
    return HdrHistogram(1, 60_000_000_000, 3)


def summarize(samples: list[int]) -> dict[str, Any]:
    h = new_hist()
    for v in samples:
        h.record_value(max(v, 1))
    us = 1000.0
    return {
        "count": h.get_total_count(),
        "p50": h.get_value_at_percentile(50) / us,
        "p90": h.get_value_at_percentile(90) / us,
        "p99": h.get_value_at_percentile(99) / us,
        "p999": h.get_value_at_percentile(99.9) / us,
        "max": h.get_max_value() / us,
        "mean": h.get_mean_value() / us,
        "hist": h.encode().decode(),
    }


def _ts_ns(raw: str) -> int:
    # Kraken's "2024-01-01T00:00:00.123456Z" (6 digits) -> ns since the epoch.
    return int(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp() * 1e6) * 1000


def split(samples: list[tuple[int, int, str, str]]) -> dict[str, float] | None:
    """Median µs on the way in, inside the engine, on the way back (simulator's timestamps)."""
    ins, eng, outs = [], [], []
    for t_send, t_recv, raw_in, raw_out in samples:
        if not raw_in or not raw_out:
            continue
        ti, to = _ts_ns(raw_in), _ts_ns(raw_out)
        ins.append(ti - t_send)
        eng.append(to - ti)
        outs.append(t_recv - to)
    if not ins:
        return None

    def med(xs: list[int]) -> float:
        xs.sort()
        return xs[len(xs) // 2] / 1000.0

    return {"in_us": med(ins), "engine_us": med(eng), "back_us": med(outs)}


def subscribe_frame(token: str, req_id: int) -> dict[str, Any]:
    params = {"channel": "executions", "token": token}
    return {"method": "subscribe", "params": params, "req_id": req_id}


def busy_wait(ns: int) -> None:
    end = perf() + ns
    while perf() < end:
        pass


# ---- awaitable clients: ``await c.rt(ids)`` -> (time_in, time_out) ----------------------------


class Krakenwire:
    """``await client.batch_cancel(ids)``, optionally with the audit or risk plugin."""

    def __init__(self, srv: dict[str, Any], plugin: str | None, delay_us: float) -> None:
        self.srv, self.plugin, self.delay_ns = srv, plugin, int(delay_us * 1000)
        self._tmp: Any = None

    def _plugins(self) -> list[object]:
        if self.plugin == "risk":
            from krakenwire_risk import RiskPlugin

            return [RiskPlugin()]
        if self.plugin == "audit":
            import tempfile

            from krakenwire_audit import AuditPlugin

            self._tmp = tempfile.TemporaryDirectory(prefix="kw-bench-audit-")
            return [AuditPlugin(self._tmp.name + "/audit.jsonl")]
        return []

    async def connect(self) -> None:
        import krakenwire

        self.c = await krakenwire.connect(
            self.srv["url"],
            token=self.srv["token"],
            autoload_plugins=False,
            plugins=self._plugins(),
        )

    async def rt(self, ids: list[str]) -> tuple[str, str]:
        if self.delay_ns:  # only to show the CI gate tripping; never on by default
            busy_wait(self.delay_ns)
        r = await self.c.batch_cancel(ids)
        return getattr(r, "time_in_raw", ""), getattr(r, "time_out_raw", "")

    async def cancel_many(self, ids: list[str]) -> tuple[int, int]:
        t0 = mono()
        res = await self.c.cancel_orders(ids)
        t1 = mono()
        bad = [ch.error for ch in res.chunks if ch.error is not None]
        if bad:
            raise RuntimeError(f"cancel_orders: {len(bad)} chunk(s) failed: {bad[0]}")
        return t0, t1

    async def close(self) -> None:
        await self.c.close()
        if self._tmp is not None:
            self._tmp.cleanup()


class _JsonClient:
    """A Future per req_id and a reader task: how people use websockets/aiohttp with json."""

    def __init__(self, srv: dict[str, Any]) -> None:
        self.srv = srv
        self.token = srv["token"]
        self.rid = 0
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

    def _on_text(self, data: str | bytes) -> None:
        msg = json.loads(data)
        rid = msg.get("req_id")
        if rid is not None:
            fut = self.waiting.pop(rid, None)
            if fut is not None and not fut.done():
                fut.set_result(msg)

    async def _call(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.rid += 1
        rid = self.rid
        fut = asyncio.get_running_loop().create_future()
        self.waiting[rid] = fut
        msg["req_id"] = rid
        await self._send(json.dumps(msg))
        r = await fut
        if not r.get("success"):
            raise RuntimeError(f"request failed: {r}")
        return r

    async def subscribe(self) -> None:
        await asyncio.wait_for(self._call(subscribe_frame(self.token, 0)), 10)

    async def rt(self, ids: list[str]) -> tuple[str, str]:
        msg = {"method": "batch_cancel", "params": {"orders": ids, "token": self.token}}
        r = await self._call(msg)
        return r.get("time_in", ""), r.get("time_out", "")

    async def _send(self, text: str) -> None:
        raise NotImplementedError


class Websockets(_JsonClient):
    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.srv["url"], max_size=None, compression=None)
        self.reader = asyncio.create_task(self._read())
        await self.subscribe()

    async def _read(self) -> None:
        async for data in self.ws:
            self._on_text(data)

    async def _send(self, text: str) -> None:
        await self.ws.send(text)

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


class Aiohttp(_JsonClient):
    async def connect(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.srv["url"], autoping=True)
        self.reader = asyncio.create_task(self._read())
        await self.subscribe()

    async def _read(self) -> None:
        async for msg in self.ws:
            self._on_text(msg.data)

    async def _send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()
        self.reader.cancel()


class KrakenSdk:
    """python-kraken-sdk's SpotWSClient, unmodified: token over REST, fire-and-forget sends,
    so the time runs until its ``on_message`` callback sees the reply with our req_id."""

    def __init__(self, srv: dict[str, Any]) -> None:
        self.srv = srv
        self.rid = 0
        self.waiting: dict[Any, asyncio.Future[dict[str, Any]]] = {}

    async def connect(self) -> None:
        from kraken.spot import SpotWSClient

        async def on_message(msg: Any) -> None:
            if isinstance(msg, dict):
                key = msg.get("req_id")
                if key is None and msg.get("method") == "subscribe":
                    key = "subscribe"
                fut = self.waiting.pop(key, None) if key is not None else None
                if fut is not None and not fut.done():
                    fut.set_result(msg)

        base = self.srv["url"].rsplit("/v2", 1)[0]
        self.c = SpotWSClient(
            key=self.srv["api_key"],
            secret=self.srv["api_secret"],
            callback=on_message,
            no_public=True,
            rest_url=self.srv["rest_url"],
            auth_ws_url=base,
        )
        await self.c.start()
        fut = asyncio.get_running_loop().create_future()
        self.waiting["subscribe"] = fut
        await self.c.subscribe(params={"channel": "executions"})
        await asyncio.wait_for(fut, 10)

    async def rt(self, ids: list[str]) -> tuple[str, str]:
        self.rid += 1
        rid = self.rid
        fut = asyncio.get_running_loop().create_future()
        self.waiting[rid] = fut
        await self.c.send_message(
            {"method": "batch_cancel", "params": {"orders": ids}, "req_id": rid}
        )
        r = await fut
        if not r.get("success"):
            raise RuntimeError(f"request failed: {r}")
        return r.get("time_in", ""), r.get("time_out", "")

    async def close(self) -> None:
        await self.c.close()


class PicowsFuture:
    """picows + msgspec + a Future per req_id: the least an awaitable client does (DESIGN.md's
    "picows + msgspec + Future" reference). krakenwire's distance to it is its own overhead;
    its distance to the bare callback client is the price of awaiting."""

    def __init__(self, srv: dict[str, Any]) -> None:
        self.srv = srv
        self.rid = 0
        self.waiting: dict[int, asyncio.Future[Any]] = {}

    async def connect(self) -> None:
        import msgspec
        import picows

        class Reply(msgspec.Struct):
            req_id: int | None = None
            success: bool | None = None
            time_in: str = ""
            time_out: str = ""

        decode = msgspec.json.Decoder(Reply).decode
        text = picows.WSMsgType.TEXT
        waiting = self.waiting

        class L(picows.WSListener):
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type is text:
                    r = decode(frame.get_payload_as_bytes())
                    fut = waiting.pop(r.req_id, None) if r.req_id is not None else None
                    if fut is not None:
                        fut.set_result(r)

        self.t, _ = await picows.ws_connect(L, self.srv["url"])
        self.encode = msgspec.json.Encoder().encode
        self.text = text
        self.rid += 1
        fut = asyncio.get_running_loop().create_future()
        self.waiting[self.rid] = fut
        self.t.send(text, self.encode(subscribe_frame(self.srv["token"], self.rid)))
        r = await asyncio.wait_for(fut, 10)
        if not r.success:
            raise RuntimeError("subscribe refused")

    async def rt(self, ids: list[str]) -> tuple[str, str]:
        self.rid += 1
        rid = self.rid
        fut = asyncio.get_running_loop().create_future()
        self.waiting[rid] = fut
        params = {"orders": ids, "token": self.srv["token"]}
        self.t.send(
            self.text, self.encode({"method": "batch_cancel", "params": params, "req_id": rid})
        )
        r = await fut
        return r.time_in, r.time_out

    async def close(self) -> None:
        self.t.disconnect()


# ---- callback clients: ``c.fire(i)`` sends request i, ``c.on_reply()`` runs per reply --------


class BarePicows:
    """The floor: picows callbacks, pre-encoded frames, no JSON parse on the timed path.
    Replies come back in order (one serial server), so sends and replies pair up in order."""

    def __init__(self, srv: dict[str, Any]) -> None:
        self.srv = srv
        self.rid = 0
        self.frames: list[bytes] = []
        self.keep: list[bytes] | None = None  # reply payloads, kept for the split when asked
        self.on_reply: Callable[[], None] = lambda: None

    async def connect(self) -> None:
        import picows

        self.TEXT = picows.WSMsgType.TEXT
        outer = self
        sub = asyncio.get_running_loop().create_future()

        class L(picows.WSListener):
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type is outer.TEXT:
                    data = frame.get_payload_as_bytes()
                    if b'"batch_cancel"' in data:
                        if outer.keep is not None:
                            outer.keep.append(data)
                        outer.on_reply()
                    elif b'"subscribe"' in data and not sub.done():
                        sub.set_result(data)

        self.t, _ = await picows.ws_connect(L, self.srv["url"])
        self.t.send(self.TEXT, json.dumps(subscribe_frame(self.srv["token"], 0)).encode())
        if b'"success":true' not in await asyncio.wait_for(sub, 10):
            raise RuntimeError("subscribe refused")

    def encode(self, ids: list[str], n: int) -> list[bytes]:
        head = json.dumps(
            {"method": "batch_cancel", "params": {"orders": ids, "token": self.srv["token"]}}
        )[:-1].encode()
        out = []
        for _ in range(n):
            self.rid += 1
            out.append(head + b', "req_id": %d}' % self.rid)
        return out

    def prepare(self, ids: list[str], n: int) -> None:
        self.frames = self.encode(ids, n)

    def fire(self, i: int) -> None:
        self.t.send(self.TEXT, self.frames[i])

    async def cancel_many(self, ids: list[str]) -> tuple[int, int]:
        frames = [self.encode(ids[i : i + 50], 1)[0] for i in range(0, len(ids), 50)]
        done = asyncio.get_running_loop().create_future()
        got = [0]

        def on_reply() -> None:
            got[0] += 1
            if got[0] == len(frames):
                done.set_result(None)

        self.on_reply = on_reply
        t, TEXT = self.t, self.TEXT
        t0 = mono()
        for f in frames:
            t.send(TEXT, f)
        await done
        return t0, mono()

    async def close(self) -> None:
        self.t.disconnect()
        await self.t.wait_disconnected()


class KrakenwireCb:
    """``client.batch_cancel_cb(ids, on_done=...)``: the result delivered inside picows' frame
    callback, no Future; the next request is sent from ``on_done``, as bare picows does."""

    def __init__(self, srv: dict[str, Any], delay_us: float) -> None:
        self.kw = Krakenwire(srv, None, delay_us)
        self.on_reply: Callable[[], None] = lambda: None
        self.ids: list[str] = []
        self.error: BaseException | None = None

    async def connect(self) -> None:
        await self.kw.connect()
        if not hasattr(self.kw.c, "batch_cancel_cb"):
            await self.kw.close()
            raise Unavailable("this krakenwire has no Client.batch_cancel_cb")
        self.send = self.kw.c.batch_cancel_cb
        delay = self.kw.delay_ns

        def on_done(res: Any) -> None:
            if isinstance(res, BaseException):
                self.error = res
            self.on_reply()

        def fire(i: int) -> None:
            if delay:
                busy_wait(delay)
            self.send(self.ids, on_done=on_done)

        self.fire = fire

    def prepare(self, ids: list[str], n: int) -> None:
        self.ids = ids

    async def close(self) -> None:
        await self.kw.close()


class Unavailable(Exception):
    """The client cannot be measured with the installed packages (reported, never guessed)."""


CALLBACK = (BarePicows, KrakenwireCb)


# ---- drivers ------------------------------------------------------------------------------------


async def _cb_closed(c: Any, n: int, walls: list[tuple[int, int]] | None) -> list[int]:
    lat: list[int] = []
    done = asyncio.get_running_loop().create_future()
    st = [0, 0, 0]  # requests answered, send time of the current one, its wall-clock time

    def on_reply() -> None:
        t1 = perf()
        lat.append(t1 - st[1])
        if walls is not None:
            walls.append((st[2], wall()))
        i = st[0] + 1
        st[0] = i
        if i == n:
            done.set_result(None)
            return
        if walls is not None:
            st[2] = wall()
        st[1] = perf()
        c.fire(i)

    c.on_reply = on_reply
    st[2] = wall()
    st[1] = perf()
    c.fire(0)
    await done
    return lat


async def closed(c: Any, ids: list[str], n: int, warmup: int, want_split: bool) -> dict[str, Any]:
    """One request in flight; the measured loop's latencies and CPU per request."""
    samples: list[tuple[int, int, str, str]] = []
    if isinstance(c, CALLBACK):
        c.prepare(ids, warmup)
        await _cb_closed(c, warmup, None)
        c.prepare(ids, n)
        walls: list[tuple[int, int]] | None = None
        if want_split and isinstance(c, BarePicows):
            walls, c.keep = [], []
        c0 = cpu()
        lat = await _cb_closed(c, n, walls)
        c1 = cpu()
        if isinstance(c, KrakenwireCb) and c.error is not None:
            raise c.error
        if walls is not None and c.keep is not None:  # parsed after the run, untimed
            for (w0, w1), data in zip(walls, c.keep, strict=True):
                r = json.loads(data)
                samples.append((w0, w1, r.get("time_in", ""), r.get("time_out", "")))
            c.keep = None
    else:
        for _ in range(warmup):
            await c.rt(ids)
        lat = []
        c0 = cpu()
        if want_split:
            for _ in range(n):
                w0 = wall()
                t0 = perf()
                raw_in, raw_out = await c.rt(ids)
                t1 = perf()
                lat.append(t1 - t0)
                samples.append((w0, wall(), raw_in, raw_out))
        else:
            for _ in range(n):
                t0 = perf()
                await c.rt(ids)
                lat.append(perf() - t0)
        c1 = cpu()
    out = summarize(lat)
    out["cpu_us"] = (c1 - c0) / n / 1000
    if want_split:
        out["split"] = split(samples)
    return out


async def open_loop(c: Any, ids: list[str], n: int, warmup: int, rate: float) -> dict[str, Any]:
    """A fixed schedule; latency from the intended send time (coordinated omission shows)."""
    lat: list[int] = []
    interval = 1e9 / rate
    start = perf() + 1_000_000
    total = n + warmup
    if isinstance(c, CALLBACK):
        c.prepare(ids, total)
        intended: collections.deque[tuple[int, int]] = collections.deque()
        done = asyncio.get_running_loop().create_future()
        got = [0]

        def on_reply() -> None:
            t1 = perf()
            i, due = intended.popleft()
            if i >= warmup:
                lat.append(t1 - due)
            got[0] += 1
            if got[0] == total and not done.done():
                done.set_result(None)

        c.on_reply = on_reply
        for i in range(total):
            due = start + int(i * interval)
            await _until(due)
            intended.append((i, due))
            c.fire(i)
        await done
    else:

        async def one(i: int, due: int) -> None:
            await c.rt(ids)
            if i >= warmup:
                lat.append(perf() - due)

        tasks = []
        for i in range(total):
            due = start + int(i * interval)
            await _until(due)
            tasks.append(asyncio.ensure_future(one(i, due)))
        await asyncio.gather(*tasks)
    return summarize(lat)


async def _until(due: int) -> None:
    # Sleep coarsely while far from the intended send time, then yield-spin so replies are
    # still handled; asyncio timers alone are too coarse (uvloop: 1 ms) for a 1 ms schedule.
    while True:
        left = due - perf()
        if left <= 0:
            return
        await asyncio.sleep(left / 1e9 - 0.0015 if left > 2_000_000 else 0)


async def pipelined(c: Any, ids: list[str], total: int, inflight: int) -> dict[str, float]:
    """``inflight`` requests outstanding: requests per second and CPU per request."""
    if isinstance(c, CALLBACK):
        c.prepare(ids, total)
        done = asyncio.get_running_loop().create_future()
        st = [0, 0]  # sent, received

        def on_reply() -> None:
            st[1] += 1
            if st[0] < total:
                c.fire(st[0])
                st[0] += 1
            elif st[1] == total:
                done.set_result(None)

        c.on_reply = on_reply
        c0, t0 = cpu(), perf()
        for i in range(inflight):
            c.fire(i)
        st[0] = inflight
        await done
    else:
        left = [total]

        async def lane() -> None:
            while left[0] > 0:
                left[0] -= 1
                await c.rt(ids)

        c0, t0 = cpu(), perf()
        await asyncio.gather(*(lane() for _ in range(inflight)))
    t1, c1 = perf(), cpu()
    if isinstance(c, KrakenwireCb) and c.error is not None:
        raise c.error
    return {"rps": total / ((t1 - t0) / 1e9), "cpu_us": (c1 - c0) / total / 1000}


async def handle(c: Any, cmd: dict[str, Any]) -> dict[str, Any]:
    kind = cmd["kind"]
    ids = ids_for(cmd.get("ids", 10))
    if kind == "closed":
        return await closed(c, ids, cmd["n"], cmd["warmup"], bool(cmd.get("split")))
    if kind == "open":
        return await open_loop(c, ids, cmd["n"], cmd["warmup"], cmd["rate"])
    if kind == "pipelined":
        await pipelined(c, ids, cmd["warmup"], cmd["inflight"])
        return await pipelined(c, ids, cmd["n"], cmd["inflight"])
    if kind == "cancel_many":
        # Start stamps (CLOCK_MONOTONIC) and last-ack stamps per run, warm-up runs included:
        # the runner pairs them with the reflector's arrival stamps of the frames.
        big = ids_for(cmd["ids"], tag=1)
        starts, acks = [], []
        for _ in range(cmd["n"] + cmd["warmup"]):
            t0, t1 = await c.cancel_many(big)
            starts.append(t0)
            acks.append(t1)
        return {"starts": starts, "acks": acks}
    raise ValueError(kind)


def make(name: str, srv: dict[str, Any], delay_us: float) -> Any:
    if name == "krakenwire":
        return Krakenwire(srv, None, delay_us)
    if name == "krakenwire-cb":
        return KrakenwireCb(srv, delay_us)
    if name.startswith("krakenwire+"):
        return Krakenwire(srv, name.split("+", 1)[1], delay_us)
    return {
        "picows": BarePicows,
        "picows-future": PicowsFuture,
        "websockets": Websockets,
        "aiohttp": Aiohttp,
        "kraken-sdk": KrakenSdk,
    }[name](srv)


async def main(argv: list[str]) -> int:
    name, srv = argv[0], json.loads(argv[1])
    delay_us = float(argv[2]) if len(argv) > 2 else 0.0
    loop = asyncio.get_running_loop()
    c = make(name, srv, delay_us)
    try:
        await c.connect()
    except Unavailable as exc:
        print(json.dumps({"unavailable": str(exc)}), flush=True)
        return 0
    # Connection warm-up: the first round trips of every client.
    await closed(c, ids_for(10), 20, 20, False)
    print(json.dumps({"ready": name}), flush=True)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)
        if cmd["kind"] == "quit":
            break
        try:
            out = await handle(c, cmd)
        except Exception as exc:  # reported to the runner, which names the failure
            out = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(out), flush=True)
    await c.close()
    return 0


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main(sys.argv[1:])))
