"""A warm standby: the primary dies with cancels in flight and none is reported unknown, none
executes twice, no order entry is re-sent; hedged cancels; one view fed by both streams."""

import asyncio
import random

import pytest

import krakenwire
from krakenwire import (
    BatchCancelResult,
    CancelOrderResult,
    ConnectionLost,
    OutcomeUnknown,
    ValidationError,
)
from krakenwire.hookspecs import hookimpl
from krakenwire.sim import SimConfig, Simulator


async def _standby(sim, **kw):
    kw.setdefault("autoload_plugins", False)
    return await krakenwire.connect(sim.url, token=sim.token, standby=True, **kw)


async def _until(pred, secs=5.0):
    for _ in range(int(secs / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_two_sockets_one_account_one_view(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(6)]
            changes = []
            async with await _standby(sim, on_state=changes.append) as client:
                assert len(sim.connection_ids()) == 2
                roles = client.connection_ids
                assert set(roles) == {"primary", "standby"}
                assert set(roles.values()) == set(sim.connection_ids())
                assert {c.connection for c in changes if c.state == "connected"} == {
                    "primary",
                    "standby",
                }
                assert len(client.open_orders) == 6
                r = await client.batch_cancel(ids[:3], confirm=2.0)
                assert r.count == 3 and sorted(r.gone) == sorted(ids[:3])
                assert len(client.open_orders) == 3  # both streams applied, nothing reopened

    run(main)


def test_primary_death_fails_cancels_over_and_never_resends_order_entry(run):
    async def main():
        async with Simulator(config=SimConfig(latency=0.05)) as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(128)]
            changes = []
            async with await _standby(sim, on_state=changes.append) as client:
                primary = client.connection_ids["primary"]
                cancels = [
                    asyncio.ensure_future(client.batch_cancel(ids[2 * i : 2 * i + 2]))
                    for i in range(64)
                ]
                entry = asyncio.ensure_future(
                    client.add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=1)
                )
                await asyncio.sleep(0.01)  # all in flight, none answered (50 ms latency)
                await sim.kill_connection(primary)
                outs = await asyncio.gather(*cancels, return_exceptions=True)
                assert all(isinstance(o, BatchCancelResult) for o in outs), outs
                assert all(o.failed_over for o in outs)
                # The first copies executed before their socket died (their replies were still
                # behind the latency), so the re-sends found the orders gone: the reply it
                # finally got says count 0, and every order is gone, cancelled once.
                assert not set(ids) & set(acct.open_orders)
                with pytest.raises(ConnectionLost):
                    await entry
                entry = None
                adds = [e for e in acct.ledger if e.method == "add_order"]
                assert len(adds) <= 1  # never re-sent
                cancelled = [i for e in acct.ledger for i in e.cancelled]
                assert sorted(cancelled) == sorted(ids)  # each cancelled exactly once
                assert any(
                    c.reason == "standby promoted to primary" and c.connection == "primary"
                    for c in changes
                )
                # A new standby is built in the background.
                await _until(lambda: len(sim.connection_ids()) == 2)
                await _until(lambda: None not in client.connection_ids.values())
                assert client.connection_ids["primary"] != primary
                r = await client.cancel_all()
                assert r.count == len(acct.ledger[-1].cancelled) and not r.failed_over

    run(main)


def test_cancel_order_partly_answered_keeps_its_replies_across_the_failover(run):
    async def main():
        async with Simulator(config=SimConfig(latency=0.05)) as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(3)]
            async with await _standby(sim) as client:
                fut = asyncio.ensure_future(client.cancel_order(ids))
                await asyncio.sleep(0.01)
                await sim.kill_connection(client.connection_ids["primary"])
                r = await fut
                assert isinstance(r, CancelOrderResult) and r.failed_over
                assert sorted(r.cancelled_ids) == sorted(ids) or r.errors
                assert len(acct.open_orders) == 0

    run(main)


def test_hedged_cancel_goes_out_twice_and_settles_once(run):
    audited = []

    class Auditor:
        @hookimpl
        def krakenwire_audit(self, request, outcome):
            if request.method == "batch_cancel":
                audited.append(type(outcome).__name__)

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(4)]
            async with await _standby(sim, hedge=True, plugins=[Auditor()]) as client:
                r = await client.batch_cancel(ids[:2])
                r2 = await client.batch_cancel(ids[2:], hedge=False)
                await asyncio.sleep(0.05)
                sent = [e for e in acct.ledger if e.method == "batch_cancel"]
                assert len(sent) == 3  # the hedged one twice, the plain one once
                assert r.count + r2.count >= 3 and len(acct.open_orders) == 0
                assert audited == ["BatchCancelResult"] * 3  # the absorbed copy is audited

    audited.clear()
    run(main)


def test_hedged_cancels_survive_a_slow_socket_and_a_dead_one(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(20)]
            async with await _standby(sim, hedge=True) as client:
                sim.set_connection_latency(client.connection_ids["primary"], 0.5)
                r = await asyncio.wait_for(client.batch_cancel(ids[:2]), 0.4)  # the standby won
                assert r.count in (0, 2)
                await sim.kill_connection(client.connection_ids["standby"])
                r = await client.batch_cancel(ids[2:4], timeout=2)
                assert isinstance(r, BatchCancelResult)

    run(main)


def test_hedge_needs_a_standby():
    with pytest.raises(ValidationError):
        asyncio.run(krakenwire.connect("ws://127.0.0.1:1/v2", token="t", hedge=True))


def test_soak_kills_the_primary_at_random_points_of_10000_cancels(run):
    async def main():
        rng = random.Random(7)
        async with Simulator(config=SimConfig(latency=0.002, seed=7)) as sim:
            acct = sim.account(sim.token)
            async with await _standby(sim, backoff_base=0.01, backoff_cap=0.05) as client:
                done = unknown = failed_over = kills = 0
                while done < 10_000:
                    ids = [o.order_id for o in acct.place(100)]
                    calls = [
                        asyncio.ensure_future(client.batch_cancel(ids[i : i + 2], timeout=5))
                        for i in range(0, 100, 2)
                    ]
                    if rng.random() < 0.3 and None not in client.connection_ids.values():
                        await asyncio.sleep(rng.uniform(0, 0.003))
                        await sim.kill_connection(client.connection_ids["primary"])
                        kills += 1
                    outs = await asyncio.gather(*calls, return_exceptions=True)
                    for o in outs:
                        if isinstance(o, OutcomeUnknown):
                            unknown += 1
                        else:
                            assert isinstance(o, BatchCancelResult), o
                            failed_over += o.failed_over
                    done += 100
                    assert len(acct.open_orders) == 0
                    await _until(lambda: len(sim.connection_ids()) == 2, 10)
                    await _until(lambda: None not in client.connection_ids.values(), 10)
                assert kills > 10 and failed_over > 0 and unknown == 0
                cancelled = [i for e in acct.ledger for i in e.cancelled]
                assert len(cancelled) == len(set(cancelled)) == 10_000  # none twice
                await _until(lambda: client.pending == 0)  # a reconnect's subscribe may pend

    run(main)


def test_when_both_sockets_die_the_first_one_back_serves(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await _standby(sim, backoff_base=0.01, backoff_cap=0.05) as client:
                for _ in range(3):
                    ids = [o.order_id for o in acct.place(2)]
                    await sim.drop_connections(None)
                    await asyncio.sleep(0.1)  # both drops noticed, the reconnects under way
                    await _until(lambda: client.state == "connected" and client.is_open)
                    r = await client.batch_cancel(ids)
                    assert r.count == 2
                    await _until(lambda: len(sim.connection_ids()) == 2)

    run(main)
