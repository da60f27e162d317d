"""The simulated market: a price per symbol and the rule that fills orders against it.

Each symbol's price follows a seeded random walk (geometric, rounded to ``tick_size``) or a
path replayed from a file, one step per ``market_interval``. After every step a resting buy
limit at or above the price (a sell at or below it) fills as maker at its limit price, fully
or, with ``partial_fill_prob``, partly; stop-loss and take-profit orders trigger from the price
(the ``-limit`` forms then rest as limits, the others fill at the price as taker). Market orders
and marketable limits fill at once as taker. The engine owns the timer; this module only
decides and tells the accounts, which emit the ``trade``/``filled``/``status`` rows.
"""

from __future__ import annotations

import math
import random
import time
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from ._book import Account
from ._config import SimConfig
from ._order import Order, new_order_id
from ._prices import relative

__all__ = ["Market", "PricePath", "load_path"]

_STOP_TYPES = frozenset(
    (
        "stop-loss",
        "stop-loss-limit",
        "take-profit",
        "take-profit-limit",
        "trailing-stop",
        "trailing-stop-limit",
    )
)
_AT_ONCE = frozenset(("market", "settle-position"))  # no margin positions here: a market order
_QTY = Decimal("0.00000001")


def load_path(path: str) -> dict[str, list[Decimal]]:
    """Read a price path file: ``PRICE`` or ``SYMBOL PRICE`` / ``SYMBOL,PRICE`` per line.

    Prices without a symbol go under ``"*"`` (every symbol without its own path).

    Raises:
        ValueError: a line is not a positive price.
    """
    out: dict[str, list[Decimal]] = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        text = line.split("#", 1)[0].replace(",", " ").split()
        if not text:
            continue
        symbol, price = ("*", text[0]) if len(text) == 1 else (text[0], text[1])
        try:
            value = Decimal(price)
        except ArithmeticError:
            value = Decimal(0)
        if not value.is_finite() or value <= 0:
            raise ValueError(f"{path}:{n}: not a positive price: {line!r}")
        out.setdefault(symbol, []).append(value)
    return out


class PricePath:
    """One symbol's price: a seeded geometric random walk, or a replayed list of prices."""

    def __init__(
        self,
        start: Decimal,
        rng: random.Random,
        volatility: float,
        tick: Decimal,
        replay: list[Decimal] | None = None,
    ) -> None:
        self._rng = rng
        self._vol = volatility
        self._tick = tick
        self._replay = replay
        self._i = 0
        self.price = replay[0] if replay else start

    def step(self) -> Decimal:
        """Advance one step and return the new price."""
        if self._replay is not None:
            self._i = min(self._i + 1, len(self._replay) - 1)
            self.price = self._replay[self._i]
            return self.price
        moved = float(self.price) * math.exp(self._rng.gauss(0.0, self._vol))
        ticks = max(1, round(moved / float(self._tick)))
        self.price = self._tick * ticks
        return self.price


