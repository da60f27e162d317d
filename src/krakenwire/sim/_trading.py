"""The simulated engine's trading methods: order entry (add_order, batch_add, amend_order,
edit_order) and the four cancel flavours.

Each handler gets the request's decoded params and the account its token names, changes the
book, records what it did in the ledger entry and queues its reply (or replies: cancel_order
answers once per order) on a :class:`Ctx`. Sending, timestamps and fault switches are the
server's business. Semantics follow kraken-ws-v2.md §4; where Kraken's behaviour is unknown
(one bad id in a batch_cancel) :class:`~krakenwire.sim.SimConfig` picks it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._timefmt import parse_timestamp
from ._book import Account, LedgerEntry, Order, new_order_id
from ._wire import (
    AddOrderParams,
    AmendOrderParams,
    AmendResult,
    BatchAddParams,
    BatchAddRow,
    BatchCancelParams,
    CancelAfterParams,
    CancelOrderParams,
    CountResult,
    EditOrderParams,
    EditResult,
    OrderIdResult,
    TokenParams,
    _OrderFields,
)

if TYPE_CHECKING:
    from ._server import Simulator

__all__ = ["HANDLERS", "INVALID", "Ctx", "Handler"]

INVALID = "EGeneral:Invalid arguments"
INVALID_ORDER = "EOrder:Invalid order"
UNKNOWN_ORDER = "EOrder:Unknown order"
INVALID_PRICE = "EOrder:Invalid price"
ORDERS_LIMIT = "EOrder:Orders limit exceeded"
INSUFFICIENT_FUNDS = "EOrder:Insufficient funds"
RATE_LIMIT = "EOrder:Rate limit exceeded"
DEADLINE = "EService:Deadline elapsed"
POST_ONLY_MODE = "EService:Market in post_only mode"
_TYPES = frozenset(("limit", "market"))
_SIDES = frozenset(("buy", "sell"))
_TIFS = frozenset(("gtc", "gtd", "ioc"))


class Ctx:
    """One request in flight: its identity, the replies it produced and its ledger entry."""

    __slots__ = ("method", "req_id", "replies", "entry")

    def __init__(self, method: str, req_id: int | None, entry: LedgerEntry) -> None:
        self.method = method
        self.req_id = req_id
        self.replies: list[tuple[Any, str | None]] = []  # (result, error)
        self.entry = entry

    def ok(self, result: Any) -> None:
        self.replies.append((result, None))

    def fail(self, error: str) -> None:
        self.replies.append((None, error))
        if self.entry.error is None:
            self.entry.error = error


Handler = Callable[["Simulator", Ctx, Account, Any], None]


def batch_cancel(sim: Simulator, ctx: Ctx, acct: Account, p: BatchCancelParams) -> None:
    cl_ids = p.cl_ord_id or []
    ctx.entry.requested = p.orders + cl_ids
    # 2..50 identifiers in total (orders + cl_ord_id), as REST and unified WS count them (§4.3).
    if not 2 <= len(p.orders) + len(cl_ids) <= 50:
        ctx.fail(INVALID)
        return
    targets: dict[str, None] = {}
    missing: list[str] = []
    for ident in p.orders:
        found = acct.find(ident)
        if found:
            targets.update(dict.fromkeys(found))
        else:
            missing.append(ident)
    for ident in cl_ids:
        found = acct.find_cl(ident)
        if found:
            targets.update(dict.fromkeys(found))
        else:
            missing.append(ident)
    if missing and sim.config.batch_cancel_mode == "strict":
        ctx.fail(sim.config.strict_error)
        return
    gone = acct.cancel(targets)
    ctx.entry.cancelled = [o.order_id for o in gone]
    warnings = [f"{INVALID_ORDER}: {ident}" for ident in missing] or None
    ctx.ok(CountResult(len(gone), warnings))


def cancel_order(sim: Simulator, ctx: Ctx, acct: Account, p: CancelOrderParams) -> None:
    kinds = [k for k in (p.order_id, p.cl_ord_id, p.order_userref) if k is not None]
    # Current docs allow exactly one kind of id per request (kraken-ws-v2.md §4.4).
    if len(kinds) != 1 or not kinds[0]:
        ctx.entry.requested = [str(i) for k in kinds for i in k]
        ctx.fail(INVALID)
        return
    cancelled = ctx.entry.cancelled = []
    if p.order_id is not None:
        ctx.entry.requested = list(p.order_id)
        for oid in p.order_id:
            _cancel_each(sim, ctx, acct, [oid] if oid in acct.open_orders else [], cancelled)
    elif p.cl_ord_id is not None:
        ctx.entry.requested = list(p.cl_ord_id)
        for cl in p.cl_ord_id:
            _cancel_each(sim, ctx, acct, acct.find_cl(cl), cancelled)
    elif p.order_userref is not None:
        ctx.entry.requested = [str(r) for r in p.order_userref]
        for ref in p.order_userref:
            _cancel_each(sim, ctx, acct, acct.find_ref(ref), cancelled)


def _cancel_each(
    sim: Simulator, ctx: Ctx, acct: Account, found: list[str], cancelled: list[str]
) -> None:
    if not found:
        ctx.fail(sim.config.cancel_error)
        return
    for order in acct.cancel(found):
        cancelled.append(order.order_id)
        ctx.ok(OrderIdResult(order.order_id, order.cl_ord_id))


def cancel_all(sim: Simulator, ctx: Ctx, acct: Account, p: TokenParams) -> None:
    gone = acct.cancel_all()
    ctx.entry.cancelled = [o.order_id for o in gone]
    ctx.ok(CountResult(len(gone)))


def cancel_after(sim: Simulator, ctx: Ctx, acct: Account, p: CancelAfterParams) -> None:
    ctx.entry.requested = [str(p.timeout)]
    if not 0 <= p.timeout < 86400:
        ctx.fail(INVALID)
        return
    ctx.ok(sim._arm_cancel_after(acct, p.timeout))


def add_order(sim: Simulator, ctx: Ctx, acct: Account, p: AddOrderParams) -> None:
    error = _check(sim, acct, p, p.symbol) or _deadline(p.deadline)
    if error is None:
        error = _rate(sim, acct, p.symbol, 1.0)
    if error is None and not p.validate:
        error = _engine(sim, acct, p, p.symbol, 0, Decimal(0))
    if error is not None:
        ctx.fail(error)
        return
    if p.validate:
        ctx.ok(OrderIdResult(""))
        return
    order = _order(sim, p, p.symbol)
    _enter(acct, [order])
    ctx.entry.placed = [order.order_id]
    ctx.ok(OrderIdResult(order.order_id, order.cl_ord_id, p.order_userref))


def batch_add(sim: Simulator, ctx: Ctx, acct: Account, p: BatchAddParams) -> None:
    if not 2 <= len(p.orders) <= 15:
        ctx.fail(INVALID)
        return
    cl_ids = [f.cl_ord_id for f in p.orders if f.cl_ord_id is not None]
    if len(set(cl_ids)) != len(cl_ids):
        ctx.fail(INVALID)
        return
    # A validation failure rejects the whole batch (docs: batch_add).
    for fields in p.orders:
        error = _check(sim, acct, fields, p.symbol)
        if error is not None:
            ctx.fail(error)
            return
    error = _deadline(p.deadline) or _rate(sim, acct, p.symbol, len(p.orders) / 2)
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
        notional = sum((_notional(sim, o) for o in placed), Decimal(0))
        error = _engine(sim, acct, f, p.symbol, len(placed), notional)
        if error is not None:
            first_error = first_error or error
            rows.append(BatchAddRow(error=error, cl_ord_id=f.cl_ord_id))
            continue
        order = _order(sim, f, p.symbol)
        placed.append(order)
        rows.append(BatchAddRow(order.order_id, order.cl_ord_id, f.order_userref))
    _enter(acct, placed)
    ctx.entry.placed = [o.order_id for o in placed]
    if first_error is None:
        ctx.ok(rows)
    else:
        ctx.entry.error = first_error
        ctx.replies.append((rows, first_error))


def amend_order(sim: Simulator, ctx: Ctx, acct: Account, p: AmendOrderParams) -> None:
    ident = p.order_id if p.order_id is not None else p.cl_ord_id
    ctx.entry.requested = [ident] if ident is not None else []
    if (p.order_id is None) == (p.cl_ord_id is None):
        ctx.fail(INVALID)
        return
    found = [p.order_id] if p.order_id in acct.open_orders else acct.find_cl(p.cl_ord_id or "")
    if not found or found[0] is None:
        ctx.fail(sim.config.amend_error)
        return
    order = acct.open_orders[found[0]]
    bad = _bad_change(p.limit_price, p.order_qty)
    if bad is not None:
        ctx.fail(bad)
        return
    error = _deadline(p.deadline) or _rate(sim, acct, order.symbol, 1.0 + _age_cost(order, 0))
    if error is not None:
        ctx.fail(error)
        return
    if p.order_qty is not None:
        order.order_qty = p.order_qty
    if p.limit_price is not None:
        order.limit_price = p.limit_price
    if p.post_only is not None:
        order.post_only = p.post_only
    acct.amended(order)
    ctx.entry.placed = [order.order_id]
    ctx.ok(AmendResult(new_order_id(), order.order_id, order.cl_ord_id))


def _bad_change(limit_price: Decimal | None, order_qty: Decimal | None) -> str | None:
    """The error for a non-positive new price or quantity of an amend or edit."""
    if limit_price is not None and limit_price <= 0:
        return INVALID_PRICE
    if order_qty is not None and order_qty <= 0:
        return INVALID
    return None


def edit_order(sim: Simulator, ctx: Ctx, acct: Account, p: EditOrderParams) -> None:
    ctx.entry.requested = [p.order_id]
    old = acct.open_orders.get(p.order_id)
    if old is None:
        ctx.fail(sim.config.amend_error)
        return
    if p.symbol != old.symbol:
        ctx.fail(INVALID)
        return
    bad = _bad_change(p.limit_price, p.order_qty)
    if bad is not None:
        ctx.fail(bad)
        return
    error = _deadline(p.deadline) or _rate(sim, acct, old.symbol, 1.0 + _age_cost(old, 1))
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
    )  # edit_order has no cl_ord_id: the replacement carries none (kraken-ws-v2.md §4.10)
    acct.cancel([old.order_id])
    acct.accept([new])
    ctx.entry.cancelled = [old.order_id]
    ctx.entry.placed = [new.order_id]
    ctx.ok(EditResult(new.order_id, old.order_id))


def _check(sim: Simulator, acct: Account, f: _OrderFields, symbol: str) -> str | None:
    """Kraken's error string for an order that fails validation (the whole batch), else None."""
    if "/" not in symbol or "XBT" in symbol:
        return f"Currency pair not supported {symbol}"
    if f.order_type not in _TYPES or f.side not in _SIDES or f.time_in_force not in _TIFS:
        return INVALID
    if f.cl_ord_id is not None and f.order_userref is not None:
        return INVALID  # cl_ord_id XOR order_userref (§4.7)
    if f.order_qty <= 0:
        return INVALID
    if f.order_type == "limit" and (f.limit_price is None or f.limit_price <= 0):
        return INVALID_PRICE
    if f.order_type == "market" and (f.limit_price is not None or f.post_only):
        return INVALID
    if (f.time_in_force == "gtd") != (f.expire_time is not None):
        return INVALID
    if f.expire_time is not None:
        try:
            if parse_timestamp(f.expire_time).timestamp() <= time.time():
                return INVALID
        except (ValueError, IndexError):
            return INVALID
    if f.cl_ord_id is not None and acct.cl_ord_id_in_use(f.cl_ord_id):
        return INVALID
    if sim.system == "post_only" and not f.post_only:
        return POST_ONLY_MODE
    return None


