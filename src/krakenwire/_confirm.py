"""Per-id cancel confirmation from the executions stream.

Kraken's batch_cancel reply carries only a count, so which ids are gone is learned from the
``canceled`` events of the executions channel. A `CancelTracker` is made only when the
caller asks for confirmation: at request time it resolves every id (an order id, an
``order_userref`` number, a cl_ord_id) through the open-orders view to the open order ids it
names, and watches those; ids naming no open order are ``not_open``. The plain cancel path
builds none of this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ._openorders import OpenOrders
from ._results import CancelConfirmation

__all__ = ["CancelTracker"]

# Closing statuses that count as "cancelled": a canceled event, or the order vanished from a
# fresh snapshot after the request (the view records those as "closed").
_CANCELLED = frozenset({"canceled", "closed"})


class CancelTracker:
    """Watches the orders a cancel names, from before it is sent until it is confirmed.

    Args:
        view: the client's open-orders view (its snapshot must be in).
        orders: ``orders``/``order_id`` entries: order ids or ``order_userref`` numbers.
        cl_ord_id: client order ids.
        userrefs: ``order_userref`` values (cancel_order's third kind).
    """

    def __init__(
        self,
        view: OpenOrders,
        orders: Iterable[str] = (),
        cl_ord_id: Iterable[str] = (),
        userrefs: Iterable[int] = (),
    ) -> None:
        self.view = view
        self.targets: dict[str, list[str]] = {}
        self._futs: dict[str, asyncio.Future[str]] = {}
        # resolve() counts orders our own acks placed before the stream showed them: an id is
        # "not_open" only when nothing says the order exists.
        for ident in orders:
            self._track(ident, view.resolve(ident))
        for cl in cl_ord_id:
            self._track(cl, view.resolve(cl))
        for ref in userrefs:
            self._track(str(ref), [o.order_id for o in view.by_userref(ref)])

    def _track(self, ident: str, oids: list[str]) -> None:
        self.targets[ident] = oids
        for oid in oids:
            if oid not in self._futs:
                self._futs[oid] = self.view.watch(oid)

    def abandon(self) -> None:
        """Stop watching (the request was not sent)."""
        for oid, fut in self._futs.items():
            self.view.unwatch(oid, fut)
            fut.cancel()

    async def wait(self, timeout: float, rejected: Iterable[str] = ()) -> CancelConfirmation:
        """Wait up to ``timeout`` s for every watched order to close; report per id.

        ``rejected`` ids (their request was refused by Kraken) are not waited for.
        """
        skip = set(rejected)
        needed = {o for i, oids in self.targets.items() if i not in skip for o in oids}
        waiting = [f for o, f in self._futs.items() if o in needed and not f.done()]
        if waiting and timeout > 0:
            await asyncio.wait(waiting, timeout=timeout)
        statuses: dict[str, str] = {}
        for oid, fut in self._futs.items():
            if fut.done() and not fut.cancelled():
                statuses[oid] = fut.result()
            else:
                self.view.unwatch(oid, fut)
                fut.cancel()
        outcomes: dict[str, str] = {}
        for ident, oids in self.targets.items():
            if ident in skip:
                outcomes[ident] = "rejected"
            elif not oids:
                outcomes[ident] = "not_open"
            elif any(o not in statuses for o in oids):
                outcomes[ident] = "unknown"
            elif any(statuses[o] in _CANCELLED for o in oids):
                outcomes[ident] = "cancelled"
            else:  # filled or expired before the cancel landed
                outcomes[ident] = "not_open"
        return CancelConfirmation(outcomes=outcomes, orders=self.targets, statuses=statuses)
