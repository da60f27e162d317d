"""What the trading commands of `krakenwire.cli` print, and the exit codes they return.

Every line a command prints has the same fields whichever way its request went (a field that
does not apply is ``null``), so a script can read ``outcome`` and ``count`` without looking at
which path was taken.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

import msgspec

from .._results import BatchCancelResult, CancelOrderResult
from ..errors import (
    ConnectionClosed,
    KrakenAPIError,
    KrakenwireError,
    RemoteProtocolError,
    RequestTimeout,
    RiskRejected,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BROKEN_PIPE",
    "EXIT_CODES",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_REJECTED",
    "EXIT_UNKNOWN",
    "NO_TIMING",
    "Stdout",
    "cancel_line",
    "emit",
    "error_line",
    "line_exit",
    "pending_line",
    "timing",
    "worst",
]

EXIT_OK, EXIT_REJECTED, EXIT_BAD_INPUT, EXIT_UNKNOWN, EXIT_PARTIAL = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as shell tools exit
#: Exit code -> meaning, as ``krakenwire --help`` and the README state them.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "ok: every request succeeded (cancel: every id named was cancelled)",
    EXIT_REJECTED: "rejected: Kraken refused a request (or a risk plugin vetoed it, nothing "
    "sent); those orders were not cancelled by it",
    EXIT_BAD_INPUT: "nothing was sent: bad input or configuration, no credentials, or the "
    "connection (or the token request) was refused",
    EXIT_UNKNOWN: "connection failed, timeout, unreadable reply or unexpected error: the "
    "outcome is unknown, reconcile (`krakenwire orders`)",
    EXIT_PARTIAL: "partial: Kraken accepted every request but cancelled fewer orders than ids "
    "named (ids not open: unknown, already filled or cancelled)",
}
# When several requests end differently, the most serious outcome decides the exit code.
_OUTCOME_EXIT = {
    "unknown": EXIT_UNKNOWN,
    "not_sent": EXIT_BAD_INPUT,
    "rejected": EXIT_REJECTED,
    "vetoed": EXIT_REJECTED,
    "partial": EXIT_PARTIAL,
    "ok": EXIT_OK,
}
_SEVERITY = (EXIT_UNKNOWN, EXIT_REJECTED, EXIT_BAD_INPUT, EXIT_PARTIAL, EXIT_OK)
# Prices and quantities (Decimal) are written as exact JSON numbers.
_enc = msgspec.json.Encoder(decimal_format="number")


class Stdout:
    """Where the JSON lines go when stdout is closed (``>&-``) or its reader left (``| head``).

    ``divert``: the command's lines report what happened to orders (cancel, cancel-all, add):
    a line stdout cannot take goes to stderr instead, so an executed cancel is never reported
    nowhere, and the exit code stays the outcome's. Otherwise (``orders``, a listing) the
    command stops with ``BrokenPipeError`` (exit 141).
    """

    divert = False
    closed = False


def _close_stdout() -> None:
    Stdout.closed = True
    # Later writes and Python's flush at exit go nowhere instead of failing.
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def emit(obj: dict[str, Any]) -> None:
    """Write one JSON line on stdout (see `Stdout` for a closed stdout)."""
    data = _enc.encode(obj).decode() + "\n"
    out = sys.stdout
    if not Stdout.closed and out is not None:
        try:
            out.write(data)
            out.flush()
            return
        except (BrokenPipeError, ValueError, OSError):
            _close_stdout()
    Stdout.closed = True
    if not Stdout.divert:
        raise BrokenPipeError("stdout is closed")
    err = sys.stderr
    if err is not None:
        err.write(data)
        err.flush()


def worst(codes: Sequence[int]) -> int:
    return next((c for c in _SEVERITY if c in codes), EXIT_OK)


def timing(r: Any) -> dict[str, Any]:
    return {
        "time_in": r.time_in_raw or None,
        "time_out": r.time_out_raw or None,
        "latency_us": r.latency_ns / 1000,
    }


NO_TIMING: dict[str, Any] = {"time_in": None, "time_out": None, "latency_us": None}


def failure(exc: KrakenwireError) -> tuple[str, bool | None, str]:
    """(outcome, success, error text) of a request that raised."""
    if isinstance(exc, KrakenAPIError):
        return "rejected", False, exc.error
    if isinstance(exc, RiskRejected):
        return "vetoed", False, str(exc)
    if getattr(exc, "outcome", None) == "unknown" or isinstance(
        exc, RequestTimeout | RemoteProtocolError
    ):
        return "unknown", None, str(exc)
    if isinstance(exc, ConnectionClosed):
        return "not_sent", False, str(exc)
    return "rejected", False, str(exc)


def pending_line(method: str, orders: Sequence[str], cl: Sequence[str]) -> dict[str, Any]:
    """The line of a cancel request on the wire whose outcome is not known (yet)."""
    return {
        "method": method,
        "req_id": None,
        "success": None,
        "outcome": "unknown",
        "requested": len(orders) + len(cl),
        "count": None,
        "ids": [*orders, *cl],
        "orders": list(orders),
        "cl_ord_id": list(cl),
        "warnings": [],
        "errors": [],
        "error": None,
        "shape_warnings": [],
        **NO_TIMING,
    }


def cancel_line(
    method: str,
    orders: Sequence[str],
    cl: Sequence[str],
    result: BatchCancelResult | CancelOrderResult | None = None,
    exc: KrakenwireError | None = None,
) -> dict[str, Any]:
    """One line per wire request, with the same fields whichever way it went.

    ``success``: Kraken accepted the request (``false``: refused or never sent; ``null``:
    unknown). ``count``: orders Kraken reported cancelled (``null`` unless accepted).
    ``outcome``: ``ok``, ``partial`` (fewer cancelled than ids named), ``rejected``,
    ``vetoed``, ``not_sent`` or ``unknown``. ``errors``: Kraken's per-order errors.
    ``shape_warnings``: parts of an accepted reply that could not be read (a ``count`` that
    could not be read is ``null`` and the outcome ``partial``: not every id is known gone).
    A ``cancel_order`` whose every reply is an error (``EOrder:Invalid order``) cancelled
    nothing: it is ``rejected`` (``success: false``), as the library's ``ok`` says.
    """
    requested = len(orders) + len(cl)
    line = pending_line(method, orders, cl)
    if exc is not None:
        line["outcome"], line["success"], line["error"] = failure(exc)
        line["req_id"] = getattr(exc, "req_id", None)
        if isinstance(exc, KrakenAPIError) and exc.method:
            line["method"] = exc.method
        return line
    assert result is not None
    success = True
    count: int | None
    if isinstance(result, CancelOrderResult):
        count = result.count
        line["errors"] = errors = list(result.errors)
        line["warnings"] = [w for rep in result.replies for w in rep.warnings]
        if count == 0 and errors:
            success = False
            line["error"] = errors[0]
    else:
        count = result.count
        line["warnings"] = list(result.warnings)
    if not success:
        outcome = "rejected"
    else:
        outcome = "ok" if count is not None and count >= requested else "partial"
    line.update(req_id=result.req_id, success=success, outcome=outcome)
    line["count"] = count if success else None
    line["shape_warnings"] = list(result.shape_warnings)
    line.update(timing(result))
    return line


def line_exit(line: dict[str, Any]) -> int:
    return _OUTCOME_EXIT[line["outcome"]]


def error_line(exc: KrakenwireError, method: str, base: dict[str, Any]) -> int:
    """A failed single-request command: ``base`` holds its fields, all set to null."""
    outcome, success, error = failure(exc)
    line = {"method": method, "req_id": getattr(exc, "req_id", None), "success": success}
    line.update(outcome=outcome, **base, error=error, **NO_TIMING)
    if isinstance(exc, KrakenAPIError) and exc.method:
        line["method"] = exc.method
    emit(line)
    return _OUTCOME_EXIT[outcome]
