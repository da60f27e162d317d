"""Typed configuration of a client: the frozen [`ClientConfig`][krakenwire.ClientConfig], the
reconnect policy (testable alone, no I/O), state changes and counters, and the URL guard."""

from __future__ import annotations

import random
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec

from ._auth import check_rest_url, is_loopback_host
from ._shapes import MISMATCHES
from ._validate import check_timeout
from .errors import ValidationError

__all__ = [
    "DEFAULT_TIMEOUT",
    "ClientConfig",
    "ClientStats",
    "ConnectBudget",
    "ReconnectPolicy",
    "StateChange",
    "backoff",
    "check_url",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds a call waits for its reply when neither the call nor `connect` names a timeout."""


def check_url(url: object) -> str:
    """Refuse URLs that would leak a token or cannot be connected to: plain ``ws://`` is
    allowed only to loopback; the port must be a valid one.

    Raises:
        ValidationError: not a ws/wss URL, a bad port, or ``ws://`` to a non-loopback host.
    """
    if type(url) is not str:
        raise ValidationError(f"url must be a str, got {type(url).__name__}", field="url")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ValidationError(f"not a valid URL {url!r}: {exc}", field="url", value=url) from None
    if parts.scheme not in ("ws", "wss") or not host:
        raise ValidationError(f"not a ws:// or wss:// URL: {url!r}", field="url", value=url)
    if parts.scheme == "ws" and not is_loopback_host(host):
        raise ValidationError(
            f"refusing plain ws:// to {host!r}: a token never travels unencrypted; "
            "use wss:// (ws:// is allowed for loopback only)",
            field="url",
            value=url,
        )
    return url


class StateChange(msgspec.Struct, frozen=True):
    """One state change: ``connecting``, ``connected``, ``disconnected``, ``reconnecting``,
    ``closed``. ``reason`` says why (never a secret); ``connection`` which socket changed
    (``"primary"``, or ``"standby"`` with ``connect(standby=True)``)."""

    state: str
    previous: str
    reason: str = ""
    at: float = 0.0
    connection: str = "primary"


class ClientStats:
    """Counters of frames that were not answers to our requests, of failing callbacks, and of
    reconnects. Read-only for users: the session counts what it decides (``unmatched``,
    ``duplicates``, ``malformed`` are read from it), the client the rest."""

    __slots__ = (
        "sessions",
        "frames",
        "heartbeats",
        "not_understood",
        "channel",
        "reconnects",
        "connect_attempts",
        "token_refreshes",
        "callback_errors",
        "rate_limit_notices",
        "proxy_restarts",
        "_shape_base",
    )
    _SHOWN = ("unmatched", "duplicates", "malformed", "shape_mismatches", *__slots__[1:-1])

    def __init__(self, sessions: list[Any]) -> None:
        self.sessions = sessions  # the session of each socket (two with a standby)
        self.frames = 0
        self.heartbeats = 0
        self.not_understood = 0  # binary or oversized frames, executions data we cannot use
        self.channel = 0
        self.reconnects = 0
        self.connect_attempts = 0
        self.token_refreshes = 0
        self.callback_errors = 0
        # Kraken's bare {"Error":"Exceeded msg rate"} frames, and its bare text frame
        # "CloudFlare WebSocket proxy restarting" (kraken-ws-v2.md section 9; _notices.py).
        self.rate_limit_notices = 0
        self.proxy_restarts = 0
        self._shape_base = MISMATCHES.count

    @property
    def unmatched(self) -> int:
        """Method replies that completed nothing (unknown req_id, another method, duplicates)."""
        return sum(int(s.unmatched) + int(s.duplicates) for s in self.sessions)

    @property
    def duplicates(self) -> int:
        """Replies that repeated one already counted (a subset of ``unmatched``)."""
        return sum(int(s.duplicates) for s in self.sessions)

    @property
    def malformed(self) -> int:
        """Frames that could not be decoded, plus ``not_understood``."""
        return sum(int(s.malformed) for s in self.sessions) + self.not_understood

    @property
    def shape_mismatches(self) -> int:
        """Replies that said ``success: true`` but could not be read in full (the result has
        ``shape_warnings``). Per connection when the session counts them; until then, every
        such reply in this process since this client was created."""
        counted = [s.shape_mismatches for s in self.sessions if hasattr(s, "shape_mismatches")]
        if counted:
            return sum(int(n) for n in counted)
        return MISMATCHES.count - self._shape_base

    def __repr__(self) -> str:
        return "ClientStats(" + ", ".join(f"{k}={getattr(self, k)}" for k in self._SHOWN) + ")"


class ConnectBudget:
    """At most ``max_attempts`` connection attempts in any rolling ``window`` seconds.

    Kraken's Cloudflare front bans an IP for 10 minutes after ~150 attempts in 10 minutes
    (kraken-ws-v2.md section 1); the default keeps well under that.
    """

    def __init__(
        self,
        max_attempts: int = 100,
        window: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_attempts = max_attempts
        self.window = window
        self._clock = clock
        self._times: deque[float] = deque()

    def delay(self) -> float:
        """Seconds until one more attempt fits in the budget (0 if it fits now)."""
        now = self._clock()
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()
        if len(self._times) < self.max_attempts:
            return 0.0
        return self._times[0] + self.window - now

    def record(self) -> None:
        self._times.append(self._clock())


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Capped exponential backoff, equal jitter: in ``[d/2, d]``, ``d = min(cap, base*2**n)``."""
    d = min(cap, base * 2.0 ** min(attempt, 30))
    return d / 2 + rng.uniform(0, d / 2)


@dataclass
class ReconnectPolicy:
    """When to try connecting again: capped, jittered exponential backoff inside a rolling
    attempt budget, and no faster than every 5 s while Kraken is in maintenance.

    Pure: it reads no clock but the budget's and sleeps nowhere; the lifecycle asks it for the
    next delay and reports each attempt.
    """

    base: float = 0.5
    cap: float = 30.0
    budget: ConnectBudget = field(default_factory=ConnectBudget)
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self, maintenance: bool = False) -> float:
        """Seconds to wait before the next attempt (and count it as one more attempt)."""
        d = max(backoff(self.attempt, self.base, self.cap, self.rng), self.budget.delay())
        if maintenance:
            d = max(d, 5.0)  # Kraken: after maintenance, no faster than every 5 s
        self.attempt += 1
        return d

    def record(self) -> None:
        """An attempt is being made now."""
        self.budget.record()

    def reset(self) -> None:
        """A connection succeeded: the next outage starts from the base delay."""
        self.attempt = 0


