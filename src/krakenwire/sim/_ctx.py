"""What every trading handler shares: the request context, Kraken's error strings, and the
per-pair rate counter's costs (kraken-ws-v2.md §6)."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from ._book import Account, LedgerEntry
from ._engine import Engine
from ._order import Order

__all__ = [
    "INVALID",
    "PERMISSION_DENIED",
    "Ctx",
    "age_cost",
    "charge",
    "charge_refused",
    "refuse",
]

INVALID = "EGeneral:Invalid arguments"
PERMISSION_DENIED = "EGeneral:Permission denied"
INVALID_PRICE = "EOrder:Invalid price"
ORDERS_LIMIT = "EOrder:Orders limit exceeded"
INSUFFICIENT_FUNDS = "EOrder:Insufficient funds"
RATE_LIMIT = "EOrder:Rate limit exceeded"
DEADLINE = "EService:Deadline elapsed"
POST_ONLY_MODE = "EService:Market in post_only mode"


class Ctx:
    """One request in flight: its identity, the replies it produced and its ledger entry."""

    __slots__ = ("method", "req_id", "replies", "entry")

    def __init__(self, method: str, req_id: int | None, entry: LedgerEntry) -> None:
        self.method = method
        self.req_id = req_id
        self.replies: list[tuple[Any, str | None]] = []  # (result, error)
        self.entry = entry

    def ok(self, result: Any) -> None:
        self.replies.append((result, None))

    def fail(self, error: str) -> None:
        self.replies.append((None, error))
        if self.entry.error is None:
            self.entry.error = error


def charge(eng: Engine, acct: Account, symbol: str, cost: float, may_refuse: bool) -> str | None:
    """Add ``cost`` to the pair's counter. With ``may_refuse`` (order entry), a cost that would
    pass ``rate_limit`` is refused with ``EOrder:Rate limit exceeded`` and not charged; cancels
    are always accepted (kraken-ws-v2.md §6)."""
    cfg = eng.config
    if may_refuse and cfg.rate_limit is not None:
        if acct.charge(symbol, 0.0, cfg.rate_decay) + cost > cfg.rate_limit:
            return RATE_LIMIT
    if cost:
        acct.charge(symbol, cost, cfg.rate_decay)
    return None


def refuse(eng: Engine, ctx: Ctx, acct: Account, symbol: str, cost: float, error: str) -> None:
    """Fail a request that did not pass validation, charging its fixed rate-counter cost
    first: Kraken charges it "even if the request fails validation" (kraken-ws-v2.md §6)."""
    charge(eng, acct, symbol, cost, False)
    ctx.fail(error)


class _Loose(msgspec.Struct):
    token: str = ""
    symbol: str = ""
    order_id: str = ""
    orders: list[Any] = []


_LOOSE = msgspec.json.Decoder(_Loose)
_FIXED = {"add_order": 1.0, "amend_order": 1.0, "edit_order": 1.0}


def charge_refused(eng: Engine, method: str, raw: msgspec.Raw) -> None:
    """The fixed cost of an order request whose params Kraken refused before reading them
    (an unknown field, a number that is not one), when its token and pair can be read."""
    if method not in _FIXED and method != "batch_add":
        return
    try:
        p = _LOOSE.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return
    acct = eng.auth(p.token)
    if acct is None:
        return
    symbol = p.symbol
    if not symbol and p.order_id in acct.open_orders:
        symbol = acct.open_orders[p.order_id].symbol
    if symbol:
        charge(eng, acct, symbol, _FIXED.get(method, len(p.orders) / 2), False)


# Extra counter cost by the order's age (kraken-ws-v2.md §6): upper age s -> (amend, edit, cancel)
_AGE_BANDS = (
    (5, 3, 6, 8),
    (10, 2, 5, 6),
    (15, 1, 4, 5),
    (45, 0, 2, 4),
    (90, 0, 1, 2),
    (300, 0, 0, 1),
)
_WHICH = {"amend": 1, "edit": 2, "cancel": 3}


def age_cost(order: Order, which: str) -> float:
    """The age-band cost of amending, editing or cancelling ``order`` now."""
    age = time.monotonic() - order.created
    column = _WHICH[which]
    for band in _AGE_BANDS:
        if age < band[0]:
            return float(band[column])
    return 0.0
