"""Order entry, sans-IO: validate and build add_order, batch_add, amend_order and edit_order.

Everything here runs before a ``req_id`` is assigned, so bad input raises
[`ValidationError`][krakenwire.ValidationError] naming the field and nothing is registered or sent.
Prices and quantities become ``Decimal`` and go on the wire as exact JSON numbers: a ``float`` is
accepted only when its shortest repr is a short decimal that round-trips (``0.1`` -> ``0.1``), never
``0.30000000000000004``. Replies are decoded by the method registry (``_methods.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from . import _messages as m
from ._timefmt import format_timestamp, parse_timestamp
from ._validate import check_cl_ord_ids
from .errors import ValidationError

__all__ = [
    "BATCH_ADD_MAX",
    "BATCH_ADD_MIN",
    "OrderType",
    "Side",
    "TimeInForce",
    "amend_order_params",
    "add_order_params",
    "batch_add_params",
    "edit_order_params",
    "order",
    "to_decimal",
]

BATCH_ADD_MIN = 2
BATCH_ADD_MAX = 15
Side = Literal["buy", "sell"]
"""An order's side."""
OrderType = Literal["limit", "market"]
"""The order types krakenwire places (Kraken's ``order_type``)."""
TimeInForce = Literal["gtc", "gtd", "ioc"]  # no FOK on WS v2 (kraken-ws-v2.md §4.7)
"""Kraken's ``time_in_force``: good till cancelled, good till date (with ``expire_time``),
immediate or cancel (WS v2 has no fill-or-kill)."""
ORDER_TYPES = frozenset(get_args(OrderType))
SIDES = frozenset(get_args(Side))
TIME_IN_FORCE = frozenset(get_args(TimeInForce))
# A double holds any decimal of at most 15 significant digits exactly enough to round-trip.
_FLOAT_DIGITS = 15
_SYMBOL = re.compile(r"[A-Z0-9.]{1,16}/[A-Z0-9.]{1,16}")

Number = Decimal | int | str | float


def to_decimal(value: Any, field: str) -> Decimal:
    """``value`` as an exact, finite ``Decimal``.

    Accepts ``Decimal``, ``int``, a decimal string, or a ``float`` whose shortest repr has at
    most 15 significant digits (so the float is exactly the decimal the caller wrote).

    Raises:
        ValidationError: anything else (bool, NaN, infinity, ``"abc"``, an inexact float).
    """
    t = type(value)
    if t is Decimal:
        d: Decimal = value
    elif t is int:
        d = Decimal(value)
    elif t is str:
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(
                f"{field} must be a decimal number, got {value!r}", field=field, value=value
            ) from None
    elif t is float:
        text = repr(value)
        try:
            d = Decimal(text)
        except InvalidOperation:  # pragma: no cover - repr of a float always parses
            d = Decimal("NaN")
        if d.is_finite() and len(d.as_tuple().digits) > _FLOAT_DIGITS:
            raise ValidationError(
                f"{field} {text} is a binary float with no exact short decimal form; pass a "
                "Decimal or a string",
                field=field,
                value=value,
            )
    else:
        raise ValidationError(
            f"{field} must be a Decimal, int, decimal string or exact float, got "
            f"{t.__name__} {value!r}",
            field=field,
            value=value,
        )
    if not d.is_finite():
        raise ValidationError(f"{field} must be finite, got {value!r}", field=field, value=value)
    return d


def _positive(value: Any, field: str) -> Decimal:
    d = to_decimal(value, field)
    if d <= 0:
        raise ValidationError(f"{field} must be > 0, got {value!r}", field=field, value=value)
    return d


def _choice(value: Any, allowed: frozenset[str], field: str) -> str:
    if value not in allowed:
        raise ValidationError(
            f"{field} must be one of {sorted(allowed)}, got {value!r}", field=field, value=value
        )
    return str(value)


def _symbol(value: Any) -> str:
    if type(value) is not str or _SYMBOL.fullmatch(value) is None:
        raise ValidationError(
            f"symbol must look like 'BTC/USD', got {value!r}", field="symbol", value=value
        )
    return value


def _cl_ord_id(value: Any) -> str:
    if type(value) is not str:
        raise ValidationError(
            f"cl_ord_id must be a str, got {value!r}", field="cl_ord_id", value=value
        )
    return check_cl_ord_ids([value])[0]


def _userref(value: Any) -> int:
    if type(value) is not int or not 0 <= value < 2**31:
        raise ValidationError(
            f"order_userref must be an int in 0..2**31-1, got {value!r}",
            field="order_userref",
            value=value,
        )
    return int(value)


