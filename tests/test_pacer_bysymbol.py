"""What users of the peer clients ask for: cancel every order of one pair
(``cancel_all(symbol=...)``, from the open-order view, through ``cancel_orders``), and a
client-side pacer that keeps order entry under Kraken's trading rate counter and never holds a
cancel back. Against the real simulator over loopback; the pacer's model also sans-IO with a
fake clock."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

import krakenwire
from krakenwire import Pacer, RateLimitExceeded, RateLimitPaced, ValidationError
from krakenwire.sim import SimConfig, Simulator


async def _place(client, symbol: str, n: int, price: int = 20000) -> list[str]:
    ids: list[str] = []
    while len(ids) < n:
        k = min(15, n - len(ids))
        if k == 1:
            r = await client.add_order(
                symbol=symbol, side="buy", order_qty="0.01", limit_price=price - len(ids)
            )
            ids.append(r.order_id)
            continue
        rows = [
            client.order(side="buy", order_qty=Decimal("0.01"), limit_price=price - len(ids) - i)
            for i in range(k)
        ]
        ids += (await client.batch_add(rows, symbol=symbol)).order_ids
    await client.ping()  # the executions updates were pushed before the pong: the view has them
    return ids


# ---- cancel_all(symbol=...) -------------------------------------------------------------------


def test_cancel_all_by_symbol_cancels_that_pair_only_in_chunks(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                btc = await _place(client, "BTC/USD", 60)
                eth = await _place(client, "ETH/USD", 5, price=2000)
                before = len(acct.ledger)
                r = await client.cancel_all(symbol="BTC/USD", confirm=True)
                assert isinstance(r, krakenwire.CancelOrdersResult) and r.ok
                assert r.count == 60 and [len(c.ids) for c in r.chunks] == [30, 30]
                assert sorted(r.gone) == sorted(btc)  # confirmed per id by the stream
                sent = acct.ledger[before:]
                assert [e.method for e in sent] == ["batch_cancel", "batch_cancel"]
                assert sorted(client.open_orders) == sorted(eth)
                # several pairs at once, and a pair with nothing open: nothing is sent
                frames = sim.frames_received
                none = await client.cancel_all(symbol=["DOGE/USD"])
                assert none.chunks == [] and none.count == 0 and sim.frames_received == frames
                both = await client.cancel_all(symbol=["ETH/USD", "XBT/EUR"])
                assert both.count == 5 and len(client.open_orders) == 0
                # Kraken's cancel_all (no symbol) is still one request with its own result
                assert isinstance(await client.cancel_all(), krakenwire.CancelAllResult)

    run(main)


def test_cancel_all_by_symbol_refuses_bad_pairs_before_sending(run):
    async def main():
        async with Simulator(orders=3) as sim:
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                frames = sim.frames_received
                for bad in ("btcusd", "", [], ["BTC/USD", 7], 42):
                    with pytest.raises(ValidationError) as exc:
                        await client.cancel_all(symbol=bad)
                    assert exc.value.field == "symbol"
                assert sim.frames_received == frames and len(client.open_orders) == 3
            async with await krakenwire.connect(
                sim.url, token=sim.token, subscribe=False
            ) as client:
                with pytest.raises(ValidationError, match="subscribe"):
                    await client.cancel_all(symbol="BTC/USD")

    run(main)


def test_cancel_all_by_symbol_has_the_fates_of_cancel_orders(run):
    # A chunk whose reply never comes is unknown, the other chunk's result is in.
    async def main():
        async with Simulator(config=SimConfig(batch_cancel_mode="strict")) as sim:
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                await _place(client, "BTC/USD", 4)
                sim.blackhole = True
                r = await client.cancel_all(symbol="BTC/USD", timeout=0.3)
                sim.blackhole = False
                assert not r.ok and sorted(r.unknown_ids) == sorted(r.chunks[0].ids)

    run(main)


# ---- the pacer: sans-IO ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_pacer_model_decays_counts_cancels_by_age_and_takes_krakens_value():
    clock = Clock()
    p = Pacer(threshold=20, decay=2, clock=clock)
    p.observe(
        "update",
        [{"order_id": "O1", "symbol": "BTC/USD", "exec_type": "new", "order_status": "new"}],
    )
    assert p.charge("BTC/USD", 10) == 10
    clock.t += 2.5
    assert p.value("BTC/USD") == 5  # 2 per second
    clock.t += 1  # O1 is 3.5 s old: its cancel costs 8
    p.observe("update", [{"order_id": "O1", "exec_type": "canceled", "order_status": "canceled"}])
    assert p.value("BTC/USD") == 11
    # Kraken's own counter, when the stream carries it, replaces the model's
    row = {"order_id": "O2", "symbol": "BTC/USD", "exec_type": "new", "ratecount": 3}
    p.observe("update", [row])
    assert p.value("BTC/USD") == 3 and p.streamed
    # the cost of each kind of order entry
    assert p.cost("cancel_order", object()) is None
    clock.t += 20  # O2 is 20 s old: an amend costs 1 + 0
    amend = type("P", (), {"order_id": "O2", "cl_ord_id": None})()
    assert p.cost("amend_order", amend) == ("BTC/USD", 1.0)
    batch = type("P", (), {"symbol": "ETH/USD", "orders": [1, 2, 3, 4]})()
    assert p.cost("batch_add", batch) == ("ETH/USD", 2.0)


def test_pacer_arguments_are_checked():
    for kw in (
        {"tier": "gold"},
        {"mode": "maybe"},
        {"decay": 0},
        {"max_delay": -1},
        {"threshold": float("nan")},
        {"headroom": 60},
    ):
        with pytest.raises(ValidationError):
            Pacer(**kw)


def test_pacer_refuses_when_it_cannot_fit_in_max_delay():
    clock = Clock()
    p = Pacer(threshold=10, decay=1, max_delay=2, clock=clock)
    p.charge("BTC/USD", 10)

    async def main():
        with pytest.raises(RateLimitPaced) as exc:
            await p.admit("BTC/USD", 5)  # 5 s of decay needed, 2 allowed
        assert exc.value.symbol == "BTC/USD" and exc.value.wait == 5
        assert isinstance(exc.value, krakenwire.NotExecuted)

    asyncio.run(main())
    assert p.refused == 1 and p.value("BTC/USD") == 10  # nothing counted


# ---- the pacer against the simulator ------------------------------------------------------------


def test_without_a_pacer_kraken_refuses_with_one_it_refuses_first(run):
    async def main():
        cfg = SimConfig(rate_limit=10, rate_decay=0.01)
        async with Simulator(config=cfg) as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                with pytest.raises(RateLimitExceeded):
                    for i in range(12):
                        await client.add_order(
                            symbol="BTC/USD", side="buy", order_qty="0.01", limit_price=100 + i
                        )
        async with Simulator(config=cfg) as sim:
            acct = sim.account(sim.token)
            pacer = Pacer(threshold=10, decay=0.01, mode="refuse")
            async with await krakenwire.connect(sim.url, token=sim.token, pacer=pacer) as client:
                placed = 0
                with pytest.raises(RateLimitPaced):
                    for i in range(12):
                        await client.add_order(
                            symbol="BTC/USD", side="buy", order_qty="0.01", limit_price=100 + i
                        )
                        placed += 1
                assert placed == 10 and pacer.refused == 1
                assert [e.error for e in acct.ledger if e.error] == []  # Kraken refused nothing
                assert sum(e.method == "add_order" for e in acct.ledger) == 10  # 11th not sent

    run(main)


def test_pacer_delays_entry_until_the_counter_decays(run):
    async def main():
        cfg = SimConfig(rate_limit=5, rate_decay=40.0)
        async with Simulator(config=cfg) as sim:
            acct = sim.account(sim.token)
            pacer = Pacer(threshold=5, decay=40.0, headroom=1, max_delay=5)
            async with await krakenwire.connect(sim.url, token=sim.token, pacer=pacer) as client:
                for i in range(12):
                    await client.add_order(
                        symbol="BTC/USD", side="buy", order_qty="0.01", limit_price=100 + i
                    )
                rows = [
                    client.order(side="buy", order_qty="0.01", limit_price=50 + i) for i in range(4)
                ]
                await client.batch_add(rows, symbol="BTC/USD")
        assert pacer.delayed > 0 and pacer.refused == 0
        assert [e.error for e in acct.ledger if e.error] == []  # every order fitted
        assert sum(e.method == "add_order" for e in acct.ledger) == 12

    run(main)


def test_pacer_never_holds_a_cancel_back(run):
    async def main():
        cfg = SimConfig(rate_limit=100)
        async with Simulator(config=cfg) as sim:
            acct = sim.account(sim.token)
            pacer = Pacer(threshold=3, decay=0.001, max_delay=3600)
            async with await krakenwire.connect(sim.url, token=sim.token, pacer=pacer) as client:
                ids = [
                    (
                        await client.add_order(
                            symbol="BTC/USD", side="buy", order_qty="0.01", limit_price=100 + i
                        )
                    ).order_id
                    for i in range(3)
                ]
                held = asyncio.ensure_future(
                    client.add_order(symbol="BTC/USD", side="buy", order_qty="0.01", limit_price=9)
                )
                await asyncio.sleep(0)
                assert not held.done()  # the counter is full: the 4th order waits
                r = await client.cancel_orders(ids)  # cancels go straight out meanwhile
                assert r.ok and r.count == 3 and not held.done()
                held.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await held
        assert sum(e.method == "add_order" for e in acct.ledger) == 3  # the 4th never sent
        assert pacer.value("BTC/USD") > 3  # the cancels were counted (young orders cost most)

    run(main)


def test_pacer_takes_the_counter_kraken_streams(run):
    # A subscription with ratecounter on: each order event carries the pair's counter.
    async def main():
        async with Simulator(config=SimConfig(rate_limit=50, rate_decay=0.01)) as sim:
            pacer = Pacer(threshold=50, decay=0.01)
            async with await krakenwire.connect(
                sim.url, token=sim.token, pacer=pacer, subscribe=False
            ) as client:
                await client.subscribe_executions(ratecounter=True)
                for i in range(3):
                    await client.add_order(
                        symbol="BTC/USD", side="buy", order_qty="0.01", limit_price=100 + i
                    )
                await client.ping()
                assert pacer.streamed and 1 <= pacer.value("BTC/USD") <= 3

    run(main)
