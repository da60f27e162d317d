"""The simulator against Kraken's documented examples (tests/data/kraken): given each documented
request it answers with frames of the same keys, value types and nesting, and the frames it
pushes (status, heartbeat, executions rows) have the documented shapes. Values aside."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from krakenwire.sim import Simulator
from tests._rawclient import RawClient, connect

DATA = Path(__file__).parent / "data" / "kraken"
# recorded/ holds frames recorded from the live venue, in its own layout (test_recorded.py).
FIXTURES = sorted(p for p in DATA.glob("*/*.json") if p.parent.name != "recorded")
METHOD_FIXTURES = [p for p in FIXTURES if json.loads(p.read_text())["request"] is not None]
PUSHED_FIXTURES = [p for p in FIXTURES if json.loads(p.read_text())["request"] is None]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(), parse_float=Decimal)


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    return type(value).__name__


def assert_shape(doc: Any, got: Any, where: str, extra: frozenset[str] = frozenset()) -> None:
    """Same keys, types and nesting; ``extra`` keys may appear in ``got``'s objects only."""
    assert kind(doc) == kind(got), f"{where}: {kind(doc)} in the docs, {kind(got)} from the sim"
    if isinstance(doc, dict):
        assert set(doc) == set(got) - extra, (
            f"{where}: keys differ; docs only: {sorted(set(doc) - set(got))}, "
            f"sim only: {sorted(set(got) - set(doc) - extra)}"
        )
        for key in doc:
            assert_shape(doc[key], got[key], f"{where}.{key}", extra)
    elif isinstance(doc, list):
        assert len(got) >= min(len(doc), 1) or not doc, f"{where}: empty list from the sim"
        for i, (d, g) in enumerate(zip(doc, got, strict=False)):
            assert_shape(d, g, f"{where}[{i}]", extra)


def test_fixtures_are_complete() -> None:
    names = {p.parent.name for p in FIXTURES}
    from krakenwire.methods import METHODS as TABLE  # every method of the table has fixtures

    assert names >= {*TABLE, "executions", "heartbeat", "status"}
    for path in FIXTURES:
        body = load(path)
        assert body["source"].startswith("https://docs.kraken.com/"), path
        assert body["provenance"] and isinstance(body["reply"], list) and body["reply"], path


def _seed(sim: Simulator, request: dict[str, Any]) -> None:
    """Open the orders a documented request names, so the sim can act on them."""
    acct = sim.account(sim.token)
    params = request.get("params", {})
    for ident in params.get("orders", []) if request["method"] == "batch_cancel" else []:
        if ident.isdigit():
            acct.place_order(order_userref=int(ident))
        else:
            acct.place_order(ident)
    for oid in params.get("order_id", []) if request["method"] == "cancel_order" else []:
        acct.place_order(oid)
    if request["method"] == "cancel_all":
        acct.place_order()
    if request["method"] == "edit_order":
        acct.place_order(params["order_id"], symbol=params["symbol"])
    if request["method"] == "amend_order":
        acct.place_order(cl_ord_id=params["cl_ord_id"])


def _live(sim: Simulator, request: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(request, default=str))
    out["params"] = {**request.get("params", {}), "token": sim.token} if "params" in out else None
    if out["params"] is None:
        del out["params"]
    if "deadline" in out.get("params", {}):  # Kraken's example deadline is long past
        soon = datetime.now(UTC) + timedelta(seconds=30)
        out["params"]["deadline"] = soon.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return out


@pytest.mark.parametrize("path", METHOD_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sim_answers_documented_request_with_documented_shape(path: Path) -> None:
    body = load(path)
    request = body["request"]
    extra = frozenset(body.get("sim_extra_keys", ()))

    async def main() -> None:
        async with Simulator() as sim:
            _seed(sim, request)
            c = await connect(sim.url)
            await c.recv()  # status
            if request["method"] != "subscribe":
                await _subscribe(c, sim)
            c.send(json.loads(json.dumps(_live(sim, request), default=_num)))
            replies = []
            while len(replies) < len(body["reply"]):
                msg = await c.recv(timeout=5.0)
                if "method" in msg:
                    replies.append(msg)
            for i, (doc, got) in enumerate(zip(body["reply"], replies, strict=True)):
                assert got.get("success", True) is True, got
                assert_shape(doc, got, f"{path.parent.name}/{path.stem} reply[{i}]", extra)
            c.close()

    asyncio.run(main())


def _num(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(value)


async def _subscribe(c: RawClient, sim: Simulator) -> None:
    c.send({"method": "subscribe", "params": {"channel": "executions", "token": sim.token}})
    assert (await c.recv())["success"] is True
    assert (await c.recv())["type"] == "snapshot"


async def _pushed(sim: Simulator, name: str) -> dict[str, Any]:
    """Make the simulator push the frame a fixture documents; return it."""
    c = await connect(sim.url)
    status = await c.recv()
    if name == "status/recorded_update":
        return dict(status)
    await _subscribe(c, sim)
    if name == "heartbeat/doc_example":
        while True:
            msg = await c.recv(timeout=5.0, heartbeats=True)
            if msg == {"channel": "heartbeat"}:
                return dict(msg)
    limit = {"order_type": "limit", "side": "sell", "order_qty": 0.005, "limit_price": 26500}
    market = {"order_type": "market", "side": "buy", "order_qty": 0.0017}
    order = market if name == "executions/doc_trade" else limit
    params = {**order, "symbol": "BTC/USD", "order_userref": 3, "token": sim.token}
    c.send({"method": "add_order", "params": params, "req_id": 2})
    frames: list[dict[str, Any]] = []  # pending_new, new, then (market) trade + filled
    while len(frames) < (3 if order is market else 2):
        msg = await c.recv(timeout=5.0)
        if msg.get("channel") == "executions":
            frames.append(msg)
    if name == "executions/doc_canceled" or name == "executions/recorded_canceled":
        oid = frames[0]["data"][0]["order_id"]
        c.send({"method": "cancel_order", "params": {"order_id": [oid], "token": sim.token}})
        while True:
            msg = await c.recv(timeout=5.0)
            if msg.get("channel") == "executions":
                return dict(msg)
    wanted = {"executions/doc_pending_new": 0, "executions/doc_live_order": 1}.get(name, 2)
    return frames[wanted]


@pytest.mark.parametrize("path", PUSHED_FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sim_pushes_documented_shapes(path: Path) -> None:
    body = load(path)
    name = f"{path.parent.name}/{path.stem}"
    extra = frozenset(body.get("sim_extra_keys", ()))

    async def main() -> None:
        async with Simulator() as sim:
            got = await _pushed(sim, name)
            (doc,) = body["reply"]
            assert_shape(doc, got, name, extra)

    asyncio.run(main())
