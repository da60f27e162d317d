"""The cancels: ``batch_cancel``, ``cancel_order``, ``cancel_all``, ``cancel_all_orders_after``.

Each method's builder (validate arguments into a `Call`), settle function (one reply
into a typed result or error), the rules for a request with several copies (hedged, failed
over: what one copy proves, how copies merge) and its table row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from .. import _messages as m
from .. import _results as res
from .. import _shapes
from .._validate import check_batch_size, check_cl_ord_ids, check_order_ids, check_userrefs
from ..errors import KrakenwireError, ValidationError
from ._spec import Call, Completion, Kind, MethodSpec, error

__all__ = [
    "BATCH_CANCEL",
    "CANCEL_AFTER",
    "CANCEL_ALL",
    "CANCEL_ORDER",
    "ROWS",
    "batch_cancel",
    "batch_cancel_checked",
    "cancel_after",
    "cancel_all",
    "cancel_order",
    "cancel_order_reply",
    "finish_cancel_order",
    "remaining",
    "reply_key",
]

_accepted = _shapes.accepted
_read_count = _shapes.read_count
_encode_warnings = msgspec.json.Encoder().encode


# ---- settle: one reply -> result ----------------------------------------------------------


def _batch_cancel(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not _accepted(r):
        return error(r, "batch_cancel")
    # result.count or the recorded top-level orders_cancelled; bytes (the frame's buffer is
    # reused by picows after this callback); unreadable -> None + shape_warnings.
    count, warnings_raw, shape = _read_count(r, "batch_cancel")
    cids = call.cl_ord_ids
    return res.BatchCancelResult(
        count=count,
        warnings_raw=warnings_raw,
        shape_warnings=shape,
        orders=call.ids,
        cl_ord_id=cids if cids else [],  # its own list: a result is the caller's to keep
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def _cancel_all(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not _accepted(r):
        return error(r, "cancel_all")
    count, warnings_raw, shape = _read_count(r, "cancel_all")
    return res.CancelAllResult(
        count=count,
        warnings_raw=warnings_raw,
        shape_warnings=shape,
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def _cancel_after(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not _accepted(r):
        return error(r, "cancel_all_orders_after")
    w, problems = _shapes.read(m.CANCEL_AFTER_DECODER, r, ("currentTime",))
    return res.CancelAfterResult(
        current_time_raw=w.currentTime or "",
        trigger_time_raw=w.triggerTime,
        warnings=w.warnings,
        shape_warnings=_shapes.mismatch(call.spec.name, problems) if problems else (),
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def cancel_order_reply(r: m.Reply) -> res.CancelOrderReply:
    """One successful ``cancel_order`` reply as a `res.CancelOrderReply` (a missing or
    unreadable ``order_id`` is ``""`` with ``shape_warnings``: one order was cancelled)."""
    w, problems = _shapes.read(m.CANCEL_ORDER_DECODER, r, ("order_id",))
    if problems:
        shape = _shapes.mismatch("cancel_order", problems)
        return res.CancelOrderReply(w.order_id or "", w.cl_ord_id, None, w.warnings, shape)
    return res.CancelOrderReply(w.order_id, w.cl_ord_id, None, w.warnings)


def finish_cancel_order(
    replies: list[res.CancelOrderReply], rid: int, latency: int, time_in: str, time_out: str
) -> res.CancelOrderResult:
    shape = tuple(w for p in replies for w in p.shape_warnings)
    return res.CancelOrderResult(
        replies=replies,
        shape_warnings=shape,
        req_id=rid,
        latency_ns=latency,
        time_in_raw=time_in,
        time_out_raw=time_out,
    )


def reply_key(call: Call, part: res.CancelOrderReply) -> str | None:
    """Which requested order a cancel_order reply answers (None: one it did not name)."""
    if not part.order_id and part.shape_warnings:
        return f"?{id(part):x}"  # a success we could not attribute: it still answers one
    if call.key == "order_id":
        return part.order_id if part.order_id in call.ids else None
    if call.key == "cl_ord_id" and part.cl_ord_id is not None:
        return part.cl_ord_id if part.cl_ord_id in call.cl_ord_ids else None
    return "#" + part.order_id  # by userref (or a cl_ord_id reply without it): per order


# ---- several copies: proof and merge -------------------------------------------------------


def _names_userrefs(call: Call) -> bool:
    return any(i.isdigit() for i in call.ids)


def _count_proves(request: Call, copy: Call, result: Any) -> bool:
    # Every id named was cancelled by this copy: nothing is left for the twin to add. A userref
    # may name several orders, so a count says nothing about each id then.
    n = result.count  # None: Kraken said success but the count was unreadable
    return n is not None and not _names_userrefs(copy) and n >= len(copy.all_ids)


def _merge_counts(request: Call, outs: list[Any]) -> Any:
    wins = [o for o in outs if not isinstance(o, KrakenwireError)]
    base = wins[0]
    if len(wins) == 1:
        return base
    warnings = [w for o in wins for w in o.warnings]
    counts = [o.count for o in wins]
    return msgspec.structs.replace(
        base,
        # An order is cancelled once: the counts add up (unknown if one is unreadable).
        count=None if None in counts else sum(counts),
        shape_warnings=tuple(w for o in wins for w in o.shape_warnings),
        warnings_raw=_encode_warnings(warnings) if warnings else b"",
    )


def _order_proves(request: Call, copy: Call, result: Any) -> bool:
    if copy.key == "order_userref":
        return False  # how many orders a userref names is not in the request
    return result.ok and len(result.replies) >= len(copy.all_ids)


def _merge_orders(request: Call, outs: list[Any]) -> Any:
    """Every order cancelled by any copy (a partial reply of a lost copy included), and as
    many of the copies' errors as orders are left unanswered."""
    parts: list[res.CancelOrderReply] = []
    base: res.CancelOrderResult | None = None
    for o in outs:
        if isinstance(o, res.CancelOrderResult):
            base = base or o
            parts.extend(o.replies)
        elif isinstance(o, KrakenwireError):
            parts.extend(
                p for p in getattr(o, "replies", ()) if isinstance(p, res.CancelOrderReply)
            )
    assert base is not None
    done: dict[str, res.CancelOrderReply] = {}
    errors: list[res.CancelOrderReply] = []
    for p in parts:
        if p.error is None:
            done.setdefault(p.order_id or p.cl_ord_id or "", p)
        else:
            errors.append(p)
    named = len(request.all_ids) if request.key != "order_userref" else len(done)
    left = max(0, named - len(done))
    merged = [*done.values(), *errors[:left]]
    return msgspec.structs.replace(base, replies=merged)


