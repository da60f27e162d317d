"""The append-only JSON Lines file: one ``os.write`` per batch, fsync by policy, size rotation.

Records are written with a single ``write(2)`` per batch on an ``O_APPEND`` descriptor, so once
[`AuditLog.write_lines`][krakenwire_audit.AuditLog.write_lines] returns they are in the kernel and
survive the process being killed; ``fsync`` (by record count or by age) makes it survive a power
loss too. [`read_records`][krakenwire_audit.read_records] accepts a truncated last line (a write cut
short by a crash) and nothing else.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

__all__ = ["AuditCorruption", "AuditLog", "read_all_records", "read_records"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class AuditCorruption(ValueError):
    """An audit file has a bad line that is not the last one (or is not a JSON object).

    Attributes:
        path: the file. line: 1-based line number.
    """

    def __init__(self, path: str, line: int, why: str) -> None:
        super().__init__(f"{path}:{line}: corrupt audit record ({why})")
        self.path = path
        self.line = line


class AuditLog:
    """An append-only JSON Lines file.

    Args:
        path: the file (created ``0o600`` if missing; appended to if present).
        fsync_every: fsync after this many records (1 = every record); ``None``: not by count.
        fsync_interval: fsync when the oldest unsynced record is this many seconds old (checked
            on each append and by `sync_if_due`); ``None``: not by age.
        max_bytes: rotate before a record would make the file larger than this (0: never).
        backups: rotated files kept, ``path.1`` (newest) .. ``path.N``.
        clock: monotonic seconds.

    Attributes:
        written: records appended. synced: records known fsync'd. rotations: files rotated.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync_every: int | None = 1,
        fsync_interval: float | None = None,
        max_bytes: int = 64 * 1024 * 1024,
        backups: int = 5,
        clock: Callable[[], float] = time.monotonic,
        background: bool = False,
    ) -> None:
        if fsync_every is not None and fsync_every < 1:
            raise ValueError("fsync_every must be >= 1 or None")
        if backups < 1:
            raise ValueError("backups must be >= 1")
        self.path = os.fspath(path)
        self.fsync_every = fsync_every
        self.fsync_interval = fsync_interval
        self.max_bytes = max_bytes
        self.backups = backups
        self._clock = clock
        self.written = 0
        self.synced = 0
        self.rotations = 0
        self._dirty_since: float | None = None
        self._fd = -1
        self._size = 0
        # fsync can take milliseconds on a real disk. With ``background`` the interval policy
        # runs in a thread, so the writer (the event loop) never waits for it; the lock keeps
        # rotation and close from swapping the descriptor under an fsync in flight.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._open()
        if background and fsync_interval is not None:
            self._thread = threading.Thread(
                target=self._sync_loop, name=f"audit-fsync {self.path}", daemon=True
            )
            self._thread.start()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._size = os.fstat(self._fd).st_size

    @property
    def closed(self) -> bool:
        return self._fd < 0

    @property
    def unsynced(self) -> int:
        """Records written but not yet fsync'd."""
        return self.written - self.synced

    def append(self, record: dict[str, Any], redact: str | None = None) -> None:
        """Write one record as one line; fsync if the policy says so.

        Args:
            record: a JSON-serialisable mapping.
            redact: a secret that must never reach the file; replaced by ``<redacted>``.

        Raises:
            ValueError: the log is closed. OSError: the write failed.
        """
        self.append_line(_encode(record), redact)

    def append_line(self, line: bytes, redact: str | None = None) -> None:
        """Append an already-encoded JSON object (without its newline)."""
        if redact and redact.encode() in line:
            line = line.replace(redact.encode(), b"<redacted>")
        self.write_lines(line + b"\n", 1)

    def write_lines(self, data: bytes, count: int) -> None:
        """Append ``count`` complete lines (``data`` ends with a newline) with one ``write(2)``
        (more only after a short write); rotate first if they would overflow ``max_bytes``;
        fsync if the policy says so.

        Raises:
            ValueError: the log is closed. OSError: the write failed.
        """
        if self._fd < 0:
            raise ValueError(f"audit log {self.path} is closed")
        if self.max_bytes and self._size and self._size + len(data) > self.max_bytes:
            self.rotate()
        n = os.write(self._fd, data)
        while n < len(data):  # a short write (disk full, signal): finish the lines
            n += os.write(self._fd, data[n:])
        self._size += len(data)
        self.written += count
        if self._dirty_since is None:
            self._dirty_since = self._clock()
        if self.fsync_every is not None and self.unsynced >= self.fsync_every:
            self.sync()
        elif self._thread is None:
            self.sync_if_due()

    def sync_if_due(self) -> bool:
        """fsync if the oldest unsynced record is older than ``fsync_interval``."""
        since = self._dirty_since
        if since is None or self.fsync_interval is None:
            return False
        if self._clock() - since >= self.fsync_interval:
            self.sync()
            return True
        return False

    def sync(self) -> None:
        """fsync now: every record written so far is durable when this returns."""
        with self._lock:
            self._sync_locked()

    def _sync_locked(self) -> None:
        target = self.written
        if self._fd >= 0 and target > self.synced:
            os.fsync(self._fd)
        self.synced = max(self.synced, target)
        self._dirty_since = None if self.synced == self.written else self._clock()

    def request_sync(self) -> None:
        """Ask the background thread to fsync now (or fsync inline without one)."""
        if self._thread is None:
            self.sync()
        else:
            self._dirty_since = -float("inf")  # due at once
            self._wake.set()

    def _sync_loop(self) -> None:
        interval = self.fsync_interval or 1.0
        while not self._stopping:
            self._wake.wait(interval / 2)
            self._wake.clear()
            since = self._dirty_since
            if since is not None and self._clock() - since >= interval and not self._stopping:
                try:
                    self.sync()
                except OSError:  # the next sync (or close) tries again
                    pass

    def rotate(self) -> None:
        """fsync and close the file, shift ``path.i`` to ``path.i+1``, start a fresh file."""
        with self._lock:
            self._rotate_locked()

    def _rotate_locked(self) -> None:
        self._sync_locked()
        os.close(self._fd)
        self._fd = -1
        for i in range(self.backups - 1, 0, -1):
            src = f"{self.path}.{i}"
            if os.path.exists(src):
                os.replace(src, f"{self.path}.{i + 1}")
        os.replace(self.path, f"{self.path}.1")
        self._open()
        _fsync_dir(self.path)
        self.rotations += 1

    def close(self) -> None:
        """fsync and close (idempotent); stops the background fsync thread."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping = True
            self._wake.set()
            thread.join()
        with self._lock:
            if self._fd >= 0:
                self._sync_locked()
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of one audit file, in order.

    A last line without its newline that is not valid JSON (a write cut short) is dropped;
    any other bad line raises.

    Raises:
        AuditCorruption: a complete line that is not a JSON object, or an empty line.
    """
    p = os.fspath(path)
    lines = Path(p).read_bytes().split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    out: list[dict[str, Any]] = []
    for i, line in enumerate(lines, 1):
        try:
            obj = _decode(line)
        except msgspec.DecodeError as exc:
            raise AuditCorruption(p, i, str(exc)) from None
        if not isinstance(obj, dict):
            raise AuditCorruption(p, i, "not a JSON object")
        out.append(obj)
    if tail:
        try:
            obj = _decode(tail)
        except msgspec.DecodeError:
            return out  # truncated last line: tolerated
        if isinstance(obj, dict):
            out.append(obj)
    return out


def read_all_records(path: str | os.PathLike[str], backups: int = 5) -> list[dict[str, Any]]:
    """Records of ``path`` and its rotated files, oldest first (``path.N`` .. ``path.1``,
    ``path``)."""
    p = os.fspath(path)
    files = [f"{p}.{i}" for i in range(backups, 0, -1) if os.path.exists(f"{p}.{i}")]
    if os.path.exists(p):
        files.append(p)
    return [r for f in files for r in read_records(f)]
