"""The simulator's own clock text and timestamp parsing (RFC3339, as Kraken writes it).

Kept apart from the client's parser on purpose: the simulator is an independent implementation
of Kraken's side, so a client bug in timestamp handling cannot hide behind a shared helper.
Kraken writes 6 fractional digits and ``Z`` on the wire; its docs also show 7 digits with no
``Z`` (kraken-ws-v2.md §3.1).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["clock", "parse_time"]

_RFC3339 = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)?$"
)


def parse_time(text: str) -> float:
    """Seconds since the epoch of an RFC3339 timestamp (no offset means UTC).

    Raises:
        ValueError: not such a timestamp.
    """
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"not an RFC3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7) or ""
    off = m.group(8) or "Z"
    when = datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
    if frac:
        when += int(frac[:9].ljust(9, "0")) / 1e9
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        when -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
    return when


class _Clock:
    """RFC3339 text from ``time.time_ns()``; the part up to the second is cached."""

    __slots__ = ("_sec", "_prefix")

    def __init__(self) -> None:
        self._sec = -1
        self._prefix = ""

    def _head(self, sec: int) -> str:
        if sec != self._sec:
            self._prefix = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._sec = sec
        return self._prefix

    def text(self, ns: int) -> str:
        """6 fractional digits and ``Z``: the norm on Kraken's wire."""
        sec, rem = divmod(ns, 1_000_000_000)
        return f"{self._head(sec)}.{rem // 1000:06d}Z"

    def doc_text(self, ns: int) -> str:
        """7 digits, no ``Z``: the ``time_out`` of Kraken's batch_cancel doc example (§3.1)."""
        sec, rem = divmod(ns, 1_000_000_000)
        return f"{self._head(sec)}.{rem // 100:07d}"

    def seconds(self, sec: int) -> str:
        """Second precision with ``Z``, as cancel_all_orders_after's result has it."""
        return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


clock = _Clock()
