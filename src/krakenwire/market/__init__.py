"""Kraken's public market data over WebSocket v2: ``book`` (checksum verified on every frame),
``instrument``, ``ticker`` and ``trade``, on its own socket.

The book's callback runs inside the frame callback, so a strategy can cancel on its trading
client (``client.batch_cancel_cb``) in the same pass as the book frame arrived::

    md = await krakenwire.connect_market(on_book=on_book)
    await md.subscribe_book("BTC/USD", depth=10)
"""

from ._book import Book, BookInvalid
from ._conn import DEPTHS, PUBLIC_URL, MarketData, connect_market
from ._feed import MarketStats
from ._messages import Asset, Instrument, Pair, Ticker, Trade

__all__ = [
    "DEPTHS",
    "PUBLIC_URL",
    "Asset",
    "Book",
    "BookInvalid",
    "Instrument",
    "MarketData",
    "MarketStats",
    "Pair",
    "Ticker",
    "Trade",
    "connect_market",
]
