"""Core v3 against the simulator over real loopback sockets: each test is one "what broke" of
the two-socket layer (hedging, userref cancels, failover) that v2 decided outside the core."""

import asyncio
import random
from decimal import Decimal

import pytest

import krakenwire
from krakenwire import BatchCancelResult, CancelOrderResult, ValidationError, hookimpl
from krakenwire._connections import Connections
from krakenwire.sim import SimConfig, Simulator


async def _connect(sim, **kw):
    kw.setdefault("autoload_plugins", False)
    return await krakenwire.connect(sim.url, token=sim.token, **kw)


async def _until(pred, secs=5.0):
    for _ in range(int(secs / 0.005)):
        if pred():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


def _cancelled_by(acct, req_ids):
    return [i for e in acct.ledger if e.req_id in req_ids for i in e.cancelled]


def test_hedged_cancel_reports_the_true_count_under_one_sided_jitter(run):
    """v2: 40 of 40 hedged cancels reported the twin's "already gone" count 0 (or an
    InvalidOrder) for cancels that executed. Now: the true count, checked against the
    simulator's ledger, in every one of 200 trials with 0-20 ms of jitter on one socket."""

    async def main():
        rng = random.Random(17)
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await _connect(sim, standby=True, hedge=True) as client:
                ids = client.connection_ids
                for trial in range(200):
                    slow = ids["primary"] if trial % 2 else ids["standby"]
                    sim.set_connection_latency(slow, 0.0, rng.uniform(0, 0.02))
                    orders = [o.order_id for o in acct.place(5)]
                    before = len(acct.ledger)
                    r = await client.batch_cancel(orders, timeout=5)
                    mine = [e for e in acct.ledger[before:] if e.method == "batch_cancel"]
                    true = sum(len(e.cancelled) for e in mine)
                    assert r.count == true == 5, (trial, r, [e.cancelled for e in mine])
                    assert r.hedged and not set(orders) & set(acct.open_orders)
                    sim.set_connection_latency(slow, 0.0, 0.0)

    run(main)


def test_userref_cancel_reports_an_order_the_view_had_not_seen(run):
    """v2: 3 cancelled by the engine, 2 reported (the client guessed the reply count from
    its view, which had not yet seen the third order)."""

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            for _ in range(2):
                acct.place_order(order_userref=7)
            async with await _connect(sim) as client:
                await _until(lambda: len(client.open_orders.by_userref(7)) == 2)
                acct.place_order(order_userref=7)  # the stream has not shown it yet
                r = await client.cancel_order(order_userref=[7], timeout=5)
                assert isinstance(r, CancelOrderResult) and r.exact
                assert len(r.cancelled) == 3 and not acct.find_ref(7)

    run(main)


def test_userref_cancel_without_a_subscription_reports_every_order(run):
    """v2 with subscribe=False: 1 of 3 reported (one reply expected per userref)."""

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            for _ in range(3):
                acct.place_order(order_userref=9)
            async with await _connect(sim, subscribe=False) as client:
                r = await client.cancel_order(order_userref=[9], timeout=5)
                assert len(r.cancelled) == 3 and r.exact is False  # complete as far as known
                assert not acct.find_ref(9)

    run(main)


def test_userref_cancel_racing_a_fill_completes_without_waiting_its_timeout(run):
    """v2: 4 of 6 such cancels waited their whole timeout and ended RequestTimeout (the
    filled order was counted as a reply still to come)."""

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            a = acct.place_order(order_userref=5)
            acct.place_order(order_userref=5)
            async with await _connect(sim) as client:
                await _until(lambda: len(client.open_orders.by_userref(5)) == 2)
                acct.fill(a, a.order_qty, Decimal(30000), Decimal(0), True, 1)  # engine side
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                r = await client.cancel_order(order_userref=[5], timeout=3)
                assert loop.time() - t0 < 1.0  # answered, not timed out
                assert len(r.cancelled) == 1 and a.order_id not in r.cancelled

    run(main)


def test_userref_cancel_in_flight_at_failover_ends_when_the_standby_answers(run):
    """v2: it waited 4 s and ended RequestTimeout though the standby answered in 50 ms."""

    async def main():
        async with Simulator(config=SimConfig(latency=0.05)) as sim:
            acct = sim.account(sim.token)
            for _ in range(3):
                acct.place_order(order_userref=11)
            async with await _connect(sim, standby=True) as client:
                await _until(lambda: len(client.open_orders.by_userref(11)) == 3)
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                fut = asyncio.ensure_future(client.cancel_order(order_userref=[11], timeout=4))
                await asyncio.sleep(0.01)
                await sim.kill_connection(client.connection_ids["primary"])
                try:
                    r = await fut
                    assert r.failed_over
                except krakenwire.ConnectionLost:
                    pass  # the dead copy had executed and the stream cannot say: unknown
                assert loop.time() - t0 < 2.0
                assert not acct.find_ref(11)

    run(main)


