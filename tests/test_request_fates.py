"""Core v2 against the real simulator: each reproduction of a lost fate gives the right outcome.

Every test here failed on the client whose request life was split between the protocol and
the connection; see ``tests/protocol/test_request_life.py`` for the same rules sans-IO.
"""

import asyncio
import math

import pytest

import krakenwire
from krakenwire import Abandoned, OutcomeUnknown, ValidationError
from krakenwire.hookspecs import hookimpl
from krakenwire.sim import SimConfig, Simulator


async def _connect(sim, **kw):
    kw.setdefault("autoload_plugins", False)
    return await krakenwire.connect(sim.url, token=sim.token, **kw)


def test_cancel_by_userref_collects_every_order_it_names(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            seven = [acct.place_order(order_userref=7).order_id for _ in range(3)]
            eight = [acct.place_order(order_userref=8).order_id for _ in range(2)]
            async with await _connect(sim) as client:
                r = await client.cancel_order(order_userref=[7], timeout=5)
                assert sorted(r.cancelled_ids) == sorted(seven) and r.ok
                r2 = await client.cancel_order(order_userref=[99, 8], timeout=5)
                assert sorted(r2.cancelled_ids) == sorted(eight)
                assert r2.ok is False and r2.errors == ["EOrder:Invalid order"]
                assert client.stats.unmatched == 0 and client.pending == 0

    run(main)


def test_callers_that_give_up_leave_nothing_pending_and_are_audited(run):
    outcomes: list = []

    class Auditor:
        @hookimpl
        def krakenwire_audit(self, request, outcome):
            if request.method == "batch_cancel":
                outcomes.append(type(outcome))

    async def main():
        async with Simulator(config=SimConfig(drop_reply_prob=0.5, seed=3)) as sim:
            async with await _connect(sim, plugins=[Auditor()]) as client:
                given_up = 0
                for i in range(200):
                    try:
                        await asyncio.wait_for(
                            client.batch_cancel([f"OX{i}-A", f"OX{i}-B"], timeout=5), 0.05
                        )
                    except TimeoutError:
                        given_up += 1
                assert given_up > 20  # the lost replies
                assert client.pending == 0  # freed at once, not swept later
                await asyncio.sleep(0.01)  # audits run after the caller resumed
                assert len(outcomes) == 200
                assert outcomes.count(Abandoned) == given_up

    outcomes.clear()
    run(main)


class Sneaky(str):
    pass


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": math.nan},
        {"timeout": math.inf},
        {"timeout": "1"},
        {"timeout": -5},
        {"timeout": 0},
        {"orders": [Sneaky("OAAAAA-AAAAA-AAAAAA"), "OBBBBB-BBBBB-BBBBBB"]},
        {"orders": ["\ud800", "OBBBBB-BBBBB-BBBBBB"]},
        {"confirm": "yes"},
        {"confirm": math.nan},
        {"unified": "no"},
    ],
)
def test_bad_input_is_refused_before_anything_is_registered_or_sent(run, kwargs):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await _connect(sim) as client:
                kw = {"orders": ["OAAAAA-AAAAA-AAAAAA", "OBBBBB-BBBBB-BBBBBB"], **kwargs}
                orders = kw.pop("orders")
                with pytest.raises(ValidationError):
                    await client.batch_cancel(orders, **kw)
                assert client.pending == 0
                await client.ping()  # the connection is fine
                assert [e.method for e in acct.ledger] == []  # nothing reached the sim

    run(main)


def test_reconcile_refuses_a_single_id_string(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            for ref in (1, 2, 7):
                acct.place_order(order_userref=ref)
            async with await _connect(sim) as client:
                with pytest.raises(ValidationError) as ei:
                    await client.reconcile("OQ1Z2X-7ABCD-EFGHIJ", recancel=True)
                assert ei.value.field == "ids"
                assert len(acct.open_orders) == 3 and acct.ledger == []

    run(main)


def test_connect_names_every_option():
    with pytest.raises(TypeError, match="timout"):
        krakenwire.connect("ws://127.0.0.1:1/v2", token="t", timout=5)  # type: ignore[call-arg]


def test_connect_refuses_bad_options_before_connecting(run):
    async def main():
        for kw in (
            {"timeout": math.nan},
            {"liveness_timeout": -1},
            {"reconnect": "yes"},
            {"url": "ws://127.0.0.1:99999/v2"},
            {"url": "ws://[::1"},
        ):
            url = kw.pop("url", "ws://127.0.0.1:1/v2")
            with pytest.raises(ValidationError):
                await krakenwire.connect(url, token="t", **kw)

    run(main)


def test_a_call_while_reconnecting_was_not_sent(run):
    async def main():
        async with Simulator() as sim:
            async with await _connect(sim, backoff_base=5.0, backoff_cap=5.0) as client:
                await sim.drop_connections(None)
                await asyncio.sleep(0.05)
                with pytest.raises(krakenwire.NotConnected) as ei:
                    await client.batch_cancel(["OAAAAA-AAAAA-AAAAAA", "OBBBBB-BBBBB-BBBBBB"])
                assert isinstance(ei.value, krakenwire.NotExecuted)
                assert not isinstance(ei.value, OutcomeUnknown)

    run(main)


def test_open_orders_are_complete_when_connect_returns(run):
    async def main():
        async with Simulator() as sim:
            sim.account(sim.token).place(5)
            async with await _connect(sim) as client:
                assert len(client.open_orders) == 5

    run(main)


def test_cancel_orders_takes_cl_ord_ids_mixed_with_order_ids(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            oids = [o.order_id for o in acct.place(30)]
            cls = [acct.place_order(cl_ord_id=f"q-{i}").cl_ord_id for i in range(60)]
            async with await _connect(sim) as client:
                r = await client.cancel_orders(oids, cl_ord_id=cls, confirm=2.0)
                assert r.ok and r.count == 90 and len(r.chunks) == 2
                assert sorted(r.gone) == sorted(oids + cls)
                one = acct.place_order(cl_ord_id="last-one").cl_ord_id
                r1 = await client.cancel_orders(cl_ord_id=[one])  # one identifier: cancel_order
                assert r1.ok and r1.count == 1

    run(main)