def _engine(
    sim: Simulator, acct: Account, f: _OrderFields, symbol: str, pending: int, notional: Decimal
) -> str | None:
    """Pre-match engine checks (one order only): open-order cap, funds."""
    if f.order_type == "limit" and f.time_in_force != "ioc":
        if acct.open_count(symbol) + pending >= sim.config.max_open_orders:
            return ORDERS_LIMIT
    if acct.funds is not None:
        price = f.limit_price if f.limit_price is not None else sim.config.market_price
        if acct.open_notional() + notional + f.order_qty * price > acct.funds:
            return INSUFFICIENT_FUNDS
    return None


def _deadline(deadline: str | None) -> str | None:
    if deadline is None:
        return None
    try:
        due = parse_timestamp(deadline).timestamp()
    except (ValueError, IndexError):
        return INVALID
    return DEADLINE if due < time.time() else None


def _rate(sim: Simulator, acct: Account, symbol: str, cost: float) -> str | None:
    limit = sim.config.rate_limit
    if limit is None:
        return None
    if acct.charge(symbol, 0.0, sim.config.rate_decay) + cost > limit:
        return RATE_LIMIT
    acct.charge(symbol, cost, sim.config.rate_decay)
    return None


# Extra rate-counter cost by the order's age (kraken-ws-v2.md §6): (upper age s, amend, edit).
_AGE_BANDS = ((5, 3, 6), (10, 2, 5), (15, 1, 4), (45, 0, 2), (90, 0, 1))


