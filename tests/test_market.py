"""The market-data connection against the simulator's public endpoint, over real sockets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import krakenwire
from krakenwire import StateChange
from krakenwire.market import Book, BookInvalid, MarketData, Ticker, Trade, connect_market
from krakenwire.plugins import PluginHost
from krakenwire.sim import SimConfig, Simulator

Run = Callable[[Callable[[], Awaitable[Any]]], Any]
QUIET = SimConfig(book_interval=0.0, seed=3)  # books move only when a test says so


async def until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.005)


def same_as_server(sim: Simulator, book: Book) -> bool:
    assert sim.public is not None
    asks, bids = sim.public.books[book.symbol].top(book.depth)
    return book.ask_units() == asks and book.bid_units() == bids


def test_book_snapshot_updates_and_callback(run: Run) -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            seen: list[tuple[bool, int]] = []
            md = await connect_market(
                sim.public_url, on_book=lambda b: seen.append((b.valid, b.updates))
            )
            async with md:
                assert md.instruments["BTC/USD"].price_precision == 1
                [book] = await md.subscribe_book("BTC/USD", depth=25)
                assert book.valid and same_as_server(sim, book)
                for i in range(300):
                    sim.publish_book("BTC/USD")
                    if i % 25 == 0:
                        sim.step_market(5)  # the mid moves: the top of the book changes
                await until(lambda: book.updates == 300)
                assert book.valid and same_as_server(sim, book)
                assert md.stats.mismatches == 0 and md.stats.book_updates == 301
                assert seen[0] == (True, 0) and seen[-1] == (True, 300) and len(seen) == 301
                assert book.best_bid < book.best_ask and book.spread > 0
                assert md.books == {"BTC/USD": book}

    run(main)


def test_every_depth_stays_valid(run: Run) -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            books: list[Book] = []
            for depth in krakenwire.market.DEPTHS:
                md = await connect_market(sim.public_url)
                books += await md.subscribe_book("ETH/USD", depth=depth)
            for i in range(100):
                sim.publish_book("ETH/USD")
                if i % 10 == 0:
                    sim.step_market(3)
            await until(lambda: all(b.updates == 100 for b in books))
            for b in books:
                assert b.valid and same_as_server(sim, b) and len(b.bids()) == b.depth

    run(main)


def test_corrupt_checksum_invalidates_reports_and_resyncs(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[tuple[str, dict[str, Any]]] = []

    class Watcher:
        @krakenwire.hookimpl
        def krakenwire_connection_event(
            self, event: str, context: Any, detail: dict[str, Any]
        ) -> None:
            events.append((event, detail))

    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            states: list[StateChange] = []
            seen: list[bool] = []
            reads: list[Any] = []

            def on_book(book: Book) -> None:
                seen.append(book.valid)
                try:
                    reads.append(book.best_bid)
                except BookInvalid as exc:
                    reads.append(exc)

            md = await connect_market(
                sim.public_url,
                on_book=on_book,
                on_state=states.append,
                plugins=PluginHost([Watcher()], autoload=False),
            )
            async with md:
                [book] = await md.subscribe_book("BTC/USD")
                sim.publish_book(steps=3)
                await until(lambda: book.updates == 3)
                sim.corrupt_book()
                sim.publish_book()
                await until(lambda: md.stats.mismatches == 1)
                # the callback saw it invalid, and could not read a price off it
                assert seen[:4] == [True] * 4 and seen[4] is False
                assert isinstance(reads[4], BookInvalid) and reads[4].symbol == "BTC/USD"
                await until(lambda: book.valid and md.stats.snapshots == 2)
                assert same_as_server(sim, book)
                assert md.stats.resyncs == 1
                invalid = [s for s in states if s.state == "book_invalid"]
                assert len(invalid) == 1 and invalid[0].connection == "market"
                assert "BTC/USD" in invalid[0].reason and "checksum mismatch" in invalid[0].reason
                [(name, detail)] = [e for e in events if e[0] == "book_invalid"]
                assert detail["symbol"] == "BTC/USD" and detail["connection"] == "market"
                assert detail["reason"].startswith("checksum mismatch")
                # it carries on: later updates validate again
                sim.publish_book(steps=5)
                await until(lambda: book.updates == 5)
                assert book.valid and md.stats.mismatches == 1

    with caplog.at_level(logging.WARNING, "krakenwire.market"):
        run(main)
    assert any("book invalid, re-subscribing" in r.getMessage() for r in caplog.records)
    assert ("connected", {"url": events[0][1]["url"], "connection": "market"}) == events[0]


def test_dropped_update_is_caught_by_the_next_checksum(run: Run) -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            md = await connect_market(sim.public_url)
            async with md:
                [book] = await md.subscribe_book("BTC/USD")
                sim.step_market(5)  # the next move re-centres the book: its top changes
                sim.drop_book_update()
                sim.publish_book()
                sim.publish_book()
                await until(lambda: md.stats.mismatches == 1)
                await until(lambda: book.valid)
                assert same_as_server(sim, book)

    run(main)


def test_delayed_frame_keeps_order_and_validity(run: Run) -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            md = await connect_market(sim.public_url)
            async with md:
                [book] = await md.subscribe_book("BTC/USD")
                sim.delay_book_update(0.3)
                sim.publish_book(steps=4)  # the first is late, the three behind it wait
                await asyncio.sleep(0.05)
                assert book.updates == 0
                await until(lambda: book.updates == 4)
                assert book.valid and md.stats.mismatches == 0 and same_as_server(sim, book)

    run(main)


def test_reconnects_and_resubscribes(run: Run) -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            states: list[str] = []
            seen: list[bool] = []
            md = await connect_market(
                sim.public_url,
                on_state=lambda c: states.append(c.state),
                on_book=lambda b: seen.append(b.valid),
                backoff_base=0.01,
            )
            async with md:
                [book] = await md.subscribe_book("BTC/USD")
                await md.subscribe_ticker("BTC/USD")
                assert sim.public is not None
                for conn in list(sim.public.conns):
                    assert conn.transport is not None
                    conn.transport.disconnect(graceful=False)
                await until(lambda: "disconnected" in states)
                assert seen[-1] is False  # the strategy heard at once that the book is gone
                with pytest.raises(BookInvalid):
                    book.best_ask  # noqa: B018
                await until(lambda: md.state == "connected" and book.valid)
                assert states[-2:] == ["reconnecting", "connected"] or "reconnecting" in states
                assert md.stats.reconnects == 1
                [conn] = list(sim.public.conns)
                assert conn.books == {"BTC/USD": 10} and conn.tickers == {"BTC/USD"}
                sim.publish_book(steps=2)
                await until(lambda: book.updates == 2)
                assert book.valid and same_as_server(sim, book)

    run(main)


def test_stream_ticker_and_trade_structs(run: Run) -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            async with await connect_market(sim.public_url) as md:
                got: list[Any] = []

                async def consume() -> None:
                    async for msg in md.stream("ticker", "trade"):
                        got.append(msg)
                        if any(isinstance(m, Trade) for m in got) and len(got) >= 3:
                            return

                task = asyncio.ensure_future(consume())
                await asyncio.sleep(0)
                await md.subscribe_ticker(["BTC/USD"])
                await md.subscribe_trade("BTC/USD")
                sim.step_market(5)
                sim.publish_book()  # the move makes a trade and a new best bid/ask
                await asyncio.wait_for(task, 5)
                tickers = [m for m in got if isinstance(m, Ticker)]
                trades = [m for m in got if isinstance(m, Trade)]
                assert (
                    tickers and tickers[0].symbol == "BTC/USD" and tickers[0].bid < tickers[0].ask
                )
                assert (
                    trades[0].symbol == "BTC/USD" and trades[0].qty > 0 and trades[0].trade_id == 1
                )

    run(main)


def test_bad_input_and_refusals(run: Run) -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            async with await connect_market(sim.public_url) as md:
                with pytest.raises(krakenwire.ValidationError, match="depth"):
                    await md.subscribe_book("BTC/USD", depth=50)
                with pytest.raises(krakenwire.ValidationError, match="instrument"):
                    await md.subscribe_book("XBT/FOO")
                with pytest.raises(krakenwire.ValidationError):
                    await md.subscribe_book([])
                with pytest.raises(krakenwire.KrakenAPIError) as exc:
                    await md.subscribe_ticker("XBT/FOO")
                assert exc.value.error == "Currency pair not supported XBT/FOO"
                await md.subscribe_book("BTC/USD")
                with pytest.raises(krakenwire.ValidationError, match="already"):
                    await md.subscribe_book("BTC/USD")
                await md.unsubscribe_book("BTC/USD")
                assert md.books == {}
        with pytest.raises(krakenwire.ValidationError):
            await connect_market("ws://example.com/v2")
        with pytest.raises(krakenwire.ValidationError):
            await connect_market(sim.public_url, on_book=42)  # type: ignore[arg-type]
        with pytest.raises(krakenwire.ConnectError):
            await connect_market(sim.public_url, timeout=1)  # the simulator is gone

    run(main)


def test_exported_from_the_package() -> None:
    assert krakenwire.connect_market is connect_market
    assert krakenwire.MarketData is MarketData
    assert krakenwire.Book is Book and krakenwire.BookInvalid is BookInvalid
