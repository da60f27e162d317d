"""The simulated exchange's shared state, and the interface connections and handlers use.

`Engine` owns accounts and their tokens (accepted for ``token_ttl`` seconds after
minting, or while bound to a live executions subscription, kraken-ws-v2.md §2.4), the engine
``system`` state, the market, executions fan-out, heartbeats, idle and no-subscription closes,
GTD expiry and dead man's switches. It never imports the connection or server modules: a
connection is anything shaped like `Peer`.
"""

from __future__ import annotations

import asyncio
import base64
import random
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import msgspec

from ._balances import LedgerRow, snapshot_rows
from ._book import Account, LedgerEntry
from ._clock import clock
from ._config import SimConfig
from ._execs import CLOSE_TYPES, Row, full_row
from ._market import Market
from ._wire import ENCODER, CancelAfterResult, ExecFrame, StatusData, StatusFrame

__all__ = ["SYSTEMS", "Engine", "Peer"]

SYSTEMS = frozenset(("online", "cancel_only", "maintenance", "post_only"))
_HEARTBEAT = b'{"channel":"heartbeat"}'


class Peer(Protocol):
    """What the engine needs of a connection."""

    closed: bool
    connection_id: int
    seq: int
    account: Account | None
    token: str | None
    order_status: bool  # the subscription's order_status option
    ratecounter: bool  # the subscription's ratecounter option
    last_in: float  # monotonic time of the last inbound frame
    unsubscribed_at: float  # monotonic time since which it holds no subscription

    def send(self, data: bytes, delay: float = 0.0) -> None: ...

    def close(self, code: int, reason: bytes) -> None: ...


class _Token:
    __slots__ = ("account", "minted", "dead", "peers")

    def __init__(self, account: Account) -> None:
        self.account = account
        self.minted = time.monotonic()
        self.dead = False
        self.peers: dict[Peer, None] = {}  # live connections subscribed with this token


