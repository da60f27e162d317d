"""Survive a dropped connection: learn which cancels executed, re-cancel the rest.

When the socket dies with cancels in flight, their outcome is unknown: Kraken may have
cancelled the orders before the drop, or never seen the request. krakenwire fails those
requests at once (``ConnectionLost``; inside ``cancel_orders`` the chunk's outcome is
``"unknown"`` and its ids are in ``result.unknown_ids``), reconnects on its own with capped,
jittered backoff and re-subscribes ``executions``. ``client.reconcile(ids, recancel=True)``
then reads the new connection's executions snapshot: ids no longer open are gone, the ones
still open are cancelled again.

Started without ``--url``, the script runs its own simulator and makes it go silent while the
cancels are in flight (they time out: outcome unknown), then kills the socket: the client
reconnects, reconciles and re-cancels. Against a simulator you started (``krakenwire sim``)
nothing fails unless you cause it.

    python examples/reconnect_reconcile.py
    python examples/reconnect_reconcile.py --url ws://127.0.0.1:PORT/v2 --token TOKEN
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal

import krakenwire
from krakenwire.sim import Simulator

try:
    from uvloop import run
except ImportError:  # no uvloop on Windows: plain asyncio
    from asyncio import run  # type: ignore[assignment]


def on_state(change: krakenwire.StateChange) -> None:
    print(f"  connection: {change.previous} -> {change.state} {change.reason}".rstrip())


async def main(url: str, token: str, sim: Simulator | None = None) -> int:
    async with await krakenwire.connect(url, token=token, on_state=on_state) as client:
        rows = [
            client.order(side="sell", order_qty=Decimal("0.01"), limit_price=31000 + i)
            for i in range(60)
        ]
        batches = [rows[i : i + 15] for i in range(0, len(rows), 15)]  # batch_add: 2..15
        ids = [i for b in batches for i in (await client.batch_add(b, symbol="BTC/USD")).order_ids]
        print(f"{len(ids)} quotes resting; pulling them")
        if sim is not None:
            sim.blackhole = True  # the exchange goes silent: frames are read and dropped
        res = await client.cancel_orders(ids, timeout=0.5)  # never raises for a chunk
        print(f"cancel_orders: cancelled {res.count}, unknown outcome for {len(res.unknown_ids)}")
        if sim is not None:
            sim.blackhole = False
            await sim.drop_connections(None)  # and the socket dies (as a 1006 would)
        if res.unknown_ids:
            # Waits for the reconnect and the new executions snapshot, then re-cancels what is
            # still open (a cancel is idempotent: sending it again is safe).
            rec = await client.reconcile(res.unknown_ids, recancel=True, timeout=10)
            again = rec.recancelled.count if rec.recancelled is not None else 0
            print(f"reconciled: {len(rec.gone)} gone, {len(rec.open)} open, re-cancelled {again}")
        await client.ping()  # every executions update sent before the pong is in
        left = [i for i in ids if i in client.open_orders]
        print(f"quotes still open: {len(left)}")
        return 0 if not left else 1


async def on_simulator() -> int:
    async with Simulator() as sim:
        return await main(sim.url, sim.token, sim)


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
