"""Order entry calls of the client: add_order, batch_add, amend_order, edit_order.

A mixin under :class:`~krakenwire.client.Client`; validation and building live in
``_orders.py`` (sans-IO), the transport in ``_connection.py``. Prices and quantities take
``Decimal``, ``int``, a decimal string, or a float that is exactly a short decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ._connection import Connection
from ._messages import BatchOrder
from ._orders import Number
from ._orders import order as _order
from ._results import AddOrderResult, AmendOrderResult, BatchAddResult, EditOrderResult

__all__ = ["OrderEntry"]


class OrderEntry(Connection):
    """add_order, batch_add, amend_order, edit_order (kraken-ws-v2.md §4.7-4.10)."""

    # A validated order for :meth:`batch_add` (a dict of the same fields works too).
    order = staticmethod(_order)

    async def add_order(
        self,
        *,
        symbol: str,
        side: str,
        order_qty: Number,
        order_type: str = "limit",
        limit_price: Number | None = None,
        time_in_force: str | None = None,
        expire_time: datetime | str | None = None,
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        cl_ord_id: str | None = None,
        order_userref: int | None = None,
        deadline: datetime | str | None = None,
        validate: bool = False,
        timeout: float | None = None,
    ) -> AddOrderResult:
        """Place one order.

        Args:
            symbol: ``"BTC/USD"`` (Kraken refuses ``XBT``).
            side: ``"buy"`` or ``"sell"``.
            order_qty: base quantity, > 0.
            order_type: ``"limit"`` (needs ``limit_price``) or ``"market"``.
            limit_price: > 0.
            time_in_force: ``"gtc"`` (Kraken's default), ``"gtd"`` (needs ``expire_time``)
                or ``"ioc"``.
            expire_time: for gtd: an aware datetime or RFC3339 string (second precision).
            post_only: rest only, never take (limit orders).
            cl_ord_id, order_userref: your id for the order; at most one of them.
            deadline: an aware datetime (sent with ms precision); Kraken rejects the order
                with ``EService:Deadline elapsed`` if it reaches the engine later.
            validate: let Kraken validate only (``order_id`` comes back ``""``).

        Returns:
            :class:`AddOrderResult` with Kraken's ``order_id``.

        Raises:
            ValidationError: bad input, naming the field (nothing sent). KrakenAPIError: a
                subclass per Kraken error (``InsufficientFunds``, ``OrdersLimitExceeded``,
                ``InvalidPrice``, ``RateLimitExceeded``, ...) carrying the exact string.
            RequestTimeout, ConnectionLost: outcome unknown (check ``open_orders``).
        """
        p, data = self._session.add_order(
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
        result: AddOrderResult = await self._send(p, data, timeout)
        return result

    async def batch_add(
        self,
        orders: Sequence[BatchOrder | dict[str, Any]],
        *,
        symbol: str,
        deadline: datetime | str | None = None,
        validate: bool = False,
        timeout: float | None = None,
    ) -> BatchAddResult:
        """Place 2..15 orders of one symbol in ONE wire request.

        Args:
            orders: dicts of :meth:`add_order`'s order fields (``side``, ``order_qty``,
                ``limit_price``, ``post_only``, ``cl_ord_id``, ...; a ``symbol`` key must
                equal ``symbol``), or :meth:`order` results.

        Returns:
            :class:`BatchAddResult`, one item per order in request order. An engine failure
            (e.g. insufficient funds) rejects only that order: its item has ``error``.

        Raises:
            ValidationError: 1 or 16+ orders, mixed symbols, any bad order (nothing sent).
            KrakenAPIError: Kraken rejected the whole batch (a validation failure).
        """
        p, data = self._session.batch_add(
            orders, symbol=symbol, deadline=deadline, validate=validate
        )
        result: BatchAddResult = await self._send(p, data, timeout)
        return result

    async def amend_order(
        self,
        order_id: str | None = None,
        *,
        cl_ord_id: str | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        post_only: bool | None = None,
        deadline: datetime | str | None = None,
        timeout: float | None = None,
    ) -> AmendOrderResult:
        """Amend an open order in place: same ``order_id``/``cl_ord_id``, queue priority kept
        where Kraken can. Name it by ``order_id`` or ``cl_ord_id`` (exactly one).

        Raises:
            ValidationError: neither or both ids, nothing to change, a bad value.
            KrakenAPIError: e.g. ``EOrder:Unknown order``.
        """
        p, data = self._session.amend_order(
            order_id=order_id,
            cl_ord_id=cl_ord_id,
            order_qty=order_qty,
            limit_price=limit_price,
            post_only=post_only,
            deadline=deadline,
        )
        result: AmendOrderResult = await self._send(p, data, timeout)
        return result

    async def edit_order(
        self,
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
        loses its queue position and any cl_ord_id. Prefer :meth:`amend_order`."""
        p, data = self._session.edit_order(
            order_id=order_id,
            symbol=symbol,
            order_qty=order_qty,
            limit_price=limit_price,
            post_only=post_only,
            order_userref=order_userref,
            deadline=deadline,
            validate=validate,
        )
        result: EditOrderResult = await self._send(p, data, timeout)
        return result
