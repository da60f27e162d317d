"""The zero-hop form of the hottest calls: the outcome is delivered to a callback, with no
Future and no task switch.

For strategies written as callbacks (e.g. reacting inside their own ``on_executions``): the
reply's outcome reaches ``on_done`` inside picows' frame callback, in the same pass that decoded
it. Validation, the risk check, the audit and the outcome guarantees are the awaitable form's:
bad input, a veto or no connection raise at the call (nothing sent, ``on_done`` never called);
otherwise ``on_done`` is called exactly once, with the result or an error (a ``NotExecuted``
such as ``KrakenAPIError``, or an ``OutcomeUnknown``: ``RequestTimeout`` from the deadline
sweep, ``ConnectionLost`` when the socket drops). ``on_done`` runs on the event loop's thread
inside the receive path: keep it short; an exception in it is logged and counted in
``client.stats.callback_errors``, never propagated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from . import _build
from ._cancels import assemble, plan, send_chunks
from ._config import ClientStats
from ._link import Link
from ._results import BatchCancelResult, CancelOrdersResult
from .errors import KrakenwireError, ValidationError

__all__ = ["CallbackHost", "batch_cancel_cb", "cancel_orders_cb"]

log = logging.getLogger("krakenwire")


class CallbackHost(Protocol):
    """What these calls use of the client."""

    _link: Link
    _stats: ClientStats

    def _secs(self, timeout: float | None) -> float: ...


class _Callback:
    """Stands where the link keeps a Future; resolving it calls the user's function."""

    __slots__ = ("fn", "stats", "_done")

    def __init__(self, fn: Callable[[Any], Any], stats: ClientStats) -> None:
        self.fn = fn
        self.stats = stats
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, value: Any) -> None:
        self._done = True
        try:
            self.fn(value)
        except Exception:
            self.stats.callback_errors += 1
            log.exception("krakenwire: on_done callback raised (ignored)")

    set_exception = set_result


def _check(on_done: Any) -> None:
    if not callable(on_done):
        raise ValidationError("on_done must be callable", field="on_done", value=None)


def batch_cancel_cb(
    self: CallbackHost,
    orders: Iterable[str | int],
    cl_ord_id: Iterable[str] | None = None,
    *,
    on_done: Callable[[BatchCancelResult | KrakenwireError], Any],
    timeout: float | None = None,
) -> int:
    """[`batch_cancel`][krakenwire.Client.batch_cancel] delivering its outcome to ``on_done`` (see
    the module docs).

    Use it when the caller is itself a callback and a task switch per cancel matters; use the
    awaitable [`batch_cancel`][krakenwire.Client.batch_cancel] everywhere else (it composes with
    ``asyncio`` timeouts and cancellation; this form cannot be abandoned, it ends by its own
    deadline).

    Returns:
        the request's ``req_id``.

    Raises:
        ValidationError, RiskRejected, NotConnected: nothing sent; ``on_done`` is not called.
    """
    _check(on_done)
    secs = self._secs(timeout)
    handle, _ = self._link.start(
        _build.batch_cancel(orders, cl_ord_id), secs, _Callback(on_done, self._stats)
    )
    return handle


class _Gather:
    """Collects the chunks' outcomes of one cancel_orders_cb; calls ``on_done`` once."""

    def __init__(
        self, parts: list[list[str]], on_done: Callable[[Any], Any], stats: ClientStats
    ) -> None:
        self.parts = parts
        self.on_done = on_done
        self.stats = stats
        self.outcomes: list[Any] = [None] * len(parts)
        self.left = len(parts)
        self.sent = len(parts)
        self.unsent: KrakenwireError | None = None

    def waiter(self, i: int) -> _Callback:
        return _Callback(lambda out: self._one(i, out), self.stats)

    def _one(self, i: int, out: Any) -> None:
        self.outcomes[i] = out
        self.left -= 1
        if self.left == 0:
            result = assemble(self.parts, self.outcomes[: self.sent], self.unsent)
            _Callback(self.on_done, self.stats).set_result(result)

    def stopped_after(self, sent: int, unsent: KrakenwireError) -> None:
        """Sending stopped part-way: only ``sent`` chunks will report."""
        self.sent = sent
        self.unsent = unsent
        self.left -= len(self.parts) - sent


def cancel_orders_cb(
    self: CallbackHost,
    ids: Iterable[str | int] = (),
    *,
    cl_ord_id: Iterable[str] | None = None,
    on_done: Callable[[CancelOrdersResult], Any],
    timeout: float | None = None,
) -> list[int]:
    """[`cancel_orders`][krakenwire.Client.cancel_orders] delivering one
    [`CancelOrdersResult`][krakenwire.CancelOrdersResult] to ``on_done`` when the last chunk settles
    (inside the frame callback that settled it).

    Returns:
        the ``req_id`` of every chunk sent.

    Raises:
        ValidationError, RiskRejected, NotConnected: nothing sent; ``on_done`` is not called.
    """
    _check(on_done)
    secs = self._secs(timeout)
    parts, calls, _, _ = plan(ids, cl_ord_id)
    gather = _Gather(parts, on_done, self._stats)
    waiters = [gather.waiter(i) for i in range(len(calls))]
    handles, _, unsent = send_chunks(self._link, calls, secs, waiters)
    if unsent is not None:
        gather.stopped_after(len(handles), unsent)
    return handles
