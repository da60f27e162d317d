"""The sans-IO heart of krakenwire: requests in, bytes out; bytes in, events out.

:class:`Session` validates a call, assigns its ``req_id``, encodes it and records it as pending;
:meth:`Session.receive` decodes one inbound frame and says what it was. It imports neither
asyncio nor picows, so it is tested with literal bytes and no event loop (h11's approach).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from . import _messages as m
from . import _orders
from ._results import (
    BatchCancelResult,
    CancelAfterResult,
    CancelAllResult,
    CancelOrderReply,
    CancelOrderResult,
    PongResult,
)
from ._validate import check_batch_size, check_cl_ord_ids, check_order_ids, check_userrefs
from .errors import KrakenAPIError, RemoteProtocolError, ValidationError, reply_error

__all__ = ["ChannelMessage", "Pending", "Session", "Unmatched"]

_encode = m.ENCODER.encode
_decode_reply = m.REPLY_DECODER.decode
_decode_bc = m.BATCH_CANCEL_DECODER.decode
_EMPTY: list[str] = []
_ORDER_METHODS = _orders.ORDER_METHODS
# Errors that answer one order of a multi-id cancel_order; any other error ends the request.
_PER_ORDER_ERRORS = frozenset({"EOrder:Invalid order", "EOrder:Unknown order"})


class Pending:
    """A request on the wire awaiting its reply (or, for cancel_order, its N replies).

    ``waiter`` is the transport's slot (a Future); ``outcome`` is set when complete: a result
    struct or a :class:`KrakenAPIError`.
    """

    __slots__ = (
        "req_id",
        "method",
        "ids",
        "cl_ord_id",
        "expected",
        "replies",
        "sent_ns",
        "waiter",
        "outcome",
        "deadline",
        "request",
        "retried",
    )

    def __init__(
        self,
        req_id: int,
        method: str,
        ids: list[str],
        expected: int = 1,
        cl_ord_id: list[str] | None = None,
        request: Any = None,
    ) -> None:
        self.req_id = req_id
        self.method = method
        self.ids = ids
        self.cl_ord_id = cl_ord_id if cl_ord_id is not None else _EMPTY
        self.expected = expected
        self.replies: list[CancelOrderReply] = []
        self.sent_ns = 0
        self.waiter: Any = None
        self.outcome: Any = None
        self.deadline = 0  # monotonic ns after which the connection expires it; 0 = none
        self.request = request
        self.retried = False

    @property
    def all_ids(self) -> list[str]:
        return self.ids + self.cl_ord_id if self.cl_ord_id else self.ids

    def __repr__(self) -> str:
        return f"Pending(req_id={self.req_id}, method={self.method!r}, ids={self.all_ids!r})"


class ChannelMessage:
    """A frame that is not a method reply: status, heartbeat, executions, or unknown."""

    __slots__ = ("channel", "type", "data", "sequence", "raw")

    def __init__(
        self, channel: str, type: str, data: Any, sequence: int | None, raw: bytes
    ) -> None:
        self.channel = channel
        self.type = type
        self.data = data
        self.sequence = sequence
        self.raw = raw

    def __repr__(self) -> str:
        return f"ChannelMessage(channel={self.channel!r}, type={self.type!r})"


class Unmatched:
    """A method reply whose ``req_id`` matches no pending request (late, duplicate, foreign)."""

    __slots__ = ("method", "req_id", "raw")

    def __init__(self, method: str, req_id: int | None, raw: bytes) -> None:
        self.method = method
        self.req_id = req_id
        self.raw = raw

    def __repr__(self) -> str:
        return f"Unmatched(method={self.method!r}, req_id={self.req_id!r})"


class Session:
    """Protocol state of one authenticated connection: the token, req_ids, pending requests.

    Args:
        token: the WebSocket token put in every private request (never in ``repr``).
        first_req_id: the first ``req_id`` to assign.
    """

    def __init__(self, token: str, *, first_req_id: int = 1) -> None:
        self.token = token
        self._next_id = first_req_id
        self.pending: dict[int, Pending] = {}
        self.unmatched = 0
        self.malformed = 0

    def __repr__(self) -> str:
        return f"Session(pending={len(self.pending)}, token=<redacted>)"

    def _new_id(self) -> int:
        rid = self._next_id
        # Skip ids still pending (after 2**31 wraps, a stuck request must not be shadowed).
        while rid in self.pending:
            rid += 1
        self._next_id = rid + 1 if rid < 2**31 - 1 else 1
        return rid

    def _register(self, p: Pending) -> Pending:
        self.pending[p.req_id] = p
        return p

    def resubmit(self, p: Pending) -> bytes:
        """Re-register ``p`` under a new ``req_id`` with the current token; return its bytes.

        Used once after Kraken rejected it for a stale token (so it did not execute).
        """
        rid = self._new_id()
        p.req_id = rid
        req = p.request
        req.req_id = rid
        params = getattr(req, "params", None)
        if params is not None and hasattr(params, "token"):
            params.token = self.token
        p.replies = []
        self.pending[rid] = p
        return _encode(req)

    def forget(self, req_id: int) -> Pending | None:
        """Drop a pending request (send failed, or it timed out) and return it."""
        return self.pending.pop(req_id, None)

    # ---- requests -------------------------------------------------------------------------

    def batch_cancel(
        self,
        orders: Iterable[Any],
        cl_ord_id: Iterable[Any] | None = None,
        *,
        unified: bool = False,
    ) -> tuple[Pending, bytes]:
        """Validate and encode one ``batch_cancel`` (2..50 ids, orders + cl_ord_id together).

        Args:
            orders: Kraken order ids or ``order_userref`` numbers (ints become strings).
            cl_ord_id: client order ids, optional.
            unified: emit the unified-WS variant (``asset_class``; cl_ord_id counted in total).

        Returns:
            The pending entry and the frame's bytes.

        Raises:
            ValidationError: bad ids or count; nothing is registered.
        """
        ids = check_order_ids(orders)
        if unified:
            _check_unified(ids)
        cids = check_cl_ord_ids(cl_ord_id) if cl_ord_id else None
        check_batch_size(len(ids) + (len(cids) if cids else 0))
        return self.batch_cancel_checked(ids, cids, unified)

    def batch_cancel_checked(
        self, ids: list[str], cids: list[str] | None = None, unified: bool = False
    ) -> tuple[Pending, bytes]:
        """:meth:`batch_cancel` for ids already validated (a chunk of ``cancel_orders``)."""
        rid = self._new_id()
        params = m.BatchCancelParams(ids, self.token, cids, "spot" if unified else None)
        req = m.BatchCancel(params, rid)
        return self._register(Pending(rid, "batch_cancel", ids, 1, cids, req)), _encode(req)

    def cancel_order(
        self,
        order_id: Iterable[Any] | None = None,
        cl_ord_id: Iterable[Any] | None = None,
        order_userref: Iterable[Any] | None = None,
    ) -> tuple[Pending, bytes]:
        """Validate and encode one ``cancel_order`` naming one kind of id (Kraken's rule).

        The reply count expected is the number of ids for ``order_id``/``cl_ord_id``; for
        ``order_userref`` (which may match several orders) one reply completes the request.
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
        rid = self._new_id()
        if order_id is not None:
            ids = check_order_ids(order_id, "order_id")
            params = m.CancelOrderParams(self.token, order_id=ids)
            shown, expected = ids, len(ids)
        elif cl_ord_id is not None:
            ids = check_cl_ord_ids(cl_ord_id)
            params = m.CancelOrderParams(self.token, cl_ord_id=ids)
            shown, expected = ids, len(ids)
        else:
            refs = check_userrefs(order_userref or ())
            params = m.CancelOrderParams(self.token, order_userref=refs)
            shown, expected = [str(r) for r in refs], 1
        if not shown:
            raise ValidationError("cancel_order needs at least one id", field=given[0], value=0)
        req = m.CancelOrder(params, rid)
        p = Pending(rid, "cancel_order", shown, expected, None, req)
        return self._register(p), _encode(req)

    # ---- order entry (validation and building in _orders.py) ------------------------------

    def add_order(self, **fields: Any) -> tuple[Pending, bytes]:
        """Validate and encode one ``add_order``; ``fields`` as :func:`_orders.add_order_params`."""
        params = _orders.add_order_params(self.token, **fields)
        req = m.AddOrder(params, self._new_id())
        ids = [params.cl_ord_id] if params.cl_ord_id else []
        return self._register(Pending(req.req_id, "add_order", ids, 1, None, req)), _encode(req)

    def batch_add(self, orders: Sequence[Any], **fields: Any) -> tuple[Pending, bytes]:
        """Validate and encode one ``batch_add`` (2..15 orders, one symbol)."""
        params = _orders.batch_add_params(self.token, orders, **fields)
        req = m.BatchAdd(params, self._new_id())
        ids = [o.cl_ord_id for o in params.orders if o.cl_ord_id]
        return self._register(Pending(req.req_id, "batch_add", ids, 1, None, req)), _encode(req)

    def amend_order(self, **fields: Any) -> tuple[Pending, bytes]:
        """Validate and encode one ``amend_order`` (by ``order_id`` or ``cl_ord_id``)."""
        params = _orders.amend_order_params(self.token, **fields)
        req = m.AmendOrder(params, self._new_id())
        ids = [params.order_id or params.cl_ord_id or ""]
        return self._register(Pending(req.req_id, "amend_order", ids, 1, None, req)), _encode(req)

    def edit_order(self, **fields: Any) -> tuple[Pending, bytes]:
        """Validate and encode one ``edit_order`` (cancel-and-replace; a new order id)."""
        params = _orders.edit_order_params(self.token, **fields)
        req = m.EditOrder(params, self._new_id())
        p = Pending(req.req_id, "edit_order", [params.order_id], 1, None, req)
        return self._register(p), _encode(req)

    def cancel_all(self) -> tuple[Pending, bytes]:
        rid = self._new_id()
        req = m.CancelAll(m.TokenParams(self.token), rid)
        return self._register(Pending(rid, "cancel_all", [], 1, None, req)), _encode(req)

    def cancel_after(self, timeout: int) -> tuple[Pending, bytes]:
        """``cancel_all_orders_after``: ``timeout`` whole seconds, 0..86399 (0 disarms)."""
        if type(timeout) is not int or not 0 <= timeout < 86400:
            raise ValidationError(
                f"cancel_after timeout must be an int in 0..86399, got {timeout!r}",
                field="timeout",
                value=timeout,
            )
        rid = self._new_id()
        req = m.CancelAllOrdersAfter(m.CancelAfterParams(timeout, self.token), rid)
        p = Pending(rid, "cancel_all_orders_after", [], 1, None, req)
        return self._register(p), _encode(req)

    def ping(self) -> tuple[Pending, bytes]:
        rid = self._new_id()
        req = m.Ping(rid)
        return self._register(Pending(rid, "ping", [], 1, None, req)), _encode(req)

    def subscribe_executions(
        self,
        *,
        snap_orders: bool = True,
        snap_trades: bool = False,
        order_status: bool = True,
        ratecounter: bool = False,
        unsubscribe: bool = False,
    ) -> tuple[Pending, bytes]:
        rid = self._new_id()
        params = m.SubscribeParams(
            "executions", self.token, snap_orders, snap_trades, order_status, ratecounter
        )
        req: m.Subscribe | m.Unsubscribe
        if unsubscribe:
            params = m.SubscribeParams("executions", self.token)
            req = m.Unsubscribe(params, rid)
        else:
            req = m.Subscribe(params, rid)
        method = "unsubscribe" if unsubscribe else "subscribe"
        return self._register(Pending(rid, method, [], 1, None, req)), _encode(req)

    # ---- replies --------------------------------------------------------------------------

    def receive(
        self, payload: bytes | memoryview, now_ns: int = 0
    ) -> Pending | ChannelMessage | Unmatched | None:
        """Decode one inbound frame.

        Returns:
            the completed :class:`Pending` (its ``outcome`` set, removed from the table);
            ``None`` for one more reply of a multi-reply request still incomplete;
            a :class:`ChannelMessage` for channel frames; an :class:`Unmatched` for a method
            reply nobody is waiting for (counted in ``self.unmatched``).

        Raises:
            RemoteProtocolError: the frame is not JSON or not a Kraken frame (counted in
                ``self.malformed``); the session stays usable.
        """
        try:
            r = _decode_reply(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self.malformed += 1
            raise RemoteProtocolError(f"undecodable frame: {exc}") from None
        # A method reply; or an error that names our req_id but no method (what a server
        # answers to a request it could not parse): a rejection of that request.
        if r.method or (r.success is False and r.req_id is not None and not r.channel):
            p = self.pending.get(r.req_id) if r.req_id is not None else None
            if p is None or not _method_matches(p.method, r.method):
                self.unmatched += 1
                return Unmatched(r.method, r.req_id, bytes(payload))
            try:
                return self._settle(p, r, now_ns)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                # A reply for this req_id that we cannot read: the request still gets an answer.
                self.malformed += 1
                del self.pending[p.req_id]
                p.outcome = RemoteProtocolError(f"unreadable {r.method} reply: {exc}")
                return p
        try:
            data = m.DATA_DECODER.decode(r.data) if r.data else None
        except msgspec.DecodeError:  # pragma: no cover - Raw came from a valid document
            data = None
        return ChannelMessage(r.channel, r.type, data, r.sequence, bytes(payload))

    def _settle(self, p: Pending, r: m.Reply, now_ns: int) -> Pending | None:
        method = p.method
        if method == "batch_cancel":
            if r.success and r.result:
                w = _decode_bc(r.result)
                p.outcome = BatchCancelResult(
                    count=w.count,
                    # bytes(): the frame's buffer is reused by picows after this callback.
                    warnings_raw=bytes(w.warnings) if w.warnings else b"",
                    orders=p.ids,
                    cl_ord_id=p.cl_ord_id,
                    req_id=p.req_id,
                    latency_ns=now_ns - p.sent_ns,
                    time_in_raw=r.time_in,
                    time_out_raw=r.time_out,
                )
            else:
                p.outcome = _api_error(r, method)
        elif method == "cancel_order":
            if r.success and r.result:
                w2 = m.CANCEL_ORDER_DECODER.decode(r.result)
                p.replies.append(CancelOrderReply(w2.order_id, w2.cl_ord_id, None, w2.warnings))
            elif r.error in _PER_ORDER_ERRORS:
                p.replies.append(CancelOrderReply(error=r.error))
            else:
                p.outcome = _api_error(r, method)
            if p.outcome is None:
                if len(p.replies) < p.expected:
                    return None
                p.outcome = CancelOrderResult(
                    replies=p.replies,
                    req_id=p.req_id,
                    latency_ns=now_ns - p.sent_ns,
                    time_in_raw=r.time_in,
                    time_out_raw=r.time_out,
                )
        elif method == "cancel_all":
            if r.success and r.result:
                w = _decode_bc(r.result)
                p.outcome = CancelAllResult(
                    count=w.count,
                    warnings_raw=bytes(w.warnings) if w.warnings else b"",
                    req_id=p.req_id,
                    latency_ns=now_ns - p.sent_ns,
                    time_in_raw=r.time_in,
                    time_out_raw=r.time_out,
                )
            else:
                p.outcome = _api_error(r, method)
        elif method == "cancel_all_orders_after":
            if r.success and r.result:
                w3 = m.CANCEL_AFTER_DECODER.decode(r.result)
                p.outcome = CancelAfterResult(
                    current_time_raw=w3.currentTime,
                    trigger_time_raw=w3.triggerTime,
                    warnings=w3.warnings,
                    req_id=p.req_id,
                    latency_ns=now_ns - p.sent_ns,
                    time_in_raw=r.time_in,
                    time_out_raw=r.time_out,
                )
            else:
                p.outcome = _api_error(r, method)
        elif method == "ping":
            # A recorded pong has no "success" key at all (kraken-ws-v2.md section 1).
            if r.success is False:
                p.outcome = _api_error(r, method)
            else:
                p.outcome = PongResult(
                    req_id=p.req_id,
                    latency_ns=now_ns - p.sent_ns,
                    time_in_raw=r.time_in,
                    time_out_raw=r.time_out,
                )
        elif method in _ORDER_METHODS:
            p.outcome = _orders.settle(method, r, p.req_id, now_ns - p.sent_ns)
        else:  # subscribe / unsubscribe and methods added by extensions
            if r.success:
                p.outcome = m.SUBSCRIBE_DECODER.decode(r.result) if r.result else m.SubscribeWire()
            else:
                p.outcome = _api_error(r, method)
        del self.pending[p.req_id]
        return p

    def fail_all(self) -> list[Pending]:
        """Remove and return every pending request (the connection is gone)."""
        out = list(self.pending.values())
        self.pending.clear()
        return out


def _check_unified(ids: list[str]) -> None:
    # Unified WS batch_cancel takes Kraken order ids only: no order_userref (§4.2).
    for v in ids:
        if v.isdigit():
            raise ValidationError(
                f"the unified batch_cancel takes no order_userref, got {v!r} in orders",
                field="orders",
                value=v,
            )


def _method_matches(sent: str, got: str) -> bool:
    # Kraken answers ping with "pong", and unsubscribe errors come back as "subscribe" (sic);
    # got == "" is a method-less error reply (only reached with success false).
    return (
        sent == got
        or got == ""
        or (sent == "ping" and got == "pong")
        or (sent == "unsubscribe" and got == "subscribe")
    )


def _api_error(r: m.Reply, method: str) -> KrakenAPIError | RemoteProtocolError:
    return reply_error(r.error, r.success, req_id=r.req_id, method=method)


def chunk(ids: Sequence[str], sizes: Sequence[int]) -> list[list[str]]:
    """Split ``ids`` into consecutive chunks of the given sizes."""
    out: list[list[str]] = []
    start = 0
    for n in sizes:
        out.append(list(ids[start : start + n]))
        start += n
    return out
