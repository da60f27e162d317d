"""The public channels' frames as msgspec Structs, decoded once, and the subscribe requests.

Shapes follow Kraken's v2 docs (docs.kraken.com/api/docs/websocket-v2/{book,ticker,trade,
instrument}): every channel frame is ``{"channel": C, "type": "snapshot"|"update", "data": ...}``;
``data`` is a list of per-symbol objects, except ``instrument`` whose ``data`` is one object with
``assets`` and ``pairs``. Method replies (subscribe acks and errors, pong) carry ``method`` and no
``channel`` (an error may carry both: it is read as a reply). Prices and quantities arrive as JSON
numbers: the fast decoders read them as ``float``; the exact ones as ``Decimal`` (see
`._book` for when each is used). Nothing here does I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "Asset",
    "BookData",
    "Instrument",
    "Level",
    "Pair",
    "Reply",
    "Ticker",
    "Trade",
    "decoders",
    "subscribe_frame",
]


class Level(msgspec.Struct, gc=False):
    """One price level of a book frame, as decoded (``qty`` 0 removes the level)."""

    price: float
    qty: float


class _ExactLevel(msgspec.Struct, gc=False):
    price: Decimal
    qty: Decimal


class BookData(msgspec.Struct, gc=False):
    """One symbol's part of a ``book`` frame. ``checksum`` is Kraken's CRC32 of the top ten
    levels after the frame is applied; ``timestamp`` (updates only) is Kraken's RFC3339 text."""

    symbol: str
    bids: list[Level] = []
    asks: list[Level] = []
    checksum: int | None = None
    timestamp: str | None = None


class _ExactBookData(msgspec.Struct, gc=False):
    symbol: str
    bids: list[_ExactLevel] = []
    asks: list[_ExactLevel] = []
    checksum: int | None = None
    timestamp: str | None = None


class Ticker(msgspec.Struct, frozen=True, gc=False):
    """Level-1 summary of one symbol (``ticker`` channel): best bid/ask and 24 h statistics."""

    symbol: str
    bid: float = 0.0
    bid_qty: float = 0.0
    ask: float = 0.0
    ask_qty: float = 0.0
    last: float = 0.0
    volume: float = 0.0
    vwap: float = 0.0
    low: float = 0.0
    high: float = 0.0
    change: float = 0.0
    change_pct: float = 0.0
    timestamp: str | None = None


class Trade(msgspec.Struct, frozen=True, gc=False):
    """One public trade (``trade`` channel); ``side`` is the taker's side."""

    symbol: str
    side: str
    price: float
    qty: float
    ord_type: str = ""
    trade_id: int = 0
    timestamp: str = ""


class Pair(msgspec.Struct, frozen=True, gc=False):
    """A tradable pair from the ``instrument`` channel. ``price_precision`` and
    ``qty_precision`` are the decimals the book checksum is computed with."""

    symbol: str
    base: str = ""
    quote: str = ""
    status: str = ""
    price_precision: int = 0
    qty_precision: int = 0
    price_increment: float = 0.0
    qty_increment: float = 0.0
    qty_min: float = 0.0
    cost_min: float = 0.0
    cost_precision: int = 0
    tick_size: float = 0.0
    marginable: bool = False
    has_index: bool = False


class Asset(msgspec.Struct, frozen=True, gc=False):
    """An asset from the ``instrument`` channel."""

    id: str
    status: str = ""
    precision: int = 0
    precision_display: int = 0
    borrowable: bool = False
    collateral_value: float = 0.0
    margin_rate: float = 0.0


class Instrument(msgspec.Struct, frozen=True, gc=False):
    """The ``instrument`` channel's data: every asset and pair (snapshot) or the changed ones."""

    assets: list[Asset] = []
    pairs: list[Pair] = []


# ---- frames -----------------------------------------------------------------------------


class _Book(msgspec.Struct, tag_field="channel", tag="book", gc=False):
    type: str
    data: list[BookData]


class _ExactBook(msgspec.Struct, tag_field="channel", tag="book", gc=False):
    type: str
    data: list[_ExactBookData]


class _Ticker(msgspec.Struct, tag_field="channel", tag="ticker", gc=False):
    type: str
    data: list[Ticker]


class _Trade(msgspec.Struct, tag_field="channel", tag="trade", gc=False):
    type: str
    data: list[Trade]


class _Instrument(msgspec.Struct, tag_field="channel", tag="instrument", gc=False):
    type: str
    data: Instrument


class _Heartbeat(msgspec.Struct, tag_field="channel", tag="heartbeat", gc=False):
    pass


class _Status(msgspec.Struct, tag_field="channel", tag="status", gc=False):
    type: str = ""
    data: list[dict[str, Any]] = []


Frame = _Book | _Ticker | _Trade | _Instrument | _Heartbeat | _Status
ExactFrame = _ExactBook | _Ticker | _Trade | _Instrument | _Heartbeat | _Status


class Reply(msgspec.Struct, gc=False):
    """A method reply: a subscribe/unsubscribe ack or error, or a pong."""

    method: str = ""
    req_id: int | None = None
    success: bool | None = None
    error: str | None = None
    symbol: str | None = None  # some error replies name the symbol at the top level
    result: dict[str, Any] | None = None


def decoders() -> tuple[
    msgspec.json.Decoder[Frame], msgspec.json.Decoder[ExactFrame], msgspec.json.Decoder[Reply]
]:
    """The channel decoders (fast: numbers as float; exact: book numbers as Decimal) and the
    reply decoder; one of each per connection, reused for every frame."""
    return (
        msgspec.json.Decoder(Frame),
        msgspec.json.Decoder(ExactFrame),
        msgspec.json.Decoder(Reply),
    )


_ENCODER = msgspec.json.Encoder()


def subscribe_frame(method: str, channel: str, req_id: int, **params: Any) -> bytes:
    """``{"method": "subscribe"|"unsubscribe", "params": {"channel": ..., ...}, "req_id": N}``;
    ``None`` params are left out."""
    body = {"channel": channel}
    body.update({k: v for k, v in params.items() if v is not None})
    return _ENCODER.encode({"method": method, "params": body, "req_id": req_id})


PING = b'{"method":"ping"}'
