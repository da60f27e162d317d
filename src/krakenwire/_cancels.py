"""The cancel calls built from several requests or from the executions stream: ``cancel_orders``
(chunked, every frame written before any wait), per-id confirmation and ``reconcile``.

Nothing here decides a request's fate (the router does) or touches a socket (the connections
do).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from ._confirm import CancelTracker
from ._connections import Connections
from ._openorders import OpenOrders
from ._results import CancelOrdersResult, Reconciliation
from ._validate import check_cl_ord_ids, check_confirm, check_order_ids, chunk_sizes
from .errors import ValidationError
from .methods import Call
from .methods import cancels as _build

__all__ = ["cancel_many", "confirm_call", "plan", "reconcile"]


async def _view_ready(view: OpenOrders, secs: float) -> None:
    """Confirmation resolves ids through the view: make sure its snapshot is in."""
    try:
        await asyncio.wait_for(view.ready.wait(), secs)
    except TimeoutError:
        raise ValidationError(
            f"confirm= needs the executions snapshot, and none arrived within {secs} s "
            "(connected with subscribe=False?); nothing was sent",
            field="confirm",
        ) from None


def _tracker(view: OpenOrders, call: Call) -> CancelTracker:
    if call.key == "order_userref":
        return CancelTracker(view, userrefs=[int(i) for i in call.ids])
    return CancelTracker(view, call.ids, call.cl_ord_ids)


async def confirm_call(
    conns: Connections, view: OpenOrders, call: Call, secs: float, confirm: Any, hedge: bool
) -> Any:
    """Send one cancel and wait for the executions stream to confirm each id it names."""
    wait = check_confirm(confirm)
    await _view_ready(view, secs)
    tracker = _tracker(view, call)
    try:
        result = await conns.call(call, secs, hedge)
    except BaseException:
        tracker.abandon()
        raise
    result.confirmation = await tracker.wait(secs if wait is True else float(wait))
    return result


def plan(
    ids: Iterable[str | int], cl_ord_id: Iterable[str] | None, allow_userref_zero: bool = False
) -> tuple[list[list[str]], list[Call], list[str], list[str]]:
    """Validate ids and cl_ord_ids and split them into the fewest requests of 2..50 identifiers
    in all (balanced so none holds one; a lone identifier goes through ``cancel_order``).

    Returns:
        ``(identifiers per request, the requests, all order ids, all cl_ord_ids)``.
    """
    oids = check_order_ids(ids, allow_userref_zero=allow_userref_zero)
    cids = check_cl_ord_ids(cl_ord_id) if cl_ord_id is not None else []
    n = len(oids) + len(cids)
    if n == 0:
        raise ValidationError("cancel_orders needs at least one id", field="ids", value=0)
    if n == 1:
        call = _build.cancel_order(oids) if oids else _build.cancel_order(cl_ord_id=cids)
        return [oids + cids], [call], oids, cids
    parts, calls, start = [], [], 0
    n_o = len(oids)
    for size in chunk_sizes(n):  # every id was checked above and sizes are 2..50
        end = start + size
        o, c = oids[start:end], cids[max(0, start - n_o) : max(0, end - n_o)]
        parts.append(o + c)
        calls.append(_build.batch_cancel_checked(o, c or None))
        start = end
    return parts, calls, oids, cids


async def cancel_many(
    conns: Connections,
    view: OpenOrders,
    ids: Iterable[str | int],
    cl_ord_id: Iterable[str] | None,
    secs: float,
    confirm: Any,
    allow_userref_zero: bool = False,
) -> CancelOrdersResult:
    """`Client.cancel_orders`: every chunk written before any wait, one outcome."""
    wait = check_confirm(confirm)
    parts, calls, oids, cids = plan(ids, cl_ord_id, allow_userref_zero)
    if wait is not False:
        await _view_ready(view, secs)
    tracker = CancelTracker(view, oids, cids) if wait is not False else None
    try:
        handle, fut = conns.start_group(calls, parts, secs)
    except BaseException:
        if tracker is not None:
            tracker.abandon()
        raise
    try:
        result: CancelOrdersResult = await conns.wait(handle, fut)
    except BaseException:
        if tracker is not None:
            tracker.abandon()
        raise
    if tracker is not None:
        rejected = [i for c in result.chunks if c.outcome == "rejected" for i in c.ids]
        result.confirmation = await tracker.wait(
            secs if wait is True else float(wait), rejected=rejected
        )
    return result


async def reconcile(
    client: Any, ids: Iterable[str | int], recancel: Any, secs: float
) -> Reconciliation:
    """[`Client.reconcile`][krakenwire.Client.reconcile]."""
    if type(recancel) is not bool:
        raise ValidationError(f"recancel must be a bool, got {recancel!r}", field="recancel")
    names = check_order_ids(ids, "ids")
    await client.wait_connected(secs)
    await asyncio.wait_for(client.open_orders.ready.wait(), secs)
    view = client.open_orders
    still: list[str] = []
    gone: list[str] = []
    targets: list[str] = []
    for ident in names:
        found = view.resolve(ident)
        if found:
            still.append(ident)
            targets.extend(o for o in found if o not in targets)
        else:
            gone.append(ident)
    statuses = {i: st for i in gone if (st := view.closed_status(i)) is not None}
    again = await client.cancel_orders(targets, timeout=secs) if recancel and targets else None
    return Reconciliation(gone=gone, open=still, statuses=statuses, recancelled=again)
