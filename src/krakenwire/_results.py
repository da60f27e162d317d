"""Typed results of client calls. Timestamps are kept as Kraken's text and parsed on access.

Parsing two timestamps costs more than the rest of resolving a reply, and most callers never
read them, so ``time_in``/``time_out`` are properties over the raw strings.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from ._timefmt import parse_timestamp
from .errors import KrakenwireError

_decode_warnings = msgspec.json.Decoder(list[str]).decode


def _warnings(raw: bytes) -> list[str]:
    if not raw:
        return []
    try:
        return _decode_warnings(raw)
    except msgspec.DecodeError:  # not a list of strings: shown as Kraken sent it
        return [raw.decode("utf-8", "replace")]


__all__ = [
    "AddOrderResult",
    "AmendOrderResult",
    "BatchAddItem",
    "BatchAddResult",
    "CancelConfirmation",
    "EditOrderResult",
    "BatchCancelResult",
    "CancelAfterResult",
    "CancelAllResult",
    "CancelOrderReply",
    "CancelOrderResult",
    "CancelOrdersResult",
    "ChunkOutcome",
    "PongResult",
]


class _Timed(msgspec.Struct, kw_only=True):
    req_id: int
    latency_ns: int = 0
    time_in_raw: str = ""
    time_out_raw: str = ""
    # True when the request was in flight on a socket that died and was re-sent on the standby
    # (idempotent cancels only): the result merges what every copy answered.
    failed_over: bool = False
    # True when it went out on both sockets (a hedge): the result merges both copies' answers.
    hedged: bool = False
    # Kraken accepted the request (success: true) but part of its reply could not be read: what
    # (e.g. "no count (neither result.count nor orders_cancelled)"). The unreadable fields are
    # None; the mismatch is counted (ClientStats.shape_mismatches) and logged. Empty normally.
    shape_warnings: tuple[str, ...] = ()

    @property
    def time_in(self) -> datetime | None:
        """When Kraken received the request (UTC), or ``None`` if the reply had no time_in."""
        return parse_timestamp(self.time_in_raw) if self.time_in_raw else None

    @property
    def time_out(self) -> datetime | None:
        """When Kraken sent the reply (UTC), or ``None`` if the reply had no time_out."""
        return parse_timestamp(self.time_out_raw) if self.time_out_raw else None


class CancelConfirmation(msgspec.Struct):
    """Per-id outcome of a cancel, learned from the executions stream.

    ``outcomes`` maps each id as given (order id, ``order_userref`` as a string, or cl_ord_id)
    to ``"cancelled"`` (a ``canceled`` event arrived for every order it named, or they vanished
    from a fresh snapshot after the request), ``"not_open"`` (it named no open order when the
    request was made, or its orders closed otherwise, e.g. filled) or ``"unknown"`` (no event
    before the timeout). ``orders`` maps each id to the open order ids it named at request
    time; ``statuses`` holds the closing status the stream reported per order id.
    """

    outcomes: dict[str, str]
    orders: dict[str, list[str]] = {}
    statuses: dict[str, str] = {}

    def _with(self, outcome: str) -> list[str]:
        return [i for i, o in self.outcomes.items() if o == outcome]

    @property
    def cancelled(self) -> list[str]:
        return self._with("cancelled")

    @property
    def not_open(self) -> list[str]:
        return self._with("not_open")

    @property
    def unknown(self) -> list[str]:
        return self._with("unknown")

    @property
    def rejected(self) -> list[str]:
        """Ids of a [`Client.cancel_orders`][krakenwire.Client.cancel_orders] chunk Kraken refused
        (still open)."""
        return self._with("rejected")

    @property
    def complete(self) -> bool:
        """True when no id is ``"unknown"``."""
        return "unknown" not in self.outcomes.values()


class _Confirmable:
    """Mixin of cancel results that may carry a
    [`CancelConfirmation`][krakenwire.CancelConfirmation] (``confirm=``)."""

    __slots__ = ()
    confirmation: CancelConfirmation | None

    def _ids(self) -> list[str]:
        raise NotImplementedError

    @property
    def gone(self) -> list[str]:
        """Ids confirmed cancelled by the executions stream (empty without ``confirm=``)."""
        c = self.confirmation
        return c.cancelled if c is not None else []

    @property
    def not_open(self) -> list[str]:
        """Ids that named no open order (empty without ``confirm=``)."""
        c = self.confirmation
        return c.not_open if c is not None else []

    @property
    def unconfirmed(self) -> list[str]:
        """Ids with no confirmation (yet): every id when ``confirm=`` was not given."""
        c = self.confirmation
        return c.unknown if c is not None else self._ids()


class BatchCancelResult(_Confirmable, _Timed, kw_only=True):
    """A successful batch_cancel. ``count`` is Kraken's number cancelled; it is not per-id:
    ``count < len(orders) + len(cl_ord_id)`` means some were not open (see ``warnings``).
    ``count`` is ``None`` when the reply said success but its count could not be read (see
    ``shape_warnings``). With ``confirm=``, ``confirmation``/``gone``/``not_open``/
    ``unconfirmed`` say it per id."""

    count: int | None
    warnings_raw: bytes = b""
    orders: list[str] = []
    cl_ord_id: list[str] = []
    confirmation: CancelConfirmation | None = None

    @property
    def warnings(self) -> list[str]:
        """Kraken's non-fatal warnings (e.g. one per id that was not open), decoded on access."""
        return _warnings(self.warnings_raw)

    def _ids(self) -> list[str]:
        return self.orders + self.cl_ord_id