def _stream_confirms(request: Call, outs: list[Any], closed: Callable[[str], str | None]) -> Any:
    """A batch_cancel of order ids only, every one of which the executions stream shows
    cancelled: whichever copy did it, the named orders are gone; ``count`` is the ids named
    (a warning says the count comes from the stream)."""
    ids = request.ids
    if request.cl_ord_ids or _names_userrefs(request):
        return None
    if not all(closed(i) == "canceled" for i in ids):
        return None
    base = _merge_counts(request, outs)
    note = "count from the executions stream: a copy's socket died before its reply"
    return msgspec.structs.replace(
        base, count=len(ids), warnings_raw=_encode_warnings([*base.warnings, note])
    )


def _any_proves(request: Call, copy: Call, result: Any) -> bool:
    return True  # the dead man's switch: either copy arms the same timer


def remaining(call: Call, replies: list[res.CancelOrderReply]) -> Call:
    """What a failover re-sends: the part of a multi-reply cancel still unanswered, or a copy
    of the whole request."""
    if not replies or call.key not in ("order_id", "cl_ord_id"):
        return call.copy()
    if call.key == "order_id":
        done = {r.order_id for r in replies if r.error is None}
        return cancel_order([i for i in call.ids if i not in done] or call.ids)
    done = {r.cl_ord_id or "" for r in replies if r.error is None}
    left = [i for i in call.cl_ord_ids if i not in done]
    return cancel_order(cl_ord_id=left or call.cl_ord_ids)


# ---- the table rows ------------------------------------------------------------------------

_C = Kind.CANCEL
BATCH_CANCEL = MethodSpec(
    "batch_cancel", m.BatchCancel, _C, True, Completion.ONE, _batch_cancel,
    res.BatchCancelResult, proves=_count_proves, merge=_merge_counts,
    confirmed=_stream_confirms,
)  # fmt: skip
CANCEL_ORDER = MethodSpec(
    "cancel_order", m.CancelOrder, _C, True, Completion.PER_ID, None,
    res.CancelOrderResult, proves=_order_proves, merge=_merge_orders,
)  # fmt: skip
# cancel_all: a copy never proves the whole at once (its twin may still cancel an order placed
# in between); the copies' counts add up.
CANCEL_ALL = MethodSpec(
    "cancel_all", m.CancelAll, _C, True, Completion.ONE, _cancel_all,
    res.CancelAllResult, merge=_merge_counts,
)  # fmt: skip
CANCEL_AFTER = MethodSpec(
    "cancel_all_orders_after", m.CancelAllOrdersAfter, _C, True, Completion.ONE, _cancel_after,
    res.CancelAfterResult, proves=_any_proves,
)  # fmt: skip
_CANCEL_BY_REF = MethodSpec(
    "cancel_order", m.CancelOrder, _C, True, Completion.PER_MATCHED_ORDER, None,
    res.CancelOrderResult, proves=_order_proves, merge=_merge_orders,
)  # fmt: skip
ROWS = (BATCH_CANCEL, CANCEL_ORDER, CANCEL_ALL, CANCEL_AFTER)


