"""Parsing of Kraken's RFC3339 timestamps, every variant seen on the wire.

Kraken documents ``2022-12-25T09:30:59.123456Z`` but its own examples also show 7 fractional
digits with no ``Z`` (``time_out`` of batch_cancel), 9 digits (ohlc) and no fraction at all
(cancel_all_orders_after). See kraken-ws-v2.md section 3.1. A missing offset means UTC; digits
past microseconds are truncated, as ``datetime`` cannot hold them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

__all__ = ["format_timestamp", "parse_timestamp"]

_DIGITS = frozenset("0123456789")


def parse_timestamp(text: str) -> datetime:
    """Parse a Kraken timestamp into a timezone-aware UTC ``datetime``.

    Args:
        text: ``YYYY-MM-DDTHH:MM:SS[.f{1,}][Z|z|+HH:MM|-HH:MM]``; ``T`` may also be a space.

    Returns:
        An aware datetime in UTC.

    Raises:
        ValueError: the text is not such a timestamp (message quotes it).
    """
    n = len(text)
    if (
        n < 19
        or text[4] != "-"
        or text[7] != "-"
        or text[10] not in "Tt "
        or text[13] != ":"
        or text[16] != ":"
    ):
        raise ValueError(f"not an RFC3339 timestamp: {text!r}")
    try:
        year = _int(text, 0, 4)
        month = _int(text, 5, 7)
        day = _int(text, 8, 10)
        hour = _int(text, 11, 13)
        minute = _int(text, 14, 16)
        second = _int(text, 17, 19)
        micro = 0
        i = 19
        if i < n and text[i] == ".":
            j = i + 1
            while j < n and text[j] in _DIGITS:
                j += 1
            frac = text[i + 1 : j]
            if not frac:
                raise ValueError
            micro = int((frac + "00000")[:6])
            i = j
        tz: timezone = UTC
        if i < n:
            rest = text[i:]
            if rest in ("Z", "z"):
                pass
            elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
                off = timedelta(hours=_int(rest, 1, 3), minutes=_int(rest, 4, 6))
                tz = timezone(-off if rest[0] == "-" else off)
            else:
                raise ValueError
        leap = second == 60  # RFC3339 allows a leap second; datetime does not
        dt = datetime(year, month, day, hour, minute, 59 if leap else second, micro, tz)
    except ValueError:
        raise ValueError(f"not an RFC3339 timestamp: {text!r}") from None
    if leap:
        dt += timedelta(seconds=1)
    return dt if tz is UTC else dt.astimezone(UTC)


def _int(text: str, start: int, stop: int) -> int:
    part = text[start:stop]
    if not all(c in _DIGITS for c in part):
        raise ValueError
    return int(part)


def format_timestamp(dt: datetime, *, digits: int = 6, zulu: bool = True) -> str:
    """Render ``dt`` (aware or UTC-naive) as Kraken does; ``digits`` 0..9, ``zulu`` appends ``Z``.

    ``digits=7, zulu=False`` reproduces the odd ``time_out`` of Kraken's batch_cancel example.
    """
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    out = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    if digits:
        out += "." + f"{dt.microsecond:06d}000"[:digits]
    return out + "Z" if zulu else out
