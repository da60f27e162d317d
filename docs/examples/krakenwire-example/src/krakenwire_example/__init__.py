"""krakenwire-example: a complete out-of-tree plugin, loaded through the ``krakenwire`` entry point.

It vetoes any trading request that names an order id listed (comma-separated) in
``$KRAKENWIRE_EXAMPLE_DENY``, and tallies every audited outcome in `TALLY`. Nothing happens
at import: the environment is read when a hook runs.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from krakenwire.hookspecs import Veto, hookimpl

__all__ = ["KRAKENWIRE_ACTIVATION", "TALLY", "krakenwire_audit", "krakenwire_check_request"]

KRAKENWIRE_ACTIVATION = "always, once installed; KRAKENWIRE_EXAMPLE_DENY=<id,...> vetoes those ids"
"""What turns this entry point on: `krakenwire plugins` prints it as "activated by"."""

#: ``(method, outcome kind)`` -> number of requests audited.
TALLY: Counter[tuple[str, str]] = Counter()


@hookimpl
def krakenwire_check_request(request: Any) -> Veto | None:
    """Veto a request naming a denied id; runs before anything is sent, so keep it cheap."""
    raw = os.environ.get("KRAKENWIRE_EXAMPLE_DENY", "")
    if not raw:
        return None
    denied = {s.strip() for s in raw.split(",")}
    hits = [i for i in request.all_ids if i in denied]
    if hits:
        return Veto(f"order id(s) on the deny list: {', '.join(hits)}")
    return None


@hookimpl
def krakenwire_audit(request: Any, outcome: Any) -> None:
    """Tally the outcome; runs after the caller already has its answer."""
    if isinstance(outcome, BaseException):
        kind = getattr(outcome, "outcome", "vetoed" if hasattr(outcome, "veto") else "rejected")
    else:
        kind = "ok"
    TALLY[(request.method, kind)] += 1
