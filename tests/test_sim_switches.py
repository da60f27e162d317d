"""Simulator switches for undocumented behaviour, Kraken's executions options and shapes,
connection closes, and the simulator's independence from the client's code."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import krakenwire.sim
from krakenwire.sim import METHODS, SimConfig, Simulator
from tests._rawclient import RawClient, connect

SIM_DIR = Path(krakenwire.sim.__file__).parent


def simrun(main: Callable[[Simulator], Awaitable[None]], **cfg: Any) -> None:
    async def go() -> None:
        async with Simulator(config=SimConfig(**cfg)) as sim:
            await main(sim)

    asyncio.run(go())


async def subscribed(sim: Simulator, **opts: Any) -> tuple[RawClient, dict[str, Any]]:
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
    snap = await c.recv()
    assert snap["type"] == "snapshot"
    return c, snap


def req(sim: Simulator, method: str, req_id: int = 7, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": {**params, "token": sim.token}, "req_id": req_id}


def test_methods_constant() -> None:
    from krakenwire.methods import METHODS as TABLE  # the client's table: the one list

    assert set(TABLE) == METHODS


def test_simulator_imports_no_client_code() -> None:
    """Only ``krakenwire._auth`` (checked against Kraken's published signing vectors) is
    shared, and ``_stdfds`` (the entry points' guard of fds 0-2, no protocol in it); nothing of
    the client's protocol, messages, orders, validation or client."""
    shared = set()
    for path in SIM_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                shared.add(node.module)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("krakenwire"):
                if not (node.module or "").startswith("krakenwire.sim"):
                    shared.add(node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("krakenwire"), (path, alias.name)
    assert shared <= {"_auth", "_stdfds"}, shared


def test_batch_cancel_gone_ids_lenient_strict_and_warnings() -> None:
    async def main(sim: Simulator) -> None:
        a = sim.account(sim.token).place_order().order_id
        c, _ = await subscribed(sim)
        r = await c.request(req(sim, "batch_cancel", orders=[a, "OGONE0-XXXXX-XXXXXX"]))
        assert r["success"] is True and r["result"] == {"count": 1}  # no invented warnings

    simrun(main)

    async def strict(sim: Simulator) -> None:
        a = sim.account(sim.token).place_order().order_id
        c, _ = await subscribed(sim)
        r = await c.request(req(sim, "batch_cancel", orders=[a, "OGONE0-XXXXX-XXXXXX"]))
        assert r["success"] is False and r["error"] == "EOrder:Invalid order"
        assert a in sim.account(sim.token).open_orders

    simrun(strict, batch_cancel_mode="strict")

    async def warned(sim: Simulator) -> None:
        c, _ = await subscribed(sim)
        r = await c.request(req(sim, "batch_cancel", orders=["OGONE0-XXXXX-XXXXXX", "1"]))
        assert r["result"]["warnings"] == [
            "EOrder:Invalid order: OGONE0-XXXXX-XXXXXX",
            "EOrder:Invalid order: 1",
        ]

    simrun(warned, batch_cancel_warnings=True)


async def _cancel_replies(sim: Simulator, n: int) -> tuple[list[str], list[str]]:
    ids = [o.order_id for o in sim.account(sim.token).place(n)]
    c, _ = await subscribed(sim)
    c.send(req(sim, "cancel_order", req_id=5, order_id=ids))
    got: list[str] = []
    while len(got) < n:
        msg = await c.recv()
        if msg.get("method") == "cancel_order":
            assert msg["req_id"] == 5 and msg["success"] is True
            got.append(msg["result"]["order_id"])
    return ids, got


def test_cancel_order_reply_order() -> None:
    async def in_order(sim: Simulator) -> None:
        ids, got = await _cancel_replies(sim, 12)
        assert got == ids

    simrun(in_order)

    async def shuffled(sim: Simulator) -> None:
        ids, got = await _cancel_replies(sim, 12)
        assert sorted(got) == sorted(ids) and got != ids  # 1/12! chance of equality, seeded

    simrun(shuffled, cancel_reply_order="shuffled", seed=11)


def test_cancel_of_gone_order_costs_nothing_unless_asked() -> None:
    async def run_with(cost: float) -> float:
        result: list[float] = []

        async def main(sim: Simulator) -> None:
            acct = sim.account(sim.token)
            acct.place_order()
            c, _ = await subscribed(sim)
            r = await c.request(req(sim, "cancel_order", order_id=["OGONE0-XXXXX-XXXXXX"]))
            assert r["success"] is False
            result.append(acct.rate.get("BTC/USD", (0.0, 0.0))[0])

        async with Simulator(
            config=SimConfig(cancel_gone_cost=cost, rate_limit=100, rate_decay=0.0)
        ) as sim:
            await main(sim)
        return result[0]

    assert asyncio.run(run_with(0.0)) == 0.0
    assert asyncio.run(run_with(5.0)) == 5.0


def test_executions_options_order_status_ratecounter_snap_trades() -> None:
    async def main(sim: Simulator) -> None:
        quiet, _ = await subscribed(sim, order_status=False, ratecounter=True)
        order = {"order_type": "limit", "side": "buy", "order_qty": 1, "limit_price": 100}
        r = await quiet.request(req(sim, "add_order", symbol="BTC/USD", **order))
        oid = r["result"]["order_id"]
        new = await quiet.recv()  # no pending_new with order_status:false
        (row,) = new["data"]
        assert row["exec_type"] == "new" and set(row) >= {"timestamp", "order_id", "ratecount"}
        assert row["ratecount"] == 1  # add_order costs 1 (kraken-ws-v2.md §6)
        amend = await quiet.request(req(sim, "amend_order", order_id=oid, order_qty=2))
        assert amend["success"] is True
        # the amended update is a status transition: not streamed with order_status:false
        await quiet.request(req(sim, "cancel_order", order_id=[oid]))
        gone = await quiet.recv()
        assert gone["data"][0]["exec_type"] == "canceled"
        market = {"order_type": "market", "side": "buy", "order_qty": 1}
        await quiet.request(req(sim, "add_order", symbol="BTC/USD", **market))
        c, snap = await subscribed(sim, snap_trades=True, snap_orders=False)
        assert [x["exec_type"] for x in snap["data"]] == ["trade"]
        assert snap["data"][0]["order_status"] == "filled"

    simrun(main, rate_limit=100, rate_decay=0.0)


def test_new_is_sparse_snapshot_full_with_amended_flag() -> None:
    async def main(sim: Simulator) -> None:
        c, _ = await subscribed(sim)
        order = {"order_type": "limit", "side": "sell", "order_qty": 1, "limit_price": 40000}
        r = await c.request(req(sim, "add_order", symbol="BTC/USD", order_userref=3, **order))
        oid = r["result"]["order_id"]
        pending, new = (await c.recv())["data"][0], (await c.recv())["data"][0]
        assert pending["time_in_force"] == "GTC" and pending["limit_price_type"] == "static"
        assert set(new) == {"timestamp", "order_status", "exec_type", "order_userref", "order_id"}
        r = await c.request(req(sim, "amend_order", order_id=oid, limit_price=40001))
        assert r["success"] is True
        amended = (await c.recv())["data"][0]
        assert amended["exec_type"] == "amended" and amended["amended"] is True
        _, snap = await subscribed(sim)
        (row,) = snap["data"]
        assert row["amended"] is True and row["limit_price"] == 40001
        assert row["order_status"] == "new" and row["time_in_force"] == "GTC"

    simrun(main)


def test_public_subscribe_gets_krakens_recorded_error() -> None:
    async def main(sim: Simulator) -> None:
        c = await connect(sim.url)
        await c.recv()
        r = await c.request(
            {"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"]}}
        )
        assert r["success"] is False and r["channel"] == "book"
        assert r["error"] == (
            "Public market data subscriptions are unavailable on this endpoint. Try ws.kraken.com"
        )

    simrun(main)


def test_idle_connection_is_closed() -> None:
    async def main(sim: Simulator) -> None:
        c = await connect(sim.url)
        await asyncio.wait_for(c.disconnected.wait(), 10)

    simrun(main, idle_timeout=0.3, close_empty_auth_after=None)


def test_connection_without_subscription_is_closed_subscribed_one_is_not() -> None:
    async def main(sim: Simulator) -> None:
        keep, _ = await subscribed(sim)
        lone = await connect(sim.url)
        await asyncio.wait_for(lone.disconnected.wait(), 10)
        # the subscribed connection is still served after the lone one was closed
        assert (await keep.request({"method": "ping", "req_id": 3}))["method"] == "pong"
        keep.send(req(sim, "unsubscribe", channel="executions"))
        await asyncio.wait_for(keep.disconnected.wait(), 10)  # now it holds nothing either

    simrun(main, close_empty_auth_after=0.3)


def test_closes_can_be_turned_off() -> None:
    cfg = SimConfig(idle_timeout=None, close_empty_auth_after=None)
    assert cfg.idle_timeout is None and SimConfig().idle_timeout == 60.0
    assert SimConfig().close_empty_auth_after == 10.0


def test_cli_switches_reach_the_simulator() -> None:
    """``python -m krakenwire.sim`` keeps connections open unless asked; its flags turn on
    Kraken's closes and the market."""
    import json
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "krakenwire.sim", "--json", "--market", "--seed", "5"]
    cmd += ["--idle-timeout", "0.3", "--close-unsubscribed-after", "0.3"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            assert info["url"] == info["base_url"] + "/v2"

            async def main() -> None:
                c = await connect(info["base_url"])  # any path is served
                assert (await c.recv())["channel"] == "status"
                await asyncio.wait_for(c.disconnected.wait(), 10)

            asyncio.run(main())
            proc.terminate()
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
