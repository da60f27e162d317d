"""Per-id cancel confirmation, the open-order view across reconnects and sequence gaps, and the
dead man's switch keeper, against the real simulator."""

import asyncio
import logging

import pytest

import krakenwire
from krakenwire import ValidationError
from krakenwire.sim import Simulator


async def settle(client):
    await client.ping()


def view_ids(client):
    return sorted(client.open_orders)


def test_batch_cancel_confirm_per_id_with_userref_and_cl_ord_id(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            a = acct.place_order()
            acct.place_order(order_userref=7)
            acct.place_order(order_userref=7)
            acct.place_order(cl_ord_id="mm-1")
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.batch_cancel(
                    [a.order_id, 7, "OGONE0-XXXXX-XXXXXX"], ["mm-1", "nope"], confirm=2.0
                )
                c = r.confirmation
                assert r.count == 4
                assert c.outcomes == {
                    a.order_id: "cancelled",
                    "7": "cancelled",
                    "OGONE0-XXXXX-XXXXXX": "not_open",
                    "mm-1": "cancelled",
                    "nope": "not_open",
                }
                assert len(c.orders["7"]) == 2 and c.complete
                assert sorted(r.gone) == sorted([a.order_id, "7", "mm-1"])
                assert sorted(r.not_open) == ["OGONE0-XXXXX-XXXXXX", "nope"]
                assert r.unconfirmed == []
            assert acct.open_orders == {}

    run(main)


def test_plain_batch_cancel_carries_no_confirmation(run):
    async def main():
        async with Simulator() as sim:
            ids = [o.order_id for o in sim.account(sim.token).place(2)]
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.batch_cancel(ids)
                assert r.confirmation is None and r.unconfirmed == ids and r.gone == []

    run(main)


def test_unknown_when_no_event_before_the_timeout(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(2)]
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                await settle(client)
                # The sim's subscription is gone: it still cancels but sends no events.
                await client.subscribe_executions(unsubscribe=True)
                r = await client.batch_cancel(ids, confirm=0.2)
                assert r.count == 2
                assert r.confirmation.outcomes == dict.fromkeys(ids, "unknown")
                assert sorted(r.unconfirmed) == sorted(ids)
                assert not r.confirmation.complete
                assert client.open_orders._watchers == {}  # no leaked watchers

    run(main)


def test_cancel_orders_and_cancel_order_confirm(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(120)]
            acct.place_order(order_userref=5)
            acct.place_order(cl_ord_id="one")
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                many = await client.cancel_orders(ids + ["OGONE0-XXXXX-XXXXXX"], confirm=True)
                assert len(many.chunks) == 3
                assert sorted(many.gone) == sorted(ids)
                assert many.not_open == ["OGONE0-XXXXX-XXXXXX"] and many.unconfirmed == []
                r = await client.cancel_order(order_userref=[5], confirm=True)
                assert r.confirmation.outcomes == {"5": "cancelled"}
                r2 = await client.cancel_order(cl_ord_id=["one"], confirm=True)
                assert r2.gone == ["one"]
            assert acct.open_orders == {}

    run(main)


def test_view_consistent_after_reconnect(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(
                sim.url, token=sim.token, backoff_base=0.05
            ) as client:
                r = await client.batch_add(
                    [{"side": "buy", "order_qty": 1, "limit_price": 100 + i} for i in range(6)],
                    symbol="BTC/USD",
                )
                await settle(client)
                assert view_ids(client) == sorted(r.order_ids)
                await sim.drop_connections(None)
                # While the client is away: some cancelled, some placed server-side.
                acct.cancel(r.order_ids[:3])
                acct.place(2)
                acct.place_order(cl_ord_id="while-away", order_userref=0)
                for _ in range(200):
                    if client.stats.reconnects == 1 and client.open_orders.ready.is_set():
                        break
                    await asyncio.sleep(0.02)
                assert client.stats.reconnects == 1
                await settle(client)
                assert view_ids(client) == sorted(acct.open_orders)
                assert client.open_orders.by_cl_ord_id("while-away") is not None
                for oid in r.order_ids[:3]:
                    assert client.open_orders.closed_status(oid) is not None

    run(main)


def test_sequence_gap_resubscribes_and_takes_a_fresh_snapshot(run, caplog):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            snapshots = []
            async with await krakenwire.connect(
                sim.url,
                token=sim.token,
                on_executions=lambda ev: ev.type == "snapshot" and snapshots.append(ev),
            ) as client:
                await settle(client)
                sim.skip_sequence()  # the next update is lost on the wire
                lost = acct.place_order()
                await settle(client)
                assert client.open_orders.get(lost.order_id) is None  # we missed it
                acct.place_order()  # this one reveals the gap
                for _ in range(200):
                    if len(snapshots) == 2 and client.open_orders.ready.is_set():
                        break
                    await asyncio.sleep(0.01)
                await settle(client)
                assert client.open_orders.gaps == 1 and len(snapshots) == 2
                assert view_ids(client) == sorted(acct.open_orders)
                assert client.open_orders.get(lost.order_id) is not None

    with caplog.at_level(logging.WARNING, logger="krakenwire"):
        run(main)
    assert "sequence gap" in caplog.text


def test_keeper_keeps_orders_and_a_stopped_keeper_lets_the_switch_fire(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            acct.place(4)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                keeper = client.keep_cancel_after(1, every=0.3)
                await keeper.wait_armed(2)
                await asyncio.sleep(1.6)  # longer than the timeout: re-arms keep it from firing
                assert len(acct.open_orders) == 4 and keeper.rearms >= 4
                assert keeper.last.trigger_time is not None
                assert await keeper.stop(disarm=False) is None
                assert not keeper.running
                await asyncio.sleep(1.3)  # no re-arm: the switch fires
                assert acct.open_orders == {}
                await settle(client)
                assert len(client.open_orders) == 0

    run(main)


def test_keeper_disarms_on_stop_and_on_close(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            acct.place(2)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                keeper = client.keep_cancel_after(1, every=0.5)
                await keeper.wait_armed(2)
                disarm = await keeper.stop()
                assert disarm.trigger_time is None
                client.keep_cancel_after(1, every=0.5)
                await asyncio.sleep(0.1)
            # closed: the keeper disarmed first, so nothing fires
            await asyncio.sleep(1.3)
            assert len(acct.open_orders) == 2
            assert [e.requested for e in acct.ledger if e.method == "cancel_all_orders_after"][
                -1
            ] == ["0"]

    run(main)


def test_keeper_reports_a_failed_rearm_through_connection_events(run, caplog):
    events = []

    class Recorder:
        @krakenwire.hookimpl
        def krakenwire_connection_event(self, event, context, detail):
            events.append((event, detail))

    async def main():
        async with Simulator() as sim:
            async with await krakenwire.connect(
                sim.url, token=sim.token, plugins=[Recorder()], backoff_base=0.05
            ) as client:
                failures = []
                keeper = client.keep_cancel_after(5, every=0.1, on_failure=failures.append)
                await keeper.wait_armed(2)
                await sim.set_system("maintenance")  # re-arms now fail: EService:Unavailable
                await asyncio.sleep(0.35)
                await sim.set_system("online")
                n = keeper.rearms
                await asyncio.sleep(0.3)
                assert keeper.rearms > n  # recovered
                assert keeper.failures >= 1 and failures
                assert failures[0].error == "EService:Unavailable"
                await keeper.stop()

    with caplog.at_level(logging.WARNING, logger="krakenwire"):
        run(main)
    failed = [d for e, d in events if e == "cancel_after_failed"]
    assert failed and failed[0]["timeout"] == 5 and "EService:Unavailable" in failed[0]["error"]
    assert "re-arming cancel_all_orders_after(5) failed" in caplog.text


def test_keeper_rejects_bad_arguments(run):
    async def main():
        async with Simulator() as sim:
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                for t, every in [(0, 1), (60, 60), (60, 0), (86400, 1), (1.5, 1)]:
                    with pytest.raises(ValidationError):
                        client.keep_cancel_after(t, every)

    run(main)


def test_unified_option_reaches_the_wire_and_spot_refuses_it(run):
    """The simulator is the Spot v2 ws-auth endpoint, which has no ``asset_class``: it answers
    as Kraken does for an unknown field. (The unified shape itself is tested sans-IO.)"""

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            acct.place_order(cl_ord_id="u-1")
            acct.place_order(cl_ord_id="u-2")
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                with pytest.raises(krakenwire.KrakenAPIError) as ei:
                    await client.batch_cancel([], ["u-1", "u-2"], unified=True, confirm=True)
                assert ei.value.error == (
                    "Unsupported field: 'asset_class' for the given msg type: batch cancel"
                )
                assert client.open_orders._watchers == {}
                with pytest.raises(ValidationError):
                    await client.batch_cancel([7, "OX"], unified=True)
            assert len(acct.open_orders) == 2

    run(main)
