"""The risk checks: kill switch, ids-per-second and order-size caps, and the rate counter model.

Everything here runs synchronously inside ``krakenwire_check_request`` on the hot path, so it
reads only in-memory state, except the kill file, which is stat'ed for order entry only (cancels
are never blocked and skip it).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from krakenwire import RiskRejected
from krakenwire.hookspecs import Veto, hookimpl
from krakenwire.protocol import kinds

from ._counter import OrderAges, RateCounter, age_cost

__all__ = ["CANCELS", "ORDER_ENTRY", "RiskPlugin"]

# From krakenwire's method registry, never a list of our own (a method the registry adds is
# classified there).
CANCELS = kinds("cancel")
"""The Kraken methods that cancel orders (never blocked unless asked: ``cap_cancels``)."""
ORDER_ENTRY = kinds("entry")
"""The Kraken methods that place or change orders (what the counter model and caps veto)."""


def _dec(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return Decimal(str(v))
    except (InvalidOperation, ValueError):
        return None


def _env_float(env: dict[str, str] | os._Environ[str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    return float(raw) if raw else None


class RiskPlugin:
    """Pre-send risk checks for one account. Register an instance: ``connect(plugins=[...])``.

    Args:
        kill_file: while this file exists, every request but cancels is vetoed (default: the
            ``KRAKENWIRE_KILL_FILE`` environment variable, read once here).
        kill_env: while this environment variable is ``1``/``true``/``yes``, likewise.
        max_ids_per_second: cap on ids (orders entered, or ids cancelled if ``cap_cancels``)
            over any sliding one-second window; ``None`` for no cap.
        cap_cancels: count cancels toward ``max_ids_per_second`` too (and veto them over it).
        max_order_qty: cap on each order's ``order_qty`` (add/batch_add/amend/edit).
        max_notional: cap on ``order_qty * limit_price`` when a static limit price is given.
        tier: Kraken rate-counter tier (``starter``/``intermediate``/``pro``), or ``None`` to
            turn the counter model off. threshold, decay: override the tier's numbers.
        clock: monotonic seconds, injectable for tests.

    Attributes:
        counter: the [`RateCounter`][krakenwire_risk.RateCounter] (``None`` if off). ages: the
            [`OrderAges`][krakenwire_risk.OrderAges].
        last_cancel_cost: ``{symbol: cost}`` of the last cancel checked.
        cancel_costs: recent ``(req_id, {symbol: cost})`` of cancels (the last 1000).
        vetoes: how many requests this plugin vetoed.
    """

    def __init__(
        self,
        *,
        kill_file: str | os.PathLike[str] | None = None,
        kill_env: str = "KRAKENWIRE_KILL",
        max_ids_per_second: float | None = None,
        cap_cancels: bool = False,
        max_order_qty: float | Decimal | None = None,
        max_notional: float | Decimal | None = None,
        tier: str | None = "starter",
        threshold: float | None = None,
        decay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if kill_file is None:
            kill_file = os.environ.get("KRAKENWIRE_KILL_FILE") or None
        self.kill_file = os.fspath(kill_file) if kill_file is not None else None
        self.kill_env = kill_env
        self.max_ids_per_second = max_ids_per_second
        self.cap_cancels = cap_cancels
        self.max_order_qty = _dec(max_order_qty)
        self.max_notional = _dec(max_notional)
        self.counter = (
            RateCounter(tier, threshold=threshold, decay=decay, clock=clock) if tier else None
        )
        self.ages = OrderAges(clock)
        self._clock = clock
        self._window: deque[tuple[float, int]] = deque()
        self._window_sum = 0
        self._provisional: dict[int, list[tuple[str, float]]] = {}
        self.last_cancel_cost: dict[str, float] = {}
        self.cancel_costs: deque[tuple[int, dict[str, float]]] = deque(maxlen=1000)
        self.vetoes = 0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> RiskPlugin:
        """The entry point's configuration, from environment variables.

        ``KRAKENWIRE_KILL_FILE``, ``KRAKENWIRE_KILL``, ``KRAKENWIRE_RISK_MAX_IDS_PER_S``,
        ``KRAKENWIRE_RISK_CAP_CANCELS=1``, ``KRAKENWIRE_RISK_MAX_QTY``,
        ``KRAKENWIRE_RISK_MAX_NOTIONAL``, ``KRAKENWIRE_RISK_TIER`` (unset or ``off``: no counter
        model, so an installed plugin vetoes nothing it was not told to).
        """
        e = os.environ if env is None else env
        tier = e.get("KRAKENWIRE_RISK_TIER", "").strip().lower() or None
        return cls(
            kill_file=e.get("KRAKENWIRE_KILL_FILE") or None,
            max_ids_per_second=_env_float(e, "KRAKENWIRE_RISK_MAX_IDS_PER_S"),
            cap_cancels=e.get("KRAKENWIRE_RISK_CAP_CANCELS", "") in ("1", "true", "yes"),
            max_order_qty=_env_float(e, "KRAKENWIRE_RISK_MAX_QTY"),
            max_notional=_env_float(e, "KRAKENWIRE_RISK_MAX_NOTIONAL"),
            tier=None if tier in (None, "off", "none") else tier,
        )

    # ---- the checks ------------------------------------------------------------------------

    def killed(self) -> str | None:
        """Why the kill switch is on, or ``None`` if it is off."""
        if os.environ.get(self.kill_env, "") in ("1", "true", "yes"):
            return f"kill switch: ${self.kill_env} is set"
        if self.kill_file is not None and os.path.exists(self.kill_file):
            return f"kill switch: {self.kill_file} exists"
        return None

    def _veto(self, reason: str) -> Veto:
        self.vetoes += 1
        return Veto(reason)

    @hookimpl
    def krakenwire_check_request(self, request: Any) -> Veto | None:
        """Veto order entry when killed, over a cap or over the rate counter; never a cancel
        (unless ``cap_cancels`` and over ``max_ids_per_second``). Records cancel costs."""
        method = request.method
        is_cancel = request.kind == "cancel"
        costs: list[tuple[str, float]] = []
        if is_cancel:
            n = len(request.all_ids) or 1
            cost = self._cancel_request_cost(method, request.all_ids)
            self.last_cancel_cost = cost
            self.cancel_costs.append((request.req_id, cost))
            costs = list(cost.items())
        else:
            if (why := self.killed()) is not None:
                return self._veto(why)
            orders = list(request.orders)
            n = max(1, len(orders))
            if (why := self._size_veto(orders)) is not None:
                return self._veto(why)
            if self.counter is not None:
                costs = self._entry_costs(method, request.symbol, orders)
                for symbol, c in _by_symbol(costs).items():
                    if self.counter.would_exceed(symbol, c):
                        v = self.counter.value(symbol)
                        return self._veto(
                            f"rate counter for {symbol} would reach {v + c:.2f} > "
                            f"{self.counter.threshold:g} ({self.counter.tier}); Kraken would "
                            "answer EOrder:Rate limit exceeded"
                        )
        cap = self.max_ids_per_second
        if cap is not None and (not is_cancel or self.cap_cancels):
            now = self._clock()
            w = self._window
            while w and w[0][0] <= now - 1.0:
                self._window_sum -= w.popleft()[1]
            if self._window_sum + n > cap:
                return self._veto(f"{self._window_sum + n} ids in 1 s would exceed the cap {cap:g}")
            w.append((now, n))
            self._window_sum += n
        if self.counter is not None and costs:
            for symbol, c in costs:
                self.counter.add(symbol, c)
            if len(self._provisional) > 10000:  # requests never sent (vetoed batch siblings)
                self._provisional.pop(next(iter(self._provisional)))
            self._provisional[request.req_id] = costs
        return None

    def _size_veto(self, orders: list[Any]) -> str | None:
        for o in orders:
            qty = _dec(getattr(o, "order_qty", None))
            if qty is None:
                continue
            if self.max_order_qty is not None and qty > self.max_order_qty:
                return f"order_qty {qty} > cap {self.max_order_qty}"
            price = _dec(getattr(o, "limit_price", None))
            if (
                self.max_notional is not None
                and price is not None
                and getattr(o, "limit_price_type", None) in (None, "static")
                and qty * price > self.max_notional
            ):
                return f"notional {qty * price} > cap {self.max_notional}"
        return None

    def _entry_costs(
        self, method: str, symbol_: str | None, orders: list[Any]
    ) -> list[tuple[str, float]]:
        symbol = str(symbol_ or "?")
        if method == "add_order":
            return [(symbol, 1.0)]
        if method == "batch_add":
            return [(symbol, len(orders) / 2)]
        first = orders[0] if orders else None
        ident = (first.order_id or first.cl_ord_id) if first is not None else None
        known = self.ages.lookup(str(ident)) if ident else None
        if known is not None:
            symbol = known[0] if symbol == "?" else symbol
            kind = "amend" if method == "amend_order" else "edit"
            return [(symbol, 1.0 + age_cost(kind, known[1]))]
        return [(symbol, 1.0)]

    # ---- cancel cost -----------------------------------------------------------------------

    def cancel_cost(self, ids: Iterable[str]) -> dict[str, float]:
        """What cancelling ``ids`` (order_ids or cl_ord_ids) adds to each pair's counter, by the
        orders' ages; ids of orders not known open cost nothing and are left out."""
        out: dict[str, float] = {}
        for i in ids:
            known = self.ages.lookup(i)
            if known is not None:
                c = age_cost("cancel", known[1])
                if c:
                    out[known[0]] = out.get(known[0], 0.0) + c
        return out

    def _cancel_request_cost(self, method: str, ids: list[str]) -> dict[str, float]:
        if method == "cancel_all":  # +1 per pair with open orders, as python-kraken-sdk models it
            return dict.fromkeys(sorted(self.ages.symbols()), 1.0)
        if method == "cancel_all_orders_after":
            return {}
        return self.cancel_cost(ids)

    # ---- executions and outcomes ----------------------------------------------------------

    @hookimpl
    def krakenwire_executions(self, message: Any) -> None:
        """Learn order symbols and ages from ``executions`` frames."""
        data = message.data
        if isinstance(data, list):
            self.ages.apply(message.type, data)

    @hookimpl
    def krakenwire_audit(self, request: Any, outcome: Any) -> None:
        """Give back the counter cost of a request another plugin vetoed (never sent)."""
        costs = self._provisional.pop(request.req_id, None)
        if costs and self.counter is not None and isinstance(outcome, RiskRejected):
            for symbol, c in costs:
                self.counter.add(symbol, -c)


def _by_symbol(costs: list[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for s, c in costs:
        out[s] = out.get(s, 0.0) + c
    return out
