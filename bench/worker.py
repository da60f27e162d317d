"""One benchmark client in its own process: connects to the simulator, then runs commands.

Started by the runner as ``python -m bench.worker CLIENT SIM_JSON``. It prints ``{"ready":..}``
once connected, then reads one JSON command per line on stdin and answers one JSON line on
stdout. Every client cancels the same kind of request (ids that are not open, lenient
simulator: success, count 0, warnings), so the simulator does identical work for every client.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from datetime import datetime
from typing import Any

from hdrh.histogram import HdrHistogram

perf = time.perf_counter_ns
wall = time.time_ns


def ids_for(n: int, tag: int = 0) -> list[str]:
    return [f"OBNCH{tag:01d}-{i:05d}-NOTOPN" for i in range(n)]


def new_hist() -> HdrHistogram:
    return HdrHistogram(1, 60_000_000_000, 3)


def _ts_ns(raw: str) -> int:
    # Kraken's "2024-01-01T00:00:00.123456Z" (6 digits) -> ns since the epoch.
    return int(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp() * 1e6) * 1000


def summarize(h: HdrHistogram) -> dict[str, Any]:
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


def split(samples: list[tuple[int, int, str, str]]) -> dict[str, float] | None:
    """Median µs on the way in, inside the engine, on the way back (shared wall clock)."""
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


# ---- coroutine clients: rt(ids) -> (time_in_raw, time_out_raw) -------------------------------


class KrakenwireClient:
    def __init__(self, sim: dict[str, Any], plugin: str | None, delay_us: float) -> None:
        self.sim, self.plugin, self.delay_ns = sim, plugin, int(delay_us * 1000)

    async def connect(self) -> None:
        import krakenwire

        plugins: list[object] = []
        if self.plugin == "risk":
            from krakenwire_risk import RiskPlugin

            plugins.append(RiskPlugin())
        elif self.plugin == "audit":
            plugins.append(make_audit_plugin())
        self.c = await krakenwire.connect(
            self.sim["url"], token=self.sim["token"], autoload_plugins=False, plugins=plugins
        )

    async def rt(self, ids: list[str]) -> tuple[str, str]:
        if self.delay_ns:  # only for showing that the CI gate trips; never on by default
            end = perf() + self.delay_ns
            while perf() < end:
                pass
        r = await self.c.batch_cancel(ids)
        return r.time_in_raw, r.time_out_raw

    async def cancel_many(self, ids: list[str]) -> tuple[int, int]:
        last = [0]
        link = self.c._link
        orig = link.start

        def start(call: Any, timeout: Any) -> Any:
            out = orig(call, timeout)
            last[0] = perf()
            return out

        link.start = start  # type: ignore[method-assign]
        try:
            t0 = perf()
            res = await self.c.cancel_orders(ids)
            t1 = perf()
        finally:
            del link.start
        assert all(ch.error is None for ch in res.chunks), res
        return last[0] - t0, t1 - t0

    async def close(self) -> None:
        await self.c.close()


_TMP: list[Any] = []  # the audit file's directory, removed at exit


def make_audit_plugin() -> object:
    import inspect
    import tempfile

    import krakenwire_audit as mod

    for name in getattr(mod, "__all__", dir(mod)):
        obj = getattr(mod, name)
        if inspect.isclass(obj) and name.endswith("Plugin"):
            params = inspect.signature(obj).parameters
            _TMP.append(tempfile.TemporaryDirectory(prefix="kw-bench-audit-"))
            path = _TMP[-1].name + "/audit.jsonl"
            for key in ("path", "file", "filename", "log_path"):
                if key in params:
                    return obj(**{key: path})
            return obj()
    return mod


class _JsonClient:
    """A Future per req_id and a reader task: how people use websockets/aiohttp with json."""

    def __init__(self, sim: dict[str, Any]) -> None:
        self.sim = sim
        self.token = sim["token"]
        self.rid = 0
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

    def _on_text(self, data: str | bytes) -> None:
        msg = json.loads(data)
        rid = msg.get("req_id")
        if rid is not None:
            fut = self.waiting.pop(rid, None)
            if fut is not None and not fut.done():
                fut.set_result(msg)

    async def rt(self, ids: list[str]) -> tuple[str, str]:
        self.rid += 1
        rid = self.rid
        fut = asyncio.get_running_loop().create_future()
        self.waiting[rid] = fut
        msg = {"method": "batch_cancel", "params": {"orders": ids, "token": self.token}}
        msg["req_id"] = rid
        await self._send(json.dumps(msg))
        r = await fut
        assert r.get("success"), r
        return r.get("time_in", ""), r.get("time_out", "")

    async def _send(self, text: str) -> None:
        raise NotImplementedError


class WebsocketsClient(_JsonClient):
    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.sim["url"], max_size=None, compression=None)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for data in self.ws:
            self._on_text(data)

    async def _send(self, text: str) -> None:
        await self.ws.send(text)

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


class AiohttpClient(_JsonClient):
    async def connect(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.sim["url"], autoping=True)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            self._on_text(msg.data)

    async def _send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()
        self.reader.cancel()


class KrakenSdkClient:
    """python-kraken-sdk's SpotWSClient, unmodified: token over REST, fire-and-forget sends."""

    def __init__(self, sim: dict[str, Any]) -> None:
        self.sim = sim
        self.rid = 0
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def connect(self) -> None:
        from kraken.spot import SpotWSClient

        async def on_message(msg: Any) -> None:
            if isinstance(msg, dict):
                rid = msg.get("req_id")
                fut = self.waiting.pop(rid, None) if rid is not None else None
                if fut is not None and not fut.done():
                    fut.set_result(msg)

        base = self.sim["url"].rsplit("/v2", 1)[0]
        self.c = SpotWSClient(
            key=self.sim["api_key"],
            secret=self.sim["api_secret"],
            callback=on_message,
            no_public=True,
            rest_url=self.sim["rest_url"],
            auth_ws_url=base,
        )
        await self.c.start()

    async def rt(self, ids: list[str]) -> tuple[str, str]:
        self.rid += 1
        rid = self.rid
        fut = asyncio.get_running_loop().create_future()
        self.waiting[rid] = fut
        await self.c.send_message(
            {"method": "batch_cancel", "params": {"orders": ids}, "req_id": rid}
        )
        r = await fut
        assert r.get("success"), r
        return r.get("time_in", ""), r.get("time_out", "")

    async def close(self) -> None:
        await self.c.close()


