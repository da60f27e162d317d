"""Order entry: add_order, batch_add, amend_order and edit_order (kraken-ws-v2.md §4.7-§4.10).

Validation failures answer with Kraken's error strings before anything changes; accepted
orders go to the market, which rests them, holds stop-loss/take-profit orders until their
trigger, or fills them at once (market orders, marketable limits while the market runs).
"""

from __future__ import annotations

import time
from decimal import Decimal

from ._book import Account
from ._clock import parse_time
from ._ctx import (
    DEADLINE,
    INSUFFICIENT_FUNDS,
    INVALID,
    INVALID_PRICE,
    ORDERS_LIMIT,
    POST_ONLY_MODE,
    Ctx,
    age_cost,
    charge,
    refuse,
)
from ._engine import Engine
from ._order import Order, new_order_id
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

_TRIGGERED = frozenset(("stop-loss", "stop-loss-limit", "take-profit", "take-profit-limit"))
# An iceberg rests like a limit order here (the simulated book has no visible depth).
_LIMITED = frozenset(("limit", "iceberg", "stop-loss-limit", "take-profit-limit"))
_TYPES = frozenset(("limit", "iceberg", "market")) | _TRIGGERED
_SIDES = frozenset(("buy", "sell"))
# fok is accepted on WS v2 (docs: add_order time_in_force gtc|gtd|ioc|fok).
_TIFS = frozenset(("gtc", "gtd", "ioc", "fok"))


def add_order(eng: Engine, ctx: Ctx, acct: Account, p: AddOrderParams) -> None:
    error = _check(eng, acct, p, p.symbol)
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
        ctx.ok(OrderIdResult(""))
        return
    order = _order(eng, p, p.symbol)
    ctx.entry.placed = [order.order_id]
    ctx.ok(OrderIdResult(order.order_id, order.cl_ord_id, p.order_userref))
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
        error = _check(eng, acct, fields, p.symbol)
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
    if (p.order_id is None) == (p.cl_ord_id is None):
        ctx.fail(INVALID)
        return
    found = [p.order_id] if p.order_id in acct.open_orders else acct.find_cl(p.cl_ord_id or "")
    if not found or found[0] is None:
        ctx.fail(eng.config.amend_error)
        return
    order = acct.open_orders[found[0]]
    bad = _bad_change(p.limit_price, p.order_qty)
    if bad is None and p.trigger_price is not None and not order.untriggered:
        bad = INVALID  # only an untriggered order has a trigger price to amend
    if bad is None and p.limit_price is not None and order.limit_price is None:
        bad = INVALID  # a market or stop order has no limit price
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
    if p.limit_price is not None:
        order.limit_price = p.limit_price
    if p.post_only is not None:
        order.post_only = p.post_only
    if p.trigger_price is not None:
        order.trigger_price = p.trigger_price
    ctx.entry.placed = [order.order_id]
    # Both ids: the page's schema lists order_id and cl_ord_id (its example shows only the one
    # the request named).
    ctx.ok(AmendResult(new_order_id(), order.order_id, order.cl_ord_id))
    acct.amended(order)
    if order.left <= 0:  # the new quantity is at or below what already filled
        acct.close([order], "canceled", "User requested")
    elif eng.market.live:
        eng.market.match(acct)


def _bad_change(limit_price: Decimal | None, order_qty: Decimal | None) -> str | None:
    """The error for a non-positive new price or quantity of an amend or edit."""
    if limit_price is not None and limit_price <= 0:
        return INVALID_PRICE
    if order_qty is not None and order_qty <= 0:
        return INVALID
    return None


def edit_order(eng: Engine, ctx: Ctx, acct: Account, p: EditOrderParams) -> None:
    ctx.entry.requested = [p.order_id]
    old = acct.open_orders.get(p.order_id)
    if old is None:
        ctx.fail(eng.config.amend_error)
        return
    if p.symbol != old.symbol or old.trigger_price is not None:
        # edit_order is not for triggered orders (docs: edit_order)
        refuse(eng, ctx, acct, old.symbol, 1.0, INVALID)
        return
    bad = _bad_change(p.limit_price, p.order_qty)
    if bad is not None:
        refuse(eng, ctx, acct, old.symbol, 1.0, bad)
        return
    cost = 1.0 + age_cost(old, "edit")
    error = _deadline(p.deadline) or charge(eng, acct, old.symbol, cost, True)
    if error is not None:
        ctx.fail(error)
        return
    if p.validate:
        ctx.ok(EditResult("", p.order_id))
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
        time_in_force=old.time_in_force,
        expire_at=old.expire_at,
    )  # edit_order has no cl_ord_id: the replacement carries none (kraken-ws-v2.md §4.10)
    ctx.entry.cancelled = [o.order_id for o in acct.cancel([old.order_id])]
    ctx.entry.placed = [new.order_id]
    ctx.ok(EditResult(new.order_id, old.order_id))
    eng.market.enter(acct, [new])


