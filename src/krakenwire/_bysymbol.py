"""Cancel every open order of one or more pairs: ``client.cancel_all(symbol="BTC/USD")``.

Kraken's ``cancel_all`` takes no pair. This takes the ids from the client's open-order view
(kept from the executions stream) and cancels them through
[`Client.cancel_orders`][krakenwire.Client.cancel_orders]: the fewest ``batch_cancel``s of up to
50, all written before any reply, each chunk's result or error (rejected, or unknown after a
timeout or a lost connection) in the aggregate, exactly as for ids named by hand. An order
placed a moment ago that the executions stream has not shown yet is not in the view: cancel it
by its id (or everything with ``cancel_all()``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from typing import Any

from ._results import CancelOrdersResult
from ._validate import check_timeout
from .errors import NotConnected, ValidationError

__all__ = ["cancel_symbol", "check_symbols", "ids_of_symbols"]

_PAIR = re.compile(r"^[A-Z0-9.]{1,16}/[A-Z0-9.]{1,16}$")


def check_symbols(symbol: str | Iterable[str]) -> frozenset[str]:
    """The pairs named (``"BTC/USD"`` or several), checked.

    Raises:
        ValidationError: none, or one that is not Kraken's ``BASE/QUOTE`` form.
    """
    names = [symbol] if isinstance(symbol, str) else symbol
    try:
        names = list(names)
    except TypeError:
        raise ValidationError(
            f"symbol must be a pair such as 'BTC/USD' or a list of pairs, got {symbol!r}",
            field="symbol",
        ) from None
    if not names:
        raise ValidationError("symbol names no pair", field="symbol", value=[])
    for name in names:
        if not isinstance(name, str) or not _PAIR.match(name):
            raise ValidationError(
                f"not a pair in Kraken's BASE/QUOTE form: {name!r}", field="symbol", value=name
            )
    return frozenset(names)


def ids_of_symbols(view: Any, symbols: frozenset[str]) -> list[str]:
    """The order ids of the open orders of ``symbols`` in an open-order view."""
    return [o.order_id for o in view.values() if o.symbol in symbols]


async def cancel_symbol(
    client: Any,
    symbol: str | Iterable[str],
    *,
    timeout: float | None = None,
    confirm: float | bool = False,
) -> CancelOrdersResult:
    """``client.cancel_all(symbol=...)``: cancel every open order of ``symbol`` (one pair or
    several) that the open-order view holds, through ``cancel_orders``.

    Returns:
        the [`CancelOrdersResult`][krakenwire.CancelOrdersResult] of the ``cancel_orders``
        (no chunk, ``count`` 0, when the pairs have no open order: nothing is sent).

    Raises:
        ValidationError: a bad pair, or a client connected without the executions
            subscription (no view to read; nothing sent). NotConnected: no executions snapshot
            within ``timeout`` (nothing sent).
    """
    symbols = check_symbols(symbol)
    if not client.config.subscribe:
        raise ValidationError(
            "cancel_all(symbol=...) reads the open orders from the executions stream: "
            "connect(subscribe=True)",
            field="symbol",
        )
    view = client.open_orders
    secs = client.timeout if timeout is None else check_timeout(timeout)
    if not view.ready.is_set():
        try:
            await asyncio.wait_for(view.ready.wait(), secs)
        except TimeoutError:
            raise NotConnected(
                f"no executions snapshot within {secs:g}s: the open orders of "
                f"{', '.join(sorted(symbols))} are not known; nothing was sent"
            ) from None
    ids = ids_of_symbols(view, symbols)
    if not ids:
        return CancelOrdersResult(chunks=[])
    result: CancelOrdersResult = await client.cancel_orders(ids, timeout=timeout, confirm=confirm)
    return result