# ---- the floor: bare picows, callback only, pre-encoded bytes ---------------------------------


class PicowsFuture:
    """picows + msgspec + a Future per req_id: the least an awaitable client does (DESIGN.md's
    "picows + msgspec + Future" reference). krakenwire's distance to it is its own overhead;
    its distance to the bare callback client is the price of awaiting."""

    def __init__(self, sim: dict[str, Any]) -> None:
        self.sim = sim
        self.rid = 0
        self.waiting: dict[int, asyncio.Future[Any]] = {}

    async def connect(self) -> None:
        import msgspec
        import picows

        class Reply(msgspec.Struct):
            req_id: int | None = None
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

        self.t, _ = await picows.ws_connect(L, self.sim["url"])
        self.encode = msgspec.json.Encoder().encode
        self.text = text

    async def rt(self, ids: list[str]) -> tuple[str, str]:
        self.rid += 1
        rid = self.rid
        fut = asyncio.get_running_loop().create_future()
        self.waiting[rid] = fut
        params = {"orders": ids, "token": self.sim["token"]}
        self.t.send(
            self.text, self.encode({"method": "batch_cancel", "params": params, "req_id": rid})
        )
        r = await fut
        return r.time_in, r.time_out

    async def close(self) -> None:
        self.t.disconnect()


