"""``krakenwire demo``: the product in one minute, offline.

Starts the simulator with its market running (prices move, quotes near the price fill, now and
then a cancel finds its order filled first), places quotes around the price over the wire with
``batch_add``, pulls them all with ``cancel_orders`` and 10-id ``batch_cancel`` round trips,
each confirmed per id from the executions stream, prints a p50/p99 latency table and what the
market did, and checks from both the simulator's book and the client's executions stream that
every order ended (cancelled or filled) and none is left open. Then a quoter keeps quotes
around the simulator's public book and pulls them with one ``batch_cancel`` from inside the
book callback whenever the mid moves: its tick-to-cancel times are the last row of the table.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .._connect import connect
from ..client import Client
from ..protocol._events import ChannelFrame
from ..sim import SimConfig, Simulator
from ._demo_quoter import run_quoter

# The market on, as users should see it: a step every 50 ms, quotes a few ticks from the price
# fill now and then, and 2 % of cancels race a fill.
DEMO_CONFIG = SimConfig(
    market=True,
    market_interval=0.05,
    market_volatility=0.0004,
    tick_size=Decimal(1),
    cancel_race_prob=0.02,
    book_interval=0.01,
)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (``q`` in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


MIN_FOR_P99 = 100  # below this a p99 is just the maximum: the table says so instead


def _row(name: str, values_us: list[float]) -> str:
    v = sorted(values_us)
    p99 = f"{percentile(v, 99):>10.1f}" if len(v) >= MIN_FOR_P99 else f"{'-':>10}"
    return (
        f"  {name:<34} {len(v):>6} {percentile(v, 50):>10.1f} {p99}"
        f" {v[-1] if v else float('nan'):>10.1f}"
    )


async def _place(client: Client, n: int, adds: list[float], mid: Decimal) -> list[str]:
    """Place ``n`` post-only quotes around ``mid`` with batch_adds of up to 15, pipelined."""
    quotes = [
        {
            "side": "buy" if i % 2 == 0 else "sell",
            "order_qty": Decimal("0.001"),
            "limit_price": mid - 5 - i if i % 2 == 0 else mid + 5 + i,
            "post_only": True,
        }
        for i in range(n)
    ]
    # Batches of 2..15 (a lone order goes with its neighbour).
    batches = [quotes[i : i + 15] for i in range(0, n, 15)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [batches[-2][:-1], batches[-2][-1:] + batches[-1]]
    results = await asyncio.gather(*(client.batch_add(b, symbol="BTC/USD") for b in batches))
    ids: list[str] = []
    for r in results:
        adds.append(r.latency_ns / 1000)
        if not r.ok:
            raise RuntimeError(f"batch_add refused some orders: {r.error}")
        ids.extend(r.order_ids)
    return ids


async def run_demo(
    orders: int = 200, rounds: int = 10, samples: int = 1000, quoter_rounds: int = 20
) -> int:
    """Run the demo; returns the process exit code (0 when every order is confirmed gone)."""
    out = sys.stdout
    cancelled_seen: set[str] = set()
    filled_seen: set[str] = set()
    trades: list[dict[str, Any]] = []

    def on_executions(ev: ChannelFrame) -> None:
        for item in ev.data or ():
            kind = item.get("exec_type")
            if kind == "canceled":
                cancelled_seen.add(item["order_id"])
            elif kind == "trade" and ev.type == "update":
                trades.append(item)
            elif kind == "filled":
                filled_seen.add(item["order_id"])

    placed_ids: set[str] = set()
    adds: list[float] = []
    adds_piped: list[float] = []
    unconfirmed_ids: list[str] = []
    totals: list[float] = []
    chunks: list[float] = []
    small: list[float] = []
    not_open: list[str] = []
    async with Simulator(host="127.0.0.1", port=0, config=DEMO_CONFIG) as sim:
        acct = sim.account(sim.token)
        first_price = sim.price()
        print(f"simulator on {sim.url} (market on: BTC/USD at {first_price})", file=out)
        async with await connect(sim.url, token=sim.token, on_executions=on_executions) as client:
            await client.ping()  # the executions snapshot is in before the first confirm
            for _ in range(rounds):
                ids = await _place(client, orders, adds_piped, Decimal(sim.price()))
                await client.ping()  # their "new" updates are in: the view knows them
                placed_ids.update(ids)
                t0 = time.perf_counter_ns()
                res = await client.cancel_orders(ids, confirm=5.0)
                totals.append((time.perf_counter_ns() - t0) / 1000)
                if not res.ok:
                    print(f"cancel_orders failed: {res}", file=sys.stderr)
                    return 1
                # An id is either confirmed cancelled or was not open any more (filled first).
                unconfirmed_ids.extend(res.unconfirmed)
                not_open.extend(res.not_open)
                chunks.extend(c.result.latency_ns / 1000 for c in res.chunks if c.result)
            for _ in range(max(1, samples)):
                ids = await _place(client, 10, adds, Decimal(sim.price()))
                await client.ping()
                placed_ids.update(ids)
                r = await client.batch_cancel(ids, confirm=5.0)
                small.append(r.latency_ns / 1000)  # the wire round trip, not the confirm wait
                unconfirmed_ids.extend(r.unconfirmed)
                not_open.extend(r.not_open)
            await client.ping()
            tick_to_cancel, quoter_failed = await run_quoter(client, sim.public_url, quoter_rounds)
            # The simulator answers in order: once the pong is here, every executions update
            # sent before it has been received too.
            await client.ping()
        open_left = len(acct.open_orders)
        last_price = sim.price()
    ended = cancelled_seen | filled_seen
    unconfirmed = placed_ids - ended
    raced = [i for i in not_open if i in filled_seen]
    print(
        f"\nplaced {len(placed_ids)} orders; round trips in microseconds "
        "(in-process simulator, same event loop):",
        file=out,
    )
    print(f"  {'scenario':<34} {'n':>6} {'p50':>10} {'p99':>10} {'max':>10}", file=out)
    print(_row(f"batch_add(15), {-(-orders // 15)} pipelined", adds_piped), file=out)
    print(_row("batch_add(10 orders)", adds), file=out)
    print(_row(f"cancel_orders({orders} ids) + confirm", totals), file=out)
    print(_row("  its 50-id batch_cancel chunks", chunks), file=out)
    print(_row("batch_cancel(10 ids)", small), file=out)
    print(_row("quoter: book frame -> batch_cancel", tick_to_cancel), file=out)
    print(f"  (p99 only where n >= {MIN_FOR_P99}: below that it would be the maximum)", file=out)
    partial = sum(1 for t in trades if t.get("order_status") == "partially_filled")
    print(
        f"\nmarket: BTC/USD {first_price} -> {last_price}; {len(trades)} trades "
        f"({partial} partial fills), {len(filled_seen & placed_ids)} orders filled, "
        f"{len(raced)} cancels found their order filled first",
        file=out,
    )
    print(f"open orders left in the simulator: {open_left}", file=out)
    print(f"orders with no 'canceled' or 'filled' execution seen: {len(unconfirmed)}", file=out)
    print(f"ids with an unknown cancel outcome: {len(unconfirmed_ids)}", file=out)
    print(
        f"quoter: {len(tick_to_cancel)} times the mid moved 2 ticks, each time its quotes were "
        "pulled by one batch_cancel written inside the book frame's callback",
        file=out,
    )
    for failure in quoter_failed:
        print(f"quoter failed: {failure}", file=out)
    ok = open_left == 0 and not unconfirmed and not unconfirmed_ids and not quoter_failed
    print("OK: every order placed is confirmed cancelled or filled" if ok else "FAILED", file=out)
    return 0 if ok else 1
