"""Every add_order type and parameter, through the client, against the real simulator over
loopback. Prices come from a replayed path stepped by hand (``sim.step_market``), so triggers
fire on a known step and nothing depends on timing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import krakenwire
import krakenwire.protocol
from krakenwire import KrakenAPIError, ValidationError
from krakenwire.sim import SimConfig, Simulator

MANUAL = {"market": True, "market_interval": 3600.0, "seed": 7, "partial_fill_prob": 0.0}


def path_file(tmp_path: Path, *prices: str) -> str:
    p = tmp_path / "path.txt"
    p.write_text("\n".join(prices) + "\n")
    return str(p)


Main = Callable[[Simulator, krakenwire.Client, list[dict[str, Any]]], Awaitable[None]]


def run_with(main: Main, **cfg: Any) -> None:
    """Run ``main(sim, client, rows)``: ``rows`` collects every executions row."""

    async def go() -> None:
        async with Simulator(config=SimConfig(**cfg)) as sim:
            rows: list[dict[str, Any]] = []
            async with await krakenwire.connect(
                sim.url, token=sim.token, on_executions=lambda ev: rows.extend(ev.data or ())
            ) as client:
                await main(sim, client, rows)

    asyncio.run(go())


async def step(sim: Simulator, client: krakenwire.Client) -> None:
    sim.step_market()
    await client.ping()  # the sim answers in order: every update before the pong is in


def of(rows: list[dict[str, Any]], oid: str) -> list[str]:
    return [r["exec_type"] for r in rows if r.get("order_id") == oid]


def test_iceberg_rests_with_its_display_qty(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        r = await client.add_order(
            symbol="BTC/USD", side="buy", order_type="iceberg", order_qty=3,
            limit_price=29000, display_qty=Decimal("0.2"), post_only=True,
        )  # fmt: skip
        o = sim.account(sim.token).open_orders[r.order_id]
        assert o.order_type == "iceberg" and o.display_qty == Decimal("0.2") and o.post_only
        await client.amend_order(r.order_id, display_qty=Decimal("0.5"))
        assert o.display_qty == Decimal("0.5")
        with pytest.raises(KrakenAPIError) as ei:  # the sim checks 1/15 too
            await client._conns.call(_raw_add(display_qty="0.1", order_qty="3"), 5.0)
        assert ei.value.error == "EGeneral:Invalid arguments"

    run_with(main, **MANUAL, market_path=path_file(tmp_path, "30000"))


def _raw_add(**over: Any) -> Any:
    """An add_order Call with fields set after validation (to see the sim's own checks)."""
    call = krakenwire.protocol.add_order(
        symbol="BTC/USD", side="buy", order_type="iceberg", order_qty=3, limit_price=29000,
        display_qty=1,
    )  # fmt: skip
    for k, v in over.items():
        setattr(call.params, k, Decimal(v))
    return call


def test_stop_loss_limit_and_take_profit_trigger_from_the_price(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        stop = await client.add_order(
            symbol="BTC/USD", side="sell", order_type="stop-loss-limit", order_qty=1,
            triggers={"price": 29900}, limit_price=29800,
        )  # fmt: skip
        tp = await client.add_order(
            symbol="BTC/USD", side="sell", order_type="take-profit", order_qty=1,
            triggers={"price": 1, "price_type": "pct", "reference": "index"},  # 30300
        )  # fmt: skip
        await step(sim, client)  # 29850: the stop-loss-limit triggers and sells at 29850
        assert of(rows, stop.order_id)[-3:] == ["status", "trade", "filled"]
        assert of(rows, tp.order_id) == ["pending_new", "new"]
        await step(sim, client)  # 30350: the take-profit (1 % above 30000) sells at the price
        trade = [r for r in rows if r.get("order_id") == tp.order_id and "last_price" in r]
        assert trade[0]["last_price"] == Decimal(30350)

    run_with(main, **MANUAL, market_path=path_file(tmp_path, "30000", "29850", "30350"))


def test_take_profit_limit_and_stop_loss_quote_offset(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        tpl = await client.add_order(
            symbol="BTC/USD", side="buy", order_type="take-profit-limit", order_qty=1,
            triggers={"price": -100, "price_type": "quote"}, limit_price=29950,  # at 29900
        )  # fmt: skip
        sl = await client.add_order(
            symbol="BTC/USD", side="buy", order_type="stop-loss", order_qty=1,
            triggers={"price": 200, "price_type": "quote"},  # at 30200
        )  # fmt: skip
        acct = sim.account(sim.token)
        assert acct.open_orders[tpl.order_id].trigger_price == Decimal(29900)
        assert acct.open_orders[sl.order_id].trigger_price == Decimal(30200)
        await step(sim, client)  # 29890: the take-profit-limit buy triggers, fills at 29890
        assert of(rows, tpl.order_id)[-3:] == ["status", "trade", "filled"]
        await step(sim, client)  # 30250: the buy stop triggers and buys at the price
        assert of(rows, sl.order_id)[-3:] == ["status", "trade", "filled"]

    run_with(main, **MANUAL, market_path=path_file(tmp_path, "30000", "29890", "30250"))


def test_trailing_stop_follows_the_peak_then_fires(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        r = await client.add_order(
            symbol="BTC/USD", side="sell", order_type="trailing-stop", order_qty=1,
            triggers={"price": 100, "price_type": "quote"},
        )  # fmt: skip
        o = sim.account(sim.token).open_orders[r.order_id]
        assert o.trigger_price == Decimal(29900)
        await step(sim, client)  # 30500: the peak rises, the trigger follows to 30400
        assert o.trigger_price == Decimal(30400) and o.peak == Decimal(30500)
        await step(sim, client)  # 30450: above the trigger, nothing
        assert of(rows, r.order_id) == ["pending_new", "new"]
        await step(sim, client)  # 30390: 110 off the peak: it sells at the price
        assert of(rows, r.order_id)[-3:] == ["status", "trade", "filled"]
        trade = [x for x in rows if x.get("order_id") == r.order_id and "last_price" in x]
        assert trade[0]["last_price"] == Decimal(30390)

    prices = ("30000", "30500", "30450", "30390")
    run_with(main, **MANUAL, market_path=path_file(tmp_path, *prices))


def test_trailing_stop_limit_pct_with_a_relative_limit(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        r = await client.add_order(
            symbol="BTC/USD", side="buy", order_type="trailing-stop-limit", order_qty=1,
            triggers={"price": 1, "price_type": "pct"},  # 1 % above the trough
            limit_price=50, limit_price_type="quote",  # the limit: trigger + 50
        )  # fmt: skip
        o = sim.account(sim.token).open_orders[r.order_id]
        assert o.trigger_price == Decimal(30300) and o.limit_price is None
        await step(sim, client)  # 29000: the trough falls, the trigger to 29290
        assert o.trigger_price == Decimal(29290)
        await step(sim, client)  # 29300: triggered; limit 29340 >= price: buys at 29300
        assert o.limit_price == Decimal(29340)
        assert of(rows, r.order_id)[-3:] == ["status", "trade", "filled"]

    prices = ("30000", "29000", "29300")
    run_with(main, **MANUAL, market_path=path_file(tmp_path, *prices))


def test_settle_position_and_cash_order_qty_fill_at_the_market(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        s = await client.add_order(
            symbol="BTC/USD", side="sell", order_type="settle-position", order_qty=1, margin=True
        )
        c = await client.add_order(
            symbol="BTC/USD", side="buy", order_type="market", cash_order_qty=3000
        )
        await client.ping()
        assert of(rows, s.order_id)[-2:] == ["trade", "filled"]
        trade = [x for x in rows if x.get("order_id") == c.order_id and "last_qty" in x]
        assert trade[0]["last_qty"] == Decimal("0.1") and trade[0]["cost"] == Decimal(3000)

    run_with(main, **MANUAL, market_path=path_file(tmp_path, "30000"))


def test_conditional_close_is_placed_when_the_parent_fills(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        acct = sim.account(sim.token)
        r = await client.add_order(
            symbol="BTC/USD", side="buy", order_type="limit", order_qty=2, limit_price=29500,
            order_userref=77,
            conditional={"order_type": "stop-loss-limit", "trigger_price": -1,
                         "trigger_price_type": "pct", "limit_price": 29000},
        )  # fmt: skip
        assert len(acct.open_orders) == 1
        await step(sim, client)  # 29400: the parent fills at 29500, the close is placed
        (close,) = acct.open_orders.values()
        assert close.parent_id == r.order_id and close.side == "sell"
        assert close.order_qty == 2 and close.order_type == "stop-loss-limit"
        assert close.trigger_price == Decimal(29205) and close.limit_price == Decimal(29000)
        assert close.order_userref == 77
        await step(sim, client)  # 29100: the close triggers and sells at 29100
        assert of(rows, close.order_id)[-3:] == ["status", "trade", "filled"]

    prices = ("30000", "29400", "29100")
    run_with(main, **MANUAL, market_path=path_file(tmp_path, *prices))


def test_fok_gtd_effective_time_and_flags_reach_the_engine(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        acct = sim.account(sim.token)
        fok = await client.add_order(
            symbol="BTC/USD", side="buy", order_qty=1, limit_price=100, time_in_force="fok"
        )
        later = datetime.now(UTC) + timedelta(hours=1)
        sched = await client.add_order(
            symbol="BTC/USD", side="buy", order_qty=1, limit_price=31000, effective_time=later,
            stp_type="cancel_both", fee_preference="base", reduce_only=True,
            sender_sub_id="desk-7", time_in_force="gtd", expire_time=later + timedelta(hours=1),
        )  # fmt: skip
        await client.ping()
        assert of(rows, fok.order_id)[-1] == "canceled"  # nothing to fill it: killed
        o = acct.open_orders[sched.order_id]  # crossing, but not trading before its time
        assert o.stp_type == "cancel_both" and o.fee_asset == "base" and o.reduce_only
        assert o.effective_at is not None and o.expire_at is not None
        await step(sim, client)
        assert sched.order_id in acct.open_orders

    run_with(main, **MANUAL, market_path=path_file(tmp_path, "30000", "30000"))


def test_no_mpp_is_deprecated_and_only_for_market_orders(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        r = await client.add_order(
            symbol="BTC/USD", side="buy", order_type="market", order_qty=1, no_mpp=True
        )
        assert r.warnings == ["no_mpp is deprecated"]
        call = krakenwire.protocol.add_order(
            symbol="BTC/USD", side="buy", order_qty=1, limit_price=1
        )
        call.params.no_mpp = True  # past the client's own check: the venue's answer
        with pytest.raises(KrakenAPIError) as ei:
            await client._conns.call(call, 5.0)
        assert ei.value.error == (
            "EGeneral:Invalid arguments:no_mpp order option is only available when "
            "ordertype = market"
        )

    run_with(main, **MANUAL, market_path=path_file(tmp_path, "30000"))


def test_validate_and_deadline(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        v = await client.add_order(
            symbol="BTC/USD", side="sell", order_type="trailing-stop", order_qty=1,
            triggers={"price": 2, "price_type": "pct"}, validate=True,
        )  # fmt: skip
        assert v.order_id == "" and sim.account(sim.token).open_orders == {}
        ok = await client.add_order(
            symbol="BTC/USD", side="buy", order_qty=1, limit_price=100,
            deadline=datetime.now(UTC) + timedelta(seconds=30),
        )  # fmt: skip
        assert ok.order_id
        with pytest.raises(ValidationError) as ei:
            await client.add_order(
                symbol="BTC/USD", side="buy", order_qty=1, limit_price=100,
                deadline=datetime.now(UTC) + timedelta(seconds=90),
            )  # fmt: skip
        assert ei.value.field == "deadline"
        call = krakenwire.protocol.add_order(
            symbol="BTC/USD", side="buy", order_qty=1, limit_price=100
        )
        far = datetime.now(UTC) + timedelta(seconds=90)
        call.params.deadline = far.isoformat().replace("+00:00", "Z")
        with pytest.raises(KrakenAPIError) as ei2:  # the sim refuses it too
            await client._conns.call(call, 5.0)
        assert ei2.value.error == "EGeneral:Invalid arguments"

    run_with(main, **MANUAL, market_path=path_file(tmp_path, "30000"))


def test_amend_trigger_price_and_edit_with_the_new_fields(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        acct = sim.account(sim.token)
        stop = await client.add_order(
            symbol="BTC/USD", side="sell", order_type="stop-loss", order_qty=1,
            triggers={"price": 29000},
        )  # fmt: skip
        await client.amend_order(stop.order_id, trigger_price=28500, order_qty=2)
        o = acct.open_orders[stop.order_id]
        assert o.trigger_price == Decimal(28500) and o.order_qty == 2
        trail = await client.add_order(
            symbol="BTC/USD", side="sell", order_type="trailing-stop-limit", order_qty=1,
            triggers={"price": 100, "price_type": "quote"}, limit_price=-10,
            limit_price_type="quote",
        )  # fmt: skip
        await client.amend_order(
            trail.order_id, trigger_price=200, trigger_price_type="quote", limit_price=-20,
            limit_price_type="quote",
        )  # fmt: skip
        t = acct.open_orders[trail.order_id]
        assert t.trail == 200 and t.limit_offset == -20
        lim = await client.add_order(
            symbol="BTC/USD", side="buy", order_qty=1, limit_price=100, order_userref=5
        )
        e = await client.edit_order(
            lim.order_id, symbol="BTC/USD", order_qty=2, limit_price=101, reduce_only=True,
            fee_preference="quote", order_userref=6,
        )  # fmt: skip
        new = acct.open_orders[e.order_id]
        assert new.order_qty == 2 and new.limit_price == 101 and new.reduce_only
        assert new.fee_asset == "quote" and new.order_userref == 6
        with pytest.raises(KrakenAPIError):  # edit_order is not for triggered orders
            await client.edit_order(stop.order_id, symbol="BTC/USD", triggers={"price": 1})

    run_with(main, **MANUAL, market_path=path_file(tmp_path, "30000"))


def test_batch_add_mixes_order_types(tmp_path: Path) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        b = await client.batch_add(
            [
                client.order(side="buy", order_type="iceberg", order_qty=3, limit_price=29000,
                             display_qty=1),
                {"side": "sell", "order_type": "trailing-stop", "order_qty": 1,
                 "triggers": {"price": 1, "price_type": "pct"}},
                {"side": "buy", "order_type": "market", "order_qty": "0.1",
                 "conditional": {"order_type": "take-profit", "trigger_price": 500,
                                 "trigger_price_type": "quote"}},
            ],
            symbol="BTC/USD",
        )  # fmt: skip
        assert b.ok and len(b.order_ids) == 3
        await client.ping()
        types = sorted(o.order_type for o in sim.account(sim.token).open_orders.values())
        assert types == ["iceberg", "take-profit", "trailing-stop"]

    run_with(main, **MANUAL, market_path=path_file(tmp_path, "30000"))


@pytest.mark.parametrize(
    ("error", "field", "value"),
    [
        ("Limit_price field must be a number_float", "limit_price", "100"),
        ("Cash_order_qty field must be a number_float", "cash_order_qty", "100"),
        ("Order_qty field must be a number_float", "order_qty", "1"),
    ],
)
def test_sim_speaks_the_recorded_number_errors(error: str, field: str, value: str) -> None:
    async def main(sim: Simulator, client: krakenwire.Client, rows: list[Any]) -> None:
        kind = "market" if field == "cash_order_qty" else "limit"
        call = krakenwire.protocol.add_order(
            symbol="BTC/USD", side="buy", order_type=kind, order_qty=1,
            limit_price=100 if kind == "limit" else None,
        )  # fmt: skip
        setattr(call.params, field, value)  # a string where Kraken wants a JSON number
        with pytest.raises(KrakenAPIError) as ei:
            await client._conns.call(call, 5.0)
        assert ei.value.error == error

    run_with(main)