class BarePicows:
    """Replies come back in order (one serial simulator), so a deque pairs them with sends."""

    def __init__(self, sim: dict[str, Any]) -> None:
        self.sim = sim
        self.rid = 0

    async def connect(self) -> None:
        import picows

        self.TEXT = picows.WSMsgType.TEXT
        outer = self

        class L(picows.WSListener):
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type is outer.TEXT:
                    data = frame.get_payload_as_bytes()
                    if b'"batch_cancel"' in data:
                        outer.on_reply(data)

        self.on_reply = lambda data: None
        self.t, _ = await picows.ws_connect(L, self.sim["url"])

    def frames(self, ids: list[str], n: int) -> list[bytes]:
        head = json.dumps(
            {"method": "batch_cancel", "params": {"orders": ids, "token": self.sim["token"]}}
        )[:-1].encode()
        out = []
        for _ in range(n):
            self.rid += 1
            out.append(head + b', "req_id": %d}' % self.rid)
        return out

    async def closed(self, ids: list[str], n: int, warmup: int) -> tuple[HdrHistogram, list]:
        frames = self.frames(ids, n + warmup)
        h, raws, stamps = new_hist(), [], []
        done = asyncio.get_running_loop().create_future()
        state = [0, 0, 0]  # index, t0 perf, t0 wall
        t, TEXT = self.t, self.TEXT

        def on_reply(data: bytes) -> None:
            t1 = perf()
            w1 = wall()
            i = state[0]
            if i >= warmup:
                h.record_value(t1 - state[1])
                raws.append(data)
                stamps.append((state[2], w1))
            i += 1
            state[0] = i
            if i == len(frames):
                done.set_result(None)
                return
            state[2] = wall()
            state[1] = perf()
            t.send(TEXT, frames[i])

        self.on_reply = on_reply
        state[2] = wall()
        state[1] = perf()
        t.send(TEXT, frames[0])
        await done
        samples = []
        for (w0, w1), data in zip(stamps, raws, strict=True):
            r = json.loads(data)
            samples.append((w0, w1, r.get("time_in", ""), r.get("time_out", "")))
        return h, samples

    async def open(self, ids: list[str], n: int, warmup: int, rate: float) -> HdrHistogram:
        frames = self.frames(ids, n + warmup)
        h = new_hist()
        intended: collections.deque[tuple[int, int]] = collections.deque()
        done = asyncio.get_running_loop().create_future()
        got = [0]

        def on_reply(data: bytes) -> None:
            t1 = perf()
            i, due = intended.popleft()
            if i >= warmup:
                h.record_value(t1 - due)
            got[0] += 1
            if got[0] == len(frames) and not done.done():
                done.set_result(None)

        self.on_reply = on_reply
        t, TEXT = self.t, self.TEXT
        interval = 1e9 / rate
        start = perf() + 1_000_000
        for i, f in enumerate(frames):
            due = start + int(i * interval)
            await _until(due)
            intended.append((i, due))
            t.send(TEXT, f)
        await done
        return h

    async def pipelined(self, ids: list[str], total: int, inflight: int) -> float:
        frames = self.frames(ids, total)
        done = asyncio.get_running_loop().create_future()
        st = [0, 0]  # sent, received
        t, TEXT = self.t, self.TEXT

        def on_reply(data: bytes) -> None:
            st[1] += 1
            if st[0] < total:
                t.send(TEXT, frames[st[0]])
                st[0] += 1
            elif st[1] == total:
                done.set_result(None)

        self.on_reply = on_reply
        t0 = perf()
        for f in frames[:inflight]:
            t.send(TEXT, f)
        st[0] = inflight
        await done
        return total / ((perf() - t0) / 1e9)

    async def cancel_many(self, ids: list[str]) -> tuple[int, int]:
        frames = [self.frames(ids[i : i + 50], 1)[0] for i in range(0, len(ids), 50)]
        done = asyncio.get_running_loop().create_future()
        got = [0]

        def on_reply(data: bytes) -> None:
            got[0] += 1
            if got[0] == len(frames):
                done.set_result(None)

        self.on_reply = on_reply
        t, TEXT = self.t, self.TEXT
        t0 = perf()
        for f in frames:
            t.send(TEXT, f)
        t_w = perf()
        await done
        return t_w - t0, perf() - t0

    async def close(self) -> None:
        self.t.disconnect()
        await self.t.wait_disconnected()


