"""The real client against the real simulator over loopback sockets, on asyncio and uvloop."""

import asyncio

import pytest

import krakenwire
from krakenwire import (
    AuthError,
    BatchCancelResult,
    CancelOrdersResult,
    ConnectError,
    ConnectionLost,
    InvalidOrder,
    RequestTimeout,
    ValidationError,
)
from krakenwire.sim import SimConfig, Simulator


def test_seed_example_end_to_end(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            acct.place_order(order_userref=1)
            acct.place_order(order_userref=2)
            acct.place_order(order_id="ORDERX-IDXXX-XXXXX3")
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.batch_cancel(orders=["1", "2", "ORDERX-IDXXX-XXXXX3"])
                assert isinstance(r, BatchCancelResult)
                assert r.count == 3 and r.warnings == []
                assert r.time_in.tzinfo is not None and r.time_out >= r.time_in
                assert r.latency_ns > 0
            assert acct.open_orders == {}
            entry = acct.ledger[-1]
            assert entry.method == "batch_cancel" and entry.req_id == r.req_id

    run(main)


def test_lenient_batch_cancel_reports_what_was_not_open(run):
    async def main():
        # Per-id warnings are a simulator switch (Kraken documents warnings only as advisories).
        async with Simulator(config=SimConfig(batch_cancel_warnings=True)) as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(3)]
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.batch_cancel(ids + ["OGONE0-XXXXX-XXXXXX"])
            assert r.count == 3
            assert len(r.warnings) == 1 and "OGONE0-XXXXX-XXXXXX" in r.warnings[0]

    run(main)


def test_strict_batch_cancel_fails_whole_batch(run):
    async def main():
        async with Simulator(config=SimConfig(batch_cancel_mode="strict")) as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(2)]
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                with pytest.raises(InvalidOrder) as ei:
                    await client.batch_cancel(ids + ["OGONE0-XXXXX-XXXXXX"])
            assert ei.value.error == "EOrder:Invalid order"
            assert len(acct.open_orders) == 2

    run(main)


def test_cl_ord_id_and_userref_mixed(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            acct.place_order(cl_ord_id="mm-1")
            acct.place_order(order_userref=7)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.batch_cancel(orders=[7], cl_ord_id=["mm-1"])
            assert r.count == 2 and r.orders == ["7"] and r.cl_ord_id == ["mm-1"]
            assert acct.open_orders == {}

    run(main)


def test_cancel_orders_1000_ids_pipelines_20_chunks(run):
    async def main():
        # Replies are delayed so we can see every chunk in flight before the first reply.
        async with Simulator(config=SimConfig(latency=0.2)) as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(1000)]
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                task = asyncio.ensure_future(client.cancel_orders(ids))
                await asyncio.sleep(0)
                assert client.pending == 20
                res = await task
            assert isinstance(res, CancelOrdersResult)
            assert res.ok and res.count == 1000 and len(res.chunks) == 20
            assert [len(c.ids) for c in res.chunks] == [50] * 20
            assert [i for c in res.chunks for i in c.ids] == ids
            assert acct.open_orders == {}

    run(main)


