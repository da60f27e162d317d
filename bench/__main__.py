"""Run the benchmark suite: ``python -m bench`` (full) or ``python -m bench --ci`` (the gate).

The simulator runs in its own process and every client in its own long-lived worker process
(``bench/worker.py``). Each scenario runs in several short rounds; within a round the clients
take turns in a rotating order (reversed every other round), so drift on this noisy machine
hits every client alike. Figures are medians across rounds; ratios to the bare picows client
are taken per round (both measured minutes apart at most) and their median is reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import gate, report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HISTORY = ROOT / "bench" / "history.jsonl"
PCTS = ("p50", "p90", "p99", "p999", "max", "mean")
ALL = ["krakenwire", "picows", "picows-future", "kraken-sdk", "websockets", "aiohttp"]
PLUGINS = ["krakenwire+audit", "krakenwire+risk"]


def plan(ci: bool, quick: bool) -> tuple[int, list[dict[str, Any]]]:
    if ci:
        rt10 = {"name": "rt10", "kind": "closed", "ids": 10, "n": 3000, "warmup": 300}
        return 9, [{**rt10, "clients": ["krakenwire", "picows", "kraken-sdk"]}]
    k = 4 if quick else 1
    return (3 if quick else 5), [
        {
            "name": "rt10",
            "kind": "closed",
            "ids": 10,
            "n": 2000 // k,
            "warmup": 200,
            "clients": ALL + PLUGINS,
        },
        {
            "name": "rt50",
            "kind": "closed",
            "ids": 50,
            "n": 1500 // k,
            "warmup": 150,
            "clients": ALL,
        },
        {
            "name": "open10",
            "kind": "open",
            "ids": 10,
            "n": 1000 // k,
            "warmup": 100,
            "rate": 1000.0,
            "clients": ALL,
        },
        {
            "name": "pipe64",
            "kind": "pipelined",
            "ids": 10,
            "n": 20000 // k,
            "warmup": 2000,
            "inflight": 64,
            "clients": ["krakenwire", "picows"],
        },
        {
            "name": "cancel1000",
            "kind": "cancel_many",
            "ids": 1000,
            "n": 30 // k,
            "warmup": 5,
            "clients": ["krakenwire", "picows"],
        },
    ]


class Proc:
    def __init__(self, args: list[str], name: str) -> None:
        self.name = name
        self.p = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD": "1"},
        )

    def line(self) -> dict[str, Any]:
        assert self.p.stdout is not None
        text = self.p.stdout.readline()
        if not text:
            raise RuntimeError(f"{self.name} exited (code {self.p.wait()})")
        return json.loads(text)

    def ask(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.p.stdin is not None
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        return self.line()

    def stop(self) -> None:
        if self.p.poll() is None:
            try:
                self.ask({"kind": "quit"}) if self.name != "sim" else None
            except (RuntimeError, BrokenPipeError, ValueError):
                pass
            if self.name == "sim":
                self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def _median_dict(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rows) for k in keys}


def aggregate(raw: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Per scenario and client: median across rounds, per-round ratio to picows (median)."""
    out: dict[str, Any] = {}
    for scen, by_client in raw.items():
        base = by_client.get("picows", [])
        sc: dict[str, Any] = {}
        for client, rounds in by_client.items():
            ok = [r for r in rounds if "error" not in r]
            entry: dict[str, Any] = {"rounds": len(ok)}
            if not ok:
                entry["error"] = rounds[0].get("error", "no result") if rounds else "no result"
                sc[client] = entry
                continue
            if "rps" in ok[0]:
                entry["median"] = {"rps": statistics.median(r["rps"] for r in ok)}
                if base and len(base) == len(rounds):
                    entry["ratio"] = {
                        "rps": statistics.median(
                            a["rps"] / b["rps"] for a, b in zip(rounds, base, strict=True)
                        )
                    }
            elif "written" in ok[0]:
                for part in ("written", "acked"):
                    entry[part] = _median_dict([r[part] for r in ok], PCTS)
                    if base and client != "picows":
                        entry[part + "_ratio"] = {
                            k: statistics.median(
                                a[part][k] / b[part][k] for a, b in zip(rounds, base, strict=True)
                            )
                            for k in PCTS
                        }
                entry["hists"] = [r["acked"]["hist"] for r in ok]
            else:
                entry["median"] = _median_dict(ok, PCTS)
                entry["hists"] = [r["hist"] for r in ok]
                if base and len(base) == len(rounds) and all("error" not in b for b in base):
                    entry["ratio"] = {
                        k: statistics.median(a[k] / b[k] for a, b in zip(rounds, base, strict=True))
                        for k in PCTS
                    }
                splits = [r["split"] for r in ok if r.get("split")]
                if splits:
                    entry["split"] = _median_dict(splits, ("in_us", "engine_us", "back_us"))
            sc[client] = entry
        out[scen] = sc
    return out


