"""Command-line glue for the simulator: argparse options and a run-until-signalled coroutine.

``krakenwire sim`` and ``python -m krakenwire.sim`` both use `add_arguments` and
`run`. The credentials printed are the simulator's own throw-away ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from ._server import SimConfig, Simulator

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to ``parser`` (give it
    ``formatter_class=argparse.ArgumentDefaultsHelpFormatter``: every default is shown)."""
    parser.add_argument("--host", default="127.0.0.1", help="loopback address")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument("--orders", type=int, default=0, help="open orders to seed")
    parser.add_argument(
        "--strict", action="store_true", help="batch_cancel fails whole if any id is not open"
    )
    parser.add_argument(
        "--doc-timestamps", action="store_true", help="time_out as in Kraken's docs: 7 digits, no Z"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each reply")
    parser.add_argument(
        "--drop-prob",
        type=float,
        default=0.0,
        help="probability of executing a trading request without replying",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the random switches")
    parser.add_argument(
        "--batch-cancel-warnings",
        action="store_true",
        help="lenient batch_cancel also warns once per id that was not open",
    )
    parser.add_argument(
        "--shuffle-cancel-replies",
        action="store_true",
        help="answer a multi-id cancel_order in a random order, not the request's",
    )
    parser.add_argument(
        "--cancel-gone-cost",
        type=float,
        default=0.0,
        help="rate-counter points a cancel of an order that is not open costs",
    )
    # A long-running server (by hand, or the bench's raw clients that never subscribe) keeps
    # connections open unless asked; Simulator() in code closes them as Kraken does (60 / 10).
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=0.0,
        help="close a connection silent this many seconds, as Kraken does after ~60; 0 never",
    )
    parser.add_argument(
        "--close-unsubscribed-after",
        type=float,
        default=0.0,
        help="close a connection holding no executions subscription after this many seconds, "
        "as Kraken does; 0 never",
    )
    parser.add_argument("--strict-path", action="store_true", help="serve only the /v2 path")
    parser.add_argument(
        "--market", action="store_true", help="run the market: prices move and orders fill"
    )
    parser.add_argument(
        "--market-path", default=None, help="replay prices from this file (implies --market)"
    )
    parser.add_argument(
        "--market-interval", type=float, default=0.25, help="seconds between price steps"
    )
    parser.add_argument(
        "--volatility", type=float, default=0.0005, help="std deviation of one step's log return"
    )
    parser.add_argument(
        "--cancel-race-prob",
        type=float,
        default=0.0,
        help="probability that a cancel finds its order filled just before it",
    )
    parser.add_argument(
        "--reply-shape",
        choices=("documented", "recorded"),
        default="documented",
        help="batch_cancel's success reply: result.count as Kraken's page shows (documented, "
        "default) or the top-level orders_cancelled recorded from the live venue (recorded)",
    )
    parser.add_argument(
        "--msg-rate-limit",
        type=int,
        default=0,
        help="inbound messages per connection per rolling second before Kraken's "
        '{"Error":"Exceeded msg rate"}; 0 off (default: Kraken does not document it)',
    )
    parser.add_argument(
        "--connect-budget",
        type=int,
        default=150,
        help="connection attempts per rolling 10 minutes before a 10-minute ban (HTTP 429), "
        "as Kraken's Cloudflare front does; 0 off (default 150)",
    )
    parser.add_argument(
        "--book-interval",
        type=float,
        default=0.1,
        help="seconds between public book moves while anybody subscribes (0: never)",
    )
    parser.add_argument(
        "--book-corrupt-every",
        type=int,
        default=None,
        help="fault: every Nth public book update carries a wrong checksum",
    )
    parser.add_argument(
        "--book-drop-every",
        type=int,
        default=None,
        help="fault: every Nth public book update is not sent",
    )
    parser.add_argument(
        "--book-delay-every",
        type=int,
        default=None,
        help="fault: every Nth public book update leaves --book-delay seconds late",
    )
    parser.add_argument(
        "--book-delay", type=float, default=0.0, help="seconds of --book-delay-every's delay"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")


def _config(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        batch_cancel_mode="strict" if args.strict else "lenient",
        batch_cancel_warnings=args.batch_cancel_warnings,
        cancel_reply_order="shuffled" if args.shuffle_cancel_replies else "request",
        cancel_gone_cost=args.cancel_gone_cost,
        idle_timeout=args.idle_timeout or None,
        close_empty_auth_after=args.close_unsubscribed_after or None,
        strict_path=args.strict_path,
        doc_timestamps=args.doc_timestamps,
        latency=args.latency,
        drop_reply_prob=args.drop_prob,
        seed=args.seed,
        market=args.market or args.market_path is not None,
        market_path=args.market_path,
        market_interval=args.market_interval,
        market_volatility=args.volatility,
        cancel_race_prob=args.cancel_race_prob,
        reply_shape=args.reply_shape,
        msg_rate_limit=args.msg_rate_limit or None,
        connect_budget=args.connect_budget or None,
        book_interval=args.book_interval,
        book_corrupt_every=args.book_corrupt_every,
        book_drop_every=args.book_drop_every,
        book_delay_every=args.book_delay_every,
        book_delay=args.book_delay,
    )


async def run(args: argparse.Namespace) -> int:
    """Start the simulator, print how to reach it, and serve until SIGINT/SIGTERM.

    Returns:
        0 on a clean stop; 2 if the options were invalid (message on stderr).
    """
    try:
        sim = Simulator(args.host, args.port, orders=args.orders, config=_config(args))
    except (ValueError, OSError) as e:
        print(f"krakenwire sim: {e}", file=sys.stderr, flush=True)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with sim:
        key, secret = next(iter(sim.api_keys.items()))
        if args.json:
            line = {
                "url": sim.url,
                "base_url": sim.base_url,
                "rest_url": sim.rest_url,
                "public_url": sim.public_url,
                "public_base_url": sim.public_base_url,
                "token": sim.token,
                "tokens": sim.tokens,
                "api_key": key,
                "api_secret": secret,
            }
            print(json.dumps(line), flush=True)
        else:
            print(sim.url, flush=True)
            print(f"base url (for clients that append /v2): {sim.base_url}", flush=True)
            print(f"rest url: {sim.rest_url}", flush=True)
            print(f"public url (market data): {sim.public_url}", flush=True)
            print(f"token: {sim.token}", flush=True)
            print(f"api key: {key}", flush=True)
            print(f"api secret: {secret}", flush=True)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
    return 0
