"""The cancel calls built from several requests or from the executions stream: ``cancel_orders``
(chunked, every frame written before any wait), per-id confirmation and ``reconcile``.

They use the client's public surface plus its link; nothing here decides a request's fate (the
session does) or touches the socket (the link does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol

from . import _build
from ._confirm import CancelTracker
from ._link import Link
from ._methods import Call
from ._openorders import OpenOrders
from ._results import CancelOrdersResult, ChunkOutcome, Reconciliation
from ._validate import check_confirm, check_order_ids, chunk_sizes
from .errors import KrakenwireError, NotExecuted, ValidationError

__all__ = ["CancelHost", "cancel_many", "confirm_call", "reconcile"]


class CancelHost(Protocol):
    """What these calls use of the client (structural: no import of the client)."""

    _link: Link

    @property
    def open_orders(self) -> OpenOrders: ...

    async def wait_connected(self, timeout: float | None = None) -> None: ...

    async def cancel_orders(
        self,
        ids: Iterable[str | int],
        *,
        timeout: float | None = None,
        confirm: float | bool = False,
    ) -> CancelOrdersResult: ...


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


async def confirm_call(client: CancelHost, call: Call, secs: float, confirm: Any) -> Any:
    """Send one cancel and wait for the executions stream to confirm each id it names."""
    wait = check_confirm(confirm)
    await _view_ready(client, secs)
    tracker = _tracker(client, call)
    try:
        result = await client._link.call(call, secs)
    except BaseException:
        tracker.abandon()
        raise
    result.confirmation = await tracker.wait(secs if wait is True else float(wait))
    return result


async def cancel_many(
    client: CancelHost, ids: Iterable[str | int], secs: float, confirm: Any
) -> CancelOrdersResult:
    """:meth:`Client.cancel_orders`."""
    wait = check_confirm(confirm)
    all_ids = check_order_ids(ids)
    n = len(all_ids)
    if n == 0:
        raise ValidationError("cancel_orders needs at least one id", field="ids", value=0)
    if wait is not False:
        await _view_ready(client, secs)
    tracker = CancelTracker(client.open_orders, all_ids) if wait is not False else None
    # Every id was checked above (types, duplicates) and chunk sizes are 2..50.
    if n == 1:
        parts = [all_ids]
        calls = [_build.cancel_order(all_ids)]
    else:
        parts, start = [], 0
        for size in chunk_sizes(n):
            parts.append(all_ids[start : start + size])
            start += size
        calls = [_build.batch_cancel_checked(p) for p in parts]
    link = client._link
    session = link.session
    handles: list[int] = []
    futs: list[asyncio.Future[Any]] = []
    unsent: KrakenwireError | None = None
    try:
        if session.check is not None:
            # Every chunk passes the risk check before any is sent: a veto sends nothing.
            for h, fut in link.start_all(calls, secs):
                handles.append(h)
                futs.append(fut)
        else:
            for call in calls:
                # Each chunk is written as soon as it is built: the first leaves after one.
                h, fut = link.start(call, secs)
                handles.append(h)
                futs.append(fut)
    except KrakenwireError as exc:
        if not futs:
            if tracker is not None:
                tracker.abandon()
            raise  # nothing was sent (a veto, no connection): the caller's error
        unsent = exc  # some chunks are on the wire: report the rest as not sent
    try:
        outcomes = await asyncio.gather(*futs, return_exceptions=True)
    except asyncio.CancelledError:
        for h in handles:
            link.abandon(h)
        if tracker is not None:
            tracker.abandon()
        raise
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
        for part in parts[len(futs) :]:
            chunks.append(ChunkOutcome(list(part), None, reason or unsent))
    result = CancelOrdersResult(chunks)
    if tracker is not None:
        rejected = [i for c in chunks if c.outcome == "rejected" for i in c.ids]
        result.confirmation = await tracker.wait(
            secs if wait is True else float(wait), rejected=rejected
        )
    return result


async def reconcile(
    client: CancelHost, ids: Iterable[str | int], recancel: Any, secs: float
) -> Reconciliation:
    """:meth:`Client.reconcile`."""
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
