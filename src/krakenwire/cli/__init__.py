"""The ``krakenwire`` command line (also ``python -m krakenwire``): run the simulator, cancel
orders, cancel everything, place an order, list open orders, run the demo, list the plugins.

The trading commands (``cancel``, ``cancel-all``, ``add``, ``orders``) print only JSON on stdout,
one object per line, with the same fields on every path; diagnostics go to stderr as text. Their
exit codes (`EXIT_CODES`) are the contract scripts test. See ``krakenwire --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import math
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from .. import __version__
from .._auth import CredentialsError
from .._stdfds import hold_std_fds
from ..errors import AuthError, KrakenwireError, ValidationError
from . import _commands as commands
from ._args import positive_int, rest_url, seconds, userref, ws_url
from ._inflight import InFlight, run_interruptible
from ._output import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_REJECTED,
    EXIT_UNKNOWN,
    Stdout,
)

__all__ = ["EXIT_CODES", "build_parser", "main"]


def _guarded(name: str, command: Any, args: argparse.Namespace) -> int:
    """Run a trading command (interruptible: see ``_inflight.py``); map the errors that escape
    it to an exit code and one line of text on stderr (never a traceback). An error before any
    request was sent (refused connection, token request, credentials) is exit 2: nothing was
    sent, so nothing is unknown."""
    flight = InFlight(name)
    Stdout.divert = name != "orders"
    try:
        code: int = _run(run_interruptible(command(args, flight), flight))
    except (ValidationError, CredentialsError) as exc:
        print(f"krakenwire {name}: {exc} (nothing was sent)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AuthError as exc:
        print(f"krakenwire {name}: {exc} (nothing was sent)", file=sys.stderr)
        return EXIT_REJECTED
    except (KrakenwireError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        if not flight.sent:
            print(f"krakenwire {name}: {exc} (nothing was sent)", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"krakenwire {name}: {exc} (the outcome is unknown)", file=sys.stderr)
        return EXIT_UNKNOWN
    except Exception as exc:
        if os.environ.get("KRAKENWIRE_DEBUG", "") in ("1", "true", "yes"):
            raise
        what = "nothing was sent" if not flight.sent else "the outcome is unknown"
        print(
            f"krakenwire {name}: unexpected error: {type(exc).__name__}: {exc} "
            f"({what}; KRAKENWIRE_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT if not flight.sent else EXIT_UNKNOWN
    return code


_TOKEN_HELP = (
    "WebSocket token; without it a token is fetched over REST with $KRAKEN_API_KEY and "
    "$KRAKEN_API_SECRET"
)


def _connection_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--url",
        required=True,
        type=ws_url,
        help="wss://ws-auth.kraken.com/v2, or the ws://127.0.0.1:PORT/v2 `krakenwire sim` "
        "prints (plain ws:// only to loopback)",
    )
    sp.add_argument("--token", help=_TOKEN_HELP)
    sp.add_argument(
        "--rest-url",
        type=rest_url,
        default="https://api.kraken.com",
        help="REST base URL for the token fetch (default %(default)s; `krakenwire sim` "
        "prints its own)",
    )
    sp.add_argument(
        "--timeout",
        type=seconds,
        default=10.0,
        help="seconds to wait for each reply, and for the connection (default %(default)s)",
    )


def _quiet_loop_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's own error reports (e.g. "SSL handshake failed" when wss:// meets a plain
    server) are not for a CLI user: the command reports its failure itself. With
    KRAKENWIRE_DEBUG=1 they go to the default handler (with their traceback)."""
    if os.environ.get("KRAKENWIRE_DEBUG"):
        loop.default_exception_handler(context)


async def _quietly(coro: Any) -> Any:
    asyncio.get_running_loop().set_exception_handler(_quiet_loop_errors)
    return await coro


