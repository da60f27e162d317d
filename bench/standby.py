"""Warm standby: failover of in-flight cancels, and hedged cancels against one slow socket.

Run by the runner as ``python -m bench.standby PLAN_JSON`` (uvloop); prints one JSON line with
both scenarios' figures (progress goes to stderr). Unlike the other sections, the simulator
(``krakenwire.sim.Simulator``) runs IN this process, on the client's event loop: the scenarios
need its per-connection switches (``kill_connection``, ``set_connection_latency``) and its
ledger, which the ``python -m krakenwire.sim`` process does not expose. These figures are
about when a cancel's fate becomes known (milliseconds), not the client's CPU per request
(microseconds), so sharing one loop with the server is fine here; the server's own work on
the re-sent cancels is inside the figures.

krakenwire is used through its public API only: ``connect(standby=True)``,
``client.connection_ids``, ``batch_cancel(ids, hedge=...)``, ``add_order``, ``reconcile``.

- ``failover``: a trial puts 64 two-id ``batch_cancel``s of real open orders (and one
  ``add_order``) in flight on the primary, whose replies the simulator holds back
  (``set_connection_latency(primary, latency)``); once the simulator has executed all 65,
  the primary is killed (an abrupt drop). The figure is the time from the kill until every one
  of the 64 has a known fate: a result or an error that is not ``OutcomeUnknown``; for those
  that end unknown, until ``client.reconcile(their ids)`` returns. Each trial also counts the
  cancels reported unknown, the orders cancelled twice (the simulator's ledger) and the
  order-entry requests sent more than once.
- ``hedging``: jitter (``set_connection_latency(primary, 0, jitter)``) on the primary only,
  then a closed loop of two-id ``batch_cancel``s of open orders, plain (``hedge=False``) and
  hedged (``hedge=True``), in alternating blocks so drift hits both.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import krakenwire
from krakenwire import OutcomeUnknown
from krakenwire.sim import SimConfig, Simulator

from .figures import percentile
from .worker import summarize

perf = time.perf_counter_ns

# The defaults of ``make bench`` (``plan`` in __main__.py overrides them).
FAILOVER = {"trials": 30, "inflight": 64, "latency": 0.02, "standby_latency": 0.0}
HEDGING = {"n": 1000, "blocks": 5, "warmup": 20, "jitter": 0.02}
ENTRY_SYMBOL = "ETH/USD"  # the add_order in flight rests here, away from the cancelled orders


def _log(msg: str) -> None:
    print(f"standby: {msg}", file=sys.stderr, flush=True)


async def _until(pred: Callable[[], bool], secs: float, what: str) -> None:
    end = time.monotonic() + secs
    while not pred():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


def _sim_config(latency: float, seed: int) -> SimConfig:
    # No idle closes (the bench may sit between sections), no rate limit: what is measured is
    # the failover, not Kraken's rate counter.
    return SimConfig(
        latency=latency,
        seed=seed,
        idle_timeout=None,
        close_empty_auth_after=None,
        rate_limit=None,
    )


async def _connect(sim: Simulator, standby: bool) -> Any:
    return await krakenwire.connect(
        sim.url, token=sim.token, standby=standby, autoload_plugins=False, timeout=10.0
    )


async def _whole(sim: Simulator, client: Any, sockets: int) -> None:
    """Until every socket of the client is up and has its connection_id."""
    await _until(
        lambda: (
            len(sim.connection_ids()) == sockets
            and None not in client.connection_ids.values()
            and client.state == "connected"
            and client.open_orders.ready.is_set()
        ),
        30.0,
        f"{sockets} live socket(s)",
    )


async def _trial(
    sim: Simulator, client: Any, standby: bool, inflight: int, latency: float
) -> dict[str, Any]:
    acct = sim.account(sim.token)
    ids = [o.order_id for o in acct.place(2 * inflight)]
    pairs = [ids[2 * i : 2 * i + 2] for i in range(inflight)]
    primary = client.connection_ids["primary"]
    sim.set_connection_latency(primary, latency)  # its replies stay in flight
    mark = len(acct.ledger)
    done_at: list[int] = [0] * inflight

    async def one(i: int) -> Any:
        try:
            return await client.batch_cancel(pairs[i], timeout=10.0)
        except Exception as exc:  # the outcome is counted below
            return exc
        finally:
            done_at[i] = perf()

    async def entry() -> Any:
        try:
            return await client.add_order(
                symbol=ENTRY_SYMBOL, side="buy", order_qty=1, limit_price=1, timeout=10.0
            )
        except Exception as exc:
            return exc

    tasks = [asyncio.ensure_future(one(i)) for i in range(inflight)]
    entry_task = asyncio.ensure_future(entry())
    # In flight = executed by the simulator, replies held back by the primary's latency.
    await _until(lambda: len(acct.ledger) - mark >= inflight + 1, 5.0, "the requests to arrive")
    early = sum(t.done() for t in tasks)
    t_kill = perf()
    await sim.kill_connection(primary)
    outs = await asyncio.gather(*tasks)
    entry_out = await entry_task
    unknown = [i for i, o in enumerate(outs) if isinstance(o, OutcomeUnknown)]
    errors = [o for o in outs if isinstance(o, BaseException) and not isinstance(o, OutcomeUnknown)]
    t_end = max(done_at)
    reconciled_open = 0
    if unknown:
        rec = await client.reconcile([x for i in unknown for x in pairs[i]], timeout=30.0)
        t_end = perf()
        reconciled_open = len(rec.open)
    # The client is whole again (the dead socket rebuilt) before the ledger is read.
    t_dead = perf()
    await _whole(sim, client, 2 if standby else 1)
    rebuilt = (perf() - t_dead) / 1e6
    entries = acct.ledger[mark:]
    cancelled = [i for e in entries for i in e.cancelled]
    adds = sum(e.method in ("add_order", "batch_add") for e in entries)
    return {
        "fate_ms": (t_end - t_kill) / 1e6,
        "unknown": len(unknown),
        "rejected": len(errors),
        "failed_over": sum(bool(getattr(o, "failed_over", False)) for o in outs),
        "answered_before_kill": early,
        "double_cancels": len(cancelled) - len(set(cancelled)),
        "not_cancelled": len(set(ids) - set(cancelled)),
        "reconciled_open": reconciled_open,
        "order_entry_sent": adds,
        "order_entry_resent": max(0, adds - 1),
        "order_entry_outcome": type(entry_out).__name__,
        "rebuilt_ms": rebuilt,
        "first_error": repr(errors[0]) if errors else None,
    }


async def failover(
    trials: int,
    standby: bool,
    *,
    inflight: int = 64,
    latency: float = 0.02,
    standby_latency: float = 0.0,
    seed: int = 1,
) -> dict[str, Any]:
    """``trials`` primary deaths with ``inflight`` cancels in flight; one client for all (the
    dead socket is rebuilt between trials, as in a long-running process)."""
    per: list[dict[str, Any]] = []
    async with Simulator(config=_sim_config(standby_latency, seed)) as sim:
        client = await _connect(sim, standby)
        try:
            await _whole(sim, client, 2 if standby else 1)
            for _ in range(trials):
                per.append(await _trial(sim, client, standby, inflight, latency))
        finally:
            await client.close()
    fate = [t["fate_ms"] for t in per]
    total = {
        k: sum(t[k] for t in per)
        for k in (
            "unknown",
            "rejected",
            "failed_over",
            "answered_before_kill",
            "double_cancels",
            "not_cancelled",
            "reconciled_open",
            "order_entry_resent",
        )
    }
    return {
        "standby": standby,
        "trials": len(per),
        "inflight": inflight,
        "latency": latency,
        "standby_latency": standby_latency,
        "fate_p50_ms": percentile(fate, 50) if fate else None,
        "fate_p99_ms": percentile(fate, 99) if fate else None,
        "fate_max_ms": max(fate) if fate else None,
        "rebuilt_p50_ms": statistics.median(t["rebuilt_ms"] for t in per) if per else None,
        "totals": total,
        "entry_outcomes": sorted({t["order_entry_outcome"] for t in per}),
        "per_trial": per,
    }


async def hedging(
    n: int, *, blocks: int = 5, warmup: int = 20, jitter: float = 0.02, seed: int = 2
) -> dict[str, Any]:
    """Closed-loop two-id batch_cancels of open orders, ``n`` plain and ``n`` hedged, with
    uniform 0..``jitter`` s on every frame to the primary; alternating blocks of n/blocks."""
    lat: dict[str, list[int]] = {"plain": [], "hedged": []}
    errors = {"plain": 0, "hedged": 0}
    async with Simulator(config=_sim_config(0.0, seed)) as sim:
        acct = sim.account(sim.token)
        mark = len(acct.ledger)
        client = await _connect(sim, True)
        try:
            await _whole(sim, client, 2)
            sim.set_connection_latency(client.connection_ids["primary"], 0.0, jitter)
            per = max(1, n // blocks)
            for b in range(blocks):
                order = ("plain", "hedged") if b % 2 == 0 else ("hedged", "plain")
                for mode in order:
                    skip = warmup if b == 0 else 0  # both modes run in block 0: their warm-up
                    ids = [o.order_id for o in acct.place(2 * (per + skip))]
                    for i in range(per + skip):
                        t0 = perf()
                        try:
                            await client.batch_cancel(
                                ids[2 * i : 2 * i + 2], hedge=mode == "hedged", timeout=10.0
                            )
                        except Exception:
                            errors[mode] += 1
                            continue
                        if i >= skip:
                            lat[mode].append(perf() - t0)
            await asyncio.sleep(jitter + 0.05)  # the hedges' slower copies land
        finally:
            await client.close()
        cancelled = [i for e in acct.ledger[mark:] for i in e.cancelled]
    out: dict[str, Any] = {"n": n, "blocks": blocks, "jitter": jitter, "errors": errors}
    for mode, xs in lat.items():
        s = summarize(xs)
        s.pop("hist")
        out[mode] = s
    plain, hedged = out["plain"], out["hedged"]
    out["p999_ratio"] = plain["p999"] / hedged["p999"] if lat["hedged"] else None
    out["p99_ratio"] = plain["p99"] / hedged["p99"] if lat["hedged"] else None
    out["double_cancels"] = len(cancelled) - len(set(cancelled))
    return out


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    """Every standby scenario of ``plan`` (``{"failover": {...}, "hedging": {...}}``)."""
    t0 = time.monotonic()
    fo = {**FAILOVER, **plan.get("failover", {})}
    hg = {**HEDGING, **plan.get("hedging", {})}
    out: dict[str, Any] = {"failover": {}}
    kw = {k: fo[k] for k in ("inflight", "latency", "standby_latency")}
    for name, standby in (("standby", True), ("no_standby", False)):
        out["failover"][name] = await failover(fo["trials"], standby, **kw)
        f = out["failover"][name]
        _log(
            f"failover {name}: fate p50 {f['fate_p50_ms']:.1f} ms, p99 {f['fate_p99_ms']:.1f} ms "
            f"({time.monotonic() - t0:.0f} s)"
        )
    out["hedging"] = await hedging(
        hg["n"], blocks=hg["blocks"], warmup=hg["warmup"], jitter=hg["jitter"]
    )
    _log(f"hedging: p99.9 ratio {out['hedging']['p999_ratio']:.1f}x")
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


def main(argv: list[str]) -> int:
    import uvloop

    plan = json.loads(argv[0]) if argv else {}
    try:
        out = uvloop.run(run(plan))
    except Exception as exc:  # reported to the runner, which names the failure
        out = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
