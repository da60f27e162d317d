"""The cancel calls built from several requests or from the executions stream: ``cancel_orders``
(chunked, every frame written before any wait), per-id confirmation and ``reconcile``.

They use the client's public surface plus its link; nothing here decides a request's fate (the
session does) or touches the socket (the link does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from . import _build
from ._confirm import CancelTracker
from ._link import Link
from ._methods import Call
from ._openorders import OpenOrders
from ._results import CancelOrdersResult, ChunkOutcome, Reconciliation
from ._validate import check_cl_ord_ids, check_confirm, check_order_ids, chunk_sizes
from .errors import KrakenwireError, NotExecuted, ValidationError

__all__ = [
    "CancelHost",
    "assemble",
    "cancel_many",
    "confirm_call",
    "plan",
    "reconcile",
    "send_chunks",
]


class CancelHost(Protocol):
    """What these calls use of the client (structural: no import of the client)."""

    _link: Link

    async def _call(self, call: Call, secs: float, hedge: bool | None) -> Any: ...

    @property
    def open_orders(self) -> OpenOrders: ...

    async def wait_connected(self, timeout: float | None = None) -> None: ...

    @property
    def cancel_orders(self) -> Callable[..., Awaitable[CancelOrdersResult]]: ...


async def _view_ready(client: CancelHost, secs: float) -> None:
    """Confirmation resolves ids through the view: make sure its snapshot is in."""
    try:
        await asyncio.wait_for(client.open_orders.ready.wait(), secs)
    except TimeoutError:
        raise ValidationError(
            f"confirm= needs the executions snapshot, and none arrived within {secs} s "
            "(connected with subscribe=False?); nothing was sent",
            field="confirm",
        ) from None


def _tracker(client: CancelHost, call: Call) -> CancelTracker:
    view = client.open_orders
    if call.key == "order_userref":
        return CancelTracker(view, userrefs=[int(i) for i in call.ids])
    return CancelTracker(view, call.ids, call.cl_ord_ids)


async def confirm_call(
    client: CancelHost, call: Call, secs: float, confirm: Any, hedge: bool | None = None
) -> Any:
    """Send one cancel and wait for the executions stream to confirm each id it names."""
    wait = check_confirm(confirm)
    await _view_ready(client, secs)
    tracker = _tracker(client, call)
    try:
        result = await client._call(call, secs, hedge)
    except BaseException:
        tracker.abandon()
        raise
    result.confirmation = await tracker.wait(secs if wait is True else float(wait))
    return result


def plan(
    ids: Iterable[str | int], cl_ord_id: Iterable[str] | None
) -> tuple[list[list[str]], list[Call], list[str], list[str]]:
    """Validate ids and cl_ord_ids and split them into the fewest requests of 2..50 identifiers
    in all (balanced so none holds one; a lone identifier goes through ``cancel_order``).

    Returns:
        ``(identifiers per request, the requests, all order ids, all cl_ord_ids)``.
    """
    oids = check_order_ids(ids)
    cids = check_cl_ord_ids(cl_ord_id) if cl_ord_id is not None else []
    n = len(oids) + len(cids)
    if n == 0:
        raise ValidationError("cancel_orders needs at least one id", field="ids", value=0)
    if n == 1:
        call = _build.cancel_order(oids) if oids else _build.cancel_order(cl_ord_id=cids)
        return [oids + cids], [call], oids, cids
    parts, calls, start = [], [], 0
    n_o = len(oids)
    for size in chunk_sizes(n):  # every id was checked above and sizes are 2..50
        end = start + size
        o, c = oids[start:end], cids[max(0, start - n_o) : max(0, end - n_o)]
        parts.append(o + c)
        calls.append(_build.batch_cancel_checked(o, c or None))
        start = end
    return parts, calls, oids, cids


def send_chunks(
    link: Link, calls: list[Call], secs: float, waiters: list[Any] | None = None
) -> tuple[list[int], list[Any], KrakenwireError | None]:
    """Write every chunk; returns the handles, their waiters and the error that stopped the
    sending part-way (``None`` if all went). Raises when nothing was sent."""
    handles: list[int] = []
    futs: list[Any] = []
    try:
        if link.session.check is not None:
            # Every chunk passes the risk check before any is sent: a veto sends nothing.
            for h, fut in link.start_all(calls, secs, waiters):
                handles.append(h)
                futs.append(fut)
        else:
            for i, call in enumerate(calls):
                # Each chunk is written as soon as it is built: the first leaves after one.
                h, fut = link.start(call, secs, waiters[i] if waiters is not None else None)
                handles.append(h)
                futs.append(fut)
    except KrakenwireError as exc:
        if not futs:
            raise  # nothing was sent (a veto, no connection): the caller's error
        return handles, futs, exc  # some chunks are on the wire: the rest were not sent
    return handles, futs, None


def assemble(
    parts: list[list[str]], outcomes: list[Any], unsent: KrakenwireError | None
) -> CancelOrdersResult:
    """One [`CancelOrdersResult`][krakenwire.CancelOrdersResult] from each sent chunk's outcome (and
    the unsent rest)."""
    chunks = []
    for part, out in zip(parts, outcomes, strict=False):
        if isinstance(out, KrakenwireError):
            chunks.append(ChunkOutcome(list(part), None, out))
        elif isinstance(out, BaseException):
            raise out
        else:
            chunks.append(ChunkOutcome(list(part), out, None))
    if unsent is not None:
        reason = unsent if isinstance(unsent, NotExecuted) else None
        for part in parts[len(outcomes) :]:
            chunks.append(ChunkOutcome(list(part), None, reason or unsent))
    return CancelOrdersResult(chunks)


async def cancel_many(
    client: CancelHost,
    ids: Iterable[str | int],
    cl_ord_id: Iterable[str] | None,
    secs: float,
    confirm: Any,
) -> CancelOrdersResult:
    """[`Client.cancel_orders`][krakenwire.Client.cancel_orders]."""
    wait = check_confirm(confirm)
    parts, calls, oids, cids = plan(ids, cl_ord_id)
    if wait is not False:
        await _view_ready(client, secs)
    tracker = CancelTracker(client.open_orders, oids, cids) if wait is not False else None
    link = client._link
    try:
        handles, futs, unsent = send_chunks(link, calls, secs)
    except BaseException:
        if tracker is not None:
            tracker.abandon()
        raise
    try:
        outcomes = await asyncio.gather(*futs, return_exceptions=True)
    except asyncio.CancelledError:
        for h in handles:
            link.abandon(h)
        if tracker is not None:
            tracker.abandon()
        raise
    result = assemble(parts, outcomes, unsent)
    if tracker is not None:
        rejected = [i for c in result.chunks if c.outcome == "rejected" for i in c.ids]
        result.confirmation = await tracker.wait(
            secs if wait is True else float(wait), rejected=rejected
        )
    return result


async def reconcile(
    client: CancelHost, ids: Iterable[str | int], recancel: Any, secs: float
) -> Reconciliation:
    """[`Client.reconcile`][krakenwire.Client.reconcile]."""
    if type(recancel) is not bool:
        raise ValidationError(f"recancel must be a bool, got {recancel!r}", field="recancel")
    names = check_order_ids(ids, "ids")
    await client.wait_connected(secs)
    await asyncio.wait_for(client.open_orders.ready.wait(), secs)
    view = client.open_orders
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
    again = await client.cancel_orders(targets, timeout=secs) if recancel and targets else None
    return Reconciliation(gone=gone, open=still, statuses=statuses, recancelled=again)
