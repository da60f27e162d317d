"""What the audit plugin costs per request: a hook micro-benchmark and a client loop.

``python plugins/krakenwire-audit/bench_audit.py [--n 5000] [--rounds 5] [--kw '{"durability":
"process"}']`` prints, for each plugin configuration:

- ``hooks``: CPU per request of the plugin's own hooks, called directly the way a client calls
  them (``krakenwire_request_sent`` then ``krakenwire_audit`` of a ``batch_cancel`` view and its
  result) against a real file, including flushing everything at the end;
- ``client``: ``time.process_time()`` per request over ``--n`` sequential ``batch_cancel`` calls
  of a real client against the simulator running in another process (so only the client's
  CPU is counted), with and without the plugin, in alternating rounds; and the p50/p99 of the
  per-call latency. Ratios are medians of per-round ratios.

Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from krakenwire_audit import AuditPlugin

import krakenwire
from krakenwire import BatchCancelResult
from krakenwire.protocol import batch_cancel

IDS = [f"OBNCH0-{i:05d}-NOTOPN" for i in range(10)]


def _close(plugin: Any) -> None:
    plugin.close()


def hooks(n: int, kw: dict[str, Any]) -> float:
    """CPU microseconds per request of intent + audit (0 for the intent on an old plugin)."""
    views = [batch_cancel(IDS).view(i + 1) for i in range(n)]
    results = [BatchCancelResult(count=0, req_id=i + 1) for i in range(n)]
    with tempfile.TemporaryDirectory() as d:
        plugin = AuditPlugin(os.path.join(d, "a.jsonl"), **kw)
        sent = getattr(plugin, "krakenwire_request_sent", None)
        audit = plugin.krakenwire_audit
        if audit.__code__.co_argcount == 4:  # the old plugin: (self, request, outcome, elapsed)
            three = audit
            audit = lambda v, r, e, c: three(v, r, e)  # noqa: E731
        gc.collect()
        t0 = time.process_time()
        for v, r in zip(views, results, strict=True):
            if sent is not None:
                sent(v, None)
            audit(v, r, 1000, None)
        _close(plugin)
        return (time.process_time() - t0) / n * 1e6


async def client_round(url: str, token: str, n: int, plugin: Any) -> tuple[float, list[int]]:
    client = await krakenwire.connect(
        url, token=token, plugins=[plugin] if plugin else [], autoload_plugins=False
    )
    try:
        for _ in range(200):  # warm-up
            await client.batch_cancel(IDS)
        lat = []
        perf = time.perf_counter_ns
        gc.collect()
        t0 = time.process_time()
        for _ in range(n):
            s = perf()
            await client.batch_cancel(IDS)
            lat.append(perf() - s)
        if plugin is not None:
            _close(plugin)  # the plugin's final flush is part of its cost
        cpu = time.process_time() - t0
    finally:
        await client.close()
    return cpu / n * 1e6, lat


def pct(xs: list[int], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] / 1e3


async def client_bench(n: int, rounds: int, kw: dict[str, Any]) -> dict[str, Any]:
    sim = subprocess.Popen(
        [sys.executable, "-m", "krakenwire.sim", "--json"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert sim.stdout is not None
        info = json.loads(sim.stdout.readline())
        cpu_ratio, p99_ratio, p50_ratio = [], [], []
        base_cpu, plug_cpu, base_p99, plug_p99 = [], [], [], []
        with tempfile.TemporaryDirectory() as d:
            for r in range(rounds):
                order = [False, True] if r % 2 == 0 else [True, False]
                got: dict[bool, tuple[float, list[int]]] = {}
                for with_plugin in order:
                    plugin = (
                        AuditPlugin(os.path.join(d, f"a{r}.jsonl"), **kw) if with_plugin else None
                    )
                    got[with_plugin] = await client_round(info["url"], info["token"], n, plugin)
                (c0, l0), (c1, l1) = got[False], got[True]
                base_cpu.append(c0)
                plug_cpu.append(c1)
                base_p99.append(pct(l0, 0.99))
                plug_p99.append(pct(l1, 0.99))
                cpu_ratio.append(c1 / c0)
                p99_ratio.append(pct(l1, 0.99) / pct(l0, 0.99))
                p50_ratio.append(pct(l1, 0.5) / pct(l0, 0.5))
    finally:
        sim.terminate()
        with contextlib.suppress(Exception):
            sim.wait(10)
    med = statistics.median
    return {
        "cpu_us_no_plugin": round(med(base_cpu), 2),
        "cpu_us_plugin": round(med(plug_cpu), 2),
        "cpu_ratio": round(med(cpu_ratio), 3),
        "p99_us_no_plugin": round(med(base_p99), 1),
        "p99_us_plugin": round(med(plug_p99), 1),
        "p99_ratio": round(med(p99_ratio), 3),
        "p50_ratio": round(med(p50_ratio), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--kw", default="{}", help="AuditPlugin keyword arguments, as JSON")
    ap.add_argument("--uvloop", action="store_true")
    args = ap.parse_args()
    kw = json.loads(args.kw)
    out: dict[str, Any] = {
        "kw": kw,
        "hooks_us": round(statistics.median(hooks(50_000, kw) for _ in range(3)), 3),
    }
    runner = asyncio.run
    if args.uvloop:
        import uvloop

        runner = uvloop.run
    out.update(runner(client_bench(args.n, args.rounds, kw)))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
