"""Order entry, sans-IO: validate and build add_order, batch_add, amend_order and edit_order.

Everything here runs before a ``req_id`` is assigned, so bad input raises
`ValidationError` naming the field and nothing is registered or sent. Each value is
checked in ``_orderfields.py``; this module holds the rules that tie fields to the order type,
as Kraken's add_order page states them (docs.kraken.com .../spot-websocket-v2/add_order):

- ``limit_price`` is required on the limit-priced types (limit, iceberg, stop-loss-limit,
  take-profit-limit, trailing-stop-limit) and refused on every other type;
- ``triggers`` is required on the triggered types (stop-loss, stop-loss-limit, take-profit,
  take-profit-limit, trailing-stop, trailing-stop-limit) and refused on the others; a trailing
  stop's trigger is a distance from the peak, so its ``price_type`` is ``pct`` or ``quote``
  and its price > 0;
- ``limit_price_type`` only on trailing-stop-limit (the limit is then an offset from the
  trigger price); ``display_qty`` only, and always, on iceberg, at least 1/15 of ``order_qty``;
- ``time_in_force`` ``fok`` only on limit orders; ``gtd`` needs ``expire_time`` and
  ``expire_time`` needs ``gtd``; ``post_only`` only on limit and iceberg orders, never with
  ``ioc``/``fok``;
- ``no_mpp`` only on market orders (deprecated by Kraken, still accepted);
- ``cash_order_qty`` (an amount of the quote currency) only on buy market orders without
  ``margin``, and instead of ``order_qty``;
- ``cl_ord_id`` or ``order_userref``, not both; no ``cl_ord_id`` with ``conditional``
  (Kraken's SDK notes the engine refuses it);
- ``conditional`` (the close order placed when this one fills) follows the same rules for its
  own type, with ``trigger_price``/``trigger_price_type`` in place of ``triggers``;
- ``deadline`` at most 60 s ahead.

Replies are decoded by the method table (``methods/``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict, get_args

import msgspec

from . import _messages as m
from . import _orderfields as _f
from ._orderfields import (
    FEE_PREFERENCES,
    PRICE_TYPES,
    REFERENCES,
    STP_TYPES,
    FeePreference,
    Number,
    PriceType,
    StpType,
    TriggerReference,
    choice,
    opt_bool,
    positive,
    printable,
    rfc3339,
    to_decimal,
    userref,
)
from .errors import ValidationError

__all__ = [
    "BATCH_ADD_MAX",
    "BATCH_ADD_MIN",
    "ConditionalOrderType",
    "ConditionalSpec",
    "FeePreference",
    "Number",
    "OrderType",
    "PriceType",
    "Side",
    "StpType",
    "TimeInForce",
    "TriggerReference",
    "TriggerSpec",
    "add_order_params",
    "amend_order_params",
    "batch_add_params",
    "edit_order_params",
    "order",
    "to_decimal",
]

BATCH_ADD_MIN = 2
BATCH_ADD_MAX = 15
Side = Literal["buy", "sell"]
"""An order's side."""
OrderType = Literal[
    "limit",
    "market",
    "iceberg",
    "stop-loss",
    "stop-loss-limit",
    "take-profit",
    "take-profit-limit",
    "trailing-stop",
    "trailing-stop-limit",
    "settle-position",
]
"""Kraken's ``order_type``: every type WS v2 ``add_order`` documents."""
# The close order of a one-triggers-other: no market, iceberg or settle-position.
ConditionalOrderType = Literal[
    "limit",
    "stop-loss",
    "stop-loss-limit",
    "take-profit",
    "take-profit-limit",
    "trailing-stop",
    "trailing-stop-limit",
]
"""The order types a conditional close order may have (no market, iceberg or settle).
"""
TimeInForce = Literal["gtc", "gtd", "ioc", "fok"]
"""Kraken's ``time_in_force``: good till cancelled, good till date (with ``expire_time``),
immediate or cancel, fill or kill (limit orders only)."""
ORDER_TYPES = frozenset(get_args(OrderType))
CONDITIONAL_TYPES = frozenset(get_args(ConditionalOrderType))
SIDES = frozenset(get_args(Side))
TIME_IN_FORCE = frozenset(get_args(TimeInForce))
LIMIT_PRICED = frozenset(
    ("limit", "iceberg", "stop-loss-limit", "take-profit-limit", "trailing-stop-limit")
)
TRIGGERED = frozenset(
    (
        "stop-loss",
        "stop-loss-limit",
        "take-profit",
        "take-profit-limit",
        "trailing-stop",
        "trailing-stop-limit",
    )
)
TRAILING = frozenset(("trailing-stop", "trailing-stop-limit"))
_RELATIVE = frozenset(("pct", "quote"))


