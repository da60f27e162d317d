"""The four cancel methods: batch_cancel, cancel_order, cancel_all, cancel_all_orders_after.

Where Kraken does not document what happens (an id that is not open, the order of the replies
to a multi-id cancel_order, what a cancel of a gone order costs) the switch in
[`SimConfig`][krakenwire.sim.SimConfig] decides; kraken-ws-v2.md §4.3-§4.6.
"""

from __future__ import annotations

from ._book import Account
from ._ctx import INVALID, Ctx, age_cost, charge
from ._engine import Engine
from ._wire import (
    BatchCancelParams,
    CancelAfterParams,
    CancelOrderParams,
    CountResult,
    OrderIdResult,
    TokenParams,
)

__all__ = ["batch_cancel", "cancel_after", "cancel_all", "cancel_order"]


def _cancel(eng: Engine, acct: Account, order_ids: list[str]) -> list[str]:
    """Cancel open orders, charging each its age-band cost; returns the ids cancelled."""
    for oid in order_ids:
        order = acct.open_orders.get(oid)
        if order is not None:
            charge(eng, acct, order.symbol, age_cost(order, "cancel"), False)
    return [o.order_id for o in acct.cancel(order_ids)]


def _gone(eng: Engine, acct: Account, n: int) -> None:
    cost = eng.config.cancel_gone_cost
    if cost and n:
        symbols = {o.symbol for o in acct.open_orders.values()} or {"BTC/USD"}
        for symbol in symbols:  # the pair is unknown for a gone id: charge every open pair
            charge(eng, acct, symbol, cost * n, False)


def _resolve(acct: Account, orders: list[str], cl_ids: list[str]) -> tuple[list[str], list[str]]:
    targets: dict[str, None] = {}
    missing: list[str] = []
    for ident in orders:
        found = acct.find(ident)
        targets.update(dict.fromkeys(found))
        if not found:
            missing.append(ident)
    for ident in cl_ids:
        found = acct.find_cl(ident)
        targets.update(dict.fromkeys(found))
        if not found:
            missing.append(ident)
    return list(targets), missing


def batch_cancel(eng: Engine, ctx: Ctx, acct: Account, p: BatchCancelParams) -> None:
    cfg = eng.config
    cl_ids = p.cl_ord_id or []
    ctx.entry.requested = p.orders + cl_ids
    # 2..50 identifiers in total (orders + cl_ord_id), as REST and unified WS count them (§4.3).
    if not 2 <= len(p.orders) + len(cl_ids) <= 50:
        ctx.fail(INVALID)
        return
    eng.market.race(acct, _resolve(acct, p.orders, cl_ids)[0])
    targets, missing = _resolve(acct, p.orders, cl_ids)
    if missing and cfg.batch_cancel_mode == "strict":
        ctx.fail(cfg.strict_error)
        return
    _gone(eng, acct, len(missing))
    ctx.entry.cancelled = _cancel(eng, acct, targets)
    warnings = None
    if missing and cfg.batch_cancel_warnings:
        warnings = [f"{cfg.cancel_error}: {ident}" for ident in missing]
    ctx.ok(CountResult(len(ctx.entry.cancelled), warnings))


def cancel_order(eng: Engine, ctx: Ctx, acct: Account, p: CancelOrderParams) -> None:
    kinds = [k for k in (p.order_id, p.cl_ord_id, p.order_userref) if k is not None]
    # Current docs allow exactly one kind of id per request (kraken-ws-v2.md §4.4).
    if len(kinds) != 1 or not kinds[0]:
        ctx.entry.requested = [str(i) for k in kinds for i in k]
        ctx.fail(INVALID)
        return
    found: list[list[str]] = []
    if p.order_id is not None:
        ctx.entry.requested = list(p.order_id)
        found = [[oid] if oid in acct.open_orders else [] for oid in p.order_id]
    elif p.cl_ord_id is not None:
        ctx.entry.requested = list(p.cl_ord_id)
        found = [acct.find_cl(cl) for cl in p.cl_ord_id]
    elif p.order_userref is not None:
        ctx.entry.requested = [str(r) for r in p.order_userref]
        found = [acct.find_ref(ref) for ref in p.order_userref]
    if eng.config.cancel_reply_order == "shuffled":
        eng.rng.shuffle(found)
    eng.market.race(acct, [oid for ids in found for oid in ids])
    cancelled = ctx.entry.cancelled = []
    for ids in found:
        live = [oid for oid in ids if oid in acct.open_orders]
        if not live:
            _gone(eng, acct, 1)
            ctx.fail(eng.config.cancel_error)
            continue
        for oid in live:
            order = acct.open_orders[oid]
            cancelled.extend(_cancel(eng, acct, [oid]))
            ctx.ok(OrderIdResult(order.order_id, order.cl_ord_id))


def cancel_all(eng: Engine, ctx: Ctx, acct: Account, p: TokenParams) -> None:
    """Every open order, untriggered stop-loss/take-profit orders included (docs: cancel_all)."""
    eng.market.race(acct, list(acct.open_orders))
    ctx.entry.cancelled = _cancel(eng, acct, list(acct.open_orders))
    ctx.ok(CountResult(len(ctx.entry.cancelled)))


def cancel_after(eng: Engine, ctx: Ctx, acct: Account, p: CancelAfterParams) -> None:
    ctx.entry.requested = [str(p.timeout)]
    if not 0 <= p.timeout < 86400:
        ctx.fail(INVALID)
        return
    ctx.ok(eng.arm_cancel_after(acct, p.timeout))
