"""The public client: every call of `Client` (made by `krakenwire.connect`).

A ``Client`` is composed: a frozen `ClientConfig`, the `Connections` (one socket,
or two with a warm standby, around the sans-IO router that decides every request's fate) and
the open-order view. A request's path is validate -> pre-send check -> encode -> send ->
receive -> decode -> resolve, with no logging or dict building on it. Every public signature is
defined here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Self, overload

from . import _bysymbol
from ._auth import Credentials
from ._balances import Balances
from ._callbacks import Callback
from ._cancels import cancel_many, confirm_call, plan
from ._cancels import reconcile as _reconcile
from ._config import ClientConfig, ClientStats, ReconnectPolicy, StateChange
from ._connections import Connections
from ._keeper import CancelAfterKeeper
from ._messages import BatchOrder, Conditional, Triggers
from ._openorders import OpenOrders
from ._orders import (
    ConditionalSpec,
    FeePreference,
    Number,
    OrderType,
    PriceType,
    Side,
    StpType,
    TimeInForce,
    TriggerSpec,
)
from ._orders import order as _order
from ._pacer import Pacer
from ._results import (
    AddOrderResult,
    AmendOrderResult,
    BatchAddResult,
    BatchCancelResult,
    CancelAfterResult,
    CancelAllResult,
    CancelOrderResult,
    CancelOrdersResult,
    EditOrderResult,
    PongResult,
    Reconciliation,
)
from ._validate import check_flag as _flag
from ._validate import check_on_done as _on_done
from ._validate import check_timeout, given_fields
from ._views import PluginContext
from .errors import KrakenwireError
from .methods import cancels, entry, housekeeping
from .plugins import PluginHost
from .protocol._events import ChannelFrame

__all__ = ["Client"]

log = logging.getLogger("krakenwire")


class Client:
    """An authenticated Kraken WebSocket v2 trading connection. Create it with
    [`connect`][krakenwire.connect].

    Every call takes ``timeout=`` (seconds, default the ``timeout`` given to
    [`connect`][krakenwire.connect]). A call raises a [`NotExecuted`][krakenwire.NotExecuted] error
    when nothing ran (``ValidationError`` before sending, ``RiskRejected`` when a plugin vetoes it,
    ``KrakenAPIError`` when Kraken answers ``success: false``, ``NotConnected`` while reconnecting)
    and an [`OutcomeUnknown`][krakenwire.OutcomeUnknown] error when it may or may not have run
    (``RequestTimeout``, ``ConnectionLost``, ``RemoteProtocolError``).
    """

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
        standby: bool = False,
        hedge: bool = False,
    ) -> None:
        self._config = config
        self._timeout = config.timeout
        self._orders = OpenOrders()
        self._plugins = plugins
        self._hedge = hedge
        self._stats = ClientStats([])
        context = PluginContext(
            config.url, lambda: self.state, lambda: self.status, self._orders, lambda: self.pending
        )
        self._conns = Connections(
            config, token, credentials, plugins, self._stats, self._orders, policy, context,
            on_state, on_executions, standby,
        )  # fmt: skip
        self._conns.router.userrefs = self._orders.userref_ids
        self._conns.router.closed = self._orders.closed_status
        self._balances = Balances()
        for life in self._conns.lives:
            life.balances = self._balances if config.balances else None
        plugins.on_resolve = self._sync_plugins
        plugins.bind(context)
        self._keepers: set[CancelAfterKeeper] = set()

    async def _open(self) -> None:
        """Connect every socket (the first attempt is not retried); any failure closes all."""
        try:
            for life in self._conns.lives:
                await life.open()
        except BaseException:
            await self.close()
            raise

    def _sync_plugins(self) -> None:
        router, p = self._conns.router, self._plugins
        router.check, router.views = p.check, p.wants_views

    def _secs(self, timeout: float | None) -> float:
        return self._timeout if timeout is None else check_timeout(timeout)

    def _hedged(self, hedge: Any) -> bool:
        _flag("hedge", hedge)
        return self._hedge if hedge is None else bool(hedge)

    def __repr__(self) -> str:
        return f"<krakenwire.Client {self.url} {self.state} pending={self.pending}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- read-only state ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The WebSocket URL this client connects to."""
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
        return self._conns.life.state

    @property
    def status(self) -> str:
        """Kraken's last ``status``: ``online``, ``cancel_only``, ``post_only``, ``maintenance``."""
        return self._conns.life.system

    @property
    def stats(self) -> ClientStats:
        """Counters: unmatched and malformed frames, failing callbacks, reconnects..."""
        return self._stats

    @property
    def open_orders(self) -> OpenOrders:
        """The live view of open orders, kept from the executions stream."""
        return self._orders

    @property
    def balances(self) -> Balances:
        """The live balances view (asset -> ``Decimal``), kept from the ``balances`` channel;
        empty unless `connect` was given ``balances=True``."""
        return self._balances

    @property
    def pending(self) -> int:
        """Request copies sent and not yet settled (on both sockets with a standby)."""
        return len(self._conns.router)

    @property
    def connection_ids(self) -> dict[str, int | None]:
        """Kraken's ``connection_id`` of each socket (from its ``status`` frame), by role."""
        return {life.role: life.connection_id for life in self._conns.lives}

    @property
    def is_open(self) -> bool:
        """Whether the primary socket is open now (requests can be sent)."""
        return self._conns.link.is_open

    @property
    def plugins(self) -> PluginHost:
        """This client's plugin host (``plugins.pm`` is its pluggy manager)."""
        return self._plugins

    # ---- cancels --------------------------------------------------------------------------

    async def batch_cancel(
        self,
        orders: Iterable[str | int],
        cl_ord_id: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
        confirm: float | bool = False,
        unified: bool = False,
        hedge: bool | None = None,
        allow_userref_zero: bool = False,
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
            hedge: send it on both sockets at once (``connect(standby=True)``). A reply
                settles it early only when it proves the whole outcome (``count`` equal to the
                ids named); otherwise both replies are merged (counts add up).
                ``None``: as ``connect(hedge=...)`` said.
            allow_userref_zero: send the ``order_userref`` 0, refused by default: it is the
                userref of every order placed without one.

        Returns:
            [`BatchCancelResult`][krakenwire.BatchCancelResult]; ``count`` is Kraken's number
            cancelled (not per id). Errors as the class says (``ValidationError``: nothing
            sent; ``KrakenAPIError``: refused; ``RequestTimeout``/``ConnectionLost``: unknown).
        """
        if confirm is not False or unified is not False or hedge is not None or self._hedge:
            _flag("unified", unified, none_ok=False)
            secs = self._secs(timeout)
            call = cancels.batch_cancel(
                orders, cl_ord_id, unified=unified, allow_userref_zero=allow_userref_zero
            )
            res: BatchCancelResult = await self._cancel(call, secs, confirm, hedge)
            return res
        conns = self._conns
        rid, fut = conns.start(
            cancels.batch_cancel(orders, cl_ord_id, allow_userref_zero=allow_userref_zero),
            self._timeout if timeout is None else check_timeout(timeout),
        )
        try:  # Connections.call inlined: one coroutine less on the hottest path
            result: BatchCancelResult = await fut
        except asyncio.CancelledError:
            conns.abandon(rid)
            raise
        return result

    async def cancel_order(
        self,
        order_id: Iterable[str] | None = None,
        *,
        cl_ord_id: Iterable[str] | None = None,
        order_userref: Iterable[int] | None = None,
        timeout: float | None = None,
        confirm: float | bool = False,
        hedge: bool | None = None,
        allow_userref_zero: bool = False,
    ) -> CancelOrderResult:
        """Cancel orders named by one kind of id; collects Kraken's one-reply-per-order answers.

        Per-order failures (``EOrder:Invalid order``) are in ``result.replies`` (``ok`` False);
        a request-level error as the first reply raises ``KrakenAPIError``. A repeated reply
        never counts twice; an order left unanswered makes the outcome unknown.

        An ``order_userref`` may name several orders, and Kraken does not say how many: the
        request is complete when every order the executions view holds for it is answered or
        closed and the stream has caught up (it showed a close since the send); an order the
        stream shows cancelled but whose reply has not come is reported from the stream.
        Without a view (``subscribe=False``) it ends 20 ms after its last reply with
        ``result.exact`` False ("complete as far as known"). ``confirm``, ``hedge`` and
        ``allow_userref_zero`` as for `batch_cancel`.
        """
        secs = self._secs(timeout)
        call = cancels.cancel_order(
            order_id, cl_ord_id, order_userref, allow_userref_zero=allow_userref_zero
        )
        res: CancelOrderResult = await self._cancel(call, secs, confirm, hedge)
        if confirm is not False:
            res.requested = list(call.all_ids)
        return res

    async def _cancel(self, call: Any, secs: float, confirm: Any, hedge: Any) -> Any:
        hedged = self._hedged(hedge)
        if confirm is False:
            return await self._conns.call(call, secs, hedged)
        return await confirm_call(self._conns, self._orders, call, secs, confirm, hedged)

    async def cancel_orders(
        self,
        ids: Iterable[str | int] = (),
        *,
        cl_ord_id: Iterable[str] | None = None,
        timeout: float | None = None,
        confirm: float | bool = False,
        allow_userref_zero: bool = False,
    ) -> CancelOrdersResult:
        """Cancel any number of orders, named by order id / ``order_userref`` (``ids``) and by
        ``cl_ord_id``, mixed: the fewest batch_cancels of 2..50 identifiers in all, every
        frame written before any wait.

        Chunks are balanced so none holds a single id (51 -> 26 + 25); one identifier goes
        through ``cancel_order``. Each chunk's result or error is in the aggregate (one
        outcome when the last settles); ``ValidationError`` for no ids, a bad id or a
        duplicate (nothing sent). ``confirm`` covers every id (a rejected chunk's are
        ``"rejected"``).
        """
        return await cancel_many(
            self._conns, self._orders, ids, cl_ord_id, self._secs(timeout), confirm,
            allow_userref_zero,
        )  # fmt: skip

    @overload
    @overload
    async def cancel_all(
        self, *, timeout: float | None = None, hedge: bool | None = None
    ) -> CancelAllResult: ...
    @overload
    async def cancel_all(
        self, *, symbol: str | Iterable[str], timeout: float | None = None,
        confirm: float | bool = ...,
    ) -> CancelOrdersResult: ...  # fmt: skip
    async def cancel_all(
        self,
        *,
        timeout: float | None = None,
        hedge: bool | None = None,
        symbol: str | Iterable[str] | None = None,
        confirm: float | bool = False,
    ) -> CancelAllResult | CancelOrdersResult:
        """Cancel every open order of the account (untriggered ones included): Kraken's
        ``cancel_all``, one request. Hedged, the two copies' counts add up (a copy never
        settles it alone: its twin may still cancel an order placed in between).

        With ``symbol`` (a pair, or several): every open order of those pairs in
        ``open_orders``, through [`cancel_orders`][krakenwire.Client.cancel_orders] (chunks of
        up to 50, the same fates; ``confirm`` as there); returns its
        [`CancelOrdersResult`][krakenwire.CancelOrdersResult].
        """
        if symbol is not None:
            return await _bysymbol.cancel_symbol(self, symbol, timeout=timeout, confirm=confirm)
        secs = self._secs(timeout)
        hedged = self._hedged(hedge)
        result: CancelAllResult = await self._conns.call(cancels.cancel_all(), secs, hedged)
        return result

    # ---- the zero-hop callback forms ------------------------------------------------------

    def batch_cancel_cb(
        self,
        orders: Iterable[str | int],
        cl_ord_id: Iterable[str] | None = None,
        *,
        on_done: Callable[[BatchCancelResult | KrakenwireError], Any],
        timeout: float | None = None,
        hedge: bool | None = None,
        allow_userref_zero: bool = False,
    ) -> int:
        """`batch_cancel` delivering its outcome to ``on_done`` inside the frame
        callback that settled it: no Future, no task switch.

        Validation, the risk check, the audit and the outcome guarantees are the awaitable
        form's: bad input, a veto or no connection raise at the call (nothing sent,
        ``on_done`` never called); otherwise ``on_done`` is called exactly once, with the
        result or an error. Keep it short: it runs in the receive path; an exception in it is
        logged and counted in ``stats.callback_errors``. ``hedge`` as for
        `batch_cancel` (``connect(hedge=True)`` applies here too).

        Returns:
            the request's handle (its first ``req_id``).

        Raises:
            ValidationError, RiskRejected, NotConnected: nothing sent; ``on_done`` not called.
        """
        _on_done(on_done)
        secs = self._secs(timeout)
        call = cancels.batch_cancel(orders, cl_ord_id, allow_userref_zero=allow_userref_zero)
        waiter = Callback(on_done, self._stats)
        if self._hedged(hedge):
            return self._conns.start_hedged(call, secs, waiter)[0]
        return self._conns.start(call, secs, waiter)[0]

    def cancel_orders_cb(
        self,
        ids: Iterable[str | int] = (),
        *,
        cl_ord_id: Iterable[str] | None = None,
        on_done: Callable[[CancelOrdersResult], Any],
        timeout: float | None = None,
        allow_userref_zero: bool = False,
    ) -> int:
        """`cancel_orders` delivering one `CancelOrdersResult` to ``on_done``
        when the last chunk settles (inside the frame callback that settled it).

        Returns:
            the handle of the whole request.

        Raises:
            ValidationError, RiskRejected, NotConnected: nothing sent; ``on_done`` not called.
        """
        _on_done(on_done)
        secs = self._secs(timeout)
        parts, calls, _, _ = plan(ids, cl_ord_id, allow_userref_zero)
        return self._conns.start_group(calls, parts, secs, Callback(on_done, self._stats))[0]

    # ---- order entry (never hedged, never re-sent) ----------------------------------------

    # A validated order for `batch_add` (a dict of the same fields works too).
    order = staticmethod(_order)
    _pacer: Pacer | None = None  # connect(pacer=...): paces order entry, never a cancel

    async def _entry(self, call: Any, secs: float) -> Any:
        if self._pacer is not None:
            await self._pacer.pace(call)  # may wait, or refuse with RateLimitPaced (not sent)
        return await self._conns.call(call, secs)

    async def add_order(
        self,
        *,
        symbol: str,
        side: Side,
        order_qty: Number | None = None,
        order_type: OrderType = "limit",
        limit_price: Number | None = None,
        limit_price_type: PriceType | None = None,
        triggers: TriggerSpec | Triggers | None = None,
        time_in_force: TimeInForce | None = None,
        margin: bool | None = None,
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        effective_time: datetime | str | None = None,
        expire_time: datetime | str | None = None,
        cl_ord_id: str | None = None,
        order_userref: int | None = None,
        conditional: ConditionalSpec | Conditional | None = None,
        display_qty: Number | None = None,
        fee_preference: FeePreference | None = None,
        no_mpp: bool | None = None,
        stp_type: StpType | None = None,
        cash_order_qty: Number | None = None,
        sender_sub_id: str | None = None,
        deadline: datetime | str | None = None,
        validate: bool = False,
        timeout: float | None = None,
    ) -> AddOrderResult:
        """Place one order of any of Kraken's ten types (``OrderType``). A limit-priced type
        needs ``limit_price``, a triggered type ``triggers``, an iceberg ``display_qty``;
        ``"gtd"`` needs ``expire_time``; ``cl_ord_id`` and ``order_userref`` exclude each
        other; ``conditional`` attaches a close order placed when this one fills. Every
        combination Kraken refuses raises ``ValidationError`` naming the field, nothing sent
        (docs: Orders). Never re-sent: a lost connection is ``ConnectionLost`` (unknown).
        """
        secs = self._secs(timeout)
        call = entry.add_order(**given_fields(locals()))
        result: AddOrderResult = await self._entry(call, secs)
        if result.order_id:
            self._orders.note_placed(result.order_id, result.cl_ord_id, result.order_userref)
        return result

    async def batch_add(
        self,
        orders: Sequence[BatchOrder | dict[str, Any]],
        *,
        symbol: str,
        deadline: datetime | str | None = None,
        validate: bool = False,
        timeout: float | None = None,
    ) -> BatchAddResult:
        """Place 2..15 orders of one symbol in ONE wire request (dicts of `add_order`'s
        order fields, or `order` results, re-checked at send).

        Raises:
            ValidationError: 1 or 16+ orders, mixed symbols, any bad order (nothing sent).
            KrakenAPIError: Kraken rejected the whole batch.
        """
        secs = self._secs(timeout)
        call = entry.batch_add(orders, symbol=symbol, deadline=deadline, validate=validate)
        result: BatchAddResult = await self._entry(call, secs)
        for o in result.orders:
            if o.order_id and o.error is None:
                self._orders.note_placed(o.order_id, o.cl_ord_id, o.order_userref)
        return result

    async def amend_order(
        self,
        order_id: str | None = None,
        *,
        cl_ord_id: str | None = None,
        order_qty: Number | None = None,
        display_qty: Number | None = None,
        limit_price: Number | None = None,
        limit_price_type: PriceType | None = None,
        post_only: bool | None = None,
        trigger_price: Number | None = None,
        trigger_price_type: PriceType | None = None,
        deadline: datetime | str | None = None,
        symbol: str | None = None,
        timeout: float | None = None,
    ) -> AmendOrderResult:
        """Amend an open order in place (same ids; queue priority kept where Kraken can),
        named by ``order_id`` or ``cl_ord_id`` (exactly one)."""
        secs = self._secs(timeout)
        call = entry.amend_order(**given_fields(locals()))
        result: AmendOrderResult = await self._entry(call, secs)
        return result

    async def edit_order(
        self,
        order_id: str,
        *,
        symbol: str,
        order_qty: Number | None = None,
        display_qty: Number | None = None,
        limit_price: Number | None = None,
        triggers: TriggerSpec | Triggers | None = None,
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        fee_preference: FeePreference | None = None,
        no_mpp: bool | None = None,
        order_userref: int | None = None,
        deadline: datetime | str | None = None,
        validate: bool = False,
        timeout: float | None = None,
    ) -> EditOrderResult:
        """Cancel-and-replace (Kraken's legacy edit): returns the NEW ``order_id``; the order
        loses its queue position and any cl_ord_id. Prefer `amend_order`."""
        secs = self._secs(timeout)
        call = entry.edit_order(**given_fields(locals()))
        result: EditOrderResult = await self._entry(call, secs)
        return result

    # ---- the dead man's switch and housekeeping -------------------------------------------

    async def cancel_after(
        self, timeout_s: int, *, timeout: float | None = None
    ) -> CancelAfterResult:
        """Arm (or with 0 disarm) Kraken's dead man's switch: cancel all in ``timeout_s`` s."""
        call = cancels.cancel_after(timeout_s)
        result: CancelAfterResult = await self._conns.call(call, self._secs(timeout))
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
        `close` (both disarm with timeout 0). A failed re-arm is logged, counted, sent to
        the plugins' connection events as ``"cancel_after_failed"`` and to ``on_failure``;
        after a disconnect the keeper re-arms as soon as the connection is back.

        Raises:
            ValidationError: bad ``timeout`` (1..86399) or ``every`` (> 0, < timeout).
        """
        events, forget = self._plugins.event, self._keepers.discard
        keeper = CancelAfterKeeper(self, timeout, every, on_failure, events=events, forget=forget)
        keeper.start()
        self._keepers.add(keeper)
        return keeper

    async def ping(self, *, timeout: float | None = None) -> PongResult:
        """Application-level ping; returns the pong with its round trip in ``latency_ns``."""
        result: PongResult = await self._conns.call(housekeeping.ping(), self._secs(timeout))
        return result

    async def reconcile(
        self,
        ids: Iterable[str | int],
        *,
        recancel: bool = False,
        timeout: float | None = None,
    ) -> Reconciliation:
        """Learn the fate of ids whose cancel ended unknown (``exc.ids`` of an
        `krakenwire.OutcomeUnknown`) from the current connection's executions snapshot;
        waits for the connection (and its snapshot) if it is being re-established.

        Args:
            ids: order ids, ``order_userref`` numbers or cl_ord_ids (a list, never one str).
            recancel: cancel the ones still open (through `cancel_orders`).

        Raises:
            ValidationError: bad ids or arguments (nothing sent).
        """
        return await _reconcile(self, ids, recancel, self._secs(timeout))

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
        call = housekeeping.subscribe_executions(
            snap_orders=snap_orders,
            snap_trades=snap_trades,
            order_status=order_status,
            ratecounter=ratecounter,
            unsubscribe=unsubscribe,
        )
        return await self._conns.call(call, self._secs(timeout))

    # ---- lifecycle ------------------------------------------------------------------------

    def state_changes(self) -> AsyncIterator[StateChange]:
        """Iterate over state changes from now on, until the connection is closed for good."""
        return self._conns.life.changes()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until connected (again). Raises ConnectionClosed if closed for good."""
        await self._conns.life.wait_connected(timeout)

    async def wait_closed(self) -> None:
        """Wait until the connection is closed for good."""
        await self._conns.life.closed.wait()

    async def close(self) -> None:
        """Disarm every dead man's switch keeper, then close for good (requests still in
        flight fail with ``ConnectionLost``)."""
        for keeper in list(self._keepers):
            try:
                await asyncio.wait_for(keeper.stop(disarm=True), self._timeout)
            except (KrakenwireError, TimeoutError) as exc:
                log.warning("krakenwire %s: disarming cancel_after on close: %s", self.url, exc)
        self._conns.closing = True
        for life in self._conns.lives:
            await life.close()
        self._conns.stop()