def commit() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
            or "nogit"
        )
    except OSError:
        return "nogit"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--ci", action="store_true", help="short run of rt10 and the gate")
    ap.add_argument("--quick", action="store_true", help="full scenarios, fewer samples")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per scenario")
    ap.add_argument("--no-history", action="store_true", help="do not append to history")
    ap.add_argument(
        "--inject-delay-us",
        type=float,
        default=0.0,
        help="busy-wait this long before every krakenwire request (to see the gate trip)",
    )
    args = ap.parse_args(argv)
    rounds, scenarios = plan(args.ci, args.quick)
    rounds = args.rounds or rounds
    t_start = time.monotonic()
    sim = Proc(["-m", "krakenwire.sim", "--json"], "sim")
    procs: dict[str, Proc] = {}
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {}
    skipped: dict[str, str] = {}
    try:
        info = sim.line()
        needed = sorted({c for s in scenarios for c in s["clients"]})
        for name in needed:
            extra = [str(args.inject_delay_us)] if name.startswith("krakenwire") else []
            p = Proc(["-m", "bench.worker", name, json.dumps(info), *extra], name)
            try:
                p.line()
                procs[name] = p
            except (RuntimeError, json.JSONDecodeError) as exc:
                skipped[name] = f"could not start: {exc}"
                p.stop()
        print(f"workers ready: {sorted(procs)}; skipped: {skipped or 'none'}", flush=True)
        for r in range(rounds):
            for s in scenarios:
                order = [c for c in s["clients"] if c in procs]
                k = r % len(order)
                order = order[k:] + order[:k]
                if r % 2:
                    order.reverse()
                cmd = {k2: v for k2, v in s.items() if k2 not in ("name", "clients")}
                for c in order:
                    res = procs[c].ask(cmd)
                    raw.setdefault(s["name"], {}).setdefault(c, []).append(res)
                    if "error" in res:
                        print(f"  {s['name']} {c}: {res['error']}", flush=True)
            print(f"round {r + 1}/{rounds} done ({time.monotonic() - t_start:.0f} s)", flush=True)
        for p in procs.values():
            p.stop()
        inproc = None
        if not args.ci:
            out = subprocess.run(
                [sys.executable, "-m", "bench.inproc", json.dumps(info)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
            inproc = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr}
    finally:
        for p in procs.values():
            p.stop()
        sim.stop()
    now = dt.datetime.now(dt.UTC)
    summary: dict[str, Any] = {
        "date": now.isoformat(timespec="seconds"),
        "commit": commit(),
        "mode": "ci" if args.ci else ("quick" if args.quick else "full"),
        "rounds": rounds,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "inject_delay_us": args.inject_delay_us,
        "plan": scenarios,
        "skipped": skipped,
        "scenarios": aggregate(raw),
        "inproc": inproc,
        "seconds": round(time.monotonic() - t_start, 1),
    }
    summary["budgets"] = report.budgets(summary)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{now:%Y%m%d-%H%M%S}-{summary['commit']}" + ("-ci" if args.ci else "")
    (RESULTS / f"{stem}.json").write_text(json.dumps(summary, indent=1))
    table = report.table(summary)
    (RESULTS / ("latest-ci.md" if args.ci else "latest.md")).write_text(table)
    png = RESULTS / (f"{stem}.png")
    report.plot(summary, png)
    if summary["mode"] == "full" and not args.no_history and not args.inject_delay_us:
        with HISTORY.open("a") as f:
            f.write(json.dumps(report.history_line(summary)) + "\n")
        # The tracked copies the README shows (bench/results/ itself is not tracked).
        (ROOT / "bench" / "latest.md").write_text(table)
        shutil.copyfile(png.with_name("latest.png"), ROOT / "bench" / "latest.png")
    print(table)
    print(f"results: {RESULTS / (stem + '.json')}  plot: {png}  ({summary['seconds']} s)")
    if args.ci:
        failures = gate.check(summary, gate.load_baseline())
        for msg in failures:
            print(f"bench-ci FAILED: {msg}", file=sys.stderr)
        if failures:
            return 1
        print("bench-ci passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
