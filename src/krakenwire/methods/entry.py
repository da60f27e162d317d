"""Order entry: ``add_order``, ``batch_add``, ``amend_order``, ``edit_order``.

Never idempotent (a second copy is a second order): never hedged, never re-sent by a failover.
The order fields are validated by `krakenwire._orders`; the wire Structs are in
`krakenwire._messages`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _messages as m
from .. import _orders, _shapes
from .. import _results as res
from ._spec import Call, Completion, Kind, MethodSpec, error

__all__ = ["ADD_ORDER", "AMEND_ORDER", "BATCH_ADD", "EDIT_ORDER", "ROWS", "add_order",
           "amend_order", "batch_add", "edit_order"]  # fmt: skip


def _add_order(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not _shapes.accepted(r):
        return error(r, "add_order")
    w, problems = _shapes.read(m.ADD_ORDER_DECODER, r, ("order_id",))
    return res.AddOrderResult(
        order_id=w.order_id,
        cl_ord_id=w.cl_ord_id,
        order_userref=w.order_userref,
        warnings=w.warnings,
        shape_warnings=_shapes.mismatch("add_order", problems) if problems else (),
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def _batch_add(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    # An engine failure of some orders: success false, but the per-order array is there.
    if not (r.result or _shapes.accepted(r)):
        return error(r, "batch_add")
    rows, problems = _shapes.read_rows(r) if r.result else ([], ["no result"])
    items = []
    for i, w in enumerate(rows):
        if w.order_id is None and w.error is None:
            problems.append(f"row {i}: no order_id")
        items.append(
            res.BatchAddItem(w.order_id or "", w.cl_ord_id, w.order_userref, w.error, w.warnings)
        )
    return res.BatchAddResult(
        orders=items,
        error=None if r.success is not False else r.error,
        shape_warnings=_shapes.mismatch("batch_add", problems) if problems else (),
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def _amend_order(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not _shapes.accepted(r):
        return error(r, "amend_order")
    a, problems = _shapes.read(m.AMEND_ORDER_DECODER, r, ("amend_id",))
    return res.AmendOrderResult(
        amend_id=a.amend_id,
        order_id=a.order_id,
        cl_ord_id=a.cl_ord_id,
        warnings=a.warnings,
        shape_warnings=_shapes.mismatch("amend_order", problems) if problems else (),
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def _edit_order(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not _shapes.accepted(r):
        return error(r, "edit_order")
    e, problems = _shapes.read(m.EDIT_ORDER_DECODER, r, ("order_id", "original_order_id"))
    return res.EditOrderResult(
        order_id=e.order_id,
        original_order_id=e.original_order_id,
        warnings=e.warnings,
        shape_warnings=_shapes.mismatch("edit_order", problems) if problems else (),
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


_E, _ONE = Kind.ENTRY, Completion.ONE
ADD_ORDER = MethodSpec("add_order", m.AddOrder, _E, False, _ONE, _add_order, res.AddOrderResult)
BATCH_ADD = MethodSpec("batch_add", m.BatchAdd, _E, False, _ONE, _batch_add, res.BatchAddResult)
AMEND_ORDER = MethodSpec(
    "amend_order", m.AmendOrder, _E, False, _ONE, _amend_order, res.AmendOrderResult
)
EDIT_ORDER = MethodSpec(
    "edit_order", m.EditOrder, _E, False, _ONE, _edit_order, res.EditOrderResult
)
ROWS = (ADD_ORDER, BATCH_ADD, AMEND_ORDER, EDIT_ORDER)


def add_order(**fields: Any) -> Call:
    """``add_order``; ``fields`` as `krakenwire._orders.add_order_params`."""
    params = _orders.add_order_params("", **fields)
    ids = [params.cl_ord_id] if params.cl_ord_id else []
    return Call(ADD_ORDER, m.AddOrder(params, 0), params, [], ids)


def batch_add(orders: Sequence[Any], **fields: Any) -> Call:
    """``batch_add``: 2..15 orders of one symbol."""
    params = _orders.batch_add_params("", orders, **fields)
    ids = [o.cl_ord_id for o in params.orders if o.cl_ord_id]
    return Call(BATCH_ADD, m.BatchAdd(params, 0), params, [], ids)


def amend_order(**fields: Any) -> Call:
    """``amend_order`` by ``order_id`` or ``cl_ord_id``."""
    params = _orders.amend_order_params("", **fields)
    if params.order_id:
        return Call(AMEND_ORDER, m.AmendOrder(params, 0), params, [params.order_id])
    cl = [params.cl_ord_id] if params.cl_ord_id else []
    return Call(AMEND_ORDER, m.AmendOrder(params, 0), params, [], cl)


def edit_order(**fields: Any) -> Call:
    """``edit_order`` (cancel-and-replace; a new order id)."""
    params = _orders.edit_order_params("", **fields)
    return Call(EDIT_ORDER, m.EditOrder(params, 0), params, [params.order_id])