class Market:
    """Prices per symbol and the matching rule (see the module docstring)."""

    def __init__(self, config: SimConfig, rng: random.Random) -> None:
        self._cfg = config
        self._rng = rng
        self._paths: dict[str, PricePath] = {}
        self._replay = load_path(config.market_path) if config.market_path else {}
        self._trade_ids: dict[str, int] = {}

    @property
    def live(self) -> bool:
        """True when the price moves and orders fill against it (``SimConfig.market``)."""
        return self._cfg.market

    def path(self, symbol: str) -> PricePath:
        p = self._paths.get(symbol)
        if p is None:
            replay = self._replay.get(symbol) or self._replay.get("*")
            cfg = self._cfg
            p = PricePath(cfg.market_price, self._rng, cfg.market_volatility, cfg.tick_size, replay)
            self._paths[symbol] = p
        return p

    def price(self, symbol: str) -> Decimal:
        return self.path(symbol).price

    def step(self, accounts: list[Account]) -> None:
        """Move every known symbol's price one step, then match every account's orders."""
        symbols = set(self._paths)
        for acct in accounts:
            symbols.update(o.symbol for o in acct.open_orders.values())
        for symbol in sorted(symbols):
            self.path(symbol).step()
        for acct in accounts:
            self.match(acct)

    def match(self, acct: Account) -> None:
        """Trigger and fill what the current prices reach."""
        wall = time.time()
        for order in list(acct.open_orders.values()):
            if order.order_id not in acct.open_orders:
                continue
            if order.effective_at is not None and order.effective_at > wall:
                continue  # scheduled (effective_time): not trading yet
            price = self.price(order.symbol)
            if order.untriggered:
                if order.trail is not None:
                    _trail(order, price, self._cfg.tick_size)
                if self._reached(order, price):
                    if order.limit_offset is not None:
                        assert order.trigger_price is not None
                        order.limit_price = relative(
                            order.trigger_price,
                            order.limit_offset,
                            order.limit_offset_type,
                            self._cfg.tick_size,
                        )
                    acct.trigger(order, price)
                    self._after_trigger(acct, order, price)
            elif order.limit_price is not None and _crosses(order, price):
                self._fill(acct, order, order.limit_price, maker=True, partial=True)

    def enter(self, acct: Account, orders: list[Order]) -> None:
        """Orders a request placed: rest, trigger-wait, or fill at once, as their type says."""
        acct.announce(orders)
        resting: list[Order] = []
        now: list[Order] = []
        for order in orders:
            price = self.price(order.symbol)
            if order.effective_at is not None and order.effective_at > time.time():
                resting.append(order)  # scheduled: trades from its effective_time on
            elif order.order_type in _AT_ONCE:
                now.append(order)
            elif order.order_type in _STOP_TYPES:
                resting.append(order)
            elif self.live and order.limit_price is not None and _crosses(order, price):
                if order.post_only:
                    acct.close([order], "canceled", "Post only order")
                else:
                    now.append(order)
            elif order.time_in_force in ("ioc", "fok"):
                acct.close([order], "canceled", "Insufficient liquidity")
            else:
                resting.append(order)
        acct.accept(resting + now, announced=True)
        for order in now:
            price = self.price(order.symbol)
            partial = order.time_in_force != "fok" and order.order_type not in _AT_ONCE
            self._fill(acct, order, price, maker=False, partial=partial)
            if order.order_id in acct.open_orders and order.time_in_force in ("ioc", "fok"):
                acct.close([order], "canceled", "Insufficient liquidity")

    def race(self, acct: Account, order_ids: list[str]) -> None:
        """With ``cancel_race_prob``, a resting order fills (maker, in full) just before the
        cancel naming it is processed, so the cancel finds it gone."""
        prob = self._cfg.cancel_race_prob
        if prob <= 0.0:
            return
        for oid in order_ids:
            order = acct.open_orders.get(oid)
            if order is None or order.untriggered or order.limit_price is None:
                continue
            if self._rng.random() < prob:
                self._fill(acct, order, order.limit_price, maker=True, partial=False)

    def _after_trigger(self, acct: Account, order: Order, price: Decimal) -> None:
        if order.order_type.endswith("-limit"):
            if order.limit_price is not None and _crosses(order, price):
                self._fill(acct, order, price, maker=False, partial=False)
        else:
            self._fill(acct, order, price, maker=False, partial=False)

    def _reached(self, order: Order, price: Decimal) -> bool:
        trigger = order.trigger_price
        assert trigger is not None
        stop = not order.order_type.startswith("take-profit")  # trailing stops are stops
        # A stop-loss sells when the price falls to it (buys when it rises to it); a
        # take-profit sells when the price rises to it (buys when it falls to it).
        rising = (order.side == "buy") == stop
        return price >= trigger if rising else price <= trigger

    def _fill(
        self, acct: Account, order: Order, price: Decimal, maker: bool, partial: bool
    ) -> None:
        qty = order.left
        # Only an order's first fill may be partial, so a crossing order fills within two steps.
        if partial and not order.cum_qty and self._rng.random() < self._cfg.partial_fill_prob:
            part = (qty * Decimal(str(self._rng.uniform(0.1, 0.9)))).quantize(_QTY, ROUND_DOWN)
            if _QTY <= part < qty:
                qty = part
        tid = self._trade_ids.get(order.symbol, 1000000) + 1
        self._trade_ids[order.symbol] = tid
        cfg = self._cfg
        done = acct.fill(order, qty, price, cfg.maker_fee if maker else cfg.taker_fee, maker, tid)
        if done and order.conditional is not None:
            self._close_order(acct, order)

    def _close_order(self, acct: Account, parent: Order) -> None:
        """Place the conditional close of a filled order: the other side, the filled quantity,
        prices read against the parent's average fill price (pct/quote) or as given."""
        c = parent.conditional or {}
        tick = self._cfg.tick_size
        avg = parent.avg_price
        otype = str(c["order_type"])
        side = "sell" if parent.side == "buy" else "buy"
        close = Order(
            order_id=new_order_id(),
            symbol=parent.symbol,
            side=side,
            order_type=otype,
            order_qty=parent.cum_qty,
            limit_price=None,
            order_userref=parent.order_userref,
            parent_id=parent.order_id,
        )
        if c.get("limit_price") is not None:
            kind = str(c.get("limit_price_type", "static"))
            close.limit_price = relative(avg, Decimal(c["limit_price"]), kind, tick)
        if c.get("trigger_price") is not None:
            kind = str(c.get("trigger_price_type", "static"))
            amount = Decimal(c["trigger_price"])
            if otype.startswith("trailing"):
                close.trail, close.trail_type, close.peak = amount, kind, avg
                distance = avg - relative(avg, -amount, kind, tick)
                close.trigger_price = avg - distance if side == "sell" else avg + distance
            else:
                close.trigger_price = relative(avg, amount, kind, tick)
        self.enter(acct, [close])


def _trail(order: Order, price: Decimal, tick: Decimal) -> None:
    """Move a trailing stop's trigger after a better price: its peak (a sell's highest price,
    a buy's lowest) and the trigger one distance back from it."""
    peak = order.peak if order.peak is not None else price
    better = price > peak if order.side == "sell" else price < peak
    if not better:
        return
    order.peak = price
    assert order.trail is not None
    distance = price - relative(price, -order.trail, order.trail_type, tick)
    order.trigger_price = price - distance if order.side == "sell" else price + distance


def _crosses(order: Order, price: Decimal) -> bool:
    limit = order.limit_price
    assert limit is not None
    return price <= limit if order.side == "buy" else price >= limit