def test_re_sends_from_on_done_during_a_timeout_sweep_keep_one_sweeper(run, monkeypatch):
    """v2: every re-send made from inside on_done during a timeout sweep added a permanent
    100 Hz sweeper timer (5,929 sweeps/s after 60 of them)."""
    sweeps = []
    real = Connections._sweep

    def counting(self):
        sweeps.append(asyncio.get_running_loop().time())
        real(self)

    monkeypatch.setattr(Connections, "_sweep", counting)

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(2)]
            async with await _connect(sim) as client:
                sim.blackhole = True  # nothing is answered: every cancel times out
                left = [60]
                done = asyncio.Event()

                def again(_):
                    left[0] -= 1
                    if left[0] > 0:
                        client.batch_cancel_cb(ids, on_done=again, timeout=0.02)
                    else:
                        done.set()

                client.batch_cancel_cb(ids, on_done=again, timeout=0.02)
                await asyncio.wait_for(done.wait(), 10)
                await _until(lambda: client.pending == 0)
                sweeps.clear()
                await asyncio.sleep(0.3)
                assert len(sweeps) <= 1, len(sweeps)  # idle: no timer left running
                sim.blackhole = False

    run(main)


def test_hedge_flags_are_checked_and_the_callback_form_hedges_too(run):
    """v2: cancel_order(hedge="no") hedged; batch_cancel_cb ignored connect(hedge=True)."""

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(4)]
            async with await _connect(sim, standby=True, hedge=True) as client:
                for bad in ("no", 0, 1.0):
                    with pytest.raises(ValidationError):
                        await client.cancel_order(ids[:1], hedge=bad)
                    with pytest.raises(ValidationError):
                        await client.batch_cancel(ids[:2], hedge=bad)
                got = asyncio.get_running_loop().create_future()
                before = len(acct.ledger)
                client.batch_cancel_cb(ids[:2], on_done=got.set_result)
                r = await asyncio.wait_for(got, 5)
                assert isinstance(r, BatchCancelResult) and r.count == 2 and r.hedged
                await _until(lambda: client.pending == 0)
                sent = [e for e in acct.ledger[before:] if e.method == "batch_cancel"]
                assert len(sent) == 2  # one copy per socket

    run(main)


def test_an_async_on_done_is_refused_before_sending(run):
    """v2: an ``async def`` on_done was accepted and never ran."""

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(2)]
            async with await _connect(sim) as client:

                async def on_done(result):
                    pass

                with pytest.raises(ValidationError, match="on_done"):
                    client.batch_cancel_cb(ids, on_done=on_done)
                with pytest.raises(ValidationError, match="on_done"):
                    client.cancel_orders_cb(ids, on_done=on_done)
                assert client.pending == 0 and len(acct.open_orders) == 2

    run(main)


def test_one_request_id_space_pairs_every_intent_with_its_own_outcome(run):
    """v2: each socket numbered its requests from 1 under one audit run: intents were paired
    with another request's outcome. Now every copy on either socket has its own req_id and
    exactly one outcome."""
    intents, outcomes = [], []

    class Recorder:
        @hookimpl
        def krakenwire_request_sent(self, request):
            intents.append(request.req_id)

        @hookimpl
        def krakenwire_audit(self, request, outcome):
            outcomes.append(request.req_id)

    async def main():
        async with Simulator(config=SimConfig(latency=0.01)) as sim:
            acct = sim.account(sim.token)
            async with await _connect(sim, standby=True, plugins=[Recorder()]) as client:
                for i in range(30):
                    ids = [o.order_id for o in acct.place(2)]
                    await client.batch_cancel(ids, hedge=i % 2 == 0)
                ids = [o.order_id for o in acct.place(8)]
                futs = [
                    asyncio.ensure_future(client.batch_cancel(ids[j : j + 2])) for j in (0, 2, 4)
                ]
                await asyncio.sleep(0.002)
                await sim.kill_connection(client.connection_ids["primary"])
                await asyncio.gather(*futs, return_exceptions=True)
                await _until(lambda: client.pending == 0)
                await asyncio.sleep(0.05)
        assert len(intents) == len(set(intents))  # one req_id space across both sockets
        assert sorted(outcomes) == sorted(intents)  # each intent, its own outcome, once

    intents.clear()
    outcomes.clear()
    run(main)
