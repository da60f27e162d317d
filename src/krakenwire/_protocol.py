"""The sans-IO heart of krakenwire: the whole life of every request, from send to its outcome.

`Session` owns each pending request from `Session.send` to its one final outcome
(h11's shape): it decides completion (how many replies a request needs; a duplicate never counts
twice), deadlines (`Session.tick`), connection loss (`Session.connection_lost`),
callers that give up (`Session.abandon`) and stale-token re-sends. Time comes in as an
argument; the module imports neither asyncio nor picows, so it is tested with literal bytes and
no event loop. Events out are small immutable Structs holding nothing of the transport.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _messages as m
from ._build import encode_call
from ._events import ChannelFrame, Completed, Event, Failed, Malformed, Stale, Unmatched
from ._methods import PER_ORDER_ERRORS, Call, Kind, cancel_order_reply, reply_key
from ._methods import finish_cancel_order as _finish_cancel_order
from ._results import CancelOrderReply
from ._views import RequestView
from .errors import (
    Abandoned,
    ConnectionLost,
    InvalidSession,
    KrakenwireError,
    RemoteProtocolError,
    RequestTimeout,
    RiskRejected,
    reply_error,
)

__all__ = ["Session"]

_encode = m.ENCODER.encode
_decode_reply = m.REPLY_DECODER.decode
_decode_data = m.DATA_DECODER.decode
_HOUSEKEEPING = Kind.HOUSEKEEPING
_MAX_ID = 2**31 - 1


class _Pending:
    """A request on the wire (or held for a token refresh); internal to the session."""

    __slots__ = (
        "rid",
        "handle",
        "call",
        "sent_ns",
        "deadline",
        "replies",
        "seen",
        "held",
        "view",
        "gen",
    )

    def __init__(
        self, rid: int, call: Call, now_ns: int, deadline: int, view: Any, gen: int
    ) -> None:
        self.gen = gen
        self.rid = rid
        self.handle = rid
        self.call = call
        self.sent_ns = now_ns
        self.deadline = deadline
        self.replies: list[CancelOrderReply] | None = None
        self.seen: set[str] | None = None
        self.held: KrakenwireError | None = None  # the stale-token rejection, while held
        self.view = view


class Session:
    """Protocol state of one authenticated connection: the token, req_ids, pending requests.

    Args:
        token: the WebSocket token put in every private request (never in ``repr``).
        first_req_id: the first ``req_id`` to assign.

    Attributes:
        check: the pre-send risk gate, ``check(view)`` raising
            [`RiskRejected`][krakenwire.RiskRejected], or ``None``. Every method but housekeeping
            passes it (a method the registry marks otherwise, or does not know, is checked: fail
            closed).
        views: build a [`RequestView`][krakenwire.RequestView] per request (plugins want them).
        hold_stale: hold requests rejected for a stale token for one re-send (the client can
            fetch a new token); otherwise that rejection is their outcome.
        unmatched, duplicates, malformed: counters of frames that completed nothing.
    """

    def __init__(self, token: str = "", *, first_req_id: int = 1) -> None:
        self._token = token
        self._gen = 0  # token generation: +1 per set_token
        self._next_id = first_req_id
        self._pending: dict[int, _Pending] = {}
        self._moved: dict[int, int] = {}  # handle -> current req_id, for re-sent requests
        self.check: Callable[[RequestView], None] | None = None
        self.views = False
        self.hold_stale = False
        self.unmatched = 0
        self.duplicates = 0
        self.malformed = 0

    def __repr__(self) -> str:
        return f"Session(pending={len(self._pending)}, token=<redacted>)"

    def __len__(self) -> int:
        return len(self._pending)  # requests pending

    @property
    def token(self) -> str:
        return self._token

    def set_token(self, token: str) -> None:
        """Use ``token`` for every request sent from now on (after a refresh)."""
        self._token = token
        self._gen += 1

    def view(self, handle: int) -> RequestView | None:
        """The view of a pending request (``None`` unless `views` or a check is set)."""
        p = self._pending.get(self._moved.get(handle, handle))
        return p.view if p is not None else None

    def pending_handles(self) -> list[int]:
        return [p.handle for p in self._pending.values()]

    def _new_id(self) -> int:
        rid = self._next_id
        pending = self._pending
        # After 2**31 wraps, a stuck request (or the handle of a re-sent one) is never shadowed.
        while rid in pending or rid in self._moved:
            rid = rid + 1 if rid < _MAX_ID else 1
        self._next_id = rid + 1 if rid < _MAX_ID else 1
        return rid

    # ---- requests -------------------------------------------------------------------------

    def _stage(self, call: Call, origin: int = 0) -> tuple[int, RequestView | None]:
        rid = self._new_id()
        call.req.req_id = rid
        if call.params is not None:
            call.params.token = self._token
        if not (self.views or self.check is not None):
            return rid, None
        return rid, call.view(rid, True, origin) if origin else call.view(rid)

    def _gate(self, call: Call, view: RequestView | None) -> None:
        check = self.check
        if check is not None and view is not None and call.spec.kind is not _HOUSEKEEPING:
            try:
                check(view)
            except RiskRejected as exc:
                exc.request = view
                raise

    def send(self, call: Call, now_ns: int, timeout_ns: int, origin: int = 0) -> tuple[int, bytes]:
        """Assign a ``req_id``, run the risk gate, encode and register ``call``.

        Returns:
            ``(handle, frame bytes)``: the handle is the ``req_id`` the caller waits on.
            ``origin``: the handle of the request this re-sends on another socket, if any.

        Raises:
            RiskRejected: a plugin vetoed it (``exc.request`` is the view); nothing registered.
            ValidationError: it cannot be encoded (e.g. a ``str`` subclass id); nothing
                registered.
        """
        rid, view = self._stage(call, origin)
        if view is not None:
            self._gate(call, view)
        data = encode_call(call)
        self._pending[rid] = _Pending(rid, call, now_ns, now_ns + timeout_ns, view, self._gen)
        return rid, data

    def send_all(self, calls: list[Call], now_ns: int, timeout_ns: int) -> list[tuple[int, bytes]]:
        """`send` for requests that go together (the chunks of one ``cancel_orders``):
        all pass the risk gate and encode before any is registered, so one veto sends none."""
        staged = [(call, *self._stage(call)) for call in calls]
        for call, _, view in staged:
            self._gate(call, view)
        frames = [encode_call(call) for call in calls]
        deadline = now_ns + timeout_ns
        for call, rid, view in staged:
            self._pending[rid] = _Pending(rid, call, now_ns, deadline, view, self._gen)
        return [(rid, data) for (_, rid, _), data in zip(staged, frames, strict=True)]

    def resend_held(self, now_ns: int) -> list[tuple[int, bytes]]:
        """Re-send every held request once, under a new ``req_id`` with the current token.

        Their deadlines stay as they were: the caller's timeout covers the refresh too.

        Returns:
            ``(handle, frame bytes)`` per request to write.
        """
        out = []
        for p in [p for p in self._pending.values() if p.held is not None]:
            del self._pending[p.rid]
            rid = self._new_id()
            p.rid = rid
            p.held = None
            p.replies = None
            p.seen = None
            p.gen = self._gen  # sent_ns stays: timeouts and latency count from the first send
            call = p.call
            call.req.req_id = rid
            call.params.token = self._token
            if p.view is not None:
                p.view = call.view(rid, resent=True, handle=p.handle)
            self._pending[rid] = p
            self._moved[p.handle] = rid
            out.append((p.handle, _encode(call.req)))
        return out

    def fail_held(self, now_ns: int = 0) -> list[Event]:
        """Give every held request its stale-token rejection as outcome (no refresh came)."""
        out: list[Event] = []
        for p in [p for p in self._pending.values() if p.held is not None]:
            out.append(self._finish(p, p.held, now_ns))
        return out

    # ---- replies --------------------------------------------------------------------------

    def receive(self, payload: bytes | memoryview, now_ns: int) -> Event | None:
        """Decode one inbound frame and say what it did.

        Returns:
            `Completed`/`Failed` when it completed a request, ``None`` for one
            more reply of a request still incomplete, `Stale` for a stale-token
            rejection now held, [`ChannelFrame`][krakenwire.ChannelFrame], `Unmatched` or
            `Malformed`. Never raises for anything the peer sends.
        """
        try:
            r = _decode_reply(payload)
        except Exception as exc:  # DecodeError, ValidationError, RecursionError (deep nesting)
            self.malformed += 1
            return Malformed(f"{type(exc).__name__}: {str(exc)[:200]}")
        # A method reply; or an error that names our req_id but no method (what a server
        # answers to a request it could not parse): a rejection of that request.
        if r.method or (r.success is False and r.req_id is not None and not r.channel):
            p = self._pending.get(r.req_id) if r.req_id is not None else None
            if p is None:
                self.unmatched += 1
                return Unmatched(r.method, r.req_id, "no pending request")
            spec = p.call.spec
            if r.method and r.method != spec.name and r.method not in spec.answers:
                self.unmatched += 1
                return Unmatched(r.method, r.req_id, f"answers {spec.name}, not {r.method}")
            if p.held is not None:
                self.duplicates += 1
                return Unmatched(r.method, r.req_id, "reply to a request held for a new token")
            try:
                settle = spec.settle
                if settle is not None:  # one reply completes it (Completion.ONE)
                    out = settle(p.call, r, p.rid, now_ns - p.sent_ns)
                    return self._finish(p, out, now_ns)
                return self._part(p, r, now_ns)
            except Exception as exc:  # a reply for this req_id that we cannot read
                self.malformed += 1
                return self._finish(
                    p, self._unknown(p, RemoteProtocolError, f"unreadable reply: {exc}"), now_ns
                )
        try:
            data = _decode_data(r.data) if r.data else None
        except Exception as exc:
            self.malformed += 1
            return Malformed(f"{r.channel} data: {type(exc).__name__}")
        return ChannelFrame(r.channel, r.type, data, r.sequence)

    def _part(self, p: _Pending, r: m.Reply, now_ns: int) -> Event | None:
        """One reply of a multi-reply request (``cancel_order``)."""
        call = p.call
        replies = p.replies
        if replies is None:
            replies = p.replies = []
            p.seen = set()
        seen = p.seen
        assert seen is not None
        if r.success and r.result:
            part = cancel_order_reply(r)
            key = reply_key(call, part)
            if key is None:
                self.unmatched += 1
                return Unmatched(r.method, r.req_id, f"order {part.order_id!r} not in request")
            if key in seen:
                self.duplicates += 1
                return Unmatched(r.method, r.req_id, f"duplicate reply for {key!r}")
            seen.add(key)
            replies.append(part)
        elif r.success is False and (replies or r.error in PER_ORDER_ERRORS):
            # An error answers one order; as the FIRST reply only the per-order errors do (any
            # other first error rejects the whole request, handled below).
            replies.append(CancelOrderReply(error=r.error or "success:false"))
        else:
            error = reply_error(r.error, r.success, req_id=r.req_id, method=call.spec.name)
            return self._finish(p, error, now_ns)
        if len(replies) < call.expected:
            return None
        out = _finish_cancel_order(replies, p.rid, now_ns - p.sent_ns, r)
        return self._finish(p, out, now_ns)

    def _finish(self, p: _Pending, outcome: Any, now_ns: int = 0) -> Event:
        if (
            type(outcome) is InvalidSession
            and self.hold_stale
            and p.held is None
            and p.handle == p.rid  # not already re-sent once
            and p.call.spec.kind is not _HOUSEKEEPING
        ):
            p.held = outcome  # rejected, so not executed: hold for one re-send
            return Stale(p.handle, p.gen < self._gen)
        del self._pending[p.rid]
        if p.handle != p.rid:
            self._moved.pop(p.handle, None)
        elapsed = now_ns - p.sent_ns if now_ns else 0
        if isinstance(outcome, KrakenwireError):
            return Failed(p.handle, outcome, p.view, elapsed)
        return Completed(p.handle, outcome, p.view, elapsed)

    # ---- time, loss, abandonment ----------------------------------------------------------

    def tick(self, now_ns: int) -> list[Event]:
        """Expire every request whose deadline is due: unknown if it was on the wire, its
        stale-token rejection if it was held and never re-sent."""
        out: list[Event] = []
        for p in [p for p in self._pending.values() if p.deadline <= now_ns]:
            if p.held is not None:
                out.append(self._finish(p, p.held, now_ns))
                continue
            secs = round((p.deadline - p.sent_ns) / 1e9, 3)
            err = RequestTimeout(
                f"no complete reply to {p.call.spec.name} req_id={p.rid} in time: the outcome "
                "is unknown (it may or may not have executed)",
                req_id=p.rid,
                method=p.call.spec.name,
                ids=p.call.all_ids,
                timeout=secs,
                partial=p.replies or (),
            )
            out.append(self._finish(p, err, now_ns))
        return out

    def connection_lost(self, now_ns: int = 0) -> list[Event]:
        """Every pending request ends: outcome unknown if it was on the wire (it may have
        executed), its stale-token rejection if it was held (it did not)."""
        out: list[Event] = []
        for p in list(self._pending.values()):
            if p.held is not None:
                out.append(self._finish(p, p.held, now_ns))
            else:
                out.append(
                    self._finish(
                        p,
                        self._unknown(
                            p,
                            ConnectionLost,
                            "connection lost after sending it: the outcome is unknown (it may"
                            " or may not have executed); reconcile via the executions stream",
                        ),
                        now_ns,
                    )
                )
        return out

    def take_idempotent(self, now_ns: int) -> list[tuple[int, Call, int, list[CancelOrderReply]]]:
        """For a failover: remove every request on the wire that the registry marks idempotent;
        ``(handle, call, ns left to its deadline, replies so far)`` each. Held ones stay."""
        out = []
        for p in [p for p in self._pending.values() if p.held is None]:
            spec = p.call.spec
            if spec.idempotent and spec.kind is not _HOUSEKEEPING:
                del self._pending[p.rid]
                self._moved.pop(p.handle, None)
                out.append((p.handle, p.call, max(0, p.deadline - now_ns), p.replies or []))
        return out

    def abandon(self, handle: int, now_ns: int = 0) -> list[Event]:
        """The caller gave up on ``handle``: free its entry now; the event carries the outcome
        for the audit (unknown if it was on the wire)."""
        rid = self._moved.get(handle, handle)
        p = self._pending.get(rid)
        if p is None or p.handle != handle:
            return []
        err = p.held or self._unknown(p, Abandoned, "the caller stopped waiting")
        return [self._finish(p, err, now_ns)]

    def _unknown(self, p: _Pending, cls: type[Any], why: str) -> KrakenwireError:
        name, ids = p.call.spec.name, p.call.all_ids
        err: KrakenwireError = cls(  # an OutcomeUnknown
            f"{name} req_id={p.rid} naming {len(ids)} id(s): {why}",
            req_id=p.rid,
            method=name,
            ids=ids,
            replies=p.replies or (),
        )
        return err
