"""The dead man's switch and housekeeping calls of [`Client`][krakenwire.Client]:
``cancel_after``, ``keep_cancel_after``, ``ping``, ``reconcile``, ``subscribe_executions``.

Plain functions composed into the client's class body, like ``_entry.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from . import _build
from ._cancels import CancelHost
from ._cancels import reconcile as _reconcile
from ._keeper import CancelAfterKeeper
from ._results import CancelAfterResult, PongResult, Reconciliation
from .errors import KrakenwireError
from .plugins import PluginHost

__all__ = [
    "HousekeepingHost",
    "cancel_after",
    "keep_cancel_after",
    "ping",
    "reconcile",
    "subscribe_executions",
]


class HousekeepingHost(CancelHost, Protocol):
    """What these calls use of the client, besides what the cancels use."""

    _plugins: PluginHost
    _keepers: set[CancelAfterKeeper]

    @property
    def url(self) -> str: ...

    @property
    def is_open(self) -> bool: ...

    def _secs(self, timeout: float | None) -> float: ...

    async def cancel_after(
        self, timeout_s: int, *, timeout: float | None = None
    ) -> CancelAfterResult: ...


async def cancel_after(
    self: HousekeepingHost, timeout_s: int, *, timeout: float | None = None
) -> CancelAfterResult:
    """Arm (or with 0 disarm) Kraken's dead man's switch: cancel all in ``timeout_s`` s."""
    call = _build.cancel_after(timeout_s)
    result: CancelAfterResult = await self._call(call, self._secs(timeout), None)
    return result


def keep_cancel_after(
    self: HousekeepingHost,
    timeout: int,
    every: float,
    *,
    on_failure: Callable[[KrakenwireError], Any] | None = None,
) -> CancelAfterKeeper:
    """Keep Kraken's dead man's switch armed: ``cancel_all_orders_after(timeout)`` now and
    every ``every`` seconds, in a background task, until ``await keeper.stop()`` or
    [`close`][krakenwire.Client.close] (both disarm with timeout 0). A failed re-arm is logged,
    counted, sent to the plugins' connection events as ``"cancel_after_failed"`` and to
    ``on_failure``; after a disconnect the keeper re-arms as soon as the connection is back.

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


async def ping(self: HousekeepingHost, *, timeout: float | None = None) -> PongResult:
    """Application-level ping; returns the pong with its round trip in ``latency_ns``."""
    result: PongResult = await self._link.call(_build.ping(), self._secs(timeout))
    return result


async def reconcile(
    self: HousekeepingHost,
    ids: Iterable[str | int],
    *,
    recancel: bool = False,
    timeout: float | None = None,
) -> Reconciliation:
    """Learn the fate of ids whose cancel ended unknown (``exc.ids`` of an
    [`OutcomeUnknown`][krakenwire.OutcomeUnknown]) from the current connection's executions
    snapshot; waits for the connection (and its snapshot) if it is being re-established.

    Args:
        ids: order ids, ``order_userref`` numbers or cl_ord_ids (a list, never one str).
        recancel: cancel the ones still open (through
            [`cancel_orders`][krakenwire.Client.cancel_orders]).

    Raises:
        ValidationError: bad ids or arguments (nothing sent).
    """
    return await _reconcile(self, ids, recancel, self._secs(timeout))


async def subscribe_executions(
    self: HousekeepingHost,
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
