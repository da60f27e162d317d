"""The demo's quoter: quotes around the simulator's book mid, pulled with one ``batch_cancel_cb``
from inside the market-data callback when the mid moves; returns the tick-to-cancel times.

The same strategy as ``examples/quoter.py`` (which explains it), cut to what the demo prints:
per round, the time from the book frame arriving (picows handing it over) to the cancel frame
being written, both in this process.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from .._orders import Side
from ..client import Client
from ..errors import KrakenwireError
from ..market import Book, connect_market

__all__ = ["run_quoter"]


async def run_quoter(
    client: Client, public_url: str, rounds: int, ticks: int = 2, symbol: str = "BTC/USD"
) -> tuple[list[float], list[str]]:
    """Quote, pull on a ``ticks`` move, re-quote, ``rounds`` times.

    Returns:
        the tick-to-cancel times in microseconds, and what failed (empty when all went well).
    """
    times: list[float] = []
    failures: list[str] = []
    live: list[str] = []
    state: dict[str, Any] = {"anchor": None, "pulling": False}
    done = asyncio.Event()
    tasks: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()
    tick = 0.0

    def on_book(book: Book) -> None:
        if state["anchor"] is None or state["pulling"] or not live:
            return
        if book.valid and abs(book.mid - state["anchor"]) < ticks * tick:
            return
        state["pulling"] = True
        ids = live[:]
        live.clear()
        client.batch_cancel_cb(ids, on_done=pulled)
        times.append((time.monotonic_ns() - book.received_ns) / 1000)

    def pulled(outcome: object) -> None:
        if isinstance(outcome, KrakenwireError):
            failures.append(f"{type(outcome).__name__}: {outcome}")
        if len(times) >= rounds or failures:
            done.set()
            return
        task = loop.create_task(place())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def place() -> None:
        while not book.valid:
            await asyncio.sleep(0.001)
        mid = (
            Decimal(book.ask_units(1)[0][0] + book.bid_units(1)[0][0]).scaleb(-book.price_precision)
            / 2
        )
        step = Decimal(str(tick))
        rows = []
        for i in range(1, 4):
            off = step * (ticks + 2 + i)
            sides: tuple[tuple[Side, Decimal], ...] = (("buy", mid - off), ("sell", mid + off))
            for side, price in sides:
                rows.append(
                    client.order(
                        side=side,
                        order_qty=Decimal("0.001"),
                        limit_price=price.quantize(step),
                        post_only=True,
                    )
                )
        result = await client.batch_add(rows, symbol=symbol)
        if not result.ok:
            failures.append(f"batch_add: {result.error}")
            done.set()
            return
        live[:] = result.order_ids
        state["anchor"] = float(mid)
        state["pulling"] = False

    async with await connect_market(public_url, on_book=on_book) as market:
        tick = market.instruments[symbol].tick_size
        [book] = await market.subscribe_book(symbol, depth=10)
        await place()
        try:
            await asyncio.wait_for(done.wait(), 60)
        except TimeoutError:
            failures.append(f"the mid moved {len(times)} times in 60 s, not {rounds}")
        if live:
            await client.batch_cancel(live)
    return times, failures
