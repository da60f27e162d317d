"""The method table: one row per Kraken method, each defined beside its builder and settle
function (`cancels`, `entry`, `housekeeping`).

Adding a method touches its group module (Struct import, builder, settle function, row), the
wire Struct in ``_messages.py``, its result in ``_results.py`` and its public call in
``client.py``. The router completes requests from ``spec.completion``; a reply to a method the
table does not know matches no request (counted, never settled by a guess). The simulator keeps
its own list on purpose (an independent implementation of Kraken's side); a test asserts the
two agree.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import cancels, entry, housekeeping
from ._spec import (
    PER_ORDER_ERRORS,
    Call,
    Completion,
    Kind,
    Merge,
    MethodSpec,
    Proves,
    Settle,
    encode_call,
)
from .cancels import cancel_order_reply, finish_cancel_order, remaining, reply_key

__all__ = [
    "METHODS",
    "PER_ORDER_ERRORS",
    "Call",
    "Completion",
    "Kind",
    "Merge",
    "MethodSpec",
    "Proves",
    "Settle",
    "cancel_order_reply",
    "encode_call",
    "finish_cancel_order",
    "kinds",
    "remaining",
    "reply_key",
]

METHODS: Mapping[str, MethodSpec] = {
    s.name: s for s in (*cancels.ROWS, *entry.ROWS, *housekeeping.ROWS)
}


def kinds(kind: str) -> frozenset[str]:
    """The method names of one kind (``"cancel"``, ``"entry"``, ``"housekeeping"``): what
    plugins use instead of keeping their own lists."""
    return frozenset(n for n, s in METHODS.items() if s.kind.value == kind)
