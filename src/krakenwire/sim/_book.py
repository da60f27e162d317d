"""Simulated accounts: credentials, open orders with their id indexes, and the audit ledger.

This module knows nothing about sockets. An :class:`Account` keeps its open orders indexed by
``order_id``, ``cl_ord_id`` and ``order_userref`` so that every cancel flavour Kraken offers
(kraken-ws-v2.md §4) resolves in O(ids); it reports each change to a sink the server installs,
which turns it into ``executions`` frames.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterable
from decimal import Decimal

import msgspec

from ._wire import clock

__all__ = ["Account", "LedgerEntry", "Order", "new_order_id"]

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_order_id() -> str:
    """A fresh Kraken-format order id, ``XXXXXX-XXXXX-XXXXXX`` (uppercase alphanumerics)."""
    raw = "".join(secrets.choice(_ALNUM) for _ in range(16))
    return f"O{raw[:5]}-{raw[5:10]}-{raw[10:]}"


class Order(msgspec.Struct, kw_only=True):
    """One open order as the simulated engine holds it."""

    order_id: str
    symbol: str = "BTC/USD"
    side: str = "buy"
    order_type: str = "limit"
    order_qty: Decimal = Decimal("0.001")
    limit_price: Decimal = Decimal("30000")
    cl_ord_id: str | None = None
    order_userref: int = 0
    post_only: bool = False
    time_in_force: str = "gtc"
    timestamp: str = ""
    created: float = 0.0  # monotonic seconds, for the order's age


class LedgerEntry(msgspec.Struct, kw_only=True):
    """What the sim did with one trading request, for tests and audits.

    ``requested`` holds the ids named in the request (strings, userrefs rendered as decimal),
    ``cancelled`` the order_ids it really cancelled, ``placed`` the order_ids it created.
    ``reply_sent`` is False when a fault switch swallowed the reply.
    """

    req_id: int | None
    method: str
    requested: list[str] = []
    cancelled: list[str] = []
    placed: list[str] = []
    error: str | None = None
    reply_sent: bool = True


Sink = Callable[["Account", str, list[Order]], None]


class Account:
    """A simulated Kraken account: API key/secret, open orders, ledger.

    Args:
        api_key: the public key (opaque string).
        api_secret: base64 of 64 random bytes, as Kraken issues; never shown in ``repr``.
    """

    def __init__(self, api_key: str | None = None, api_secret: str | None = None) -> None:
        self.api_key = api_key or base64.b64encode(secrets.token_bytes(42)).decode()
        self.api_secret = api_secret or base64.b64encode(secrets.token_bytes(64)).decode()
        self.open_orders: dict[str, Order] = {}
        self.ledger: list[LedgerEntry] = []
        self._by_cl: dict[str, str] = {}
        self._by_ref: dict[int, dict[str, None]] = {}  # dict as an ordered set
        # Notional (qty * price, any side) the account may have open; None is unlimited.
        # Set it to Decimal(0) to make every new order fail with EOrder:Insufficient funds.
        self.funds: Decimal | None = None
        # Kraken's per-pair trading rate counter: pair -> (value, monotonic time of value).
        self.rate: dict[str, tuple[float, float]] = {}
        # Installed by the server: called with (account, exec_type, orders) after each change.
        self._sink: Sink | None = None

    def __repr__(self) -> str:
        return f"Account(api_key={self.api_key!r}, open_orders={len(self.open_orders)})"

    # -- placing ---------------------------------------------------------------------------

    def place(self, n: int, symbol: str = "BTC/USD") -> list[Order]:
        """Seed ``n`` resting limit orders and announce them as ``new`` on ``executions``.

        Returns:
            The orders, in creation order.
        """
        orders = [
            self._add(
                Order(
                    order_id=new_order_id(),
                    symbol=symbol,
                    side="buy" if i % 2 == 0 else "sell",
                    # Bids below, asks above a notional 30000 mid, one tick apart.
                    limit_price=Decimal(29000 - i) if i % 2 == 0 else Decimal(31000 + i),
                )
            )
            for i in range(n)
        ]
        self._emit("new", orders)
        return orders

    def place_order(
        self,
        order_id: str | None = None,
        *,
        order_userref: int = 0,
        cl_ord_id: str | None = None,
        symbol: str = "BTC/USD",
        side: str = "buy",
        order_qty: Decimal | str = "0.001",
        limit_price: Decimal | str = "30000",
    ) -> Order:
        """Seed one open order with chosen ids and announce it as ``new``.

        Raises:
            ValueError: the order_id or cl_ord_id is already open.
        """
        oid = order_id or new_order_id()
        if oid in self.open_orders or (cl_ord_id is not None and cl_ord_id in self._by_cl):
            raise ValueError(f"order id already open: {oid!r} / {cl_ord_id!r}")
        order = self._add(
            Order(
                order_id=oid,
                symbol=symbol,
                side=side,
                order_qty=Decimal(order_qty),
                limit_price=Decimal(limit_price),
                cl_ord_id=cl_ord_id,
                order_userref=order_userref,
            )
        )
        self._emit("new", [order])
        return order

    def _add(self, order: Order) -> Order:
        if not order.timestamp:
            order.timestamp = _now_text()
        order.created = time.monotonic()
        self.open_orders[order.order_id] = order
        if order.cl_ord_id is not None:
            self._by_cl[order.cl_ord_id] = order.order_id
        self._by_ref.setdefault(order.order_userref, {})[order.order_id] = None
        return order

    def accept(self, orders: list[Order]) -> None:
        """Rest new orders from add_order/batch_add: ``pending_new`` then ``new`` updates."""
        for order in orders:
            self._add(order)
        self._emit("pending_new", orders)
        self._emit("new", orders)

    def cl_ord_id_in_use(self, cl_ord_id: str) -> bool:
        return cl_ord_id in self._by_cl

    def open_count(self, symbol: str) -> int:
        return sum(1 for o in self.open_orders.values() if o.symbol == symbol)

    def open_notional(self) -> Decimal:
        return sum((o.order_qty * o.limit_price for o in self.open_orders.values()), Decimal(0))

    def pass_through(self, orders: list[Order], exec_type: str) -> None:
        """Orders that never rest (market fills, unfilled IOC): ``pending_new``, then
        ``exec_type`` (``filled`` or ``canceled``)."""
        for order in orders:
            order.timestamp = order.timestamp or _now_text()
        self._emit("pending_new", orders)
        self._emit(exec_type, orders)

    def amended(self, order: Order) -> None:
        """Announce an in-place amendment (same ids) as an ``amended`` update."""
        order.created = time.monotonic()
        self._emit("amended", [order])

    def charge(self, symbol: str, cost: float, decay: float) -> float:
        """Add ``cost`` to the pair's rate counter (after its decay); returns the new value."""
        now = time.monotonic()
        value, at = self.rate.get(symbol, (0.0, now))
        value = max(0.0, value - (now - at) * decay) + cost
        self.rate[symbol] = (value, now)
        return value

    # -- lookups and cancels ---------------------------------------------------------------

    def find(self, ident: str) -> list[str]:
        """Open order_ids matching a batch_cancel ``orders`` entry: an order_id, else a userref."""
        if ident in self.open_orders:
            return [ident]
        if ident.isdigit() or (ident[:1] == "-" and ident[1:].isdigit()):
            refs = self._by_ref.get(int(ident))
            if refs:
                return list(refs)
        return []

    def find_cl(self, cl_ord_id: str) -> list[str]:
        oid = self._by_cl.get(cl_ord_id)
        return [oid] if oid is not None else []

    def find_ref(self, userref: int) -> list[str]:
        refs = self._by_ref.get(userref)
        return list(refs) if refs else []

    def remove(self, order_ids: Iterable[str]) -> list[Order]:
        """Take the given open orders off the book (silently skipping gone ones)."""
        out: list[Order] = []
        for oid in order_ids:
            order = self.open_orders.pop(oid, None)
            if order is None:
                continue
            if order.cl_ord_id is not None:
                self._by_cl.pop(order.cl_ord_id, None)
            refs = self._by_ref.get(order.order_userref)
            if refs is not None:
                refs.pop(oid, None)
                if not refs:
                    del self._by_ref[order.order_userref]
            out.append(order)
        return out

    def cancel(self, order_ids: Iterable[str]) -> list[Order]:
        """Cancel orders and announce them as ``canceled``; returns what was really open."""
        gone = self.remove(order_ids)
        self._emit("canceled", gone)
        return gone

    def cancel_all(self) -> list[Order]:
        return self.cancel(list(self.open_orders))

    def _emit(self, exec_type: str, orders: list[Order]) -> None:
        if orders and self._sink is not None:
            self._sink(self, exec_type, orders)


def _now_text() -> str:
    return clock.text(time.time_ns())
