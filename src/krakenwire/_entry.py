"""Order entry calls of [`Client`][krakenwire.Client]: add_order, batch_add, amend_order,
edit_order (kraken-ws-v2.md §4.7-4.10).

Plain functions composed into the client's class body (no base class): each validates through
``_build`` (nothing registered on bad input), sends through the client's link and, for a placed
order, tells the open-order view that the order exists (evidence for a cancel's confirmation
before the executions stream shows it). Orders are never re-sent: they are not idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from . import _build
from ._link import Link
from ._messages import BatchOrder
from ._openorders import OpenOrders
from ._orders import Number, OrderType, Side, TimeInForce
from ._pacer import Pacer
from ._results import AddOrderResult, AmendOrderResult, BatchAddResult, EditOrderResult

__all__ = ["EntryHost", "add_order", "amend_order", "batch_add", "edit_order"]


class EntryHost(Protocol):
    """What the order-entry calls use of the client."""

    _link: Link
    _orders: OpenOrders
    _pacer: Pacer | None

    def _secs(self, timeout: float | None) -> float: ...


async def add_order(
    self: EntryHost,
    *,
    symbol: str,
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
    deadline: datetime | str | None = None,
    validate: bool = False,
    timeout: float | None = None,
) -> AddOrderResult:
    """Place one order (``order_type`` ``"limit"`` needs ``limit_price``; ``"gtd"`` needs
    ``expire_time``; ``cl_ord_id`` and ``order_userref`` exclude each other).

    Raises:
        ValidationError: bad input, naming the field (nothing sent). KrakenAPIError: a
            subclass per Kraken error. RequestTimeout, ConnectionLost: outcome unknown
            (never re-sent: an order is not idempotent).
    """
    secs = self._secs(timeout)
    call = _build.add_order(
        symbol=symbol,
        side=side,
        order_qty=order_qty,
        order_type=order_type,
        limit_price=limit_price,
        time_in_force=time_in_force,
        expire_time=expire_time,
        post_only=post_only,
        reduce_only=reduce_only,
        cl_ord_id=cl_ord_id,
        order_userref=order_userref,
        deadline=deadline,
        validate=validate,
    )
    if self._pacer is not None:
        await self._pacer.pace(call)
    result: AddOrderResult = await self._link.call(call, secs)
    if result.order_id:
        self._orders.note_placed(result.order_id, result.cl_ord_id, result.order_userref)
    return result


async def batch_add(
    self: EntryHost,
    orders: Sequence[BatchOrder | dict[str, Any]],
    *,
    symbol: str,
    deadline: datetime | str | None = None,
    validate: bool = False,
    timeout: float | None = None,
) -> BatchAddResult:
    """Place 2..15 orders of one symbol in ONE wire request (dicts of
    [`add_order`][krakenwire.Client.add_order]'s order fields, or [`order`][krakenwire.Client.order]
    results, re-checked at send).

    Raises:
        ValidationError: 1 or 16+ orders, mixed symbols, any bad order (nothing sent).
        KrakenAPIError: Kraken rejected the whole batch.
    """
    secs = self._secs(timeout)
    call = _build.batch_add(orders, symbol=symbol, deadline=deadline, validate=validate)
    if self._pacer is not None:
        await self._pacer.pace(call)
    result: BatchAddResult = await self._link.call(call, secs)
    for o in result.orders:
        if o.order_id and o.error is None:
            self._orders.note_placed(o.order_id, o.cl_ord_id, o.order_userref)
    return result


async def amend_order(
    self: EntryHost,
    order_id: str | None = None,
    *,
    cl_ord_id: str | None = None,
    order_qty: Number | None = None,
    limit_price: Number | None = None,
    post_only: bool | None = None,
    deadline: datetime | str | None = None,
    timeout: float | None = None,
) -> AmendOrderResult:
    """Amend an open order in place (same ids; queue priority kept where Kraken can),
    named by ``order_id`` or ``cl_ord_id`` (exactly one)."""
    secs = self._secs(timeout)
    call = _build.amend_order(
        order_id=order_id,
        cl_ord_id=cl_ord_id,
        order_qty=order_qty,
        limit_price=limit_price,
        post_only=post_only,
        deadline=deadline,
    )
    if self._pacer is not None:
        await self._pacer.pace(call)
    result: AmendOrderResult = await self._link.call(call, secs)
    return result


async def edit_order(
    self: EntryHost,
    order_id: str,
    *,
    symbol: str,
    order_qty: Number | None = None,
    limit_price: Number | None = None,
    post_only: bool | None = None,
    order_userref: int | None = None,
    deadline: datetime | str | None = None,
    validate: bool = False,
    timeout: float | None = None,
) -> EditOrderResult:
    """Cancel-and-replace (Kraken's legacy edit): returns the NEW ``order_id``; the order
    loses its queue position and any cl_ord_id. Prefer
    [`amend_order`][krakenwire.Client.amend_order]."""
    secs = self._secs(timeout)
    call = _build.edit_order(
        order_id=order_id,
        symbol=symbol,
        order_qty=order_qty,
        limit_price=limit_price,
        post_only=post_only,
        order_userref=order_userref,
        deadline=deadline,
        validate=validate,
    )
    if self._pacer is not None:
        await self._pacer.pace(call)
    result: EditOrderResult = await self._link.call(call, secs)
    return result
