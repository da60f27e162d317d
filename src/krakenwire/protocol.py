"""The sans-IO core, public: drive krakenwire's protocol from your own I/O (tests, replays).

`Session` takes a built request and returns the bytes to send; it takes received bytes and returns
events; time comes in as an argument. The builders (``batch_cancel``, ``cancel_order``...) validate
arguments into a `Call`; [`METHODS`][krakenwire.sim.METHODS] is the registry that says what each
Kraken method is.
"""

from ._build import (
    add_order,
    amend_order,
    batch_add,
    batch_cancel,
    cancel_after,
    cancel_all,
    cancel_order,
    edit_order,
    ping,
    subscribe_executions,
)
from ._events import ChannelFrame, Completed, Event, Failed, Malformed, Stale, Unmatched
from ._methods import METHODS, Call, Completion, Kind, MethodSpec, kinds
from ._protocol import Session

__all__ = [
    "METHODS",
    "Call",
    "ChannelFrame",
    "Completed",
    "Completion",
    "Event",
    "Failed",
    "Kind",
    "Malformed",
    "MethodSpec",
    "Session",
    "Stale",
    "Unmatched",
    "add_order",
    "amend_order",
    "batch_add",
    "batch_cancel",
    "cancel_after",
    "cancel_all",
    "cancel_order",
    "edit_order",
    "kinds",
    "ping",
    "subscribe_executions",
]
