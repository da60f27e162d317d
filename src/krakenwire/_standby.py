"""A warm standby connection, idempotent failover and hedged cancels.

With ``connect(standby=True)`` a client keeps two authenticated, subscribed sockets (each a
`Unit`: its own session, link and lifecycle, token fetch, executions stream and
keep-alive). Calls go to the primary. When the primary dies, `failover` runs inside the
link's loss handling, before the pending requests get their outcomes: the standby is promoted at
once and every idempotent request in flight (the cancels and the dead man's switch, as the
method registry marks them) is re-sent on it, keeping its caller's waiter, so the caller gets
one result (``result.failed_over`` says it was re-sent; the reply is the one it finally got).
Order entry is never re-sent: it ends ``ConnectionLost`` (outcome unknown). The dead unit then
reconnects in the background as the new standby.

A hedged cancel goes out on both sockets at once; the first reply that settles it wins, and the
other copy is absorbed (it still gets its own audit record).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import msgspec

from . import _build
from ._auth import Credentials, TokenFetcher
from ._config import ClientConfig, ClientStats, ReconnectPolicy, StateChange
from ._events import ChannelFrame
from ._lifecycle import Lifecycle
from ._link import Link
from ._methods import Call
from ._openorders import OpenOrders
from ._protocol import Session
from ._results import CancelOrderReply, CancelOrderResult
from .errors import ConnectionLost, KrakenwireError, NotExecuted, OutcomeUnknown
from .plugins import PluginHost

__all__ = ["HEDGED", "Unit", "build_units", "copy_call", "failover", "hedged_call"]

HEDGED = "hedged"  # Call.extra of a hedge leg: never moved by a failover (its twin is live)
_now_ns = time.monotonic_ns


class Unit:
    """One socket's stack: the session decides, the link moves bytes, the lifecycle connects."""

    __slots__ = ("session", "link", "life")

    def __init__(
        self,
        config: ClientConfig,
        token: str | None,
        fetcher: TokenFetcher | None,
        plugins: PluginHost,
        stats: ClientStats,
        orders: OpenOrders,
        policy: ReconnectPolicy,
        on_state: Callable[[StateChange], None] | None,
        on_executions: Callable[[ChannelFrame], None] | None,
        context: Any,
        stream: int,
        role: str,
    ) -> None:
        self.session = Session(token or "")
        self.session.hold_stale = fetcher is not None
        self.link = link = Link(self.session, plugins, stats, context)
        self.life = life = Lifecycle(
            config,
            self.session,
            link,
            plugins,
            stats,
            orders,
            policy,
            fetcher,
            on_state,
            on_executions,
            stream=stream,
            role=role,
        )
        link.on_channel, link.on_stale, link.on_lost = life.on_channel, life.on_stale, life.on_lost


def build_units(
    config: ClientConfig,
    token: str | None,
    credentials: Credentials | None,
    plugins: PluginHost,
    stats: ClientStats,
    orders: OpenOrders,
    policy: ReconnectPolicy,
    context: Any,
    on_state: Callable[[StateChange], None] | None,
    on_executions: Callable[[ChannelFrame], None] | None,
    standby: bool,
) -> list[Unit]:
    """The primary's stack, and the standby's with ``standby``: each its own token fetch and
    reconnect policy, both inside one connection budget (Kraken counts attempts per IP)."""
    roles = ("primary", "standby") if standby else ("primary",)
    units = [
        Unit(
            config,
            token,
            TokenFetcher(credentials, config.rest_url, timeout=config.timeout)
            if credentials is not None
            else None,
            plugins,
            stats,
            orders,
            policy if i == 0 else ReconnectPolicy(policy.base, policy.cap, policy.budget),
            on_state,
            on_executions,
            context,
            i,
            role,
        )
        for i, role in enumerate(roles)
    ]
    stats.sessions.extend(u.session for u in units)
    return units


def copy_call(call: Call) -> Call:
    """A second, independent request with the same content (for the other socket)."""
    if call.params is None:  # ping: no params
        params, req = None, msgspec.structs.replace(call.req)
    else:
        params = msgspec.structs.replace(call.params)
        req = msgspec.structs.replace(call.req, params=params)
    return Call(
        call.spec, req, params, call.ids, call.cl_ord_ids, call.expected, call.key, call.extra
    )


