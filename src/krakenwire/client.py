"""The public client: every trading call, on top of :class:`Connection`'s transport.

A request's path is validate -> pre-send check -> encode -> send -> receive -> decode ->
resolve, with no logging or dict building on it; see ``_connection.py`` for the transport and
lifecycle and ``_protocol.py`` for the sans-IO core.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from ._auth import Credentials
from ._confirm import CancelTracker
from ._connection import (
    DEFAULT_TIMEOUT,
    ClientStats,
    ConnectBudget,
    StateChange,
    check_url,
)
from ._entry import OrderEntry
from ._keeper import CancelAfterKeeper
from ._protocol import ChannelMessage, Pending, chunk
from ._results import (
    BatchCancelResult,
    CancelAfterResult,
    CancelAllResult,
    CancelOrderResult,
    CancelOrdersResult,
    ChunkOutcome,
    PongResult,
    Reconciliation,
)
from ._validate import check_order_ids, chunk_sizes
from .errors import KrakenwireError, RequestTimeout, ValidationError
from .plugins import PluginHost

__all__ = [
    "DEFAULT_TIMEOUT",
    "Client",
    "ClientStats",
    "ConnectBudget",
    "StateChange",
    "check_url",
    "connect",
]

log = logging.getLogger("krakenwire")


class Client(OrderEntry):
    """An authenticated Kraken WebSocket v2 trading connection. Create it with :func:`connect`.

    Every call takes ``timeout=`` (seconds, default :data:`DEFAULT_TIMEOUT`). A call raises
    :class:`ValidationError` before sending on bad input, :class:`RiskRejected` when a plugin
    vetoes it (nothing sent), :class:`KrakenAPIError` when Kraken answers ``success: false``,
    and :class:`RequestTimeout` / :class:`ConnectionLost` when the outcome is unknown.
    ``client.open_orders`` is the live view kept from the executions stream.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keepers: set[CancelAfterKeeper] = set()

    # ---- public calls ---------------------------------------------------------------------

    async def batch_cancel(
        self,
        orders: Iterable[str | int],
        cl_ord_id: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
        confirm: float | bool = False,
        unified: bool = False,
    ) -> BatchCancelResult:
        """Cancel 2..50 orders in ONE wire request.

        Args:
            orders: Kraken order ids or ``order_userref`` numbers (an int is sent as its string).
            cl_ord_id: client order ids; counted with ``orders`` toward the 2..50 limit.
            timeout: seconds to wait for the reply.
            confirm: also wait (``True``: up to ``timeout``; a number: that many seconds) for
                the executions stream to confirm each id; ``result.confirmation`` then says
                per id ``"cancelled"``, ``"not_open"`` or ``"unknown"``. Ids are resolved
                through ``open_orders`` before sending (order ids, userrefs, cl_ord_ids).
            unified: send the unified-WS variant (``asset_class: "spot"``; order ids and
                cl_ord_ids only, 2..50 in total).

        Returns:
            :class:`BatchCancelResult`; ``count`` is Kraken's number cancelled (not per id).

        Raises:
            ValidationError: bad ids or count (nothing sent). KrakenAPIError: Kraken refused.
            RequestTimeout, ConnectionLost: outcome unknown.
        """
        if confirm or unified:  # one branch: the plain path below pays nothing more
            return await self._batch_cancel_ext(orders, cl_ord_id, timeout, confirm, unified)
        p, data = self._session.batch_cancel(orders, cl_ord_id)
        result: BatchCancelResult = await self._send(p, data, timeout)
        return result

    async def _batch_cancel_ext(
        self,
        orders: Iterable[str | int],
        cl_ord_id: Iterable[str] | None,
        timeout: float | None,
        confirm: float | bool,
        unified: bool,
    ) -> BatchCancelResult:
        if confirm:
            await self._view_ready(timeout)
        p, data = self._session.batch_cancel(orders, cl_ord_id, unified=unified)
        if not confirm:
            plain: BatchCancelResult = await self._send(p, data, timeout)
            return plain
        tracker = CancelTracker(self.open_orders, p.ids, p.cl_ord_id)
        result: BatchCancelResult = await self._tracked(tracker, p, data, timeout)
        result.confirmation = await tracker.wait(self._confirm_secs(confirm, timeout))
        return result

    async def _view_ready(self, timeout: float | None) -> None:
        """Confirmation resolves ids through the view: make sure its snapshot is in."""
        view = self.open_orders
        if not view.ready.is_set():
            secs = self.timeout if timeout is None else timeout
            try:
                await asyncio.wait_for(view.ready.wait(), secs)
            except TimeoutError:
                raise RequestTimeout(
                    f"no executions snapshot within {secs} s: cannot confirm per id",
                    timeout=secs,
                ) from None

    def _confirm_secs(self, confirm: float | bool, timeout: float | None) -> float:
        if confirm is True:
            return self.timeout if timeout is None else timeout
        return float(confirm)

    async def _tracked(
        self, tracker: CancelTracker, p: Pending, data: bytes, timeout: float | None
    ) -> Any:
        try:
            return await self._send(p, data, timeout)
        except BaseException:
            tracker.abandon()
            raise

    async def cancel_order(
        self,
        order_id: Iterable[str] | None = None,
        *,
        cl_ord_id: Iterable[str] | None = None,
        order_userref: Iterable[int] | None = None,
        timeout: float | None = None,
        confirm: float | bool = False,
    ) -> CancelOrderResult:
        """Cancel orders named by one kind of id; collects Kraken's one-reply-per-order answers.

        Per-order failures (``EOrder:Invalid order``) are in ``result.replies`` (``ok`` False);
        a request-level error (bad arguments, bad token) raises :class:`KrakenAPIError`.
        ``confirm`` as for :meth:`batch_cancel`.
        """
        if confirm:
            await self._view_ready(timeout)
        p, data = self._session.cancel_order(order_id, cl_ord_id, order_userref)
        if not confirm:
            result: CancelOrderResult = await self._send(p, data, timeout)
            return result
        if order_userref is not None:
            tracker = CancelTracker(self.open_orders, userrefs=[int(i) for i in p.ids])
        elif cl_ord_id is not None:
            tracker = CancelTracker(self.open_orders, cl_ord_id=p.ids)
        else:
            tracker = CancelTracker(self.open_orders, p.ids)
        res: CancelOrderResult = await self._tracked(tracker, p, data, timeout)
        res.requested = list(p.ids)
        res.confirmation = await tracker.wait(self._confirm_secs(confirm, timeout))
        return res

    async def cancel_orders(
        self,
        ids: Iterable[str | int],
        *,
        timeout: float | None = None,
        confirm: float | bool = False,
    ) -> CancelOrdersResult:
        """Cancel any number of orders: ceil(n/50) batch_cancels, all written before any wait.

        Chunks are balanced so none holds a single id (51 -> 26 + 25); one id goes through
        ``cancel_order``. Never raises for a chunk's failure: each chunk's result or error
        (rejected, or unknown after a timeout / lost connection) is in the aggregate.

        With ``confirm`` (as for :meth:`batch_cancel`) ``result.confirmation`` covers every id;
        ids of a chunk Kraken rejected are ``"rejected"`` there (still open, not waited for).

        Raises:
            ValidationError: no ids, a bad id or a duplicate anywhere (nothing sent).
        """
        if confirm:
            await self._view_ready(timeout)
        all_ids = check_order_ids(ids)
        n = len(all_ids)
        if n == 0:
            raise ValidationError("cancel_orders needs at least one id", field="ids", value=0)
        s = self._session
        tracker = CancelTracker(self.open_orders, all_ids) if confirm else None
        # Every id was checked above (types, duplicates) and chunk sizes are 2..50.
        parts = [all_ids] if n == 1 else chunk(all_ids, chunk_sizes(n))
        build = s.cancel_order if n == 1 else s.batch_cancel_checked
        built: list[tuple[Pending, bytes]] = []
        futs: list[asyncio.Future[Any]] = []
        unsent: KrakenwireError | None = None
        check = self.plugins.check
        try:
            if check is None:
                # Write each chunk as soon as it is built: the first cancel leaves after one
                # chunk's build, not after all of them.
                for part in parts:
                    p, data = build(part)
                    built.append((p, data))
                    futs.append(self._write(p, data, timeout))
            else:
                built = [build(part) for part in parts]
                for p, _ in built:  # every chunk passes the risk check before any is sent
                    self._check(check, p)
                futs = [self._write(p, data, timeout) for p, data in built]
        except KrakenwireError as exc:
            for q, _ in built[len(futs) :]:  # registered but not sent
                s.forget(q.req_id)
            if not futs:
                if tracker is not None:
                    tracker.abandon()
                raise  # nothing was sent (a veto, no connection): the caller's error
            unsent = exc  # some chunks are on the wire: report the rest as not sent
        except BaseException:
            for q, _ in built[len(futs) :]:
                s.forget(q.req_id)
            if tracker is not None and not futs:
                tracker.abandon()
            raise
        outcomes = await asyncio.gather(*futs, return_exceptions=True)
        chunks = []
        for (p, _), out in zip(built, outcomes, strict=False):
            if isinstance(out, KrakenwireError):
                chunks.append(ChunkOutcome(p.ids, None, out))
            elif isinstance(out, BaseException):
                raise out
            else:
                chunks.append(ChunkOutcome(p.ids, out, None))
        if unsent is not None:
            chunks.extend(ChunkOutcome(list(part), None, unsent) for part in parts[len(futs) :])
        result = CancelOrdersResult(chunks)
        if tracker is not None:
            rejected = [i for c in chunks if c.outcome == "rejected" for i in c.ids]
            secs = self._confirm_secs(confirm, timeout)
            result.confirmation = await tracker.wait(secs, rejected=rejected)
        return result

    async def cancel_all(self, *, timeout: float | None = None) -> CancelAllResult:
        """Cancel every open order of the account."""
        p, data = self._session.cancel_all()
        result: CancelAllResult = await self._send(p, data, timeout)
        return result

    async def cancel_after(
        self, timeout_s: int, *, timeout: float | None = None
    ) -> CancelAfterResult:
        """Arm (or with 0 disarm) Kraken's dead man's switch: cancel all in ``timeout_s`` s."""
        p, data = self._session.cancel_after(timeout_s)
        result: CancelAfterResult = await self._send(p, data, timeout)
        return result

    def keep_cancel_after(
        self,
        timeout: int,
        every: float,
        *,
        on_failure: Callable[[KrakenwireError], Any] | None = None,
    ) -> CancelAfterKeeper:
        """Keep Kraken's dead man's switch armed: ``cancel_all_orders_after(timeout)`` now and
        every ``every`` seconds, in a background task, until ``await keeper.stop()`` or
        :meth:`close` (both disarm with timeout 0). A failed re-arm is logged, counted, sent to
        the plugins' connection events as ``"cancel_after_failed"`` and to ``on_failure``;
        after a disconnect the keeper re-arms as soon as the connection is back.

        Args:
            timeout: the switch's seconds, 1..86399 (Kraken suggests 60).
            every: seconds between re-arms, < ``timeout`` (Kraken suggests 15-30).

        Raises:
            ValidationError: bad ``timeout`` or ``every``.
        """
        keeper = CancelAfterKeeper(self, timeout, every, on_failure)
        keeper.start()
        self._keepers.add(keeper)
        return keeper

    async def close(self) -> None:
        """Stop and disarm every dead man's switch keeper, then close for good."""
        for keeper in list(self._keepers):
            try:
                await asyncio.wait_for(keeper.stop(disarm=True), self.timeout)
            except (KrakenwireError, TimeoutError) as exc:
                log.warning("krakenwire %s: disarming cancel_after on close: %s", self.url, exc)
        await super().close()

    async def ping(self, *, timeout: float | None = None) -> PongResult:
        """Application-level ping; returns the pong with its round trip in ``latency_ns``."""
        p, data = self._session.ping()
        result: PongResult = await self._send(p, data, timeout)
        return result

    async def reconcile(
        self, ids: Iterable[str | int], *, recancel: bool = False, timeout: float | None = None
    ) -> Reconciliation:
        """Learn the fate of ids whose cancel ended unknown (``ConnectionLost.ids``,
        ``RequestTimeout.ids``), from the executions snapshot of the current connection.

        Waits for the connection (and its snapshot) if it is being re-established.

        Args:
            ids: order ids, ``order_userref`` numbers or cl_ord_ids.
            recancel: cancel the ones still open (through :meth:`cancel_orders`; cl_ord_ids
                are cancelled by their order id).

        Returns:
            :class:`Reconciliation` with ``gone`` (not open: cancelled, filled or expired;
            ``statuses`` says which when the stream told us), ``open`` and ``recancelled``.
        """
        secs = self.timeout if timeout is None else timeout
        await self.wait_connected(secs)
        await asyncio.wait_for(self.open_orders.ready.wait(), secs)
        view = self.open_orders
        names = [str(i) for i in ids]
        still: list[str] = []
        gone: list[str] = []
        targets: list[str] = []
        for ident in names:
            found = view.resolve(ident)
            if found:
                still.append(ident)
                targets.extend(o for o in found if o not in targets)
            else:
                gone.append(ident)
        statuses = {i: st for i in gone if (st := view.closed_status(i)) is not None}
        again = await self.cancel_orders(targets, timeout=timeout) if recancel and targets else None
        return Reconciliation(gone=gone, open=still, statuses=statuses, recancelled=again)


