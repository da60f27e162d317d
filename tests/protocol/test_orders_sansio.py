"""Sans-IO: order entry and unified batch_cancel requests as literal bytes, replies decoded."""

import json
from decimal import Decimal

import pytest

from krakenwire import (
    AddOrderResult,
    BatchAddResult,
    InsufficientFunds,
    InvalidArguments,
    InvalidPrice,
    ValidationError,
)
from krakenwire._orders import to_decimal
from krakenwire.protocol import (
    Completed,
    Failed,
    Session,
    add_order,
    amend_order,
    batch_add,
    batch_cancel,
    edit_order,
)

TOKEN = "tok"
SECOND = 10**9


def send(s, call):
    return s.send(call, 0, SECOND)


def outcome(ev):
    """The result of a Completed or the error of a Failed."""
    assert isinstance(ev, Completed | Failed), ev
    return ev.result if isinstance(ev, Completed) else ev.error


def test_add_order_bytes_are_exact_json_numbers():
    s = Session(TOKEN, first_req_id=5)
    call = add_order(
        symbol="BTC/USD",
        side="buy",
        order_qty=Decimal("0.00010000"),
        limit_price="30000.1",
        post_only=True,
        cl_ord_id="mm-1",
        deadline="2022-12-25T09:30:59.123Z",
    )
    h, data = send(s, call)
    assert h == 5
    assert data == (
        b'{"method":"add_order","params":{"order_type":"limit","side":"buy",'
        b'"order_qty":0.00010000,"limit_price":30000.1,"post_only":true,"cl_ord_id":"mm-1",'
        b'"symbol":"BTC/USD","token":"tok","deadline":"2022-12-25T09:30:59.123Z"},"req_id":5}'
    )
    assert "tok" not in repr(call.req).replace("token=", "")
    ev = s.receive(
        b'{"method":"add_order","req_id":5,"result":{"order_id":"OK4GZK-XOTOY-U4C4X5",'
        b'"cl_ord_id":"mm-1"},"success":true,"time_in":"2026-01-05T07:48:55.895607Z",'
        b'"time_out":"2026-01-05T07:48:55.903683Z"}',
        1,
    )
    assert isinstance(ev, Completed) and ev.handle == 5
    out = ev.result
    assert isinstance(out, AddOrderResult)
    assert out.order_id == "OK4GZK-XOTOY-U4C4X5" and out.cl_ord_id == "mm-1"
    assert len(s) == 0


def test_add_order_rejection_maps_to_subclass_with_exact_string():
    s = Session(TOKEN)
    send(s, add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=1))
    ev = s.receive(
        b'{"method":"add_order","req_id":1,"success":false,"error":"EOrder:Invalid price",'
        b'"time_in":"x","time_out":"y"}',
        1,
    )
    assert isinstance(ev, Failed)
    assert isinstance(ev.error, InvalidPrice) and ev.error.error == "EOrder:Invalid price"


def test_batch_add_partial_and_whole_rejection():
    s = Session(TOKEN)
    orders = [
        {"side": "buy", "order_qty": 1, "limit_price": 10},
        {"side": "sell", "order_type": "market", "order_qty": "2", "order_userref": 3},
    ]
    _, data = send(s, batch_add(orders, symbol="ETH/USD"))
    assert json.loads(data)["params"]["orders"][1] == {
        "order_type": "market",
        "side": "sell",
        "order_qty": 2,
        "order_userref": 3,
    }
    # A partial rejection is a result (some orders were placed), never an error.
    ev = s.receive(
        b'{"method":"batch_add","req_id":1,"success":false,"error":"EOrder:Insufficient funds",'
        b'"result":[{"order_id":"OA"},{"error":"EOrder:Insufficient funds"}],'
        b'"time_in":"x","time_out":"y"}',
        1,
    )
    assert isinstance(ev, Completed)
    out = ev.result
    assert isinstance(out, BatchAddResult) and not out.ok and out.order_ids == ["OA"]
    assert out.orders[1].error == "EOrder:Insufficient funds"
    send(s, batch_add(orders, symbol="ETH/USD"))
    out2 = outcome(
        s.receive(
            b'{"method":"batch_add","req_id":2,"success":false,'
            b'"error":"EGeneral:Invalid arguments"}',
            2,
        )
    )
    assert isinstance(out2, InvalidArguments)
    send(s, add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=1))
    out3 = outcome(
        s.receive(
            b'{"method":"add_order","req_id":3,"success":false,'
            b'"error":"EOrder:Insufficient funds"}',
            3,
        )
    )
    assert isinstance(out3, InsufficientFunds)
    assert len(s) == 0


def test_amend_and_edit_replies():
    s = Session(TOKEN)
    _, data = send(s, amend_order(cl_ord_id="mm-1", limit_price="1.5"))
    assert json.loads(data)["params"] == {"token": "tok", "cl_ord_id": "mm-1", "limit_price": 1.5}
    out = outcome(
        s.receive(
            b'{"method":"amend_order","req_id":1,"success":true,'
            b'"result":{"amend_id":"TQ1","order_id":"OA","cl_ord_id":"mm-1"}}',
            1,
        )
    )
    assert out.amend_id == "TQ1" and out.order_id == "OA"
    send(s, edit_order(order_id="OA", symbol="BTC/USD", order_qty=2))
    out = outcome(
        s.receive(
            b'{"method":"edit_order","req_id":2,"success":true,'
            b'"result":{"order_id":"OB","original_order_id":"OA"}}',
            2,
        )
    )
    assert out.order_id == "OB" and out.original_order_id == "OA"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.1, "0.1"), (29999.99, "29999.99"), (1, "1"), ("1e-8", "1E-8"), (Decimal("2.50"), "2.50")],
)
def test_to_decimal_exact(value, expected):
    assert str(to_decimal(value, "limit_price")) == expected


@pytest.mark.parametrize(
    "value", [0.1 + 0.2, 1 / 3, float("inf"), "abc", None, True, [1], Decimal("NaN")]
)
def test_to_decimal_refuses(value):
    with pytest.raises(ValidationError) as ei:
        to_decimal(value, "limit_price")
    assert ei.value.field == "limit_price"


def test_unified_batch_cancel_cl_ord_id_only_and_counted_together():
    s = Session(TOKEN)
    _, data = send(s, batch_cancel([], ["a", "b"], unified=True))
    assert data == (
        b'{"method":"batch_cancel","params":{"orders":[],"token":"tok",'
        b'"cl_ord_id":["a","b"],"asset_class":"spot"},"req_id":1}'
    )
    # orders + cl_ord_id together: 2..50 in total
    send(s, batch_cancel(["OA"], ["a"], unified=True))
    send(s, batch_cancel([f"O{i}" for i in range(25)], [f"c{i}" for i in range(25)], unified=True))
    for orders, cl in [
        (["OA"], None),
        ([], ["a"]),
        ([f"O{i}" for i in range(26)], [f"c{i}" for i in range(25)]),
    ]:
        with pytest.raises(ValidationError) as ei:
            batch_cancel(orders, cl, unified=True)
        assert ei.value.field == "orders"
    # no order_userref on the unified endpoint
    with pytest.raises(ValidationError):
        batch_cancel([7, "OA"], unified=True)
    with pytest.raises(ValidationError):
        batch_cancel(["7", "OA"], unified=True)
    assert len(s) == 3
    # and the spot variant stays as it was: no asset_class
    _, spot = send(s, batch_cancel(["1", "OA"]))
    assert b"asset_class" not in spot
