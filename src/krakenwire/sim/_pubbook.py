"""The simulator's public level-2 book of one pair, and the ``book`` frames it publishes.

The book is kept in integer units of the pair's precisions, centred on the market's price (the
same price process that fills orders, `._market`): bids at ``mid - k*tick``, asks at
``mid + k*tick``, ``k >= 1``. Each `SimBook.step` re-centres it on the current price and
makes a few random level changes near the top. Subscribers of every depth get the changes that
touch their top ``depth`` levels, the way Kraken's feed does: changed and inserted levels with
their quantity, levels deleted from inside the scope with quantity 0 (and then the level that
enters the scope from below), and nothing for a level merely pushed out of scope by an insert.

The checksum is Kraken's (docs.kraken.com/api/docs/guides/spot-ws-book-v2), computed here from
the server's own book: the ten best asks (lowest first) then the ten best bids (highest first),
each level written as its price then its quantity with every decimal of the pair's precision,
without the point and without leading zeros, all concatenated, CRC32 as an unsigned integer.
This module shares no code with the client's book.
"""

from __future__ import annotations

import heapq
import random
import zlib
from decimal import Decimal

from ._pairs import SimPair

__all__ = ["SimBook"]


def _text(units: int, decimals: int) -> str:
    """Integer units of ``10**-decimals`` as a decimal number with exactly ``decimals`` digits."""
    if decimals == 0:
        return str(units)
    whole, frac = divmod(units, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}"


class SimBook:
    """One pair's public book (see the module docstring).

    Args:
        pair: the pair (its precisions and tick).
        mid: the starting price.
        rng: random source (the simulator's seeded one).
        levels: price levels kept per side (at least the deepest subscription, 1000).
    """

    def __init__(self, pair: SimPair, mid: Decimal, rng: random.Random, levels: int = 1000) -> None:
        self.pair = pair
        self.pp = pair.price_precision
        self.qp = pair.qty_precision
        self.tick = int(pair.tick_size.scaleb(self.pp))
        self.rng = rng
        self.size = levels
        self.mid = self._units(mid)
        # price units -> qty units, per side
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        for k in range(1, levels + 1):
            self.bids[self.mid - k * self.tick] = self._qty()
            self.asks[self.mid + k * self.tick] = self._qty()
        # depth -> the top levels last published to subscribers of that depth, per side
        self.sent: dict[int, tuple[dict[int, int], dict[int, int]]] = {}
        self.last_trade: tuple[str, int, int] | None = None  # side, price, qty of the last move

    def _units(self, price: Decimal) -> int:
        u = int(price.scaleb(self.pp).to_integral_value())
        return u - u % self.tick

    def _qty(self) -> int:
        # 0.0001 .. 2.5 of the base asset, with full precision digits
        return self.rng.randint(10 ** max(self.qp - 4, 0), 25 * 10 ** max(self.qp - 1, 0))

    # ---- reading ----------------------------------------------------------------------------

    def top(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The ``n`` best (asks lowest first, bids highest first) as (price, qty) units."""
        asks = heapq.nsmallest(n, self.asks)
        bids = heapq.nlargest(n, self.bids)
        return [(p, self.asks[p]) for p in asks], [(p, self.bids[p]) for p in bids]

    def checksum(self) -> int:
        asks, bids = self.top(10)
        text = "".join(
            _text(p, self.pp).replace(".", "").lstrip("0")
            + _text(q, self.qp).replace(".", "").lstrip("0")
            for p, q in (*asks, *bids)
        )
        return zlib.crc32(text.encode("ascii"))

    def best(self) -> tuple[int, int, int, int]:
        """(bid, bid qty, ask, ask qty) in units."""
        b = max(self.bids)
        a = min(self.asks)
        return b, self.bids[b], a, self.asks[a]

    def price_text(self, units: int) -> str:
        return _text(units, self.pp)

    def qty_text(self, units: int) -> str:
        return _text(units, self.qp)

    # ---- changing ---------------------------------------------------------------------------

    def step(self, mid: Decimal, changes: int = 2) -> None:
        """Re-centre on ``mid``, then make ``changes`` random level changes near the top."""
        new = self._units(mid)
        if new != self.mid:
            up = new > self.mid
            old_best = max(self.bids) if up else min(self.asks)
            self.mid = new
            self._recentre()
            qty = self._qty()
            self.last_trade = ("buy" if up else "sell", old_best, qty)
        rng = self.rng
        for _ in range(changes):
            side = self.bids if rng.random() < 0.5 else self.asks
            sign = -1 if side is self.bids else 1
            k = 1 + min(int(rng.expovariate(0.25)), 40)
            price = self.mid + sign * k * self.tick
            roll = rng.random()
            if price in side and roll < 0.3 and len(side) > 20:
                del side[price]
            else:
                side[price] = self._qty()
        self._trim()

    def _recentre(self) -> None:
        mid, tick = self.mid, self.tick
        for p in [p for p in self.bids if p >= mid]:
            del self.bids[p]
        for p in [p for p in self.asks if p <= mid]:
            del self.asks[p]
        # fill the gap between the mid and the old best level on each side
        k = 1
        while (
            mid - k * tick not in self.bids
            and k <= 50
            and (not self.bids or mid - k * tick > max(self.bids))
        ):
            self.bids[mid - k * tick] = self._qty()
            k += 1
        k = 1
        while (
            mid + k * tick not in self.asks
            and k <= 50
            and (not self.asks or mid + k * tick < min(self.asks))
        ):
            self.asks[mid + k * tick] = self._qty()
            k += 1

    def _trim(self) -> None:
        for side, worst in ((self.bids, min), (self.asks, max)):
            while len(side) > self.size:
                del side[worst(side)]
            if len(side) < self.size:  # top up at the far end
                far = worst(side)
                sign = -1 if side is self.bids else 1
                while len(side) < self.size:
                    far += sign * self.tick
                    side[far] = self._qty()

    # ---- publishing -------------------------------------------------------------------------

    def snapshot_levels(self, depth: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The top ``depth`` of each side, remembered as what ``depth`` subscribers now hold."""
        asks, bids = self.top(depth)
        self.sent[depth] = (dict(asks), dict(bids))
        return asks, bids

    def diff(self, depth: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """What subscribers of ``depth`` must be told since the last call (see module docs)."""
        asks, bids = self.top(depth)
        old_a, old_b = self.sent.get(depth, ({}, {}))
        out = []
        for now, old, book in ((asks, old_a, self.asks), (bids, old_b, self.bids)):
            changes = [(p, 0) for p in old if p not in book]  # deleted inside the scope
            changes += [(p, q) for p, q in now if old.get(p) != q]  # changed, inserted, entered
            out.append(changes)
        self.sent[depth] = (dict(asks), dict(bids))
        return out[0], out[1]

    def levels_json(self, levels: list[tuple[int, int]]) -> str:
        return ",".join(
            f'{{"price":{_text(p, self.pp)},"qty":{_text(q, self.qp)}}}' for p, q in levels
        )
