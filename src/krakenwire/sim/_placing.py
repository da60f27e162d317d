"""Order entry: add_order, batch_add, amend_order and edit_order (kraken-ws-v2.md §4.7-§4.10).

Validation failures answer with Kraken's error strings before anything changes; accepted
orders go to the market, which rests them, holds stop-loss/take-profit orders until their
trigger, or fills them at once (market orders, marketable limits while the market runs).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from ._book import Account
from ._clock import parse_time
from ._ctx import (
    INSUFFICIENT_FUNDS,
    INVALID,
    INVALID_PRICE,
    ORDERS_LIMIT,
    Ctx,
    age_cost,
    charge,
    refuse,
)
from ._engine import Engine
from ._order import Order, new_order_id
from ._orderrules import NO_MPP, NO_MPP_DEPRECATED, TRIGGERED, check, numbers, trigger_price
from ._orderrules import deadline as _deadline
from ._wire import (
    AddOrderParams,
    AmendOrderParams,
    AmendResult,
    BatchAddParams,
    BatchAddRow,
    EditOrderParams,
    EditResult,
    OrderIdResult,
    _OrderFields,
)

__all__ = ["add_order", "amend_order", "batch_add", "edit_order"]

_QTY = Decimal("0.00000001")


def add_order(eng: Engine, ctx: Ctx, acct: Account, p: AddOrderParams) -> None:
    error, warnings = check(eng, acct, p, p.symbol)
    if error is not None:
        refuse(eng, ctx, acct, p.symbol, 1.0, error)  # the fixed cost, even so
        return
    error = _deadline(p.deadline)
    if error is None:
        error = charge(eng, acct, p.symbol, 1.0, True)
    if error is None and not p.validate:
        error = _engine(eng, acct, p, p.symbol, 0, Decimal(0))
    if error is not None:
        ctx.fail(error)
        return
    if p.validate:
        ctx.ok(OrderIdResult("", warnings=warnings or None))
        return
    order = _order(eng, p, p.symbol)
    ctx.entry.placed = [order.order_id]
    ctx.ok(OrderIdResult(order.order_id, order.cl_ord_id, p.order_userref, warnings or None))
    eng.market.enter(acct, [order])


def batch_add(eng: Engine, ctx: Ctx, acct: Account, p: BatchAddParams) -> None:
    fixed = len(p.orders) / 2
    if not 2 <= len(p.orders) <= 15:
        refuse(eng, ctx, acct, p.symbol, fixed, INVALID)
        return
    cl_ids = [f.cl_ord_id for f in p.orders if f.cl_ord_id is not None]
    if len(set(cl_ids)) != len(cl_ids):
        refuse(eng, ctx, acct, p.symbol, fixed, INVALID)
        return
    # A validation failure rejects the whole batch (docs: batch_add).
    for fields in p.orders:
        error, _ = check(eng, acct, fields, p.symbol)
        if error is not None:
            refuse(eng, ctx, acct, p.symbol, fixed, error)
            return
    error = _deadline(p.deadline) or charge(eng, acct, p.symbol, len(p.orders) / 2, True)
    if error is not None:
        ctx.fail(error)
        return
    if p.validate:
        ctx.ok([BatchAddRow("") for _ in p.orders])
        return
    # An engine (pre-match) failure rejects only that order: its row carries the error and
    # the reply is success:false with the first such error (kraken-ws-v2.md §4.8).
    rows: list[BatchAddRow] = []
    placed: list[Order] = []
    first_error: str | None = None
    for f in p.orders:
        notional = sum((_notional(eng, o) for o in placed), Decimal(0))
        error = _engine(eng, acct, f, p.symbol, len(placed), notional)
        if error is not None:
            first_error = first_error or error
            rows.append(BatchAddRow(error=error, cl_ord_id=f.cl_ord_id))
            continue
        order = _order(eng, f, p.symbol)
        placed.append(order)
        rows.append(BatchAddRow(order.order_id, order.cl_ord_id, f.order_userref))
    ctx.entry.placed = [o.order_id for o in placed]
    if first_error is None:
        ctx.ok(rows)
    else:
        ctx.entry.error = first_error
        ctx.replies.append((rows, first_error))
    if placed:
        eng.market.enter(acct, placed)


def amend_order(eng: Engine, ctx: Ctx, acct: Account, p: AmendOrderParams) -> None:
    ident = p.order_id if p.order_id is not None else p.cl_ord_id
    ctx.entry.requested = [ident] if ident is not None else []
    bad = numbers(p)
    if bad is not None:
        ctx.fail(bad)
        return
    if (p.order_id is None) == (p.cl_ord_id is None):
        ctx.fail(INVALID)
        return
    found = [p.order_id] if p.order_id in acct.open_orders else acct.find_cl(p.cl_ord_id or "")
    if not found or found[0] is None:
        ctx.fail(eng.config.amend_error)
        return
    order = acct.open_orders[found[0]]
    bad = _bad_change(p.limit_price, p.order_qty, p.limit_price_type)
    if bad is None and p.trigger_price is not None and not order.untriggered:
        bad = INVALID  # only an untriggered order has a trigger price to amend
    if bad is None and p.limit_price is not None and order.limit_price is None:
        if order.limit_offset is None:
            bad = INVALID  # a market or stop order has no limit price
    if bad is None and p.limit_price_type is not None and order.order_type != "trailing-stop-limit":
        bad = INVALID
    if bad is None and p.display_qty is not None:
        qty = p.order_qty if p.order_qty is not None else order.order_qty
        if order.order_type != "iceberg" or not qty / 15 <= p.display_qty <= qty:
            bad = INVALID
    if bad is not None:
        refuse(eng, ctx, acct, order.symbol, 1.0, bad)
        return
    cost = 1.0 + age_cost(order, "amend")
    error = _deadline(p.deadline) or charge(eng, acct, order.symbol, cost, True)
    if error is not None:
        ctx.fail(error)
        return
    if p.order_qty is not None:
        order.order_qty = p.order_qty
    if p.display_qty is not None:
        order.display_qty = p.display_qty
    if p.limit_price is not None:
        if order.limit_offset is not None and not order.triggered:
            order.limit_offset = p.limit_price
            order.limit_offset_type = p.limit_price_type or order.limit_offset_type
        else:
            order.limit_price = p.limit_price
    if p.post_only is not None:
        order.post_only = p.post_only
    if p.trigger_price is not None:
        _retrigger(eng, order, p.trigger_price, p.trigger_price_type)
    ctx.entry.placed = [order.order_id]
    # Both ids: the page's schema lists order_id and cl_ord_id (its example shows only the one
    # the request named).
    ctx.ok(AmendResult(new_order_id(), order.order_id, order.cl_ord_id))
    acct.amended(order)
    if order.left <= 0:  # the new quantity is at or below what already filled
        acct.close([order], "canceled", "User requested")
    elif eng.market.live:
        eng.market.match(acct)


def _retrigger(eng: Engine, order: Order, price: Decimal, kind: str | None) -> None:
    """A new trigger price: a trailing stop's new distance, else a price (static) or an
    offset from the current price (pct, quote)."""
    if order.trail is not None:
        order.trail = price
        order.trail_type = kind or order.trail_type
        return
    last = eng.market.price(order.symbol)
    trig = {"price": price, "price_type": kind or "static"}
    at = trigger_price(trig, order.order_type, order.side, last, eng.config.tick_size)
    if at is not None:
        order.trigger_price = at[0]


def _bad_change(
    limit_price: Decimal | None, order_qty: Decimal | None, price_type: str | None = None
) -> str | None:
    """The error for a non-positive new price or quantity of an amend or edit."""
    if limit_price is not None and limit_price <= 0 and price_type not in ("pct", "quote"):
        return INVALID_PRICE
    if order_qty is not None and order_qty <= 0:
        return INVALID
    return None


def edit_order(eng: Engine, ctx: Ctx, acct: Account, p: EditOrderParams) -> None:
    ctx.entry.requested = [p.order_id]
    bad = numbers(p)
    if bad is not None:
        ctx.fail(bad)
        return
    old = acct.open_orders.get(p.order_id)
    if old is None:
        ctx.fail(eng.config.amend_error)
        return
    if p.symbol != old.symbol or old.trigger_price is not None or old.conditional is not None:
        # edit_order is not for triggered or conditional orders (docs: edit_order)
        refuse(eng, ctx, acct, old.symbol, 1.0, INVALID)
        return
    bad = _bad_change(p.limit_price, p.order_qty)
    if bad is None and p.no_mpp and old.order_type != "market":
        bad = NO_MPP
    if bad is None and p.triggers is not None:
        bad = INVALID  # the order has no trigger to change (triggered orders are refused)
    if bad is None and p.display_qty is not None:
        qty = p.order_qty if p.order_qty is not None else old.order_qty
        if old.order_type != "iceberg" or not qty / 15 <= p.display_qty <= qty:
            bad = INVALID
    if bad is None and p.fee_preference not in (None, "base", "quote"):
        bad = INVALID
    if bad is not None:
        refuse(eng, ctx, acct, old.symbol, 1.0, bad)
        return
    cost = 1.0 + age_cost(old, "edit")
    error = _deadline(p.deadline) or charge(eng, acct, old.symbol, cost, True)
    if error is not None:
        ctx.fail(error)
        return
    warnings = [NO_MPP_DEPRECATED] if p.no_mpp is not None else None
    if p.validate:
        ctx.ok(EditResult("", p.order_id, warnings))
        return
    new = Order(
        order_id=new_order_id(),
        symbol=old.symbol,
        side=old.side,
        order_type=old.order_type,
        order_qty=p.order_qty if p.order_qty is not None else old.order_qty,
        limit_price=p.limit_price if p.limit_price is not None else old.limit_price,
        order_userref=p.order_userref if p.order_userref is not None else old.order_userref,
        post_only=p.post_only if p.post_only is not None else old.post_only,
        reduce_only=p.reduce_only if p.reduce_only is not None else old.reduce_only,
        time_in_force=old.time_in_force,
        expire_at=old.expire_at,
        display_qty=p.display_qty if p.display_qty is not None else old.display_qty,
        fee_asset=p.fee_preference or old.fee_asset,
        margin=old.margin,
        stp_type=old.stp_type,
    )  # edit_order has no cl_ord_id: the replacement carries none (kraken-ws-v2.md §4.10)
    ctx.entry.cancelled = [o.order_id for o in acct.cancel([old.order_id])]
    ctx.entry.placed = [new.order_id]
    ctx.ok(EditResult(new.order_id, old.order_id, warnings))
    eng.market.enter(acct, [new])


def _engine(
    eng: Engine, acct: Account, f: _OrderFields, symbol: str, pending: int, notional: Decimal
) -> str | None:
    """Pre-match engine checks (one order only): open-order cap, funds."""
    if f.order_type != "market" and f.time_in_force not in ("ioc", "fok"):
        if acct.open_count(symbol) + pending >= eng.config.max_open_orders:
            return ORDERS_LIMIT
    if acct.funds is not None:
        mkt = eng.config.market_price
        price = f.limit_price if f.limit_price is not None else mkt
        cost = f.cash_order_qty if f.order_qty is None else f.order_qty * price
        if acct.open_notional(mkt) + notional + cost > acct.funds:
            return INSUFFICIENT_FUNDS
    return None


def _notional(eng: Engine, o: Order) -> Decimal:
    return o.order_qty * (o.limit_price if o.limit_price is not None else eng.config.market_price)


def _order(eng: Engine, f: _OrderFields, symbol: str) -> Order:
    """The engine's order for fields that passed `check`."""
    last = eng.market.price(symbol)
    tick = eng.config.tick_size
    qty = f.order_qty
    if qty is None:  # cash_order_qty: what the quote amount buys at the current price
        qty = (f.cash_order_qty / last).quantize(_QTY, ROUND_DOWN)
    o = Order(
        order_id=new_order_id(),
        symbol=symbol,
        side=f.side,
        order_type=f.order_type,
        order_qty=qty,
        limit_price=f.limit_price,
        cl_ord_id=f.cl_ord_id,
        order_userref=f.order_userref or 0,
        post_only=f.post_only,
        reduce_only=f.reduce_only,
        time_in_force=f.time_in_force,
        expire_at=parse_time(f.expire_time) if f.expire_time is not None else None,
        display_qty=f.display_qty,
        fee_asset=f.fee_preference or "",
        margin=f.margin,
        stp_type=f.stp_type or "cancel_newest",
        effective_at=parse_time(f.effective_time) if f.effective_time is not None else None,
        conditional=f.conditional,
    )
    if f.order_type in TRIGGERED:
        trig = f.triggers or {}
        at = trigger_price(trig, f.order_type, f.side, last, tick)
        assert at is not None  # check() refused a malformed trigger
        o.trigger_price, o.trail = at
        o.trigger_reference = str(trig.get("reference", "last"))
        if o.trail is not None:
            o.trail_type = str(trig.get("price_type"))
            o.peak = last
        if f.limit_price_type in ("pct", "quote"):
            o.limit_offset, o.limit_offset_type = f.limit_price, f.limit_price_type
            o.limit_price = None  # fixed from the trigger price when it fires
    return o
