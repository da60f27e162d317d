"""A book client nobody here wrote against the simulator's public endpoint: python-kraken-sdk's
``SpotOrderBookClient``, unmodified, which loads the pair's decimals from REST ``AssetPairs``,
keeps the book from ``book`` frames and verifies Kraken's checksum on every update.

Its market lookup is a blocking ``requests`` call made inside its frame handler, so the
simulator runs on its own event loop in a thread here (as it would in its own process). The
only settings are where to connect: the SDK's public WebSocket base URL (it appends ``/v2``) and
its REST URL.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from krakenwire.sim import SimConfig, Simulator

spot = pytest.importorskip("kraken.spot", reason="python-kraken-sdk is not installed")

T = TypeVar("T")


class SimThread:
    """A simulator serving from its own event loop in a daemon thread."""

    def __init__(self, config: SimConfig) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.config = config
        self.sim: Simulator

    def call(self, fn: Callable[[], T]) -> T:
        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(20)

    def __enter__(self) -> SimThread:
        self.thread.start()

        async def start() -> Simulator:
            sim = Simulator(config=self.config)
            await sim.start()
            return sim

        self.sim = asyncio.run_coroutine_threadsafe(start(), self.loop).result(20)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def sim_thread() -> Iterator[SimThread]:
    # The books move every 2 ms and the price every 20 ms: thousands of updates in seconds.
    cfg = SimConfig(book_interval=0.002, market=True, market_interval=0.02, seed=7)
    with SimThread(cfg) as st:
        yield st


def _run_sdk(st: SimThread, updates: int, corrupt_after: int | None) -> list[dict[str, Any]]:
    """Run the SDK's book client until it has seen ``updates`` book messages; with
    ``corrupt_after``, corrupt one checksum after that many. Returns every message it passed
    to its callback."""
    sim = st.sim

    class OrderBook(spot.SpotOrderBookClient):  # type: ignore[misc]
        WS_URL = sim.public_base_url  # the SDK appends /v2

    seen: list[dict[str, Any]] = []

    async def on_update(pair: str, message: dict[str, Any]) -> None:
        seen.append(message)

    async def main() -> None:
        client = OrderBook(depth=10, callback=on_update)
        # Where its REST market lookup goes (AssetPairs, for the pair's decimals).
        client._SpotOrderBookClient__market = spot.Market(url=sim.rest_url)
        await client.start()
        try:
            await client.add_book(pairs=["BTC/USD"])
            deadline = time.monotonic() + 120
            corrupted = False
            while len(seen) < updates and time.monotonic() < deadline:
                if corrupt_after is not None and not corrupted and len(seen) >= corrupt_after:
                    st.call(lambda: sim.corrupt_book(1))
                    corrupted = True
                if corrupted and any("error" in m for m in seen):
                    break
                await asyncio.sleep(0.02)
        finally:
            await client.close()

    asyncio.run(main())
    return seen


def test_sdk_book_client_sees_no_checksum_failure(sim_thread: SimThread) -> None:
    seen = _run_sdk(sim_thread, updates=3000, corrupt_after=None)
    books = [m for m in seen if m.get("channel") == "book"]
    assert len(books) >= 3000
    assert [m for m in seen if "error" in m] == []
    # The updates really moved the top of the book (not 3000 copies of one frame).
    assert len({m["data"][0]["checksum"] for m in books}) > 1000
    assert sim_thread.sim.public is not None and sim_thread.sim.public.updates_sent >= 3000


def test_sdk_book_client_sees_the_corrupted_checksum(sim_thread: SimThread) -> None:
    seen = _run_sdk(sim_thread, updates=5000, corrupt_after=500)
    errors = [m for m in seen if "error" in m]
    assert errors, "the SDK did not notice the corrupted checksum"
    assert "Checksum mismatch" in errors[0]["error"]
    # Nothing before the corruption failed.
    first = seen.index(errors[0])
    assert first >= 500
