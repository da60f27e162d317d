"""The in-process Kraken Spot WebSocket v2 simulator: configuration, accounts, tokens, server.

:class:`Simulator` runs a picows server on loopback at ``/v2`` and owns the shared state the
connections act on: accounts and their tokens (accepted for ``token_ttl`` seconds after minting,
or while bound to a live executions subscription, kraken-ws-v2.md §2.4), the engine ``system``
state, executions fan-out, heartbeats, dead man's switches and the fault switches of
:class:`SimConfig`.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import random
import secrets
import ssl
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Literal

import msgspec
from picows import WSCloseCode, WSUpgradeRequest, ws_create_server

from ._book import Account, Order
from ._conn import Conn
from ._rest import RestTokenServer
from ._wire import (
    ENCODER,
    ZERO,
    CancelAfterResult,
    ExecCancel,
    ExecFrame,
    ExecOrder,
    StatusData,
    StatusFrame,
    clock,
)

__all__ = ["SimConfig", "Simulator"]

_SYSTEMS = frozenset(("online", "cancel_only", "maintenance", "post_only"))
_HEARTBEAT = b'{"channel":"heartbeat"}'
# exec_type -> order_status where they differ (an amended order is still "new").
_STATUS = {"amended": "new", "restated": "new"}


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """Behaviour switches of the simulator; every fault is off by default.

    Attributes:
        token_ttl: seconds a minted token may be first used (Kraken: 900).
        heartbeat_interval: seconds between heartbeats to subscribed connections.
        batch_cancel_mode: ``"lenient"`` cancels what is open and warns about the rest;
            ``"strict"`` fails the whole batch with ``strict_error`` if any id is not open.
        strict_error: the error string of a strict-mode failure.
        doc_timestamps: write ``time_out`` as Kraken's docs do (7 digits, no ``Z``).
        latency: fixed seconds added before every reply.
        latency_jitter: extra uniform 0..jitter seconds per reply (order is preserved).
        drop_reply_prob: probability that a trading request executes but gets no reply.
        close_after: abruptly drop a connection after its Nth trading request executes.
        close_prob: probability that a connection is dropped abruptly right after a trading
            request executes (its reply is then not sent): the "unknown outcome" case.
        junk_every: every N inbound frames, also send a junk frame.
        close_empty_auth_after: close an authenticated connection holding no subscription.
        seed: seed of the random source behind jitter, drops and connection ids.
        maxratecount: the ``maxratecount`` of the executions subscribe ack.
        version: the ``version`` of the status frame.
        max_open_orders: open orders per pair before ``EOrder:Orders limit exceeded``
            (Kraken: 60/80/225 by tier).
        rate_limit: the per-pair trading counter's threshold (Kraken: 60/125/180); ``None``
            turns the counter off. Past it, add/amend/edit fail with ``EOrder:Rate limit
            exceeded``; cancels are still accepted (kraken-ws-v2.md §6).
        rate_decay: the counter's decay per second (Kraken: 1/2.34/3.75).
        market_price: the price market orders fill at (the sim has no order book).

    Switches for what Kraken does not document (kraken-ws-v2.md marks them [UNK]):
        status_on_connect: push a ``status`` frame on connect (documented for the public
            endpoint; unknown for ws-auth).
        cancel_error: ``cancel_order`` of an id not open (``EOrder:Invalid order`` per Kraken's
            SDK; REST says ``EOrder:Unknown order``).
        amend_error: amend/edit of an unknown order (peer evidence only).
        updates_before_reply: send the executions updates before the method reply (the order
            on Kraken is not documented; default: reply first).
    """

    token_ttl: float = 900.0
    heartbeat_interval: float = 1.0
    batch_cancel_mode: Literal["lenient", "strict"] = "lenient"
    strict_error: str = "EOrder:Invalid order"
    doc_timestamps: bool = False
    latency: float = 0.0
    latency_jitter: float = 0.0
    drop_reply_prob: float = 0.0
    close_after: int | None = None
    close_prob: float = 0.0
    junk_every: int | None = None
    close_empty_auth_after: float | None = None
    seed: int | None = None
    maxratecount: int = 180
    version: str = "2.0.10"
    max_open_orders: int = 225
    rate_limit: float | None = None
    rate_decay: float = 3.75
    market_price: Decimal = Decimal(30000)
    status_on_connect: bool = True
    cancel_error: str = "EOrder:Invalid order"
    amend_error: str = "EOrder:Unknown order"
    updates_before_reply: bool = False

    def __post_init__(self) -> None:
        if self.batch_cancel_mode not in ("lenient", "strict"):
            raise ValueError(
                f"batch_cancel_mode must be lenient or strict, not {self.batch_cancel_mode!r}"
            )
        if not 0.0 <= self.close_prob <= 1.0:
            raise ValueError(f"close_prob must be within 0..1, not {self.close_prob}")
        if not 0.0 <= self.drop_reply_prob <= 1.0:
            raise ValueError(f"drop_reply_prob must be within 0..1, not {self.drop_reply_prob}")
        if self.latency < 0 or self.latency_jitter < 0 or self.heartbeat_interval <= 0:
            raise ValueError("latency and jitter must be >= 0, heartbeat_interval > 0")
        for name in ("close_after", "junk_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, not {value}")


class _Token:
    __slots__ = ("account", "minted", "dead", "conns")

    def __init__(self, account: Account) -> None:
        self.account = account
        self.minted = time.monotonic()
        self.dead = False
        self.conns: dict[Conn, None] = {}  # live connections subscribed with this token


class Simulator:
    """A Kraken Spot WebSocket v2 (ws-auth) simulator on a loopback port.

    Args:
        host: a loopback address (``127.0.0.1``, ``::1``, ...).
        port: TCP port; 0 picks a free one (read it back from :attr:`url`).
        orders: resting orders to seed on the default account.
        accounts: number of accounts, each with its own key, secret and token.
        config: behaviour switches; defaults to :class:`SimConfig()`.

    Raises:
        ValueError: ``host`` is not a loopback address, or ``accounts`` < 1.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        orders: int = 0,
        accounts: int = 1,
        config: SimConfig | None = None,
        rest: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"the simulator only listens on loopback, not {host!r}")
        if accounts < 1:
            raise ValueError("accounts must be >= 1")
        self.host = host
        self.port = port
        self.config = config or SimConfig()
        self.rng = random.Random(self.config.seed)
        self.system = "online"
        self.frames_received = 0
        # While True the simulator reads and drops every frame and sends nothing (no replies,
        # no heartbeats): a dead-but-open socket, for clients' liveness watchdogs.
        self.blackhole = False
        self._ssl = ssl_context
        self._fmt_out = clock.doc_text if self.config.doc_timestamps else clock.text
        self._accounts = [Account() for _ in range(accounts)]
        self._by_key = {a.api_key: a for a in self._accounts}
        self._tokens: dict[str, _Token] = {}
        self._conns: dict[Conn, None] = {}
        self._subs: dict[Account, dict[Conn, None]] = {}
        self._cancel_after: dict[Account, asyncio.TimerHandle] = {}
        self._deferred: list[tuple[Account, str, list[Order]]] = []
        self._batching = False
        self._skip_sequence = 0
        self._server: asyncio.Server | None = None
        # The REST GetWebSocketsToken endpoint, on its own loopback port (aiohttp).
        self._rest: RestTokenServer | None = (
            RestTokenServer(_LiveKeys(self), self.mint_token, host=host) if rest else None
        )
        self._heartbeat: asyncio.TimerHandle | None = None
        for acct in self._accounts:
            acct._sink = self._on_exec
        self._default_tokens = [self.mint_token(a.api_key) for a in self._accounts]
        if orders:
            self._accounts[0].place(orders)

    def __repr__(self) -> str:
        return f"Simulator(url={self.url!r}, system={self.system!r})"

    # -- public API ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "wss" if self._ssl is not None else "ws"
        return f"{scheme}://{host}:{self.port}/v2"

    @property
    def rest_url(self) -> str:
        """Base URL of the REST token endpoint (``POST /0/private/GetWebSocketsToken``)."""
        if self._rest is None:
            raise RuntimeError("this simulator was created with rest=False")
        return self._rest.url

    @property
    def token(self) -> str:
        """The default account's first token."""
        return self._default_tokens[0]

    @property
    def tokens(self) -> list[str]:
        """Every token the simulator would accept right now."""
        return [tok for tok in self._tokens if self._auth(tok) is not None]

    @property
    def accounts(self) -> list[Account]:
        return list(self._accounts)

    @property
    def api_keys(self) -> dict[str, str]:
        """API key -> base64 API secret, for every account."""
        return {a.api_key: a.api_secret for a in self._accounts}

    def account(self, token: str) -> Account:
        """The account a token (live or not) belongs to. Raises KeyError if never minted."""
        return self._tokens[token].account

    def mint_token(self, api_key: str) -> str:
        """A fresh opaque WebSocket token for the account of ``api_key``.

        Raises:
            KeyError: no account has that key.
        """
        try:
            acct = self._by_key[api_key]
        except KeyError:
            raise KeyError("unknown API key") from None
        token = base64.b64encode(secrets.token_bytes(30)).decode()
        self._tokens[token] = _Token(acct)
        return token

    def invalidate_tokens(self, api_key: str | None = None) -> None:
        """Kill every token (of one account, if ``api_key`` is given) server-side, at once."""
        for tok in self._tokens.values():
            if api_key is None or tok.account.api_key == api_key:
                tok.dead = True

    async def drop_connections(self, code: int | None = None) -> int:
        """Close every client connection: abruptly (``code=None``, like a 1006) or with a close
        frame carrying ``code`` (1001 for a gateway restart, 1008 for a policy violation).

        Returns:
            how many connections were closed.
        """
        conns = [c for c in self._conns if c.transport is not None and not c.closed]
        for conn in conns:
            assert conn.transport is not None
            if code is None:
                conn.transport.disconnect(graceful=False)
            else:
                conn.transport.send_close(WSCloseCode(code))
                conn.transport.disconnect()
        await asyncio.sleep(0)
        return len(conns)

    def skip_sequence(self, *, drop: bool = True) -> None:
        """Make the next executions update show a ``sequence`` gap on every connection: with
        ``drop`` the update is lost (its number consumed, the frame never sent), otherwise it
        is sent with one number skipped. Clients should re-subscribe for a fresh snapshot."""
        self._skip_sequence = 2 if drop else 1

    def inject(self, data: bytes) -> int:
        """Send ``data`` as a raw text frame to every connection (fuzzing clients).

        Returns:
            how many connections it was sent to.
        """
        conns = [c for c in self._conns if c.transport is not None and not c.closed]
        for conn in conns:
            conn.send(data)
        return len(conns)

    async def set_system(self, system: str) -> None:
        """Change the engine state and push a ``status`` update to every connection."""
        if system not in _SYSTEMS:
            raise ValueError(f"system must be one of {sorted(_SYSTEMS)}, not {system!r}")
        self.system = system
        for conn in list(self._conns):
            self._send_status(conn)

    async def start(self) -> None:
        """Start listening; :attr:`url` then carries the real port."""
        if self._server is not None:
            return
        self._server = await ws_create_server(self._factory, self.host, self.port, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        if self._rest is not None:
            await self._rest.start()
        loop = asyncio.get_running_loop()
        self._heartbeat = loop.call_later(self.config.heartbeat_interval, self._beat)

    async def stop(self) -> None:
        """Close every connection and the listener; cancel all timers."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        for handle in self._cancel_after.values():
            handle.cancel()
        self._cancel_after.clear()
        for conn in list(self._conns):
            if conn.transport is not None and not conn.closed:
                conn.transport.send_close(WSCloseCode.GOING_AWAY)
                conn.transport.disconnect()
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        if self._rest is not None:
            await self._rest.stop()
        await asyncio.sleep(0)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- used by connections and handlers ------------------------------------------------------

    def _factory(self, request: WSUpgradeRequest) -> Conn | None:
        if request.path.split(b"?", 1)[0] != b"/v2":
            return None  # picows answers 404
        return Conn(self)

    def _auth(self, token: str) -> Account | None:
        tok = self._tokens.get(token)
        if tok is None or tok.dead:
            return None
        if time.monotonic() - tok.minted < self.config.token_ttl:
            return tok.account
        for conn in tok.conns:
            if not conn.closed and conn.account is not None:
                return tok.account
        return None

    def _delay(self) -> float:
        cfg = self.config
        if cfg.latency_jitter:
            return cfg.latency + self.rng.uniform(0.0, cfg.latency_jitter)
        return cfg.latency

    def _connected(self, conn: Conn) -> None:
        self._conns[conn] = None
        if self.config.status_on_connect:
            self._send_status(conn)

    def _disconnected(self, conn: Conn) -> None:
        self._conns.pop(conn, None)
        self._unsubscribe(conn)

    def _send_status(self, conn: Conn) -> None:
        data = StatusData(self.config.version, self.system, "v2", conn.connection_id)
        conn.send(ENCODER.encode(StatusFrame("status", "update", [data])))

    def _subscribe(self, conn: Conn, acct: Account, token: str) -> None:
        conn.account = acct
        conn.token = token
        self._subs.setdefault(acct, {})[conn] = None
        self._tokens[token].conns[conn] = None

    def _unsubscribe(self, conn: Conn) -> None:
        acct, token = conn.account, conn.token
        conn.account = conn.token = None
        if acct is not None:
            self._subs.get(acct, {}).pop(conn, None)
        if token is not None and token in self._tokens:
            self._tokens[token].conns.pop(conn, None)

    def _snapshot_rows(self, acct: Account) -> list[ExecOrder]:
        return [_exec_order(o, "new") for o in acct.open_orders.values()]

    def _arm_cancel_after(self, acct: Account, timeout: int) -> CancelAfterResult:
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

    def _on_exec(self, acct: Account, exec_type: str, orders: list[Order]) -> None:
        if self._batching:
            self._deferred.append((acct, exec_type, orders))
        else:
            self._emit(acct, exec_type, orders)

    def _flush(self) -> None:
        deferred, self._deferred = self._deferred, []
        for acct, exec_type, orders in deferred:
            self._emit(acct, exec_type, orders)

    def _emit(self, acct: Account, exec_type: str, orders: list[Order]) -> None:
        conns = self._subs.get(acct)
        if not conns:
            return
        if exec_type == "canceled":
            ts = clock.text(time.time_ns())
            rows: list[ExecCancel] | list[ExecOrder] = [_exec_cancel(o, ts) for o in orders]
        else:
            rows = [_exec_order(o, exec_type) for o in orders]
        data = msgspec.Raw(ENCODER.encode(rows))
        skip, self._skip_sequence = self._skip_sequence, 0
        for conn in conns:
            if not conn.closed:
                conn.seq += 1
                if skip:
                    conn.seq += 1 if skip == 1 else 0
                    if skip == 2:  # the update is lost: its number is used, nothing is sent
                        continue
                conn.send(ENCODER.encode(ExecFrame("executions", "update", data, conn.seq)))

    def _beat(self) -> None:
        for conns in self._subs.values():
            for conn in conns:
                if not self.blackhole:
                    conn.send(_HEARTBEAT)
        loop = asyncio.get_running_loop()
        self._heartbeat = loop.call_later(self.config.heartbeat_interval, self._beat)


def _exec_order(order: Order, exec_type: str) -> ExecOrder:
    row = ExecOrder(
        order_id=order.order_id,
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        order_qty=order.order_qty,
        limit_price=order.limit_price,
        order_status=_STATUS.get(exec_type, exec_type),
        exec_type=exec_type,
        timestamp=order.timestamp,
        order_userref=order.order_userref,
        cum_qty=order.order_qty if exec_type == "filled" else ZERO,
        time_in_force=order.time_in_force,
        post_only=order.post_only,
    )
    if order.cl_ord_id is not None:
        row.cl_ord_id = order.cl_ord_id
    return row


def _exec_cancel(order: Order, ts: str) -> ExecCancel:
    row = ExecCancel(
        timestamp=ts,
        order_status="canceled",
        exec_type="canceled",
        cum_qty=ZERO,
        cum_cost=ZERO,
        fee_usd_equiv=ZERO,
        avg_price=ZERO,
        order_userref=order.order_userref,
        cancel_reason="User requested",
        reason="User requested",
        order_id=order.order_id,
    )
    if order.cl_ord_id is not None:
        row.cl_ord_id = order.cl_ord_id
    return row


class _LiveKeys(Mapping[str, str]):
    """The simulator's API keys as a live read-only mapping for the REST endpoint."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    def __getitem__(self, key: str) -> str:
        return self._sim._by_key[key].api_secret

    def __iter__(self) -> Iterator[str]:
        return iter(self._sim._by_key)

    def __len__(self) -> int:
        return len(self._sim._by_key)
