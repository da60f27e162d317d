"""Order entry, sans-IO: the value of each field, checked alone (numbers, choices, times).

The rules that tie fields together (which order type takes which field) live in
``_orders.py``; everything here answers "is this one value well formed" and turns it into what
goes on the wire: a finite ``Decimal`` for a number (a ``float`` only when its shortest repr is
a short decimal that round-trips, ``0.1`` yes, ``0.30000000000000004`` no), one of Kraken's
listed strings for a choice, an RFC3339 string for a time. Every failure is a
`ValidationError` naming the field.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from ._timefmt import format_timestamp, parse_timestamp
from ._validate import check_cl_ord_ids
from .errors import ValidationError

__all__ = [
    "DEADLINE_MAX_AHEAD",
    "FeePreference",
    "Number",
    "PriceType",
    "StpType",
    "TriggerReference",
    "choice",
    "cl_ord_id",
    "deadline",
    "non_negative",
    "opt_bool",
    "plain",
    "positive",
    "printable",
    "rfc3339",
    "symbol",
    "to_decimal",
    "userref",
]

Number = Decimal | int | str | float
PriceType = Literal["static", "pct", "quote"]
"""How a trigger or limit price is given: an absolute price, a percentage or a quote-currency
offset (Kraken's ``price_type``)."""
TriggerReference = Literal["index", "last"]
"""The price a trigger watches: Kraken's index price or the last trade (``reference``)."""
StpType = Literal["cancel_newest", "cancel_oldest", "cancel_both"]
"""Self-trade prevention: which side of a self-match Kraken cancels (``stp_type``)."""
FeePreference = Literal["base", "quote"]
"""The currency fees are charged in (``fee_preference``)."""
PRICE_TYPES = frozenset(get_args(PriceType))
REFERENCES = frozenset(get_args(TriggerReference))
STP_TYPES = frozenset(get_args(StpType))
FEE_PREFERENCES = frozenset(get_args(FeePreference))
# docs: add_order `deadline`, "500 milliseconds to 60 seconds" after the engine receives it.
DEADLINE_MAX_AHEAD = 60.0
# A double holds any decimal of at most 15 significant digits exactly enough to round-trip.
_FLOAT_DIGITS = 15
_SYMBOL = re.compile(r"[A-Z0-9.]{1,16}/[A-Z0-9.]{1,16}")
_PRINTABLE = re.compile(r"[\x21-\x7e]{1,64}")


def plain(d: Decimal) -> Decimal:
    """``d`` with no positive exponent, so it encodes as digits (``1E+2`` -> ``100``).

    A negative exponent is kept as given: ``0.10`` stays ``0.10`` (what the caller wrote).
    """
    # int() of an integral Decimal is exact at any size (quantize would overflow the context).
    return Decimal(int(d)) if d.as_tuple().exponent > 0 else d  # type: ignore[operator]


def to_decimal(value: Any, field: str) -> Decimal:
    """``value`` as an exact, finite ``Decimal``.

    Accepts ``Decimal``, ``int``, a decimal string, or a ``float`` whose shortest repr has at
    most 15 significant digits (so the float is exactly the decimal the caller wrote).

    Raises:
        ValidationError: anything else (bool, NaN, infinity, ``"abc"``, an inexact float).
    """
    t = type(value)
    if t is Decimal:
        d: Decimal = value
    elif t is int:
        d = Decimal(value)
    elif t is str:
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(
                f"{field} must be a decimal number, got {value!r}", field=field, value=value
            ) from None
    elif t is float:
        text = repr(value)
        try:
            d = Decimal(text)
        except InvalidOperation:  # pragma: no cover - repr of a float always parses
            d = Decimal("NaN")
        if d.is_finite() and len(d.as_tuple().digits) > _FLOAT_DIGITS:
            raise ValidationError(
                f"{field} {text} is a binary float with no exact short decimal form; pass a "
                "Decimal or a string",
                field=field,
                value=value,
            )
    else:
        raise ValidationError(
            f"{field} must be a Decimal, int, decimal string or exact float, got "
            f"{t.__name__} {value!r}",
            field=field,
            value=value,
        )
    if not d.is_finite():
        raise ValidationError(f"{field} must be finite, got {value!r}", field=field, value=value)
    return plain(d)


def positive(value: Any, field: str) -> Decimal:
    d = to_decimal(value, field)
    if d <= 0:
        raise ValidationError(f"{field} must be > 0, got {value!r}", field=field, value=value)
    return d


def non_negative(value: Any, field: str) -> Decimal:
    d = to_decimal(value, field)
    if d < 0:
        raise ValidationError(f"{field} must be >= 0, got {value!r}", field=field, value=value)
    return d


def choice(value: Any, allowed: frozenset[str], field: str) -> str:
    # type() first: an unhashable value (a list) must not reach the set lookup.
    if type(value) is not str or value not in allowed:
        raise ValidationError(
            f"{field} must be one of {sorted(allowed)}, got {value!r}", field=field, value=value
        )
    return value


def symbol(value: Any) -> str:
    if type(value) is not str or _SYMBOL.fullmatch(value) is None:
        raise ValidationError(
            f"symbol must look like 'BTC/USD', got {value!r}", field="symbol", value=value
        )
    return value


def cl_ord_id(value: Any) -> str:
    if type(value) is not str:
        raise ValidationError(
            f"cl_ord_id must be a str, got {value!r}", field="cl_ord_id", value=value
        )
    return check_cl_ord_ids([value])[0]


def userref(value: Any) -> int:
    if type(value) is not int or not 0 <= value < 2**31:
        raise ValidationError(
            f"order_userref must be an int in 0..2**31-1, got {value!r}",
            field="order_userref",
            value=value,
        )
    return int(value)


def printable(value: Any, field: str) -> str:
    """1..64 printable ASCII characters, no space (our bound: Kraken states none)."""
    if type(value) is not str or _PRINTABLE.fullmatch(value) is None:
        raise ValidationError(
            f"{field} must be 1..64 printable ASCII characters, got {value!r}",
            field=field,
            value=value,
        )
    return value


def rfc3339(value: Any, field: str, digits: int) -> str:
    """An RFC3339 UTC string from an aware ``datetime`` or an RFC3339 string."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(
                f"{field} must be timezone-aware", field=field, value=value.isoformat()
            )
        return format_timestamp(value, digits=digits)
    if isinstance(value, str):
        try:
            parse_timestamp(value)
        except (ValueError, IndexError):
            raise ValidationError(
                f"{field} is not an RFC3339 time: {value!r}", field=field, value=value
            ) from None
        return value
    raise ValidationError(
        f"{field} must be a datetime or an RFC3339 string, got {value!r}", field=field, value=value
    )


def deadline(value: Any) -> str:
    """``deadline`` as RFC3339 with milliseconds, at most 60 s from now.

    A deadline already past is sent (Kraken answers ``EService:Deadline elapsed``: the caller
    learns the clock is off); one further ahead than Kraken accepts is refused here.
    """
    text = rfc3339(value, "deadline", 3)
    ahead = parse_timestamp(text).timestamp() - time.time()
    if ahead > DEADLINE_MAX_AHEAD:
        raise ValidationError(
            f"deadline is {ahead:.1f} s ahead; Kraken takes at most {DEADLINE_MAX_AHEAD:.0f} s",
            field="deadline",
            value=text,
        )
    return text


def opt_bool(value: Any, field: str) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise ValidationError(f"{field} must be a bool, got {value!r}", field=field, value=value)
