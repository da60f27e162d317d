"""Tolerant reading of reply results, strict reporting of what could not be read.

A reply that says ``success: true`` means the request executed, whatever else it looks like:
a result field we cannot read becomes ``None``, the problem becomes a ``shape_warnings`` entry on
the result, and the mismatch is counted and logged (rate-limited) here. It is never turned into
an unknown outcome. The common case (the documented shape) costs one C decode, as before; only a
reply that fails it is read again field by field. Sans-IO: no asyncio, no picows.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from . import _messages as m

__all__ = [
    "MISMATCHES",
    "NO_WARNINGS",
    "ShapeCounter",
    "accepted",
    "mismatch",
    "read",
    "read_count",
    "read_rows",
]

log = logging.getLogger("krakenwire")

NO_WARNINGS: tuple[str, ...] = ()
_decode_any = msgspec.json.decode
_encode = msgspec.json.encode
_decode_count = m.BATCH_CANCEL_DECODER.decode
_decode_int = msgspec.json.Decoder(int).decode
_DecodeError = msgspec.DecodeError  # msgspec.ValidationError is a subclass


class ShapeCounter:
    """Replies whose shape differed from the documented one, in this process.

    ``count`` grows by one per reply (not per field). ``ClientStats.shape_mismatches`` reads the
    per-connection count when the session keeps one, this counter otherwise.
    """

    __slots__ = ("count", "last")

    def __init__(self) -> None:
        self.count = 0
        self.last: tuple[str, tuple[str, ...]] | None = None  # (method, warnings) of the last


MISMATCHES = ShapeCounter()


def mismatch(method: str, problems: list[str]) -> tuple[str, ...]:
    """Count and log one reply of ``method`` that could not be fully read; return the
    warnings to put on its result. Logged for the first 10 and every 1000th after."""
    out = tuple(problems)
    MISMATCHES.count += 1
    MISMATCHES.last = (method, out)
    n = MISMATCHES.count
    if n <= 10 or n % 1000 == 0:
        log.warning(
            "krakenwire: %s reply differs from the documented shape (%d so far): %s",
            method,
            n,
            "; ".join(out),
        )
    return out


def accepted(r: m.Reply) -> bool:
    """Kraken accepted the request: ``success: true``, or (a reply without ``success``) a
    result and no error. The rest is a refusal or unreadable (`errors.reply_error`)."""
    s = r.success
    return s is True or (s is None and not r.error and bool(r.result or r.orders_cancelled))


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _by_field(typ: Any, raw: msgspec.Raw, problems: list[str]) -> Any:
    """``typ`` built field by field from ``raw``: what fits its type, None for the rest."""
    try:
        obj = _decode_any(raw)
    except _DecodeError:
        problems.append("result is not JSON")
        return typ()
    if type(obj) is not dict:
        problems.append(f"result is a {type(obj).__name__}, not an object")
        return typ()
    kw: dict[str, Any] = {}
    for f in msgspec.structs.fields(typ):
        if f.encode_name not in obj:
            continue
        value = obj[f.encode_name]
        try:
            if f.type is msgspec.Raw:  # the raw warnings list: checked, kept as JSON
                msgspec.convert(value, list[str])
                kw[f.name] = msgspec.Raw(_encode(value))
            else:
                kw[f.name] = msgspec.convert(value, f.type)
        except msgspec.ValidationError:
            problems.append(f"unreadable {f.encode_name}: {_short(value)}")
    return typ(**kw)


def read(
    decoder: msgspec.json.Decoder[Any], r: m.Reply, required: tuple[str, ...]
) -> tuple[Any, list[str]]:
    """The ``result`` of an accepted reply as ``decoder``'s Struct, and what could not be read:
    a missing result, a field of another type, a ``required`` field absent."""
    problems: list[str] = []
    if r.success is None:
        problems.append("no success field")
    raw = r.result
    if not raw:
        problems.append("no result")
        return decoder.type(), problems
    try:
        w = decoder.decode(raw)
    except _DecodeError:
        w = _by_field(decoder.type, raw, problems)
    for name in required:
        unreadable = f"unreadable {name}"
        if getattr(w, name) is None and not any(p.startswith(unreadable) for p in problems):
            problems.append(f"no {name}")
    return w, problems


def read_count(r: m.Reply, method: str) -> tuple[int | None, bytes, tuple[str, ...]]:
    """``(count, raw warnings, shape warnings)`` of an accepted batch_cancel/cancel_all reply.

    The count comes from ``result.count`` (Kraken's page) or the top-level
    ``orders_cancelled`` (the shape recorded from the venue); both give the same result and
    neither is a mismatch. Anything else: count ``None`` and a counted mismatch.
    """
    raw = r.result
    if raw and r.success is True:
        try:
            w = _decode_count(raw)
        except _DecodeError:
            pass
        else:
            count = w.count
            if count is not None:
                return count, bytes(w.warnings) if w.warnings else b"", NO_WARNINGS
    w, problems = read(m.BATCH_CANCEL_DECODER, r, ())
    warnings = bytes(w.warnings) if w.warnings else b""
    count = w.count
    if r.orders_cancelled:
        if not raw:
            problems.remove("no result")  # the recorded shape: no result is expected
        try:
            recorded = _decode_int(r.orders_cancelled)
        except _DecodeError:
            problems.append(f"unreadable orders_cancelled: {bytes(r.orders_cancelled)[:40]!r}")
        else:
            count = recorded if count is None else count
    if count is None and not any(p.startswith("unreadable") for p in problems):
        problems.append("no count (neither result.count nor orders_cancelled)")
    return count, warnings, mismatch(method, problems) if problems else NO_WARNINGS


def read_rows(r: m.Reply) -> tuple[list[m.BatchAddRowWire], list[str]]:
    """The rows of a batch_add result (an array), each read on its own: a row we cannot read
    keeps its place (ids ``None``) so the others still line up with the request."""
    problems: list[str] = []
    if r.success is None:
        problems.append("no success field")
    try:
        return m.BATCH_ADD_DECODER.decode(r.result), problems
    except _DecodeError:
        pass
    try:
        obj = _decode_any(r.result)
    except _DecodeError:
        problems.append("result is not JSON")
        return [], problems
    if type(obj) is not list:
        problems.append(f"result is a {type(obj).__name__}, not an array")
        return [], problems
    rows = []
    for i, item in enumerate(obj):
        sub: list[str] = []
        rows.append(_by_field(m.BatchAddRowWire, msgspec.Raw(_encode(item)), sub))
        problems.extend(f"row {i}: {p}" for p in sub)
    return rows, problems
