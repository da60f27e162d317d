"""The records the router keeps per request, and the pure rules that decide from them.

A `Copy` is one frame of a request on one connection; a `Fate` is the caller's
side of a request with several copies (hedged, failed over, re-sent for a new token); a
`Group` the chunks of one ``cancel_orders``; `Refs` what the executions stream
said about the orders a userref cancel names. `merge` decides a multi-copy request's
outcome, `refs_complete` when a userref cancel has all its replies.

Vocabulary: a *request* is what a caller waits on (its ``handle``); a *copy* is one frame of it
on one connection (its own ``req_id``). A plain request is one copy whose ``req_id`` is its
handle. A hedged request has two copies (one per socket); a request re-sent by a failover has the
dead copy and the new one. Every copy gets its own audit event (an intent is paired with its own
outcome by ``req_id``); the caller gets one outcome, merged by the rules of
`krakenwire.methods` (``spec.proves``/``spec.merge``): a copy settles a request early only
with a reply that proves the whole outcome; otherwise every copy is awaited and merged, and an
error from one copy is never the answer while another may have executed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _messages as m
from .._results import CancelOrderReply, CancelOrdersResult, ChunkOutcome
from ..errors import KrakenwireError, NotExecuted, OutcomeUnknown, RequestTimeout, reply_error
from ..methods import PER_ORDER_ERRORS, Call, cancel_order_reply, finish_cancel_order, reply_key
from ._events import Unmatched

__all__ = [
    "OPEN",
    "QUIET_NS",
    "Copy",
    "Fate",
    "Group",
    "Refs",
    "assemble",
    "collected",
    "mark",
    "new_refs",
    "merge",
    "ok",
    "record_part",
    "refs_complete",
    "timed_out",
    "unknown",
    "waits_for_stream",
]

# A userref cancel without an executions view ends this long after its last reply ("complete as
# far as known": Kraken's replies for one request leave together; nothing says how many).
QUIET_NS = 20_000_000


class Copy:
    """One frame of a request on one connection (internal)."""

    __slots__ = (
        "rid",
        "conn",
        "call",
        "sent_ns",
        "deadline",
        "replies",
        "seen",
        "held",
        "view",
        "gen",
        "fate",
        "group",
        "chunk",
        "refs",
    )

    def __init__(
        self, rid: int, conn: int, call: Call, now_ns: int, deadline: int, view: Any, gen: int
    ) -> None:
        self.rid = rid
        self.conn = conn
        self.call = call
        self.sent_ns = now_ns
        self.deadline = deadline
        self.replies: list[CancelOrderReply] | None = None
        self.seen: set[str] | None = None
        self.held: KrakenwireError | None = None  # the stale-token rejection, while held
        self.view = view
        self.gen = gen
        self.fate: Fate | None = None  # set when the request has (or had) more than one copy
        self.group: Group | None = None  # set for a chunk of one cancel_orders
        self.chunk = 0  # which chunk of the group
        self.refs: Refs | None = None  # set for a cancel_order by order_userref


class Fate:
    """The caller's side of a request with several copies: their outcomes, merged."""

    __slots__ = ("handle", "call", "copies", "outcomes", "failed_over", "hedged", "closed")

    def __init__(self, handle: int, call: Call, hedged: bool) -> None:
        self.handle = handle
        self.call = call
        self.copies: list[Copy] = []
        self.outcomes: list[Any] = []  # per copy: a result, an error, or OPEN
        self.failed_over = False
        self.hedged = hedged
        self.closed = False  # settled: a copy still open is only audited when it ends


class Group:
    """The chunks of one ``cancel_orders``: one outcome for the caller when the last settles."""

    __slots__ = ("handle", "parts", "outcomes", "left", "unsent")

    def __init__(self, handle: int, parts: list[list[str]]) -> None:
        self.handle = handle
        self.parts = parts
        self.outcomes: list[Any] = [None] * len(parts)
        self.left = len(parts)
        self.unsent: KrakenwireError | None = None


class Refs:
    """What the executions stream said about the orders a userref cancel names."""

    __slots__ = ("known", "closed", "last_ns", "exact")

    def __init__(self, known: set[str] | None) -> None:
        self.known = known  # open orders with these userrefs (None: no view to ask)
        self.closed: dict[str, str] = {}  # order_id -> closing status, seen since the send
        self.last_ns = 0  # when the last reply arrived
        self.exact = known is not None


OPEN: Any = object()  # a copy still on the wire


def merge(fate: Fate, latest: int, closed: Callable[[str], str | None] | None) -> Any:
    """The outcome of a request with several copies, or ``OPEN`` while a copy may still
    change it (``closed``: the executions view's closing status of an order)."""
    spec = fate.call.spec
    outs = fate.outcomes
    got = outs[latest]
    if not isinstance(got, KrakenwireError):
        proves = spec.proves
        if proves is not None and proves(fate.call, fate.copies[latest].call, got):
            return mark(fate, spec.merge(fate.call, [o for o in outs if o is not OPEN]))
    if OPEN in outs:
        return OPEN
    wins = [o for o in outs if ok(o)]
    unknown = next((o for o in outs if isinstance(o, OutcomeUnknown)), None)
    if unknown is not None:
        confirmed = spec.confirmed
        if confirmed is not None and wins and closed is not None:
            # The executions stream may know: every order named closed by a cancel.
            known = confirmed(fate.call, outs, closed)
            if known is not None:
                return mark(fate, known)
        # A copy may have executed and nothing proves the whole: the outcome is unknown,
        # with what the other copies answered.
        unknown.replies = (*unknown.replies, *wins)
        return unknown
    if wins:
        return mark(fate, spec.merge(fate.call, outs))
    # Every copy was refused: nothing executed. The first copy's refusal is the answer.
    return next(o for o in outs if isinstance(o, NotExecuted))


