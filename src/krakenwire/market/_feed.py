"""The receive path of the public connection: one frame in, books applied, callbacks run.

Everything happens synchronously inside picows' ``on_ws_frame``: a ``book`` frame is decoded
once (into Structs), applied to its `Book`, its checksum verified, and the user's
``on_book`` called with the book, all before the callback returns, so a strategy can send a
cancel on the trading connection from there with no task switch. A mismatch invalidates the
book at once and re-subscribes it (an unsubscribe and a subscribe written in the same pass); its
updates are ignored until the fresh snapshot arrives. What cannot be read is counted, never
raised into picows (which would drop the socket).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec
import picows

from ._book import Book, Inexact
from ._messages import (
    Reply,
    _Book,
    _ExactBook,
    _Heartbeat,
    _Instrument,
    _Status,
    _Ticker,
    decoders,
    subscribe_frame,
)

__all__ = ["Feed", "MarketStats"]

log = logging.getLogger("krakenwire.market")
_TEXT = picows.WSMsgType.TEXT
_CLOSE = picows.WSMsgType.CLOSE
_now_ns = time.monotonic_ns


class MarketStats:
    """Counters of one market-data connection (read-only for users)."""

    __slots__ = (
        "frames",
        "book_updates",
        "snapshots",
        "mismatches",
        "resyncs",
        "ignored_updates",
        "heartbeats",
        "malformed",
        "callback_errors",
        "dropped",
        "reconnects",
    )

    def __init__(self) -> None:
        self.frames = 0
        self.book_updates = 0  # book frames applied (snapshots and updates)
        self.snapshots = 0
        self.mismatches = 0  # checksum mismatches (each one invalidated a book)
        self.resyncs = 0  # re-subscribes for a fresh snapshot
        self.ignored_updates = 0  # updates for a book waiting for its snapshot
        self.heartbeats = 0
        self.malformed = 0  # frames that could not be read
        self.callback_errors = 0
        self.dropped = 0  # messages a full stream() queue could not take
        self.reconnects = 0

    def __repr__(self) -> str:
        return "MarketStats(" + ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + ")"


class Feed(picows.WSListener):
    """Frame handling of the public connection; owned by `MarketData`.

    Attributes set by the owner: ``on_book`` (the user's callback), ``on_invalid`` (reports a
    book that went invalid), ``on_reply`` (subscribe acks and errors), ``on_other`` (ticker,
    trade, instrument Structs, for the stream queues), ``on_instrument``.
    """

    def __init__(self, stats: MarketStats) -> None:
        self.stats = stats
        self.transport: picows.WSTransport | None = None
        self.books: dict[str, Book] = {}
        self.on_book: Callable[[Book], Any] | None = None
        self.on_invalid: Callable[[Book], None] = _ignore
        self.on_reply: Callable[[Reply], None] = _ignore
        self.on_other: Callable[[str, Any], None] | None = None
        self.on_instrument: Callable[[Any], None] = _ignore
        self.on_lost: Callable[[], None] = _nothing
        self.last_rx_ns = 0
        self.last_tx_ns = 0
        self.exact = False  # decode book numbers as Decimal (after a value too big for float)
        self._fast, self._exact, self._reply = decoders()
        self._req_id = 1 << 40  # internal re-subscribes: far from the ids users' calls take

    # ---- picows callbacks -------------------------------------------------------------------

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport
        self.last_rx_ns = self.last_tx_ns = _now_ns()

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        if transport is self.transport:
            self.transport = None
            self.on_lost()

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if transport is not self.transport:
            return
        self.last_rx_ns = _now_ns()
        stats = self.stats
        stats.frames += 1
        kind = frame.msg_type
        if kind is not _TEXT or not frame.fin:
            if kind is _CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            else:  # Kraken's frames are small single text frames
                stats.malformed += 1
            return
        payload = frame.get_payload_as_memoryview()
        try:
            msg = (self._exact if self.exact else self._fast).decode(payload)
        except (msgspec.ValidationError, msgspec.DecodeError):
            try:
                self._not_channel(payload)
            except Exception:  # never let a reply (or a bug) kill the socket
                stats.callback_errors += 1
                log.exception("krakenwire market: error while handling a reply (carrying on)")
            return
        try:
            t = type(msg)
            if t is _Book or t is _ExactBook:
                self._book(msg)
            else:
                self._channel(msg)
        except Exception:  # a user callback, or a bug: never kill the socket
            stats.callback_errors += 1
            log.exception("krakenwire market: error while handling a frame (carrying on)")

    # ---- the hot path -----------------------------------------------------------------------

    def _book(self, msg: Any) -> None:
        stats = self.stats
        snapshot = msg.type == "snapshot"
        for data in msg.data:
            book = self.books.get(data.symbol)
            if book is None:
                stats.ignored_updates += 1  # unsubscribed meanwhile
                continue
            book.received_ns = self.last_rx_ns
            if snapshot:
                stats.snapshots += 1
                try:
                    ok = book.snapshot(data)
                except Inexact:
                    self._go_exact(book)
                    continue
            elif not book.valid:
                stats.ignored_updates += 1  # waiting for the re-subscribe's snapshot
                continue
            else:
                try:
                    ok = book.update(data)
                except Inexact:
                    self._go_exact(book)
                    continue
            stats.book_updates += 1
            if not ok:
                self._mismatch(book)
            cb = self.on_book
            if cb is not None:
                try:
                    cb(book)
                except Exception:
                    stats.callback_errors += 1
                    log.exception("krakenwire market: on_book callback raised (ignored)")
            if self.on_other is not None:
                self.on_other("book", book)

    def _mismatch(self, book: Book) -> None:
        self.stats.mismatches += 1
        self.resync(book)
        self.on_invalid(book)

    def _go_exact(self, book: Book) -> None:
        # A value too large for float-exact units: from now on this connection decodes book
        # numbers as Decimal; this book is re-synced (part of the frame may have been applied).
        self.exact = True
        book.invalidate("a value too large for float decoding: re-syncing with exact decoding")
        self.resync(book)
        self.on_invalid(book)

    def resync(self, book: Book) -> None:
        """Ask for a fresh snapshot of ``book`` (unsubscribe + subscribe, written now)."""
        self.stats.resyncs += 1
        t = self.transport
        if t is None or t.is_disconnected:
            return  # the reconnect re-subscribes every book
        params = {"symbol": [book.symbol], "depth": book.depth}
        self._req_id += 1
        t.send(_TEXT, subscribe_frame("unsubscribe", "book", self._req_id, **params))
        self._req_id += 1
        t.send(_TEXT, subscribe_frame("subscribe", "book", self._req_id, **params))
        self.last_tx_ns = _now_ns()

    def _channel(self, msg: Any) -> None:
        t = type(msg)
        if t is _Heartbeat:
            self.stats.heartbeats += 1
            return
        if t is _Instrument:
            self.on_instrument(msg.data)
            if self.on_other is not None:
                self.on_other("instrument", msg.data)
            return
        other = self.on_other
        if other is None or t is _Status:
            return
        channel = "ticker" if t is _Ticker else "trade"
        for item in msg.data:
            other(channel, item)

    def _not_channel(self, payload: memoryview) -> None:
        try:
            reply = self._reply.decode(payload)
        except (msgspec.ValidationError, msgspec.DecodeError):
            reply = None
        if reply is None or not reply.method:
            self.stats.malformed += 1
            n = self.stats.malformed
            if n <= 10 or n % 1000 == 0:
                log.warning(
                    "krakenwire market: ignored a frame it cannot read (%d so far): %r",
                    n,
                    bytes(payload[:200]),
                )
            return
        if reply.method != "pong":
            self.on_reply(reply)

    def send(self, data: bytes) -> bool:
        t = self.transport
        if t is None or t.is_disconnected:
            return False
        t.send(_TEXT, data)
        self.last_tx_ns = _now_ns()
        return True

    def drop(self) -> None:
        t = self.transport
        if t is not None and not t.is_disconnected:
            t.disconnect(graceful=False)

    def lose_books(self, reason: str) -> None:
        """The socket is gone: every book is invalid until its next snapshot; ``on_book`` is
        called once with each (so a strategy can pull quotes priced off it)."""
        for book in self.books.values():
            if book.valid:
                book.invalidate(reason)
                if self.on_book is not None:
                    try:
                        self.on_book(book)
                    except Exception:
                        self.stats.callback_errors += 1
                        log.exception("krakenwire market: on_book callback raised (ignored)")


def _ignore(_: Any) -> None:
    pass


def _nothing() -> None:
    pass
