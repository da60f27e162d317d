"""The hook specifications plugins implement (pluggy project ``krakenwire``).

Implement any subset with ``@krakenwire.hookimpl`` functions in a module or class, and register
it through ``connect(..., plugins=[...])`` or the ``krakenwire`` entry-point group. Every hook is
documented in ``docs/hooks.md``; a test checks the two agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import pluggy

if TYPE_CHECKING:
    from ._protocol import ChannelMessage, Pending
    from .client import Client

__all__ = ["Veto", "hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("krakenwire")
hookimpl = pluggy.HookimplMarker("krakenwire")


class Veto(msgspec.Struct):
    """Returned by a risk check to block a request. ``plugin`` is filled in by krakenwire."""

    reason: str
    plugin: str = ""


@hookspec(firstresult=True)
def krakenwire_check_request(request: Pending, client: Client) -> Veto | None:
    """Pre-send risk check of every outgoing trading request (cancels and order entry).

    Return a :class:`Veto` to block the send (the caller gets ``RiskRejected`` and nothing goes on
    the wire) or ``None`` to let it pass. The first Veto wins; later checks are skipped. A check
    that raises also blocks the send (fail closed), naming the plugin. Runs on the hot path:
    keep it synchronous, with no I/O. ``request.method``, ``request.ids``, ``request.cl_ord_id``
    and ``request.request`` (the msgspec Struct about to be encoded) describe the request.
    """


@hookspec
def krakenwire_audit(request: Pending, outcome: Any, elapsed_ns: int, client: Client) -> None:
    """Called once per request after it settles, after the caller has resumed with its answer.

    ``outcome`` is the result struct, or the ``KrakenwireError`` the caller got (``KrakenAPIError``,
    ``RequestTimeout``, ``ConnectionLost``, ``RiskRejected``). ``elapsed_ns`` is the local monotonic
    time from send to settle (0 for a request vetoed before sending). The return value is
    ignored; an exception is logged and counted, never propagated.
    """


@hookspec
def krakenwire_connection_event(event: str, client: Client, detail: dict[str, Any]) -> None:
    """A connection state change: ``event`` is ``"connected"``, ``"disconnected"`` or
    ``"token_refreshed"``; ``detail`` holds event data (never a secret). Exceptions are logged
    and counted, never propagated."""


@hookspec
def krakenwire_executions(message: ChannelMessage, client: Client) -> None:
    """Every ``executions`` channel frame (snapshot or update), after the client has applied it.

    ``message.type`` is ``"snapshot"`` or ``"update"``, ``message.data`` the list of order events
    (prices and quantities as ``Decimal``), ``message.sequence`` Kraken's sequence number. Use it
    to track order state (e.g. ages for rate-counter costs). Runs on the receive path: keep it
    cheap. Exceptions are logged and counted, never propagated.
    """