class Engine:
    """Shared simulator state; see the module docstring.

    Args:
        config: the behaviour switches.
        accounts: how many accounts to create (each with a key, a secret and a token).
    """

    def __init__(self, config: SimConfig, accounts: int) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.system = "online"
        self.frames_received = 0
        self.flood_refusals = 0  # messages dropped with {"Error":"Exceeded msg rate"}
        self.connect_refusals = 0  # upgrades answered 429 by the connection-attempt budget
        self._attempts: deque[float] = deque()  # times of recent connection attempts
        self._banned_until = 0.0
        # While True every frame is read and dropped and nothing is sent (no replies, no
        # heartbeats): a dead-but-open socket, for clients' liveness watchdogs.
        self.blackhole = False
        self.market = Market(config, self.rng)
        self.fmt_out = clock.doc_text if config.doc_timestamps else clock.text
        self.accounts = [Account() for _ in range(accounts)]
        self.by_key = {a.api_key: a for a in self.accounts}
        self.peers: dict[Peer, None] = {}
        self._tokens: dict[str, _Token] = {}
        self._subs: dict[Account, dict[Peer, None]] = {}
        self._cancel_after: dict[Account, asyncio.TimerHandle] = {}
        self._deferred: list[tuple[Account, list[Row]]] = []
        # balances channel: account -> {peer: that peer's last balances sequence}
        self._bal_subs: dict[Account, dict[Peer, int]] = {}
        self._deferred_ledger: list[tuple[Account, list[LedgerRow]]] = []
        self._holding = 0
        self._skip_sequence = 0
        self._timers: list[asyncio.TimerHandle] = []
        for acct in self.accounts:
            acct.set_sink(self._on_rows, self._on_ledger)
        self.default_tokens = [self.mint_token(a.api_key) for a in self.accounts]

    # -- tokens --------------------------------------------------------------------------------

    def mint_token(self, api_key: str) -> str:
        """A fresh opaque token for the account of ``api_key``. Raises KeyError if unknown."""
        try:
            acct = self.by_key[api_key]
        except KeyError:
            raise KeyError("unknown API key") from None
        token = base64.b64encode(secrets.token_bytes(30)).decode()
        self._tokens[token] = _Token(acct)
        return token

    def token_account(self, token: str) -> Account:
        return self._tokens[token].account

    def live_tokens(self) -> list[str]:
        return [tok for tok in self._tokens if self.auth(tok) is not None]

    def invalidate_tokens(self, api_key: str | None = None) -> None:
        for tok in self._tokens.values():
            if api_key is None or tok.account.api_key == api_key:
                tok.dead = True

    def record(self, acct: Account, entry: LedgerEntry) -> None:
        """Append a trading request to the account's ledger, keeping it bounded: at least the
        last ``ledger_size`` entries, at most a quarter more (one slice delete per quarter, so
        appending stays O(1) amortized and a long-running simulator stays flat in memory)."""
        ledger = acct.ledger
        ledger.append(entry)
        keep = self.config.ledger_size
        if len(ledger) > keep + (keep >> 2):
            del ledger[: len(ledger) - keep]

    def admit(self) -> bool:
        """One connection attempt: False when Kraken's Cloudflare front would refuse it (more
        than ``connect_budget`` attempts in ``connect_window`` seconds bans for ``connect_ban``
        seconds; kraken-ws-v2.md section 1). Refused attempts count too."""
        cfg = self.config
        budget = cfg.connect_budget
        if budget is None:
            return True
        now = time.monotonic()
        attempts = self._attempts
        attempts.append(now)
        while attempts and now - attempts[0] >= cfg.connect_window:
            attempts.popleft()
        if len(attempts) > budget:
            self._banned_until = max(self._banned_until, now + cfg.connect_ban)
        if now < self._banned_until:
            self.connect_refusals += 1
            return False
        return True

    def auth(self, token: str) -> Account | None:
        """The account a token may act for right now, else None (``ESession:Invalid session``)."""
        tok = self._tokens.get(token)
        if tok is None or tok.dead:
            return None
        if time.monotonic() - tok.minted < self.config.token_ttl:
            return tok.account
        for peer in tok.peers:
            if not peer.closed and peer.account is not None:
                return tok.account
        return None

    # -- connections ---------------------------------------------------------------------------

    def delay(self) -> float:
        cfg = self.config
        if cfg.latency_jitter:
            return cfg.latency + self.rng.uniform(0.0, cfg.latency_jitter)
        return cfg.latency

    def connected(self, peer: Peer) -> None:
        self.peers[peer] = None
        if self.config.status_on_connect:
            self.send_status(peer)

    def disconnected(self, peer: Peer) -> None:
        self.peers.pop(peer, None)
        self.unsubscribe(peer)
        self.unsubscribe_balances(peer)

    # -- balances channel ----------------------------------------------------------------------

    def balances_subscribed(self, peer: Peer) -> bool:
        return any(peer in peers for peers in self._bal_subs.values())

    def subscribe_balances(self, peer: Peer, acct: Account, snapshot: bool) -> bytes | None:
        """Stream ``acct``'s ledger entries to ``peer``; the snapshot frame to send after the
        ack (None without ``snapshot``)."""
        self._bal_subs.setdefault(acct, {})[peer] = 0
        if not snapshot:
            return None
        self._bal_subs[acct][peer] = 1
        data = msgspec.Raw(ENCODER.encode(snapshot_rows(acct.balances)))
        return ENCODER.encode(ExecFrame("balances", "snapshot", data, 1))

    def unsubscribe_balances(self, peer: Peer) -> bool:
        """Stop ``peer``'s balances stream; False if it had none."""
        for peers in self._bal_subs.values():
            if peers.pop(peer, None) is not None:
                return True
        return False

    def _on_ledger(self, acct: Account, rows: list[LedgerRow]) -> None:
        if self._holding:
            self._deferred_ledger.append((acct, rows))
        else:
            self._emit_ledger(acct, rows)

    def _emit_ledger(self, acct: Account, rows: list[LedgerRow]) -> None:
        peers = self._bal_subs.get(acct)
        if not peers:
            return
        for row in rows:  # one entry per frame, as recorded
            data = msgspec.Raw(ENCODER.encode([row]))
            for peer in list(peers):
                if peer.closed:
                    continue
                peers[peer] += 1
                peer.send(ENCODER.encode(ExecFrame("balances", "update", data, peers[peer])))

    def send_status(self, peer: Peer) -> None:
        data = StatusData(self.config.version, self.system, "v2", peer.connection_id)
        peer.send(ENCODER.encode(StatusFrame("status", "update", [data])))

    def subscribe(self, peer: Peer, acct: Account, token: str) -> None:
        peer.account = acct
        peer.token = token
        self._subs.setdefault(acct, {})[peer] = None
        self._tokens[token].peers[peer] = None

    def unsubscribe(self, peer: Peer) -> None:
        acct, token = peer.account, peer.token
        peer.account = peer.token = None
        peer.unsubscribed_at = time.monotonic()
        if acct is not None:
            self._subs.get(acct, {}).pop(peer, None)
        if token is not None and token in self._tokens:
            self._tokens[token].peers.pop(peer, None)

    def snapshot(self, acct: Account, orders: bool, trades: bool) -> bytes:
        """The ``data`` of an executions snapshot: open orders, then the last 50 fills."""
        rows: list[Row] = []
        if orders:
            rows.extend(full_row(o, "new", snapshot=True) for o in acct.open_orders.values())
        if trades:
            rows.extend(acct.trades)
        return ENCODER.encode(rows)

    # -- executions fan-out --------------------------------------------------------------------

    def hold(self) -> None:
        """Hold executions updates back (until `flush`): a reply goes out first."""
        self._holding += 1

    def release(self) -> None:
        self._holding -= 1

    def flush(self) -> None:
        deferred, self._deferred = self._deferred, []
        for acct, rows in deferred:
            self._emit(acct, rows)
        ledger, self._deferred_ledger = self._deferred_ledger, []
        for acct, entries in ledger:
            self._emit_ledger(acct, entries)

    def _on_rows(self, acct: Account, rows: list[Row]) -> None:
        if self._holding:
            self._deferred.append((acct, rows))
        else:
            self._emit(acct, rows)

    def _emit(self, acct: Account, rows: list[Row]) -> None:
        peers = self._subs.get(acct)
        if not peers:
            return
        encoded: dict[tuple[bool, bool], bytes | None] = {}
        skip, self._skip_sequence = self._skip_sequence, 0
        for peer in peers:
            if peer.closed:
                continue
            key = (peer.order_status, peer.ratecounter)
            if key not in encoded:
                encoded[key] = self._encode(acct, rows, *key)
            data = encoded[key]
            if data is None:
                continue
            peer.seq += 1
            if skip:
                peer.seq += 1 if skip == 1 else 0
                if skip == 2:  # the update is lost: its number is used, nothing is sent
                    continue
            peer.send(
                ENCODER.encode(ExecFrame("executions", "update", msgspec.Raw(data), peer.seq))
            )

    def _encode(
        self, acct: Account, rows: list[Row], status: bool, ratecount: bool
    ) -> bytes | None:
        out = rows if status else [r for r in rows if r.exec_type in CLOSE_TYPES]
        if not out:
            return None
        if not ratecount:
            return ENCODER.encode(out)
        # Kraken names the streamed counter field nowhere we could find [UNK]: "ratecount".
        counted = [r for r in out if hasattr(r, "ratecount")]
        for row in counted:
            symbol = getattr(row, "symbol", None) or _symbol_of(acct, row.order_id)
            value = acct.charge(symbol, 0.0, self.config.rate_decay) if symbol else 0.0
            setattr(row, "ratecount", int(value))  # noqa: B010 - not every Row has the field
        data = ENCODER.encode(out)
        for row in counted:
            setattr(row, "ratecount", msgspec.UNSET)  # noqa: B010
        return data

    def skip_sequence(self, drop: bool) -> None:
        self._skip_sequence = 2 if drop else 1

    # -- dead man's switch ---------------------------------------------------------------------

    def arm_cancel_after(self, acct: Account, timeout: int) -> CancelAfterResult:
        old = self._cancel_after.pop(acct, None)
        if old is not None:
            old.cancel()
        now = int(time.time())
        current = clock.seconds(now)
        if timeout == 0:
            return CancelAfterResult(current, "0")
        loop = asyncio.get_running_loop()
        self._cancel_after[acct] = loop.call_later(timeout, self._fire_cancel_after, acct)
        return CancelAfterResult(current, clock.seconds(now + timeout))

    def _fire_cancel_after(self, acct: Account) -> None:
        self._cancel_after.pop(acct, None)  # stays off until re-armed
        acct.cancel_all()

    # -- timers --------------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.config
        self._every(loop, cfg.heartbeat_interval, self._beat)
        limits = [t for t in (cfg.idle_timeout, cfg.close_empty_auth_after) if t is not None]
        self._every(loop, min([1.0, *(t / 4 for t in limits)]), self._housekeep)
        if cfg.market:
            self._every(loop, cfg.market_interval, self._market_step)

    def stop(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        for handle in self._cancel_after.values():
            handle.cancel()
        self._cancel_after.clear()

    def _every(
        self, loop: asyncio.AbstractEventLoop, period: float, fn: Callable[[], None]
    ) -> None:
        index = len(self._timers)

        def tick() -> None:
            self._timers[index] = loop.call_later(period, tick)
            fn()

        self._timers.append(loop.call_later(period, tick))

    def _beat(self) -> None:
        if self.blackhole:
            return
        for peers in self._subs.values():
            for peer in peers:
                peer.send(_HEARTBEAT)

    def _housekeep(self) -> None:
        now = time.monotonic()
        cfg = self.config
        for peer in list(self.peers):
            if peer.closed:
                continue
            if cfg.idle_timeout is not None and now - peer.last_in >= cfg.idle_timeout:
                peer.close(1000, b"idle timeout")
            elif (
                cfg.close_empty_auth_after is not None
                and peer.account is None
                and now - peer.unsubscribed_at >= cfg.close_empty_auth_after
            ):
                peer.close(1000, b"no subscription")
        wall = time.time()
        for acct in self.accounts:
            due = [o for o in acct.open_orders.values() if o.expire_at is not None]
            due = [o for o in due if o.expire_at is not None and o.expire_at <= wall]
            if due:
                acct.close(due, "expired", "Order expired")

    def _market_step(self) -> None:
        self.market.step(self.accounts)


def _symbol_of(acct: Account, order_id: str) -> str | None:
    order = acct.open_orders.get(order_id)
    return order.symbol if order is not None else None