class _FailedOver:
    """Stands for the caller's waiter on the standby: marks the result as failed over and
    merges the replies that came on the dead socket."""

    __slots__ = ("waiter", "replies", "dead", "handle")

    def __init__(
        self, waiter: Any, replies: list[CancelOrderReply], dead: Link, handle: int
    ) -> None:
        self.waiter = waiter
        self.replies = replies
        self.dead = dead
        self.handle = handle

    def done(self) -> bool:
        return bool(self.waiter.done())

    def set_result(self, result: Any) -> None:
        self.dead.moved.pop(self.handle, None)
        if isinstance(result, CancelOrderResult) and self.replies:
            result.replies = self.replies + result.replies
        if hasattr(result, "failed_over"):
            result.failed_over = True
        self.waiter.set_result(result)

    def set_exception(self, error: BaseException) -> None:
        self.dead.moved.pop(self.handle, None)
        if isinstance(error, NotExecuted) and not isinstance(error, OutcomeUnknown):
            # The re-send was refused, but the first copy may have executed before its socket
            # died: the outcome is unknown, never "not executed".
            error = ConnectionLost(
                f"the socket died with the request in flight and its re-send on the standby "
                f"was refused ({error}): the first copy's fate is unknown",
                req_id=getattr(error, "req_id", None),
                method=getattr(error, "method", ""),
            )
        self.waiter.set_exception(error)


def failover(dead: Link, to: Link) -> None:
    """Move every idempotent request in flight on ``dead`` to ``to`` (called while ``dead``'s
    loss is handled, before its other requests get their outcome)."""
    for handle, call, left_ns, replies in dead.session.take_idempotent(_now_ns()):
        waiter = dead.futures.pop(handle, None)
        if waiter is None or waiter.done():
            continue  # its caller is gone
        if call.extra == HEDGED:
            waiter.set_exception(_lost(call, "its hedge twin carries on"))
            continue
        again = _remaining(call, replies)
        try:
            waiter2 = _FailedOver(waiter, replies, dead, handle)
            new, _ = to.start(again, max(left_ns / 1e9, 0.001), waiter2, origin=handle)
        except KrakenwireError as exc:
            waiter.set_exception(_lost(call, f"its re-send on the standby failed: {exc}"))
            continue
        dead.moved[handle] = (to, new)


def _lost(call: Call, why: str) -> ConnectionLost:
    return ConnectionLost(
        f"connection lost with {call.spec.name} in flight; {why}",
        method=call.spec.name,
        ids=call.all_ids,
    )


def _remaining(call: Call, replies: list[CancelOrderReply]) -> Call:
    """The part of a multi-reply cancel still unanswered (the whole request otherwise)."""
    if not replies or call.key not in ("order_id", "cl_ord_id"):
        return copy_call(call)
    if call.key == "order_id":
        done = {r.order_id for r in replies if r.error is None}
        return _build.cancel_order([i for i in call.ids if i not in done] or call.ids)
    done = {r.cl_ord_id or "" for r in replies if r.error is None}
    left = [i for i in call.cl_ord_ids if i not in done]
    return _build.cancel_order(cl_ord_id=left or call.cl_ord_ids)


class _Hedge:
    """One caller's future fed by two copies of a cancel: the first outcome that is not
    unknown settles it; the other is absorbed."""

    def __init__(self, fut: asyncio.Future[Any]) -> None:
        self.fut = fut
        self.left = 2
        self.unknown: BaseException | None = None

    def leg(self) -> _Leg:
        return _Leg(self)

    def settle(self, result: Any, error: BaseException | None) -> None:
        self.left -= 1
        if self.fut.done():
            return  # the twin already settled it: absorbed (still audited by its link)
        if error is None:
            self.fut.set_result(result)
        elif isinstance(error, OutcomeUnknown):
            if self.left > 0:
                self.unknown = self.unknown or error  # the twin may still answer
                return
            self.fut.set_exception(self.unknown or error)
        else:
            self.fut.set_exception(error)  # a rejection is an answer


class _Leg:
    __slots__ = ("hedge",)

    def __init__(self, hedge: _Hedge) -> None:
        self.hedge = hedge

    def done(self) -> bool:
        return False  # each leg reports, so the hedge knows when both have

    def set_result(self, result: Any) -> None:
        self.hedge.settle(result, None)

    def set_exception(self, error: BaseException) -> None:
        self.hedge.settle(None, error)


async def hedged_call(primary: Link, other: Link | None, call: Call, secs: float) -> Any:
    """Send ``call`` on both sockets; the first reply settles it."""
    if other is None or not other.is_open:
        return await primary.call(call, secs)
    loop = asyncio.get_running_loop()
    hedge = _Hedge(loop.create_future())
    twin = copy_call(call)
    call.extra = twin.extra = HEDGED
    h1, _ = primary.start(call, secs, hedge.leg())
    legs = [(primary, h1)]
    try:
        h2, _ = other.start(twin, secs, hedge.leg())
        legs.append((other, h2))
    except KrakenwireError:
        hedge.left -= 1  # only one copy went out
    try:
        return await hedge.fut
    except asyncio.CancelledError:
        for link, h in legs:
            link.abandon(h)
        raise