async def connect(
    url: str,
    *,
    token: str | None = None,
    credentials: Credentials | None = None,
    rest_url: str = "https://api.kraken.com",
    timeout: float = DEFAULT_TIMEOUT,
    subscribe: bool = True,
    on_executions: Callable[[ChannelMessage], None] | None = None,
    plugins: Iterable[object] = (),
    autoload_plugins: bool | None = None,
    reconnect: bool = True,
    on_state: Callable[[StateChange], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    **options: Any,
) -> Client:
    """Open an authenticated trading connection, subscribed to ``executions``.

    Args:
        url: ``wss://ws-auth.kraken.com/v2``, or ``ws://127.0.0.1:PORT/v2`` for the simulator
            (plain ``ws://`` is refused for any other host).
        token: a WebSocket token; or give ``credentials``.
        credentials: API key and secret: a fresh token is fetched over REST from ``rest_url``
            for every connection, and again if Kraken invalidates it mid-session (the rejected
            request is then re-sent once).
        rest_url: Kraken's REST base URL (``sim.rest_url`` for the simulator).
        timeout: default per-call timeout in seconds (also the handshake timeout).
        subscribe: subscribe to ``executions`` (Kraken closes an auth socket with none).
        plugins: plugin objects registered before the ``krakenwire`` entry points.
        autoload_plugins: load entry points (default: unless
            ``KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD=1``; ``KRAKENWIRE_PLUGINS`` is an allow-list).
        reconnect: re-establish the connection after an unexpected drop.
        on_state: called with every :class:`StateChange`.
        ssl_context: for ``wss://``; the default verifies certificates.
        options: ``liveness_timeout``, ``ping_timeout``, ``keepalive_interval``,
            ``backoff_base``, ``backoff_cap``, ``connect_budget`` (see :class:`Connection`).

    Raises:
        ValidationError: neither token nor credentials, or a URL that would send the token in
            plain text. ConnectError: the server cannot be reached. AuthError: the token (or
            the token fetch) was refused; ``.error`` is Kraken's string.
    """
    check_url(url)
    if not token and credentials is None:
        raise ValidationError(
            "connect needs token= (a WebSocket token string) or credentials=",
            field="token",
            value=None,
        )
    if token is not None and not isinstance(token, str):
        raise ValidationError("token must be a str", field="token", value=None)
    host = PluginHost(plugins, autoload=autoload_plugins)
    client = Client(
        url,
        token,
        credentials=credentials,
        rest_url=rest_url,
        timeout=timeout,
        on_executions=on_executions,
        plugins=host,
        reconnect=reconnect,
        on_state=on_state,
        ssl_context=ssl_context,
        **options,
    )
    await client._open(subscribe=subscribe)
    return client