class AddOrderResult(_Timed, kw_only=True):
    """An order Kraken accepted (``order_id`` is ``""`` for ``validate=True``, ``None`` when
    the reply said success but carried no readable id: see ``shape_warnings``)."""

    order_id: str | None
    cl_ord_id: str | None = None
    order_userref: int | None = None
    warnings: list[str] = []


class BatchAddItem(msgspec.Struct):
    """One order of a batch_add, in request order: its ids, or the engine's error for it."""

    order_id: str = ""
    cl_ord_id: str | None = None
    order_userref: int | None = None
    error: str | None = None
    warnings: list[str] = []

    @property
    def ok(self) -> bool:
        return self.error is None


class BatchAddResult(_Timed, kw_only=True):
    """A batch_add Kraken processed. An engine failure (e.g. ``EOrder:Insufficient funds``)
    rejects only that order: its item has ``error`` (and ``error`` here repeats Kraken's
    top-level string); a validation failure rejects the whole batch and raises instead."""

    orders: list[BatchAddItem]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return all(o.error is None for o in self.orders)

    @property
    def order_ids(self) -> list[str]:
        """Ids of the orders placed (failed rows left out)."""
        return [o.order_id for o in self.orders if o.error is None]


class AmendOrderResult(_Timed, kw_only=True):
    """An amended order: same ids, a new ``amend_id`` (``None`` if the reply had none)."""

    amend_id: str | None
    order_id: str | None = None
    cl_ord_id: str | None = None
    warnings: list[str] = []


class EditOrderResult(_Timed, kw_only=True):
    """An edited (cancelled and replaced) order: ``order_id`` is the new id (``None`` if the
    reply said success without a readable one: see ``shape_warnings``)."""

    order_id: str | None
    original_order_id: str | None
    warnings: list[str] = []


class CancelAllResult(_Timed, kw_only=True):
    """A successful cancel_all: ``count`` orders were cancelled (``None``: unreadable)."""

    count: int | None
    warnings_raw: bytes = b""

    @property
    def warnings(self) -> list[str]:
        """Kraken's non-fatal warnings, decoded on access."""
        return _warnings(self.warnings_raw)


class CancelOrderReply(msgspec.Struct):
    """One of the N replies to a cancel_order: a cancelled order, or Kraken's error string.

    ``order_id`` is ``""`` when a successful reply carried no readable id (``shape_warnings``
    says so): one order was cancelled, which one the reply does not say."""

    order_id: str = ""
    cl_ord_id: str | None = None
    error: str | None = None
    warnings: list[str] = []
    shape_warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


