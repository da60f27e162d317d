"""The method registry: one entry per Kraken method says everything the client needs.

Each `MethodSpec` names the request Struct, how replies complete the request
(`Completion`), how a reply becomes the typed result, what kind of request it is (the
risk gate checks every kind but housekeeping, so a method missing here is checked, never
skipped) and whether it may be sent twice. Building (``_build.py``), settling
(``_protocol.Session``) and the plugins read it; adding a method touches this table, its Structs
and its public call, nothing else. The simulator keeps its own list on purpose (it is an
independent implementation of Kraken's side); a test asserts the two agree.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from . import _messages as m
from . import _results as res
from ._views import OrderView, RequestView, order_view
from .errors import KrakenAPIError, RemoteProtocolError, reply_error

__all__ = [
    "METHODS",
    "PER_ORDER_ERRORS",
    "Call",
    "Completion",
    "Kind",
    "MethodSpec",
    "kinds",
    "reply_key",
]


class Kind(enum.Enum):
    """What a request does: the risk gate checks every kind but HOUSEKEEPING."""

    CANCEL = "cancel"
    ENTRY = "entry"
    HOUSEKEEPING = "housekeeping"


class Completion(enum.Enum):
    """How many replies complete a request."""

    ONE = "one"  # one reply
    PER_ID = "per_id"  # one per id named (cancel_order by order_id / cl_ord_id)
    PER_MATCHED_ORDER = "per_matched_order"  # one per open order matched (by order_userref)


Settle = Callable[["Call", m.Reply, int, int], Any]


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """Everything the client knows about one Kraken method.

    Attributes:
        name: Kraken's method name.
        request: the request envelope Struct (tagged on ``method``).
        kind: cancel, order entry or housekeeping.
        idempotent: sending it twice can do no harm (a second cancel of a gone order is a
            warning or ``EOrder:Invalid order``, never a new order).
        completion: how many replies complete it.
        settle: ``settle(call, reply, req_id, latency_ns)`` -> result or error, for a method one
            reply completes; ``None`` for the multi-reply ones (the session collects
            ``CancelOrderReply`` items and builds the result).
        result: the result type of a success.
        answers: method names a reply may carry besides ``name`` (``pong`` for ``ping``).
    """

    name: str
    request: type[msgspec.Struct]
    kind: Kind
    idempotent: bool
    completion: Completion
    settle: Settle | None
    result: type[Any]
    answers: frozenset[str] = frozenset()


class Call:
    """A validated request before it has a ``req_id`` (built by ``_build.py``).

    ``req`` is the envelope Struct (its ``req_id`` and ``params.token`` are filled at send);
    ``ids``/``cl_ord_ids`` what it names; ``expected`` how many replies complete it; ``key``
    which reply field identifies an order for multi-reply completion.
    """

    __slots__ = ("spec", "req", "params", "ids", "cl_ord_ids", "expected", "key", "extra")

    def __init__(
        self,
        spec: MethodSpec,
        req: Any,
        params: Any,
        ids: list[str],
        cl_ord_ids: list[str] | None = None,
        expected: int = 1,
        key: str = "",
        extra: Any = None,
    ) -> None:
        self.spec = spec
        self.req = req
        self.params = params
        self.ids = ids
        self.cl_ord_ids = cl_ord_ids if cl_ord_ids is not None else _EMPTY
        self.expected = expected
        self.key = key
        self.extra = extra

    @property
    def all_ids(self) -> list[str]:
        return self.ids + self.cl_ord_ids if self.cl_ord_ids else self.ids

    def __repr__(self) -> str:
        return f"Call({self.spec.name!r}, ids={self.all_ids!r})"

    def view(self, req_id: int, resent: bool = False, handle: int = 0) -> RequestView:
        """The frozen [`RequestView`][krakenwire.RequestView] plugins see (no token, no transport
        state)."""
        spec = self.spec
        params = self.params
        orders: tuple[OrderView, ...] = ()
        symbol = None
        if spec.kind is Kind.ENTRY and params is not None:
            symbol = params.symbol if "symbol" in params.__struct_fields__ else None
            rows = getattr(params, "orders", None)
            if rows is not None:
                orders = tuple(order_view(o) for o in rows)
            else:
                orders = (order_view(params),)
        return RequestView(
            method=spec.name,
            req_id=req_id,
            kind=spec.kind.value,
            idempotent=spec.idempotent,
            ids=tuple(self.ids),
            cl_ord_ids=tuple(self.cl_ord_ids),
            symbol=symbol,
            orders=orders,
            timeout=params.timeout if spec.name == "cancel_all_orders_after" else None,
            resent=resent,
            handle=handle or req_id,
        )


_EMPTY: list[str] = []
# Errors that answer one order of a multi-id cancel_order; any other error as the FIRST reply
# rejects the whole request (after a per-order reply, every error answers one order).
PER_ORDER_ERRORS = frozenset({"EOrder:Invalid order", "EOrder:Unknown order"})
_decode_count = m.BATCH_CANCEL_DECODER.decode


def _error(r: m.Reply, method: str) -> KrakenAPIError | RemoteProtocolError:
    return reply_error(r.error, r.success, req_id=r.req_id, method=method)


def _batch_cancel(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not (r.success and r.result):
        return _error(r, "batch_cancel")
    w = _decode_count(r.result)
    return res.BatchCancelResult(
        count=w.count,
        # bytes(): the frame's buffer is reused by picows after this callback.
        warnings_raw=bytes(w.warnings) if w.warnings else b"",
        orders=call.ids,
        cl_ord_id=call.cl_ord_ids,
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def _cancel_all(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not (r.success and r.result):
        return _error(r, "cancel_all")
    w = _decode_count(r.result)
    return res.CancelAllResult(
        count=w.count,
        warnings_raw=bytes(w.warnings) if w.warnings else b"",
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def _cancel_after(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not (r.success and r.result):
        return _error(r, "cancel_all_orders_after")
    w = m.CANCEL_AFTER_DECODER.decode(r.result)
    return res.CancelAfterResult(
        current_time_raw=w.currentTime,
        trigger_time_raw=w.triggerTime,
        warnings=w.warnings,
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def _ping(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    # A recorded pong has no "success" key at all (kraken-ws-v2.md section 1).
    if r.success is False:
        return _error(r, "ping")
    return res.PongResult(
        req_id=rid, latency_ns=latency, time_in_raw=r.time_in, time_out_raw=r.time_out
    )


def _subscribe(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not r.success:
        return _error(r, call.spec.name)
    return m.SUBSCRIBE_DECODER.decode(r.result) if r.result else m.SubscribeWire()


def settle_entry(method: str, r: m.Reply, req_id: int, latency_ns: int) -> Any:
    """The outcome of an order-entry reply: a result struct or a
    [`KrakenAPIError`][krakenwire.KrakenAPIError]."""
    timing: dict[str, Any] = {
        "req_id": req_id,
        "latency_ns": latency_ns,
        "time_in_raw": r.time_in,
        "time_out_raw": r.time_out,
    }
    if method == "batch_add":
        # An engine failure of some orders: success false, but the per-order array is there.
        if r.result:
            rows = m.BATCH_ADD_DECODER.decode(r.result)
            items = [
                res.BatchAddItem(w.order_id, w.cl_ord_id, w.order_userref, w.error, w.warnings)
                for w in rows
            ]
            return res.BatchAddResult(orders=items, error=None if r.success else r.error, **timing)
        return _error(r, method)
    if not r.success or not r.result:
        return _error(r, method)
    if method == "add_order":
        w = m.ADD_ORDER_DECODER.decode(r.result)
        return res.AddOrderResult(
            order_id=w.order_id,
            cl_ord_id=w.cl_ord_id,
            order_userref=w.order_userref,
            warnings=w.warnings,
            **timing,
        )
    if method == "amend_order":
        a = m.AMEND_ORDER_DECODER.decode(r.result)
        return res.AmendOrderResult(
            amend_id=a.amend_id,
            order_id=a.order_id,
            cl_ord_id=a.cl_ord_id,
            warnings=a.warnings,
            **timing,
        )
    e = m.EDIT_ORDER_DECODER.decode(r.result)
    return res.EditOrderResult(
        order_id=e.order_id, original_order_id=e.original_order_id, warnings=e.warnings, **timing
    )


def _entry(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    return settle_entry(call.spec.name, r, rid, latency)


def cancel_order_reply(r: m.Reply) -> res.CancelOrderReply:
    """One successful ``cancel_order`` reply as a `res.CancelOrderReply`."""
    w = m.CANCEL_ORDER_DECODER.decode(r.result)
    return res.CancelOrderReply(w.order_id, w.cl_ord_id, None, w.warnings)


def finish_cancel_order(
    replies: list[res.CancelOrderReply], rid: int, latency: int, r: m.Reply
) -> res.CancelOrderResult:
    return res.CancelOrderResult(
        replies=replies,
        req_id=rid,
        latency_ns=latency,
        time_in_raw=r.time_in,
        time_out_raw=r.time_out,
    )


def _spec(
    name: str,
    request: type[msgspec.Struct],
    kind: Kind,
    idempotent: bool,
    settle: Settle | None,
    result: type[Any],
    completion: Completion = Completion.ONE,
    answers: frozenset[str] = frozenset(),
) -> MethodSpec:
    return MethodSpec(name, request, kind, idempotent, completion, settle, result, answers)


_C, _E, _H = Kind.CANCEL, Kind.ENTRY, Kind.HOUSEKEEPING
METHODS: Mapping[str, MethodSpec] = {
    s.name: s
    for s in (
        _spec("batch_cancel", m.BatchCancel, _C, True, _batch_cancel, res.BatchCancelResult),
        _spec(
            "cancel_order",
            m.CancelOrder,
            _C,
            True,
            None,  # multi-reply: the session collects the parts, then finish_cancel_order
            res.CancelOrderResult,
            Completion.PER_ID,
        ),
        _spec("cancel_all", m.CancelAll, _C, True, _cancel_all, res.CancelAllResult),
        _spec(
            "cancel_all_orders_after",
            m.CancelAllOrdersAfter,
            _C,
            True,
            _cancel_after,
            res.CancelAfterResult,
        ),
        _spec("add_order", m.AddOrder, _E, False, _entry, res.AddOrderResult),
        _spec("batch_add", m.BatchAdd, _E, False, _entry, res.BatchAddResult),
        _spec("amend_order", m.AmendOrder, _E, False, _entry, res.AmendOrderResult),
        _spec("edit_order", m.EditOrder, _E, False, _entry, res.EditOrderResult),
        _spec("ping", m.Ping, _H, True, _ping, res.PongResult, answers=frozenset({"pong"})),
        _spec("subscribe", m.Subscribe, _H, True, _subscribe, m.SubscribeWire),
        # Kraken answers an unsubscribe error as method "subscribe" (sic, kraken-ws-v2.md §3).
        _spec(
            "unsubscribe",
            m.Unsubscribe,
            _H,
            True,
            _subscribe,
            m.SubscribeWire,
            answers=frozenset({"subscribe"}),
        ),
    )
}


def kinds(kind: str) -> frozenset[str]:
    """The method names of one kind (``"cancel"``, ``"entry"``, ``"housekeeping"``): what
    plugins use instead of keeping their own lists."""
    return frozenset(n for n, s in METHODS.items() if s.kind.value == kind)


def reply_key(call: Call, part: res.CancelOrderReply) -> str | None:
    """Which requested order a cancel_order reply answers (None: one it did not name)."""
    if call.key == "order_id":
        return part.order_id if part.order_id in call.ids else None
    if call.key == "cl_ord_id" and part.cl_ord_id is not None:
        return part.cl_ord_id if part.cl_ord_id in call.cl_ord_ids else None
    return "#" + part.order_id  # by userref (or a cl_ord_id reply without it): per order