def mark(fate: Fate, result: Any) -> Any:
    if fate.failed_over and hasattr(result, "failed_over"):
        result.failed_over = True
    if fate.hedged and hasattr(result, "hedged"):
        result.hedged = True
    return result


def refs_complete(c: Copy, refs: Refs) -> bool:
    """A userref cancel is complete when every order the view knows for its userrefs
    is answered or closed, and the stream has caught up with the engine (it showed a
    cancel since the send, or every reply was an error); without a view, see tick()."""
    if refs.known is None or not c.replies:
        return False
    answered = c.seen or set()
    for oid in refs.known:
        if "#" + oid not in answered and oid not in refs.closed:
            return False
    # A cancel event since the send: the stream has passed the engine's handling of a
    # cancel (a fill may predate ours, so it proves nothing).
    return "canceled" in refs.closed.values() or not answered


def collected(c: Copy, now_ns: int, time_in: str = "", time_out: str = "") -> Any:
    replies = list(c.replies or ())
    refs = c.refs
    if refs is not None:
        answered = {p.order_id for p in replies if p.error is None}
        for oid, status in refs.closed.items():
            if status == "canceled" and oid not in answered:
                replies.append(
                    CancelOrderReply(
                        oid, None, None, ["cancelled per the executions stream (no reply)"]
                    )
                )
    res = finish_cancel_order(replies, c.rid, now_ns - c.sent_ns, time_in, time_out)
    if refs is not None:
        res.exact = refs.exact
    return res


def ok(o: Any) -> bool:
    return o is not OPEN and not isinstance(o, KrakenwireError)


def assemble(group: Group) -> CancelOrdersResult:
    """One `CancelOrdersResult` from each chunk's outcome (and the unsent rest)."""
    chunks = []
    for part, out in zip(group.parts, group.outcomes, strict=True):
        if isinstance(out, KrakenwireError):
            chunks.append(ChunkOutcome(list(part), None, out))
        else:
            chunks.append(ChunkOutcome(list(part), out, None))
    return CancelOrdersResult(chunks)


def new_refs(call: Call, lookup: Callable[[int], list[str] | None] | None) -> Refs:
    """What a userref cancel starts from: the open orders the view holds for its userrefs
    (``None`` when there is no view to ask, or it is not ready)."""
    known: set[str] | None = None
    if lookup is not None:
        known = set()
        for ref in call.ids:
            found = lookup(int(ref))
            if found is None:  # the view is not ready: nothing to complete from
                return Refs(None)
            known.update(found)
    return Refs(known)


def unknown(c: Copy, cls: type[Any], why: str) -> KrakenwireError:
    """The ``OutcomeUnknown`` (``cls``) of copy ``c``, with the replies it got."""
    name, ids = c.call.spec.name, c.call.all_ids
    err: KrakenwireError = cls(
        f"{name} req_id={c.rid} naming {len(ids)} id(s): {why}",
        req_id=c.rid,
        method=name,
        ids=ids,
        replies=c.replies or (),
    )
    return err


def timed_out(c: Copy) -> RequestTimeout:
    """Copy ``c`` got no complete reply by its deadline: the outcome is unknown."""
    return RequestTimeout(
        f"no complete reply to {c.call.spec.name} req_id={c.rid} in time: the outcome "
        "is unknown (it may or may not have executed)",
        req_id=c.rid,
        method=c.call.spec.name,
        ids=c.call.all_ids,
        timeout=round((c.deadline - c.sent_ns) / 1e9, 3),
        partial=c.replies or (),
    )


def waits_for_stream(fate: Fate, final: Any, closed: Callable[[str], str | None] | None) -> bool:
    """Whether ``final`` (unknown: a copy answered but proves only part, and a lost copy may
    have done the rest) may still be settled by the executions stream, whose events can trail
    the reply: a method that reads the stream, a stream to read, and an answer to go with."""
    return (
        isinstance(final, OutcomeUnknown)
        and fate.call.spec.confirmed is not None
        and closed is not None
        and any(ok(o) for o in fate.outcomes)
    )


def record_part(c: Copy, r: m.Reply) -> Any:
    """Record one reply of a multi-reply request (``cancel_order``) on copy ``c``.

    Returns:
        the `CancelOrderReply` recorded; an `Unmatched` for a reply that answers no order
        of the request or repeats one (never counted twice); or the error of a first reply
        that rejects the whole request. An error answers one order; as the FIRST reply only
        the per-order errors do.
    """
    replies = c.replies
    if replies is None:
        replies = c.replies = []
        c.seen = set()
    seen = c.seen
    assert seen is not None
    if r.success:
        part = cancel_order_reply(r)
        key = reply_key(c.call, part)
        if key is None:
            return Unmatched(r.method, r.req_id, f"order {part.order_id!r} not in request")
        if key in seen:
            return Unmatched(r.method, r.req_id, f"duplicate reply for {key!r}")
        seen.add(key)
    elif r.success is False and (replies or r.error in PER_ORDER_ERRORS):
        part = CancelOrderReply(error=r.error or "success:false")
    else:
        return reply_error(r.error, r.success, req_id=r.req_id, method=c.call.spec.name)
    replies.append(part)
    return part
