"""Client-side pacing of order entry against Kraken's per-pair trading rate counter.

Kraken keeps one counter per pair (shared by REST, WebSocket and FIX) that starts at 0, decays
every second, and refuses order entry with ``EOrder:Rate limit exceeded`` while a request would
push it past the account tier's threshold; every cancel and amend costs more the younger its
order is (kraken-ws-v2.md section 6; Kraken's "Spot trading rate limits" page). A
[`Pacer`][krakenwire.Pacer] keeps that counter for each pair: Kraken's own value when the
executions stream carries it (a subscription with ``ratecounter: true``: the ``ratecount`` field
of an order event, as the simulator names it; Kraken's name for it is not documented), the
documented costs and decay otherwise. Before an order-entry request is sent it lets it go at
once when it fits, waits for the counter to decay (up to ``max_delay``) or refuses it with
[`RateLimitPaced`][krakenwire.RateLimitPaced], nothing sent. A cancel never goes through the
pacer: it is never delayed nor refused, its cost is only counted (from the executions stream's
``canceled`` events), so the entries after it wait for it instead.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._timefmt import parse_timestamp
from .errors import RateLimitPaced, ValidationError
from .hookspecs import hookimpl

__all__ = ["PACER_TIERS", "Pacer"]

PACER_TIERS: dict[str, tuple[float, float]] = {
    "starter": (60.0, 1.0),
    "intermediate": (125.0, 2.34),
    "pro": (180.0, 3.75),
}
"""Kraken's account tiers: name -> (counter threshold, decay per second)."""

# Extra cost by the order's age in seconds (created or last amended); 300 s and older: 0.
_AGE_LIMITS = (5.0, 10.0, 15.0, 45.0, 90.0, 300.0)
_AGE_COST = {
    "cancel": (8.0, 6.0, 5.0, 4.0, 2.0, 1.0),
    "amend": (3.0, 2.0, 1.0, 0.0, 0.0, 0.0),
    "edit": (6.0, 5.0, 4.0, 2.0, 1.0, 0.0),
}
_CLOSED = frozenset({"canceled", "filled", "expired"})
_MODES = ("delay", "refuse")


def _age_cost(kind: str, age: float) -> float:
    for limit, cost in zip(_AGE_LIMITS, _AGE_COST[kind], strict=True):
        if age < limit:
            return cost
    return 0.0


