"""Input checks for trading requests, run before anything is built or sent.

The common case (a list of non-empty ``str`` ids) is checked by msgspec's C converter in one
call; only when that fails do we walk the input in Python to name the offending value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import ValidationError

__all__ = [
    "MAX_BATCH",
    "MIN_BATCH",
    "check_cl_ord_ids",
    "check_order_ids",
    "check_batch_size",
    "check_userrefs",
    "chunk_sizes",
]

MIN_BATCH = 2
MAX_BATCH = 50

# cl_ord_id formats (docs.kraken.com/api/docs/guides/spot-clordid): a long UUID, a 32-hex short
# UUID, or free text of at most 18 printable ASCII characters.
_CL_ORD_ID = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"|[0-9A-Fa-f]{32}|[\x21-\x7e][\x20-\x7e]{0,17}"
)


def check_order_ids(ids: Iterable[Any], field: str = "orders") -> list[str]:
    """Return ``ids`` as a new list of strings (ints become decimal strings).

    Raises:
        ValidationError: a value that is not a non-empty string or a non-negative int, or a
            duplicate; the message names the field, the index and the value.
    """
    if type(ids) is list or type(ids) is tuple:
        # Fast path, all in C: every item a str, none empty, none repeated.
        try:
            seen = set(ids)
            # str.join raises TypeError on any non-str item: the cheapest type check in C.
            if len(seen) == len(ids) and "" not in seen and "".join(ids) is not None:
                return list(ids)
        except TypeError:  # unhashable or non-str items: the slow path names them
            pass
    elif isinstance(ids, str | bytes):
        raise ValidationError(
            f"{field} must be a list of ids, not a single {type(ids).__name__} {ids!r}",
            field=field,
            value=ids,
        )
    out = _slow_ids(ids, field)
    if len(set(out)) != len(out):
        _raise_duplicate(out, field)
    return out


def _slow_ids(ids: Iterable[Any], field: str) -> list[str]:
    try:
        items = list(ids)
    except TypeError:
        raise ValidationError(
            f"{field} must be a list of ids, got {type(ids).__name__}", field=field, value=None
        ) from None
    out: list[str] = []
    for i, v in enumerate(items):
        if type(v) is str:
            if not v:
                raise ValidationError(f"{field}[{i}] is an empty id", field=field, value=v)
            out.append(v)
        elif type(v) is int and v >= 0:  # order_userref numbers go as strings ("1", "2")
            out.append(str(v))
        else:
            raise ValidationError(
                f"{field}[{i}] must be an order id string or an order_userref int, "
                f"got {type(v).__name__} {v!r}",
                field=field,
                value=v,
            )
    return out


def _raise_duplicate(ids: Sequence[str], field: str) -> None:
    seen: set[str] = set()
    for v in ids:
        if v in seen:
            raise ValidationError(f"{field} names {v!r} more than once", field=field, value=v)
        seen.add(v)


def check_cl_ord_ids(ids: Iterable[Any]) -> list[str]:
    """Like :func:`check_order_ids` for ``cl_ord_id``, also checking Kraken's id formats."""
    out = check_order_ids(ids, "cl_ord_id") if ids else []
    match = _CL_ORD_ID.fullmatch
    for i, v in enumerate(out):
        if match(v) is None:
            raise ValidationError(
                f"cl_ord_id[{i}] {v!r} is not a UUID, 32 hex digits or at most 18 ASCII characters",
                field="cl_ord_id",
                value=v,
            )
    return out


def check_userrefs(refs: Iterable[Any]) -> list[int]:
    """``order_userref`` values: non-negative ints (32-bit, as Kraken stores them)."""
    out: list[int] = []
    for i, v in enumerate(refs):
        if type(v) is not int or not 0 <= v < 2**31:
            raise ValidationError(
                f"order_userref[{i}] must be an int in 0..2**31-1, got {v!r}",
                field="order_userref",
                value=v,
            )
        out.append(v)
    if len(set(out)) != len(out):
        raise ValidationError("order_userref has duplicates", field="order_userref", value=out)
    return out


def check_batch_size(n: int, what: str = "batch_cancel") -> None:
    """Kraken accepts 2..50 identifiers (orders + cl_ord_id together) per batch_cancel."""
    if not MIN_BATCH <= n <= MAX_BATCH:
        raise ValidationError(
            f"{what} takes {MIN_BATCH}..{MAX_BATCH} ids (orders + cl_ord_id together), got {n}",
            field="orders",
            value=n,
        )


def chunk_sizes(n: int) -> list[int]:
    """Sizes of the fewest chunks of at most 50 covering ``n`` ids, balanced so none has 1.

    ``chunk_sizes(51) == [26, 25]``; ``chunk_sizes(100) == [50, 50]``; ``n`` must be >= 2.
    """
    k = -(-n // MAX_BATCH)
    base, extra = divmod(n, k)
    return [base + 1] * extra + [base] * (k - extra)
