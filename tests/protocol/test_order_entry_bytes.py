"""Sans-IO: every order type's add_order frame as literal bytes, every combination Kraken
forbids refused before a req_id exists (the field named), and hypothesis on Decimal
formatting (what goes on the wire is exactly the number the caller gave)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenwire import ValidationError
from krakenwire._orderfields import plain, to_decimal
from krakenwire.protocol import Session, add_order, amend_order, batch_add, edit_order

SECOND = 10**9


def frame(call: Any) -> bytes:
    s = Session("tok", first_req_id=1)
    _, data = s.send(call, 0, SECOND)
    return bytes(data)


def head(otype: str, side: str = "buy") -> bytes:
    return (
        b'{"method":"add_order","params":{"order_type":"'
        + otype.encode()
        + b'","side":"'
        + (side.encode() + b'",')
    )


TAIL = b'"symbol":"BTC/USD","token":"tok"},"req_id":1}'

CASES: list[tuple[dict[str, Any], bytes]] = [
    (
        {"order_type": "market", "order_qty": "0.5", "no_mpp": True},
        head("market") + b'"order_qty":0.5,"no_mpp":true,' + TAIL,
    ),
    (
        {"order_type": "market", "cash_order_qty": "1000.50"},
        head("market") + b'"cash_order_qty":1000.50,' + TAIL,
    ),
    (
        {"order_type": "limit", "order_qty": 1, "limit_price": "30000.1", "time_in_force": "fok"},
        head("limit") + b'"order_qty":1,"limit_price":30000.1,"time_in_force":"fok",' + TAIL,
    ),
    (
        {"order_type": "iceberg", "order_qty": 3, "limit_price": 29000, "display_qty": "0.2"},
        head("iceberg") + b'"order_qty":3,"limit_price":29000,"display_qty":0.2,' + TAIL,
    ),
    (
        {"order_type": "stop-loss", "side": "sell", "order_qty": 1, "triggers": {"price": 29000}},
        head("stop-loss", "sell") + b'"order_qty":1,"triggers":{"price":29000},' + TAIL,
    ),
    (
        {
            "order_type": "stop-loss-limit",
            "side": "sell",
            "order_qty": 1,
            "limit_price": 28900,
            "triggers": {"reference": "index", "price": -2.5, "price_type": "pct"},
        },
        head("stop-loss-limit", "sell")
        + b'"order_qty":1,"limit_price":28900,'
        + b'"triggers":{"reference":"index","price":-2.5,"price_type":"pct"},'
        + TAIL,
    ),
    (
        {"order_type": "take-profit", "order_qty": 1, "triggers": {"price": "31000"}},
        head("take-profit") + b'"order_qty":1,"triggers":{"price":31000},' + TAIL,
    ),
    (
        {
            "order_type": "take-profit-limit",
            "order_qty": 1,
            "limit_price": 31100,
            "triggers": {"price": 150, "price_type": "quote"},
        },
        head("take-profit-limit")
        + b'"order_qty":1,"limit_price":31100,"triggers":{"price":150,"price_type":"quote"},'
        + TAIL,
    ),
    (
        {
            "order_type": "trailing-stop",
            "side": "sell",
            "order_qty": 1,
            "triggers": {"price": 1, "price_type": "pct"},
        },
        head("trailing-stop", "sell")
        + b'"order_qty":1,"triggers":{"price":1,"price_type":"pct"},'
        + TAIL,
    ),
    (
        {
            "order_type": "trailing-stop-limit",
            "order_qty": 1,
            "limit_price": 0,
            "limit_price_type": "quote",
            "triggers": {"price": 100, "price_type": "quote"},
        },
        head("trailing-stop-limit")
        + b'"order_qty":1,"limit_price":0,"limit_price_type":"quote",'
        + b'"triggers":{"price":100,"price_type":"quote"},'
        + TAIL,
    ),
    (
        {"order_type": "settle-position", "side": "sell", "order_qty": 2, "margin": True},
        head("settle-position", "sell") + b'"order_qty":2,"margin":true,' + TAIL,
    ),
    (
        {
            "order_type": "limit",
            "order_qty": 1,
            "limit_price": 29000,
            "post_only": True,
            "reduce_only": True,
            "effective_time": "2030-01-01T00:00:00Z",
            "order_userref": 7,
            "conditional": {
                "order_type": "stop-loss-limit",
                "trigger_price": -1,
                "trigger_price_type": "pct",
                "limit_price": 28000,
            },
            "fee_preference": "base",
            "stp_type": "cancel_both",
            "sender_sub_id": "desk-7",
            "validate": True,
        },
        head("limit")
        + b'"order_qty":1,"limit_price":29000,"post_only":true,"reduce_only":true,'
        + b'"effective_time":"2030-01-01T00:00:00Z","order_userref":7,'
        + b'"conditional":{"order_type":"stop-loss-limit","limit_price":28000,'
        + b'"trigger_price":-1,"trigger_price_type":"pct"},'
        + b'"fee_preference":"base","stp_type":"cancel_both",'
        + b'"symbol":"BTC/USD","token":"tok","validate":true,"sender_sub_id":"desk-7"},"req_id":1}',
    ),
]


@pytest.mark.parametrize(("fields", "expected"), CASES)
def test_each_order_type_as_literal_bytes(fields: dict[str, Any], expected: bytes) -> None:
    args = {"symbol": "BTC/USD", "side": "buy", **fields}
    assert frame(add_order(**args)) == expected


BASE: dict[str, Any] = {"symbol": "BTC/USD", "side": "buy", "order_qty": 1}
TRIG = {"price": 29000}

REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"order_type": "market", "limit_price": 1}, "limit_price"),
    ({"order_type": "stop-loss", "triggers": TRIG, "limit_price": 1}, "limit_price"),
    ({"order_type": "iceberg", "limit_price": 1}, "display_qty"),
    ({"order_type": "limit", "limit_price": 1, "display_qty": 1}, "display_qty"),
    ({"order_type": "iceberg", "limit_price": 1, "display_qty": "0.01"}, "display_qty"),
    ({"order_type": "limit", "limit_price": 1, "triggers": TRIG}, "triggers"),
    ({"order_type": "market", "triggers": TRIG}, "triggers"),
    ({"order_type": "stop-loss"}, "triggers"),
    ({"order_type": "stop-loss-limit", "triggers": TRIG}, "limit_price"),
    (
        {"order_type": "stop-loss", "triggers": {"price": 1, "reference": "mark"}},
        "triggers.reference",
    ),
    (
        {"order_type": "stop-loss", "triggers": {"price": 1, "price_type": "x"}},
        "triggers.price_type",
    ),
    ({"order_type": "stop-loss", "triggers": {"price": -1}}, "triggers.price"),
    ({"order_type": "stop-loss", "triggers": {"price_type": "pct"}}, "triggers.price"),
    ({"order_type": "stop-loss", "triggers": {"price": 1, "extra": 1}}, "triggers"),
    ({"order_type": "trailing-stop", "triggers": {"price": 100}}, "triggers.price_type"),
    (
        {"order_type": "trailing-stop", "triggers": {"price": -1, "price_type": "pct"}},
        "triggers.price",
    ),
    ({"order_type": "limit", "limit_price": 1, "limit_price_type": "pct"}, "limit_price_type"),
    ({"order_type": "market", "time_in_force": "fok"}, "time_in_force"),
    (
        {"order_type": "iceberg", "limit_price": 1, "display_qty": 1, "time_in_force": "fok"},
        "time_in_force",
    ),
    ({"order_type": "limit", "limit_price": 1, "time_in_force": "day"}, "time_in_force"),
    ({"order_type": "market", "post_only": True}, "post_only"),
    (
        {"order_type": "limit", "limit_price": 1, "post_only": True, "time_in_force": "ioc"},
        "post_only",
    ),
    ({"order_type": "limit", "limit_price": 1, "no_mpp": True}, "no_mpp"),
    ({"order_type": "limit", "limit_price": 1, "cash_order_qty": 10}, "cash_order_qty"),
    ({"order_type": "market", "side": "sell", "cash_order_qty": 10}, "cash_order_qty"),
    ({"order_type": "market", "margin": True, "cash_order_qty": 10}, "cash_order_qty"),
    ({"order_type": "market", "cash_order_qty": 10, "order_qty": 1}, "order_qty"),
    ({"order_type": "market", "order_qty": None}, "order_qty"),
    ({"order_type": "market", "stp_type": "cancel_all"}, "stp_type"),
    ({"order_type": "market", "fee_preference": "usd"}, "fee_preference"),
    ({"order_type": "market", "margin": "yes"}, "margin"),
    ({"order_type": "market", "sender_sub_id": "has space"}, "sender_sub_id"),
    ({"order_type": "market", "sender_sub_id": "x" * 65}, "sender_sub_id"),
    ({"order_type": "market", "effective_time": "tomorrow"}, "effective_time"),
    ({"order_type": "market", "expire_time": "2030-01-01T00:00:00Z"}, "expire_time"),
    ({"order_type": "market", "order_type_extra": 1}, "order"),
    ({"order_type": "market", "side": ["buy"]}, "side"),
    ({"order_type": ["market"]}, "order_type"),
    (
        {
            "order_type": "limit",
            "limit_price": 1,
            "cl_ord_id": "a",
            "conditional": {"order_type": "limit", "limit_price": 2},
        },
        "cl_ord_id",
    ),
    (
        {"order_type": "settle-position", "conditional": {"order_type": "limit", "limit_price": 2}},
        "conditional",
    ),
    ({"order_type": "market", "conditional": {"order_type": "market"}}, "conditional.order_type"),
    ({"order_type": "market", "conditional": {"order_type": "limit"}}, "conditional.limit_price"),
    (
        {"order_type": "market", "conditional": {"order_type": "stop-loss"}},
        "conditional.trigger_price",
    ),
    (
        {
            "order_type": "market",
            "conditional": {"order_type": "stop-loss", "trigger_price": 1, "limit_price": 1},
        },
        "conditional.limit_price",
    ),
    (
        {
            "order_type": "market",
            "conditional": {"order_type": "limit", "limit_price": 1, "trigger_price": 1},
        },
        "conditional.trigger_price",
    ),
    (
        {
            "order_type": "market",
            "conditional": {"order_type": "trailing-stop", "trigger_price": 1},
        },
        "conditional.trigger_price_type",
    ),
    ({"order_type": "market", "conditional": "limit"}, "conditional"),
    ({"order_type": "market", "deadline": "2999-01-01T00:00:00.000Z"}, "deadline"),
]


@pytest.mark.parametrize(("fields", "field"), REFUSED)
def test_each_forbidden_combination_is_refused_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as ei:
        add_order(**{**BASE, **fields})
    assert ei.value.field == field, ei.value


def test_amend_and_edit_fields_as_literal_bytes() -> None:
    amend = amend_order(
        order_id="OABC",
        order_qty=2,
        display_qty="0.5",
        limit_price=-10,
        limit_price_type="quote",
        trigger_price=1.5,
        trigger_price_type="pct",
        post_only=True,
        symbol="BTC/USD",
    )
    assert frame(amend) == (
        b'{"method":"amend_order","params":{"token":"tok","order_id":"OABC","order_qty":2,'
        b'"display_qty":0.5,"limit_price":-10,"limit_price_type":"quote","post_only":true,'
        b'"trigger_price":1.5,"trigger_price_type":"pct","symbol":"BTC/USD"},"req_id":1}'
    )
    edit = edit_order(
        order_id="OABC",
        symbol="BTC/USD",
        display_qty=1,
        triggers={"price": 100, "price_type": "quote"},
        reduce_only=True,
        fee_preference="quote",
        no_mpp=True,
    )
    assert frame(edit) == (
        b'{"method":"edit_order","params":{"order_id":"OABC","symbol":"BTC/USD","token":"tok",'
        b'"display_qty":1,"triggers":{"price":100,"price_type":"quote"},"reduce_only":true,'
        b'"fee_preference":"quote","no_mpp":true},"req_id":1}'
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"limit_price": -1}, "limit_price"),  # static: a price
        ({"order_qty": 1, "limit_price_type": "pct"}, "limit_price_type"),  # no limit_price
        ({"order_qty": 1, "trigger_price_type": "quote"}, "trigger_price_type"),
        ({"trigger_price": 0}, "trigger_price"),
        ({"order_qty": 3, "display_qty": "0.1"}, "display_qty"),
        ({"limit_price": 1, "limit_price_type": "last"}, "limit_price_type"),
        ({"limit_price": 1, "symbol": "btcusd"}, "symbol"),
        ({"post_only": 1}, "post_only"),
    ],
)
def test_amend_refusals(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as ei:
        amend_order(order_id="OABC", **fields)
    assert ei.value.field == field


def test_edit_refusals() -> None:
    with pytest.raises(ValidationError) as ei:
        edit_order(order_id="OABC", symbol="BTC/USD")
    assert ei.value.field == "order_qty"
    with pytest.raises(ValidationError) as ei:
        edit_order(order_id="OABC", symbol="BTC/USD", triggers={"price": 0})
    assert ei.value.field == "triggers.price"
    with pytest.raises(ValidationError) as ei:
        edit_order(order_id="OABC", symbol="BTC/USD", order_qty=1, fee_preference="usd")
    assert ei.value.field == "fee_preference"
    with pytest.raises(ValidationError) as ei:
        edit_order(order_id="OA\nBC", symbol="BTC/USD", order_qty=1)
    assert ei.value.field == "order_id"


def test_batch_add_carries_each_orders_fields_and_names_the_bad_one() -> None:
    call = batch_add(
        [
            {"side": "buy", "order_type": "iceberg", "order_qty": 3, "limit_price": 1,
             "display_qty": 1},
            {"side": "sell", "order_type": "take-profit", "order_qty": 1,
             "triggers": {"price": 5}},
        ],
        symbol="BTC/USD",
    )  # fmt: skip
    assert frame(call) == (
        b'{"method":"batch_add","params":{"orders":[{"order_type":"iceberg","side":"buy",'
        b'"order_qty":3,"limit_price":1,"display_qty":1},{"order_type":"take-profit",'
        b'"side":"sell","order_qty":1,"triggers":{"price":5}}],"symbol":"BTC/USD",'
        b'"token":"tok"},"req_id":1}'
    )
    with pytest.raises(ValidationError) as ei:
        batch_add(
            [{"side": "buy", "order_qty": 1, "limit_price": 1},
             {"side": "buy", "order_type": "market", "order_qty": 1, "no_mpp": 1}],
            symbol="BTC/USD",
        )  # fmt: skip
    assert ei.value.field == "no_mpp" and str(ei.value).startswith("orders[1]:")


# -- Decimal formatting ---------------------------------------------------------------------

decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("1e-12"))


@given(decimals)
def test_a_decimal_goes_on_the_wire_as_exactly_its_value(d: Decimal) -> None:
    data = frame(add_order(symbol="BTC/USD", side="buy", order_type="market", order_qty=d))
    sent = json.loads(data, parse_float=Decimal, parse_int=Decimal)["params"]["order_qty"]
    assert sent == d and (b"E+" not in data and b"e+" not in data)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_plain_keeps_the_value_and_drops_positive_exponents(d: Decimal) -> None:
    p = plain(d)
    assert p == d and p.as_tuple().exponent <= 0  # type: ignore[operator]


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=1e-9, max_value=1e12))
def test_a_float_is_sent_as_its_shortest_repr_or_refused(f: float) -> None:
    try:
        d = to_decimal(f, "limit_price")
    except ValidationError:
        assert len(Decimal(repr(f)).as_tuple().digits) > 15
        return
    assert d == Decimal(repr(f)) and float(d) == f


@given(st.text(max_size=8))
def test_a_string_is_a_decimal_or_refused(text: str) -> None:
    try:
        d = to_decimal(text, "order_qty")
    except ValidationError as exc:
        assert exc.field == "order_qty"
        return
    assert d == Decimal(text.strip()) and d.is_finite()
