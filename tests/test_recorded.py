"""Frames recorded from the live venue by a public client (tests/data/kraken/recorded): the
client decodes each through its real decoders into the outcome Kraken meant, and the simulator,
in the matching reply mode, answers the same request with the same keys and nesting."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import krakenwire
from krakenwire import _notices
from krakenwire.errors import InvalidArguments, InvalidSession, PermissionDenied
from krakenwire.protocol import (
    ChannelFrame,
    Completed,
    Failed,
    Session,
    add_order,
    batch_cancel,
    cancel_after,
    cancel_all,
    cancel_order,
    ping,
    subscribe_executions,
)
from krakenwire.sim import SimConfig, Simulator
from tests._rawclient import connect

DATA = Path(__file__).parent / "data" / "kraken" / "recorded"
RECORDED = sorted(DATA.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


def test_every_frame_names_its_source() -> None:
    assert len(RECORDED) >= 15
    for path in RECORDED:
        doc = json.loads(path.read_text())
        src = doc["source"]
        assert src["repository"] and src["path"] and src["first_commit_date"], path.name
        assert len(src["commit"]) == 40 and len(src["first_commit"]) == 40, path.name
        assert doc["kind"] in ("reply", "error", "channel", "text"), path.name
        assert "token" not in doc["frame"].lower() or "Token(s)" in doc["frame"], path.name


def _edit() -> Any:
    from krakenwire import protocol as _build

    return _build.edit_order(order_id="K1FF7H-A13AR-Q1S9Z6", symbol="BTC/USD", order_qty=1)


def _amend() -> Any:
    from krakenwire import protocol as _build

    return _build.amend_order(order_id="BQS60L-EGW18-UPAK9U", order_qty=1)


def _batch_add() -> Any:
    from krakenwire import protocol as _build

    rows = [
        {"side": "buy", "order_qty": 1, "limit_price": 1},
        {"side": "buy", "order_qty": 1, "limit_price": 2},
    ]
    return _build.batch_add(rows, symbol="BTC/USD")


def _add() -> Any:
    return add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=100)


# name -> (the call the frame answers, what the client must make of it)
CASES: dict[str, tuple[Any, Any]] = {
    "batch_cancel_orders_cancelled": (lambda: batch_cancel(["A", "B"]), ("count", 2)),
    "add_order_success": (_add, ("order_id", "OPS23M-VS41G-DDE5Z2")),
    "amend_order_success": (_amend, ("amend_id", "1M2JV8-OEJZD-G5GSBF")),
    "edit_order_success": (_edit, ("order_id", "7FIK6B-S15X0-DPJJTH")),
    "cancel_order_success": (
        lambda: cancel_order(order_id=["1V7PZA-L5RIM-RX2G6B"]),
        ("cancelled", ["1V7PZA-L5RIM-RX2G6B"]),
    ),
    "cancel_all_success": (cancel_all, ("count", 0)),
    "cancel_all_orders_after_success": (
        lambda: cancel_after(5),
        ("trigger_time_raw", "2024-05-19T19:22:25Z"),
    ),
    "batch_add_success": (
        _batch_add,
        ("order_ids", ["JQDNTT-MZEIZ-OZKUDD", "X67GEK-3VQWM-HPNQ89"]),
    ),
    "ping_unsupported_params": (ping, InvalidArguments),
    "subscribe_unsupported_event": (subscribe_executions, InvalidArguments),
    "add_order_no_mpp_limit": (_add, InvalidArguments),
    "add_order_cash_order_qty_not_number": (_add, InvalidArguments),
    "add_order_permission_denied": (_add, PermissionDenied),
    "edit_order_token_not_found": (_edit, InvalidSession),
    "amend_order_limit_price_not_number": (_amend, InvalidArguments),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_client_decodes_recorded_reply(name: str) -> None:
    doc = load(name)
    frame = doc["frame"].encode()
    make, expect = CASES[name]
    req_id = json.loads(frame)["req_id"]
    s = Session("t", first_req_id=req_id)
    handle, _ = s.send(make(), 0, 10**9)
    assert handle == req_id
    ev = s.receive(frame, 1)
    if isinstance(expect, tuple):
        assert isinstance(ev, Completed), ev
        field, value = expect
        assert getattr(ev.result, field) == value
        assert ev.result.shape_warnings == ()  # a recorded shape is not a mismatch
    else:
        assert isinstance(ev, Failed) and type(ev.error) is expect, ev
        assert ev.error.error == json.loads(frame)["error"]  # Kraken's exact words kept
    assert len(s) == 0


def test_client_reads_recorded_status_and_proxy_notice() -> None:
    s = Session("t")
    ev = s.receive(load("status_update")["frame"].encode(), 1)
    assert isinstance(ev, ChannelFrame) and ev.channel == "status"
    assert ev.data[0]["connection_id"] == 12393906104898154338
    text = load("cloudflare_proxy_restarting")["frame"].encode()
    notice = s.receive(text, 2)  # not JSON: the core names it and it settles nothing
    assert isinstance(notice, _notices.Notice) and notice.kind == _notices.PROXY_RESTARTING
    assert s.malformed == 0 and _notices.classify(text) == notice
    stats = krakenwire.ClientStats([s])
    _notices.record(stats, notice)
    assert stats.proxy_restarts == 1


def _shape(v: Any) -> Any:
    """Keys and nesting, values aside (numbers as one kind)."""
    if isinstance(v, dict):
        return {k: _shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_shape(x) for x in v[:1]]
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float | Decimal):
        return "number"
    return type(v).__name__


def _req(sim: Simulator, method: str, req_id: int = 0, **params: Any) -> dict[str, Any]:
    return {"method": method, "params": {**params, "token": sim.token}, "req_id": req_id}


async def _sim_replies(sim: Simulator) -> dict[str, Any]:
    """The simulator's answer to the request behind each recorded frame."""
    c = await connect(sim.url)
    await c.recv()  # status
    acct = sim.account(sim.token)
    out: dict[str, Any] = {}
    a, b = acct.place_order().order_id, acct.place_order().order_id
    out["batch_cancel_orders_cancelled"] = await c.request(_req(sim, "batch_cancel", orders=[a, b]))
    limit = {"order_type": "limit", "side": "buy", "order_qty": 1, "limit_price": 100}
    out["add_order_success"] = await c.request(
        _req(sim, "add_order", symbol="BTC/USD", cl_ord_id="client-zero", **limit)
    )
    plain = await c.request(_req(sim, "add_order", symbol="BTC/USD", **limit))
    oid = plain["result"]["order_id"]  # no cl_ord_id, like the recorded amend and edit
    out["amend_order_success"] = await c.request(
        _req(sim, "amend_order", order_id=oid, order_qty=2)
    )
    out["amend_order_limit_price_not_number"] = await c.request(
        _req(sim, "amend_order", order_id=oid, limit_price="1.5")
    )
    out["edit_order_success"] = await c.request(
        _req(sim, "edit_order", order_id=oid, symbol="BTC/USD", order_qty=3)
    )
    new = out["edit_order_success"]["result"]["order_id"]
    out["cancel_order_success"] = await c.request(_req(sim, "cancel_order", order_id=[new]))
    out["cancel_all_success"] = await c.request(_req(sim, "cancel_all"))
    out["cancel_all_orders_after_success"] = await c.request(
        _req(sim, "cancel_all_orders_after", timeout=5)
    )
    rows = [dict(limit, limit_price=1), dict(limit, limit_price=2)]
    rows = [{k: v for k, v in r.items()} for r in rows]
    out["batch_add_success"] = await c.request(
        _req(sim, "batch_add", symbol="BTC/USD", orders=rows)
    )
    out["ping_unsupported_params"] = await c.request({"method": "ping", "params": {}, "req_id": 0})
    out["subscribe_unsupported_event"] = await c.request(
        {"method": "subscribe", "params": 0, "req_id": 0}
    )
    out["add_order_no_mpp_limit"] = await c.request(
        _req(sim, "add_order", symbol="BTC/USD", no_mpp=True, **limit)
    )
    out["add_order_cash_order_qty_not_number"] = await c.request(
        _req(sim, "add_order", symbol="BTC/USD", cash_order_qty="5", **limit)
    )
    edit = {"method": "edit_order", "params": {"order_id": "X", "symbol": "BTC/USD"}, "req_id": 0}
    out["edit_order_token_not_found"] = await c.request(edit)
    c.close()
    return out


@pytest.mark.parametrize("shape", ["documented", "recorded"])
def test_sim_answers_with_the_recorded_keys_and_nesting(shape: str) -> None:
    """In the matching mode every recorded reply's keys and nesting come back from the sim;
    only batch_cancel's differs between the modes (the documented result.count)."""

    async def main() -> dict[str, Any]:
        async with Simulator(config=SimConfig(reply_shape=shape)) as sim:
            got = await _sim_replies(sim)
        async with Simulator(config=SimConfig(deny_trading=True)) as sim:
            c = await connect(sim.url)
            await c.recv()
            got["add_order_permission_denied"] = await c.request(
                _req(
                    sim, "add_order", symbol="BTC/USD", order_type="market", side="buy", order_qty=1
                )
            )
            c.close()
        return got

    got = asyncio.run(main())
    for name, reply in got.items():
        doc = load(name)
        recorded = json.loads(doc["frame"])
        if doc["sim_reply_shape"] != shape and name == "batch_cancel_orders_cancelled":
            assert "result" in reply and "orders_cancelled" not in reply
            continue
        assert _shape(reply) == _shape(recorded), name
        if "error" in recorded:
            assert reply["error"] == recorded["error"], name
