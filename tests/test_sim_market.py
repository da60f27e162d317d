"""The simulator's market: fills, partial fills, trigger orders, market orders, GTD expiry and
cancels racing fills, over real loopback sockets (tests/_rawclient). Prices come from a replayed
path and are stepped by hand (``step_market``), so nothing depends on timing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from krakenwire.sim import SimConfig, Simulator
from tests._rawclient import RawClient, connect

# A market whose timer never fires by itself: the tests step it.
MANUAL = {"market": True, "market_interval": 3600.0, "seed": 7}


def simrun(main: Callable[[Simulator], Awaitable[None]], **cfg: Any) -> None:
    async def go() -> None:
        async with Simulator(config=SimConfig(**cfg)) as sim:
            await main(sim)

    asyncio.run(go())


def path_file(tmp_path: Path, *prices: str) -> str:
    p = tmp_path / "path.txt"
    p.write_text("# replayed prices\n" + "\n".join(prices) + "\n")
    return str(p)


async def subscribed(sim: Simulator, **opts: Any) -> RawClient:
    c = await connect(sim.url)
    await c.recv()  # status
    c.send(
        {
            "method": "subscribe",
            "params": {"channel": "executions", "token": sim.token, **opts},
            "req_id": 1,
        }
    )
    assert (await c.recv())["success"] is True
    assert (await c.recv())["type"] == "snapshot"
    return c


def req(sim: Simulator, method: str, req_id: int = 7, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": {**params, "token": sim.token}, "req_id": req_id}


async def rows(c: RawClient, n: int) -> list[dict[str, Any]]:
    """The next ``n`` executions rows, across update frames."""
    out: list[dict[str, Any]] = []
    while len(out) < n:
        msg = await c.recv(timeout=5.0)
        if msg.get("channel") == "executions":
            out.extend(msg["data"])
    return out


async def add(c: RawClient, sim: Simulator, **order: Any) -> str:
    r = await c.request(req(sim, "add_order", symbol="BTC/USD", **order))
    assert r["success"] is True, r
    return str(r["result"]["order_id"])


def test_resting_limit_fills_partially_then_fully(tmp_path: Path) -> None:
    async def main(sim: Simulator) -> None:
        c = await subscribed(sim)
        oid = await add(c, sim, order_type="limit", side="buy", order_qty=2, limit_price=29990)
        assert [r["exec_type"] for r in await rows(c, 2)] == ["pending_new", "new"]
        assert sim.step_market() == "29990"
        (part,) = await rows(c, 1)
        assert part["exec_type"] == "trade" and part["order_id"] == oid
        assert part["order_status"] == "partially_filled" and part["liquidity_ind"] == "m"
        assert Decimal(0) < part["last_qty"] < 2 and part["last_price"] == Decimal(29990)
        assert part["cum_qty"] == part["last_qty"] and part["cost"] == part["cum_cost"]
        assert part["fees"][0]["asset"] == "USD"
        assert (
            part["fees"][0]["qty"]
            == part["fee_usd_equiv"]
            == (part["cost"] * Decimal("0.0025")).quantize(Decimal("0.00000001"))
        )
        sim.step_market()
        last, filled = await rows(c, 2)
        assert last["exec_type"] == "trade" and last["order_status"] == "filled"
        assert last["cum_qty"] == 2 and last["last_qty"] == 2 - part["last_qty"]
        assert last["trade_id"] == part["trade_id"] + 1 and last["exec_id"] != part["exec_id"]
        assert filled["exec_type"] == "filled" and filled["cum_qty"] == 2
        assert filled["avg_price"] == Decimal(29990)
        assert oid not in sim.account(sim.token).open_orders

    simrun(main, **MANUAL, partial_fill_prob=1.0, market_path=path_file(tmp_path, "30000", "29990"))


def test_market_order_and_marketable_limit_fill_as_taker(tmp_path: Path) -> None:
    async def main(sim: Simulator) -> None:
        c = await subscribed(sim)
        await add(c, sim, order_type="market", side="sell", order_qty=0.5)
        kinds = await rows(c, 4)
        assert [r["exec_type"] for r in kinds] == ["pending_new", "new", "trade", "filled"]
        trade = kinds[2]
        assert trade["liquidity_ind"] == "t" and trade["last_price"] == Decimal(30000)
        assert trade["fee_usd_equiv"] == Decimal("15000") * Decimal("0.004")
        assert "limit_price" not in kinds[0]
        await add(c, sim, order_type="limit", side="buy", order_qty=1, limit_price=31000)
        got = await rows(c, 4)
        assert got[2]["last_price"] == Decimal(30000) and got[3]["exec_type"] == "filled"
        # post_only that would take is cancelled, never filled
        await add(
            c, sim, order_type="limit", side="buy", order_qty=1, limit_price=31000, post_only=True
        )
        pend, gone = await rows(c, 2)
        assert pend["exec_type"] == "pending_new" and gone["exec_type"] == "canceled"
        assert gone["reason"] == "Post only order"
        # no_mpp on a limit order: Kraken's recorded refusal (issue 18); fok is accepted
        r = await c.request(
            req(
                sim, "add_order", symbol="BTC/USD", order_type="limit", side="buy", order_qty=1,
                limit_price=100, no_mpp=True,
            )
        )  # fmt: skip
        assert r["error"] == (
            "EGeneral:Invalid arguments:no_mpp order option is only available when "
            "ordertype = market"
        )
        await add(
            c, sim, order_type="limit", side="buy", order_qty=1, limit_price=100,
            time_in_force="fok",
        )  # fmt: skip
        pend, gone = await rows(c, 2)
        assert pend["time_in_force"] == "FOK" and gone["exec_type"] == "canceled"

    simrun(main, **MANUAL, partial_fill_prob=0.0, market_path=path_file(tmp_path, "30000"))


def test_stop_loss_and_take_profit_trigger_from_the_price(tmp_path: Path) -> None:
    async def main(sim: Simulator) -> None:
        c = await subscribed(sim)
        stop = await add(
            c, sim, order_type="stop-loss", side="sell", order_qty=1,
            triggers={"reference": "last", "price": 29900, "price_type": "static"},
        )  # fmt: skip
        full = (await rows(c, 2))[0]
        assert full["triggers"]["status"] == "untriggered" and full["stop_price"] == 29900
        tp = await add(
            c, sim, order_type="take-profit-limit", side="sell", order_qty=1, limit_price=30100,
            triggers={"price": 30050},
        )  # fmt: skip
        await rows(c, 2)
        sim.step_market()  # 29950: nothing
        sim.step_market()  # 29890: the stop-loss sells at the price
        status, trade, filled = await rows(c, 3)
        assert status["exec_type"] == "status" and status["order_id"] == stop
        assert status["triggers"]["status"] == "triggered"
        assert trade["exec_type"] == "trade" and trade["last_price"] == Decimal(29890)
        assert filled["exec_type"] == "filled"
        sim.step_market()  # 30060: the take-profit-limit triggers and rests at 30100
        (status,) = await rows(c, 1)
        assert status["order_id"] == tp and tp in sim.account(sim.token).open_orders
        sim.step_market()  # 30100: it fills as maker at its limit
        trade, filled = await rows(c, 2)
        assert trade["liquidity_ind"] == "m" and trade["last_price"] == Decimal(30100)

    prices = ("30000", "29950", "29890", "30060", "30100")
    simrun(main, **MANUAL, partial_fill_prob=0.0, market_path=path_file(tmp_path, *prices))


def test_cancel_all_cancels_untriggered_orders() -> None:
    async def main(sim: Simulator) -> None:
        c = await subscribed(sim)
        for kind, trig in (("stop-loss", 20000), ("take-profit", 40000)):
            await add(c, sim, order_type=kind, side="sell", order_qty=1, triggers={"price": trig})
            await rows(c, 2)  # request() skips channel frames: read them before the next one
        await add(c, sim, order_type="limit", side="buy", order_qty=1, limit_price=100)
        await rows(c, 2)
        r = await c.request(req(sim, "cancel_all"))
        assert r["result"] == {"count": 3}
        assert {x["exec_type"] for x in await rows(c, 3)} == {"canceled"}

    simrun(main)


def test_gtd_order_expires() -> None:
    async def main(sim: Simulator) -> None:
        from datetime import UTC, datetime, timedelta

        c = await subscribed(sim)
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
        oid = await add(
            c, sim, order_type="limit", side="buy", order_qty=1, limit_price=100,
            time_in_force="gtd", expire_time=soon,
        )  # fmt: skip
        await rows(c, 2)
        (gone,) = await rows(c, 1)  # the engine's housekeeping expires it
        assert gone["exec_type"] == gone["order_status"] == "expired"
        assert gone["order_id"] == oid and oid not in sim.account(sim.token).open_orders

    simrun(main)


def test_cancel_racing_a_fill() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        a, b, d = (acct.place_order(limit_price="29000").order_id for _ in range(3))
        c = await subscribed(sim)
        r = await c.request(req(sim, "batch_cancel", orders=[a, b]))
        assert r["success"] is True and r["result"] == {"count": 0}  # both filled first
        got = await rows(c, 4)
        assert [x["exec_type"] for x in got] == ["trade", "filled"] * 2
        r = await c.request(req(sim, "cancel_order", order_id=[d]))
        assert r["success"] is False and r["error"] == "EOrder:Invalid order"
        assert not acct.open_orders
        acct.place_order(limit_price="29000")
        await rows(c, 2)
        r = await c.request(req(sim, "cancel_all"))
        assert r["result"] == {"count": 0} and not acct.open_orders

    simrun(main, cancel_race_prob=1.0)


def test_market_timer_moves_prices_reproducibly() -> None:
    async def prices(seed: int) -> list[str]:
        async with Simulator(config=SimConfig(market=True, seed=seed)) as sim:
            return [sim.step_market() for _ in range(5)]

    a, b, other = asyncio.run(prices(3)), asyncio.run(prices(3)), asyncio.run(prices(4))
    assert a == b and a != other and len(set(a)) > 1


def test_bad_trigger_orders_are_refused() -> None:
    async def main(sim: Simulator) -> None:
        c = await subscribed(sim)
        for order in (
            {"order_type": "stop-loss", "side": "sell", "order_qty": 1},  # no trigger
            {"order_type": "stop-loss-limit", "side": "sell", "order_qty": 1,
             "triggers": {"price": 1}},  # no limit price
            {"order_type": "limit", "side": "sell", "order_qty": 1, "limit_price": 1,
             "triggers": {"price": 1}},  # a trigger on a plain limit
        ):  # fmt: skip
            r = await c.request(req(sim, "add_order", symbol="BTC/USD", **order))
            assert r["success"] is False, order

    simrun(main)


@pytest.mark.parametrize("bad", ["0", "-1", "abc"])
def test_market_path_file_is_checked(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        Simulator(config=SimConfig(market=True, market_path=path_file(tmp_path, "30000", bad)))


def test_relative_triggers_and_iceberg(tmp_path: Path) -> None:
    async def main(sim: Simulator) -> None:
        c = await subscribed(sim)
        pct = await add(
            c, sim, order_type="stop-loss", side="sell", order_qty=1,
            triggers={"reference": "index", "price": -1, "price_type": "pct"},
        )  # fmt: skip
        quote = await add(
            c, sim, order_type="take-profit", side="sell", order_qty=1,
            triggers={"price": 150, "price_type": "quote"},
        )  # fmt: skip
        orders = sim.account(sim.token).open_orders
        assert orders[pct].trigger_price == Decimal("29700.0")
        assert orders[pct].trigger_reference == "index"
        assert orders[quote].trigger_price == Decimal(30150)
        ok = await c.request(
            req(sim, "add_order", symbol="BTC/USD", order_type="iceberg", side="buy",
                order_qty=1.5, display_qty=0.1, limit_price=100)
        )  # fmt: skip
        assert ok["success"] is True and orders[ok["result"]["order_id"]].order_type == "iceberg"
        bad = await c.request(
            req(sim, "add_order", symbol="BTC/USD", order_type="iceberg", side="buy",
                order_qty=1.5, display_qty=0.01, limit_price=100)
        )  # fmt: skip
        assert bad["success"] is False  # display_qty below 1/15 of order_qty

    simrun(main, **MANUAL, market_path=path_file(tmp_path, "30000"))
