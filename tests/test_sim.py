"""The simulator over real loopback sockets, driven by a bare picows client (tests/_rawclient)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
import uvloop

import krakenwire
from krakenwire.sim import SimConfig, Simulator
from tests._rawclient import RawClient, connect

TS6 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
TS7 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")
OID = re.compile(r"^[A-Z0-9]{6}-[A-Z0-9]{5}-[A-Z0-9]{6}$")


def simrun(main: Callable[[Simulator], Awaitable[None]], **kw: Any) -> None:
    async def go() -> None:
        async with Simulator(**kw) as sim:
            await main(sim)

    asyncio.run(go())


async def subscribed(sim: Simulator, token: str | None = None) -> tuple[RawClient, Any]:
    c = await connect(sim.url)
    assert (await c.recv())["channel"] == "status"
    c.send(
        {
            "method": "subscribe",
            "params": {"channel": "executions", "token": token or sim.token},
            "req_id": 1,
        }
    )
    ack = await c.recv()
    assert ack["success"] is True, ack
    snap = await c.recv()
    assert snap["type"] == "snapshot"
    return c, snap


def req(method: str, sim: Simulator, req_id: int = 7, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": {**params, "token": sim.token}, "req_id": req_id}


def test_refuses_non_loopback() -> None:
    with pytest.raises(ValueError):
        Simulator(host="0.0.0.0")
    with pytest.raises(ValueError):
        Simulator(host="example.com")


def test_status_ping_and_wrong_path() -> None:
    async def main(sim: Simulator) -> None:
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/v2", sim.url)
        c = await connect(sim.url)
        status = await c.recv()
        assert status["channel"] == "status" and status["type"] == "update"
        data = status["data"][0]
        assert data["system"] == "online" and data["api_version"] == "v2"
        assert data["connection_id"] >= 2**63 and data["connection_id"] < 2**64
        assert data["upcoming_maintenance"] == [] and data["emergency"] == []
        pong = await c.request({"method": "ping", "req_id": 101})
        assert set(pong) == {"method", "req_id", "time_in", "time_out"}
        assert pong["method"] == "pong" and pong["req_id"] == 101
        assert TS6.match(pong["time_in"]) and TS6.match(pong["time_out"])
        c.close()
        # Any path is served: a client that appends /v2 to the URL still connects.
        for url in (sim.base_url, sim.url + "/v2", sim.url.replace("/v2", "/nope")):
            other = await connect(url)
            assert (await other.recv())["channel"] == "status"
            other.close()

    simrun(main)


def test_strict_path_refuses_other_paths() -> None:
    async def main(sim: Simulator) -> None:
        (await connect(sim.url)).close()
        with pytest.raises(Exception):  # noqa: B017 - picows raises its handshake error
            await connect(sim.url.replace("/v2", "/nope"))

    simrun(main, config=SimConfig(strict_path=True))


def test_subscribe_snapshot_sequence_and_place() -> None:
    async def main(sim: Simulator) -> None:
        c = await connect(sim.url)
        await c.recv()
        c.send(
            {
                "method": "subscribe",
                "params": {"channel": "executions", "token": sim.token},
                "req_id": 5,
            }
        )
        ack = await c.recv()
        assert ack["method"] == "subscribe" and ack["req_id"] == 5 and ack["success"] is True
        assert ack["result"] == {
            "channel": "executions",
            "maxratecount": 180,
            "snap_orders": True,
            "snap_trades": False,
        }
        snap = await c.recv()
        assert snap["channel"] == "executions" and snap["type"] == "snapshot"
        assert len(snap["data"]) == 3
        row = snap["data"][0]
        for key in (
            "order_id",
            "symbol",
            "side",
            "order_type",
            "order_qty",
            "limit_price",
            "order_status",
            "exec_type",
            "timestamp",
            "order_userref",
            "cum_qty",
            "time_in_force",
        ):
            assert key in row
        assert OID.match(row["order_id"]) and isinstance(row["order_qty"], Decimal)
        assert row["order_userref"] == 0
        acct = sim.account(sim.token)
        assert set(acct.open_orders) == {r["order_id"] for r in snap["data"]}
        placed = acct.place(2, symbol="ETH/USD")
        upd = await c.recv()
        assert upd["type"] == "update" and upd["sequence"] == snap["sequence"] + 1
        ids = [o.order_id for o in placed]
        assert [r["order_id"] for r in upd["data"]] == ids + ids
        assert [r["exec_type"] for r in upd["data"]] == ["pending_new"] * 2 + ["new"] * 2
        acct.place_order("OAAAAA-BBBBB-CCCCCC", cl_ord_id="mm-1")
        upd2 = await c.recv()
        assert upd2["sequence"] == upd["sequence"] + 1
        assert upd2["data"][0]["cl_ord_id"] == "mm-1"
        assert upd2["data"][0]["time_in_force"] == "GTC"
        dup = await c.request(req("subscribe", sim, channel="executions"))
        assert dup["success"] is False
        un = await c.request(req("unsubscribe", sim, req_id=9, channel="executions"))
        assert un["success"] is True and un["method"] == "unsubscribe" and un["req_id"] == 9
        again = await c.request(req("unsubscribe", sim, channel="executions"))
        assert again["error"] == "Subscription Not Found"

    simrun(main, orders=3)


def test_seed_example_batch_cancel() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        a = acct.place_order(order_userref=1)
        b = acct.place_order(order_userref=2)
        x = acct.place_order("ORDERX-IDXXX-XXXXX3")
        keep = acct.place_order(order_userref=3)
        c, _ = await subscribed(sim)
        c.send(
            {
                "method": "batch_cancel",
                "params": {"orders": ["1", "2", "ORDERX-IDXXX-XXXXX3"], "token": sim.token},
                "req_id": 1234567890,
            }
        )
        reply = await c.recv()
        assert reply["method"] == "batch_cancel" and reply["req_id"] == 1234567890
        assert reply["success"] is True and reply["result"] == {"count": 3}
        assert TS6.match(reply["time_in"]) and TS6.match(reply["time_out"])
        upd = await c.recv()  # executions after the reply
        assert upd["type"] == "update"
        assert {r["order_id"] for r in upd["data"]} == {a.order_id, b.order_id, x.order_id}
        ev = upd["data"][0]
        assert ev["exec_type"] == "canceled" and ev["order_status"] == "canceled"
        assert ev["reason"] == "User requested" and "order_userref" in ev
        assert set(acct.open_orders) == {keep.order_id}
        entry = acct.ledger[-1]
        assert entry.method == "batch_cancel" and entry.req_id == 1234567890
        assert entry.requested == ["1", "2", "ORDERX-IDXXX-XXXXX3"]
        assert sorted(entry.cancelled) == sorted([a.order_id, b.order_id, x.order_id])
        assert entry.error is None and entry.reply_sent

    simrun(main)


def test_batch_cancel_lenient_warnings_and_userref_fanout() -> None:
    """With batch_cancel_warnings on: one warning per id that was not open."""

    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        o1 = acct.place_order(order_userref=42)
        acct.place_order(order_userref=42)
        o3 = acct.place_order(cl_ord_id="cl-9")
        c, _ = await subscribed(sim)
        r = await c.request(
            req("batch_cancel", sim, orders=["42", "OGONE0-XXXXX-XXXXXX", "77"], cl_ord_id=["cl-9"])
        )
        assert r["success"] is True and r["result"]["count"] == 3
        assert len(r["result"]["warnings"]) == 2
        assert any("OGONE0-XXXXX-XXXXXX" in w for w in r["result"]["warnings"])
        assert not acct.open_orders
        r2 = await c.request(req("batch_cancel", sim, orders=[o1.order_id, o3.order_id]))
        assert r2["success"] is True and r2["result"]["count"] == 0
        assert len(r2["result"]["warnings"]) == 2

    simrun(main, config=SimConfig(batch_cancel_warnings=True))


def test_batch_cancel_strict_and_size_limits() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        ids = list(acct.open_orders)
        c, _ = await subscribed(sim)
        r = await c.request(req("batch_cancel", sim, orders=[ids[0], "ONOPE0-XXXXX-XXXXXX"]))
        assert r["success"] is False and r["error"] == "EOrder:Invalid order"
        assert "result" not in r and len(acct.open_orders) == 60
        assert acct.ledger[-1].error == "EOrder:Invalid order" and not acct.ledger[-1].cancelled
        for orders in ([ids[0]], ids[:51], []):
            bad = await c.request(req("batch_cancel", sim, orders=orders))
            assert bad["error"] == "EGeneral:Invalid arguments", len(orders)
        mixed = await c.request(req("batch_cancel", sim, orders=ids[:49], cl_ord_id=["a", "b"]))
        assert mixed["error"] == "EGeneral:Invalid arguments"
        ok = await c.request(req("batch_cancel", sim, orders=ids[:50]))
        assert ok["success"] is True and ok["result"] == {"count": 50}

    simrun(main, orders=60, config=SimConfig(batch_cancel_mode="strict"))


def test_cancel_order_replies_per_id() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        a = acct.place_order(cl_ord_id="x1")
        b = acct.place_order()
        acct.place_order(order_userref=5)
        acct.place_order(order_userref=5)
        c, _ = await connect(sim.url), None
        await c.recv()
        c.send(
            req(
                "cancel_order",
                sim,
                req_id=3,
                order_id=[a.order_id, "OGONE0-XXXXX-XXXXXX", b.order_id],
            )
        )
        replies = [await c.recv() for _ in range(3)]
        assert all(r["req_id"] == 3 and r["method"] == "cancel_order" for r in replies)
        assert replies[0]["result"] == {"order_id": a.order_id, "cl_ord_id": "x1"}
        assert replies[1]["success"] is False and replies[1]["error"] == "EOrder:Invalid order"
        assert replies[2]["result"] == {"order_id": b.order_id}
        c.send(req("cancel_order", sim, req_id=4, order_userref=[5]))
        refs = [await c.recv() for _ in range(2)]
        assert all(r["success"] and r["req_id"] == 4 for r in refs)
        gone = await c.request(req("cancel_order", sim, order_userref=[5]))
        assert gone["error"] == "EOrder:Invalid order"
        both = await c.request(req("cancel_order", sim, order_id=["A"], cl_ord_id=["B"]))
        assert both["error"] == "EGeneral:Invalid arguments"
        none = await c.request(req("cancel_order", sim))
        assert none["error"] == "EGeneral:Invalid arguments"

    simrun(main)


def test_cancel_all_and_cancel_after_fires() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        c, _ = await subscribed(sim)
        r = await c.request(req("cancel_all", sim))
        assert r["result"] == {"count": 4} and r["success"] is True
        upd = await c.recv()
        assert len(upd["data"]) == 4 and not acct.open_orders
        acct.place(3)
        await c.recv()
        bad = await c.request(req("cancel_all_orders_after", sim, timeout=86400))
        assert bad["error"] == "EGeneral:Invalid arguments"
        off = await c.request(req("cancel_all_orders_after", sim, timeout=0))
        assert off["result"]["triggerTime"] == "0"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", off["result"]["currentTime"])
        on = await c.request(req("cancel_all_orders_after", sim, timeout=1))
        assert set(on["result"]) == {"currentTime", "triggerTime"}
        assert on["result"]["triggerTime"] > on["result"]["currentTime"]
        fired = await c.recv(timeout=3)
        assert len(fired["data"]) == 3 and fired["data"][0]["exec_type"] == "canceled"
        assert not acct.open_orders

    simrun(main, orders=4)


def test_add_order_and_batch_add() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        c, _ = await subscribed(sim)
        order = {"order_type": "limit", "side": "buy", "order_qty": 1.25, "limit_price": 37500.1}
        r = await c.request(req("add_order", sim, symbol="BTC/USD", cl_ord_id="q-1", **order))
        assert r["success"] is True and OID.match(r["result"]["order_id"])
        assert r["result"]["cl_ord_id"] == "q-1"
        pending, new = await c.recv(), await c.recv()
        assert pending["data"][0]["exec_type"] == "pending_new"
        assert new["data"][0]["exec_type"] == "new"
        assert pending["data"][0]["order_qty"] == Decimal("1.25")
        assert "order_qty" not in new["data"][0]  # Kraken's new update is sparse
        assert acct.open_orders[r["result"]["order_id"]].limit_price == Decimal("37500.1")
        both = await c.request(
            req("add_order", sim, symbol="BTC/USD", cl_ord_id="q-2", order_userref=3, **order)
        )
        assert both["error"] == "EGeneral:Invalid arguments"
        unk = await c.request(req("add_order", sim, symbol="BTC/USD", leverage=2, **order))
        assert unk["error"] == "Unsupported field: 'leverage' for the given msg type: add order"
        typ = await c.request(
            req(
                "add_order",
                sim,
                symbol="BTC/USD",
                order_type="limit",
                side="buy",
                order_qty="lots",
                limit_price=1,
            )
        )
        # Kraken's recorded answer to a number sent as a string (kraken-ws-v2.md §9).
        assert typ["error"] == "Order_qty field must be a number_float"
        rows = [dict(order, order_userref=i) for i in range(3)]
        b = await c.request(req("batch_add", sim, symbol="ETH/USD", orders=rows))
        assert b["success"] is True and [x["order_userref"] for x in b["result"]] == [0, 1, 2]
        one = await c.request(req("batch_add", sim, symbol="ETH/USD", orders=rows[:1]))
        assert one["error"] == "EGeneral:Invalid arguments"

    simrun(main)


def test_bad_and_expired_tokens_and_invalidation() -> None:
    async def main(sim: Simulator) -> None:
        c = await connect(sim.url)
        await c.recv()
        c.send({"method": "subscribe", "params": {"channel": "executions", "token": "nope"}})
        r = await c.recv()
        assert {k: r[k] for k in ("channel", "error", "method", "status", "success")} == {
            "channel": "executions",
            "error": "ESession:Invalid session",
            "method": "subscribe",
            "status": "error",
            "success": False,
        }
        t = await c.request({"method": "cancel_all", "params": {"token": "nope"}, "req_id": 8})
        assert t == {
            "method": "cancel_all",
            "req_id": 8,
            "success": False,
            "error": "ESession:Invalid session",
            "time_in": t["time_in"],
            "time_out": t["time_out"],
        }
        # A token past its ttl still works while bound to a live subscription.
        bound = sim.mint_token(next(iter(sim.api_keys)))
        unbound = sim.mint_token(next(iter(sim.api_keys)))
        assert bound in sim.tokens
        sub, _ = await subscribed(sim, bound)
        await asyncio.sleep(0.35)
        assert (await sub.request(req("cancel_all", sim) | {"params": {"token": bound}}))["success"]
        late = await c.request({"method": "cancel_all", "params": {"token": unbound}})
        assert late["error"] == "ESession:Invalid session"
        sim.invalidate_tokens()
        dead = await sub.request({"method": "cancel_all", "params": {"token": bound}})
        assert dead["error"] == "ESession:Invalid session"
        assert sim.tokens == []

    simrun(main, config=SimConfig(token_ttl=0.3))


def test_system_states() -> None:
    async def main(sim: Simulator) -> None:
        c, _ = await subscribed(sim)
        order = {
            "order_type": "limit",
            "side": "buy",
            "order_qty": 1,
            "limit_price": 10,
            "symbol": "BTC/USD",
        }
        await sim.set_system("maintenance")
        st = await c.recv()
        assert st["channel"] == "status" and st["data"][0]["system"] == "maintenance"
        r = await c.request(req("cancel_all", sim))
        assert r["error"] == "EService:Unavailable"
        await sim.set_system("cancel_only")
        await c.recv()
        r = await c.request(req("add_order", sim, **order))
        assert r["error"] == "EService:Market in cancel_only mode"
        r = await c.request(req("cancel_all", sim))
        assert r["success"] is True and r["result"]["count"] == 2
        await c.recv()
        await sim.set_system("post_only")
        await c.recv()
        r = await c.request(req("add_order", sim, **order))
        assert r["error"] == "EService:Market in post_only mode"
        r = await c.request(req("add_order", sim, post_only=True, **order))
        assert r["success"] is True

    simrun(main, orders=2)


def test_junk_input_never_crashes() -> None:
    async def main(sim: Simulator) -> None:
        c = await connect(sim.url)
        await c.recv()
        c.send_raw(b"\xff\xfe not json")
        first = await c.recv()
        assert set(first) == {"error", "success", "time_in", "time_out"}
        assert first["error"] == "EGeneral:Invalid arguments" and first["success"] is False
        for junk in (
            "[]",
            "42",
            '"x"',
            "{}",
            '{"method": 5, "req_id": 3}',
            '{"method": "ping", "req_id": "abc"}',
            '{"method": "cancel_all"}',
            '{"method": "cancel_all", "params": [], "req_id": 4}',
            '{"method": "batch_cancel", "params": {"orders": "x", "token": "t"}}',
            '{"method": "cancel_all", "params": {"token": 1}, "req_id": 6}',
        ):
            c.send_raw(junk)
        replies = [await c.recv() for _ in range(10)]
        assert all(
            r["success"] is False and r["error"] == "EGeneral:Invalid arguments" for r in replies
        ), replies
        assert "method" not in replies[0] and replies[4]["req_id"] == 3
        assert replies[7] == {
            "method": "cancel_all",
            "req_id": 4,
            "success": False,
            "error": "EGeneral:Invalid arguments",
            "time_in": replies[7]["time_in"],
            "time_out": replies[7]["time_out"],
        }
        unk = await c.request({"method": "frobnicate", "req_id": 11})
        assert unk["method"] == "frobnicate" and unk["req_id"] == 11 and unk["success"] is False
        pong = await c.request({"method": "ping", "req_id": 12})
        assert pong["method"] == "pong"
        assert sim.frames_received >= 13

    simrun(main)


def test_doc_timestamps() -> None:
    async def main(sim: Simulator) -> None:
        c, _ = await subscribed(sim)
        r = await c.request(req("cancel_all", sim))
        assert TS6.match(r["time_in"]) and TS7.match(r["time_out"])

    simrun(main, config=SimConfig(doc_timestamps=True))


def test_drop_reply_executes_without_reply() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        c, _ = await subscribed(sim)
        c.send(req("cancel_all", sim, req_id=77))
        upd = await c.recv()  # the executions update arrives, the reply never does
        assert upd["channel"] == "executions" and len(upd["data"]) == 3
        assert not acct.open_orders
        assert acct.ledger[-1].reply_sent is False and acct.ledger[-1].req_id == 77
        with pytest.raises(TimeoutError):
            await c.recv(timeout=0.2)

    simrun(main, orders=3, config=SimConfig(drop_reply_prob=1.0, seed=1))


def test_close_after_drops_connection_after_nth_request() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        ids = list(acct.open_orders)
        c = await connect(sim.url)
        await c.recv()
        first = await c.request(req("cancel_order", sim, order_id=[ids[0]]))
        assert first["success"] is True
        c.send(req("batch_cancel", sim, req_id=2, orders=ids[1:3]))
        await asyncio.wait_for(c.disconnected.wait(), 2)
        assert c.frames.empty()
        assert not acct.open_orders and acct.ledger[-1].reply_sent is False

    simrun(main, orders=3, config=SimConfig(close_after=2))


def test_latency_keeps_order() -> None:
    async def main(sim: Simulator) -> None:
        c, _ = await subscribed(sim)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for i in range(20):
            c.send({"method": "ping", "req_id": i})
        got = [(await c.recv())["req_id"] for _ in range(20)]
        assert got == list(range(20))
        assert loop.time() - t0 >= 0.05

    simrun(main, config=SimConfig(latency=0.05, latency_jitter=0.02, seed=3))


def test_junk_every_and_heartbeat() -> None:
    async def main(sim: Simulator) -> None:
        c, _ = await subscribed(sim)
        c.send({"method": "ping", "req_id": 1})
        raws = [await c.recv_raw() for _ in range(2)]
        assert b"pong" in raws[0]
        assert raws[1] == b"this is not json {"  # the 2nd frame (ping) triggers junk
        hb = await c.recv(heartbeats=True, timeout=1)
        while hb != {"channel": "heartbeat"}:
            hb = await c.recv(heartbeats=True, timeout=1)

    simrun(main, config=SimConfig(junk_every=2, heartbeat_interval=0.05))


def test_close_empty_auth() -> None:
    async def main(sim: Simulator) -> None:
        c = await connect(sim.url)
        await c.recv()
        r = await c.request(req("cancel_all", sim))
        assert r["success"] is True
        await asyncio.wait_for(c.disconnected.wait(), 2)
        kept, _ = await subscribed(sim)
        await asyncio.sleep(0.3)
        assert not kept.disconnected.is_set()

    simrun(main, config=SimConfig(close_empty_auth_after=0.1))


def test_runs_on_uvloop_with_accounts() -> None:
    async def main() -> None:
        async with Simulator("::1", accounts=2, orders=1) as sim:
            assert sim.url.startswith("ws://[::1]:")
            assert len(sim.tokens) == 2 and len(sim.api_keys) == 2
            other = sim.tokens[1]
            assert sim.account(other) is not sim.account(sim.token)
            assert "api_secret" not in repr(sim.account(other))
            c, snap = await subscribed(sim, other)
            assert snap["data"] == []
            sim.account(sim.token).place(1)
            with pytest.raises(TimeoutError):  # other account's orders are not ours
                await c.recv(timeout=0.1)

    uvloop.run(main())


def test_cli_json_line_and_sigterm() -> None:
    cmd = [sys.executable, "-m", "krakenwire.sim", "--orders", "2", "--json", "--strict"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            keys = {"url", "base_url", "rest_url", "token", "tokens", "api_key", "api_secret"}
            keys |= {"public_url", "public_base_url"}
            assert set(info) == keys and info["url"] == info["base_url"] + "/v2"
            assert info["public_url"] == info["public_base_url"] + "/v2" != info["url"]

            async def main() -> None:
                c, snap = await subscribed_url(info["url"], info["token"])
                assert len(snap["data"]) == 2
                c.close()
                await asyncio.wait_for(c.disconnected.wait(), 2)

            asyncio.run(main())
            proc.terminate()
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


async def subscribed_url(url: str, token: str) -> tuple[RawClient, Any]:
    c = await connect(url)
    await c.recv()
    c.send({"method": "subscribe", "params": {"channel": "executions", "token": token}})
    assert (await c.recv())["success"] is True
    return c, await c.recv()


def test_undocumented_behaviour_is_switchable():
    """Each [UNK] behaviour is a switch; the client works under every setting."""

    async def main():
        cfg = SimConfig(
            status_on_connect=False, cancel_error="EOrder:Unknown order", updates_before_reply=True
        )
        pending_at_update = []
        seen = {}

        def on_exec(ev):
            if any(d.get("exec_type") == "canceled" for d in ev.data):
                pending_at_update.append(seen["client"].pending)

        async with Simulator(config=cfg) as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(
                sim.url, token=sim.token, on_executions=on_exec
            ) as client:
                seen["client"] = client
                assert client.status == ""  # no status frame was pushed
                ids = [o.order_id for o in acct.place(2)]
                await client.ping()  # the "new" updates are in the view before we cancel
                r = await client.batch_cancel(ids)
                assert r.count == 2 and pending_at_update == [1]  # update came before reply
                res = await client.cancel_order(
                    ["OGONE0-XXXXX-XXXXXX", *[o.order_id for o in acct.place(1)]]
                )
                assert res.errors == ["EOrder:Unknown order"] and len(res.cancelled_ids) == 1

    asyncio.run(main())
