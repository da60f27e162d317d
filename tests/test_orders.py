"""Order entry (add_order, batch_add, amend_order, edit_order) against the real simulator."""

import asyncio
from decimal import Decimal

import pytest

import krakenwire
from krakenwire import (
    InsufficientFunds,
    InvalidOrder,
    InvalidPrice,
    OrdersLimitExceeded,
    RateLimitExceeded,
    ValidationError,
)
from krakenwire.sim import SimConfig, Simulator


async def settle(client):
    # The sim answers in order: once the pong is in, every executions update before it is too.
    await client.ping()


def test_add_order_rests_in_book_and_view(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.add_order(
                    symbol="BTC/USD",
                    side="buy",
                    order_qty="0.5",
                    limit_price=Decimal("29000.1"),
                    post_only=True,
                    cl_ord_id="mm-1",
                )
                assert r.order_id and r.cl_ord_id == "mm-1" and r.latency_ns > 0
                await settle(client)
                o = acct.open_orders[r.order_id]
                assert o.limit_price == Decimal("29000.1") and o.order_qty == Decimal("0.5")
                assert o.post_only and o.cl_ord_id == "mm-1"
                view = client.open_orders.by_cl_ord_id("mm-1")
                assert view["order_id"] == r.order_id and view["limit_price"] == Decimal("29000.1")
                r2 = await client.add_order(
                    symbol="BTC/USD", side="sell", order_qty=1, limit_price=31000, order_userref=9
                )
                await settle(client)
                assert [o["order_id"] for o in client.open_orders.by_userref(9)] == [r2.order_id]
                v = await client.add_order(
                    symbol="BTC/USD", side="sell", order_qty=1, limit_price=31000, validate=True
                )
                assert v.order_id == "" and len(acct.open_orders) == 2

    run(main)


def test_market_fills_and_ioc_is_cancelled_never_resting(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            seen = []
            async with await krakenwire.connect(
                sim.url, token=sim.token, on_executions=lambda ev: seen.extend(ev.data or ())
            ) as client:
                m = await client.add_order(
                    symbol="BTC/USD", side="buy", order_type="market", order_qty="0.01"
                )
                i = await client.add_order(
                    symbol="BTC/USD", side="buy", order_qty=1, limit_price=1, time_in_force="ioc"
                )
                await settle(client)
                assert acct.open_orders == {} and len(client.open_orders) == 0
                assert client.open_orders.closed_status(m.order_id) == "filled"
                assert client.open_orders.closed_status(i.order_id) == "canceled"
            kinds = [(x["order_id"], x["exec_type"]) for x in seen if "order_id" in x]
            assert (m.order_id, "filled") in kinds and (i.order_id, "canceled") in kinds

    run(main)


def test_gtd_with_expire_time_and_deadline(run):
    async def main():
        from datetime import UTC, datetime, timedelta

        async with Simulator() as sim:
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                now = datetime.now(UTC)
                r = await client.add_order(
                    symbol="BTC/USD",
                    side="buy",
                    order_qty=1,
                    limit_price=100,
                    time_in_force="gtd",
                    expire_time=now + timedelta(hours=1),
                    deadline=now + timedelta(seconds=5),
                )
                assert r.order_id
                with pytest.raises(krakenwire.DeadlineElapsed) as ei:
                    await client.add_order(
                        symbol="BTC/USD",
                        side="buy",
                        order_qty=1,
                        limit_price=100,
                        deadline=now - timedelta(seconds=1),
                    )
                assert ei.value.error == "EService:Deadline elapsed"

    run(main)


def test_batch_add_places_all_in_one_request(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                orders = [
                    {
                        "side": "buy",
                        "order_qty": "0.1",
                        "limit_price": 29000 - i,
                        "cl_ord_id": f"q-{i}",
                    }
                    for i in range(15)
                ]
                r = await client.batch_add(orders, symbol="BTC/USD")
                assert r.ok and len(r.orders) == 15 and r.error is None
                assert [o.cl_ord_id for o in r.orders] == [f"q-{i}" for i in range(15)]
                await settle(client)
                assert set(acct.open_orders) == set(r.order_ids) == set(client.open_orders)
            assert [e.method for e in acct.ledger] == ["batch_add"]

    run(main)


def test_batch_add_engine_error_rejects_only_that_order(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            acct.funds = Decimal(1000)  # notional: 10 * 90 fits, the next 10 * 90 does not
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                orders = [client.order(side="buy", order_qty=10, limit_price=90) for _ in range(2)]
                r = await client.batch_add(orders, symbol="BTC/USD")
                assert not r.ok and r.error == "EOrder:Insufficient funds"
                assert r.orders[0].ok and r.orders[1].error == "EOrder:Insufficient funds"
                assert list(acct.open_orders) == [r.orders[0].order_id]
                with pytest.raises(InsufficientFunds) as ei:
                    await client.add_order(
                        symbol="BTC/USD", side="buy", order_qty=1, limit_price=200
                    )
                assert ei.value.error == "EOrder:Insufficient funds"

    run(main)


def test_batch_add_validation_error_rejects_whole_batch(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            acct.place_order(cl_ord_id="taken")
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                orders = [
                    {"side": "buy", "order_qty": 1, "limit_price": 10},
                    {"side": "buy", "order_qty": 1, "limit_price": 10, "cl_ord_id": "taken"},
                ]
                with pytest.raises(krakenwire.InvalidArguments):
                    await client.batch_add(orders, symbol="BTC/USD")
            assert len(acct.open_orders) == 1

    run(main)


def test_orders_limit_and_invalid_price_and_rate_limit(run):
    async def main():
        cfg = SimConfig(max_open_orders=3, rate_limit=4, rate_decay=0.01)
        async with Simulator(config=cfg) as sim:
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                for i in range(3):
                    await client.add_order(
                        symbol="BTC/USD", side="buy", order_qty=1, limit_price=100 + i
                    )
                with pytest.raises(OrdersLimitExceeded) as ei:
                    await client.add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=1)
                assert ei.value.error == "EOrder:Orders limit exceeded"
                # another pair has its own cap (and its own rate counter)
                r = await client.add_order(symbol="ETH/USD", side="buy", order_qty=1, limit_price=1)
                with pytest.raises(InvalidPrice) as ei2:
                    await _raw_invalid_price(client, "ETH/USD")
                assert ei2.value.error == "EOrder:Invalid price"
                # ETH/USD's counter: +1 for the add; an amend of a <5 s old order costs 1 + 3
                with pytest.raises(RateLimitExceeded) as ei3:
                    await client.amend_order(r.order_id, limit_price=2)
                assert ei3.value.error == "EOrder:Rate limit exceeded"
                # cancels are still accepted past the limit (kraken-ws-v2.md section 6)
                assert (await client.cancel_order([r.order_id])).ok

    run(main)


def test_amend_keeps_ids_and_edit_returns_a_new_id(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.add_order(
                    symbol="BTC/USD", side="buy", order_qty=1, limit_price=100, cl_ord_id="amend-me"
                )
                a = await client.amend_order(
                    cl_ord_id="amend-me", limit_price="101.5", order_qty="2"
                )
                assert a.amend_id and a.order_id == r.order_id and a.cl_ord_id == "amend-me"
                await settle(client)
                o = acct.open_orders[r.order_id]
                assert o.limit_price == Decimal("101.5") and o.order_qty == 2
                view = client.open_orders.get(r.order_id)
                assert view["limit_price"] == Decimal("101.5") and view["exec_type"] == "amended"
                e = await client.edit_order(r.order_id, symbol="BTC/USD", limit_price=102)
                assert e.original_order_id == r.order_id and e.order_id != r.order_id
                await settle(client)
                assert list(acct.open_orders) == [e.order_id]
                assert list(client.open_orders) == [e.order_id]
                assert client.open_orders.closed_status(r.order_id) == "canceled"
                with pytest.raises(InvalidOrder) as ei:
                    await client.amend_order(r.order_id, limit_price=1)
                assert ei.value.error == "EOrder:Unknown order"

    run(main)


async def _raw_invalid_price(client, symbol):
    """A price <= 0 never passes the client's validation, so build a valid request, break its
    price after validation and send it raw to see the sim's answer through the client's
    decoder."""
    from krakenwire import protocol

    call = protocol.add_order(symbol=symbol, side="buy", order_qty=1, limit_price=1)
    call.params.limit_price = Decimal(-1)
    await client._conns.call(call, client.timeout)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cl_ord_id": "a", "order_userref": 1}, "cl_ord_id"),
        ({"order_qty": 0}, "order_qty"),
        ({"order_qty": "-1"}, "order_qty"),
        ({"limit_price": None}, "limit_price"),
        ({"limit_price": 0.1 + 0.2}, "limit_price"),
        ({"order_qty": float("nan")}, "order_qty"),
        ({"order_qty": True}, "order_qty"),
        ({"side": "short"}, "side"),
        ({"time_in_force": "fok", "order_type": "market", "limit_price": None}, "time_in_force"),
        ({"time_in_force": "gtd"}, "expire_time"),
        ({"symbol": "BTCUSD"}, "symbol"),
        ({"cl_ord_id": "x" * 19}, "cl_ord_id"),
        ({"order_type": "market"}, "limit_price"),
    ],
)
def test_bad_order_input_raises_before_sending(kwargs, field):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                args = {"symbol": "BTC/USD", "side": "buy", "order_qty": 1, "limit_price": 10}
                args.update(kwargs)
                with pytest.raises(ValidationError) as ei:
                    await client.add_order(**args)
                assert ei.value.field == field
                assert client.pending == 0
            assert acct.ledger == []

    asyncio.run(main())


def test_bad_batch_add_input_raises_before_sending(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                one = {"side": "buy", "order_qty": 1, "limit_price": 10}
                for orders, field in [
                    ([one], "orders"),
                    ([one] * 16, "orders"),
                    ([one, {**one, "symbol": "ETH/USD"}], "symbol"),
                    ([one, {**one, "limit_price": 0.30000000000000004}], "limit_price"),
                    ([{**one, "cl_ord_id": "d"}, {**one, "cl_ord_id": "d"}], "cl_ord_id"),
                ]:
                    with pytest.raises(ValidationError) as ei:
                        await client.batch_add(orders, symbol="BTC/USD")
                    assert ei.value.field == field
                with pytest.raises(ValidationError) as ei:
                    await client.amend_order("OX", cl_ord_id="y", limit_price=1)
                with pytest.raises(ValidationError):
                    await client.amend_order("OX")
            assert acct.ledger == []

    run(main)


def test_exact_floats_are_accepted_as_their_short_decimal(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.add_order(
                    symbol="BTC/USD", side="buy", order_qty=0.1, limit_price=29999.99
                )
            o = acct.open_orders[r.order_id]
            assert o.order_qty == Decimal("0.1") and o.limit_price == Decimal("29999.99")

    run(main)
