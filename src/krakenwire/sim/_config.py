"""The simulator's behaviour switches ([`SimConfig`][krakenwire.sim.SimConfig]), each with Kraken's
evidence level.

Every switch names where its default comes from: **[DOC]** Kraken documents it, **[PEER]** it is
inferred from recorded frames or peer libraries, **[UNK]** nobody documents it and the default is
this simulator's assumption (kraken-ws-v2.md uses the same tags). Faults and the market are off
by default, so a plain ``Simulator()`` is quiet and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["SimConfig"]


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """Behaviour switches of the simulator.

    Connection and session:
        token_ttl: seconds a minted token may be first used [DOC 900].
        heartbeat_interval: seconds between heartbeats to subscribed connections [DOC ~1].
        idle_timeout: close a connection that sent nothing for this many seconds; ``None``
            never [DOC "about a minute" without traffic, any request such as ping keeps it
            alive]. Outbound heartbeats do not count as traffic [UNK].
        close_empty_auth_after: close a connection that holds no executions subscription for
            this many seconds (from connect, or from its unsubscribe); ``None`` never [DOC
            a private socket must hold a subscription; the delay is UNK, default 10 s].
            ``python -m krakenwire.sim`` turns both closes off unless its flags ask for them
            (a long-running server for the bench's clients, which never subscribe).
        status_on_connect: push a ``status`` frame on connect [DOC for the public endpoint,
            UNK for ws-auth; default on].
        strict_path: refuse (HTTP 404) any request path but ``/v2``; by default any path is
            served, so clients that append ``/v2`` to a URL that has it still connect [UNK].
        maxratecount, version: values of the subscribe ack and the status frame.
        connect_budget, connect_window, connect_ban: Kraken's Cloudflare front bans an IP for
            10 minutes after about 150 connection attempts in a rolling 10 minutes [DOC D-intro
            FAQ, kraken-ws-v2.md section 1]: attempt ``connect_budget + 1`` within
            ``connect_window`` seconds, and every attempt for ``connect_ban`` seconds after,
            gets HTTP 429 instead of the upgrade. ``None`` turns it off. Counted per simulator
            (every client is on loopback: one IP).
        msg_rate_limit: at most this many inbound messages per connection in any rolling
            second; one more is dropped unanswered and the connection gets Kraken's bare
            ``{"Error":"Exceeded msg rate"}`` [PEER XS, N: the frame is recorded; the limit is
            undocumented and load-dependent, so the default is ``None``, off].

    Reply shapes [PEER REC5 vs DOC]:
        reply_shape: ``"documented"`` answers ``batch_cancel`` with ``result.count`` as Kraken's
            page shows; ``"recorded"`` with the frame recorded from the live venue by
            kraken-async-rs (2024-05-19): a top-level ``orders_cancelled`` and no ``result``
            (warnings, if any, are left out: the recorded frame has none). Which one the venue
            sends today is unknown from here; clients must accept both.
        deny_trading: every trading method is refused with ``EGeneral:Permission denied``
            (an API key without the trading permission) [PEER recorded string; DOC D-err].

    Undocumented trading behaviour [UNK], named so tests can pick either side:
        batch_cancel_mode: ``"lenient"`` cancels what is open and reports only ``count``;
            ``"strict"`` fails the whole batch with ``strict_error`` if any id is not open.
        batch_cancel_warnings: in lenient mode, also put one ``"<cancel_error>: <id>"``
            warning per id that was not open in ``result.warnings`` (Kraken documents warnings
            only as advisories; default off).
        cancel_reply_order: ``"request"`` answers a multi-id ``cancel_order`` in the order of
            the ids; ``"shuffled"`` in a random order (Kraken's doc example shows replies
            in another order than requested).
        cancel_gone_cost: rate-counter points a cancel of an order that is not open costs
            (default 0).
        cancel_error: ``cancel_order`` of an id not open [PEER ``EOrder:Invalid order``].
        amend_error: amend/edit of an unknown order [PEER, weak].
        updates_before_reply: send the executions updates before the method reply.
        ledger_size: each account's ledger (every trading request, for tests) keeps at least
            the last ``ledger_size`` entries and at most a quarter more, so a long-running
            simulator stays flat in memory (before, every request stayed: ~540 bytes each).

    Faults (all off): ``doc_timestamps`` (time_out with 7 digits, no Z, as in the docs),
    ``latency``, ``latency_jitter``, ``drop_reply_prob``, ``close_after``, ``close_prob``,
    ``junk_every``; ``seed`` seeds every random choice (faults, connection ids, the market).

    Engine limits [DOC kraken-ws-v2.md §6]: ``max_open_orders`` per pair, ``rate_limit``
    (per-pair counter threshold; ``None`` turns it off), ``rate_decay`` per second.

    Market (off unless ``market=True``):
        market: run a per-symbol price process; resting limit orders fill (partially) when
            the price crosses them, stop-loss/take-profit orders trigger, every fill is a
            Kraken-shaped ``trade`` execution with fees and cumulative fields.
        market_price: the starting price of every symbol (and the price market orders fill
            at when the market is off).
        market_interval: seconds between price steps.
        market_volatility: standard deviation of one step's log return.
        market_path: a file replayed instead of the random walk: one price per line, or
            ``SYMBOL PRICE`` / ``SYMBOL,PRICE`` per line; ``#`` starts a comment; the last
            price holds when a symbol's path runs out.
        tick_size: prices are rounded to it.
        partial_fill_prob: probability that an order's first fill takes only part (10..90 %)
            of it; the next crossing fills the rest.
        maker_fee, taker_fee: fee rates (Kraken's starter tier: 0.25 % / 0.40 %).
        cancel_race_prob: probability that a cancel finds a resting order filled just
            before it (the fill's executions first, then the cancel's "not open" answer);
            works with the market on or off.

    Public endpoint (``Simulator.public_url``: ``book``, ``ticker``, ``trade``, ``instrument``):
        book_interval: seconds between book moves while anybody subscribes (0: only
            ``Simulator.publish_book`` moves the books). The books follow the market's price.
        book_corrupt_every: every Nth book update carries a wrong checksum [fault].
        book_drop_every: every Nth book update is not sent (the book still moves, so the
            next checksum a client computes fails) [fault].
        book_delay_every, book_delay: every Nth book update leaves ``book_delay`` seconds late,
            and the frames behind it wait (order kept) [fault].
    """

    token_ttl: float = 900.0
    heartbeat_interval: float = 1.0
    idle_timeout: float | None = 60.0
    close_empty_auth_after: float | None = 10.0
    status_on_connect: bool = True
    strict_path: bool = False
    maxratecount: int = 180
    version: str = "2.0.10"
    connect_budget: int | None = 150
    connect_window: float = 600.0
    connect_ban: float = 600.0
    msg_rate_limit: int | None = None
    reply_shape: Literal["documented", "recorded"] = "documented"
    deny_trading: bool = False

    batch_cancel_mode: Literal["lenient", "strict"] = "lenient"
    strict_error: str = "EOrder:Invalid order"
    batch_cancel_warnings: bool = False
    cancel_reply_order: Literal["request", "shuffled"] = "request"
    cancel_gone_cost: float = 0.0
    cancel_error: str = "EOrder:Invalid order"
    amend_error: str = "EOrder:Unknown order"
    updates_before_reply: bool = False
    ledger_size: int = 10_000

    doc_timestamps: bool = False
    latency: float = 0.0
    latency_jitter: float = 0.0
    drop_reply_prob: float = 0.0
    close_after: int | None = None
    close_prob: float = 0.0
    junk_every: int | None = None
    seed: int | None = None

    max_open_orders: int = 225
    rate_limit: float | None = None
    rate_decay: float = 3.75

    market: bool = False
    market_price: Decimal = Decimal(30000)
    market_interval: float = 0.25
    market_volatility: float = 0.0005
    market_path: str | None = None
    tick_size: Decimal = Decimal("0.1")
    partial_fill_prob: float = 0.5
    maker_fee: Decimal = Decimal("0.0025")
    taker_fee: Decimal = Decimal("0.004")
    cancel_race_prob: float = 0.0

    book_interval: float = 0.1
    book_corrupt_every: int | None = None
    book_drop_every: int | None = None
    book_delay_every: int | None = None
    book_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.batch_cancel_mode not in ("lenient", "strict"):
            raise ValueError(
                f"batch_cancel_mode must be lenient or strict, not {self.batch_cancel_mode!r}"
            )
        if self.reply_shape not in ("documented", "recorded"):
            raise ValueError(
                f"reply_shape must be documented or recorded, not {self.reply_shape!r}"
            )
        for name in ("connect_budget", "msg_rate_limit", "ledger_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 (or None where allowed), not {value}")
        if self.connect_window <= 0 or self.connect_ban < 0:
            raise ValueError("connect_window must be > 0 and connect_ban >= 0")
        if self.cancel_reply_order not in ("request", "shuffled"):
            raise ValueError(
                f"cancel_reply_order must be request or shuffled, not {self.cancel_reply_order!r}"
            )
        for name in ("close_prob", "drop_reply_prob", "partial_fill_prob", "cancel_race_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, not {value}")
        if self.latency < 0 or self.latency_jitter < 0 or self.heartbeat_interval <= 0:
            raise ValueError("latency and jitter must be >= 0, heartbeat_interval > 0")
        for name in ("idle_timeout", "close_empty_auth_after"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None, not {value}")
        for name in (
            "close_after",
            "junk_every",
            "book_corrupt_every",
            "book_drop_every",
            "book_delay_every",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, not {value}")
        if self.market_interval <= 0 or self.market_volatility < 0 or self.tick_size <= 0:
            raise ValueError("market_interval and tick_size must be > 0, volatility >= 0")
        if self.book_interval < 0 or self.book_delay < 0:
            raise ValueError("book_interval and book_delay must be >= 0")
        if self.cancel_gone_cost < 0:
            raise ValueError("cancel_gone_cost must be >= 0")
