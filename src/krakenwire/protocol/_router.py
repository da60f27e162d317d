"""The sans-IO heart of krakenwire: every request's fate, on every socket, decided in one place.

`Router` owns each request from `Router.send` to its one final outcome (h11's
shape), across the one or two connections of a client: one ``req_id`` space and one table for
both sockets. It decides completion (how many replies a request needs; a duplicate never counts
twice), deadlines (`Router.tick`), connection loss and the failover re-sends
(`Router.connection_lost`), hedged twins (`Router.send_hedged`), the chunks of one
``cancel_orders`` (`Router.send_group`), callers that give up (`Router.abandon`) and
stale-token re-sends. Time comes in as an argument; the module imports neither asyncio nor
picows, so it is tested with literal bytes and no event loop.

The records it keeps and the rules that merge copies are in `_copies`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from .. import _messages as m
from .._notices import classify, flood_notice
from .._views import RequestView
from ..errors import (
    Abandoned,
    ConnectionLost,
    InvalidSession,
    KrakenwireError,
    RemoteProtocolError,
    RiskRejected,
)
from ..methods import (
    Call,
    Completion,
    Kind,
    encode_call,
)
from ..methods import remaining as _remaining
from ._copies import (
    OPEN,
    QUIET_NS,
    Copy,
    Fate,
    Group,
    assemble,
    collected,
    merge,
    new_refs,
    record_part,
    refs_complete,
    timed_out,
    unknown,
    waits_for_stream,
)
from ._events import Absorbed, ChannelFrame, Completed, Event, Failed, Malformed, Stale, Unmatched

__all__ = ["QUIET_NS", "Router"]

_encode = m.ENCODER.encode
_decode_reply = m.REPLY_DECODER.decode
_decode_data = m.DATA_DECODER.decode
_HOUSEKEEPING = Kind.HOUSEKEEPING
_PER_MATCHED = Completion.PER_MATCHED_ORDER
_MAX_ID = 2**31 - 1
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError)


class Router:
    """Protocol state of one client's connections: tokens, req_ids, every pending request.

    Args:
        token: the WebSocket token of every connection at first (never in ``repr``).
        first_req_id: the first ``req_id`` to assign.
        conns: how many connections requests may go to (2 with a warm standby).

    Attributes:
        check: the pre-send risk gate, ``check(view)`` raising `RiskRejected`, or
            ``None``. Every method but housekeeping passes it (fail closed).
        views: build a `RequestView` per copy (plugins want them).
        hold_stale: hold requests rejected for a stale token for one re-send.
        userrefs: ``userrefs(ref) -> order ids`` open in the executions view; ``None`` from
            it, or no function, while the view is not ready (userref cancels then end by
            `QUIET_NS`).
        closed: ``closed(order_id)`` -> how the executions view saw it close
            (``"canceled"``...), or ``None``: settles a failed-over cancel whose dead copy
            may have executed when the stream shows every order it named cancelled.
        unmatched, duplicates, malformed: counters of frames that completed nothing.
        outbox: events produced beside the one `receive` returns (the audit of a
            copy a merge absorbed, a request the executions stream completed); the caller
            drains it.
    """

    def __init__(self, token: str = "", *, first_req_id: int = 1, conns: int = 1) -> None:
        self._tokens = [token] * conns
        self._gens = [0] * conns  # token generation per connection: +1 per set_token
        self._next_id = first_req_id
        self._wire: dict[int, Copy] = {}  # req_id -> copy on the wire (or held)
        self._fates: dict[int, Fate] = {}  # handle -> multi-copy request
        self._groups: dict[int, Group] = {}  # handle -> cancel_orders group
        self._refs: set[Copy] = set()  # userref cancels pending
        # handle -> (fate, copy index, deadline): answered, waiting for the executions stream
        self._stream: dict[int, tuple[Fate, int, int]] = {}
        self.check: Callable[[RequestView], None] | None = None
        self.views = False
        self.hold_stale = False
        self.userrefs: Callable[[int], list[str] | None] | None = None
        self.closed: Callable[[str], str | None] | None = None
        self.unmatched = 0
        self.duplicates = 0
        self.malformed = 0
        self.shape_mismatches = 0
        self.outbox: list[Event] = []

    def __repr__(self) -> str:
        return f"Router(pending={self.pending}, token=<redacted>)"

    def __len__(self) -> int:
        return len(self._wire) + len(self._stream)  # what a sweeper waits for

    @property
    def pending(self) -> int:
        """Copies on the wire or held (a hedged request counts twice)."""
        return len(self._wire)

    @property
    def userrefs_pending(self) -> bool:
        """Requests wait for the executions stream (see `order_seen`)."""
        return bool(self._refs or self._stream)

    def copies(self, handle: int) -> list[int]:
        """The ``req_id`` of every copy of request ``handle``."""
        f = self._fates.get(handle)
        return [c.rid for c in f.copies] if f is not None else [handle]

    def token(self, conn: int = 0) -> str:
        return self._tokens[conn]

    def set_token(self, token: str, conn: int = 0) -> None:
        """Use ``token`` for every request sent on ``conn`` from now on (after a refresh)."""
        self._tokens[conn] = token
        self._gens[conn] += 1

    def view(self, rid: int) -> RequestView | None:
        """The view of a pending copy by its ``req_id`` (``None`` unless views are built)."""
        c = self._wire.get(rid)
        return c.view if c is not None else None

    def pending_handles(self) -> list[int]:
        """The handle of every request with a copy on the wire (each once)."""
        return list(dict.fromkeys(c.fate.handle if c.fate else c.rid for c in self._wire.values()))

    def _new_id(self) -> int:
        rid = self._next_id
        busy = self._wire
        # After 2**31 wraps, a stuck request or a live handle is never shadowed.
        while rid in busy or rid in self._fates or rid in self._groups:
            rid = rid + 1 if rid < _MAX_ID else 1
        self._next_id = rid + 1 if rid < _MAX_ID else 1
        return rid

    # ---- sending --------------------------------------------------------------------------

    def _stage(self, call: Call, conn: int, handle: int = 0) -> tuple[int, RequestView | None]:
        rid = self._new_id()
        call.req.req_id = rid
        if call.params is not None:
            call.params.token = self._tokens[conn]
        if not (self.views or self.check is not None):
            return rid, None
        return rid, call.view(rid, True, handle) if handle else call.view(rid)

    def _gate(self, call: Call, view: RequestView | None) -> None:
        check = self.check
        if check is not None and view is not None and call.spec.kind is not _HOUSEKEEPING:
            try:
                check(view)
            except RiskRejected as exc:
                exc.request = view
                raise

    def _register(
        self, call: Call, rid: int, conn: int, now_ns: int, deadline: int, view: Any
    ) -> Copy:
        c = Copy(rid, conn, call, now_ns, deadline, view, self._gens[conn])
        self._wire[rid] = c
        if call.spec.completion is _PER_MATCHED:
            self._track_refs(c)
        return c

    def send(self, call: Call, now_ns: int, timeout_ns: int, conn: int = 0) -> tuple[int, bytes]:
        """Assign a ``req_id``, run the risk gate, encode and register ``call`` on ``conn``.

        Returns:
            ``(handle, frame bytes)``: the handle (this copy's ``req_id``) is what the caller
            waits on.

        Raises:
            RiskRejected: a plugin vetoed it (``exc.request`` is the view); nothing registered.
            ValidationError: it cannot be encoded; nothing registered.
        """
        rid, view = self._stage(call, conn)
        if view is not None:
            self._gate(call, view)
        data = encode_call(call)
        self._register(call, rid, conn, now_ns, now_ns + timeout_ns, view)
        return rid, data

    def send_hedged(
        self, call: Call, twin: Call, now_ns: int, timeout_ns: int, conns: tuple[int, int] = (0, 1)
    ) -> tuple[int, list[tuple[int, bytes]]]:
        """Send ``call`` on ``conns[0]`` and its independent ``twin`` on ``conns[1]``; the
        caller waits on one handle. Both pass the risk gate and encode before either is
        registered.

        Returns:
            ``(handle, [(conn, frame bytes), ...])``.
        """
        rid1, v1 = self._stage(call, conns[0])
        rid2, v2 = self._stage(twin, conns[1], rid1)
        self._gate(call, v1)
        self._gate(twin, v2)
        d1, d2 = encode_call(call), encode_call(twin)
        deadline = now_ns + timeout_ns
        fate = Fate(rid1, call, hedged=True)
        for c in (
            self._register(call, rid1, conns[0], now_ns, deadline, v1),
            self._register(twin, rid2, conns[1], now_ns, deadline, v2),
        ):
            c.fate = fate
            fate.copies.append(c)
            fate.outcomes.append(OPEN)
        self._fates[rid1] = fate
        return rid1, [(conns[0], d1), (conns[1], d2)]

    def send_group(
        self,
        calls: list[Call],
        parts: list[list[str]],
        now_ns: int,
        timeout_ns: int,
        conn: int = 0,
    ) -> tuple[int, list[tuple[int, bytes]]]:
        """The chunks of one ``cancel_orders``: every chunk passes the risk gate and encodes
        before any is registered (one veto sends none); the caller waits on one handle whose
        outcome is a `CancelOrdersResult`.

        Returns:
            ``(group handle, [(chunk req_id, frame bytes), ...])``.
        """
        staged = [(call, *self._stage(call, conn)) for call in calls]
        for call, _, view in staged:
            self._gate(call, view)
        frames = [encode_call(call) for call in calls]
        handle = self._new_id()
        group = Group(handle, parts)
        deadline = now_ns + timeout_ns
        for i, (call, rid, view) in enumerate(staged):
            c = self._register(call, rid, conn, now_ns, deadline, view)
            c.group, c.chunk = group, i
        self._groups[handle] = group
        return handle, [(rid, data) for (_, rid, _), data in zip(staged, frames, strict=True)]

    def resend_held(self, now_ns: int, conn: int = 0) -> list[tuple[int, bytes]]:
        """Re-send every request held on ``conn`` once, under a new ``req_id`` with the
        current token. Deadlines stay as they were.

        Returns:
            ``(handle, frame bytes)`` per request to write (the new copy is the last of
            ``copies(handle)``).
        """
        out = []
        for c in [c for c in self._wire.values() if c.held is not None and c.conn == conn]:
            del self._wire[c.rid]
            # The caller waits on the first req_id: the re-send joins it as a second copy
            # (the first was refused, so it executed nothing; its audit record says so).
            fate = c.fate = Fate(c.rid, c.call, hedged=False)
            fate.copies.append(c)
            fate.outcomes.append(c.held)
            self._fates[c.rid] = fate
            self.outbox.append(Absorbed(c.rid, c.held, c.view, 0))
            rid = self._new_id()
            call = c.call
            call.req.req_id = rid
            call.params.token = self._tokens[conn]
            n = Copy(rid, conn, call, c.sent_ns, c.deadline, None, self._gens[conn])
            n.fate, n.group, n.chunk, n.refs = fate, c.group, c.chunk, c.refs
            if c.refs is not None:
                self._refs.discard(c)
                self._refs.add(n)
            if c.view is not None:
                n.view = call.view(rid, resent=True, handle=fate.handle)
            fate.copies.append(n)
            fate.outcomes.append(OPEN)
            self._wire[rid] = n
            out.append((fate.handle, _encode(call.req)))
        return out

    def fail_held(self, now_ns: int = 0, conn: int = 0) -> list[Event]:
        """Give every request held on ``conn`` its stale-token rejection (no new token)."""
        out: list[Event] = []
        for c in [c for c in self._wire.values() if c.held is not None and c.conn == conn]:
            out.extend(self._done(c, c.held, now_ns))
        return out

    # ---- replies --------------------------------------------------------------------------

    def receive(self, payload: bytes | memoryview, now_ns: int, conn: int = 0) -> Event | None:
        """Decode one inbound frame of connection ``conn`` and say what it did.

        Returns:
            `Completed`/`Failed` when it settled a request, `Absorbed`
            when it settled a copy whose request still waits for its twin, ``None`` for one
            more reply of a request still incomplete, `Stale`, `ChannelFrame`,
            `Unmatched`, `Malformed` or a connection-level ``Notice`` (the
            message-rate refusal, the proxy's restart). Never raises for anything the peer
            sends (a bug of ours is raised, not blamed on the peer).
        """
        try:
            r = _decode_reply(payload)
        except Exception as exc:  # DecodeError, ValidationError, RecursionError (deep nesting)
            notice = classify(payload)  # the proxy's bare-text restart notice is not JSON
            if notice is not None:
                return notice
            self.malformed += 1
            return Malformed(f"{type(exc).__name__}: {str(exc)[:200]}")
        # A method reply; or an error that names our req_id but no method (what a server
        # answers to a request it could not parse): a rejection of that request.
        if r.method or (r.success is False and r.req_id is not None and not r.channel):
            c = self._wire.get(r.req_id) if r.req_id is not None else None
            if c is None or c.conn != conn:
                self.unmatched += 1
                why = "no pending request" if c is None else "sent on the other connection"
                return Unmatched(r.method, r.req_id, why)
            spec = c.call.spec
            if r.method and r.method != spec.name and r.method not in spec.answers:
                self.unmatched += 1
                return Unmatched(r.method, r.req_id, f"answers {spec.name}, not {r.method}")
            if c.held is not None:
                self.duplicates += 1
                return Unmatched(r.method, r.req_id, "reply to a request held for a new token")
            try:
                settle = spec.settle
                if settle is not None:  # one reply completes it (Completion.ONE)
                    out = settle(c.call, r, c.rid, now_ns - c.sent_ns)
                    if getattr(out, "shape_warnings", None):
                        self.shape_mismatches += 1  # accepted, but part of it was unreadable
                    if c.fate is None and c.group is None and type(out) is not InvalidSession:
                        # The common case, without the list of the general path: one copy,
                        # its reply, its caller.
                        del self._wire[c.rid]
                        if c.refs is not None:
                            self._refs.discard(c)
                        if isinstance(out, KrakenwireError):
                            return Failed(c.rid, out, c.view, now_ns - c.sent_ns)
                        return Completed(c.rid, out, c.view, now_ns - c.sent_ns)
                    return self._first(self._done(c, out, now_ns))
                return self._part(c, r, now_ns)
            except _DECODE_ERRORS as exc:  # a reply for this req_id that we cannot read
                self.malformed += 1
                err = unknown(c, RemoteProtocolError, f"unreadable reply: {exc}")
                return self._first(self._done(c, err, now_ns))
        if r.flood_error is not None and not r.channel:
            return flood_notice(r.flood_error)  # answers no request: the refused one gets none
        try:
            data = _decode_data(r.data) if r.data else None
        except Exception as exc:
            self.malformed += 1
            return Malformed(f"{r.channel} data: {type(exc).__name__}")
        return ChannelFrame(r.channel, r.type, data, r.sequence)

    def _first(self, events: list[Event]) -> Event | None:
        if not events:
            return None
        if len(events) > 1:
            self.outbox.extend(events[1:])
        return events[0]

    def _part(self, c: Copy, r: m.Reply, now_ns: int) -> Event | None:
        """One reply of a multi-reply request (``cancel_order``)."""
        got = record_part(c, r)
        if type(got) is Unmatched:
            if got.reason.startswith("duplicate"):
                self.duplicates += 1
            else:
                self.unmatched += 1
            return got
        if isinstance(got, KrakenwireError):  # a first error that rejects the whole request
            return self._first(self._done(c, got, now_ns))
        if got.shape_warnings:
            self.shape_mismatches += 1
        refs = c.refs
        if refs is not None:
            refs.last_ns = now_ns
            if not refs_complete(c, refs):
                return None
        elif len(c.replies or ()) < c.call.expected:
            return None
        return self._first(self._done(c, collected(c, now_ns, r.time_in, r.time_out), now_ns))

    # ---- userref cancels: completion from the executions stream ---------------------------

    def _track_refs(self, c: Copy) -> None:
        c.refs = new_refs(c.call, self.userrefs)
        self._refs.add(c)

    def order_seen(
        self, order_id: str, userref: int | None, status: str | None, now_ns: int
    ) -> list[Event]:
        """The executions stream showed ``order_id`` (``status`` its closing status, or
        ``None`` while open): userref cancels use it to know when their replies are all in.
        Returns the events of requests this completed (also cheap when none pend)."""
        out: list[Event] = []
        if self._stream and status is not None:
            out.extend(self._recheck_stream(now_ns, False))
        if not self._refs or userref is None:
            return out
        ref = str(userref)
        for c in list(self._refs):
            refs = c.refs
            if refs is None or ref not in c.call.ids or refs.known is None:
                continue
            if status is None:
                refs.known.add(order_id)
                continue
            refs.closed[order_id] = status
            if refs_complete(c, refs):
                out.extend(self._done(c, collected(c, now_ns), now_ns))
        return out

    # ---- outcomes -------------------------------------------------------------------------

    def _done(self, c: Copy, outcome: Any, now_ns: int) -> list[Event]:
        """Copy ``c`` has its outcome: settle it, and the request it belongs to."""
        if (
            type(outcome) is InvalidSession
            and self.hold_stale
            and c.held is None
            and c.fate is None  # a plain request, never re-sent: once per request
            and c.call.spec.kind is not _HOUSEKEEPING
        ):
            c.held = outcome  # rejected, so not executed: hold for one re-send
            return [Stale(c.rid, c.gen < self._gens[c.conn], c.conn)]
        if self._wire.get(c.rid) is c:
            del self._wire[c.rid]
        if c.refs is not None:
            self._refs.discard(c)
        elapsed = now_ns - c.sent_ns if now_ns else 0
        fate = c.fate
        if fate is not None and fate.closed:
            return [Absorbed(c.rid, outcome, c.view, elapsed)]  # its twin settled the request
        if fate is None:
            if c.group is not None:
                return self._chunk(c, outcome, c.view, elapsed)
            if isinstance(outcome, KrakenwireError):
                return [Failed(c.rid, outcome, c.view, elapsed)]
            return [Completed(c.rid, outcome, c.view, elapsed)]
        # One copy of several: audit it alone; the caller waits for the merge.
        i = fate.copies.index(c)
        fate.outcomes[i] = outcome
        events: list[Event] = [Absorbed(c.rid, outcome, c.view, elapsed)]
        final = merge(fate, i, self.closed)
        if final is OPEN:
            return events
        if now_ns < c.deadline and waits_for_stream(fate, final, self.closed):
            self._stream[fate.handle] = (fate, i, c.deadline)  # the stream may still prove it
            return events
        return self._settle_fate(fate, c, final, elapsed, events)

    def _settle_fate(
        self, fate: Fate, c: Copy, final: Any, elapsed: int, events: list[Event]
    ) -> list[Event]:
        self._close_fate(fate)
        # The caller's event first: it wakes the waiter before the audit work.
        if c.group is not None:
            return [*self._chunk(c, final, None, elapsed), *events]
        if isinstance(final, KrakenwireError):
            return [Failed(fate.handle, final, None, elapsed), *events]
        return [Completed(fate.handle, final, None, elapsed), *events]

    def _recheck_stream(self, now_ns: int, expired: bool) -> list[Event]:
        """Requests waiting for the executions stream: settle those it now proves (or, when
        ``expired``, those past their deadline: unknown)."""
        out: list[Event] = []
        for handle, (fate, i, deadline) in list(self._stream.items()):
            final = merge(fate, i, self.closed)
            if waits_for_stream(fate, final, self.closed) and not (expired and deadline <= now_ns):
                continue
            del self._stream[handle]
            out.extend(self._settle_fate(fate, fate.copies[i], final, 0, []))
        return out

    def _close_fate(self, fate: Fate) -> None:
        # A copy still open stays on the wire: its own reply (or deadline) ends it, audited as
        # Absorbed; it changes nothing for the caller.
        self._fates.pop(fate.handle, None)
        fate.closed = True

    def _chunk(self, c: Copy, outcome: Any, view: Any, elapsed: int) -> list[Event]:
        """One chunk of a ``cancel_orders`` settled: audit it; the last one settles the group."""
        group = c.group
        assert group is not None
        events: list[Event] = []
        if view is not None:
            events.append(Absorbed(c.rid, outcome, view, elapsed))
        group.outcomes[c.chunk] = outcome
        group.left -= 1
        if group.left == 0:
            del self._groups[group.handle]
            events.insert(0, Completed(group.handle, assemble(group), None, elapsed))
        return events

    # ---- time, loss, abandonment ----------------------------------------------------------

    def tick(self, now_ns: int) -> list[Event]:
        """Expire every copy whose deadline is due: unknown if it was on the wire, its
        stale-token rejection if it was held; end userref cancels without a view whose
        replies have been quiet for `QUIET_NS`."""
        out: list[Event] = self._recheck_stream(now_ns, True) if self._stream else []
        for c in [c for c in self._refs if c.refs is not None and c.refs.known is None]:
            refs = c.refs
            assert refs is not None
            if c.replies and now_ns - refs.last_ns >= QUIET_NS:
                out.extend(self._done(c, collected(c, now_ns), now_ns))
        for c in [c for c in self._wire.values() if c.deadline <= now_ns]:
            if self._wire.get(c.rid) is not c:
                continue  # closed by a merge in this same sweep
            if c.held is not None:
                out.extend(self._done(c, c.held, now_ns))
                continue
            out.extend(self._done(c, timed_out(c), now_ns))
        return out

    def connection_lost(self, now_ns: int = 0, conn: int = 0) -> list[Event]:
        """Connection ``conn`` dropped with no other to fail over to: every copy on it ends,
        unknown if it was on the wire (it may have executed), its stale-token rejection if it
        was held (it did not)."""
        return self.failover(now_ns, conn, None)[0]

    def failover(
        self, now_ns: int, conn: int, to: int | None
    ) -> tuple[list[Event], list[tuple[int, bytes]]]:
        """Connection ``conn`` dropped: every copy on it ends. A copy that was held ends with
        its stale-token rejection (it did not execute). With ``to`` (the other connection, up),
        every idempotent cancel that has no other copy still open is re-sent there (only its
        unanswered part), and its caller gets the merged outcome; everything else ends unknown
        (it may have executed).

        Returns:
            ``(events, [(req_id, frame bytes) to write on `to`, ...])``.
        """
        events: list[Event] = []
        resends: list[tuple[int, bytes]] = []
        for c in [c for c in self._wire.values() if c.conn == conn]:
            if self._wire.get(c.rid) is not c:
                continue
            if c.held is not None:
                events.extend(self._done(c, c.held, now_ns))
                continue
            spec = c.call.spec
            fate = c.fate
            # A copy whose request is settled (its twin proved it) or whose twin is still open
            # is not re-sent: the other copy answers for the request.
            alone = fate is None or (not fate.closed and fate.outcomes.count(OPEN) == 1)
            if to is not None and alone and spec.idempotent and spec.kind is Kind.CANCEL:
                resends.append(self._move(c, to, now_ns))
            events.extend(
                self._done(
                    c,
                    unknown(
                        c,
                        ConnectionLost,
                        "connection lost after sending it: the outcome is unknown (it may"
                        " or may not have executed); reconcile via the executions stream",
                    ),
                    now_ns,
                )
            )
        return events, resends

    def _move(self, c: Copy, to: int, now_ns: int) -> tuple[int, bytes]:
        """Re-send what ``c`` left unanswered on connection ``to``, as a new copy of its
        request (registered before ``c`` gets its outcome, so the request stays open)."""
        fate = c.fate
        if fate is None:
            fate = c.fate = Fate(c.rid, c.call, hedged=False)
            fate.copies.append(c)
            fate.outcomes.append(OPEN)
            self._fates[c.rid] = fate
        fate.failed_over = True
        again = _remaining(c.call, c.replies or [])
        rid = self._new_id()
        again.req.req_id = rid
        if again.params is not None:
            again.params.token = self._tokens[to]
        view = again.view(rid, True, fate.handle) if c.view is not None else None
        n = Copy(rid, to, again, now_ns, c.deadline, view, self._gens[to])
        n.fate, n.group, n.chunk = fate, c.group, c.chunk
        if again.spec.completion is _PER_MATCHED:
            self._track_refs(n)
        fate.copies.append(n)
        fate.outcomes.append(OPEN)
        self._wire[rid] = n
        return rid, encode_call(again)

    def abandon(self, handle: int, now_ns: int = 0) -> list[Event]:
        """The caller gave up on ``handle``: free every copy now; each gets its audit event
        (unknown if it was on the wire)."""
        out: list[Event] = []
        group = self._groups.pop(handle, None)
        if group is not None:
            for h, (f, i, _) in list(self._stream.items()):
                if f.copies[i].group is group:  # a chunk waiting for the stream
                    out.extend(self.abandon(h, now_ns))
            for c in [c for c in self._wire.values() if c.group is group]:
                c.group = None
                if c.fate is not None:
                    out.extend(self.abandon(c.fate.handle, now_ns))
                else:
                    out.extend(self._abandon_copy(c, now_ns))
            return out
        fate = self._fates.pop(handle, None)
        parked = self._stream.pop(handle, None)
        if parked is not None:  # answered, waiting for the stream: unknown, as it stands
            f, i, _ = parked
            f.closed = True
            c = f.copies[i]
            return [Failed(handle, unknown(c, Abandoned, "the caller stopped waiting"), None, 0)]
        if fate is not None:
            first: KrakenwireError | None = None
            for c in fate.copies:
                if self._wire.get(c.rid) is c:
                    del self._wire[c.rid]
                    self._refs.discard(c)
                    err = c.held or unknown(c, Abandoned, "the caller stopped waiting")
                    first = first or err
                    out.append(Absorbed(c.rid, err, c.view, 0))
            if first is not None:
                out.insert(0, Failed(handle, first, None, 0))
            return out
        one = self._wire.get(handle)
        if one is None or one.fate is not None or one.group is not None:
            return []
        return self._abandon_copy(one, now_ns)

    def _abandon_copy(self, c: Copy, now_ns: int) -> list[Event]:
        err = c.held or unknown(c, Abandoned, "the caller stopped waiting")
        return self._done(c, err, now_ns)