class TriggerSpec(TypedDict):
    """``triggers`` of a triggered order, as a dict: ``{"price": 29000}`` triggers at 29000
    (the last trade); ``{"price": -5, "price_type": "pct"}`` 5 % below it."""

    price: Number
    price_type: NotRequired[PriceType]
    reference: NotRequired[TriggerReference]


class ConditionalSpec(TypedDict):
    """``conditional``: the close order placed once this one fills."""

    order_type: ConditionalOrderType
    limit_price: NotRequired[Number]
    limit_price_type: NotRequired[PriceType]
    trigger_price: NotRequired[Number]
    trigger_price_type: NotRequired[PriceType]


def _refuse(field: str, why: str, value: Any = None) -> ValidationError:
    return ValidationError(why, field=field, value=value)


def _as_dict(value: Any, field: str, struct: type[msgspec.Struct]) -> dict[str, Any]:
    if isinstance(value, struct):
        return {k: v for k in value.__struct_fields__ if (v := getattr(value, k)) is not None}
    if isinstance(value, Mapping):
        return dict(value)
    raise _refuse(field, f"{field} must be a dict, got {type(value).__name__}", repr(value))


def _triggers(value: Any, otype: str) -> m.Triggers:
    spec = _as_dict(value, "triggers", m.Triggers)
    extra = set(spec) - {"price", "price_type", "reference"}
    if extra:
        raise _refuse("triggers", f"triggers takes price, price_type, reference; not {extra}")
    if "price" not in spec:
        raise _refuse("triggers.price", "triggers needs a price")
    kind = choice(spec.get("price_type", "static"), PRICE_TYPES, "triggers.price_type")
    ref = spec.get("reference")
    t = m.Triggers(price=to_decimal(spec["price"], "triggers.price"))
    if ref is not None:
        t.reference = choice(ref, REFERENCES, "triggers.reference")
    if "price_type" in spec:
        t.price_type = kind
    if otype in TRAILING:
        if kind not in _RELATIVE:
            raise _refuse(
                "triggers.price_type",
                f"a {otype} trigger is a distance from the peak: price_type 'pct' or 'quote'",
                kind,
            )
        if t.price <= 0:
            raise _refuse("triggers.price", f"a {otype} distance must be > 0", str(t.price))
    elif kind == "static" and t.price <= 0:
        raise _refuse("triggers.price", "a static trigger price must be > 0", str(t.price))
    elif t.price == 0:
        raise _refuse("triggers.price", "a relative trigger of 0 is no trigger", "0")
    return t


def _limit(otype: str, price: Any, price_type: Any, field: str = "limit_price") -> Any:
    """``(limit_price, limit_price_type)`` checked against the order type."""
    ptype_field = field + "_type"
    if otype in LIMIT_PRICED:
        if price is None:
            raise _refuse(field, f"a {otype} order needs {field}")
    elif price is not None:
        raise _refuse(field, f"a {otype} order takes no {field}", str(price))
    if price_type is not None:
        if otype != "trailing-stop-limit":
            raise _refuse(
                ptype_field, f"{ptype_field} is only for trailing-stop-limit orders", price_type
            )
        price_type = choice(price_type, PRICE_TYPES, ptype_field)
    if price is None:
        return None, None
    if price_type in _RELATIVE:
        # An offset from the trigger price: 0 is the trigger price itself.
        return to_decimal(price, field), price_type
    return positive(price, field), price_type