@dataclass(frozen=True)
class ClientConfig:
    """Everything [`krakenwire.connect`][krakenwire.connect] was given, validated, frozen.

    Attributes:
        url: the ``ws(s)://.../v2`` endpoint.
        timeout: default seconds per call (also the handshake and subscribe timeout).
        subscribe: subscribe to ``executions`` (Kraken closes an auth socket with none).
        balances: also subscribe to ``balances`` (needs ``subscribe``).
        reconnect: re-establish the connection after an unexpected drop.
        liveness_timeout: no frame for this long -> ping; no pong within ``ping_timeout``
            -> the socket is dropped and (with ``reconnect``) re-established.
        keepalive_interval: ping when nothing was sent for this long (Kraken drops idle sockets
            after ~60 s).
        backoff_base, backoff_cap: reconnect delays (see
            [`ReconnectPolicy`][krakenwire.ReconnectPolicy]).
        rest_url: Kraken's REST base URL, for token fetches with credentials.
        ssl_context: for ``wss://``; ``None`` verifies certificates with the system store.
    """

    url: str
    timeout: float = DEFAULT_TIMEOUT
    subscribe: bool = True
    reconnect: bool = True
    balances: bool = False
    liveness_timeout: float = 15.0
    ping_timeout: float = 5.0
    keepalive_interval: float = 20.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    rest_url: str = "https://api.kraken.com"
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        check_url(self.url)
        for name in ("timeout", "liveness_timeout", "ping_timeout", "keepalive_interval"):
            check_timeout(getattr(self, name), name)
        for name in ("backoff_base", "backoff_cap"):
            check_timeout(getattr(self, name), name)
        for name in ("subscribe", "reconnect", "balances"):
            if type(getattr(self, name)) is not bool:
                raise ValidationError(f"{name} must be a bool", field=name)
        if self.balances and not self.subscribe:
            raise ValidationError("balances=True needs subscribe=True", field="balances")
        check_rest_url(self.rest_url)  # a ValidationError naming what is wrong
        if self.ssl_context is not None and not isinstance(self.ssl_context, ssl.SSLContext):
            raise ValidationError("ssl_context must be an ssl.SSLContext", field="ssl_context")
