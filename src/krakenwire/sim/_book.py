"""Simulated accounts: credentials, open orders with their id indexes, fills and the ledger.

This module knows nothing about sockets. An [`Account`][krakenwire.sim.Account] keeps its open
orders indexed by ``order_id``, ``cl_ord_id`` and ``order_userref`` so that every cancel flavour
Kraken offers (kraken-ws-v2.md §4) resolves in O(ids); each change becomes ``executions`` rows
handed to a sink the engine installs.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal

import msgspec

from ._balances import DEFAULT_BALANCES, LedgerRow, ledger_rows
from ._clock import clock
from ._execs import (
    ExecTrade,
    Row,
    amended_row,
    closed_row,
    filled_row,
    full_row,
    new_row,
    status_row,
    trade_row,
)
from ._order import Order, new_order_id

__all__ = ["Account", "LedgerEntry", "Order", "new_order_id"]


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


Sink = Callable[["Account", list[Row]], None]
BalanceSink = Callable[["Account", list[LedgerRow]], None]


class Account:
    """A simulated Kraken account: API key/secret, open orders, fills, ledger.

    Args:
        api_key: the public key (opaque string).
        api_secret: base64 of 64 random bytes, as Kraken issues; never shown in ``repr``.
    """

    def __init__(self, api_key: str | None = None, api_secret: str | None = None) -> None:
        self.api_key = api_key or base64.b64encode(secrets.token_bytes(42)).decode()
        self.api_secret = api_secret or base64.b64encode(secrets.token_bytes(64)).decode()
        self.open_orders: dict[str, Order] = {}
        self.ledger: list[LedgerEntry] = []
        # The last 50 fills, for snap_trades (Kraken's executions page).
        self.trades: deque[ExecTrade] = deque(maxlen=50)
        self._by_cl: dict[str, str] = {}
        self._by_ref: dict[int, dict[str, None]] = {}  # dict as an ordered set
        # Notional (qty * price, any side) the account may have open; None is unlimited.
        # Set it to Decimal(0) to make every new order fail with EOrder:Insufficient funds.
        self.funds: Decimal | None = None
        # Kraken's per-pair trading rate counter: pair -> (value, monotonic time of value).
        self.rate: dict[str, tuple[float, float]] = {}
        # Installed by the engine: called with (account, rows) after each change.
        self._sink: Sink | None = None
        # The spot/main wallet of each asset, moved by every fill (the balances channel).
        self.balances: dict[str, Decimal] = dict(DEFAULT_BALANCES)
        self._balance_sink: BalanceSink | None = None

    def __repr__(self) -> str:
        return f"Account(api_key={self.api_key!r}, open_orders={len(self.open_orders)})"

    def set_sink(self, sink: Sink | None, balances: BalanceSink | None = None) -> None:
        """Install the callbacks that turn this account's changes into executions frames and
        its ledger entries into balances frames."""
        self._sink = sink
        self._balance_sink = balances

    # -- placing ---------------------------------------------------------------------------

    def place(self, n: int, symbol: str = "BTC/USD") -> list[Order]:
        """Seed ``n`` resting limit orders, announced in one update (``pending_new`` and ``new``).

        Returns:
            The orders, in creation order.
        """
        orders = [
            Order(
                order_id=new_order_id(),
                symbol=symbol,
                side="buy" if i % 2 == 0 else "sell",
                # Bids below, asks above a notional 30000 mid, one tick apart.
                limit_price=Decimal(29000 - i) if i % 2 == 0 else Decimal(31000 + i),
            )
            for i in range(n)
        ]
        self._seed(orders)
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
        """Seed one open order with chosen ids, announced like `place`.

        Raises:
            ValueError: the order_id or cl_ord_id is already open.
        """
        oid = order_id or new_order_id()
        if oid in self.open_orders or (cl_ord_id is not None and cl_ord_id in self._by_cl):
            raise ValueError(f"order id already open: {oid!r} / {cl_ord_id!r}")
        order = Order(
            order_id=oid,
            symbol=symbol,
            side=side,
            order_qty=Decimal(order_qty),
            limit_price=Decimal(limit_price),
            cl_ord_id=cl_ord_id,
            order_userref=order_userref,
        )
        self._seed([order])
        return order

    def _seed(self, orders: list[Order]) -> None:
        # One update frame per seeding call (pending_new and new rows together), so a test
        # that drops "the next update" drops the whole announcement.
        for order in orders:
            self._add(order)
        ts = _now_text()
        rows: list[Row] = [full_row(o, "pending_new") for o in orders]
        rows.extend(new_row(o, ts) for o in orders)
        self._emit(rows)

    def _add(self, order: Order) -> Order:
        if not order.timestamp:
            order.timestamp = _now_text()
        order.created = time.monotonic()
        self.open_orders[order.order_id] = order
        if order.cl_ord_id is not None:
            self._by_cl[order.cl_ord_id] = order.order_id
        self._by_ref.setdefault(order.order_userref, {})[order.order_id] = None
        return order

    def announce(self, orders: list[Order]) -> None:
        """``pending_new`` (full rows) for orders the engine has taken in."""
        for order in orders:
            order.timestamp = order.timestamp or _now_text()
        self._emit([full_row(o, "pending_new") for o in orders])

    def accept(self, orders: list[Order], announced: bool = False) -> None:
        """Rest orders on the book: ``pending_new`` (unless ``announced``) then sparse ``new``."""
        for order in orders:
            self._add(order)
        if not announced:
            self.announce(orders)
        ts = _now_text()
        self._emit([new_row(o, ts) for o in orders])

    def cl_ord_id_in_use(self, cl_ord_id: str) -> bool:
        return cl_ord_id in self._by_cl

    def open_count(self, symbol: str) -> int:
        return sum(1 for o in self.open_orders.values() if o.symbol == symbol)

    def open_notional(self, market_price: Decimal) -> Decimal:
        return sum(
            (o.left * (o.limit_price or market_price) for o in self.open_orders.values()),
            Decimal(0),
        )

    def amended(self, order: Order) -> None:
        """Announce an in-place amendment (same ids) as an ``amended`` update."""
        order.created = time.monotonic()
        order.amended = True
        self._emit([amended_row(order, _now_text())])

    def charge(self, symbol: str, cost: float, decay: float) -> float:
        """Add ``cost`` to the pair's rate counter (after its decay); returns the new value."""
        now = time.monotonic()
        value, at = self.rate.get(symbol, (0.0, now))
        value = max(0.0, value - (now - at) * decay) + cost
        self.rate[symbol] = (value, now)
        return value

    # -- the market's side -----------------------------------------------------------------

    def fill(
        self, order: Order, qty: Decimal, price: Decimal, fee_rate: Decimal, maker: bool, tid: int
    ) -> bool:
        """Fill ``qty`` of ``order`` at ``price``: a ``trade`` row, the two ledger entries
        (base and quote, the fee on the asset ``order.fee_in`` names), and when nothing is
        left the order leaves the book with a ``filled`` row. Returns True if it is now
        filled."""
        cost = qty * price
        fee_quote = (cost * fee_rate).quantize(_FEE_STEP)
        asset = order.fee_in
        fee = fee_quote if asset == order.quote else (qty * fee_rate).quantize(_FEE_STEP)
        order.cum_qty += qty
        order.cum_cost += cost
        order.fee += fee_quote
        ts = _now_text()
        row = trade_row(order, qty, price, fee, maker, tid, ts, asset, fee_quote)
        self.trades.append(row)
        sign = 1 if order.side == "buy" else -1
        base_fee = fee if asset == order.base else ZERO
        quote_fee = fee if asset == order.quote else ZERO
        moves = [(order.quote, -sign * cost, quote_fee), (order.base, sign * qty, base_fee)]
        entries = ledger_rows(self.balances, moves, row.exec_id, ts)
        if self._balance_sink is not None:
            self._balance_sink(self, entries)
        done = order.cum_qty >= order.order_qty
        if done:
            self.remove([order.order_id])
            self._emit([row, filled_row(order, ts)])
        else:
            self._emit([row])
        return done

    def trigger(self, order: Order, last: Decimal) -> None:
        """A stop-loss/take-profit order's trigger fired: a ``status`` row."""
        order.triggered = True
        self._emit([status_row(order, _now_text(), last)])

    def close(self, orders: Iterable[Order], exec_type: str, reason: str) -> None:
        """Orders that end without a user cancel (``expired``, unfilled IOC/FOK ``canceled``)."""
        ts = _now_text()
        gone = list(orders)
        self.remove(o.order_id for o in gone)
        self._emit([closed_row(o, exec_type, ts, reason) for o in gone])

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
        if gone:
            ts = _now_text()
            self._emit([closed_row(o, "canceled", ts, "User requested") for o in gone])
        return gone

    def cancel_all(self) -> list[Order]:
        return self.cancel(list(self.open_orders))

    def _emit(self, rows: list[Row]) -> None:
        if rows and self._sink is not None:
            self._sink(self, rows)


ZERO = Decimal(0)
_FEE_STEP = Decimal("0.00000001")


def _now_text() -> str:
    return clock.text(time.time_ns())
