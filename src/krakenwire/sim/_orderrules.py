"""What the simulated engine refuses in an order, with Kraken's strings, and what it warns of.

One function per question: `numbers` (a number sent as a string gets Kraken's recorded
``Limit_price field must be a number_float``), `check` (which order type takes which
field: the rules of docs.kraken.com .../spot-websocket-v2/add_order, the same the client
checks in ``krakenwire._orders``), `deadline`, and the prices a trigger or a relative
limit resolves to. Where Kraken's exact string for a refusal is not recorded the answer is
``EGeneral:Invalid arguments``.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from ._book import Account
from ._clock import parse_time
from ._ctx import DEADLINE, INVALID, INVALID_PRICE, POST_ONLY_MODE
from ._engine import Engine
from ._prices import relative
from ._wire import _OrderFields

__all__ = [
    "LIMIT_PRICED",
    "TRAILING",
    "TRIGGERED",
    "check",
    "deadline",
    "numbers",
    "trigger_price",
]

LIMIT_PRICED = frozenset(
    ("limit", "iceberg", "stop-loss-limit", "take-profit-limit", "trailing-stop-limit")
)
TRIGGERED = frozenset(
    (
        "stop-loss",
        "stop-loss-limit",
        "take-profit",
        "take-profit-limit",
        "trailing-stop",
        "trailing-stop-limit",
    )
)
TRAILING = frozenset(("trailing-stop", "trailing-stop-limit"))
TYPES = LIMIT_PRICED | TRIGGERED | {"market", "settle-position"}
CLOSE_TYPES = TYPES - {"market", "iceberg", "settle-position"}
PRICE_TYPES = frozenset(("static", "pct", "quote"))
_SIDES = frozenset(("buy", "sell"))
_TIFS = frozenset(("gtc", "gtd", "ioc", "fok"))
_STP = frozenset(("cancel_newest", "cancel_oldest", "cancel_both"))
_FEE = frozenset(("base", "quote"))
# Recorded from the venue (kraken-ws-v2.md §9).
NO_MPP = "EGeneral:Invalid arguments:no_mpp order option is only available when ordertype = market"
# Kraken deprecated no_mpp (changelog 2025-09-18) and still accepts it; its warning text for a
# deprecated request field is not recorded: this follows the recorded "<x> is deprecated".
NO_MPP_DEPRECATED = "no_mpp is deprecated"
DEADLINE_AHEAD = 60.0  # docs: add_order `deadline`, 500 ms to 60 s ahead
_NUMBERS = ("order_qty", "limit_price", "display_qty", "cash_order_qty", "trigger_price")


def numbers(p: Any) -> str | None:
    """Turn the number fields of ``p`` into ``Decimal`` in place; Kraken's recorded error
    (``<Field> field must be a number_float``) for one that is not a JSON number."""
    for name in _NUMBERS:
        v = getattr(p, name, None)
        if v is None or type(v) is Decimal:
            continue
        if type(v) is int:
            setattr(p, name, Decimal(v))
            continue
        return f"{name.capitalize()} field must be a number_float"
    return None


def trigger_price(trig: dict[str, Any], otype: str, side: str, last: Decimal, tick: Decimal) -> Any:
    """``(trigger price, trail distance)`` of a triggered order, or None when ``triggers`` is
    malformed. A trailing stop's trigger starts one distance away from ``last`` on the losing
    side (below it for a sell, above it for a buy)."""
    kind = trig.get("price_type", "static")
    if trig.get("reference", "last") not in ("last", "index") or kind not in PRICE_TYPES:
        return None
    price = trig.get("price")
    if type(price) is int:
        price = Decimal(price)
    if type(price) is not Decimal or not price.is_finite():
        return None
    if otype in TRAILING:
        if kind == "static" or price <= 0:
            return None
        distance = last - relative(last, -price, kind, tick)
        start = last - distance if side == "sell" else last + distance
        return (start, price) if start > 0 else None
    at = relative(last, price, kind, tick)
    return (at, None) if at > 0 else None


def _conditional(c: dict[str, Any]) -> str | None:
    otype = c.get("order_type")
    if otype not in CLOSE_TYPES:
        return INVALID
    for key in c:
        if key not in ("order_type", "limit_price", "limit_price_type") and not key.startswith(
            "trigger_price"
        ):
            return f"Unsupported field: '{key}' for the given msg type: add order"
    lp, tp = c.get("limit_price"), c.get("trigger_price")
    for name, v in (("limit_price", lp), ("trigger_price", tp)):
        if v is not None and type(v) not in (int, Decimal):
            return f"{name.capitalize()} field must be a number_float"
    if (otype in LIMIT_PRICED) != (lp is not None) or (otype in TRIGGERED) != (tp is not None):
        return INVALID
    for key in ("limit_price_type", "trigger_price_type"):
        if c.get(key, "static") not in PRICE_TYPES:
            return INVALID
    if otype in TRAILING and c.get("trigger_price_type", "static") == "static":
        return INVALID  # a trailing close's trigger is a distance from the peak
    return None


def check(eng: Engine, acct: Account, f: _OrderFields, symbol: str) -> tuple[str | None, list[str]]:
    """Kraken's error string for an order that fails validation (the whole batch) and the
    warnings an accepted order carries."""
    warnings: list[str] = []
    if "/" not in symbol or "XBT" in symbol:
        return f"Currency pair not supported {symbol}", warnings
    bad = numbers(f)
    if bad is not None:
        return bad, warnings
    otype = f.order_type
    if otype not in TYPES or f.side not in _SIDES or f.time_in_force not in _TIFS:
        return INVALID, warnings
    if f.stp_type is not None and f.stp_type not in _STP:
        return INVALID, warnings
    if f.fee_preference is not None and f.fee_preference not in _FEE:
        return INVALID, warnings
    if f.no_mpp is not None:
        if f.no_mpp and otype != "market":
            return NO_MPP, warnings
        warnings.append(NO_MPP_DEPRECATED)
    if f.cl_ord_id is not None and (f.order_userref is not None or f.conditional is not None):
        return INVALID, warnings  # cl_ord_id XOR order_userref; none on OTO orders (§7)
    # Quantity: order_qty, or cash_order_qty on a buy market order without margin.
    if f.cash_order_qty is not None:
        if otype != "market" or f.side != "buy" or f.margin or f.order_qty is not None:
            return INVALID, warnings
        if f.cash_order_qty <= 0:
            return INVALID, warnings
    elif f.order_qty is None or f.order_qty <= 0:
        return INVALID, warnings
    if otype in LIMIT_PRICED:
        if f.limit_price is None:
            return INVALID_PRICE, warnings
        if f.limit_price_type in ("pct", "quote"):
            pass  # an offset from the trigger price (trailing-stop-limit only, below)
        elif f.limit_price <= 0:
            return INVALID_PRICE, warnings
    elif f.limit_price is not None:
        return INVALID, warnings
    if f.limit_price_type is not None and (
        otype != "trailing-stop-limit" or f.limit_price_type not in PRICE_TYPES
    ):
        return INVALID, warnings
    if otype in TRIGGERED:
        last = eng.market.price(symbol)
        if trigger_price(f.triggers or {}, otype, f.side, last, eng.config.tick_size) is None:
            return INVALID, warnings
    elif f.triggers is not None:
        return INVALID, warnings
    if otype == "iceberg":
        qty = f.order_qty
        if qty is None or f.display_qty is None or not qty / 15 <= f.display_qty <= qty:
            return INVALID, warnings
    elif f.display_qty is not None:
        return INVALID, warnings
    if f.time_in_force == "fok" and otype != "limit":
        return INVALID, warnings
    if f.post_only and (otype not in ("limit", "iceberg") or f.time_in_force in ("ioc", "fok")):
        return INVALID, warnings
    if (f.time_in_force == "gtd") != (f.expire_time is not None):
        return INVALID, warnings
    for stamp in (f.expire_time, f.effective_time):
        if stamp is not None:
            try:
                at = parse_time(stamp)
            except ValueError:
                return INVALID, warnings
            if stamp is f.expire_time and at <= time.time():
                return INVALID, warnings
    if f.conditional is not None:
        if otype == "settle-position":
            return INVALID, warnings
        bad = _conditional(f.conditional)
        if bad is not None:
            return bad, warnings
    if f.cl_ord_id is not None and acct.cl_ord_id_in_use(f.cl_ord_id):
        return INVALID, warnings
    if eng.system == "post_only" and not f.post_only:
        return POST_ONLY_MODE, warnings
    return None, warnings


def deadline(value: str | None) -> str | None:
    """``EService:Deadline elapsed`` for a deadline past; ``EGeneral:Invalid arguments`` for
    one more than 60 s ahead (Kraken's exact string for that is not recorded)."""
    if value is None:
        return None
    try:
        due = parse_time(value)
    except ValueError:
        return INVALID
    now = time.time()
    if due < now:
        return DEADLINE
    return INVALID if due - now > DEADLINE_AHEAD else None
