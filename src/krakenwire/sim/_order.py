"""One order as the simulated engine holds it, and Kraken-format ids for orders and trades."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["Order", "new_exec_id", "new_ledger_id", "new_order_id"]

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ZERO = Decimal(0)


def _kraken_id(first: str) -> str:
    raw = "".join(secrets.choice(_ALNUM) for _ in range(16))
    return f"{first}{raw[:5]}-{raw[5:10]}-{raw[10:]}"


def new_order_id() -> str:
    """A fresh Kraken-format order id, ``OXXXXX-XXXXX-XXXXXX`` (uppercase alphanumerics)."""
    return _kraken_id("O")


def new_ledger_id() -> str:
    """A fresh Kraken-format ledger entry id, ``LXXXXX-XXXXX-XXXXXX``."""
    return _kraken_id("L")


def new_exec_id() -> str:
    """A fresh Kraken-format trade (execution) id, ``TXXXXX-XXXXX-XXXXXX``."""
    return _kraken_id("T")


class Order(msgspec.Struct, kw_only=True):
    """One order as the simulated engine holds it.

    ``time_in_force`` is kept lowercase as requests spell it; executions write it uppercase as
    Kraken does. ``trigger_price`` is set for stop-loss/take-profit orders, ``triggered`` once
    the price reached it. ``expire_at`` is the epoch second a GTD order expires.
    """

    order_id: str
    symbol: str = "BTC/USD"
    side: str = "buy"
    order_type: str = "limit"
    order_qty: Decimal = Decimal("0.001")
    limit_price: Decimal | None = Decimal("30000")
    cl_ord_id: str | None = None
    order_userref: int = 0
    post_only: bool = False
    reduce_only: bool = False
    time_in_force: str = "gtc"
    timestamp: str = ""
    created: float = 0.0  # monotonic seconds, for the order's age
    cum_qty: Decimal = ZERO
    cum_cost: Decimal = ZERO
    fee: Decimal = ZERO
    amended: bool = False
    expire_at: float | None = None
    trigger_price: Decimal | None = None
    trigger_reference: str = "last"
    triggered: bool = False
    # A trailing stop's distance from the best price since it was placed (``trail_type`` pct
    # or quote): ``trigger_price`` follows ``peak`` until the price turns back by ``trail``.
    trail: Decimal | None = None
    trail_type: str = "quote"
    peak: Decimal | None = None
    # A trailing-stop-limit's limit as an offset from its trigger price (``limit_price_type``
    # pct or quote); the limit price is fixed when the trigger fires.
    limit_offset: Decimal | None = None
    limit_offset_type: str = "static"
    display_qty: Decimal | None = None
    fee_asset: str = ""  # "" is Kraken's default: quote currency buying, base selling
    margin: bool = False
    stp_type: str = "cancel_newest"
    effective_at: float | None = None  # epoch second before which it does not trade
    # The close order placed when this one fills: the add_order ``conditional`` object.
    conditional: dict[str, Any] | None = None
    parent_id: str | None = None  # the order whose fill placed this close order

    @property
    def left(self) -> Decimal:
        """Quantity not filled yet."""
        return self.order_qty - self.cum_qty

    @property
    def avg_price(self) -> Decimal:
        return self.cum_cost / self.cum_qty if self.cum_qty else ZERO

    @property
    def untriggered(self) -> bool:
        return self.trigger_price is not None and not self.triggered

    @property
    def base(self) -> str:
        return self.symbol.split("/", 1)[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/", 1)[-1]

    @property
    def fee_in(self) -> str:
        """The asset fees are charged in: ``fee_preference``, else the quote currency on a buy
        and the base currency on a sell (Kraken's REST flags fciq/fcib state this default)."""
        if self.fee_asset == "base":
            return self.base
        if self.fee_asset == "quote":
            return self.quote
        return self.quote if self.side == "buy" else self.base
