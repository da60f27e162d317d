"""Audit records: an INTENT per request about to be sent, an OUTCOME per request settled.

Both are JSON objects, one per line, built from what the hooks were handed (a frozen
``RequestView``, the outcome, ``elapsed_ns``) when the buffer is written, not when the hook
runs: the hooks only append a tuple.

Fields common to both: ``ev`` (``"intent"`` or ``"outcome"``), ``ts`` (UTC, when the hook ran,
microseconds), ``run`` (one id per plugin instance and client: ``req_id`` values restart with
every client, so a request is ``(run, req_id)``), ``req_id``, ``method``, ``ids``, ``cl_ord_id``
(if any), ``resent`` (``true`` for a re-send after a token refresh).

An intent adds ``kind`` and, when the view has them, ``symbol``, ``orders`` (one object per
order placed or changed: ``side``, ``order_type``, ``order_qty``, ``limit_price`` as strings...)
and ``timeout``. An outcome adds what [`make_record`][krakenwire_audit.make_record] documents.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from krakenwire import KrakenAPIError, KrakenwireError, RequestView, RiskRejected

__all__ = ["encode_batch", "intent_record", "make_record"]

_to_builtins = msgspec.to_builtins
_encode_lines = msgspec.json.Encoder(decimal_format="string").encode_lines


class _Clock:
    """``ts`` text of a ``time.time_ns()`` value; the seconds part is formatted once per second."""

    __slots__ = ("sec", "prefix")

    def __init__(self) -> None:
        self.sec = -1
        self.prefix = ""

    def text(self, ns: int) -> str:
        sec, rest = divmod(ns, 1_000_000_000)
        if sec != self.sec:
            self.sec = sec
            self.prefix = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self.prefix}.{rest // 1000:06d}Z"


_clock = _Clock()


def _now_ns() -> int:
    return time.time_ns()


def _orders(orders: Any) -> list[dict[str, Any]]:
    """The set fields of each OrderView (Decimals stay Decimals: encoded as strings)."""
    return [
        {k: v for k, v in _to_builtins(o, builtin_types=(Decimal,)).items() if v is not None}
        for o in orders
    ]


def intent_record(request: Any, ts_ns: int | None = None, run: str = "") -> dict[str, Any]:
    """The intent record of one request about to be written to the socket."""
    rec: dict[str, Any] = {
        "ev": "intent",
        "ts": _clock.text(_now_ns() if ts_ns is None else ts_ns),
        "run": run,
        "req_id": request.req_id,
        "method": request.method,
        "kind": request.kind,
        "ids": list(request.ids),
    }
    if request.cl_ord_ids:
        rec["cl_ord_id"] = list(request.cl_ord_ids)
    if request.symbol is not None:
        rec["symbol"] = request.symbol
    if request.orders:
        rec["orders"] = _orders(request.orders)
    if request.timeout is not None:
        rec["timeout"] = request.timeout
    if request.resent:
        rec["resent"] = True
    return rec


def make_record(
    request: Any, outcome: Any, elapsed_ns: int, ts_ns: int | None = None, run: str = ""
) -> dict[str, Any]:
    """The outcome record of one settled request.

    Fields (besides the common ones): ``outcome`` (``ok``; ``rejected``: Kraken said no;
    ``unknown``: timeout, lost connection, unreadable reply or the caller stopped waiting;
    ``vetoed``: a risk plugin blocked it, nothing sent, so it has no intent), ``error`` and
    ``error_type`` (when not ok), ``plugin`` (vetoed), ``count`` (orders Kraken reported
    cancelled), ``errors`` (per-order errors of a ``cancel_order``), ``warnings``,
    ``latency_ns`` (send to settle, 0 when vetoed), ``time_in`` / ``time_out`` (Kraken's
    timestamps, when the reply had them).
    """
    rec: dict[str, Any] = {
        "ev": "outcome",
        "ts": _clock.text(_now_ns() if ts_ns is None else ts_ns),
        "run": run,
        "req_id": request.req_id,
        "method": request.method,
        "ids": list(request.ids),
    }
    if request.cl_ord_ids:
        rec["cl_ord_id"] = list(request.cl_ord_ids)
    if getattr(request, "resent", False):
        rec["resent"] = True
    if isinstance(outcome, RiskRejected):
        rec["outcome"] = "vetoed"
        rec["error"] = outcome.reason
        rec["error_type"] = "RiskRejected"
        rec["plugin"] = outcome.plugin
    elif isinstance(outcome, BaseException):
        rec["outcome"] = getattr(outcome, "outcome", "rejected")
        rec["error"] = outcome.error if isinstance(outcome, KrakenAPIError) else str(outcome)
        rec["error_type"] = type(outcome).__name__
        if not isinstance(outcome, KrakenwireError):
            rec["outcome"] = "unknown"
    elif outcome is None:
        rec["outcome"] = "unknown"
    else:
        rec["outcome"] = "ok"
        count = getattr(outcome, "count", None)  # every cancel result says count
        if hasattr(outcome, "replies"):  # cancel_order: Kraken's per-order errors too
            errors = outcome.errors
            if errors:
                rec["errors"] = list(errors)
        if isinstance(count, int):
            rec["count"] = count
        if getattr(outcome, "warnings_raw", b""):  # decoding warnings only when there are any
            rec["warnings"] = list(outcome.warnings)
        elif isinstance(getattr(outcome, "warnings", None), list) and outcome.warnings:
            rec["warnings"] = list(outcome.warnings)
        time_in = getattr(outcome, "time_in_raw", "")
        if time_in:
            rec["time_in"] = time_in
        time_out = getattr(outcome, "time_out_raw", "")
        if time_out:
            rec["time_out"] = time_out
    rec["latency_ns"] = elapsed_ns
    return rec


def _token_of(request: Any) -> str | None:
    # A RequestView never carries the token; kept so a record is still scrubbed if one did.
    token = getattr(request, "token", None)
    return token if isinstance(token, str) and token else None


class _Intent(msgspec.Struct, omit_defaults=True):
    """The batch encoder's intent record (same fields as
    [`intent_record`][krakenwire_audit.intent_record])."""

    ev: str
    ts: str
    run: str
    req_id: int
    method: str
    kind: str
    ids: tuple[str, ...]
    cl_ord_id: tuple[str, ...] = ()
    symbol: str | None = None
    orders: list[dict[str, Any]] = []
    timeout: int | None = None
    resent: bool = False


class _Ok(msgspec.Struct, omit_defaults=True):
    """The batch encoder's record of a plain successful result (same fields as
    [`make_record`][krakenwire_audit.make_record])."""

    ev: str
    ts: str
    run: str
    req_id: int
    method: str
    ids: tuple[str, ...]
    outcome: str
    cl_ord_id: tuple[str, ...] = ()
    resent: bool = False
    count: int | None = None
    time_in: str = ""
    time_out: str = ""
    latency_ns: int = 0


# Result types whose record is just count and timestamps: encoded through _Ok, no dict.
_PLAIN: dict[type, bool] = {}


def _plain(tp: type) -> bool:
    got = _PLAIN.get(tp)
    if got is None:
        fields = set(getattr(tp, "__struct_fields__", ()))
        got = _PLAIN[tp] = {"count", "warnings_raw", "time_in_raw", "time_out_raw"} <= fields
    return got


def encode_batch(items: list[tuple[Any, ...]]) -> bytes:
    """JSON Lines of buffered hook calls: ``(request, ts_ns, run)`` for an intent,
    ``(request, ts_ns, run, outcome, elapsed_ns)`` for an outcome. Any token a request object
    carries is replaced by ``<redacted>`` (a ``RequestView`` has none)."""
    recs: list[Any] = []
    add = recs.append
    secrets: set[str] = set()
    clock = _clock
    base, end, prefix = -1, -1, ""
    for item in items:
        request = item[0]
        ns = item[1]
        if not base <= ns < end:  # a new second: format its text once
            clock.text(ns)
            base = clock.sec * 1_000_000_000
            end, prefix = base + 1_000_000_000, clock.prefix + "."
        ts = "%s%06dZ" % (prefix, (ns - base) // 1000)  # noqa: UP031 (faster than format)
        if type(request) is not RequestView:
            token = _token_of(request)
            if token:
                secrets.add(token)
            if len(item) == 3:
                rec = intent_record(request, ns, item[2])
            else:
                rec = make_record(request, item[3], item[4], ns, item[2])
            rec["ts"] = ts
            add(rec)
        elif len(item) == 3:
            orders = request.orders
            add(
                _Intent(
                    "intent",
                    ts,
                    item[2],
                    request.req_id,
                    request.method,
                    request.kind,
                    request.ids,
                    request.cl_ord_ids,
                    request.symbol,
                    [
                        {
                            k: v
                            for k, v in _to_builtins(o, builtin_types=None).items()
                            if v is not None
                        }
                        for o in orders
                    ]
                    if orders
                    else [],
                    request.timeout,
                    request.resent,
                )
            )
        else:
            outcome = item[3]
            tp = type(outcome)
            if _plain(tp) and not outcome.warnings_raw:
                add(
                    _Ok(
                        "outcome",
                        ts,
                        item[2],
                        request.req_id,
                        request.method,
                        request.ids,
                        "ok",
                        request.cl_ord_ids,
                        request.resent,
                        outcome.count,
                        outcome.time_in_raw,
                        outcome.time_out_raw,
                        item[4],
                    )
                )
            else:
                rec = make_record(request, outcome, item[4], ns, item[2])
                rec["ts"] = ts
                add(rec)
    data = _encode_lines(recs)
    for secret in secrets:
        data = data.replace(secret.encode(), b"<redacted>")
    return data
