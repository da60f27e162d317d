"""Run the benchmark suite: ``python -m bench`` (full) or ``python -m bench --ci`` (the gate).

Two phases, each with its server in its own process and every client in its own long-lived
worker process (``bench/worker.py``):

1. Headline, against the reflector (``bench/reflector.py``): a minimal picows server answering
   every request with a pre-encoded Kraken-shaped reply, so what differs between clients is
   the clients' own work. 10-id closed loop (latency and process CPU per request), 64 in
   flight, ``cancel_orders`` of 1,000 ids, and ``krakenwire cancel`` from process start to
   the frame's arrival.
2. Realistic, against the simulator (``python -m krakenwire.sim``): its engine, the book and
   the executions subscription in every round trip; 10-id closed loop with the
   ``time_in``/``time_out`` split, and an open loop at 1000/s.
3. Warm standby (``bench/standby.py``, not in ``--ci``): the primary killed with 64 cancels in
   flight, with and without ``standby=True``, and hedged vs plain cancels with jitter on one
   socket; the simulator runs inside that one process (fate latencies in ms, not client CPU).

4. Tick-to-cancel (``bench/tick_to_cancel.py``, not in ``--ci``): a book frame out of the server
   to the cancel it triggers back in, quiet and under a flood of book updates, and the CPU per
   book update with its checksum, for krakenwire, a hand-written client and python-kraken-sdk.

``--only tick`` (or any comma-separated list of reflector, cli, simulator, standby, tick) runs
some sections; such a partial run writes its results under ``bench/results/`` only.

Each scenario runs in several rounds; within a round the clients take turns in a rotating
order (reversed every other round), so drift on this noisy machine hits them all alike. Every
comparison is taken within a round and the median over rounds is reported (``figures.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import figures, gate, report, tick_to_cancel

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HISTORY = ROOT / "bench" / "history.jsonl"
HEAD = [
    "picows",
    "picows-future",
    "krakenwire",
    "krakenwire-cb",
    "krakenwire+audit",
    "krakenwire+risk",
    "aiohttp",
    "websockets",
    "kraken-sdk",
]
SIM = [
    "picows",
    "picows-future",
    "krakenwire",
    "krakenwire+audit",
    "aiohttp",
    "websockets",
    "kraken-sdk",
]
CLI_IDS = ["OBNCH2-00001-NOTOPN", "OBNCH2-00002-NOTOPN"]


def plan(mode: str, n: int | None) -> dict[str, Any]:
    """Rounds and scenarios per phase; ``n`` overrides the closed loop's request count."""
    if mode == "ci":
        rt = n or 4000
        return {
            "reflector": {
                "rounds": 9,
                "scenarios": [
                    {
                        "name": "rt10",
                        "kind": "closed",
                        "ids": 10,
                        "n": rt,
                        "warmup": rt // 10,
                        "clients": ["picows", "picows-future", "krakenwire", "kraken-sdk"],
                    },
                ],
            },
            "cli_runs": 0,
        }
    k = 4 if mode == "quick" else 1
    rt = n or 10000 // k
    return {
        "reflector": {
            "rounds": 3 if mode == "quick" else 7,
            "scenarios": [
                {
                    "name": "rt10",
                    "kind": "closed",
                    "ids": 10,
                    "n": rt,
                    "warmup": rt // 10,
                    "clients": HEAD,
                },
                {
                    "name": "pipe64",
                    "kind": "pipelined",
                    "ids": 10,
                    "n": 60000 // k,
                    "warmup": 2000 // k,
                    "inflight": 64,
                    "clients": ["picows", "picows-future", "krakenwire", "krakenwire-cb"],
                },
                {
                    "name": "cancel1000",
                    "kind": "cancel_many",
                    "ids": 1000,
                    "n": 30 // k,
                    "warmup": 5,
                    "clients": ["picows", "krakenwire"],
                },
            ],
        },
        "cli_runs": 3 if mode == "quick" else 7,
        "standby": {
            "failover": {"trials": 10 if mode == "quick" else 30, "inflight": 64},
            "hedging": {"n": 300 if mode == "quick" else 1000, "blocks": 5, "warmup": 20},
        },
        "tick": {"rounds": 1 if mode == "quick" else 3},
        "simulator": {
            "rounds": 3,
            "scenarios": [
                {
                    "name": "rt10",
                    "kind": "closed",
                    "ids": 10,
                    "n": 2000 // k,
                    "warmup": 200 // k,
                    "split": True,
                    "clients": SIM,
                },
                {
                    "name": "open10",
                    "kind": "open",
                    "ids": 10,
                    "n": 1000 // k,
                    "warmup": 100 // k,
                    "rate": 1000.0,
                    "clients": SIM,
                },
            ],
        },
    }


