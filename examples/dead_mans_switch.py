"""Keep Kraken's dead man's switch armed while quoting: ``keep_cancel_after``.

``cancel_all_orders_after(T)`` tells Kraken to cancel every open order in T seconds unless it
is re-armed. ``client.keep_cancel_after(T, every=E)`` re-arms it every E seconds in the
background (and as soon as a dropped connection is back); closing the client disarms it. If
the process hangs or dies, the re-arms stop and Kraken pulls the quotes T seconds later.

This script quotes for ``--run-for`` seconds with the switch kept armed, then either stops
cleanly (the switch is disarmed) or, with ``--crash``, stops re-arming without disarming and
watches the switch cancel everything.

    python examples/dead_mans_switch.py --crash --timeout 2 --every 0.5 --run-for 1
    python examples/dead_mans_switch.py --url ws://127.0.0.1:PORT/v2 --token TOKEN
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from decimal import Decimal

import krakenwire

try:
    from uvloop import run
except ImportError:  # no uvloop on Windows: plain asyncio
    from asyncio import run  # type: ignore[assignment]


async def main(url: str, token: str, opts: argparse.Namespace) -> int:
    timeout, every = opts.timeout, opts.every

    def on_failure(exc: krakenwire.KrakenwireError) -> None:
        # A re-arm failed: the switch may fire at the last trigger time. Pull quotes or page
        # someone; here we just say so.
        print(f"re-arm failed: {exc!r}", file=sys.stderr)

    async with await krakenwire.connect(url, token=token) as client:
        quotes = await client.batch_add(
            [
                client.order(side="buy", order_qty=Decimal("0.01"), limit_price=29990),
                client.order(side="sell", order_qty=Decimal("0.01"), limit_price=30010),
            ],
            symbol="BTC/USD",
        )
        keeper = client.keep_cancel_after(timeout, every=every, on_failure=on_failure)
        await keeper.wait_armed(5)
        assert keeper.last is not None
        print(f"switch armed: {timeout} s, re-armed every {every} s")
        print(f"  Kraken cancels everything at {keeper.last.trigger_time} unless re-armed")
        await asyncio.sleep(opts.run_for)  # your quoting loop runs here
        print(f"re-armed {keeper.rearms} times, {keeper.failures} failures")
        if not opts.crash:
            await keeper.stop()  # disarm (closing the client would too)
            print("stopped cleanly: switch disarmed, quotes still resting")
            return 0
        await keeper.stop(disarm=False)  # what a hung process looks like to Kraken
        print(f"re-arming stopped; waiting for the switch ({timeout} s)...")
        deadline = time.monotonic() + timeout + 5
        while any(i in client.open_orders for i in quotes.order_ids):
            if time.monotonic() > deadline:
                print("the switch did not fire", file=sys.stderr)
                return 1
            await asyncio.sleep(0.1)
        print("the switch fired: every quote was cancelled by the exchange")
        return 0


async def on_simulator(opts: argparse.Namespace) -> int:
    from krakenwire.sim import Simulator

    async with Simulator() as sim:
        return await main(sim.url, sim.token, opts)


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running simulator's ws:// URL (default: start one here)")
    p.add_argument("--token", help="its token (with --url)")
    p.add_argument("--timeout", type=int, default=60, help="switch seconds (Kraken suggests 60)")
    p.add_argument("--every", type=float, default=20, help="re-arm period (Kraken: 15-30 s)")
    p.add_argument("--run-for", type=float, default=3, help="seconds of quoting (default 3)")
    p.add_argument("--crash", action="store_true", help="stop re-arming and let the switch fire")
    p.add_argument("--live", action="store_true", help="allow a wss:// URL: REAL orders")
    a = p.parse_args(argv)
    if a.url is None:
        return run(on_simulator(a))
    if not a.url.startswith("ws://") and not a.live:
        p.error("this places orders: pass --live to use a wss:// (real Kraken) URL")
    if not a.token:
        p.error("--url needs --token")
    return run(main(a.url, a.token, a))


if __name__ == "__main__":
    sys.exit(cli())
