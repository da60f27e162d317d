"""A quoter: quotes around the book's mid, pulled with one batch_cancel when the mid moves.

The trigger and the cancel live in one callback. ``connect_market``'s ``on_book`` runs inside
the market socket's frame callback with the updated, checksum-verified book; when the mid has
moved ``--ticks`` ticks from where the quotes were placed (or the book turned invalid: a quote
priced off a book nobody can trust is pulled too), it calls ``client.batch_cancel_cb`` on the
trading connection, so the cancel frame is written before that frame callback returns: no task
switch between the tick and the cancel. The outcome arrives in ``on_done``; then a task places
fresh quotes around the new mid. Each round prints the tick-to-cancel time inside the client
(the book frame handed over by picows -> the cancel frame written).

    python examples/quoter.py                       # starts the simulator in-process
    krakenwire sim --market --json &                # or: a simulator in another process
    python examples/quoter.py --url URL --token TOKEN --public-url PUBLIC_URL

Exit status 0 when every round pulled its quotes with one request and none is left open.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from decimal import Decimal

import krakenwire
from krakenwire.market import Book

try:
    from uvloop import run
except ImportError:  # no uvloop on Windows: plain asyncio
    from asyncio import run  # type: ignore[assignment]

SYMBOL = "BTC/USD"


class Quoter:
    """Quotes ``levels`` bids and asks around the mid, ``spread`` ticks out; pulls them all
    when the mid moves ``ticks`` ticks."""

    def __init__(self, client: krakenwire.Client, ticks: int, levels: int, rounds: int) -> None:
        self.client = client
        self.ticks = ticks
        self.levels = levels
        self.rounds = rounds
        self.tick = Decimal(0)
        self.anchor: float | None = None  # the mid the live quotes were priced off
        self.live: list[str] = []
        self.pulling = False
        self.tick_to_cancel_us: list[float] = []
        self.failures: list[str] = []
        self.done = asyncio.Event()
        self.book: Book | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- inside the market socket's frame callback --------------------------------------

    def on_book(self, book: Book) -> None:
        if self.anchor is None or self.pulling or not self.live:
            return
        if book.valid:
            moved = abs(book.mid - self.anchor) >= self.ticks * float(self.tick)
            if not moved:
                return
        # The mid moved (or the book is no longer trustworthy): pull everything, now.
        self.pulling = True
        ids, self.live = self.live, []
        self.client.batch_cancel_cb(ids, on_done=self.pulled)
        self.tick_to_cancel_us.append((time.monotonic_ns() - book.received_ns) / 1000)

    def pulled(self, outcome: object) -> None:
        if isinstance(outcome, krakenwire.KrakenwireError):
            self.failures.append(f"{type(outcome).__name__}: {outcome}")
        task = asyncio.get_running_loop().create_task(self.requote())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- on the event loop ---------------------------------------------------------------

    async def requote(self) -> None:
        if len(self.tick_to_cancel_us) >= self.rounds or self.book is None:
            self.done.set()
            return
        await self.place(self.book)

    async def place(self, book: Book) -> None:
        while not book.valid:
            await asyncio.sleep(0.001)
        mid = Decimal(book.ask_units(1)[0][0] + book.bid_units(1)[0][0]) / 2
        mid = mid.scaleb(-book.price_precision)
        rows = []
        for i in range(1, self.levels + 1):
            off = self.tick * (self.ticks + 2 + i)  # outside the trigger band: not filled first
            sides: tuple[tuple[krakenwire.Side, Decimal], ...] = (
                ("buy", mid - off),
                ("sell", mid + off),
            )
            for side, price in sides:
                rows.append(
                    self.client.order(
                        side=side,
                        order_qty=Decimal("0.001"),
                        limit_price=price.quantize(self.tick),
                        post_only=True,
                    )
                )
        result = await self.client.batch_add(rows, symbol=SYMBOL)
        if not result.ok:
            self.failures.append(f"batch_add: {result.error}")
            self.done.set()
            return
        self.live = list(result.order_ids)
        self.anchor = float(mid)
        self.pulling = False

    async def start(self, market: krakenwire.MarketData) -> None:
        pair = market.instruments[SYMBOL]
        self.tick = Decimal(str(pair.tick_size))
        [book] = await market.subscribe_book(SYMBOL, depth=10)
        self.book = book
        await self.place(book)


async def main(url: str, token: str, public_url: str, ticks: int, rounds: int, levels: int) -> int:
    async with await krakenwire.connect(url, token=token) as client:
        quoter = Quoter(client, ticks, levels, rounds)
        market = await krakenwire.connect_market(public_url, on_book=quoter.on_book)
        async with market:
            await quoter.start(market)
            print(f"quoting {2 * levels} orders around the {SYMBOL} mid; pulling at {ticks} ticks")
            try:
                await asyncio.wait_for(quoter.done.wait(), 120)
            except TimeoutError:
                print("the mid did not move enough in 120 s")
            if quoter.live:  # still quoting (stopped early): pull them
                await client.batch_cancel(quoter.live)
            await client.ping()  # every executions update sent before the pong is in
        for i, us in enumerate(quoter.tick_to_cancel_us, 1):
            print(
                f"round {i}: mid moved -> one batch_cancel written {us:.0f} us after the book frame"
            )
        v = sorted(quoter.tick_to_cancel_us)
        if v:
            print(f"tick-to-cancel in the client: p50 {v[len(v) // 2]:.0f} us, max {v[-1]:.0f} us")
        for f in quoter.failures:
            print(f"failed: {f}")
        left = [o.order_id for o in client.open_orders.values()]
        print(f"quotes still open: {len(left)}")
        return 0 if not left and not quoter.failures and len(v) >= rounds else 1


async def on_simulator(ticks: int, rounds: int, levels: int) -> int:
    from krakenwire.sim import SimConfig, Simulator

    # The market on: the price takes a step every 20 ms; the books move every 5 ms.
    cfg = SimConfig(
        market=True, market_interval=0.02, market_volatility=0.0003, book_interval=0.005
    )
    async with Simulator(config=cfg) as sim:
        print(f"simulator on {sim.url}, market data on {sim.public_url}")
        return await main(sim.url, sim.token, sim.public_url, ticks, rounds, levels)


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running simulator's ws:// URL (default: start one here)")
    p.add_argument("--token", help="its token (with --url)")
    p.add_argument("--public-url", help="its public (market data) URL (with --url)")
    p.add_argument("--ticks", type=int, default=5, help="pull when the mid moves this many ticks")
    p.add_argument("--rounds", type=int, default=5, help="pull-and-requote rounds (default 5)")
    p.add_argument("--levels", type=int, default=3, help="quotes per side (default 3)")
    p.add_argument("--live", action="store_true", help="allow a wss:// URL: REAL orders")
    args = p.parse_args(argv)
    if not 1 <= args.levels <= 7:
        p.error("--levels must be 1..7 (one batch_add of 2..15 orders)")
    if args.url is None:
        return run(on_simulator(args.ticks, args.rounds, args.levels))
    if not args.url.startswith("ws://") and not args.live:
        p.error("this places orders: pass --live to use a wss:// (real Kraken) URL")
    if not args.token or not args.public_url:
        p.error("--url needs --token and --public-url")
    return run(main(args.url, args.token, args.public_url, args.ticks, args.rounds, args.levels))


if __name__ == "__main__":
    sys.exit(cli())
