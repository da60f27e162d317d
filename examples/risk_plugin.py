"""A custom pre-send risk check as a plugin: cap each order's notional and the position a
burst of buys could add, never block a cancel.

A plugin is any object with ``@krakenwire.hookimpl`` methods named after the hooks in
docs/hooks.md. ``krakenwire_check_request`` runs on the caller's path before anything is
written: return a ``Veto`` and the caller gets ``RiskRejected`` with nothing on the wire.
``krakenwire_audit`` sees every outcome after the caller has its answer. Pass an instance to
``connect(plugins=[...])`` (or publish it with a ``krakenwire`` entry point: docs/plugins.md).

    python examples/risk_plugin.py
    python examples/risk_plugin.py --url ws://127.0.0.1:PORT/v2 --token TOKEN
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from decimal import Decimal
from typing import Any

import krakenwire

try:
    from uvloop import run
except ImportError:  # no uvloop on Windows: plain asyncio
    from asyncio import run  # type: ignore[assignment]

CANCELS = {"batch_cancel", "cancel_order", "cancel_all", "cancel_all_orders_after"}


def orders_of(request: Any) -> list[Any]:
    """The orders an order-entry request places or changes, each with ``side``,
    ``order_qty`` and ``limit_price``."""
    if hasattr(request, "orders"):  # a RequestView (krakenwire >= 0.2)
        return list(request.orders)
    params = getattr(request.request, "params", None)  # krakenwire 0.1: the request Struct
    if params is None:
        return []
    return list(getattr(params, "orders", None) or [params])


class NotionalLimit:
    """Veto any order over ``max_notional`` (qty x limit price), and buys once ``max_buy_qty``
    is resting or in flight. Synchronous and in memory: it runs before every send."""

    def __init__(self, max_notional: Decimal, max_buy_qty: Decimal) -> None:
        self.max_notional = max_notional
        self.max_buy_qty = max_buy_qty
        self.buy_qty = Decimal(0)  # buys sent (a real one would follow executions too)
        self.outcomes: Counter[str] = Counter()

    @krakenwire.hookimpl
    def krakenwire_check_request(self, request: Any) -> krakenwire.Veto | None:
        if request.method in CANCELS:
            return None  # never stand between a market maker and a cancel
        buys = Decimal(0)
        for order in orders_of(request):
            qty = Decimal(str(order.order_qty or 0))
            price = None if order.limit_price is None else Decimal(str(order.limit_price))
            if price is not None and qty * price > self.max_notional:
                return krakenwire.Veto(f"notional {qty * price} > {self.max_notional}")
            if order.side == "buy":
                buys += qty
        if self.buy_qty + buys > self.max_buy_qty:
            return krakenwire.Veto(f"buys would reach {self.buy_qty + buys} > {self.max_buy_qty}")
        self.buy_qty += buys
        return None

    @krakenwire.hookimpl
    def krakenwire_audit(self, request: Any, outcome: Any) -> None:
        if isinstance(outcome, krakenwire.RiskRejected):
            self.outcomes[f"{request.method} vetoed"] += 1
        elif isinstance(outcome, BaseException):
            self.outcomes[f"{request.method} {getattr(outcome, 'outcome', 'rejected')}"] += 1
        else:
            self.outcomes[f"{request.method} ok"] += 1


async def main(url: str, token: str) -> int:
    risk = NotionalLimit(max_notional=Decimal(1000), max_buy_qty=Decimal("0.05"))
    async with await krakenwire.connect(url, token=token, plugins=[risk]) as client:
        small = await client.add_order(
            symbol="BTC/USD", side="buy", order_qty=Decimal("0.02"), limit_price=29000
        )
        print(f"0.02 BTC at 29000 (580 USD): placed {small.order_id}")
        vetoed = 0
        for qty, price in (("0.1", 29000), ("0.04", 20000)):
            try:
                await client.add_order(
                    symbol="BTC/USD", side="buy", order_qty=Decimal(qty), limit_price=price
                )
            except krakenwire.RiskRejected as exc:  # nothing was sent
                vetoed += 1
                print(f"{qty} BTC at {price}: vetoed, nothing sent ({exc.reason})")
        # order_id is None only if Kraken's reply carried no readable id (small.shape_warnings)
        assert small.order_id is not None
        r = await client.cancel_order([small.order_id])  # cancels always pass
        print(f"cancelled {r.cancelled_ids}")
        await client.ping()  # auditors run after the caller resumes: let them catch up
    print("audited:", dict(risk.outcomes))
    return 0 if vetoed == 2 and r.cancelled_ids == [small.order_id] else 1


async def on_simulator() -> int:
    from krakenwire.sim import Simulator

    async with Simulator() as sim:
        return await main(sim.url, sim.token)


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running simulator's ws:// URL (default: start one here)")
    p.add_argument("--token", help="its token (with --url)")
    p.add_argument("--live", action="store_true", help="allow a wss:// URL: REAL orders")
    a = p.parse_args(argv)
    if a.url is None:
        return run(on_simulator())
    if not a.url.startswith("ws://") and not a.live:
        p.error("this places orders: pass --live to use a wss:// (real Kraken) URL")
    if not a.token:
        p.error("--url needs --token")
    return run(main(a.url, a.token))


if __name__ == "__main__":
    sys.exit(cli())
