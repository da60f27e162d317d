"""What every method row says (`MethodSpec`) and the request it builds (`Call`).

A method's request Struct, builder, settle function and table row live together in one module of
this package (``cancels``, ``entry``, ``housekeeping``); this one holds what they share.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import msgspec

from .. import _messages as m
from .._validate import recheck_ids
from .._views import OrderView, RequestView, order_view
from ..errors import KrakenAPIError, RemoteProtocolError, ValidationError, reply_error

__all__ = [
    "PER_ORDER_ERRORS",
    "Call",
    "Completion",
    "Confirmed",
    "Kind",
    "Merge",
    "MethodSpec",
    "Proves",
    "Settle",
    "encode_call",
    "error",
]


class Kind(enum.Enum):
    """What a request does: the risk gate checks every kind but HOUSEKEEPING."""

    CANCEL = "cancel"
    ENTRY = "entry"
    HOUSEKEEPING = "housekeeping"


class Completion(enum.Enum):
    """How many replies complete a request (the router reads it)."""

    ONE = "one"  # one reply: ``settle`` makes the outcome
    PER_ID = "per_id"  # one per id named (cancel_order by order_id / cl_ord_id)
    # One per open order matched (cancel_order by order_userref): how many is not knowable from
    # the request; the router completes it from the executions stream.
    PER_MATCHED_ORDER = "per_matched_order"


Settle = Callable[["Call", m.Reply, int, int], Any]
# proves(request, this copy's call, this copy's result) -> it alone proves the whole outcome
Proves = Callable[["Call", "Call", Any], bool]
# merge(request, every copy's outcome that is not open) -> one result (results and errors)
Merge = Callable[["Call", list[Any]], Any]
# confirmed(request, outcomes, closed) -> the result when the executions stream (``closed``:
# order_id -> closing status) proves what a lost copy did, else None
Confirmed = Callable[["Call", list[Any], Callable[[str], "str | None"]], Any]


def _first_result(call: Call, outs: list[Any]) -> Any:
    return next(o for o in outs if not isinstance(o, Exception))


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
            reply completes; ``None`` exactly when ``completion`` is not ``ONE`` (the router
            collects ``CancelOrderReply`` items and builds the result).
        result: the result type of a success.
        answers: method names a reply may carry besides ``name`` (``pong`` for ``ping``).
        proves: for a request with several copies (hedged, failed over): whether one copy's
            result proves the whole outcome, so the request settles without its twin;
            ``None``: never (every copy is awaited).
        merge: the one result of several copies' outcomes (counts add up: an order is
            cancelled once).
        confirmed: the outcome of a request one of whose copies is unknown, when the
            executions stream shows what it did; ``None``: the stream cannot say.
    """

    name: str
    request: type[msgspec.Struct]
    kind: Kind
    idempotent: bool
    completion: Completion
    settle: Settle | None
    result: type[Any]
    answers: frozenset[str] = frozenset()
    proves: Proves | None = None
    merge: Merge = _first_result
    confirmed: Confirmed | None = None

    def __post_init__(self) -> None:
        if (self.settle is None) is (self.completion is Completion.ONE):
            raise ValueError(f"{self.name}: settle must be given exactly for Completion.ONE")


class Call:
    """A validated request before it has a ``req_id``.

    ``req`` is the envelope Struct (its ``req_id`` and ``params.token`` are filled at send);
    ``ids``/``cl_ord_ids`` what it names; ``expected`` how many replies complete a PER_ID
    request; ``key`` which reply field identifies an order for multi-reply completion.
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
        self.cl_ord_ids: list[str] = cl_ord_ids if cl_ord_ids is not None else []
        self.expected = expected
        self.key = key
        self.extra = extra

    @property
    def all_ids(self) -> list[str]:
        return self.ids + self.cl_ord_ids if self.cl_ord_ids else self.ids

    def __repr__(self) -> str:
        return f"Call({self.spec.name!r}, ids={self.all_ids!r})"

    def copy(self) -> Call:
        """A second, independent request with the same content (for the other socket)."""
        if self.params is None:  # ping: no params
            params, req = None, msgspec.structs.replace(self.req)
        else:
            params = msgspec.structs.replace(self.params)
            req = msgspec.structs.replace(self.req, params=params)
        return Call(
            self.spec, req, params, self.ids, self.cl_ord_ids, self.expected, self.key, self.extra
        )

    def view(self, req_id: int, resent: bool = False, handle: int = 0) -> RequestView:
        """The frozen `RequestView` plugins see (no token, no transport state)."""
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


# Errors that answer one order of a multi-id cancel_order; any other error as the FIRST reply
# rejects the whole request (after a per-order reply, every error answers one order).
PER_ORDER_ERRORS = frozenset({"EOrder:Invalid order", "EOrder:Unknown order"})

_encode = m.ENCODER.encode


def error(r: m.Reply, method: str) -> KrakenAPIError | RemoteProtocolError:
    """The error a reply that is not a success stands for."""
    return reply_error(r.error, r.success, req_id=r.req_id, method=method)


def encode_call(call: Call) -> bytes:
    try:
        return _encode(call.req)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        _recheck(call, exc)


def _recheck(call: Call, exc: Exception) -> NoReturn:
    """The encoder refused a request that passed validation: name the field if we can."""
    recheck_ids(call.ids, "orders" if call.spec.name == "batch_cancel" else "order_id")
    recheck_ids(call.cl_ord_ids, "cl_ord_id")
    raise ValidationError(
        f"{call.spec.name} cannot be encoded: {exc}", field="request", value=None
    ) from None