def _run(coro: Any) -> Any:
    """Run on uvloop, or on plain asyncio where uvloop is not installed (Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_quietly(coro))
    return uvloop.run(_quietly(coro))


def _bench_module() -> Any:
    try:
        return importlib.import_module("krakenwire.cli._bench")
    except ImportError:  # pragma: no cover - part of the package
        return None


def _exit_codes_text() -> str:
    return "\n".join(
        textwrap.fill(
            EXIT_CODES[code], 92, initial_indent=f"  {code}    ", subsequent_indent=" " * 7
        )
        for code in sorted(EXIT_CODES)
    )


_DESCRIPTION = """\
krakenwire: the fastest way to cancel orders on Kraken from Python. A Kraken Spot WebSocket v2
trading client centred on batch_cancel, with a local Kraken simulator for trying everything
offline (`krakenwire sim`, `krakenwire demo`)."""

_EPILOG = f"""\
output:
  cancel, cancel-all, add and orders print JSON only on stdout, one object per line, and
  nothing else (there is no human format to switch off). Every line of cancel, cancel-all
  and add has the same fields whatever happened, null where one does not apply; orders
  prints Kraken's order objects as they are. cancel prints one line per wire request
  (1 id: cancel_order; 2..50: one batch_cancel; more: ceil(n/50) batch_cancels) with method,
  req_id, success, outcome (ok | partial | rejected | vetoed | not_sent | unknown),
  requested, count, ids, orders, cl_ord_id, warnings, errors, error, time_in, time_out
  (Kraken's timestamps) and latency_us (frame out to reply in, microseconds).
  Diagnostics and errors go to stderr as one line of text, never a traceback.
  `sim` prints its URL, REST URL, token and API key as text, or one JSON object with --json;
  `demo`, `plugins` and `bench` print text for people.

exit codes (cancel, cancel-all, add, orders; the worst outcome decides: 3, 1, 2, then 4):
{_exit_codes_text()}
  130  interrupted (Ctrl-C, SIGTERM) with nothing in flight; with requests in flight it is
       3, after one outcome "unknown" JSON line per request in flight
  141  orders: stdout closed before everything was written (e.g. `| head`); nothing on
       stderr. cancel, cancel-all and add never lose a line: one stdout cannot take
       (closed, `>&-`, or its reader gone) goes to stderr, and the exit code is the outcome's

environment:
  KRAKEN_API_KEY, KRAKEN_API_SECRET     credentials for a token when --token is not given
  KRAKENWIRE_PLUGINS=a,b                load only these plugin entry points
  KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD=1  load no plugin entry point
  KRAKENWIRE_DEBUG=1                    show the traceback of an unexpected error

`krakenwire COMMAND --help` describes each command's options."""


def build_parser() -> argparse.ArgumentParser:
    """The ``krakenwire`` argument parser (every option has help text)."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="krakenwire", description=_DESCRIPTION, epilog=_EPILOG, formatter_class=fmt
    )
    p.add_argument(
        "--version", action="version", version=f"krakenwire {__version__}", help="print the version"
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    from ..sim import _cli as sim_cli

    sp = sub.add_parser(
        "sim",
        help="run the Kraken simulator on loopback until Ctrl-C; prints its URL and token",
        description="Run the local Kraken Spot WebSocket v2 simulator (and its REST token "
        "endpoint) on loopback until SIGINT/SIGTERM. Prints the ws:// URL, the REST URL, a "
        "token, and an API key and secret, as text or as one JSON object (--json).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sim_cli.add_arguments(sp)

    cp = sub.add_parser(
        "cancel",
        help="cancel orders by id; one JSON line per wire request",
        description="Cancel orders: 1 id is one cancel_order, 2..50 ids one batch_cancel, more "
        "ids ceil(n/50) batch_cancels all written before any reply is awaited. Prints one "
        "JSON line per wire request (fields in `krakenwire --help`). Exit 0 when every id was "
        "cancelled, 4 when Kraken cancelled fewer than named, 1 rejected, 2 nothing was sent, "
        "3 unknown outcome (also on Ctrl-C or SIGTERM with a request in flight: one "
        'outcome "unknown" line per request in flight; 130 when nothing was).',
    )
    _connection_options(cp)
    cp.add_argument(
        "--cl-ord-id",
        action="append",
        metavar="ID",
        help="a client order id to cancel; repeat for several (with ORDER_IDs: 50 ids at most)",
    )
    cp.add_argument(
        "order_ids",
        nargs="*",
        metavar="ORDER_ID",
        help="Kraken order ids (OXXXXX-XXXXX-XXXXXX) or order_userref numbers",
    )

    cap = sub.add_parser(
        "cancel-all",
        help="cancel every open order of the account; one JSON line",
        description="Send cancel_all: cancel every open order of the account. Prints one JSON "
        "line with the count Kraken reports. With --symbol: cancel the open orders of those "
        "pairs only (from the executions snapshot, as `cancel` does with their ids: one line "
        "per wire request, same fields and exit codes; nothing sent when none is open).",
    )
    _connection_options(cap)
    cap.add_argument(
        "--symbol",
        action="append",
        metavar="PAIR",
        help="only the open orders of this pair (e.g. BTC/USD); repeat for several",
    )

    op = sub.add_parser(
        "orders",
        help="list open orders from the executions snapshot; one JSON line each",
        description="Connect, wait for the executions snapshot and print each open order as "
        "one JSON line (Kraken's fields). Exit 3 if no snapshot arrives within --timeout.",
    )
    _connection_options(op)

    ap = sub.add_parser(
        "add",
        help="place one order; one JSON line",
        description="Place one order with add_order. Every field is checked before anything "
        "is sent (exit 2 on bad input). Prices and quantities are kept exact.",
    )
    _connection_options(ap)
    ap.add_argument("--symbol", required=True, help="the pair, e.g. BTC/USD")
    ap.add_argument("--side", required=True, choices=["buy", "sell"], help="buy or sell")
    ap.add_argument("--qty", required=True, help="order quantity (a decimal, kept exact)")
    ap.add_argument("--price", help="limit price (a decimal, kept exact); needed by limit orders")
    ap.add_argument(
        "--type", default="limit", choices=["limit", "market"], help="order type (default limit)"
    )
    ap.add_argument(
        "--tif", choices=["gtc", "gtd", "ioc"], help="time in force (Kraken's default: gtc)"
    )
    ap.add_argument("--expire-time", help="RFC3339 expiry time; with --tif gtd")
    ap.add_argument(
        "--post-only", action="store_true", help="maker only: rejected if it would take"
    )
    ap.add_argument(
        "--validate", action="store_true", help="ask Kraken to validate only, not to place"
    )
    ids = ap.add_mutually_exclusive_group()
    ids.add_argument("--cl-ord-id", help="your order id (or --userref, not both)")
    ids.add_argument("--userref", type=userref, help="order_userref, an integer")

    dp = sub.add_parser(
        "demo",
        help="start the simulator, place and cancel orders, print a latency table",
        description="The product in a minute, offline: start the simulator in-process, place "
        "orders with batch_add, pull them with cancel_orders and 10-id batch_cancels, each "
        "confirmed per id from the executions stream, and print p50/p99 round trips. Exit 0 "
        "when every order placed is confirmed cancelled, 1 otherwise.",
    )
    dp.add_argument(
        "--orders", type=positive_int, default=200, help="orders placed per round (default 200)"
    )
    dp.add_argument(
        "--rounds",
        type=positive_int,
        default=10,
        help="rounds of place + cancel_orders (default 10)",
    )
    dp.add_argument(
        "--samples",
        type=positive_int,
        default=1000,
        help="10-id batch_cancel round trips to time (default 1000)",
    )

    sub.add_parser(
        "plugins",
        help="list every installed plugin, active or not, what activates it and its hooks",
        description="List every installed krakenwire entry point, active or not: whether "
        "connect() would load it from this environment ($KRAKENWIRE_PLUGINS, "
        "$KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD, its own configuration), what activates it "
        "(e.g. KRAKENWIRE_AUDIT_PATH=<file>) and the hooks it implements. Exit 1 if one "
        "failed to load.",
    )
    from .. import _check  # krakenwire check (issue 18): its own module, one registration

    _check.add_arguments(sub)
    bp = sub.add_parser(
        "bench",
        help="the bench suite, from a source checkout (also `make bench`)",
        description="Run the bench suite in bench/ of a krakenwire source checkout (it is not "
        "part of the wheel). Exit 1 when the CI gate fails, 2 when there is no bench/ here.",
    )
    bench_cli = _bench_module()
    if bench_cli is not None:
        bench_cli.add_arguments(bp)
    return p


def _sim_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``krakenwire sim``'s values, before the simulator starts."""
    if not 0 <= args.port <= 65535:
        return f"argument --port: must be 0..65535, not {args.port}"
    if args.orders < 0:
        return f"argument --orders: must be >= 0, not {args.orders}"
    if not (math.isfinite(args.latency) and args.latency >= 0):
        return f"argument --latency: must be a finite number of seconds >= 0, not {args.latency}"
    if not 0 <= args.drop_prob <= 1:  # also false for nan
        return f"argument --drop-prob: must be within 0..1, not {args.drop_prob}"
    return None


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "sim":
        from ..sim import _cli as sim_cli

        if (problem := _sim_problem(args)) is not None:
            print(f"krakenwire sim: error: {problem}", file=sys.stderr)
            return EXIT_BAD_INPUT

        code: int = _run(sim_cli.run(args))
        return code
    if args.command == "demo":
        from ._demo import run_demo

        code = _run(run_demo(args.orders, args.rounds, args.samples))
        return code
    if args.command == "plugins":
        from ._plugins import run as plugins_run

        return plugins_run(args)
    if args.command == "bench":
        bench_cli = _bench_module()
        if bench_cli is None:  # pragma: no cover - part of the package
            print("krakenwire bench: not available in this installation", file=sys.stderr)
            return EXIT_BAD_INPUT
        return int(bench_cli.run(args))
    if args.command == "check":
        from .. import _check

        return int(_run(_check.main(args)))
    if args.command == "orders":
        return _guarded("orders", commands.orders, args)
    if args.command == "add":
        return _guarded("add", commands.add, args)
    if args.command == "cancel-all":
        return _guarded("cancel-all", commands.cancel_all, args)
    if args.command == "cancel":
        if not args.order_ids and not args.cl_ord_id:
            print(
                "krakenwire cancel: no ids given (need ORDER_ID... and/or --cl-ord-id)",
                file=sys.stderr,
            )
            print(
                "usage: krakenwire cancel --url URL [--token T] [--cl-ord-id ID]... ORDER_ID ...",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        return _guarded("cancel", commands.cancel, args)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return EXIT_BAD_INPUT  # pragma: no cover


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see ``krakenwire --help``)."""
    if hold_std_fds():  # no socket may get fd 0-2 (libuv aborts): see _stdfds.py
        Stdout.closed = True
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage line on bad options
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return _dispatch(parser, args)
    except KeyboardInterrupt:
        print(f"krakenwire {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`krakenwire orders | head -1`): stop quietly, as shell tools
        # do, and keep Python from complaining when it flushes stdout at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        if os.environ.get("KRAKENWIRE_DEBUG", "") in ("1", "true", "yes"):
            raise
        print(
            f"krakenwire {args.command}: unexpected error: {type(exc).__name__}: {exc} "
            "(the outcome is unknown; KRAKENWIRE_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN
