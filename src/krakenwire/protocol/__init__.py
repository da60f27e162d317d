"""The sans-IO core, public: drive krakenwire's protocol from your own I/O (tests, replays).

`Router` (also named `Session`) takes a built request and returns the bytes to
send; it takes received bytes and returns events; time comes in as an argument. It decides every
request's fate on every connection of a client. The builders (``batch_cancel``,
``cancel_order``...) validate arguments into a `Call`; `METHODS` is the table that
says what each Kraken method is. Importing this package loads neither picows, asyncio nor
pluggy.
"""

from ..methods import METHODS, Call, Completion, Kind, MethodSpec, encode_call, kinds
from ..methods.cancels import batch_cancel, cancel_after, cancel_all, cancel_order
from ..methods.entry import add_order, amend_order, batch_add, edit_order
from ..methods.housekeeping import ping, subscribe_executions
from ._events import (
    Absorbed,
    ChannelFrame,
    Completed,
    Event,
    Failed,
    Malformed,
    Stale,
    Unmatched,
)
from ._router import QUIET_NS, Router

Session = Router  # the one-connection name of v2; a Router with conns=1

__all__ = [
    "METHODS",
    "QUIET_NS",
    "Absorbed",
    "Call",
    "ChannelFrame",
    "Completed",
    "Completion",
    "Event",
    "Failed",
    "Kind",
    "Malformed",
    "MethodSpec",
    "Router",
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
    "encode_call",
    "kinds",
    "ping",
    "subscribe_executions",
]
