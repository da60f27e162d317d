"""Price arithmetic of the simulated engine: a relative price (pct/quote) against a base."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["relative"]


def relative(base: Decimal, amount: Decimal, kind: str, tick: Decimal) -> Decimal:
    """``amount`` read as ``kind`` against ``base``: a price (static), a percentage of
    ``base`` (pct, rounded to the tick) or an amount of the quote currency (quote)."""
    if kind == "pct":
        return (base * (1 + amount / 100) / tick).to_integral_value() * tick
    if kind == "quote":
        return base + amount
    return amount
