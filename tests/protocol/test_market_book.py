"""The market-data book, sans-IO: literal ``book`` frames in, the Book and its checksum out.

The reference below is Kraken's checksum algorithm written the literal way its docs give it
(decimal text with the pair's precision, the point removed, leading zeros stripped, ten asks
low to high then ten bids high to low, CRC32), over a reference book kept as Decimal text; the
client's integer-units implementation must agree with it on every frame Hypothesis builds.
"""

from __future__ import annotations

import zlib
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenwire.market import Book, BookInvalid
from krakenwire.market._book import EXACT_LIMIT, Inexact
from krakenwire.market._messages import decoders

FAST, EXACT, REPLY = decoders()


def ref_checksum(
    asks: dict[Decimal, Decimal], bids: dict[Decimal, Decimal], pp: int, qp: int
) -> int:
    def txt(d: Decimal, places: int) -> str:
        return f"{d:.{places}f}".replace(".", "").lstrip("0")

    text = ""
    for p in sorted(asks)[:10]:
        text += txt(p, pp) + txt(asks[p], qp)
    for p in sorted(bids, reverse=True)[:10]:
        text += txt(p, pp) + txt(bids[p], qp)
    return zlib.crc32(text.encode())


def frame(
    kind: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]], checksum: int
) -> bytes:
    def lv(levels: list[tuple[str, str]]) -> str:
        return ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in levels)

    ts = ',"timestamp":"2023-10-06T17:35:55.440295Z"' if kind == "update" else ""
    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD","bids":[{lv(bids)}],'
        f'"asks":[{lv(asks)}],"checksum":{checksum}{ts}}}]}}'
    ).encode()


def apply(book: Book, raw: bytes, exact: bool = False) -> bool:
    msg = (EXACT if exact else FAST).decode(raw)
    data = msg.data[0]
    return book.snapshot(data) if msg.type == "snapshot" else book.update(data)


SNAP_BIDS = [("45283.5", "0.10000000"), ("45283.4", "1.54582015"), ("45282.1", "0.10000000")]
SNAP_ASKS = [("45285.2", "0.00100000"), ("45286.4", "1.54571953"), ("45286.6", "1.54571109")]


def _ref(levels: list[tuple[str, str]]) -> dict[Decimal, Decimal]:
    return {Decimal(p): Decimal(q) for p, q in levels}


def test_snapshot_then_updates_literal_bytes() -> None:
    book = Book("BTC/USD", 10, 1, 8)
    assert not book.valid
    with pytest.raises(BookInvalid):
        book.best_bid  # noqa: B018 - no snapshot yet
    good = ref_checksum(_ref(SNAP_ASKS), _ref(SNAP_BIDS), 1, 8)
    assert apply(book, frame("snapshot", SNAP_BIDS, SNAP_ASKS, good))
    assert book.valid and book.checksum == good == book.computed_checksum()
    assert book.best_bid == 45283.5 and book.best_ask == 45285.2
    assert book.spread == pytest.approx(1.7)
    assert book.bids(2) == [(45283.5, 0.1), (45283.4, 1.54582015)]
    assert book.ask_units(1) == [(452852, 100000)]  # "45285.2" -> 452852, "0.00100000" -> 100000
    # remove the best bid, change an ask's quantity
    asks, bids = _ref(SNAP_ASKS), _ref(SNAP_BIDS)
    del bids[Decimal("45283.5")]
    asks[Decimal("45286.4")] = Decimal("0.5")
    want = ref_checksum(asks, bids, 1, 8)
    assert apply(book, frame("update", [("45283.5", "0")], [("45286.4", "0.50000000")], want))
    assert book.best_bid == 45283.4 and book.updates == 1
    assert book.timestamp == "2023-10-06T17:35:55.440295Z"