def test_cancel_orders_balances_and_single_id_uses_cancel_order(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                ids = [o.order_id for o in acct.place(51)]
                res = await client.cancel_orders(ids)
                assert [len(c.ids) for c in res.chunks] == [26, 25] and res.count == 51
                one = [o.order_id for o in acct.place(1)]
                res = await client.cancel_orders(one)
                assert res.count == 1 and acct.ledger[-1].method == "cancel_order"
                with pytest.raises(ValidationError, match="at least one"):
                    await client.cancel_orders([])
                with pytest.raises(ValidationError, match="more than once"):
                    await client.cancel_orders(["A", "B", "A"])

    run(main)


def test_cancel_order_collects_every_reply(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(3)]
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.cancel_order(ids + ["OGONE0-XXXXX-XXXXXX"])
            assert sorted(r.cancelled_ids) == sorted(ids)
            assert r.errors == ["EOrder:Invalid order"]
            assert not r.ok

    run(main)


def test_cancel_all_cancel_after_and_ping(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            acct.place(5)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                assert (await client.cancel_all()).count == 5
                acct.place(4)
                armed = await client.cancel_after(1)
                assert armed.trigger_time > armed.current_time
                pong = await client.ping()
                assert pong.latency_ns > 0
                await asyncio.sleep(1.3)
                assert acct.open_orders == {}  # the dead man's switch really fired
                off = await client.cancel_after(0)
                assert off.trigger_time is None

    run(main)


def test_doc_timestamp_variant_parses(run):
    async def main():
        async with Simulator(config=SimConfig(doc_timestamps=True)) as sim:
            ids = [o.order_id for o in sim.account(sim.token).place(2)]
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.batch_cancel(ids)
            assert not r.time_out_raw.endswith("Z") and len(r.time_out_raw.split(".")[1]) == 7
            assert r.time_out.tzinfo is not None

    run(main)


def test_bad_token_is_an_auth_error_at_connect(run):
    async def main():
        async with Simulator() as sim:
            with pytest.raises(AuthError) as ei:
                await krakenwire.connect(sim.url, token="not-a-token")
            assert ei.value.error == "ESession:Invalid session"
            assert "not-a-token" not in str(ei.value)

    run(main)


def test_bad_input_sends_nothing(run):
    async def main():
        async with Simulator() as sim:
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                before = sim.frames_received
                for orders in (["A"], [f"O{i}" for i in range(51)], ["A", "A"], ["A", ""]):
                    with pytest.raises(ValidationError):
                        await client.batch_cancel(orders)
                await asyncio.sleep(0.05)
                assert sim.frames_received == before
                assert client.pending == 0

    run(main)


def test_timeout_reports_unknown_outcome(run):
    async def main():
        async with Simulator(config=SimConfig(drop_reply_prob=1.0)) as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(2)]
            # drop_reply_prob applies to trading requests; subscribe still gets its ack.
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                with pytest.raises(RequestTimeout) as ei:
                    await client.batch_cancel(ids, timeout=0.2)
                assert ei.value.outcome == "unknown" and ei.value.ids == tuple(ids)
                assert "unknown" in str(ei.value)
                assert client.pending == 0
            assert acct.open_orders == {}  # it did execute: that is why it is "unknown"

    run(main)


def test_connection_lost_fails_every_pending_request_at_once(run):
    async def main():
        async with Simulator(config=SimConfig(close_after=1, latency=0.5)) as sim:
            acct = sim.account(sim.token)
            a = [o.order_id for o in acct.place(2)]
            b = [o.order_id for o in acct.place(2)]
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                results = await asyncio.gather(
                    client.batch_cancel(a, timeout=5),
                    client.batch_cancel(b, timeout=5),
                    return_exceptions=True,
                )
            assert all(isinstance(r, ConnectionLost) for r in results)
            assert {r.ids for r in results} == {tuple(a), tuple(b)}
            assert all(r.outcome == "unknown" and "unknown" in str(r) for r in results)

    run(main)


def test_connect_errors_are_clear(run):
    async def main():
        with pytest.raises(ConnectError, match="cannot connect"):
            await krakenwire.connect("ws://127.0.0.1:1/v2", token="t", timeout=2)
        with pytest.raises(ValidationError, match="unencrypted"):
            await krakenwire.connect("ws://example.com/v2", token="t")
        with pytest.raises(ValidationError, match="token"):
            await krakenwire.connect("ws://127.0.0.1:1/v2")

    run(main)


def test_junk_frames_are_counted_not_fatal(run):
    async def main():
        async with Simulator(config=SimConfig(junk_every=1)) as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                for _ in range(6):
                    ids = [o.order_id for o in acct.place(2)]
                    assert (await client.batch_cancel(ids)).count == 2
                await client.ping()
                s = client.stats
                assert s.malformed + s.unmatched + s.channel >= 3

    run(main)