class Proc:
    """A child that talks one JSON line per command on stdin/stdout."""

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

    def stop(self, terminate: bool = False) -> None:
        if self.p.poll() is None:
            try:
                if terminate:
                    self.p.terminate()
                else:
                    assert self.p.stdin is not None
                    self.p.stdin.write('{"kind": "quit"}\n')
                    self.p.stdin.close()
            except (BrokenPipeError, ValueError, OSError):
                pass
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def start_workers(
    names: list[str], srv: dict[str, Any], own_token: bool, delay_us: float
) -> tuple[dict[str, Proc], dict[str, str]]:
    procs: dict[str, Proc] = {}
    skipped: dict[str, str] = {}
    for name in names:
        info = {**srv, "token": f"bench-{name}"} if own_token else srv
        extra = [str(delay_us)] if name.startswith("krakenwire") else []
        p = Proc(["-m", "bench.worker", name, json.dumps(info), *extra], name)
        try:
            hello = p.line()
        except (RuntimeError, json.JSONDecodeError) as exc:
            skipped[name] = f"could not start: {exc}"
            p.stop(terminate=True)
            continue
        if "unavailable" in hello:
            skipped[name] = f"not available: {hello['unavailable']}"
            p.stop(terminate=True)
            continue
        procs[name] = p
    return procs, skipped


