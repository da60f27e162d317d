"""Client-side cost per call, measured in process: build + encode + send, decode + resolve.

``python -m bench.inproc SIM_JSON`` connects a real krakenwire client (and a bare picows
connection for the floor) to the simulator and prints one JSON line of microseconds per call
(median over batches of 100 calls, timed as a batch so the clock's own cost is amortized).
Send side: building the validated request + ``Link.start`` (session send: req_id, risk gate
flag, encode, register; Future, timer, ``transport.send`` into the real socket). Receive side:
``Session.receive`` of the simulator's real reply bytes + ``Link.dispatch`` (Future
resolution), i.e. ``on_ws_frame`` minus picows' frame parsing; the waiting task's wake-up is not
included.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any

import krakenwire
from krakenwire import protocol as kp

from .worker import BarePicows, ids_for

perf = time.perf_counter_ns
BATCH, BATCHES = 100, 60


async def reply_template(bare: BarePicows, ids: list[str]) -> bytes:
    got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    bare.on_reply = lambda data: got.done() or got.set_result(data)
    bare.t.send(bare.TEXT, bare.frames(ids, 1)[0])
    return await got


async def measure(c: Any, bare: BarePicows, n_ids: int) -> dict[str, float]:
    ids = ids_for(n_ids)
    link = c._link
    s, loop = link.session, asyncio.get_running_loop()
    far = 60_000_000_000
    tmpl = await reply_template(bare, ids)
    rid_at = tmpl.index(b'"req_id":')
    head, tail = tmpl[: rid_at + 9], tmpl[rid_at + 9 :]
    tail = tail[tail.index(b",") :] if b"," in tail else tail[tail.index(b"}") :]
    build, send, recv, floor = [], [], [], []
    for _ in range(BATCHES):
        t0 = perf()
        for _ in range(BATCH):
            s.send(kp.batch_cancel(ids), 0, far)
        build.append((perf() - t0) / BATCH)
        for h in s.pending_handles():  # built only: forget them again
            s.abandon(h)
        futs = []
        t0 = perf()
        for _ in range(BATCH):
            futs.append(link.start(kp.batch_cancel(ids), 10.0)[1])
        send.append((perf() - t0) / BATCH)
        await asyncio.gather(*futs)  # the real replies, untimed
        frames = bare.frames(ids, BATCH)
        bare.on_reply = lambda data: None
        t0 = perf()
        for f in frames:
            bare.t.send(bare.TEXT, f)
        floor.append((perf() - t0) / BATCH)
        # Receive side: requests registered with a Future as Link.start does, untimed.
        pend: list[asyncio.Future[Any]] = []
        payloads = []
        now = time.monotonic_ns()
        for _ in range(BATCH):
            h, _data = s.send(kp.batch_cancel(ids), now, far)
            fut = link.futures[h] = loop.create_future()
            pend.append(fut)
            payloads.append(head + str(h).encode() + tail)
        t0 = perf()
        for payload in payloads:
            ev = s.receive(payload, now)
            link.dispatch(ev)
        recv.append((perf() - t0) / BATCH)
        assert all(f.done() and not f.exception() for f in pend)
        await asyncio.sleep(0.005)  # let the floor's replies drain
    med = statistics.median
    out = {
        "build_encode_us": med(build) / 1000,
        "send_total_us": med(send) / 1000,
        "socket_send_floor_us": med(floor) / 1000,
        "decode_resolve_us": med(recv) / 1000,
    }
    out["client_total_us"] = out["send_total_us"] + out["decode_resolve_us"]
    out["client_minus_floor_us"] = out["client_total_us"] - out["socket_send_floor_us"]
    return out


async def main(sim: dict[str, Any]) -> int:
    c = await krakenwire.connect(sim["url"], token=sim["token"], autoload_plugins=False)
    bare = BarePicows(sim)
    await bare.connect()
    out = {f"ids{n}": await measure(c, bare, n) for n in (10, 50)}
    print(json.dumps(out), flush=True)
    await c.close()
    await bare.close()
    return 0


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main(json.loads(sys.argv[1]))))
