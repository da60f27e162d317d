"""The public client: every trading call of [`Client`][krakenwire.Client] (made by
[`krakenwire.connect`][krakenwire.connect]).

A ``Client`` is composed, not inherited: a frozen [`ClientConfig`][krakenwire.ClientConfig], a
sans-IO `Session` that decides every request's fate, a ``Link`` that moves bytes and wakes futures,
and a ``Lifecycle`` that keeps the socket connected. A request's path is validate -> pre-send check
-> encode -> send -> receive -> decode -> resolve, with no logging or dict building on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Self, overload

from . import _build, _bysymbol, _callbacks, _entry, _housekeeping
from ._auth import Credentials
from ._cancels import cancel_many, confirm_call
from ._config import ClientConfig, ClientStats, ReconnectPolicy, StateChange
from ._events import ChannelFrame
from ._keeper import CancelAfterKeeper
from ._lifecycle import Lifecycle
from ._link import Link
from ._methods import Call
from ._openorders import OpenOrders
from ._orders import order as _order
from ._pacer import Pacer
from ._results import (
    BatchCancelResult,
    CancelAllResult,
    CancelOrderResult,
    CancelOrdersResult,
)
from ._standby import Unit, build_units, failover, hedged_call
from ._validate import check_timeout
from ._views import PluginContext
from .errors import KrakenwireError, ValidationError
from .plugins import PluginHost

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

    _pacer: Pacer | None = None  # connect(pacer=...): paces order entry (_entry.py)

    # A validated order for [`batch_add`][krakenwire.Client.batch_add] (a dict of the same fields
    # works too).
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
            config.url, self._state, self._system, self._orders, lambda: self.pending
        )
        self._units = build_units(
            config, token, credentials, plugins, self._stats, self._orders, policy, context,
            on_state, on_executions, standby,
        )  # fmt: skip
        self._primary(self._units[0])
        if standby:
            for u in self._units:
                u.link.on_failover = self._failover
                u.life.on_up = self._came_up
        plugins.on_resolve = self._sync_plugins
        plugins.bind(context)
        self._keepers: set[CancelAfterKeeper] = set()

    async def _open(self) -> None:
        """Connect every socket (the first attempt is not retried); any failure closes all."""
        try:
            for u in self._units:
                await u.life.open()
        except BaseException:
            await self.close()
            raise

    def _primary(self, unit: Unit) -> None:
        self._unit = unit
        self._session, self._link, self._life = unit.session, unit.link, unit.life

    def _failover(self, dead: Link) -> None:
        """A socket died: if it was the primary and the standby is up, promote the standby
        and move the idempotent requests in flight to it (see ``_standby.py``)."""
        other = next((u for u in self._units if u.link is not dead), None)
        if other is None or not other.link.is_open or self._life.closing:
            return
        if dead is self._link:
            self._promote(other)
        failover(dead, other.link)

    def _promote(self, other: Unit) -> None:
        old = self._unit
        self._primary(other)
        old.life.role, other.life.role = "standby", "primary"
        other.life.set_state("connected", "standby promoted to primary")
        self._plugins.event("standby_promoted", {"url": self.url})

    def _came_up(self, life: Lifecycle) -> None:
        """A socket (re)connected: if the primary is still down, this one becomes primary."""
        if life is not self._life and not self._link.is_open:
            self._promote(next(u for u in self._units if u.life is life))

    def _other(self) -> Link | None:
        u = next((u for u in self._units if u is not self._unit), None)
        return u.link if u is not None else None

    async def _call(self, call: Call, secs: float, hedge: bool | None) -> Any:
        if hedge or (hedge is None and self._hedge):
            return await hedged_call(self._link, self._other(), call, secs)
        return await self._link.call(call, secs)

    def _state(self) -> str:
        return self._life.state

    def _system(self) -> str:
        return self._life.system

    def _sync_plugins(self) -> None:
        p = self._plugins
        for u in self._units:
            u.session.check = p.check
            u.session.views = p.wants_views

    def __repr__(self) -> str:
        return f"<krakenwire.Client {self.url} {self.state} pending={len(self._session)}>"

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
        """Requests sent and not yet settled (on both sockets with a standby)."""
        return sum(len(u.session) for u in self._units)

    @property
    def connection_ids(self) -> dict[str, int | None]:
        """Kraken's ``connection_id`` of each socket (from its ``status`` frame), by role."""
        return {u.life.role: u.life.connection_id for u in self._units}

    @property
    def is_open(self) -> bool:
        """Whether the primary socket is open now (requests can be sent)."""
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
        hedge: bool | None = None,
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
            hedge: send it on both sockets at once (``connect(standby=True)``); the first reply
                settles it. ``None``: as ``connect(hedge=...)`` said.

        Returns:
            [`BatchCancelResult`][krakenwire.BatchCancelResult]; ``count`` is Kraken's number
            cancelled (not per id).

        Raises:
            ValidationError: bad ids, count, timeout or confirm (nothing sent).
            KrakenAPIError: Kraken refused. RequestTimeout, ConnectionLost: outcome unknown.
        """
        if confirm is not False or unified is not False or hedge is not None or self._hedge:
            return await self._batch_cancel_ext(orders, cl_ord_id, timeout, confirm, unified, hedge)
        link = self._link
        rid, fut = link.start(
            _build.batch_cancel(orders, cl_ord_id),
            self._timeout if timeout is None else check_timeout(timeout),
        )
        try:  # Link.call inlined: one coroutine less on the hottest path
            result: BatchCancelResult = await fut
        except asyncio.CancelledError:
            link.abandon(rid)
            raise
        return result

    async def _batch_cancel_ext(
        self,
        orders: Iterable[str | int],
        cl_ord_id: Iterable[str] | None,
        timeout: float | None,
        confirm: Any,
        unified: Any,
        hedge: Any,
    ) -> BatchCancelResult:
        for name, flag in (("unified", unified), ("hedge", hedge)):
            if type(flag) is not bool and (flag is not None or name == "unified"):
                raise ValidationError(f"{name} must be a bool, got {flag!r}", field=name)
        secs = self._secs(timeout)
        call = _build.batch_cancel(orders, cl_ord_id, unified=unified)
        if confirm is False:
            plain: BatchCancelResult = await self._call(call, secs, hedge)
            return plain
        result: BatchCancelResult = await confirm_call(self, call, secs, confirm, hedge)
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
    ) -> CancelOrderResult:
        """Cancel orders named by one kind of id; collects Kraken's one-reply-per-order answers.

        Per-order failures (``EOrder:Invalid order``) are in ``result.replies`` (``ok`` False), and
        so is any error that follows a per-order reply; a request-level error as the first reply
        raises [`KrakenAPIError`][krakenwire.KrakenAPIError]. An ``order_userref`` expects one reply
        per open order it names in ``open_orders`` (at least one). A reply that repeats an order
        never counts twice: an order left unanswered makes the outcome unknown (``RequestTimeout``
        with the replies that came). ``confirm`` and ``hedge`` as for
        [`batch_cancel`][krakenwire.Client.batch_cancel].
        """
        secs = self._secs(timeout)
        view = self._orders
        matched = (lambda ref: len(view.by_userref(ref))) if view.ready.is_set() else None
        call = _build.cancel_order(order_id, cl_ord_id, order_userref, matched=matched)
        if confirm is False:
            result: CancelOrderResult = await self._call(call, secs, hedge)
            return result
        res: CancelOrderResult = await confirm_call(self, call, secs, confirm, hedge)
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

    @overload
    async def cancel_all(
        self, *, timeout: float | None = None, hedge: bool | None = None
    ) -> CancelAllResult: ...
    @overload
    async def cancel_all(
        self,
        *,
        symbol: str | Iterable[str],
        timeout: float | None = None,
        confirm: float | bool = ...,
    ) -> CancelOrdersResult: ...
    async def cancel_all(
        self,
        *,
        timeout: float | None = None,
        hedge: bool | None = None,
        symbol: str | Iterable[str] | None = None,
        confirm: float | bool = False,
    ) -> CancelAllResult | CancelOrdersResult:
        """Cancel every open order of the account (untriggered ones included): Kraken's
        ``cancel_all``, one request.

        With ``symbol`` (a pair, or several): every open order of those pairs in
        ``open_orders``, through [`cancel_orders`][krakenwire.Client.cancel_orders] (chunks of
        up to 50, the same fates; ``confirm`` as there); returns its
        [`CancelOrdersResult`][krakenwire.CancelOrdersResult] (see ``_bysymbol.py``).
        """
        if symbol is not None:
            return await _bysymbol.cancel_symbol(self, symbol, timeout=timeout, confirm=confirm)
        secs = self._secs(timeout)
        result: CancelAllResult = await self._call(_build.cancel_all(), secs, hedge)
        return result

    # ---- the dead man's switch and housekeeping (_housekeeping.py) -----------------------
    cancel_after = _housekeeping.cancel_after
    keep_cancel_after = _housekeeping.keep_cancel_after
    ping = _housekeeping.ping
    reconcile = _housekeeping.reconcile
    subscribe_executions = _housekeeping.subscribe_executions

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
        for u in self._units:
            await u.life.close()
