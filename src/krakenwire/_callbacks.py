"""The waiter of the zero-hop callback forms (``batch_cancel_cb``, ``cancel_orders_cb``).

It stands where the connections keep a Future: the router's outcome reaches the user's
``on_done`` inside picows' frame callback, in the same pass that decoded the reply (or from the
deadline sweep, or the socket's loss). An exception in ``on_done`` is logged and counted in
``client.stats.callback_errors``, never propagated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ._config import ClientStats

__all__ = ["Callback"]

log = logging.getLogger("krakenwire")


class Callback:
    """Resolving it calls the user's function, once."""

    __slots__ = ("fn", "stats", "_done")

    def __init__(self, fn: Callable[[Any], Any], stats: ClientStats) -> None:
        self.fn = fn
        self.stats = stats
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, value: Any) -> None:
        if self._done:
            return
        self._done = True
        try:
            self.fn(value)
        except Exception:
            self.stats.callback_errors += 1
            log.exception("krakenwire: on_done callback raised (ignored)")

    set_exception = set_result