def _age_cost(order: Order, which: int) -> float:
    age = time.monotonic() - order.created
    for upper, amend, edit in _AGE_BANDS:
        if age < upper:
            return float(edit if which else amend)
    return 0.0


def _notional(sim: Simulator, o: Order) -> Decimal:
    return o.order_qty * (o.limit_price if o.order_type == "limit" else sim.config.market_price)


def _enter(acct: Account, orders: list[Order]) -> None:
    """Rest limit orders; market orders fill at once, unfilled IOC limits are cancelled (the
    sim has no counterparty liquidity for a limit)."""
    resting = [o for o in orders if o.order_type == "limit" and o.time_in_force != "ioc"]
    if resting:
        acct.accept(resting)
    market = [o for o in orders if o.order_type == "market"]
    if market:
        acct.pass_through(market, "filled")
    ioc = [o for o in orders if o.order_type == "limit" and o.time_in_force == "ioc"]
    if ioc:
        acct.pass_through(ioc, "canceled")


def _order(sim: Simulator, f: _OrderFields, symbol: str) -> Order:
    return Order(
        order_id=new_order_id(),
        symbol=symbol,
        side=f.side,
        order_type=f.order_type,
        order_qty=f.order_qty,
        limit_price=f.limit_price if f.limit_price is not None else sim.config.market_price,
        cl_ord_id=f.cl_ord_id,
        order_userref=f.order_userref or 0,
        post_only=f.post_only,
        time_in_force=f.time_in_force,
    )


# method -> (params type, handler, places orders?)
HANDLERS: dict[str, tuple[type[Any], Handler, bool]] = {
    "batch_cancel": (BatchCancelParams, batch_cancel, False),
    "cancel_order": (CancelOrderParams, cancel_order, False),
    "cancel_all": (TokenParams, cancel_all, False),
    "cancel_all_orders_after": (CancelAfterParams, cancel_after, False),
    "add_order": (AddOrderParams, add_order, True),
    "batch_add": (BatchAddParams, batch_add, True),
    "amend_order": (AmendOrderParams, amend_order, True),
    "edit_order": (EditOrderParams, edit_order, True),
}
