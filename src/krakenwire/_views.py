"""What plugins see: a frozen view of each request and a read-only context, never internals.

A hook gets a [`RequestView`][krakenwire.RequestView] (method, req_id, ids, symbol, quantities...)
built from the validated request: never the token, never a Future, never the client. The
[`PluginContext`][krakenwire.PluginContext] answers read-only questions about the connection (state,
system status, open orders) without handing out the client. Both are built only when some plugin
implements a hook, so the hot path with no plugin pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["OrderView", "PluginContext", "RequestView"]


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    """One order a request places or changes (``add_order``, a ``batch_add`` row, an
    ``amend_order``/``edit_order``). Fields Kraken's request does not carry are ``None``."""

    symbol: str | None = None
    side: str | None = None
    order_type: str | None = None
    order_qty: Decimal | None = None
    limit_price: Decimal | None = None
    time_in_force: str | None = None
    post_only: bool | None = None
    reduce_only: bool | None = None
    cl_ord_id: str | None = None
    order_userref: int | None = None
    order_id: str | None = None


class RequestView(msgspec.Struct, frozen=True, kw_only=True):
    """A request as plugins see it.

    Attributes:
        method: Kraken's method name (``"batch_cancel"``, ``"add_order"``, ...).
        req_id: the ``req_id`` it is sent with.
        kind: ``"cancel"``, ``"entry"`` or ``"housekeeping"`` (from the method registry).
        idempotent: whether sending it twice can do no harm (the cancels, cancel_after).
        ids: order ids / ``order_userref`` numbers (as strings) it names.
        cl_ord_ids: client order ids it names.
        symbol: the symbol of an order-entry request.
        orders: the orders an order-entry request places or changes.
        timeout: ``cancel_all_orders_after``'s seconds (``None`` for other methods).
        resent: ``True`` when this is a re-send (after a token refresh).
        handle: the ``req_id`` the request was first sent with (differs from ``req_id`` on a
            re-send): one request's intent and outcome share it.
    """

    method: str
    req_id: int
    kind: str
    idempotent: bool = False
    ids: tuple[str, ...] = ()
    cl_ord_ids: tuple[str, ...] = ()
    symbol: str | None = None
    orders: tuple[OrderView, ...] = ()
    timeout: int | None = None
    resent: bool = False
    handle: int = 0

    @property
    def all_ids(self) -> tuple[str, ...]:
        """``ids`` then ``cl_ord_ids``."""
        return self.ids + self.cl_ord_ids


class PluginContext:
    """Read-only facts about the connection a hook runs for (one per client).

    Attributes are properties read live: ``url``, ``state`` (``"connected"``,
    ``"reconnecting"``...), ``system`` (Kraken's last ``status``: ``"online"``,
    ``"cancel_only"``...), ``open_orders`` (the live view; do not mutate it) and ``pending``
    (requests in flight).
    """

    __slots__ = ("_url", "_state", "_system", "_orders", "_pending")

    def __init__(
        self,
        url: str,
        state: Callable[[], str],
        system: Callable[[], str],
        open_orders: Any,
        pending: Callable[[], int],
    ) -> None:
        self._url = url
        self._state = state
        self._system = system
        self._orders = open_orders
        self._pending = pending

    def __repr__(self) -> str:
        return f"PluginContext(url={self._url!r}, state={self.state!r})"

    @property
    def url(self) -> str:
        return self._url

    @property
    def state(self) -> str:
        return self._state()

    @property
    def system(self) -> str:
        return self._system()

    @property
    def open_orders(self) -> Any:
        """The client's [`OpenOrders`][krakenwire.OpenOrders] view (read it; do not mutate it)."""
        return self._orders

    @property
    def pending(self) -> int:
        return self._pending()


def order_view(params: Any) -> OrderView:
    """The [`OrderView`][krakenwire.OrderView] of an order-entry params Struct (or a batch_add
    row)."""
    get = params.__getattribute__
    names = params.__struct_fields__

    def f(name: str) -> Any:
        return get(name) if name in names else None

    return OrderView(
        symbol=f("symbol"),
        side=f("side"),
        order_type=f("order_type"),
        order_qty=f("order_qty"),
        limit_price=f("limit_price"),
        time_in_force=f("time_in_force"),
        post_only=f("post_only"),
        reduce_only=f("reduce_only"),
        cl_ord_id=f("cl_ord_id"),
        order_userref=f("order_userref"),
        order_id=f("order_id"),
    )