def run_phase(
    phase: str, server: Proc, srv: dict[str, Any], spec: dict[str, Any], delay_us: float, t0: float
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every scenario of one phase, interleaved over rounds: raw[scenario][client] = rounds."""
    reflector = phase == "reflector"
    needed = sorted({c for s in spec["scenarios"] for c in s["clients"]})
    procs, skipped = start_workers(needed, srv, reflector, delay_us)
    print(f"{phase}: workers {sorted(procs)}; skipped: {skipped or 'none'}", flush=True)
    raw: dict[str, Any] = {}
    try:
        for r in range(spec["rounds"]):
            for s in spec["scenarios"]:
                order = [c for c in s["clients"] if c in procs]
                k = r % len(order)
                order = order[k:] + order[:k]
                if r % 2:
                    order.reverse()
                cmd = {k2: v for k2, v in s.items() if k2 not in ("name", "clients")}
                for c in order:
                    if s["kind"] == "cancel_many":
                        res = cancel_many(server, procs[c], f"bench-{c}", cmd)
                    else:
                        res = procs[c].ask(cmd)
                    raw.setdefault(s["name"], {}).setdefault(c, []).append(res)
                    if "error" in res:
                        print(f"  {phase} {s['name']} {c}: {res['error']}", flush=True)
            took = time.monotonic() - t0
            print(f"{phase} round {r + 1}/{spec['rounds']} done ({took:.0f} s)", flush=True)
    finally:
        for p in procs.values():
            p.stop()
    for name, why in skipped.items():
        for s in spec["scenarios"]:
            if name in s["clients"]:
                raw.setdefault(s["name"], {})[name] = [{"error": why}]
    return raw, skipped


def cancel_many(refl: Proc, worker: Proc, token: str, cmd: dict[str, Any]) -> dict[str, Any]:
    """One round of cancel_orders(1000): the reflector stamps each frame's arrival."""
    refl.ask({"kind": "record", "token": token})
    res = worker.ask(cmd)
    stamps = refl.ask({"kind": "stamps", "token": token})["stamps"]
    if "error" in res:
        return res
    return figures.cancel_rounds(res["starts"], res["acks"], stamps, cmd["warmup"])


def run_standby(spec: dict[str, Any]) -> dict[str, Any]:
    """``bench/standby.py`` in its own process (the simulator inside it); its progress goes
    to our stderr, its one JSON line is the result."""
    env = {**os.environ, "KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bench.standby", json.dumps(spec)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        return {"error": "bench.standby took more than 600 s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        return {"error": f"bench.standby exited {out.returncode} with no result"}
    res: dict[str, Any] = json.loads(lines[-1])
    return res


SECTIONS = ("reflector", "cli", "simulator", "standby", "tick")


def run_tick(spec: dict[str, Any]) -> dict[str, Any]:
    """``bench/tick_to_cancel.py`` (its own server and client processes); one JSON line."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.tick_to_cancel", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        timeout=1800,
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        return {"error": f"bench.tick_to_cancel exited {out.returncode} with no result"}
    res: dict[str, Any] = json.loads(lines[-1])
    return res


def sections_of(pl: dict[str, Any], only: str | None) -> list[str]:
    """The sections this plan has, or the ones ``only`` names (ValueError: one it lacks)."""
    have = [
        s
        for s in SECTIONS
        if s == "reflector" or (s == "cli" and pl.get("cli_runs")) or (s in pl and s != "cli")
    ]
    if only is None:
        return have
    want = [w.strip() for w in only.split(",") if w.strip()]
    bad = [w for w in want if w not in have]
    if bad or not want:
        raise ValueError(f"--only: {', '.join(bad) or 'nothing'} (this mode has {', '.join(have)})")
    return [s for s in have if s in want]


def kw_command() -> list[str]:
    exe = Path(sys.executable).with_name("krakenwire")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "krakenwire"]


def time_cli(refl: Proc, srv: dict[str, Any], runs: int) -> dict[str, Any]:
    """``krakenwire cancel`` from just before the spawn to the reflector's receipt of its
    batch_cancel (CLOCK_MONOTONIC is system-wide); one untimed run first (a warm disk cache,
    as for a command run more than once). The environment is the caller's: entry-point
    plugins installed here are loaded as a user would get them. Also: when its first frame
    (the executions subscribe) arrived, and the whole command's CPU time (user + sys, until
    it exits), the figure a loaded machine moves least."""
    cmd = [*kw_command(), "cancel", "--url", srv["url"], "--token"]
    env = {k: v for k, v in os.environ.items() if k != "KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD"}
    ms: list[float] = []
    first: list[float] = []
    cpu: list[float] = []
    floor: list[float] = []
    for i in range(runs + 1):
        token = f"bench-cli-{i}"
        refl.ask({"kind": "record", "token": token})
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic_ns()
        out = subprocess.run(
            [*cmd, token, *CLI_IDS], capture_output=True, text=True, env=env, timeout=60
        )
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        got = refl.ask({"kind": "stamps", "token": token})
        stamps = got["stamps"]
        if out.returncode != 0 or not stamps:
            return {"error": f"exit {out.returncode}, {len(stamps)} frames: {out.stderr[-300:]}"}
        if i:
            ms.append((stamps[0] - t0) / 1e6)
            first.append((got["first"] - t0) / 1e6)
            cpu.append(1000 * (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime))
            t1 = time.monotonic_ns()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            floor.append((time.monotonic_ns() - t1) / 1e6)
    med = statistics.median
    return {
        "runs": runs,
        "median_ms": med(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "first_frame_ms": med(first),
        "cpu_ms": med(cpu),
        "python_start_ms": med(floor),
        "command": " ".join(["krakenwire", *cmd[len(kw_command()) :], "T", *CLI_IDS]),
    }


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "nogit"
    except OSError:
        return "nogit"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--ci", action="store_true", help="short reflector run and the gate")
    ap.add_argument("--quick", action="store_true", help="every scenario, fewer samples")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per phase")
    ap.add_argument("--n", type=int, default=None, help="requests per closed-loop run")
    ap.add_argument("--no-history", action="store_true", help="do not append to history")
    ap.add_argument(
        "--only",
        default=None,
        metavar="SECTIONS",
        help="comma-separated sections to run: reflector, cli, simulator, standby (a partial "
        "run writes bench/results/ only: no history line, latest.md or README block)",
    )
    ap.add_argument(
        "--inject-delay-us",
        type=float,
        default=0.0,
        help="busy-wait this long before every krakenwire request (to see the gate trip)",
    )
    args = ap.parse_args(argv)
    mode = "ci" if args.ci else ("quick" if args.quick else "full")
    pl = plan(mode, args.n)
    if args.rounds:
        for phase in ("reflector", "simulator"):
            if phase in pl:
                pl[phase]["rounds"] = args.rounds
    try:
        sections = sections_of(pl, args.only)
    except ValueError as exc:
        ap.error(str(exc))
    partial = args.only is not None
    t0 = time.monotonic()
    raw: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    cli: dict[str, Any] | None = None
    standby: dict[str, Any] | None = None
    tick: dict[str, Any] | None = None
    if "reflector" in sections or "cli" in sections:
        refl = Proc(["-m", "bench.reflector"], "reflector")
        try:
            srv = refl.line()
            if "reflector" in sections:
                raw["reflector"], sk = run_phase(
                    "reflector", refl, srv, pl["reflector"], args.inject_delay_us, t0
                )
                skipped.update({f"reflector {k}": v for k, v in sk.items()})
            if "cli" in sections:
                cli = time_cli(refl, srv, pl["cli_runs"])
                print(f"krakenwire cancel: {cli}", flush=True)
        finally:
            refl.stop()
    if "simulator" in sections:
        sim = Proc(["-m", "krakenwire.sim", "--json"], "sim")
        try:
            srv = sim.line()
            raw["simulator"], sk = run_phase(
                "simulator", sim, srv, pl["simulator"], args.inject_delay_us, t0
            )
            skipped.update({f"simulator {k}": v for k, v in sk.items()})
        finally:
            sim.stop(terminate=True)
    if "standby" in sections:
        standby = run_standby(pl["standby"])
        if "error" in standby:
            print(f"standby: {standby['error']}", flush=True)
        standby["targets"] = figures.standby_targets(standby)
        print(f"standby done ({time.monotonic() - t0:.0f} s)", flush=True)
    if "tick" in sections:
        tick = run_tick(pl["tick"])
        print(f"tick-to-cancel done ({time.monotonic() - t0:.0f} s)", flush=True)
    now = dt.datetime.now(dt.UTC)
    summary: dict[str, Any] = {
        "date": now.isoformat(timespec="seconds"),
        "commit": commit(),
        "mode": mode,
        "sections": sections,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "inject_delay_us": args.inject_delay_us,
        "plan": pl,
        "skipped": skipped,
        "raw": {
            ph: {
                s: {
                    c: [{k: v for k, v in r.items() if k != "hist"} for r in rs]
                    for c, rs in by.items()
                }
                for s, by in sc.items()
            }
            for ph, sc in raw.items()
        },
        "scenarios": {
            ph: {s: figures.aggregate(by) for s, by in sc.items()} for ph, sc in raw.items()
        },
        "cli": cli,
        "standby": standby,
        "tick_to_cancel": tick,
        "seconds": round(time.monotonic() - t0, 1),
    }
    summary["targets"] = figures.targets(summary["raw"], cli)
    summary["gate"] = gate.gate_figures(summary["raw"])
    if args.ci:
        summary["gate_bounds"] = gate.load_baseline()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{now:%Y%m%d-%H%M%S}-{summary['commit']}" + ("-ci" if args.ci else "")
    if partial:
        stem += "-only-" + "+".join(sections)
    (RESULTS / f"{stem}.json").write_text(json.dumps(summary, indent=1))
    table = report.table(summary)
    if tick is not None:
        table += "\n" + tick_to_cancel.table(tick)
    (RESULTS / ("latest-ci.md" if args.ci else "latest.md")).write_text(table)
    png = RESULTS / f"{stem}.png"
    if not report.plot(summary, png):
        png = None
    if mode == "full" and not partial and not args.no_history and not args.inject_delay_us:
        with HISTORY.open("a") as f:
            f.write(json.dumps(report.history_line(summary)) + "\n")
        # The tracked copies bench/README.md and the README show: one run, the same one.
        (ROOT / "bench" / "latest.md").write_text(table)
        if png is not None:
            shutil.copyfile(png, ROOT / "bench" / "latest.png")
        report.update_readme(ROOT / "README.md", summary)
    print(table)
    print(f"results: {RESULTS / (stem + '.json')}  plot: {png or '-'}  ({summary['seconds']} s)")
    if args.ci:
        failures = gate.check(summary["raw"], summary["gate_bounds"])
        for msg in failures:
            print(f"bench-ci FAILED: {msg}", file=sys.stderr)
        if failures:
            return 1
        print("bench-ci passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