def _positive(name: str, value: Any, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        want = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{name} must be a finite number {want}, got {value!r}", field=name)
    return float(value)


class Pacer:
    """Paces order entry (``add_order``, ``batch_add``, ``amend_order``, ``edit_order``) so that
    Kraken never has to refuse it for its trading rate counter; cancels are never paced.

    Give it to [`connect`][krakenwire.connect] (``connect(url, ..., pacer=Pacer("pro"))``); one
    pacer may serve every client of the same account (the counter is per account and pair).

    Args:
        tier: ``"starter"``, ``"intermediate"`` or ``"pro"``: the threshold and decay.
        threshold: override the tier's threshold.
        decay: override the tier's decay per second.
        mode: ``"delay"``: wait until the request fits (up to ``max_delay`` seconds, else
            refuse); ``"refuse"``: raise [`RateLimitPaced`][krakenwire.RateLimitPaced] at once.
        max_delay: the longest wait for one request, in seconds.
        headroom: keep the counter this far below the threshold (other clients of the account,
            REST or FIX, count against the same counter).
        clock: monotonic seconds (for tests).

    Raises:
        ValidationError: an unknown tier or mode, or a value that is not a positive number.

    Attributes:
        delayed: requests that waited. refused: requests refused (nothing sent).
        waited: seconds waited in all. streamed: whether Kraken's own counter values arrived.
    """

    def __init__(
        self,
        tier: str = "starter",
        *,
        threshold: float | None = None,
        decay: float | None = None,
        mode: str = "delay",
        max_delay: float = 5.0,
        headroom: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if tier not in PACER_TIERS:
            known = sorted(PACER_TIERS)
            raise ValidationError(f"unknown tier {tier!r}; one of {known}", field="tier")
        if mode not in _MODES:
            raise ValidationError(f"mode must be 'delay' or 'refuse', got {mode!r}", field="mode")
        t, d = PACER_TIERS[tier]
        self.tier = tier
        self.threshold = _positive("threshold", t if threshold is None else threshold)
        self.decay = _positive("decay", d if decay is None else decay)
        self.mode = mode
        self.max_delay = _positive("max_delay", max_delay, allow_zero=True)
        self.headroom = _positive("headroom", headroom, allow_zero=True)
        if self.headroom >= self.threshold:
            raise ValidationError("headroom must be below the threshold", field="headroom")
        self._clock = clock
        self._values: dict[str, tuple[float, float]] = {}  # symbol -> (value, at)
        self._orders: dict[str, tuple[str, float]] = {}  # order_id -> (symbol, since)
        self._by_cl: dict[str, str] = {}
        self.delayed = 0
        self.refused = 0
        self.waited = 0.0
        self.streamed = False

    def __repr__(self) -> str:
        return (
            f"Pacer({self.tier!r}, threshold={self.threshold:g}, decay={self.decay:g}, "
            f"mode={self.mode!r}, delayed={self.delayed}, refused={self.refused})"
        )

    # ---- the counter ----------------------------------------------------------------------

    def value(self, symbol: str) -> float:
        """The counter of ``symbol`` now, after decay."""
        v = self._values.get(symbol)
        if v is None:
            return 0.0
        return max(0.0, v[0] - self.decay * (self._clock() - v[1]))

    def charge(self, symbol: str, cost: float) -> float:
        """Add ``cost`` to ``symbol``'s counter; returns the new value."""
        new = max(0.0, self.value(symbol) + cost)
        self._values[symbol] = (new, self._clock())
        return new

    def snapshot(self) -> dict[str, float]:
        """Every pair's counter now."""
        return {s: self.value(s) for s in self._values}

    def cost(self, method: str, params: Any) -> tuple[str, float] | None:
        """``(symbol, counter cost)`` of an order-entry request, or ``None`` when it is not one
        (or names an order the pacer has not seen, whose pair it cannot tell)."""
        if method == "add_order":
            return params.symbol, 1.0
        if method == "batch_add":
            return params.symbol, len(params.orders) / 2
        if method in ("amend_order", "edit_order"):
            oid = params.order_id or self._by_cl.get(params.cl_ord_id or "", "")
            known = self._orders.get(oid)
            kind = "amend" if method == "amend_order" else "edit"
            if known is None:
                symbol = getattr(params, "symbol", None)
                return (symbol, 1.0) if symbol else None
            return known[0], 1.0 + _age_cost(kind, self._clock() - known[1])
        return None

    async def admit(self, symbol: str, cost: float) -> float:
        """Wait until ``cost`` fits under ``symbol``'s threshold, then count it; returns the
        seconds waited.

        Raises:
            RateLimitPaced: it does not fit now (``mode="refuse"``) or within ``max_delay``.
        """
        limit = self.threshold - self.headroom
        waited = 0.0
        while True:
            now = self.value(symbol)
            if now + cost <= limit:
                self.charge(symbol, cost)
                if waited:
                    self.delayed += 1
                    self.waited += waited
                return waited
            wait = math.inf if cost > limit else (now + cost - limit) / self.decay
            if self.mode == "refuse" or waited + wait > self.max_delay:
                self.refused += 1
                raise RateLimitPaced(symbol, now, limit, cost, wait)
            await asyncio.sleep(wait)
            waited += wait

    async def pace(self, call: Any) -> None:
        """Before an order-entry request (a built ``Call``) is sent: wait or refuse."""
        got = self.cost(call.spec.name, call.params)
        if got is not None:
            await self.admit(*got)

    # ---- what the executions stream says --------------------------------------------------

    @hookimpl
    def krakenwire_executions(self, message: Any) -> None:
        """Learn order ages, count cancels, and take Kraken's counter when it is streamed."""
        self.observe(message.type, message.data)

    def _since(self, stamp: Any, now: float) -> float:
        """When an order of a snapshot was created (or amended), on the pacer's clock."""
        try:
            behind = time.time() - parse_timestamp(stamp).timestamp()
        except (TypeError, ValueError, AttributeError):
            return now  # unknown: counted as new (a cancel of it costs the most)
        return now - max(0.0, behind)

    def observe(self, kind: str, rows: Iterable[Any]) -> None:
        """Apply one executions frame (``kind`` ``"snapshot"`` or ``"update"``)."""
        now = self._clock()
        for row in rows:
            if not isinstance(row, dict):
                continue
            oid = row.get("order_id")
            if not isinstance(oid, str):
                continue
            known = self._orders.get(oid)
            symbol = row.get("symbol") or (known[0] if known else None)
            exec_type = row.get("exec_type")
            status = row.get("order_status")
            if exec_type in _CLOSED or status in _CLOSED:
                self._orders.pop(oid, None)
                if exec_type == "canceled" and known is not None and kind == "update":
                    self.charge(known[0], _age_cost("cancel", now - known[1]))
            elif exec_type == "amended" and symbol:
                self._orders[oid] = (symbol, now)
            elif known is None and symbol:
                since = now if kind == "update" else self._since(row.get("timestamp"), now)
                self._orders[oid] = (symbol, since)
            cl = row.get("cl_ord_id")
            if isinstance(cl, str):
                if oid in self._orders:
                    self._by_cl[cl] = oid
                else:
                    self._by_cl.pop(cl, None)
            streamed = row.get("ratecount")
            if symbol and isinstance(streamed, int | float) and not isinstance(streamed, bool):
                self._values[symbol] = (float(streamed), now)  # Kraken's own value wins
                self.streamed = True