def test_a_wrong_checksum_invalidates_the_book_at_once() -> None:
    book = Book("BTC/USD", 10, 1, 8)
    good = ref_checksum(_ref(SNAP_ASKS), _ref(SNAP_BIDS), 1, 8)
    apply(book, frame("snapshot", SNAP_BIDS, SNAP_ASKS, good))
    assert not apply(book, frame("update", [("45283.6", "1.00000000")], [], good))
    assert not book.valid and book.mismatches == 1
    assert "checksum mismatch" in book.reason
    for read in (
        lambda: book.best_bid,
        lambda: book.best_ask,
        lambda: book.mid,
        lambda: book.spread,
        lambda: book.bids(),
        lambda: book.asks(1),
        lambda: book.best_bid_qty,
        lambda: book.best_ask_qty,
    ):
        with pytest.raises(BookInvalid) as exc:
            read()
        assert exc.value.symbol == "BTC/USD"
    assert "valid=False" in repr(book)


def test_truncates_to_depth_without_a_removal_frame() -> None:
    book = Book("BTC/USD", 10, 1, 8)
    bids = [(f"{100 - i}.0", "1.00000000") for i in range(10)]
    asks = [(f"{200 + i}.0", "1.00000000") for i in range(10)]
    apply(book, frame("snapshot", bids, asks, ref_checksum(_ref(asks), _ref(bids), 1, 8)))
    # an insert at the top pushes the 10th bid out of scope; Kraken sends no qty 0 for it
    new_bids = [("100.5", "2.00000000"), *bids[:9]]
    want = ref_checksum(_ref(asks), _ref(new_bids), 1, 8)
    assert apply(book, frame("update", [("100.5", "2.00000000")], [], want))
    assert len(book.bids()) == 10 and book.bids()[-1][0] == 92.0


def test_precision_zero_and_small_prices_strip_leading_zeros() -> None:
    book = Book("DOGE/USD", 10, 7, 0)
    bids = [("0.0812345", "1500"), ("0.0812300", "20")]
    asks = [("0.0812400", "7")]
    want = ref_checksum(_ref(asks), _ref(bids), 7, 0)
    assert apply(book, frame("snapshot", bids, asks, want))
    assert book.bid_units(1) == [(812345, 1500)]


def test_huge_values_raise_inexact_on_the_float_path_and_apply_exactly_as_decimal() -> None:
    qty = "98765432.12345678"  # 9.8e15 units at 8 decimals: beyond a float's exact range
    bids = [("1.0", qty)]
    want = ref_checksum({}, _ref(bids), 1, 8)
    with pytest.raises(Inexact):
        apply(Book("X/Y", 10, 1, 8), frame("snapshot", bids, [], want))
    book = Book("X/Y", 10, 1, 8)
    assert apply(book, frame("snapshot", bids, [], want), exact=True)
    assert book.bid_units() == [(10, 9876543212345678)]


@given(units=st.integers(min_value=0, max_value=EXACT_LIMIT - 1), places=st.integers(0, 12))
def test_float_to_units_is_exact_below_the_limit(units: int, places: int) -> None:
    text = f"{Decimal(units).scaleb(-places):.{places}f}"
    value = msgspec.json.decode(text.encode(), type=float)
    assert round(value * 10**places) == units


_prices = st.integers(min_value=1, max_value=60)
_qtys = st.integers(min_value=0, max_value=3)  # 0 deletes


