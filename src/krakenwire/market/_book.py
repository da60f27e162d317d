"""A Kraken v2 level-2 book per symbol, kept from snapshots and updates, its CRC32 checked.

How Kraken defines the checksum (docs.kraken.com/api/docs/guides/spot-ws-book-v2, in our words):
after applying every level of a frame, and truncating each side to the subscribed depth, take
the ten best asks from the lowest price up, then the ten best bids from the highest price down;
for each level write its price and then its quantity as decimal text with exactly the pair's
``price_precision`` / ``qty_precision`` decimals, drop the ``.`` and strip leading zeros; join all
of it into one string and take its CRC32 (unsigned 32-bit). Both snapshots and updates carry it.

Prices and quantities are kept as integers in units of ``10**-precision``. The text Kraken's
algorithm asks for is then just ``str(units)``: "45285.2" at precision 1 is 452852 units and
"0.00100000" at precision 8 is 100000 units, which is the text with the point removed and the
leading zeros stripped. No float is ever formatted, so nothing depends on float-to-text rounding.
A JSON number decoded as a float converts to units exactly with ``round(value * 10**precision)``
while the units stay below 2**51 (the float's relative error is at most 2**-53 on the way in
and once more in the product, so the product is within 0.5 of the true integer); a value at or
beyond that raises `Inexact` and the connection switches to the exact Decimal decoder.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, insort
from collections.abc import Sequence
from typing import Any

from ..errors import KrakenwireError

__all__ = ["EXACT_LIMIT", "Book", "BookInvalid", "Inexact", "checksum_text"]

EXACT_LIMIT = 2**51  # float -> integer units is exact below this (see the module docstring)


class BookInvalid(KrakenwireError):
    """A book was read while it is not known to match Kraken's (a checksum mismatch, a dropped
    connection, or no snapshot yet). The connection is already re-subscribing; wait for the
    next callback with ``book.valid`` true, and treat quotes priced off this book as stale.

    Attributes:
        symbol: the book's symbol.
        reason: why it is invalid.
    """

    def __init__(self, symbol: str, reason: str) -> None:
        super().__init__(f"the {symbol} book is not valid ({reason}): it is being re-synced")
        self.symbol = symbol
        self.reason = reason


class Inexact(ValueError):
    """A decoded float is too large to convert to integer units exactly."""


def checksum_text(asks: Sequence[tuple[int, int]], bids: Sequence[tuple[int, int]]) -> str:
    """Kraken's checksum input from (price units, qty units) levels: asks best (lowest) first,
    then bids best (highest) first; only the first ten of each count."""
    return "".join(f"{p}{q}" for p, q in (*asks[:10], *bids[:10]))


class Book:
    """One symbol's order book, as Kraken's ``book`` channel describes it.

    Read it inside the ``on_book`` callback (it is the live object, updated in place). While
    ``valid`` is false every price accessor raises `BookInvalid`: a book that failed its
    checksum, lost its connection or has no snapshot yet can never be read as a good one.

    Attributes:
        symbol: e.g. ``"BTC/USD"``.
        depth: the subscribed depth (10, 25, 100, 500 or 1000); each side holds at most this many.
        valid: the last frame's checksum matched and nothing was missed since the snapshot.
        updates: frames applied since the last snapshot (a local sequence number).
        timestamp: Kraken's timestamp of the last update (RFC3339 text; None after a snapshot).
        checksum: Kraken's checksum of the last frame applied.
        mismatches: checksum mismatches seen on this book since the connection was opened.
        reason: why the book is invalid (empty while valid).
        received_ns: ``time.monotonic_ns()`` when the frame of the last change arrived (taken
            as picows handed it over): ``time.monotonic_ns() - book.received_ns`` after a
            cancel was written is the client's own tick-to-cancel.
        price_precision, qty_precision: the pair's decimals (from the ``instrument`` channel).
    """

    __slots__ = (
        "symbol",
        "depth",
        "valid",
        "updates",
        "timestamp",
        "checksum",
        "mismatches",
        "reason",
        "received_ns",
        "price_precision",
        "qty_precision",
        "_ps",
        "_qs",
        "_asks",
        "_bids",
        "_aq",
        "_bq",
        "_aseg",
        "_bseg",
    )

    def __init__(self, symbol: str, depth: int, price_precision: int, qty_precision: int) -> None:
        self.symbol = symbol
        self.depth = depth
        self.valid = False
        self.reason = "no snapshot yet"
        self.updates = 0
        self.timestamp: str | None = None
        self.checksum = 0
        self.mismatches = 0
        self.received_ns = 0
        self.set_precision(price_precision, qty_precision)
        self._clear()

    def __repr__(self) -> str:
        if not self.valid:
            return f"Book({self.symbol!r}, valid=False, reason={self.reason!r})"
        return (
            f"Book({self.symbol!r}, bid={self.best_bid!r}, ask={self.best_ask!r}, "
            f"levels={len(self._bids)}/{len(self._asks)}, updates={self.updates})"
        )

    def set_precision(self, price_precision: int, qty_precision: int) -> None:
        self.price_precision = price_precision
        self.qty_precision = qty_precision
        self._ps: int = 10**price_precision
        self._qs: int = 10**qty_precision

    def _clear(self) -> None:
        # Asks keyed by price units, ascending; bids keyed by NEGATED price units, so both
        # lists have the best level first and are kept sorted with the same bisect calls.
        self._asks: list[int] = []
        self._bids: list[int] = []
        self._aq: dict[int, int] = {}
        self._bq: dict[int, int] = {}
        # Each level's checksum text (str(price units) + str(qty units)), made once per change.
        self._aseg: dict[int, str] = {}
        self._bseg: dict[int, str] = {}

    # ---- applying frames (the connection calls these inside its frame callback) ------------

    def invalidate(self, reason: str) -> None:
        self.valid = False
        self.reason = reason

    def snapshot(self, data: Any) -> bool:
        """Replace the book with a snapshot; returns whether its checksum matched."""
        self._clear()
        self.updates = 0
        self.timestamp = None
        return self._apply(data)

    def update(self, data: Any) -> bool:
        """Apply one update; returns whether the checksum matched (the book is invalid if not)."""
        self.updates += 1
        self.timestamp = data.timestamp
        return self._apply(data)

    def _apply(self, data: Any) -> bool:
        ps, qs, depth = self._ps, self._qs, self.depth
        if data.asks:
            _side(data.asks, self._asks, self._aq, self._aseg, ps, qs, depth, 1)
        if data.bids:
            _side(data.bids, self._bids, self._bq, self._bseg, ps, qs, depth, -1)
        aseg, bseg = self._aseg, self._bseg
        text = "".join(
            [*map(aseg.__getitem__, self._asks[:10]), *map(bseg.__getitem__, self._bids[:10])]
        )
        got = zlib.crc32(text.encode())
        want = data.checksum
        self.checksum = want if want is not None else got
        if want is None or got == want:
            self.valid = True
            self.reason = ""
            return True
        self.mismatches += 1
        self.valid = False
        self.reason = f"checksum mismatch (Kraken {want}, computed {got})"
        return False

    def computed_checksum(self) -> int:
        """The CRC32 of the book as held now (what Kraken's ``checksum`` should equal)."""
        return zlib.crc32(checksum_text(self.ask_units(10), self.bid_units(10)).encode())

    # ---- reading ----------------------------------------------------------------------------

    def _check(self) -> None:
        if not self.valid:
            raise BookInvalid(self.symbol, self.reason)

    @property
    def best_bid(self) -> float:
        """Highest bid price. Raises `BookInvalid` (or IndexError on an empty side)."""
        if not self.valid:
            raise BookInvalid(self.symbol, self.reason)
        return -self._bids[0] / self._ps

    @property
    def best_ask(self) -> float:
        """Lowest ask price. Raises `BookInvalid` (or IndexError on an empty side)."""
        if not self.valid:
            raise BookInvalid(self.symbol, self.reason)
        return self._asks[0] / self._ps

    @property
    def best_bid_qty(self) -> float:
        self._check()
        return self._bq[self._bids[0]] / self._qs

    @property
    def best_ask_qty(self) -> float:
        self._check()
        return self._aq[self._asks[0]] / self._qs

    @property
    def spread(self) -> float:
        """Best ask minus best bid, computed in integer units (no float cancellation)."""
        self._check()
        return (self._asks[0] + self._bids[0]) / self._ps

    @property
    def mid(self) -> float:
        self._check()
        return (self._asks[0] - self._bids[0]) / (2 * self._ps)

    def bid_units(self, n: int | None = None) -> list[tuple[int, int]]:
        """The best ``n`` bids (all by default) as exact (price units, qty units), best first;
        a price is ``units / 10**price_precision``. Unlike the float accessors this does not
        check ``valid`` (the checksum itself is computed from it)."""
        keys = self._bids if n is None else self._bids[:n]
        q = self._bq
        return [(-k, q[k]) for k in keys]

    def ask_units(self, n: int | None = None) -> list[tuple[int, int]]:
        """The best ``n`` asks as exact (price units, qty units), best (lowest) first."""
        keys = self._asks if n is None else self._asks[:n]
        q = self._aq
        return [(k, q[k]) for k in keys]

    def bids(self, n: int | None = None) -> list[tuple[float, float]]:
        """The best ``n`` bids (all by default) as (price, qty), best first."""
        self._check()
        ps, qs = self._ps, self._qs
        return [(p / ps, q / qs) for p, q in self.bid_units(n)]

    def asks(self, n: int | None = None) -> list[tuple[float, float]]:
        """The best ``n`` asks as (price, qty), best (lowest) first."""
        self._check()
        ps, qs = self._ps, self._qs
        return [(p / ps, q / qs) for p, q in self.ask_units(n)]


def _side(
    levels: list[Any],
    keys: list[int],
    qty: dict[int, int],
    seg: dict[int, str],
    ps: int,
    qs: int,
    depth: int,
    sign: int,
) -> None:
    """Apply one side's levels in order, then truncate to ``depth`` (Kraken sends no removal for
    a level pushed out of scope by an insert)."""
    for lv in levels:
        p = round(lv.price * ps)
        q = round(lv.qty * qs)
        if p >= EXACT_LIMIT or q >= EXACT_LIMIT:
            if type(lv.price) is float:
                raise Inexact(lv.price if p >= EXACT_LIMIT else lv.qty)
        k = p * sign
        if q:
            if k not in qty:
                insort(keys, k)
            qty[k] = q
            seg[k] = f"{p}{q}"
        elif k in qty:
            del qty[k]
            del seg[k]
            del keys[bisect_left(keys, k)]
    while len(keys) > depth:
        k = keys.pop()
        del qty[k]
        del seg[k]