def _conditional(value: Any) -> m.Conditional:
    spec = _as_dict(value, "conditional", m.Conditional)
    allowed = {"order_type", "limit_price", "limit_price_type", "trigger_price"}
    extra = set(spec) - allowed - {"trigger_price_type"}
    if extra:
        raise _refuse("conditional", f"conditional takes {sorted(allowed)}...; not {extra}")
    otype = choice(spec.get("order_type"), CONDITIONAL_TYPES, "conditional.order_type")
    price, ptype = _limit(
        otype,
        spec.get("limit_price"),
        spec.get("limit_price_type"),
        "conditional.limit_price",
    )
    c = m.Conditional(order_type=otype, limit_price=price, limit_price_type=ptype)
    trig, ttype = spec.get("trigger_price"), spec.get("trigger_price_type")
    if otype in TRIGGERED:
        if trig is None:
            raise _refuse("conditional.trigger_price", f"a {otype} close needs trigger_price")
        spec_t: dict[str, Any] = {"price": trig}
        if ttype is not None:
            spec_t["price_type"] = ttype
        try:
            t = _triggers(spec_t, otype)
        except ValidationError as exc:
            name = (exc.field or "").replace("triggers.price", "conditional.trigger_price")
            raise _refuse(name, str(exc).replace("triggers", "conditional"), exc.value) from None
        c.trigger_price, c.trigger_price_type = t.price, t.price_type
    elif trig is not None or ttype is not None:
        raise _refuse(
            "conditional.trigger_price", f"a {otype} close takes no trigger_price", str(trig)
        )
    return c


def order(
    *,
    side: Side,
    order_qty: Number | None = None,
    order_type: OrderType = "limit",
    limit_price: Number | None = None,
    limit_price_type: PriceType | None = None,
    triggers: TriggerSpec | m.Triggers | None = None,
    time_in_force: TimeInForce | None = None,
    margin: bool | None = None,
    post_only: bool | None = None,
    reduce_only: bool | None = None,
    effective_time: datetime | str | None = None,
    expire_time: datetime | str | None = None,
    cl_ord_id: str | None = None,
    order_userref: int | None = None,
    conditional: ConditionalSpec | m.Conditional | None = None,
    display_qty: Number | None = None,
    fee_preference: FeePreference | None = None,
    no_mpp: bool | None = None,
    stp_type: StpType | None = None,
    cash_order_qty: Number | None = None,
) -> m.BatchOrder:
    """One validated order (for `batch_add_params`, or inside add_order).

    See the module docstring for the rules (which order type takes which field).

    Raises:
        ValidationError: naming the field (``triggers.price``, ``conditional.order_type``...)
            of the first rule the order breaks.
    """
    otype = choice(order_type, ORDER_TYPES, "order_type")
    o = m.BatchOrder(order_type=otype, side=choice(side, SIDES, "side"))
    # -- quantity: order_qty, or cash_order_qty on a buy market order without margin
    o.margin = opt_bool(margin, "margin") or None
    if cash_order_qty is not None:
        if otype != "market" or o.side != "buy" or o.margin:
            raise _refuse(
                "cash_order_qty",
                "cash_order_qty is only for buy market orders without margin",
                str(cash_order_qty),
            )
        if order_qty is not None:
            raise _refuse("order_qty", "give order_qty or cash_order_qty, not both")
        o.cash_order_qty = positive(cash_order_qty, "cash_order_qty")
    elif order_qty is None:
        raise _refuse("order_qty", "an order needs order_qty (or cash_order_qty)")
    else:
        o.order_qty = positive(order_qty, "order_qty")
    # -- prices
    o.limit_price, o.limit_price_type = _limit(otype, limit_price, limit_price_type)
    if otype in TRIGGERED:
        if triggers is None:
            raise _refuse("triggers", f"a {otype} order needs triggers (its trigger price)")
        o.triggers = _triggers(triggers, otype)
    elif triggers is not None:
        raise _refuse("triggers", f"a {otype} order takes no triggers", repr(triggers))
    # -- iceberg
    if otype == "iceberg":
        if display_qty is None:
            raise _refuse("display_qty", "an iceberg order needs display_qty")
        shown = positive(display_qty, "display_qty")
        if o.order_qty is not None and not o.order_qty / 15 <= shown <= o.order_qty:
            raise _refuse(
                "display_qty",
                "display_qty must be between order_qty/15 and order_qty",
                str(shown),
            )
        o.display_qty = shown
    elif display_qty is not None:
        raise _refuse("display_qty", "display_qty is only for iceberg orders", str(display_qty))
    # -- time in force
    if time_in_force is not None:
        o.time_in_force = choice(time_in_force, TIME_IN_FORCE, "time_in_force")
        if o.time_in_force == "fok" and otype != "limit":
            raise _refuse("time_in_force", "fok is only for limit orders", "fok")
    if (o.time_in_force == "gtd") != (expire_time is not None):
        raise _refuse(
            "expire_time",
            "expire_time is required with time_in_force='gtd' and only then",
            None if expire_time is None else str(expire_time),
        )
    if expire_time is not None:
        o.expire_time = rfc3339(expire_time, "expire_time", 0)
    if effective_time is not None:
        o.effective_time = rfc3339(effective_time, "effective_time", 0)
    # -- flags
    o.post_only = opt_bool(post_only, "post_only") or None
    if o.post_only and (otype not in ("limit", "iceberg") or o.time_in_force in ("ioc", "fok")):
        raise _refuse("post_only", "post_only applies to resting limit orders only", True)
    o.reduce_only = opt_bool(reduce_only, "reduce_only") or None
    o.no_mpp = opt_bool(no_mpp, "no_mpp") or None
    if o.no_mpp and otype != "market":
        raise _refuse("no_mpp", "no_mpp is only for market orders", True)
    if stp_type is not None:
        o.stp_type = choice(stp_type, STP_TYPES, "stp_type")
    if fee_preference is not None:
        o.fee_preference = choice(fee_preference, FEE_PREFERENCES, "fee_preference")
    # -- ids and the close order
    if cl_ord_id is not None and order_userref is not None:
        raise _refuse(
            "cl_ord_id", "give cl_ord_id or order_userref, not both (Kraken rejects the pair)"
        )
    if cl_ord_id is not None:
        o.cl_ord_id = _f.cl_ord_id(cl_ord_id)
    if order_userref is not None:
        o.order_userref = userref(order_userref)
    if conditional is not None:
        if otype == "settle-position":
            raise _refuse("conditional", "a settle-position order takes no conditional close")
        if o.cl_ord_id is not None:
            raise _refuse("cl_ord_id", "an order with a conditional close takes no cl_ord_id")
        o.conditional = _conditional(conditional)
    return o