@settings(max_examples=200, deadline=None)
@given(
    pp=st.integers(0, 8),
    qp=st.integers(0, 8),
    depth=st.sampled_from([10, 25]),
    ops=st.lists(
        st.lists(st.tuples(st.booleans(), _prices, _qtys, st.integers(1, 10**6)), max_size=8),
        min_size=1,
        max_size=30,
    ),
    exact=st.booleans(),
)
def test_book_agrees_with_the_reference_on_every_frame(
    pp: int, qp: int, depth: int, ops: list[list[tuple[bool, int, int, int]]], exact: bool
) -> None:
    """Random updates (inserts, changes, deletes, pushes out of scope) on both books: the
    checksum Kraken would send (the reference's) always validates, and a wrong one never."""
    mid = 1000

    def price(is_bid: bool, k: int) -> Decimal:
        return Decimal(mid - k if is_bid else mid + k).scaleb(-pp)

    def qty(n: int, mult: int) -> Decimal:
        return Decimal(n * mult).scaleb(-qp)

    ref_a: dict[Decimal, Decimal] = {}
    ref_b: dict[Decimal, Decimal] = {}
    book = Book("BTC/USD", depth, pp, qp)

    def fmt(d: Decimal, places: int) -> str:
        return f"{d:.{places}f}"

    first = True
    for batch in ops:
        bids: list[tuple[str, str]] = []
        asks: list[tuple[str, str]] = []
        for is_bid, k, n, mult in batch:
            p, q = price(is_bid, k), qty(n, mult)
            side = ref_b if is_bid else ref_a
            if q:
                side[p] = q
            else:
                side.pop(p, None)
            (bids if is_bid else asks).append((fmt(p, pp), fmt(q, qp)))
        for side, rev in ((ref_a, False), (ref_b, True)):
            for p in sorted(side, reverse=rev)[depth:]:
                del side[p]
        want = ref_checksum(ref_a, ref_b, pp, qp)
        kind = "snapshot" if first else "update"
        if first:
            bids = [(fmt(p, pp), fmt(q, qp)) for p, q in ref_b.items()]
            asks = [(fmt(p, pp), fmt(q, qp)) for p, q in ref_a.items()]
            first = False
        assert apply(book, frame(kind, bids, asks, want), exact=exact), (bids, asks)
        assert book.computed_checksum() == want
        got_b = {Decimal(p).scaleb(-pp): Decimal(q).scaleb(-qp) for p, q in book.bid_units()}
        assert got_b == ref_b
    # and one wrong checksum is always caught
    assert not apply(book, frame("update", [], [], (want + 1) % 2**32), exact=exact)
    assert not book.valid


def test_frames_that_are_not_books_decode_as_their_own_structs() -> None:
    ticker = FAST.decode(
        b'{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":45283.5,'
        b'"bid_qty":0.1,"ask":45285.2,"ask_qty":0.001,"last":45284.0,"volume":12.5,'
        b'"vwap":45000.1,"low":44000.0,"high":46000.0,"change":100.0,"change_pct":0.22}]}'
    )
    assert ticker.data[0].bid == 45283.5 and ticker.data[0].symbol == "BTC/USD"
    trade = FAST.decode(
        b'{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell",'
        b'"price":45283.5,"qty":0.02,"ord_type":"market","trade_id":4665906,'
        b'"timestamp":"2023-09-25T07:49:37.708706Z"}]}'
    )
    assert trade.data[0].trade_id == 4665906 and trade.data[0].side == "sell"
    inst = FAST.decode(
        b'{"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"BTC","status":'
        b'"enabled","precision":10,"precision_display":5,"borrowable":true,'
        b'"collateral_value":1.0,"margin_rate":0.01}],"pairs":[{"symbol":"BTC/USD","base":'
        b'"BTC","quote":"USD","status":"online","qty_precision":8,"qty_increment":1e-08,'
        b'"price_precision":1,"cost_precision":5,"marginable":true,"has_index":true,'
        b'"cost_min":0.5,"tick_size":0.1,"price_increment":0.1,"qty_min":0.0001}]}}'
    )
    assert inst.data.pairs[0].price_precision == 1 and inst.data.assets[0].id == "BTC"
    # a subscribe error carries "channel" and "method": it is a reply, not a channel frame
    err = (
        b'{"channel":"book","error":"Currency pair not supported XBT/FOO",'
        b'"method":"subscribe","success":false,"symbol":"XBT/FOO","req_id":3}'
    )
    with pytest.raises(msgspec.ValidationError):
        FAST.decode(err)
    reply = REPLY.decode(err)
    assert reply.success is False and reply.symbol == "XBT/FOO" and reply.req_id == 3