def _time(value: Any, field: str, digits: int) -> str:
    """An RFC3339 UTC string from an aware ``datetime`` or an RFC3339 string."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(
                f"{field} must be timezone-aware", field=field, value=value.isoformat()
            )
        return format_timestamp(value, digits=digits)
    if isinstance(value, str):
        try:
            parse_timestamp(value)
        except (ValueError, IndexError):
            raise ValidationError(
                f"{field} is not an RFC3339 time: {value!r}", field=field, value=value
            ) from None
        return value
    raise ValidationError(
        f"{field} must be a datetime or an RFC3339 string, got {value!r}", field=field, value=value
    )


def _opt_bool(value: Any, field: str) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise ValidationError(f"{field} must be a bool, got {value!r}", field=field, value=value)


def order(
    *,
    side: Side,
    order_qty: Number,
    order_type: OrderType = "limit",
    limit_price: Number | None = None,
    time_in_force: TimeInForce | None = None,
    expire_time: datetime | str | None = None,
    post_only: bool | None = None,
    reduce_only: bool | None = None,
    cl_ord_id: str | None = None,
    order_userref: int | None = None,
) -> m.BatchOrder:
    """One validated order (for `batch_add_params`, or inside add_order).

    Raises:
        ValidationError: naming the field: bad side/type/time in force, qty <= 0, a limit
            order without ``limit_price`` (or a market order with one), ``gtd`` without
            ``expire_time``, ``cl_ord_id`` with ``order_userref``, an inexact float.
    """
    otype = _choice(order_type, ORDER_TYPES, "order_type")
    o = m.BatchOrder(
        order_type=otype,
        side=_choice(side, SIDES, "side"),
        order_qty=_positive(order_qty, "order_qty"),
    )
    if otype == "limit":
        if limit_price is None:
            raise ValidationError(
                "a limit order needs limit_price", field="limit_price", value=None
            )
        o.limit_price = _positive(limit_price, "limit_price")
    elif limit_price is not None:
        raise ValidationError(
            "a market order takes no limit_price", field="limit_price", value=limit_price
        )
    if time_in_force is not None:
        o.time_in_force = _choice(time_in_force, TIME_IN_FORCE, "time_in_force")
    if (time_in_force == "gtd") != (expire_time is not None):
        raise ValidationError(
            "expire_time is required with time_in_force='gtd' and only then",
            field="expire_time",
            value=None if expire_time is None else str(expire_time),
        )
    if expire_time is not None:
        o.expire_time = _time(expire_time, "expire_time", 0)
    o.post_only = _opt_bool(post_only, "post_only") or None
    if o.post_only and (otype == "market" or time_in_force == "ioc"):
        raise ValidationError(
            "post_only applies to resting limit orders only", field="post_only", value=True
        )
    o.reduce_only = _opt_bool(reduce_only, "reduce_only") or None
    if cl_ord_id is not None and order_userref is not None:
        raise ValidationError(
            "give cl_ord_id or order_userref, not both (Kraken rejects the pair)",
            field="cl_ord_id",
            value=cl_ord_id,
        )
    if cl_ord_id is not None:
        o.cl_ord_id = _cl_ord_id(cl_ord_id)
    if order_userref is not None:
        o.order_userref = _userref(order_userref)
    return o


def add_order_params(
    token: str,
    *,
    symbol: str,
    deadline: datetime | str | None = None,
    validate: bool = False,
    **fields: Any,
) -> m.AddOrderParams:
    """Validated ``add_order`` params; ``fields`` are those of
    [`order`][krakenwire.Client.order]."""
    o = order(**fields)
    p = m.AddOrderParams(
        order_type=o.order_type,
        side=o.side,
        order_qty=o.order_qty,
        symbol=_symbol(symbol),
        token=token,
    )
    for name in o.__struct_fields__[3:]:
        setattr(p, name, getattr(o, name))
    if deadline is not None:
        p.deadline = _time(deadline, "deadline", 3)
    p.validate = _opt_bool(validate, "validate") or None
    return p


def batch_add_params(
    token: str,
    orders: Sequence[m.BatchOrder | dict[str, Any]],
    *,
    symbol: str,
    deadline: datetime | str | None = None,
    validate: bool = False,
) -> m.BatchAddParams:
    """Validated ``batch_add`` params: 2..15 orders, all of ``symbol``.

    ``orders`` items are dicts of [`order`][krakenwire.Client.order]'s fields (a ``symbol`` key, if
    present, must equal ``symbol``) or results of [`order`][krakenwire.Client.order].

    Raises:
        ValidationError: 1 or 16+ orders, mixed symbols, duplicate cl_ord_id, any bad order
            (``field`` is ``orders[i].<name>``-prefixed in the message, the field name in
            ``.field``).
    """
    sym = _symbol(symbol)
    if isinstance(orders, str | bytes | dict) or not isinstance(orders, Sequence):
        raise ValidationError("orders must be a list of orders", field="orders", value=None)
    n = len(orders)
    if not BATCH_ADD_MIN <= n <= BATCH_ADD_MAX:
        raise ValidationError(
            f"batch_add takes {BATCH_ADD_MIN}..{BATCH_ADD_MAX} orders, got {n}",
            field="orders",
            value=n,
        )
    built: list[m.BatchOrder] = []
    for i, item in enumerate(orders):
        if isinstance(item, m.BatchOrder):
            # Re-checked: a caller may have mutated the Struct since order() built it.
            item = {k: v for k in item.__struct_fields__ if (v := getattr(item, k)) is not None}
        if not isinstance(item, dict):
            raise ValidationError(
                f"orders[{i}] must be a dict of order fields, got {type(item).__name__}",
                field="orders",
                value=i,
            )
        fields = dict(item)
        other = fields.pop("symbol", sym)
        if other != sym:
            raise ValidationError(
                f"batch_add orders must share one symbol: orders[{i}] is {other!r}, not {sym!r}",
                field="symbol",
                value=other,
            )
        try:
            built.append(order(**fields))
        except ValidationError as exc:
            raise ValidationError(f"orders[{i}]: {exc}", field=exc.field, value=exc.value) from None
        except TypeError as exc:
            raise ValidationError(f"orders[{i}]: {exc}", field="orders", value=i) from None
    cls = [o.cl_ord_id for o in built if o.cl_ord_id is not None]
    if len(set(cls)) != len(cls):
        raise ValidationError("batch_add repeats a cl_ord_id", field="cl_ord_id", value=cls)
    p = m.BatchAddParams(orders=built, symbol=sym, token=token)
    if deadline is not None:
        p.deadline = _time(deadline, "deadline", 3)
    p.validate = _opt_bool(validate, "validate") or None
    return p


def amend_order_params(
    token: str,
    *,
    order_id: str | None = None,
    cl_ord_id: str | None = None,
    order_qty: Number | None = None,
    limit_price: Number | None = None,
    post_only: bool | None = None,
    deadline: datetime | str | None = None,
) -> m.AmendOrderParams:
    """Validated ``amend_order`` params: exactly one of ``order_id``/``cl_ord_id``, and at
    least one of ``order_qty``/``limit_price``/``post_only``."""
    if (order_id is None) == (cl_ord_id is None):
        raise ValidationError(
            "amend_order takes exactly one of order_id, cl_ord_id", field="order_id", value=None
        )
    p = m.AmendOrderParams(token=token)
    if order_id is not None:
        if type(order_id) is not str or not order_id:
            raise ValidationError("order_id must be a non-empty str", field="order_id")
        p.order_id = order_id
    else:
        p.cl_ord_id = _cl_ord_id(cl_ord_id)
    if order_qty is None and limit_price is None and post_only is None:
        raise ValidationError(
            "amend_order needs order_qty, limit_price or post_only", field="order_qty"
        )
    if order_qty is not None:
        p.order_qty = _positive(order_qty, "order_qty")
    if limit_price is not None:
        p.limit_price = _positive(limit_price, "limit_price")
    p.post_only = _opt_bool(post_only, "post_only")
    if deadline is not None:
        p.deadline = _time(deadline, "deadline", 3)
    return p


def edit_order_params(
    token: str,
    *,
    order_id: str,
    symbol: str,
    order_qty: Number | None = None,
    limit_price: Number | None = None,
    post_only: bool | None = None,
    order_userref: int | None = None,
    deadline: datetime | str | None = None,
    validate: bool = False,
) -> m.EditOrderParams:
    """Validated ``edit_order`` params (no cl_ord_id: Kraken's edit_order has none)."""
    if type(order_id) is not str or not order_id:
        raise ValidationError("order_id must be a non-empty str", field="order_id")
    p = m.EditOrderParams(order_id=order_id, symbol=_symbol(symbol), token=token)
    if order_qty is None and limit_price is None:
        raise ValidationError("edit_order needs order_qty or limit_price", field="order_qty")
    if order_qty is not None:
        p.order_qty = _positive(order_qty, "order_qty")
    if limit_price is not None:
        p.limit_price = _positive(limit_price, "limit_price")
    p.post_only = _opt_bool(post_only, "post_only")
    if order_userref is not None:
        p.order_userref = _userref(order_userref)
    if deadline is not None:
        p.deadline = _time(deadline, "deadline", 3)
    p.validate = _opt_bool(validate, "validate") or None
    return p
