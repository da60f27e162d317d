"""The audit hooks: an INTENT record before each frame leaves, an OUTCOME record after it settles.

The hooks only append ``(view, time, run[, outcome, elapsed])`` to an in-memory buffer; records
are built, encoded with msgspec (one ``encode_lines`` per batch) and written with one
``write(2)`` per batch. *When* the buffer goes to the OS is the ``durability`` setting; *when*
the file is fsync'd is the ``fsync_*`` setting:

``durability="batch"`` (default)
    Written every ``flush_interval`` seconds (a timer on the client's event loop; without a running
    loop, by the next hook call after the interval), when ``flush_records`` are buffered, on
    disconnect, on [`AuditPlugin.close`][krakenwire_audit.AuditPlugin.close] and at interpreter
    exit. A process kill loses at most the last ``flush_interval`` of records (those requests are
    then absent, not reported). Cheapest: no system call on the request path.
``durability="intent"``
    Each intent (with everything buffered before it) is written to the OS before its frame is
    written; outcomes are batched. A process kill (SIGKILL, crash) loses no request that may
    have reached the wire: each is on disk at least as an intent, and one whose outcome did not
    make it is reported as outcome unknown, never missing. One ``write(2)`` per request.
``durability="process"``
    As ``"intent"``, and each outcome is written to the OS when its audit hook runs. krakenwire
    runs that hook right after the caller's task resumes (``call_soon``), so once the caller has
    resumed and then awaited anything, its outcome is on disk: after a process kill the file
    has the outcome of every request whose caller got past its next ``await``; a kill during
    the caller's own step (before it awaits again) leaves that request as outcome unknown.
    Two ``write(2)`` per request.

fsync (against a machine crash or power loss; independent of the above): ``fsync_interval``
(default 1 s, in a background thread: a machine crash loses at most about that much of what was
written) and/or ``fsync_every=N`` (fsync after every N records written, inline; with
``fsync_every=1`` and ``durability="intent"`` each intent is on the disk before its frame leaves,
which survives a machine crash but costs a disk flush per request).

The token is never part of a record (a ``RequestView`` has none); a request object that does
carry one has it scrubbed from the encoded lines anyway.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from typing import Any

from krakenwire.hookspecs import hookimpl

from ._log import AuditLog
from ._records import encode_batch

__all__ = ["DURABILITY", "AuditPlugin", "from_env"]

log = logging.getLogger("krakenwire_audit")
DURABILITY = ("batch", "intent", "process")
"""The ``durability`` levels of [AuditPlugin][krakenwire_audit.AuditPlugin], weakest first."""
_time_ns = time.time_ns


class _Buffer:
    """The pending hook calls and the file, shared with the exit-time finalizer."""

    __slots__ = ("items", "log", "lock", "errors")

    def __init__(self, log: AuditLog) -> None:
        self.items: list[tuple[Any, ...]] = []
        self.log = log
        self.lock = threading.Lock()
        self.errors = 0

    def flush(self) -> int:
        """Write everything buffered; return the number of records written.

        Raises:
            OSError: the write failed (those records are dropped and counted in ``errors``).
        """
        with self.lock:
            items = self.items
            n = len(items)
            if not n:
                return 0
            batch = items[:n]
            del items[:n]
            if self.log.closed:
                self.errors += n
                return 0
            try:
                self.log.write_lines(encode_batch(batch), n)
            except OSError:
                self.errors += n
                raise
            return n

    def final(self) -> None:
        try:
            self.flush()
        except OSError:
            log.exception("krakenwire-audit: the final write of %s failed", self.log.path)
        self.log.close()


class AuditPlugin:
    """Write-ahead audit of every request to an append-only JSON Lines file.

    Args:
        path: the audit file (created ``0o600``; appended to).
        durability: ``"batch"``, ``"intent"`` or ``"process"``: when records reach the OS
            (see the module docs for what each survives).
        flush_interval: seconds between batch writes (``"batch"``; outcomes of ``"intent"``).
        flush_records: write as soon as this many records are buffered.
        fsync_every: as for [`AuditLog`][krakenwire_audit.AuditLog] (fsync after this many records).
        fsync_interval: as for [`AuditLog`][krakenwire_audit.AuditLog] (default: fsync in a
            background thread when the oldest unsynced record is 1 s old, and on disconnect).
        max_bytes: as for [`AuditLog`][krakenwire_audit.AuditLog] (rotate past this size).
        backups: as for [`AuditLog`][krakenwire_audit.AuditLog] (rotated files kept).
        run: the run id written in every record (default: pid and start time); a second
            client sharing this instance gets ``run + ".2"``, ...

    Attributes:
        log: the [`AuditLog`][krakenwire_audit.AuditLog]. errors: records that could not be written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: str = "batch",
        flush_interval: float = 0.05,
        flush_records: int = 4096,
        fsync_every: int | None = None,
        fsync_interval: float | None = 1.0,
        max_bytes: int = 64 * 1024 * 1024,
        backups: int = 5,
        run: str | None = None,
    ) -> None:
        if durability not in DURABILITY:
            raise ValueError(f"durability must be one of {DURABILITY}, not {durability!r}")
        if flush_interval <= 0 or flush_records < 1:
            raise ValueError("flush_interval must be > 0 and flush_records >= 1")
        self.log = AuditLog(
            path,
            fsync_every=fsync_every,
            fsync_interval=fsync_interval,
            max_bytes=max_bytes,
            backups=backups,
            background=True,  # the interval fsync never runs on the event loop
        )
        self.durability = durability
        self.flush_interval = flush_interval
        self.flush_records = flush_records
        self._buf = _Buffer(self.log)
        self._items = self._buf.items
        self._sync_intent = durability != "batch"
        self._sync_outcome = durability == "process"
        self._due_ns = 0  # a flush is scheduled (timer) or due by this wall-clock time
        self._interval_ns = int(flush_interval * 1e9)
        self._timer: asyncio.TimerHandle | None = None
        self.run = run if run is not None else f"{os.getpid()}-{time.time_ns() // 1000:x}"
        self._ctx: Any = None
        self._ctx_run = self.run
        self._runs: dict[int, str] = {}
        self._finalizer = weakref.finalize(self, self._buf.final)

    @property
    def errors(self) -> int:
        return self._buf.errors

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AuditPlugin | None:
        """The entry point's configuration (``None``: no audit):

        ``KRAKENWIRE_AUDIT_PATH`` (unset: no audit), ``KRAKENWIRE_AUDIT_DURABILITY``
        (``batch``, ``intent``, ``process``; default ``batch``), ``KRAKENWIRE_AUDIT_FSYNC``
        (``every``, a record count ``N``, seconds ``Ts``, or ``never``; default ``1s``),
        ``KRAKENWIRE_AUDIT_FLUSH`` (seconds between batch writes; default ``0.05``),
        ``KRAKENWIRE_AUDIT_MAX_BYTES``, ``KRAKENWIRE_AUDIT_BACKUPS``.
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
            durability=e.get("KRAKENWIRE_AUDIT_DURABILITY", "batch").strip().lower() or "batch",
            flush_interval=float(e.get("KRAKENWIRE_AUDIT_FLUSH", 0.05)),
            fsync_every=every,
            fsync_interval=interval,
            max_bytes=int(e.get("KRAKENWIRE_AUDIT_MAX_BYTES", 64 * 1024 * 1024)),
            backups=int(e.get("KRAKENWIRE_AUDIT_BACKUPS", 5)),
        )

    # ---- hooks (the request path: append, and write only when durability asks) ------------

    @hookimpl
    def krakenwire_request_sent(self, request: Any, context: Any) -> None:
        """Buffer the intent; with ``"intent"``/``"process"`` durability, write it (and all
        buffered before it) to the OS now, before krakenwire writes the frame."""
        ts = _time_ns()
        run = self._ctx_run if context is self._ctx else self._run_of(context)
        self._items.append((request, ts, run))
        if self._sync_intent:
            self._write_now()
        elif self._due_ns == 0 or ts >= self._due_ns or len(self._items) >= self.flush_records:
            self._later(ts)

    @hookimpl
    def krakenwire_audit(self, request: Any, outcome: Any, elapsed_ns: int, context: Any) -> None:
        """Buffer the outcome (see [`make_record`][krakenwire_audit.make_record]); with
        ``"process"`` durability, write it to the OS now."""
        ts = _time_ns()
        run = self._ctx_run if context is self._ctx else self._run_of(context)
        self._items.append((request, ts, run, outcome, elapsed_ns))
        if self._sync_outcome:
            self._write_now()
        elif self._due_ns == 0 or ts >= self._due_ns or len(self._items) >= self.flush_records:
            self._later(ts)

    @hookimpl
    def krakenwire_connection_event(self, event: str) -> None:
        """Write the buffer on disconnect, and have it fsync'd soon after."""
        if event == "disconnected" and not self.log.closed:
            self._write_now()
            self.log.request_sync()

    # ---- writing --------------------------------------------------------------------------

    def _run_of(self, context: Any) -> str:
        if self._ctx is None:
            self._ctx = context
            self._runs[id(context)] = self._ctx_run
            return self._ctx_run
        run = self._runs.get(id(context))
        if run is None:
            run = self._runs[id(context)] = f"{self.run}.{len(self._runs) + 1}"
        return run

    def _write_now(self) -> None:
        if self.log.closed:
            self._buf.errors += len(self._items)
            self._items.clear()
            return
        self._buf.flush()

    def _later(self, now_ns: int) -> None:
        """Write soon: now if the buffer is full or the interval has passed, else arm the loop
        timer (one per interval, never one per record)."""
        if len(self._items) >= self.flush_records or (self._due_ns and now_ns >= self._due_ns):
            self._flush_timed()
            return
        self._due_ns = now_ns + self._interval_ns
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the next hook call after the interval writes
        self._timer = loop.call_later(self.flush_interval, self._flush_timed)

    def _flush_timed(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._due_ns = 0
        try:
            self._write_now()
        except OSError:
            log.exception("krakenwire-audit: writing %s failed", self.log.path)

    def flush(self) -> int:
        """Write every buffered record to the OS now; returns how many were written."""
        if self.log.closed:
            return 0
        return self._buf.flush()

    def close(self) -> None:
        """Write what is buffered, fsync and close the file; later records count in
        ``errors``."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._due_ns = 0
        self._finalizer()

    def __repr__(self) -> str:
        return (
            f"AuditPlugin({self.log.path!r}, durability={self.durability!r}, "
            f"written={self.log.written})"
        )


def from_env() -> AuditPlugin | None:
    """The ``audit`` entry point: a fresh [`AuditPlugin`][krakenwire_audit.AuditPlugin] per client,
    configured by the environment (see
    [`AuditPlugin.from_env`][krakenwire_audit.AuditPlugin.from_env]), or ``None`` (nothing
    registered) when ``KRAKENWIRE_AUDIT_PATH`` is unset."""
    return AuditPlugin.from_env()