def add_order_params(
    token: str,
    *,
    symbol: str,
    deadline: datetime | str | None = None,
    validate: bool = False,
    sender_sub_id: str | None = None,
    **fields: Any,
) -> m.AddOrderParams:
    """Validated ``add_order`` params; ``fields`` are those of `order`."""
    try:
        o = order(**fields)
    except TypeError as exc:  # an unknown keyword
        raise _refuse("order", str(exc)) from None
    p = m.AddOrderParams(
        order_type=o.order_type, side=o.side, symbol=_f.symbol(symbol), token=token
    )
    for name in o.__struct_fields__[2:]:
        setattr(p, name, getattr(o, name))
    if deadline is not None:
        p.deadline = _f.deadline(deadline)
    p.validate = opt_bool(validate, "validate") or None
    if sender_sub_id is not None:
        p.sender_sub_id = printable(sender_sub_id, "sender_sub_id")
    return p


def batch_add_params(
    token: str,
    orders: Sequence[m.BatchOrder | Mapping[str, Any]],
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
            (``orders[i]:`` in the message, the field name in ``.field``).
    """
    sym = _f.symbol(symbol)
    if isinstance(orders, str | bytes | Mapping) or not isinstance(orders, Sequence):
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
        if not isinstance(item, Mapping):
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
        p.deadline = _f.deadline(deadline)
    p.validate = opt_bool(validate, "validate") or None
    return p


def _order_id(value: Any) -> str:
    if type(value) is not str or not value or not value.isprintable() or not value.isascii():
        raise ValidationError(
            f"order_id must be a non-empty printable ASCII str, got {value!r}", field="order_id"
        )
    return value


def amend_order_params(
    token: str,
    *,
    order_id: str | None = None,
    cl_ord_id: str | None = None,
    order_qty: Number | None = None,
    display_qty: Number | None = None,
    limit_price: Number | None = None,
    limit_price_type: PriceType | None = None,
    post_only: bool | None = None,
    trigger_price: Number | None = None,
    trigger_price_type: PriceType | None = None,
    deadline: datetime | str | None = None,
    symbol: str | None = None,
) -> m.AmendOrderParams:
    """Validated ``amend_order`` params: exactly one of ``order_id``/``cl_ord_id``, and at
    least one change. The order's type is not known here: Kraken refuses a field the order
    cannot take (``display_qty`` on a non-iceberg...)."""
    if (order_id is None) == (cl_ord_id is None):
        raise ValidationError(
            "amend_order takes exactly one of order_id, cl_ord_id", field="order_id", value=None
        )
    p = m.AmendOrderParams(token=token)
    if order_id is not None:
        p.order_id = _order_id(order_id)
    else:
        p.cl_ord_id = _f.cl_ord_id(cl_ord_id)
    changes = (order_qty, display_qty, limit_price, post_only, trigger_price)
    if all(v is None for v in changes):
        raise ValidationError(
            "amend_order needs order_qty, display_qty, limit_price, post_only or trigger_price",
            field="order_qty",
        )
    if order_qty is not None:
        p.order_qty = positive(order_qty, "order_qty")
    if display_qty is not None:
        p.display_qty = positive(display_qty, "display_qty")
        if p.order_qty is not None and not p.order_qty / 15 <= p.display_qty <= p.order_qty:
            raise _refuse("display_qty", "display_qty must be between order_qty/15 and order_qty")
    if limit_price_type is not None:
        if limit_price is None:
            raise _refuse("limit_price_type", "limit_price_type needs limit_price")
        p.limit_price_type = choice(limit_price_type, PRICE_TYPES, "limit_price_type")
    if limit_price is not None:
        relative = p.limit_price_type in _RELATIVE
        p.limit_price = (to_decimal if relative else positive)(limit_price, "limit_price")
    if trigger_price_type is not None:
        if trigger_price is None:
            raise _refuse("trigger_price_type", "trigger_price_type needs trigger_price")
        p.trigger_price_type = choice(trigger_price_type, PRICE_TYPES, "trigger_price_type")
    if trigger_price is not None:
        relative = p.trigger_price_type in _RELATIVE
        p.trigger_price = (to_decimal if relative else positive)(trigger_price, "trigger_price")
    p.post_only = opt_bool(post_only, "post_only")
    if deadline is not None:
        p.deadline = _f.deadline(deadline)
    if symbol is not None:
        p.symbol = _f.symbol(symbol)
    return p


def edit_order_params(
    token: str,
    *,
    order_id: str,
    symbol: str,
    order_qty: Number | None = None,
    display_qty: Number | None = None,
    limit_price: Number | None = None,
    triggers: TriggerSpec | m.Triggers | None = None,
    post_only: bool | None = None,
    reduce_only: bool | None = None,
    fee_preference: FeePreference | None = None,
    no_mpp: bool | None = None,
    order_userref: int | None = None,
    deadline: datetime | str | None = None,
    validate: bool = False,
) -> m.EditOrderParams:
    """Validated ``edit_order`` params (no cl_ord_id: Kraken's edit_order has none)."""
    p = m.EditOrderParams(order_id=_order_id(order_id), symbol=_f.symbol(symbol), token=token)
    changes = (order_qty, display_qty, limit_price, triggers, post_only, reduce_only)
    if all(v is None for v in changes) and fee_preference is None and order_userref is None:
        raise ValidationError(
            "edit_order needs something to change (order_qty, limit_price, triggers...)",
            field="order_qty",
        )
    if order_qty is not None:
        p.order_qty = positive(order_qty, "order_qty")
    if display_qty is not None:
        p.display_qty = positive(display_qty, "display_qty")
    if limit_price is not None:
        p.limit_price = positive(limit_price, "limit_price")
    if triggers is not None:
        # The order's type is not known here: a stop/take-profit trigger (a trailing stop's
        # relative distance is checked by Kraken).
        p.triggers = _triggers(triggers, "stop-loss")
    p.post_only = opt_bool(post_only, "post_only")
    p.reduce_only = opt_bool(reduce_only, "reduce_only")
    if fee_preference is not None:
        p.fee_preference = choice(fee_preference, FEE_PREFERENCES, "fee_preference")
    p.no_mpp = opt_bool(no_mpp, "no_mpp") or None
    if order_userref is not None:
        p.order_userref = userref(order_userref)
    if deadline is not None:
        p.deadline = _f.deadline(deadline)
    p.validate = opt_bool(validate, "validate") or None
    return p
