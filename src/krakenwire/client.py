"""The public client: every trading call of :class:`Client` (made by :func:`krakenwire.connect`).

A ``Client`` is composed, not inherited: a frozen :class:`ClientConfig`, a sans-IO
:class:`~krakenwire.protocol.Session` that decides every request's fate, a ``Link`` that moves
bytes and wakes futures, and a ``Lifecycle`` that keeps the socket connected. A request's path is
validate -> pre-send check -> encode -> send -> receive -> decode -> resolve, with no logging or
dict building on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Self

from . import _build, _callbacks, _entry
from ._auth import Credentials, TokenFetcher
from ._cancels import cancel_many, confirm_call, reconcile
from ._config import ClientConfig, ClientStats, ReconnectPolicy, StateChange
from ._events import ChannelFrame
from ._keeper import CancelAfterKeeper
from ._lifecycle import Lifecycle
from ._link import Link
from ._openorders import OpenOrders
from ._orders import order as _order
from ._protocol import Session
from ._results import (
    BatchCancelResult,
    CancelAfterResult,
    CancelAllResult,
    CancelOrderResult,
    CancelOrdersResult,
    PongResult,
    Reconciliation,
)
from ._validate import check_timeout
from ._views import PluginContext
from .errors import KrakenwireError, ValidationError
from .plugins import PluginHost

__all__ = ["Client"]

log = logging.getLogger("krakenwire")


class Client:
    """An authenticated Kraken WebSocket v2 trading connection. Create it with :func:`connect`.

    Every call takes ``timeout=`` (seconds, default the ``timeout`` given to :func:`connect`). A
    call raises a :class:`~krakenwire.NotExecuted` error when nothing ran (``ValidationError``
    before sending, ``RiskRejected`` when a plugin vetoes it, ``KrakenAPIError`` when Kraken
    answers ``success: false``, ``NotConnected`` while reconnecting) and an
    :class:`~krakenwire.OutcomeUnknown` error when it may or may not have run
    (``RequestTimeout``, ``ConnectionLost``, ``RemoteProtocolError``).
    """

    # A validated order for :meth:`batch_add` (a dict of the same fields works too).
    order = staticmethod(_order)

    def __init__(
        self,
        config: ClientConfig,
        *,
        token: str | None,
        credentials: Credentials | None,
        plugins: PluginHost,
        policy: ReconnectPolicy,
        on_state: Callable[[StateChange], None] | None,
        on_executions: Callable[[ChannelFrame], None] | None,
    ) -> None:
        self._config = config
        self._timeout = config.timeout
        self._session = session = Session(token or "")
        self._stats = ClientStats(session)
        self._orders = OpenOrders()
        session.hold_stale = credentials is not None
        self._plugins = plugins
        fetcher = (
            TokenFetcher(credentials, config.rest_url, timeout=config.timeout)
            if credentials is not None
            else None
        )
        context = PluginContext(
            config.url, self._state, self._system, self._orders, session.__len__
        )
        self._link = link = Link(session, plugins, self._stats, context)
        self._life = Lifecycle(
            config,
            session,
            link,
            plugins,
            self._stats,
            self._orders,
            policy,
            fetcher,
            on_state,
            on_executions,
        )
        link.on_channel, link.on_stale = self._life.on_channel, self._life.on_stale
        link.on_lost = self._life.on_lost
        plugins.on_resolve = self._sync_plugins
        plugins.bind(context)
        self._keepers: set[CancelAfterKeeper] = set()

    def _state(self) -> str:
        return self._life.state

    def _system(self) -> str:
        return self._life.system

    def _sync_plugins(self) -> None:
        p = self._plugins
        self._session.check = p.check
        self._session.views = p.wants_views

    def __repr__(self) -> str:
        return f"<krakenwire.Client {self.url} {self.state} pending={len(self._session)}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- read-only state ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._config.url

    @property
    def config(self) -> ClientConfig:
        """The frozen configuration this client was connected with."""
        return self._config

    @property
    def timeout(self) -> float:
        """The default per-call timeout in seconds."""
        return self._timeout

    @property
    def state(self) -> str:
        """``connecting``, ``connected``, ``disconnected``, ``reconnecting`` or ``closed``."""
        return self._life.state

    @property
    def status(self) -> str:
        """Kraken's last ``status``: ``online``, ``cancel_only``, ``post_only``, ``maintenance``."""
        return self._life.system

    @property
    def stats(self) -> ClientStats:
        """Counters: unmatched and malformed frames, failing callbacks, reconnects..."""
        return self._stats

    @property
    def open_orders(self) -> OpenOrders:
        """The live view of open orders, kept from the executions stream."""
        return self._orders

    @property
    def pending(self) -> int:
        """Requests sent and not yet settled."""
        return len(self._session)

    @property
    def is_open(self) -> bool:
        return self._link.is_open

    @property
    def plugins(self) -> PluginHost:
        """This client's plugin host (``plugins.pm`` is its pluggy manager)."""
        return self._plugins

    def _secs(self, timeout: float | None) -> float:
        return self._timeout if timeout is None else check_timeout(timeout)

    # ---- cancels --------------------------------------------------------------------------

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
            timeout: seconds to wait for the reply (finite, > 0).
            confirm: also wait (``True``: up to ``timeout``; a number: that many seconds) for
                the executions stream to confirm each id; ``result.confirmation`` then says
                per id ``"cancelled"``, ``"not_open"`` or ``"unknown"``.
            unified: send the unified-WS variant (``asset_class: "spot"``; no userrefs).

        Returns:
            :class:`BatchCancelResult`; ``count`` is Kraken's number cancelled (not per id).

        Raises:
            ValidationError: bad ids, count, timeout or confirm (nothing sent).
            KrakenAPIError: Kraken refused. RequestTimeout, ConnectionLost: outcome unknown.
        """
        if confirm is not False or unified is not False:
            return await self._batch_cancel_ext(orders, cl_ord_id, timeout, confirm, unified)
        secs = self._timeout if timeout is None else check_timeout(timeout)
        result: BatchCancelResult = await self._link.call(
            _build.batch_cancel(orders, cl_ord_id), secs
        )
        return result

    async def _batch_cancel_ext(
        self,
        orders: Iterable[str | int],
        cl_ord_id: Iterable[str] | None,
        timeout: float | None,
        confirm: Any,
        unified: Any,
    ) -> BatchCancelResult:
        if type(unified) is not bool:
            raise ValidationError(f"unified must be a bool, got {unified!r}", field="unified")
        secs = self._secs(timeout)
        call = _build.batch_cancel(orders, cl_ord_id, unified=unified)
        if confirm is False:
            plain: BatchCancelResult = await self._link.call(call, secs)
            return plain
        result: BatchCancelResult = await confirm_call(self, call, secs, confirm)
        return result

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

        Per-order failures (``EOrder:Invalid order``) are in ``result.replies`` (``ok`` False),
        and so is any error that follows a per-order reply; a request-level error as the first
        reply raises :class:`KrakenAPIError`. An ``order_userref`` expects one reply per open
        order it names in ``open_orders`` (at least one). A reply that repeats an order never
        counts twice: an order left unanswered makes the outcome unknown (``RequestTimeout``
        with the replies that came). ``confirm`` as for :meth:`batch_cancel`.
        """
        secs = self._secs(timeout)
        view = self._orders
        matched = (lambda ref: len(view.by_userref(ref))) if view.ready.is_set() else None
        call = _build.cancel_order(order_id, cl_ord_id, order_userref, matched=matched)
        if confirm is False:
            result: CancelOrderResult = await self._link.call(call, secs)
            return result
        res: CancelOrderResult = await confirm_call(self, call, secs, confirm)
        res.requested = list(call.all_ids)
        return res

    async def cancel_orders(
        self,
        ids: Iterable[str | int] = (),
        *,
        cl_ord_id: Iterable[str] | None = None,
        timeout: float | None = None,
        confirm: float | bool = False,
    ) -> CancelOrdersResult:
        """Cancel any number of orders, named by order id / ``order_userref`` (``ids``) and by
        ``cl_ord_id``, mixed: the fewest batch_cancels of 2..50 identifiers in all, every
        frame written before any wait.

        Chunks are balanced so none holds a single id (51 -> 26 + 25); one identifier goes
        through ``cancel_order``. Never raises for a chunk's failure: each chunk's result or
        error (rejected, or unknown after a timeout / lost connection) is in the aggregate.
        With ``confirm`` ``result.confirmation`` covers every id; ids of a chunk Kraken
        rejected are ``"rejected"`` there.

        Raises:
            ValidationError: no ids, a bad id or a duplicate anywhere (nothing sent).
        """
        return await cancel_many(self, ids, cl_ord_id, self._secs(timeout), confirm)

    async def cancel_all(self, *, timeout: float | None = None) -> CancelAllResult:
        """Cancel every open order of the account (untriggered ones included)."""
        result: CancelAllResult = await self._link.call(_build.cancel_all(), self._secs(timeout))
        return result

    async def cancel_after(
        self, timeout_s: int, *, timeout: float | None = None
    ) -> CancelAfterResult:
        """Arm (or with 0 disarm) Kraken's dead man's switch: cancel all in ``timeout_s`` s."""
        call = _build.cancel_after(timeout_s)
        result: CancelAfterResult = await self._link.call(call, self._secs(timeout))
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

        Raises:
            ValidationError: bad ``timeout`` (1..86399) or ``every`` (> 0, < timeout).
        """
        keeper = CancelAfterKeeper(
            self,
            timeout,
            every,
            on_failure,
            events=self._plugins.event,
            forget=self._keepers.discard,
        )
        keeper.start()
        self._keepers.add(keeper)
        return keeper

    async def ping(self, *, timeout: float | None = None) -> PongResult:
        """Application-level ping; returns the pong with its round trip in ``latency_ns``."""
        result: PongResult = await self._link.call(_build.ping(), self._secs(timeout))
        return result

    async def reconcile(
        self, ids: Iterable[str | int], *, recancel: bool = False, timeout: float | None = None
    ) -> Reconciliation:
        """Learn the fate of ids whose cancel ended unknown (``exc.ids`` of an
        :class:`~krakenwire.OutcomeUnknown`) from the current connection's executions snapshot;
        waits for the connection (and its snapshot) if it is being re-established.

        Args:
            ids: order ids, ``order_userref`` numbers or cl_ord_ids (a list, never one str).
            recancel: cancel the ones still open (through :meth:`cancel_orders`).

        Raises:
            ValidationError: bad ids or arguments (nothing sent).
        """
        return await reconcile(self, ids, recancel, self._secs(timeout))

    async def subscribe_executions(
        self,
        *,
        snap_orders: bool = True,
        snap_trades: bool = False,
        order_status: bool = True,
        ratecounter: bool = False,
        unsubscribe: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """(Un)subscribe ``executions`` (done by ``connect``; Kraken closes an auth socket with
        no subscription)."""
        call = _build.subscribe_executions(
            snap_orders=snap_orders,
            snap_trades=snap_trades,
            order_status=order_status,
            ratecounter=ratecounter,
            unsubscribe=unsubscribe,
        )
        return await self._link.call(call, self._secs(timeout))

    # ---- the zero-hop callback forms (_callbacks.py), order entry (_entry.py) -------------
    batch_cancel_cb = _callbacks.batch_cancel_cb
    cancel_orders_cb = _callbacks.cancel_orders_cb
    add_order = _entry.add_order
    batch_add = _entry.batch_add
    amend_order = _entry.amend_order
    edit_order = _entry.edit_order

    # ---- lifecycle ------------------------------------------------------------------------

    def state_changes(self) -> AsyncIterator[StateChange]:
        """Iterate over state changes from now on, until the connection is closed for good."""
        return self._life.changes()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until connected (again). Raises ConnectionClosed if closed for good."""
        await self._life.wait_connected(timeout)

    async def wait_closed(self) -> None:
        """Wait until the connection is closed for good."""
        await self._life.closed.wait()

    async def close(self) -> None:
        """Disarm every dead man's switch keeper, then close for good (requests still in
        flight fail with ``ConnectionLost``)."""
        for keeper in list(self._keepers):
            try:
                await asyncio.wait_for(keeper.stop(disarm=True), self._timeout)
            except (KrakenwireError, TimeoutError) as exc:
                log.warning("krakenwire %s: disarming cancel_after on close: %s", self.url, exc)
        await self._life.close()