class CancelOrderResult(_Confirmable, _Timed, kw_only=True):
    """All replies to one cancel_order (Kraken sends one per order, same req_id).

    ``ok`` is true when every reply succeeded; ``count`` is the number of orders Kraken
    reported cancelled (as on every other cancel result), ``cancelled`` (also
    ``cancelled_ids``) their ids; ``shape_warnings`` gathers those of the replies.
    """

    replies: list[CancelOrderReply] = []

    @property
    def ok(self) -> bool:
        return all(r.error is None for r in self.replies)

    @property
    def count(self) -> int:
        """Orders Kraken reported cancelled (one successful reply each, a reply whose id
        could not be read included)."""
        return sum(1 for r in self.replies if r.error is None)

    @property
    def cancelled(self) -> list[str]:
        """Order ids the replies confirmed cancelled (a reply with no readable id is left out:
        see ``shape_warnings``)."""
        return [r.order_id for r in self.replies if r.error is None and r.order_id]

    @property
    def cancelled_ids(self) -> list[str]:
        """The same as ``cancelled``."""
        return self.cancelled

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.replies if r.error is not None]

    requested: list[str] = []
    confirmation: CancelConfirmation | None = None
    # False for an order_userref cancel completed without an executions view (it ended after
    # its replies went quiet): "complete as far as known", not proven complete.
    exact: bool = True

    def _ids(self) -> list[str]:
        return self.requested or self.cancelled_ids


class CancelAfterResult(_Timed, kw_only=True):
    """cancel_all_orders_after: ``trigger_time`` is ``None`` when the switch is disarmed."""

    current_time_raw: str = ""
    trigger_time_raw: str = ""
    warnings: list[str] = []

    @property
    def current_time(self) -> datetime | None:
        return parse_timestamp(self.current_time_raw) if self.current_time_raw else None

    @property
    def trigger_time(self) -> datetime | None:
        raw = self.trigger_time_raw
        return parse_timestamp(raw) if raw and raw != "0" else None


class PongResult(_Timed, kw_only=True):
    """The reply to an application-level ping."""


class ChunkOutcome(msgspec.Struct):
    """One wire request of a [`Client.cancel_orders`][krakenwire.Client.cancel_orders]: its ids and
    result or error."""

    ids: list[str]
    result: BatchCancelResult | CancelOrderResult | None = None
    error: KrakenwireError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def outcome(self) -> str:
        """``"ok"``, ``"rejected"`` (Kraken said no: nothing cancelled) or ``"unknown"``."""
        if self.error is None:
            return "ok"
        return getattr(self.error, "outcome", "rejected")


class CancelOrdersResult(_Confirmable, msgspec.Struct):
    """Aggregate of [`Client.cancel_orders`][krakenwire.Client.cancel_orders]: one
    [`ChunkOutcome`][krakenwire.ChunkOutcome] per wire request.

    With ``confirm=``, ``confirmation`` covers every id of every chunk (``gone``, ``not_open``,
    ``unconfirmed``)."""

    chunks: list[ChunkOutcome]
    confirmation: CancelConfirmation | None = None

    def _ids(self) -> list[str]:
        return [i for c in self.chunks for i in c.ids]

    @property
    def ok(self) -> bool:
        return all(c.error is None for c in self.chunks)

    @property
    def count(self) -> int:
        """Orders Kraken reported cancelled, summed over the chunks that succeeded."""
        n = 0
        for c in self.chunks:
            r = c.result
            if isinstance(r, BatchCancelResult):
                n += r.count or 0  # None: Kraken's count was unreadable (shape_warnings)
            elif isinstance(r, CancelOrderResult):
                n += r.count
        return n

    @property
    def rejected_ids(self) -> list[str]:
        """Ids whose request Kraken rejected (``success:false``): not cancelled by it."""
        return [i for c in self.chunks if c.outcome == "rejected" for i in c.ids]

    @property
    def unknown_ids(self) -> list[str]:
        """Ids whose request timed out or lost its connection: fate unknown, reconcile."""
        return [i for c in self.chunks if c.outcome == "unknown" for i in c.ids]

    @property
    def latency_ns(self) -> int:
        """The slowest chunk's round trip."""
        return max((c.result.latency_ns for c in self.chunks if c.result is not None), default=0)


class Reconciliation(msgspec.Struct):
    """What [`Client.reconcile`][krakenwire.Client.reconcile] learned from the executions snapshot.

    ``gone``: ids no longer open (cancelled, filled or expired; ``statuses`` has the status when
    the stream reported it). ``open``: ids still open. ``recancelled``: the re-cancel's result.
    """

    gone: list[str]
    open: list[str]
    statuses: dict[str, str] = {}
    recancelled: CancelOrdersResult | None = None
