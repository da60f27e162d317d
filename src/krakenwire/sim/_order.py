"""One order as the simulated engine holds it, and Kraken-format ids for orders and trades."""

from __future__ import annotations

import secrets
from decimal import Decimal

import msgspec

__all__ = ["Order", "new_exec_id", "new_order_id"]

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ZERO = Decimal(0)


def _kraken_id(first: str) -> str:
    raw = "".join(secrets.choice(_ALNUM) for _ in range(16))
    return f"{first}{raw[:5]}-{raw[5:10]}-{raw[10:]}"


def new_order_id() -> str:
    """A fresh Kraken-format order id, ``OXXXXX-XXXXX-XXXXXX`` (uppercase alphanumerics)."""
    return _kraken_id("O")


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
