"""The ``krakenwire_audit`` hook implementation: one JSON record per request and outcome.

The hook runs after the caller has its answer (krakenwire schedules it with ``call_soon``), so a
record costs the caller nothing; building it is a dict and one ``write(2)``. The token is never
part of a record (only ids, method, outcome), and every line is also scrubbed of it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from krakenwire import KrakenAPIError, KrakenwireError, RiskRejected
from krakenwire.hookspecs import hookimpl

from ._log import AuditLog

__all__ = ["AuditPlugin", "make_record"]


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_record(request: Any, outcome: Any, elapsed_ns: int) -> dict[str, Any]:
    """The audit record of one settled request.

    Fields: ``ts`` (UTC, when recorded), ``req_id``, ``method``, ``ids``, ``cl_ord_id`` (if
    any), ``outcome`` (``ok``; ``rejected``: Kraken said no; ``unknown``: timeout or lost
    connection; ``vetoed``: a risk plugin blocked it, nothing sent), ``error`` and
    ``error_type`` (when not ok), ``plugin`` (vetoed), ``count`` (orders Kraken reported
    cancelled), ``warnings``, ``latency_ns`` (send to settle, 0 when vetoed), ``time_in`` /
    ``time_out`` (Kraken's timestamps, when the reply had them).
    """
    rec: dict[str, Any] = {
        "ts": _now_text(),
        "req_id": request.req_id,
        "method": request.method,
        "ids": list(request.ids),
    }
    if request.cl_ord_ids:
        rec["cl_ord_id"] = list(request.cl_ord_ids)
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
        count = getattr(outcome, "count", None)
        if count is None and hasattr(outcome, "cancelled"):
            count = len(outcome.cancelled)
            errors = outcome.errors
            if errors:
                rec["errors"] = list(errors)
        if isinstance(count, int):
            rec["count"] = count
        warnings = getattr(outcome, "warnings", None)
        if warnings:
            rec["warnings"] = list(warnings)
        for key in ("time_in", "time_out"):
            raw = getattr(outcome, key + "_raw", "")
            if raw:
                rec[key] = raw
    rec["latency_ns"] = elapsed_ns
    return rec


def _token_of(request: Any) -> str | None:
    # A RequestView never carries the token; kept so a record is still scrubbed if one did.
    token = getattr(request, "token", None)
    return token if isinstance(token, str) and token else None


class AuditPlugin:
    """Writes every request's outcome to an append-only JSON Lines file.

    Args:
        path: the audit file. fsync_every, fsync_interval, max_bytes, backups: as for
            :class:`AuditLog` (default: fsync when the oldest unsynced record is 1 s old, and
            on disconnect; ``fsync_every=1`` for a sync per record).

    Attributes:
        log: the :class:`AuditLog`. errors: records that could not be written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync_every: int | None = None,
        fsync_interval: float | None = 1.0,
        max_bytes: int = 64 * 1024 * 1024,
        backups: int = 5,
    ) -> None:
        self.log = AuditLog(
            path,
            fsync_every=fsync_every,
            fsync_interval=fsync_interval,
            max_bytes=max_bytes,
            backups=backups,
            background=True,  # the interval fsync never runs on the event loop
        )
        self.errors = 0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AuditPlugin | None:
        """The entry point's configuration: ``KRAKENWIRE_AUDIT_PATH`` (unset: no audit),
        ``KRAKENWIRE_AUDIT_FSYNC`` (``every``, a record count ``N``, seconds ``Ts``, or
        ``never``; default ``1s``), ``KRAKENWIRE_AUDIT_MAX_BYTES``, ``KRAKENWIRE_AUDIT_BACKUPS``.
        """
        e = os.environ if env is None else env
        path = e.get("KRAKENWIRE_AUDIT_PATH", "").strip()
        if not path:
            return None
        policy = e.get("KRAKENWIRE_AUDIT_FSYNC", "1s").strip().lower()
        every: int | None = None
        interval: float | None = None
        if policy == "every":
            every = 1
        elif policy.endswith("s"):
            interval = float(policy[:-1])
        elif policy != "never":
            every = int(policy)
        return cls(
            path,
            fsync_every=every,
            fsync_interval=interval,
            max_bytes=int(e.get("KRAKENWIRE_AUDIT_MAX_BYTES", 64 * 1024 * 1024)),
            backups=int(e.get("KRAKENWIRE_AUDIT_BACKUPS", 5)),
        )

    @hookimpl
    def krakenwire_audit(self, request: Any, outcome: Any, elapsed_ns: int) -> None:
        """Append the record of one settled request (see :func:`make_record`)."""
        log = self.log
        if log.closed:
            self.errors += 1
            return
        try:
            log.append(make_record(request, outcome, elapsed_ns), redact=_token_of(request))
        except OSError:
            self.errors += 1
            raise  # krakenwire logs and counts it; the caller never sees it

    @hookimpl
    def krakenwire_connection_event(self, event: str) -> None:
        """fsync on disconnect, so nothing written before it is left unsynced."""
        if event == "disconnected" and not self.log.closed:
            self.log.request_sync()

    def close(self) -> None:
        """fsync and close the file; later records are counted in ``errors``."""
        self.log.close()

    def __repr__(self) -> str:
        return f"AuditPlugin({self.log.path!r}, written={self.log.written})"
