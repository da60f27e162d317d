"""The hook specifications plugins implement (pluggy project ``krakenwire``).

Implement any subset with ``@krakenwire.hookimpl`` functions in a module or class, and register it
through ``connect(..., plugins=[...])`` or the ``krakenwire`` entry-point group. Hooks get a frozen
[`RequestView`][krakenwire.RequestView] (never the token, never a Future), a typed outcome and a
read-only [`PluginContext`][krakenwire.PluginContext], never the client. Every hook is documented in
``docs/hooks.md``; a test checks the two agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import pluggy

if TYPE_CHECKING:
    from ._views import PluginContext, RequestView
    from .protocol._events import ChannelFrame

__all__ = ["Veto", "hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("krakenwire")
hookimpl = pluggy.HookimplMarker("krakenwire")
"""Marks a plugin's function as the implementation of the krakenwire hook of the same name."""


class Veto(msgspec.Struct):
    """Returned by a risk check to block a request. ``plugin`` is filled in by krakenwire."""

    reason: str
    plugin: str = ""


@hookspec(firstresult=True)
def krakenwire_check_request(request: RequestView, context: PluginContext) -> Veto | None:
    """Pre-send risk check of every outgoing request but housekeeping (ping, subscribe): the
    cancels and order entry, and any method the registry does not mark as housekeeping.

    Return a [`Veto`][krakenwire.Veto] to block the send (the caller gets ``RiskRejected`` and
    nothing goes on the wire) or ``None`` to let it pass. The first Veto wins; later checks are
    skipped. A check that raises also blocks the send (fail closed), naming the plugin. Runs on the
    hot path: keep it synchronous, with no I/O. ``request.kind`` is ``"cancel"`` or ``"entry"``;
    ``request.ids``, ``request.cl_ord_ids``, ``request.symbol`` and ``request.orders`` describe it.
    """


@hookspec
def krakenwire_request_sent(request: RequestView, context: PluginContext) -> None:
    """Called for every request just before its frame is written (after the risk check passed).

    This is where a write-ahead audit records its intent: a request with an intent and no
    outcome after a crash is one whose fate is unknown. Runs on the hot path: keep it cheap
    (buffer; do not fsync inline unless asked to). Exceptions are logged, never propagated.
    """


@hookspec
def krakenwire_audit(
    request: RequestView, outcome: Any, elapsed_ns: int, context: PluginContext
) -> None:
    """Called once per request after it settles, after the caller has resumed with its answer.

    ``outcome`` is the result struct, or the ``KrakenwireError`` the caller got: a
    ``NotExecuted`` (``KrakenAPIError``, ``RiskRejected``) or an ``OutcomeUnknown``
    (``RequestTimeout``, ``ConnectionLost``, ``Abandoned`` when the caller stopped waiting).
    ``elapsed_ns`` is the local monotonic time from send to settle (0 for a request vetoed
    before sending). The return value is ignored; an exception is logged and counted, never
    propagated.
    """


@hookspec
def krakenwire_connection_event(event: str, context: PluginContext, detail: dict[str, Any]) -> None:
    """A connection state change: ``event`` is ``"connected"``, ``"disconnected"``,
    ``"token_refreshed"`` or ``"cancel_after_failed"``; from a market-data connection
    (``detail["connection"] == "market"``) also ``"book_invalid"`` (``symbol``, ``reason``).
    ``detail`` holds event data (never a secret). Exceptions are logged and counted, never
    propagated."""


@hookspec
def krakenwire_executions(message: ChannelFrame, context: PluginContext) -> None:
    """Every ``executions`` channel frame (snapshot or update), after the client has applied it.

    ``message.type`` is ``"snapshot"`` or ``"update"``, ``message.data`` the list of order events
    (prices and quantities as ``Decimal``), ``message.sequence`` Kraken's sequence number. Use it
    to track order state (e.g. ages for rate-counter costs). Runs on the receive path: keep it
    cheap. Exceptions are logged and counted, never propagated.
    """