# ---- builders ------------------------------------------------------------------------------


def batch_cancel(
    orders: Iterable[Any],
    cl_ord_id: Iterable[Any] | None = None,
    *,
    unified: bool = False,
    allow_userref_zero: bool = False,
) -> Call:
    """One ``batch_cancel`` of 2..50 ids (orders + cl_ord_id together).

    Args:
        orders: Kraken order ids or ``order_userref`` numbers (ints become strings).
        cl_ord_id: client order ids, optional.
        unified: the unified-WS variant (``asset_class``; no order_userref).
        allow_userref_zero: send the ``order_userref`` 0 (refused by default: it is the
            userref of every order placed without one).

    Raises:
        ValidationError: bad ids or count, a control character in an id, a userref 0.
    """
    ids = check_order_ids(orders, allow_userref_zero=allow_userref_zero)
    if unified:
        _check_unified(ids)
    cids = check_cl_ord_ids(cl_ord_id) if cl_ord_id is not None else None
    check_batch_size(len(ids) + (len(cids) if cids else 0))
    params = m.BatchCancelParams(ids, "", cids or None, "spot" if unified else None)
    return Call(BATCH_CANCEL, m.BatchCancel(params, 0), params, ids, cids or None)


def batch_cancel_checked(
    ids: list[str], cids: list[str] | None = None, unified: bool = False
) -> Call:
    """`batch_cancel` for ids already validated (a chunk of ``cancel_orders``)."""
    params = m.BatchCancelParams(ids, "", cids, "spot" if unified else None)
    return Call(BATCH_CANCEL, m.BatchCancel(params, 0), params, ids, cids)


def cancel_order(
    order_id: Iterable[Any] | None = None,
    cl_ord_id: Iterable[Any] | None = None,
    order_userref: Iterable[Any] | None = None,
    *,
    matched: Callable[[int], int] | None = None,
    allow_userref_zero: bool = False,
) -> Call:
    """One ``cancel_order`` naming one kind of id (Kraken's rule); Kraken answers once per
    order.

    Completion: one reply per ``order_id``/``cl_ord_id``; an ``order_userref`` may name several
    orders, and how many is not in the request: the router completes it from the executions
    stream (``matched`` is accepted for compatibility and unused). The userref 0 is refused
    unless ``allow_userref_zero`` (it names every order placed without a userref).
    """
    given = [
        k
        for k, v in (
            ("order_id", order_id),
            ("cl_ord_id", cl_ord_id),
            ("order_userref", order_userref),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValidationError(
            "cancel_order takes exactly one of order_id, cl_ord_id, order_userref; got "
            + (", ".join(given) or "none"),
            field="order_id",
            value=given,
        )
    spec = CANCEL_ORDER
    if order_id is not None:
        ids = check_order_ids(order_id, "order_id")
        params = m.CancelOrderParams("", order_id=ids)
        key = "order_id"
    elif cl_ord_id is not None:
        ids = check_cl_ord_ids(cl_ord_id)
        params = m.CancelOrderParams("", cl_ord_id=ids)
        key = "cl_ord_id"
    else:
        refs = check_userrefs(order_userref or (), allow_userref_zero=allow_userref_zero)
        params = m.CancelOrderParams("", order_userref=refs)
        ids = [str(r) for r in refs]
        key = "order_userref"
        spec = _CANCEL_BY_REF
    if not ids:
        raise ValidationError("cancel_order needs at least one id", field=given[0], value=0)
    req = m.CancelOrder(params, 0)
    if key == "cl_ord_id":
        return Call(spec, req, params, [], ids, len(ids), key)
    return Call(spec, req, params, ids, None, len(ids), key)


def cancel_all() -> Call:
    params = m.TokenParams("")
    return Call(CANCEL_ALL, m.CancelAll(params, 0), params, [])


def cancel_after(timeout: Any) -> Call:
    """``cancel_all_orders_after``: ``timeout`` whole seconds, 0..86399 (0 disarms)."""
    if type(timeout) is not int or not 0 <= timeout < 86400:
        raise ValidationError(
            f"cancel_after timeout must be an int in 0..86399, got {timeout!r}",
            field="timeout",
            value=timeout,
        )
    params = m.CancelAfterParams(timeout, "")
    return Call(CANCEL_AFTER, m.CancelAllOrdersAfter(params, 0), params, [])


def _check_unified(ids: list[str]) -> None:
    # Unified WS batch_cancel takes Kraken order ids only: no order_userref (§4.2).
    for v in ids:
        if v.isdigit():
            raise ValidationError(
                f"the unified batch_cancel takes no order_userref, got {v!r} in orders",
                field="orders",
                value=v,
            )
