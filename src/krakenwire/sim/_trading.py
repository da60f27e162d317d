"""The simulated engine's trading methods: add_order, batch_add and the four cancel flavours.

Each handler gets the request's decoded params and the account its token names, changes the
book, records what it did in the ledger entry and queues its reply (or replies: cancel_order
answers once per order) on a :class:`Ctx`. Sending, timestamps and fault switches are the
server's business. Semantics follow kraken-ws-v2.md §4; where Kraken's behaviour is unknown
(one bad id in a batch_cancel) :class:`~krakenwire.sim.SimConfig` picks it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._book import Account, LedgerEntry, Order, new_order_id
from ._wire import (
    AddOrderParams,
    BatchAddParams,
    BatchCancelParams,
    CancelAfterParams,
    CancelOrderParams,
    CountResult,
    OrderIdResult,
    TokenParams,
    _OrderFields,
)

if TYPE_CHECKING:
    from ._server import Simulator

__all__ = ["HANDLERS", "INVALID", "Ctx", "Handler"]

INVALID = "EGeneral:Invalid arguments"
INVALID_ORDER = "EOrder:Invalid order"
POST_ONLY_MODE = "EService:Market in post_only mode"
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
            _cancel_each(ctx, acct, [oid] if oid in acct.open_orders else [], cancelled)
    elif p.cl_ord_id is not None:
        ctx.entry.requested = list(p.cl_ord_id)
        for cl in p.cl_ord_id:
            _cancel_each(ctx, acct, acct.find_cl(cl), cancelled)
    elif p.order_userref is not None:
        ctx.entry.requested = [str(r) for r in p.order_userref]
        for ref in p.order_userref:
            _cancel_each(ctx, acct, acct.find_ref(ref), cancelled)


def _cancel_each(ctx: Ctx, acct: Account, found: list[str], cancelled: list[str]) -> None:
    if not found:
        ctx.fail(INVALID_ORDER)
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
    error = _check(sim, acct, p, p.symbol)
    if error is not None:
        ctx.fail(error)
        return
    if p.validate:
        ctx.ok(OrderIdResult(""))
        return
    order = _order(p, p.symbol)
    acct.accept([order])
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
    if p.validate:
        ctx.ok([OrderIdResult("") for _ in p.orders])
        return
    orders = [_order(f, p.symbol) for f in p.orders]
    acct.accept(orders)
    ctx.entry.placed = [o.order_id for o in orders]
    ctx.ok(
        [
            OrderIdResult(o.order_id, o.cl_ord_id, f.order_userref)
            for o, f in zip(orders, p.orders, strict=True)
        ]
    )


def _check(sim: Simulator, acct: Account, f: _OrderFields, symbol: str) -> str | None:
    """Kraken's error string for an order the sim would reject, else None."""
    if "/" not in symbol or "XBT" in symbol:
        return f"Currency pair not supported {symbol}"
    if f.order_type != "limit" or f.side not in _SIDES or f.time_in_force not in _TIFS:
        return INVALID
    if f.cl_ord_id is not None and f.order_userref is not None:
        return INVALID  # cl_ord_id XOR order_userref (§4.7)
    if f.order_qty <= 0:
        return INVALID
    if f.limit_price is None or f.limit_price <= 0:
        return "EOrder:Invalid price"
    if f.cl_ord_id is not None and acct.cl_ord_id_in_use(f.cl_ord_id):
        return INVALID
    if sim.system == "post_only" and not f.post_only:
        return POST_ONLY_MODE
    return None


def _order(f: _OrderFields, symbol: str) -> Order:
    return Order(
        order_id=new_order_id(),
        symbol=symbol,
        side=f.side,
        order_type=f.order_type,
        order_qty=f.order_qty,
        limit_price=f.limit_price if f.limit_price is not None else Decimal(0),
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
}