async def _until(due: int) -> None:
    # Sleep coarsely while far from the intended send time, then yield-spin so replies are
    # still handled; asyncio timers alone are too coarse (uvloop: 1 ms) for a 1 ms schedule.
    while True:
        left = due - perf()
        if left <= 0:
            return
        await asyncio.sleep(left / 1e9 - 0.0015 if left > 2_000_000 else 0)


# ---- drivers for coroutine clients --------------------------------------------------------------


async def closed(c: Any, ids: list[str], n: int, warmup: int) -> tuple[HdrHistogram, list]:
    if isinstance(c, BarePicows):
        return await c.closed(ids, n, warmup)
    h, samples = new_hist(), []
    for i in range(n + warmup):
        w0 = wall()
        t0 = perf()
        raw_in, raw_out = await c.rt(ids)
        t1 = perf()
        w1 = wall()
        if i >= warmup:
            h.record_value(t1 - t0)
            samples.append((w0, w1, raw_in, raw_out))
    return h, samples


async def open_loop(c: Any, ids: list[str], n: int, warmup: int, rate: float) -> HdrHistogram:
    if isinstance(c, BarePicows):
        return await c.open(ids, n, warmup, rate)
    h = new_hist()

    async def one(i: int, due: int) -> None:
        await c.rt(ids)
        if i >= warmup:
            h.record_value(perf() - due)

    interval = 1e9 / rate
    start = perf() + 1_000_000
    tasks = []
    for i in range(n + warmup):
        due = start + int(i * interval)
        await _until(due)
        tasks.append(asyncio.ensure_future(one(i, due)))
    await asyncio.gather(*tasks)
    return h


async def pipelined(c: Any, ids: list[str], total: int, inflight: int) -> float:
    if isinstance(c, BarePicows):
        return await c.pipelined(ids, total, inflight)
    left = [total]

    async def lane() -> None:
        while left[0] > 0:
            left[0] -= 1
            await c.rt(ids)

    t0 = perf()
    await asyncio.gather(*(lane() for _ in range(inflight)))
    return total / ((perf() - t0) / 1e9)


async def handle(c: Any, cmd: dict[str, Any]) -> dict[str, Any]:
    kind = cmd["kind"]
    ids = ids_for(cmd.get("ids", 10))
    if kind == "closed":
        h, samples = await closed(c, ids, cmd["n"], cmd["warmup"])
        return {**summarize(h), "split": split(samples)}
    if kind == "open":
        h = await open_loop(c, ids, cmd["n"], cmd["warmup"], cmd["rate"])
        return summarize(h)
    if kind == "pipelined":
        await pipelined(c, ids, cmd["warmup"], cmd["inflight"])
        return {"rps": await pipelined(c, ids, cmd["n"], cmd["inflight"])}
    if kind == "cancel_many":
        hw, ha = new_hist(), new_hist()
        big = ids_for(cmd["ids"], tag=1)
        for i in range(cmd["n"] + cmd["warmup"]):
            w, a = await c.cancel_many(big)
            if i >= cmd["warmup"]:
                hw.record_value(w)
                ha.record_value(a)
        return {"written": summarize(hw), "acked": summarize(ha)}
    raise ValueError(kind)


def make(name: str, sim: dict[str, Any], delay_us: float) -> Any:
    if name == "krakenwire":
        return KrakenwireClient(sim, None, delay_us)
    if name.startswith("krakenwire+"):
        return KrakenwireClient(sim, name.split("+", 1)[1], delay_us)
    return {
        "picows": BarePicows,
        "picows-future": PicowsFuture,
        "websockets": WebsocketsClient,
        "aiohttp": AiohttpClient,
        "kraken-sdk": KrakenSdkClient,
    }[name](sim)


async def main(argv: list[str]) -> int:
    name, sim = argv[0], json.loads(argv[1])
    delay_us = float(argv[2]) if len(argv) > 2 else 0.0
    loop = asyncio.get_running_loop()
    c = make(name, sim, delay_us)
    await c.connect()
    for _ in range(20):  # connection warm-up, and the first round trip of every client
        await closed(c, ids_for(10), 1, 0)
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
