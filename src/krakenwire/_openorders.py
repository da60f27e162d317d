"""The live view of open orders, kept from the ``executions`` channel's snapshot and updates.

Kraken's batch_cancel reply carries only a count, so the executions stream is what says which
orders are gone. Updates are sparse (only changed fields) and numbered by ``sequence``; a gap
means an update was lost, so the view reports it and the client takes a fresh snapshot. Closed
orders are remembered (bounded) so that a cancel can be confirmed per id after the fact.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from .protocol._events import ChannelFrame

__all__ = ["CLOSED_STATUSES", "OpenOrder", "OpenOrders"]

CLOSED_STATUSES = frozenset({"canceled", "filled", "expired"})
_CLOSING_EXEC = frozenset({"canceled", "filled", "expired"})
_MAX_CLOSED = 100_000
_MAX_PLACED = 100_000


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _dec(v: Any) -> Decimal | None:
    return Decimal(v) if isinstance(v, Decimal | int) and not isinstance(v, bool) else None


class OpenOrder:
    """One open order as the executions stream last described it (Kraken's sparse updates
    merged): typed accessors for the fields a market maker reads, ``order[key]`` for any field
    by Kraken's name, ``fields`` for a copy of all of them. Numbers are ``Decimal``."""

    __slots__ = ("_d",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self._d = fields

    def __repr__(self) -> str:
        return (
            f"OpenOrder({self.order_id!r}, {self.side} {self.order_qty} {self.symbol} "
            f"@ {self.limit_price}, {self.order_status})"
        )

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._d.get(key, default)

    @property
    def fields(self) -> dict[str, Any]:
        """A copy of every field Kraken sent for the order."""
        return dict(self._d)

    @property
    def order_id(self) -> str:
        return str(self._d["order_id"])

    @property
    def symbol(self) -> str | None:
        return _str(self._d.get("symbol"))

    @property
    def side(self) -> str | None:
        return _str(self._d.get("side"))

    @property
    def order_type(self) -> str | None:
        return _str(self._d.get("order_type"))

    @property
    def order_status(self) -> str | None:
        return _str(self._d.get("order_status"))

    @property
    def time_in_force(self) -> str | None:
        return _str(self._d.get("time_in_force"))

    @property
    def order_qty(self) -> Decimal | None:
        return _dec(self._d.get("order_qty"))

    @property
    def limit_price(self) -> Decimal | None:
        return _dec(self._d.get("limit_price"))

    @property
    def cum_qty(self) -> Decimal | None:
        return _dec(self._d.get("cum_qty"))

    @property
    def cl_ord_id(self) -> str | None:
        return _str(self._d.get("cl_ord_id"))

    @property
    def order_userref(self) -> int | None:
        v = self._d.get("order_userref")
        return v if type(v) is int else None

    @property
    def timestamp(self) -> str | None:
        return _str(self._d.get("timestamp"))


class OpenOrders:
    """Open orders by ``order_id``, with lookups by ``cl_ord_id`` and ``order_userref``.

    Each order is an [`OpenOrder`][krakenwire.OpenOrder] over its latest known fields (prices and
    quantities as ``Decimal``). ``ready`` is set once a snapshot has been applied on the current
    connection.
    """

    def __init__(self) -> None:
        self._orders: dict[str, dict[str, Any]] = {}
        self._by_cl: dict[str, str] = {}
        self._by_ref: dict[int, set[str]] = {}
        self._closed: OrderedDict[str, str] = OrderedDict()
        self._watchers: dict[str, list[asyncio.Future[str]]] = {}
        # Orders our own add_order/batch_add acks say exist, until the stream shows them.
        self._placed: OrderedDict[str, tuple[str | None, int | None]] = OrderedDict()
        self.sequence: int | None = None  # the last sequence seen on any stream
        self.gaps = 0
        self.ready = asyncio.Event()
        # Told of every order the stream opens or closes (order_id, order_userref, closing
        # status or None): the router completes userref cancels from it.
        self.on_order: Callable[[str, int | None, str | None], None] | None = None
        # One executions stream per socket (a warm standby adds a second): each has its own
        # sequence numbers and its own snapshot; the view is ready while any stream's is in.
        self._seq: dict[int, int | None] = {}
        self._snap: dict[int, asyncio.Event] = {}

    def __repr__(self) -> str:
        snap = "yes" if self.ready.is_set() else "no"
        return f"<OpenOrders {len(self._orders)} open, snapshot={snap}>"

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._orders))

    def get(self, order_id: str) -> OpenOrder | None:
        """The open order, or ``None`` if it is not open."""
        d = self._orders.get(order_id)
        return OpenOrder(d) if d is not None else None

    def by_cl_ord_id(self, cl_ord_id: str) -> OpenOrder | None:
        oid = self._by_cl.get(cl_ord_id)
        return self.get(oid) if oid is not None else None

    def userref_ids(self, order_userref: int) -> list[str] | None:
        """Open order ids with ``order_userref``, or ``None`` while no snapshot is in."""
        if not self.ready.is_set():
            return None
        return list(self._by_ref.get(order_userref, ()))

    def by_userref(self, order_userref: int) -> list[OpenOrder]:
        return [OpenOrder(self._orders[o]) for o in sorted(self._by_ref.get(order_userref, ()))]

    def values(self) -> list[OpenOrder]:
        return [OpenOrder(d) for d in self._orders.values()]

    def closed_status(self, order_id: str) -> str | None:
        """How a recently closed order ended (``"canceled"``, ``"filled"``, ``"expired"``)."""
        return self._closed.get(order_id)

    def resolve(self, ident: str) -> list[str]:
        """Open order ids an identifier names: an order_id, a cl_ord_id, or a userref string
        (orders our own acks placed count even before the stream shows them)."""
        if ident in self._orders or ident in self._placed:
            return [ident]
        oid = self._by_cl.get(ident)
        if oid is not None:
            return [oid]
        for p_oid, (cl, _) in self._placed.items():
            if cl == ident:
                return [p_oid]
        if ident.isdigit():
            ref = int(ident)
            placed = [o for o, (_, r) in self._placed.items() if r == ref]
            return sorted(set(self._by_ref.get(ref, ())) | set(placed))
        return []

    def note_placed(self, order_id: str, cl_ord_id: str | None, userref: int | None) -> None:
        """Our own ack says ``order_id`` exists: evidence for a cancel's confirmation until the
        executions stream shows the order (its ``new`` event may come after the ack)."""
        if order_id in self._orders or order_id in self._closed:
            return
        self._placed[order_id] = (cl_ord_id, userref)
        if len(self._placed) > _MAX_PLACED:
            self._placed.popitem(last=False)

    # ---- feeding --------------------------------------------------------------------------

    def stream_ready(self, stream: int = 0) -> asyncio.Event:
        """Set once ``stream``'s snapshot is in (its socket's subscribe is complete)."""
        ev = self._snap.get(stream)
        if ev is None:
            ev = self._snap[stream] = asyncio.Event()
        return ev

    def reset(self, stream: int = 0) -> None:
        """Forget ``stream``'s snapshot state (its socket dropped); orders stay until the next
        snapshot. The view stays ready while another stream's snapshot is in."""
        self._seq.pop(stream, None)
        self.stream_ready(stream).clear()
        if not any(ev.is_set() for ev in self._snap.values()):
            self.sequence = None
            self.ready.clear()

    def apply(self, msg: ChannelFrame, stream: int = 0) -> bool:
        """Apply one executions frame. Returns ``False`` when ``sequence`` shows a gap (the
        frame is still applied; the caller should take a fresh snapshot).

        Raises:
            ValueError: the frame is not a list of order rows (nothing applied).
        """
        ok = True
        seq = msg.sequence
        data = msg.data
        # A frame we cannot read is refused whole, before anything changes; its sequence is not
        # taken, so the next update shows a gap and a fresh snapshot repairs the view.
        if not isinstance(data, list) or not all(
            isinstance(item, dict) and isinstance(item.get("order_id", ""), str) for item in data
        ):
            raise ValueError(f"executions {msg.type} not understood: {str(data)[:100]}")
        if msg.type == "snapshot":
            # A second stream's snapshot does not reload a view another live stream keeps
            # complete (it may be older than updates already applied).
            if not any(ev.is_set() for k, ev in self._snap.items() if k != stream):
                self._load(data)
        else:
            last = self._seq.get(stream)
            if seq is not None and last is not None and seq != last + 1:
                self.gaps += 1
                ok = False
            for item in data:
                self._update(item)
        if type(seq) is int:
            self._seq[stream] = seq
            self.sequence = seq
        if msg.type == "snapshot":
            self.stream_ready(stream).set()
            self.ready.set()
        return ok

    def _load(self, items: Iterable[Any]) -> None:
        before = set(self._orders)
        self._orders.clear()
        self._by_cl.clear()
        self._by_ref.clear()
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("order_id"), str):
                status = item.get("order_status") or item.get("exec_type")
                if status in CLOSED_STATUSES:
                    continue
                self._put(item["order_id"], dict(item))
        # Orders that vanished while we were not looking are closed, reason unknown.
        for oid in before - set(self._orders):
            self._close(oid, "closed")

    def _update(self, item: dict[str, Any]) -> None:
        oid = item.get("order_id")
        if not isinstance(oid, str) or oid in self._closed:
            return  # a closed order never reopens (a second stream may repeat its events)
        status = item.get("order_status")
        if (
            status in CLOSED_STATUSES
            or item.get("exec_type") in _CLOSING_EXEC
            and (status is None or status in CLOSED_STATUSES)
        ):
            self._close(oid, str(status or item.get("exec_type")))
            return
        cur = self._orders.get(oid)
        if cur is None:
            self._put(oid, dict(item))
        else:
            cur.update(item)
            self._index(oid, cur)

    def _put(self, oid: str, order: dict[str, Any]) -> None:
        self._placed.pop(oid, None)
        self._orders[oid] = order
        self._closed.pop(oid, None)
        self._index(oid, order)
        tell = self.on_order
        if tell is not None:
            ref = order.get("order_userref")
            tell(oid, ref if type(ref) is int else None, None)

    def _index(self, oid: str, order: dict[str, Any]) -> None:
        cl = order.get("cl_ord_id")
        if isinstance(cl, str) and cl:
            self._by_cl[cl] = oid
        ref = order.get("order_userref")
        if isinstance(ref, int) and ref:
            self._by_ref.setdefault(ref, set()).add(oid)

    def _close(self, oid: str, status: str) -> None:
        placed = self._placed.pop(oid, None)
        order = self._orders.pop(oid, None)
        tell = self.on_order
        if tell is not None:
            ref = order.get("order_userref") if order is not None else None
            if ref is None and placed is not None:
                ref = placed[1]
            tell(oid, ref if type(ref) is int else None, status)
        if order is not None:
            cl = order.get("cl_ord_id")
            if isinstance(cl, str) and self._by_cl.get(cl) == oid:
                del self._by_cl[cl]
            ref = order.get("order_userref")
            if isinstance(ref, int) and ref in self._by_ref:
                self._by_ref[ref].discard(oid)
                if not self._by_ref[ref]:
                    del self._by_ref[ref]
        self._closed[oid] = status
        self._closed.move_to_end(oid)
        if len(self._closed) > _MAX_CLOSED:
            self._closed.popitem(last=False)
        for fut in self._watchers.pop(oid, ()):
            if not fut.done():
                fut.set_result(status)

    # ---- waiting --------------------------------------------------------------------------

    def watch(self, order_id: str) -> asyncio.Future[str]:
        """A future resolved with the closing status when ``order_id`` closes (at once if it
        already has)."""
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        status = self._closed.get(order_id)
        if status is not None:
            fut.set_result(status)
        else:
            self._watchers.setdefault(order_id, []).append(fut)
        return fut

    def unwatch(self, order_id: str, fut: asyncio.Future[str]) -> None:
        lst = self._watchers.get(order_id)
        if lst is not None and fut in lst:
            lst.remove(fut)
            if not lst:
                del self._watchers[order_id]
