"""The zero-hop callback forms: the outcome arrives inside picows' frame callback (no task),
exactly once, with the awaitable form's validation, risk check, audit and outcome rules."""

import asyncio

import pytest

import krakenwire
from krakenwire import (
    BatchCancelResult,
    ConnectionLost,
    InvalidOrder,
    RequestTimeout,
    RiskRejected,
    ValidationError,
)
from krakenwire.hookspecs import Veto, hookimpl
from krakenwire.sim import SimConfig, Simulator


async def _connect(sim, **kw):
    kw.setdefault("autoload_plugins", False)
    return await krakenwire.connect(sim.url, token=sim.token, **kw)


def test_result_is_delivered_inside_the_frame_callback(run):
    async def main():
        async with Simulator() as sim:
            ids = [o.order_id for o in sim.account(sim.token).place(3)]
            async with await _connect(sim) as client:
                got = []
                done = asyncio.Event()

                def on_done(out):
                    got.append((out, asyncio.current_task()))
                    done.set()

                rid = client.batch_cancel_cb(ids, on_done=on_done)
                await asyncio.wait_for(done.wait(), 5)
                await asyncio.sleep(0.02)
                assert len(got) == 1
                out, task = got[0]
                assert isinstance(out, BatchCancelResult) and out.count == 3
                assert out.req_id == rid
                assert task is None  # no task: called from picows' on_ws_frame
                assert client.pending == 0

    run(main)


def test_errors_and_unknown_outcomes_arrive_as_values_once(run):
    async def main():
        got = []
        async with Simulator(config=SimConfig(batch_cancel_mode="strict")) as sim:
            async with await _connect(sim) as client:
                client.batch_cancel_cb(["OZZZZZ-ZZZZZ-ZZZZZZ", "OYY-1"], on_done=got.append)
                await client.ping()
                assert len(got) == 1 and isinstance(got[0], InvalidOrder)
        async with Simulator(config=SimConfig(drop_reply_prob=1.0)) as sim:
            async with await _connect(sim) as client:
                client.batch_cancel_cb(["OA", "OB"], on_done=got.append, timeout=0.05)
                await asyncio.sleep(0.3)
                assert len(got) == 2 and isinstance(got[1], RequestTimeout)
                client.batch_cancel_cb(["OC", "OD"], on_done=got.append)
                await sim.drop_connections(None)
                await asyncio.sleep(0.1)
                assert len(got) == 3 and isinstance(got[2], ConnectionLost)

    run(main)


def test_nothing_sent_raises_at_the_call_and_never_calls_back(run):
    class No:
        @hookimpl
        def krakenwire_check_request(self, request):
            return Veto("no")

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await _connect(sim, plugins=[No()]) as client:
                got = []
                with pytest.raises(ValidationError):
                    client.batch_cancel_cb(["OA"], on_done=got.append)
                with pytest.raises(ValidationError):
                    client.batch_cancel_cb(["OA", "OB"], on_done=None)
                with pytest.raises(ValidationError):
                    client.batch_cancel_cb(["OA", "OB"], on_done=got.append, timeout=-1)
                with pytest.raises(RiskRejected):
                    client.batch_cancel_cb(["OA", "OB"], on_done=got.append)
                with pytest.raises(RiskRejected):
                    client.cancel_orders_cb([f"O{i}" for i in range(120)], on_done=got.append)
                await client.ping()
                assert got == [] and client.pending == 0 and acct.ledger == []

    run(main)


def test_cancel_orders_cb_mixes_order_ids_and_cl_ord_ids(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            oids = [o.order_id for o in acct.place(70)]
            cls = [acct.place_order(cl_ord_id=f"mm-{i}").cl_ord_id for i in range(40)]
            async with await _connect(sim) as client:
                got = []
                done = asyncio.Event()
                handle = client.cancel_orders_cb(
                    oids, cl_ord_id=cls, on_done=lambda r: (got.append(r), done.set())
                )
                assert isinstance(handle, int)  # one request for the caller: 3 chunks
                await asyncio.wait_for(done.wait(), 5)
                (r,) = got
                assert r.ok and r.count == 110 and len(acct.open_orders) == 0
                assert [len(c.ids) for c in r.chunks] == [37, 37, 36]

    run(main)


def test_a_raising_callback_is_counted_and_the_connection_carries_on(run, caplog):
    async def main():
        async with Simulator() as sim:
            async with await _connect(sim) as client:

                def boom(_):
                    raise RuntimeError("user bug")

                client.batch_cancel_cb(["OA", "OB"], on_done=boom)
                pong = await client.ping()
                assert pong.latency_ns > 0 and client.stats.callback_errors == 1

    run(main)
