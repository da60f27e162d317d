"""Build requests, sans-IO: validate a call's arguments and return a `Call`.

Everything here runs before a ``req_id`` is assigned, so bad input raises
[`ValidationError`][krakenwire.ValidationError] naming the field and nothing is registered or sent.
The token and the ``req_id`` are filled in by `Session.send`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

import msgspec

from . import _messages as m
from . import _orders
from ._methods import METHODS, Call
from ._validate import (
    check_batch_size,
    check_cl_ord_ids,
    check_order_ids,
    check_userrefs,
    recheck_ids,
)
from .errors import ValidationError

__all__ = [
    "add_order",
    "amend_order",
    "batch_add",
    "batch_cancel",
    "batch_cancel_checked",
    "cancel_after",
    "cancel_all",
    "cancel_order",
    "edit_order",
    "encode_call",
    "ping",
    "subscribe_executions",
]

_encode = m.ENCODER.encode
_BATCH_CANCEL = METHODS["batch_cancel"]
_CANCEL_ORDER = METHODS["cancel_order"]


def batch_cancel(
    orders: Iterable[Any], cl_ord_id: Iterable[Any] | None = None, *, unified: bool = False
) -> Call:
    """One ``batch_cancel`` of 2..50 ids (orders + cl_ord_id together).

    Args:
        orders: Kraken order ids or ``order_userref`` numbers (ints become strings).
        cl_ord_id: client order ids, optional.
        unified: the unified-WS variant (``asset_class``; no order_userref).

    Raises:
        ValidationError: bad ids or count.
    """
    ids = check_order_ids(orders)
    if unified:
        _check_unified(ids)
    cids = check_cl_ord_ids(cl_ord_id) if cl_ord_id is not None else None
    check_batch_size(len(ids) + (len(cids) if cids else 0))
    params = m.BatchCancelParams(ids, "", cids or None, "spot" if unified else None)
    return Call(_BATCH_CANCEL, m.BatchCancel(params, 0), params, ids, cids or None)


def batch_cancel_checked(
    ids: list[str], cids: list[str] | None = None, unified: bool = False
) -> Call:
    """[`batch_cancel`][krakenwire.Client.batch_cancel] for ids already validated (a chunk of
    ``cancel_orders``)."""
    params = m.BatchCancelParams(ids, "", cids, "spot" if unified else None)
    return Call(_BATCH_CANCEL, m.BatchCancel(params, 0), params, ids, cids)


def cancel_order(
    order_id: Iterable[Any] | None = None,
    cl_ord_id: Iterable[Any] | None = None,
    order_userref: Iterable[Any] | None = None,
    *,
    matched: Callable[[int], int] | None = None,
) -> Call:
    """One ``cancel_order`` naming one kind of id (Kraken's rule); Kraken answers once per
    order.

    Completion: one reply per ``order_id``/``cl_ord_id``; for ``order_userref`` (which may name
    several orders) one reply per order it names, counted by ``matched(ref)`` (the open-order
    view), at least one per userref (an unknown one is answered with an error).
    """
    given = [
        k
        for k, v in (
            ("order_id", order_id),
            ("cl_ord_id", cl_ord_id),
            ("order_userref", order_userref),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValidationError(
            "cancel_order takes exactly one of order_id, cl_ord_id, order_userref; got "
            + (", ".join(given) or "none"),
            field="order_id",
            value=given,
        )
    if order_id is not None:
        ids = check_order_ids(order_id, "order_id")
        params = m.CancelOrderParams("", order_id=ids)
        expected, key = len(ids), "order_id"
    elif cl_ord_id is not None:
        ids = check_cl_ord_ids(cl_ord_id)
        params = m.CancelOrderParams("", cl_ord_id=ids)
        expected, key = len(ids), "cl_ord_id"
    else:
        refs = check_userrefs(order_userref or ())
        params = m.CancelOrderParams("", order_userref=refs)
        ids = [str(r) for r in refs]
        expected = sum(max(1, matched(r)) for r in refs) if matched is not None else len(refs)
        key = "order_userref"
    if not ids:
        raise ValidationError("cancel_order needs at least one id", field=given[0], value=0)
    req = m.CancelOrder(params, 0)
    if key == "cl_ord_id":
        return Call(_CANCEL_ORDER, req, params, [], ids, expected, key)
    return Call(_CANCEL_ORDER, req, params, ids, None, expected, key)


def cancel_all() -> Call:
    params = m.TokenParams("")
    return Call(METHODS["cancel_all"], m.CancelAll(params, 0), params, [])


def cancel_after(timeout: Any) -> Call:
    """``cancel_all_orders_after``: ``timeout`` whole seconds, 0..86399 (0 disarms)."""
    if type(timeout) is not int or not 0 <= timeout < 86400:
        raise ValidationError(
            f"cancel_after timeout must be an int in 0..86399, got {timeout!r}",
            field="timeout",
            value=timeout,
        )
    params = m.CancelAfterParams(timeout, "")
    return Call(METHODS["cancel_all_orders_after"], m.CancelAllOrdersAfter(params, 0), params, [])


def ping() -> Call:
    return Call(METHODS["ping"], m.Ping(0), None, [])


def subscribe_executions(
    *,
    snap_orders: bool = True,
    snap_trades: bool = False,
    order_status: bool = True,
    ratecounter: bool = False,
    unsubscribe: bool = False,
) -> Call:
    for name, v in (
        ("snap_orders", snap_orders),
        ("snap_trades", snap_trades),
        ("order_status", order_status),
        ("ratecounter", ratecounter),
        ("unsubscribe", unsubscribe),
    ):
        if type(v) is not bool:
            raise ValidationError(f"{name} must be a bool, got {v!r}", field=name, value=v)
    if unsubscribe:
        params = m.SubscribeParams("executions", "")
        return Call(METHODS["unsubscribe"], m.Unsubscribe(params, 0), params, [])
    params = m.SubscribeParams(
        "executions", "", snap_orders, snap_trades, order_status, ratecounter
    )
    return Call(METHODS["subscribe"], m.Subscribe(params, 0), params, [])


def add_order(**fields: Any) -> Call:
    """``add_order``; ``fields`` as `_orders.add_order_params`."""
    params = _orders.add_order_params("", **fields)
    ids = [params.cl_ord_id] if params.cl_ord_id else []
    return Call(METHODS["add_order"], m.AddOrder(params, 0), params, [], ids)


def batch_add(orders: Sequence[Any], **fields: Any) -> Call:
    """``batch_add``: 2..15 orders of one symbol."""
    params = _orders.batch_add_params("", orders, **fields)
    ids = [o.cl_ord_id for o in params.orders if o.cl_ord_id]
    return Call(METHODS["batch_add"], m.BatchAdd(params, 0), params, [], ids)


def amend_order(**fields: Any) -> Call:
    """``amend_order`` by ``order_id`` or ``cl_ord_id``."""
    params = _orders.amend_order_params("", **fields)
    if params.order_id:
        return Call(METHODS["amend_order"], m.AmendOrder(params, 0), params, [params.order_id])
    cl = [params.cl_ord_id] if params.cl_ord_id else []
    return Call(METHODS["amend_order"], m.AmendOrder(params, 0), params, [], cl)


def edit_order(**fields: Any) -> Call:
    """``edit_order`` (cancel-and-replace; a new order id)."""
    params = _orders.edit_order_params("", **fields)
    return Call(METHODS["edit_order"], m.EditOrder(params, 0), params, [params.order_id])


def _check_unified(ids: list[str]) -> None:
    # Unified WS batch_cancel takes Kraken order ids only: no order_userref (§4.2).
    for v in ids:
        if v.isdigit():
            raise ValidationError(
                f"the unified batch_cancel takes no order_userref, got {v!r} in orders",
                field="orders",
                value=v,
            )


def encode_call(call: Call) -> bytes:
    try:
        return _encode(call.req)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        _recheck(call, exc)


def _recheck(call: Call, exc: Exception) -> NoReturn:
    """The encoder refused a request that passed validation: name the field if we can."""
    recheck_ids(call.ids, "orders" if call.spec.name == "batch_cancel" else "order_id")
    recheck_ids(call.cl_ord_ids, "cl_ord_id")
    raise ValidationError(
        f"{call.spec.name} cannot be encoded: {exc}", field="request", value=None
    ) from None
