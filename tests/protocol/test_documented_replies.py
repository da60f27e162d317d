"""The client decodes every reply and frame Kraken documents (``tests/data/kraken/``), and the
client's method registry and the simulator's independent list name the same methods."""

import json
from pathlib import Path

import pytest

import krakenwire.sim
from krakenwire import OpenOrders, parse_timestamp
from krakenwire import protocol as kp

DATA = Path(__file__).resolve().parent.parent / "data" / "kraken"
# recorded/ has its own layout and its own test (tests/test_recorded.py).
FIXTURES = sorted(p for p in DATA.glob("*/*.json") if p.parent.name != "recorded")


def _load(path):
    return json.loads(path.read_text())


def test_the_registry_and_the_simulator_agree_on_the_methods():
    assert set(kp.METHODS) == set(krakenwire.sim.METHODS)


def test_every_method_of_the_registry_has_a_documented_example():
    documented = {p.parent.name for p in FIXTURES if _load(p)["request"] is not None}
    assert set(kp.METHODS) <= documented


def _call_for(method, params, replies):
    """A request of ``method`` naming what the documented replies answer."""
    if method == "batch_cancel":
        return kp.batch_cancel(params["orders"], params.get("cl_ord_id"))
    if method == "cancel_order":
        answered = [r["result"]["order_id"] for r in replies if r.get("success")]
        return kp.cancel_order(params.get("order_id") or answered)
    if method == "cancel_all":
        return kp.cancel_all()
    if method == "cancel_all_orders_after":
        return kp.cancel_after(params["timeout"])
    if method == "ping":
        return kp.ping()
    if method == "subscribe":
        return kp.subscribe_executions()
    if method == "unsubscribe":
        return kp.subscribe_executions(unsubscribe=True)
    if method == "add_order":
        return kp.add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=1)
    if method == "batch_add":
        row = {"side": "buy", "order_qty": 1, "limit_price": 1}
        return kp.batch_add([row] * len(replies[0]["result"]), symbol="BTC/USD")
    if method == "amend_order":
        return kp.amend_order(order_id="O1", order_qty=1)
    if method == "edit_order":
        return kp.edit_order(order_id="O1", symbol="BTC/USD", order_qty=1)
    raise AssertionError(f"no builder for {method}")


@pytest.mark.parametrize(
    "path", [p for p in FIXTURES if _load(p)["request"] is not None], ids=lambda p: p.parent.name
)
def test_the_client_decodes_every_documented_reply(path):
    doc = _load(path)
    req, replies = doc["request"], doc["reply"]
    method = req["method"]
    rid = req.get("req_id", 7)  # the client always sends one, and Kraken echoes it
    s = kp.Session("tok", first_req_id=rid)
    handle, data = s.send(_call_for(method, req.get("params", {}), replies), 0, 10**9)
    assert handle == rid and json.loads(data)["method"] == method
    events = []
    for frame in replies:
        frame = {**frame, "req_id": rid}
        events.append(s.receive(json.dumps(frame).encode(), 1000))
    *partial, last = events
    assert partial == [None] * len(partial)
    assert isinstance(last, kp.Completed), last
    assert isinstance(last.result, kp.METHODS[method].result)
    assert len(s) == 0 and s.malformed == 0 and s.unmatched == 0


def test_the_seed_time_out_and_other_documented_timestamps_parse():
    for path in FIXTURES:
        for frame in _load(path)["reply"]:
            for key in ("time_in", "time_out"):
                if key in frame:
                    assert parse_timestamp(frame[key]).tzinfo is not None


@pytest.mark.parametrize(
    "path", [p for p in FIXTURES if _load(p)["request"] is None], ids=lambda p: p.stem
)
def test_every_documented_pushed_frame_is_a_channel_frame_the_view_accepts(path):
    s = kp.Session("tok")
    view = OpenOrders()
    for frame in _load(path)["reply"]:
        ev = s.receive(json.dumps(frame).encode(), 0)
        assert isinstance(ev, kp.ChannelFrame), ev
        assert ev.channel == frame["channel"]
        if ev.channel == "executions":
            view.apply(ev)  # a documented frame is understood (never refused)
