"""The table of Kraken methods the simulator answers, and [`METHODS`][krakenwire.sim.METHODS], their
names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._book import Account
from ._cancels import batch_cancel, cancel_after, cancel_all, cancel_order
from ._ctx import Ctx
from ._engine import Engine
from ._placing import add_order, amend_order, batch_add, edit_order
from ._wire import (
    AddOrderParams,
    AmendOrderParams,
    BatchAddParams,
    BatchCancelParams,
    CancelAfterParams,
    CancelOrderParams,
    EditOrderParams,
    TokenParams,
)

__all__ = ["HANDLERS", "METHODS", "Handler"]

Handler = Callable[[Engine, Ctx, Account, Any], None]

# method -> (params type, handler, places orders?)
HANDLERS: dict[str, tuple[type[Any], Handler, bool]] = {
    "batch_cancel": (BatchCancelParams, batch_cancel, False),
    "cancel_order": (CancelOrderParams, cancel_order, False),
    "cancel_all": (TokenParams, cancel_all, False),
    "cancel_all_orders_after": (CancelAfterParams, cancel_after, False),
    "add_order": (AddOrderParams, add_order, True),
    "batch_add": (BatchAddParams, batch_add, True),
    "amend_order": (AmendOrderParams, amend_order, True),
    "edit_order": (EditOrderParams, edit_order, True),
}

#: Every request method the simulator answers: the trading methods plus ping, subscribe and
#: unsubscribe. A client's method registry should agree with it.
METHODS: frozenset[str] = frozenset(HANDLERS) | {"ping", "subscribe", "unsubscribe"}
"""Every method the simulator answers (the trading methods, ``ping``, ``subscribe``,
``unsubscribe``); any other gets Kraken's error for an unknown method."""
