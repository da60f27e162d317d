"""Read a krakenwire-audit JSON Lines file: what was sent, how it ended, how long it took, and
which ids still need reconciling.

``krakenwire-audit`` (in ``plugins/``; ``make dist`` builds its wheel) appends an intent
record before each request's frame is written and an outcome record after it settles:
``AuditPlugin(path)`` in ``connect(plugins=[...])``, or the ``audit`` entry point with
``KRAKENWIRE_AUDIT_PATH=...``. This reads it back, rotated files included, tolerating a last
line cut short by a crash, pairs each request's two records, and prints per-method outcome
counts (one per request), latency percentiles, and the requests whose outcome is unknown
(their ids need ``client.reconcile``).

    python examples/audit_reader.py /var/log/mm/audit.jsonl
    python examples/audit_reader.py --json /var/log/mm/audit.jsonl   # the summary as JSON
    python examples/audit_reader.py        # no file: writes one against the simulator first

Exit status 0, or 1 if any outcome is unknown (a cron job can alert on it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from krakenwire_audit import pair_records, read_all_records

try:
    from uvloop import run
except ImportError:  # no uvloop on Windows: plain asyncio
    from asyncio import run  # type: ignore[assignment]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of sorted ``values``."""
    k = max(0, min(len(values) - 1, round(q / 100 * len(values) + 0.5) - 1))
    return values[k]


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-method outcome counts and latencies, one per REQUEST: the audit writes an intent
    record before each frame and an outcome record after it settles, paired here by
    ``pair_records`` (an intent with no outcome: the request was in flight when the process
    stopped, so its outcome is unknown)."""
    outcomes: Counter[tuple[str, str]] = Counter()
    latencies: dict[str, list[float]] = defaultdict(list)
    unknown: list[dict[str, Any]] = []
    requests = pair_records(records)
    for entry in requests:
        method, outcome = entry.method or "?", entry.outcome
        outcomes[(method, outcome)] += 1
        rec = entry.result or entry.intent or {}
        if outcome == "ok":
            latencies[method].append(rec.get("latency_ns", 0) / 1000)
        if outcome == "unknown":
            unknown.append(
                {
                    "ts": rec.get("ts"),
                    "req_id": entry.req_id,
                    "method": method,
                    "ids": entry.ids + entry.cl_ord_ids,
                    "error": rec.get("error") if entry.settled else "no outcome recorded",
                }
            )
    methods = {}
    for method in sorted({m for m, _ in outcomes}):
        lat = sorted(latencies[method])
        methods[method] = {
            "outcomes": {o: n for (m, o), n in sorted(outcomes.items()) if m == method},
            "latency_us": {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": lat[-1]}
            if lat
            else None,
        }
    return {
        "records": len(records),
        "requests": len(requests),
        "first": records[0].get("ts") if records else None,
        "last": records[-1].get("ts") if records else None,
        "methods": methods,
        "unknown": unknown,
    }


def print_summary(s: dict[str, Any]) -> None:
    print(f"{s['requests']} requests ({s['records']} records), {s['first']} .. {s['last']}")
    print(f"  {'method':<26} {'outcomes':<34} {'p50 us':>9} {'p99 us':>9} {'max us':>9}")
    for method, m in s["methods"].items():
        outs = ", ".join(f"{o} {n}" for o, n in m["outcomes"].items())
        lat = m["latency_us"]
        cols = f"{lat['p50']:>9.0f} {lat['p99']:>9.0f} {lat['max']:>9.0f}" if lat else ""
        print(f"  {method:<26} {outs:<34} {cols}")
    for u in s["unknown"]:
        print(
            f"UNKNOWN outcome: {u['method']} req_id {u['req_id']} at {u['ts']}: "
            f"reconcile {', '.join(u['ids'])} ({u['error']})"
        )


async def write_sample(path: Path) -> None:
    """Some traffic against the simulator, audited to ``path``: cancels that succeed, a
    rejected one, and one whose reply never comes (an unknown outcome)."""
    from decimal import Decimal

    from krakenwire_audit import AuditPlugin

    import krakenwire
    from krakenwire.sim import Simulator

    async with Simulator(config=krakenwire.sim.SimConfig(batch_cancel_mode="strict")) as sim:
        audit = AuditPlugin(path, fsync_every=1)
        try:
            async with await krakenwire.connect(sim.url, token=sim.token, plugins=[audit]) as c:
                rows = [
                    c.order(side="buy", order_qty=Decimal("0.01"), limit_price=29000 - i)
                    for i in range(12)
                ]
                ids = (await c.batch_add(rows, symbol="BTC/USD")).order_ids
                await c.batch_cancel(ids[:4])
                await c.cancel_orders(ids[4:8])
                try:
                    await c.batch_cancel(["OGONE0-XXXXX-XXXXXX", ids[8]])  # strict: refused
                except krakenwire.KrakenAPIError:
                    pass
                sim.blackhole = True  # the socket stays open, nothing comes back
                try:
                    await c.batch_cancel(ids[9:], timeout=0.2)
                except krakenwire.RequestTimeout:
                    pass
                sim.blackhole = False
                await c.cancel_all()  # auditors run after the caller resumes: let them catch up
        finally:
            audit.close()


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("path", nargs="?", help="the audit file (default: write a sample first)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    a = p.parse_args(argv)
    if a.path is None:
        path = Path(tempfile.mkdtemp(prefix="krakenwire-audit-")) / "audit.jsonl"
        run(write_sample(path))
        print(f"wrote a sample audit file against the simulator: {path}", file=sys.stderr)
    else:
        path = Path(a.path)
        if not path.exists():
            p.error(f"no such file: {path}")
    summary = summarize(read_all_records(path))
    if a.json:
        print(json.dumps(summary))
    else:
        print_summary(summary)
    return 1 if summary["unknown"] else 0


if __name__ == "__main__":
    sys.exit(cli())
