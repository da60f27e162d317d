"""Input checks for trading requests, run before anything is built or sent.

The common case (a list of non-empty ``str`` ids) is checked by msgspec's C converter in one
call; only when that fails do we walk the input in Python to name the offending value.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import ValidationError

__all__ = [
    "MAX_BATCH",
    "MAX_ID_LEN",
    "MAX_TIMEOUT",
    "MIN_BATCH",
    "check_cl_ord_ids",
    "check_confirm",
    "check_timeout",
    "check_order_ids",
    "check_batch_size",
    "check_userrefs",
    "check_flag",
    "check_on_done",
    "given_fields",
    "chunk_sizes",
]

MIN_BATCH = 2
MAX_BATCH = 50
# The longest identifier Kraken defines is a 36-character UUID cl_ord_id (order ids are 19,
# order_userref numbers at most 10 digits). 64 leaves headroom for formats Kraken may add while
# bounding a 50-id frame to a few KB: a caller bug (a whole document passed as an id) is refused
# before it is sent instead of going on the wire.
MAX_ID_LEN = 64
# A timeout longer than a day is a unit mistake (ms passed as s), not a wish to wait that long.
MAX_TIMEOUT = 86_400.0

# A cancel naming order_userref 0 names every order placed without a userref: Kraken gives all of
# them 0 (kraken-ws-v2.md section 4.11; what the venue does with it is undocumented, and the
# simulator cancelled all 10 resting quotes of `batch_cancel([0, id])`). Refused unless asked for.
_ZERO_USERREF = (
    "order_userref 0 is the userref of every order placed without one, so a cancel naming it "
    "may cancel all of them; pass allow_userref_zero=True if that is what you mean"
)

# ASCII control characters (newline, tab, NUL, ESC, DEL...): the fast path deletes them from the
# joined ids' bytes in one C pass (cheaper than str.isprintable's Unicode lookups).
_CONTROL = bytes(range(32)) + b"\x7f"


# cl_ord_id formats (docs.kraken.com/api/docs/guides/spot-clordid): a long UUID, a 32-hex short
# UUID, or free text of at most 18 printable ASCII characters.
_CL_ORD_ID = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"|[0-9A-Fa-f]{32}|[\x21-\x7e][\x20-\x7e]{0,17}"
)


def check_timeout(value: Any, field: str = "timeout") -> float:
    """``value`` as seconds: a real number (not bool), finite, > 0 and at most a day.

    Raises:
        ValidationError: anything else (``nan``, ``inf``, ``-5``, ``"1"``, ``True``).
    """
    t = type(value)
    if (t is float or t is int) and 0 < value <= MAX_TIMEOUT:
        return float(value)  # NaN fails the comparison above
    if t is not bool and isinstance(value, int | float) and math.isfinite(value):
        if 0 < value <= MAX_TIMEOUT:
            return float(value)
    raise ValidationError(
        f"{field} must be a number of seconds > 0 and <= {MAX_TIMEOUT:.0f}, got {value!r}",
        field=field,
        value=value,
    )


def check_confirm(value: Any) -> float | bool:
    """``confirm=``: ``False``, ``True`` (wait up to the call's timeout) or seconds > 0."""
    if value is False or value is True:
        return value
    return check_timeout(value, "confirm")


def _shape(ids: Any, field: str) -> Sequence[Any]:
    """The ids as a sequence, refusing shapes that would surprise: a single id (a str would be
    iterated per character), a mapping (keys or values?), or anything not iterable. A set is
    fine (a cancel has no order); an iterator is read exactly once."""
    if isinstance(ids, str | bytes | bytearray | memoryview):
        raise ValidationError(
            f"{field} must be a list of ids, not a single {type(ids).__name__} {ids!r:.80}",
            field=field,
            value=ids if isinstance(ids, str) else None,
        )
    if isinstance(ids, Mapping):
        raise ValidationError(
            f"{field} must be a list of ids, not a {type(ids).__name__} (keys or values?)",
            field=field,
            value=None,
        )
    if isinstance(ids, list | tuple):
        return ids
    try:
        return list(ids)
    except TypeError:
        raise ValidationError(
            f"{field} must be a list of ids, got {type(ids).__name__}", field=field, value=None
        ) from None


def check_order_ids(
    ids: Iterable[Any], field: str = "orders", *, allow_userref_zero: bool | None = None
) -> list[str]:
    """Return ``ids`` as a new list of strings (ints become decimal strings).

    Each id is a plain ``str`` of 1..`MAX_ID_LEN` printable ASCII characters (Kraken's ids
    are all ASCII; a newline, tab, NUL or ESC is refused) or an ``order_userref`` int in
    0..2**31-1. In ``orders`` (the field of batch_cancel and cancel_orders, where a number is
    an ``order_userref``) the userref 0, as an int or a string of zeros, is refused unless
    ``allow_userref_zero`` is true: it names every order placed without a userref. Other
    fields (``order_id``, ``cl_ord_id``) allow it unless ``allow_userref_zero`` is false.

    Raises:
        ValidationError: a value that is not such a string or int, or a duplicate; the message
            names the field, the index and the value.
    """
    allow_zero = allow_userref_zero if allow_userref_zero is not None else field != "orders"
    if type(ids) is list or type(ids) is tuple:
        # Fast path, all in C: every item a str, none empty, none repeated, all printable
        # ASCII, short, none a userref 0 (unless allowed).
        try:
            seen = set(ids)
            # str.join raises TypeError on any non-str item: the cheapest type check in C.
            joined = " ".join(ids)
            data = joined.encode()  # for the control-character check, one C pass
            if (
                len(seen) == len(ids)
                and "" not in seen
                and joined.isascii()
                and len(data.translate(None, _CONTROL)) == len(data)
                and (not ids or max(map(len, ids)) <= MAX_ID_LEN)
                # an id starting with "0" (rare: a userref 0 or "00") takes the exact path
                and (allow_zero or not (joined[:1] == "0" or " 0" in joined))
            ):
                # A str subclass passes here; the encoder refuses it and the session turns that
                # into a ValidationError through recheck_ids() before anything is registered.
                return list(ids)
        except Exception:  # unhashable, non-str, hostile __hash__: the slow path names them
            pass
    out = _slow_ids(_shape(ids, field), field)
    if len(set(out)) != len(out):
        _raise_duplicate(out, field)
    if not allow_zero:
        for i, v in enumerate(out):
            if v.isdigit() and not v.strip("0"):
                raise ValidationError(f"{field}[{i}] {v!r}: {_ZERO_USERREF}", field=field, value=v)
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
            if len(v) > MAX_ID_LEN:
                raise ValidationError(
                    f"{field}[{i}] is {len(v)} characters long; ids are at most {MAX_ID_LEN}",
                    field=field,
                    value=v[:MAX_ID_LEN] + "...",
                )
            if not v.isascii() or not v.isprintable():
                raise ValidationError(
                    f"{field}[{i}] {v!r} has characters outside printable ASCII (a control "
                    "character such as newline, tab, NUL or ESC, or non-ASCII); Kraken's ids "
                    "are printable ASCII",
                    field=field,
                    value=v.encode("ascii", "backslashreplace").decode(),
                )
            out.append(v)
        elif type(v) is int and 0 <= v < 2**31:  # order_userref numbers go as strings ("1")
            out.append(str(v))
        else:
            raise ValidationError(
                f"{field}[{i}] must be an order id str or an order_userref int in 0..2**31-1, "
                f"got {type(v).__name__} {_short(v)}",
                field=field,
                value=v if type(v) is int else None,
            )
    return out


def recheck_ids(ids: Sequence[Any], field: str) -> None:
    """Raise the precise [`ValidationError`][krakenwire.ValidationError] for ids that passed the
    fast path but that the encoder refused (a ``str`` subclass)."""
    _slow_ids(ids, field)


def _short(v: Any) -> str:
    try:
        text = repr(v)
    except Exception:
        text = f"<{type(v).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _raise_duplicate(ids: Sequence[str], field: str) -> None:
    seen: set[str] = set()
    for v in ids:
        if v in seen:
            raise ValidationError(f"{field} names {v!r} more than once", field=field, value=v)
        seen.add(v)


def check_cl_ord_ids(ids: Iterable[Any]) -> list[str]:
    """Like `check_order_ids` for ``cl_ord_id``, also checking Kraken's id formats (a
    cl_ord_id ``"0"`` is free text, not a userref: no zero rule here)."""
    out = check_order_ids(ids, "cl_ord_id")
    match = _CL_ORD_ID.fullmatch
    for i, v in enumerate(out):
        if match(v) is None:
            raise ValidationError(
                f"cl_ord_id[{i}] {v!r} is not a UUID, 32 hex digits or at most 18 ASCII characters",
                field="cl_ord_id",
                value=v,
            )
    return out


def check_userrefs(refs: Iterable[Any], *, allow_userref_zero: bool = False) -> list[int]:
    """``order_userref`` values: non-negative ints (32-bit, as Kraken stores them); 0 refused
    when ``allow_userref_zero`` is false (every cancel's default: see `check_order_ids`)."""
    out: list[int] = []
    for i, v in enumerate(_shape(refs, "order_userref")):
        if type(v) is not int or not 0 <= v < 2**31:
            raise ValidationError(
                f"order_userref[{i}] must be an int in 0..2**31-1, got {v!r}",
                field="order_userref",
                value=v,
            )
        if v == 0 and not allow_userref_zero:
            raise ValidationError(
                f"order_userref[{i}] 0: {_ZERO_USERREF}", field="order_userref", value=0
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


def check_flag(name: str, value: Any, none_ok: bool = True) -> None:
    if type(value) is not bool and not (none_ok and value is None):
        raise ValidationError(f"{name} must be a bool, got {value!r}", field=name, value=value)


def given_fields(args: dict[str, Any]) -> dict[str, Any]:
    """A call's own arguments (``locals()`` at its start) as the builder's fields."""
    return {k: v for k, v in args.items() if k not in ("self", "timeout", "secs")}


def check_on_done(fn: Any) -> None:
    if not callable(fn):
        raise ValidationError("on_done must be callable", field="on_done", value=None)
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    ):
        raise ValidationError(
            "on_done must be a plain function: it runs inside the frame callback, where a "
            "coroutine would never be awaited (wrap it: lambda r: loop.create_task(f(r)))",
            field="on_done",
            value=None,
        )