def _check(eng: Engine, acct: Account, f: _OrderFields, symbol: str) -> str | None:
    """Kraken's error string for an order that fails validation (the whole batch), else None."""
    if "/" not in symbol or "XBT" in symbol:
        return f"Currency pair not supported {symbol}"
    if f.order_type not in _TYPES or f.side not in _SIDES or f.time_in_force not in _TIFS:
        return INVALID
    if f.cl_ord_id is not None and f.order_userref is not None:
        return INVALID  # cl_ord_id XOR order_userref (§4.7)
    if f.order_qty <= 0:
        return INVALID
    if f.order_type in _LIMITED and (f.limit_price is None or f.limit_price <= 0):
        return INVALID_PRICE
    if f.order_type not in _LIMITED and f.limit_price is not None:
        return INVALID
    if f.order_type == "market" and f.post_only:
        return INVALID
    if f.order_type in _TRIGGERED:
        if _trigger_price(f, eng.market.price(symbol), eng.config.tick_size) is None:
            return INVALID
    elif f.triggers is not None:
        return INVALID
    if f.order_type == "iceberg":
        # docs: add_order display_qty, at least 1/15 of order_qty
        if f.display_qty is None or not f.order_qty / 15 <= f.display_qty <= f.order_qty:
            return INVALID
    if (f.time_in_force == "gtd") != (f.expire_time is not None):
        return INVALID
    if f.expire_time is not None:
        try:
            if parse_time(f.expire_time) <= time.time():
                return INVALID
        except ValueError:
            return INVALID
    if f.cl_ord_id is not None and acct.cl_ord_id_in_use(f.cl_ord_id):
        return INVALID
    if eng.system == "post_only" and not f.post_only:
        return POST_ONLY_MODE
    return None


def _trigger_price(f: _OrderFields, last: Decimal, tick: Decimal) -> Decimal | None:
    """The trigger price ``triggers`` asks for, else None (docs: add_order ``triggers``).

    ``price_type`` ``static`` is a price; ``pct`` a percentage and ``quote`` an amount of the
    quote currency away from the current price. The simulated market has one price per
    symbol, so ``reference`` ``index`` and ``last`` both read it.
    """
    trig = f.triggers or {}
    kind = trig.get("price_type", "static")
    if trig.get("reference", "last") not in ("last", "index"):
        return None
    try:
        price = Decimal(str(trig.get("price")))
    except ArithmeticError:
        return None
    if not price.is_finite():
        return None
    if kind == "pct":
        price = (last * (1 + price / 100) / tick).to_integral_value() * tick
    elif kind == "quote":
        price = last + price
    elif kind != "static":
        return None
    return price if price > 0 else None


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
        if acct.open_notional(mkt) + notional + f.order_qty * price > acct.funds:
            return INSUFFICIENT_FUNDS
    return None


def _deadline(deadline: str | None) -> str | None:
    if deadline is None:
        return None
    try:
        due = parse_time(deadline)
    except ValueError:
        return INVALID
    return DEADLINE if due < time.time() else None


def _notional(eng: Engine, o: Order) -> Decimal:
    return o.order_qty * (o.limit_price if o.limit_price is not None else eng.config.market_price)


def _order(eng: Engine, f: _OrderFields, symbol: str) -> Order:
    return Order(
        order_id=new_order_id(),
        symbol=symbol,
        side=f.side,
        order_type=f.order_type,
        order_qty=f.order_qty,
        limit_price=f.limit_price,
        cl_ord_id=f.cl_ord_id,
        order_userref=f.order_userref or 0,
        post_only=f.post_only,
        reduce_only=f.reduce_only,
        time_in_force=f.time_in_force,
        expire_at=parse_time(f.expire_time) if f.expire_time is not None else None,
        trigger_price=(
            _trigger_price(f, eng.market.price(symbol), eng.config.tick_size)
            if f.order_type in _TRIGGERED
            else None
        ),
        trigger_reference=str((f.triggers or {}).get("reference", "last")),
    )
