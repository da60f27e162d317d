"""A model of Kraken's per-pair trading rate counter and of the ages of the account's open orders.

Kraken keeps one counter per pair that starts at 0, decays every second and rejects new orders
with ``EOrder:Rate limit exceeded`` while it is above the tier's threshold; amends, edits and
cancels of young orders cost more (kraken-ws-v2.md section 6, Kraken's "Spot trading rate
limits" page). Order ages are learned from the ``executions`` stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from krakenwire import parse_timestamp

__all__ = ["TIERS", "OrderAges", "RateCounter", "age_cost"]

# tier -> (threshold, decay per second), kraken-ws-v2.md section 6.
TIERS: dict[str, tuple[float, float]] = {
    "starter": (60.0, 1.0),
    "intermediate": (125.0, 2.34),
    "pro": (180.0, 3.75),
}
"""Kraken's tiers: name -> (counter threshold, decay per second), kraken-ws-v2.md section 6."""
# Age bands in seconds since the order was created or last amended; >= 300 s costs nothing.
_AGE_LIMITS = (5.0, 10.0, 15.0, 45.0, 90.0, 300.0)
_AGE_COSTS: dict[str, tuple[int, ...]] = {
    "cancel": (8, 6, 5, 4, 2, 1),
    "amend": (3, 2, 1, 0, 0, 0),
    "edit": (6, 5, 4, 2, 1, 0),
}
_OPEN = frozenset({"pending_new", "new", "partially_filled"})
_CLOSED = frozenset({"canceled", "filled", "expired"})


def age_cost(kind: str, age_s: float) -> int:
    """The age-dependent part of the counter cost of ``kind`` ("cancel", "amend" or "edit")
    on an order ``age_s`` seconds old (the fixed +1 of amend/edit is not included)."""
    for limit, cost in zip(_AGE_LIMITS, _AGE_COSTS[kind], strict=True):
        if age_s < limit:
            return cost
    return 0


class RateCounter:
    """Kraken's per-pair counter: ``value(symbol)`` decays linearly at ``decay`` per second.

    Args:
        tier: ``"starter"``, ``"intermediate"`` or ``"pro"`` (threshold and decay from section 6).
        threshold: override the tier's threshold.
        decay: override the tier's decay per second.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        tier: str = "starter",
        *,
        threshold: float | None = None,
        decay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; one of {sorted(TIERS)}")
        t, d = TIERS[tier]
        self.tier = tier
        self.threshold = t if threshold is None else threshold
        self.decay = d if decay is None else decay
        self._clock = clock
        self._values: dict[str, tuple[float, float]] = {}  # symbol -> (value, at)

    def value(self, symbol: str) -> float:
        """The counter of ``symbol`` now, after decay."""
        v = self._values.get(symbol)
        if v is None:
            return 0.0
        return max(0.0, v[0] - self.decay * (self._clock() - v[1]))

    def add(self, symbol: str, cost: float) -> float:
        """Add ``cost`` (may be negative, for a refund) and return the new value."""
        new = max(0.0, self.value(symbol) + cost)
        self._values[symbol] = (new, self._clock())
        return new

    def would_exceed(self, symbol: str, cost: float) -> bool:
        """True if adding ``cost`` would put ``symbol``'s counter over the threshold."""
        return self.value(symbol) + cost > self.threshold

    def snapshot(self) -> dict[str, float]:
        """Every pair's current value."""
        return {s: self.value(s) for s in self._values}


class OrderAges:
    """Open orders' symbols and ages, from ``executions`` events.

    ``new``/``pending_new`` start an order's clock (a snapshot row uses its ``timestamp``),
    ``amended`` restarts it, ``canceled``/``filled``/``expired`` remove the order.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.orders: dict[str, tuple[str, float]] = {}  # order_id -> (symbol, since)
        self._by_cl: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.orders)

    def _since(self, row: dict[str, Any], now: float) -> float:
        ts = row.get("timestamp")
        if isinstance(ts, str) and ts:
            try:
                behind = time.time() - parse_timestamp(ts).timestamp()
            except (ValueError, TypeError):
                return now
            return now - max(0.0, behind)
        return now

    def apply(self, message_type: str, rows: Iterable[Any]) -> None:
        """Apply one executions frame's ``data`` rows."""
        now = self._clock()
        for row in rows:
            if not isinstance(row, dict):
                continue
            oid = row.get("order_id")
            if not isinstance(oid, str):
                continue
            exec_type = row.get("exec_type")
            status = row.get("order_status")
            if exec_type in _CLOSED or status in _CLOSED:
                self.orders.pop(oid, None)
                cl = row.get("cl_ord_id")
                if isinstance(cl, str):
                    self._by_cl.pop(cl, None)
                continue
            known = self.orders.get(oid)
            symbol = row.get("symbol") or (known[0] if known else "?")
            if exec_type == "amended":
                self.orders[oid] = (str(symbol), now)
            elif known is None and (
                exec_type in ("pending_new", "new")
                or (message_type == "snapshot" and (status in _OPEN or status is None))
            ):
                since = self._since(row, now) if message_type == "snapshot" else now
                self.orders[oid] = (str(symbol), since)
            elif known is not None and row.get("symbol") and known[0] == "?":
                self.orders[oid] = (str(symbol), known[1])
            cl = row.get("cl_ord_id")
            if isinstance(cl, str) and oid in self.orders:
                self._by_cl[cl] = oid

    def lookup(self, ident: str) -> tuple[str, float] | None:
        """``(symbol, age in seconds)`` of an order named by order_id or cl_ord_id."""
        got = self.orders.get(ident)
        if got is None:
            oid = self._by_cl.get(ident)
            got = self.orders.get(oid) if oid is not None else None
        if got is None:
            return None
        return got[0], self._clock() - got[1]

    def symbols(self) -> set[str]:
        """Pairs with at least one open order."""
        return {s for s, _ in self.orders.values()}
