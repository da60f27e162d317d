"""Pull every quote the moment a signal fires: ``cancel_orders`` on all ids, confirmed per id.

A market maker's panic button. Quotes rest on the book; a signal (here: a simulated mid-price
jump, or ``kill -USR1 <pid>`` from an operator) pulls all of them at once: ``cancel_orders``
writes ceil(n/50) ``batch_cancel`` frames before awaiting any reply, then waits for the
executions stream to confirm each id. Ids whose outcome is unknown (a timeout, a dropped
connection) are reconciled from the next executions snapshot and re-cancelled if still open.

    python examples/pull_quotes.py                  # starts the simulator in-process
    krakenwire sim                                  # or: a simulator in another terminal...
    python examples/pull_quotes.py --url ws://127.0.0.1:PORT/v2 --token TOKEN

Exit status 0 when every quote is confirmed gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import time
from decimal import Decimal

import krakenwire

try:
    from uvloop import run
except ImportError:  # no uvloop on Windows: plain asyncio
    from asyncio import run  # type: ignore[assignment]


async def place_quotes(client: krakenwire.Client, n: int, mid: Decimal) -> list[str]:
    """Rest ``n`` post-only quotes around ``mid``: batch_adds of up to 15, all in flight."""
    rows = [
        client.order(
            side="buy" if i % 2 == 0 else "sell",
            order_qty=Decimal("0.01"),
            limit_price=mid - 10 - i if i % 2 == 0 else mid + 10 + i,
            post_only=True,
        )
        for i in range(n)
    ]
    batches = [rows[i : i + 15] for i in range(0, n, 15)]
    if len(batches) > 1 and len(batches[-1]) == 1:  # batch_add takes 2..15 orders
        batches[-2:] = [batches[-2][:-1], batches[-2][-1:] + batches[-1]]
    results = await asyncio.gather(*(client.batch_add(b, symbol="BTC/USD") for b in batches))
    return [oid for r in results for oid in r.order_ids]


async def market_moved(mid: Decimal, max_move: Decimal, after: float) -> None:
    """Stands for your market-data logic: returns when the mid moves more than ``max_move``.
    Here a random walk that jumps after ``after`` seconds."""
    price, start = mid, time.monotonic()
    while abs(price - mid) <= max_move:
        await asyncio.sleep(0.01)
        price += Decimal(random.randint(-1, 1))
        if time.monotonic() - start > after:
            price += max_move * 2  # the jump
    print(f"signal: mid {mid} -> {price}")


async def main(url: str, token: str, quotes: int, after: float) -> int:
    mid = Decimal(30000)
    async with await krakenwire.connect(url, token=token) as client:
        ids = await place_quotes(client, quotes, mid)
        print(f"{len(ids)} quotes resting; waiting for the signal (or SIGUSR1)")

        pull = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, AttributeError):  # POSIX only
            loop.add_signal_handler(signal.SIGUSR1, pull.set)
        watcher = asyncio.create_task(market_moved(mid, Decimal(50), after))
        watcher.add_done_callback(lambda _: pull.set())
        await pull.wait()
        watcher.cancel()

        t0 = time.perf_counter_ns()
        res = await client.cancel_orders(ids, confirm=5.0)
        wall_us = (time.perf_counter_ns() - t0) / 1000
        print(
            f"cancel_orders({len(ids)} ids): {len(res.chunks)} requests, Kraken cancelled "
            f"{res.count}; slowest reply {res.latency_ns / 1000:.0f} us, confirmed per id "
            f"after {wall_us:.0f} us"
        )
        print(
            f"  gone {len(res.gone)}, not open {len(res.not_open)}, "
            f"unconfirmed {len(res.unconfirmed)}, rejected {len(res.rejected_ids)}, "
            f"unknown {len(res.unknown_ids)}"
        )
        if res.unknown_ids:  # the request may or may not have executed: ask the exchange
            rec = await client.reconcile(res.unknown_ids, recancel=True)
            print(f"  reconciled: gone {len(rec.gone)}, re-cancelled {len(rec.open)}")
        await client.ping()  # every executions update sent before the pong is in
        left = [i for i in ids if i in client.open_orders]
        print(f"quotes still open: {len(left)}")
        return 0 if not left else 1


async def on_simulator(quotes: int, after: float) -> int:
    from krakenwire.sim import Simulator

    async with Simulator() as sim:
        print(f"simulator on {sim.url}")
        return await main(sim.url, sim.token, quotes, after)


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running simulator's ws:// URL (default: start one here)")
    p.add_argument("--token", help="its token (with --url)")
    p.add_argument("--quotes", type=int, default=120, help="quotes to rest (default 120)")
    p.add_argument("--after", type=float, default=0.5, help="seconds until the jump")
    p.add_argument("--live", action="store_true", help="allow a wss:// URL: REAL orders")
    args = p.parse_args(argv)
    if args.url is None:
        return run(on_simulator(args.quotes, args.after))
    if not args.url.startswith("ws://") and not args.live:
        p.error("this places orders: pass --live to use a wss:// (real Kraken) URL")
    if not args.token:
        p.error("--url needs --token")
    return run(main(args.url, args.token, args.quotes, args.after))


if __name__ == "__main__":
    sys.exit(cli())
