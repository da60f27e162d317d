"""The ``krakenwire`` command line: sim, cancel, cancel-all, add, orders, demo (also
``python -m krakenwire``).

``cancel``, ``cancel-all``, ``add`` and ``orders`` write only JSON to stdout, one line per
reply (or per open order), and exit 0 when every reply succeeded, 1 when Kraken rejected
something, 2 on bad input (nothing sent), 3 when the outcome is unknown or the connection
failed. Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence
from typing import Any

import msgspec

from . import __version__
from ._auth import CredentialsError
from ._results import BatchCancelResult, CancelOrderResult, CancelOrdersResult
from .errors import (
    AuthError,
    ConnectionClosed,
    KrakenAPIError,
    KrakenwireError,
    RemoteProtocolError,
    RequestTimeout,
    ValidationError,
)

__all__ = ["main"]

EXIT_OK, EXIT_REJECTED, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3
# Prices and quantities (Decimal) are written as exact JSON numbers.
_enc = msgspec.json.Encoder(decimal_format="number")


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(_enc.encode(obj).decode() + "\n")
    sys.stdout.flush()


def _result_line(r: BatchCancelResult, method: str = "batch_cancel") -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": method,
        "req_id": r.req_id,
        "success": True,
        "count": r.count,
        "orders": r.orders,
    }
    if r.cl_ord_id:
        out["cl_ord_id"] = r.cl_ord_id
    if r.warnings:
        out["warnings"] = r.warnings
    out.update(time_in=r.time_in_raw, time_out=r.time_out_raw, latency_us=r.latency_ns / 1000)
    return out


def _cancel_order_lines(r: CancelOrderResult) -> int:
    code = EXIT_OK
    for rep in r.replies:
        line: dict[str, Any] = {
            "method": "cancel_order",
            "req_id": r.req_id,
            "success": rep.error is None,
        }
        if rep.error is None:
            line["order_id"] = rep.order_id
            if rep.cl_ord_id:
                line["cl_ord_id"] = rep.cl_ord_id
        else:
            line["error"] = rep.error
            code = EXIT_REJECTED
        _emit(line)
    return code


def _error_line(exc: KrakenwireError, method: str, ids: Sequence[str] = ()) -> int:
    if isinstance(exc, KrakenAPIError):
        _emit(
            {
                "method": exc.method or method,
                "req_id": exc.req_id,
                "success": False,
                "error": exc.error,
                "ids": list(ids),
            }
        )
        return EXIT_REJECTED
    if isinstance(exc, RequestTimeout | ConnectionClosed | RemoteProtocolError):
        _emit(
            {
                "method": method,
                "req_id": getattr(exc, "req_id", None),
                "success": None,
                "outcome": "unknown",
                "error": str(exc),
                "ids": list(getattr(exc, "ids", ids)),
            }
        )
        return EXIT_UNKNOWN
    _emit({"method": method, "success": False, "error": str(exc), "ids": list(ids)})
    return EXIT_REJECTED


async def _cancel(args: argparse.Namespace) -> int:
    from ._config import check_url
    from ._connect import connect

    orders: list[str] = args.order_ids
    cl: list[str] = args.cl_ord_id or []
    total = len(orders) + len(cl)
    # Check everything we can before connecting: nothing is sent on bad input.
    check_url(args.url)
    if cl and total > 50:
        raise ValidationError(
            f"--cl-ord-id with more than 50 ids in total ({total}) is not "
            "supported: split the call",
            field="cl_ord_id",
            value=total,
        )
    from . import _build

    if total == 1:
        _build.cancel_order(orders or None, cl or None)
    elif total <= 50:
        _build.batch_cancel(orders, cl or None)
    else:
        from ._validate import check_order_ids

        check_order_ids(orders)
    token = args.token
    creds = None
    if not token:
        from ._auth import Credentials

        # Names the missing or malformed variable, never its value.
        creds = Credentials.from_env()
    async with await connect(
        args.url, token=token, credentials=creds, rest_url=args.rest_url, timeout=args.timeout
    ) as client:
        if total == 1:
            try:
                r1 = await client.cancel_order(orders or None, cl_ord_id=cl or None)
            except KrakenwireError as exc:
                return _error_line(exc, "cancel_order", orders + cl)
            return _cancel_order_lines(r1)
        if total <= 50:
            try:
                r = await client.batch_cancel(orders, cl or None)
            except KrakenwireError as exc:
                return _error_line(exc, "batch_cancel", orders + cl)
            _emit(_result_line(r))
            return EXIT_OK
        many: CancelOrdersResult = await client.cancel_orders(orders)
        code = EXIT_OK
        for ch in many.chunks:
            if ch.result is not None and isinstance(ch.result, BatchCancelResult):
                _emit(_result_line(ch.result))
            elif ch.error is not None:
                code = max(code, _error_line(ch.error, "batch_cancel", ch.ids))
        return code


async def _connected(args: argparse.Namespace) -> Any:
    from ._connect import connect

    creds = None
    if not args.token:
        from ._auth import Credentials

        creds = Credentials.from_env()  # names the missing variable, never its value
    return await connect(
        args.url,
        token=args.token,
        credentials=creds,
        rest_url=args.rest_url,
        timeout=args.timeout,
    )


def _timed(line: dict[str, Any], r: Any) -> dict[str, Any]:
    line.update(time_in=r.time_in_raw, time_out=r.time_out_raw, latency_us=r.latency_ns / 1000)
    return line


async def _orders(args: argparse.Namespace) -> int:
    from ._config import check_url

    check_url(args.url)
    async with await _connected(args) as client:
        view = client.open_orders
        try:
            await asyncio.wait_for(view.ready.wait(), args.timeout)
        except TimeoutError:
            print("krakenwire orders: no executions snapshot in time", file=sys.stderr)
            return EXIT_UNKNOWN
        for order in view.values():
            _emit(order.fields)
    return EXIT_OK


def _add_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "symbol": args.symbol,
        "side": args.side,
        "order_qty": args.qty,
        "order_type": args.type,
        "limit_price": args.price,
        "time_in_force": args.tif,
        "expire_time": args.expire_time,
        "post_only": args.post_only or None,
        "cl_ord_id": args.cl_ord_id,
        "order_userref": args.userref,
        "validate": args.validate,
    }


async def _add(args: argparse.Namespace) -> int:
    from . import _build
    from ._config import check_url

    check_url(args.url)
    fields = _add_fields(args)
    _build.add_order(**fields)  # every check before connecting: nothing sent on bad input
    async with await _connected(args) as client:
        try:
            r = await client.add_order(**fields)
        except KrakenwireError as exc:
            ids = [args.cl_ord_id] if args.cl_ord_id else []
            return _error_line(exc, "add_order", ids)
        line: dict[str, Any] = {
            "method": "add_order",
            "req_id": r.req_id,
            "success": True,
            "order_id": r.order_id,
        }
        if r.cl_ord_id:
            line["cl_ord_id"] = r.cl_ord_id
        if r.order_userref is not None:
            line["order_userref"] = r.order_userref
        if r.warnings:
            line["warnings"] = r.warnings
        _emit(_timed(line, r))
    return EXIT_OK


async def _cancel_all(args: argparse.Namespace) -> int:
    from ._config import check_url

    check_url(args.url)
    async with await _connected(args) as client:
        try:
            r = await client.cancel_all()
        except KrakenwireError as exc:
            return _error_line(exc, "cancel_all")
        line: dict[str, Any] = {
            "method": "cancel_all",
            "req_id": r.req_id,
            "success": True,
            "count": r.count,
        }
        if r.warnings:
            line["warnings"] = r.warnings
        _emit(_timed(line, r))
    return EXIT_OK


def _guarded(name: str, coro: Any) -> int:
    try:
        code: int = _run(coro)
    except (ValidationError, CredentialsError) as exc:
        print(f"krakenwire {name}: {exc} (nothing was sent)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AuthError as exc:
        print(f"krakenwire {name}: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except ConnectionClosed as exc:
        print(f"krakenwire {name}: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    return code


def _connection_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--url", required=True, help="ws(s)://.../v2 (ws:// only to loopback)")
    sp.add_argument(
        "--token",
        help="WebSocket token; without it a token is fetched over REST "
        "with $KRAKEN_API_KEY / $KRAKEN_API_SECRET",
    )
    sp.add_argument(
        "--rest-url",
        default="https://api.kraken.com",
        help="REST base URL for the token fetch (the simulator prints its own)",
    )
    sp.add_argument("--timeout", type=float, default=10.0, help="seconds per request")


def _userref(text: str) -> int:
    return int(text)


def _run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.run(coro)


def _bench_module() -> Any:
    # The bench's references (python-kraken-sdk, websockets, hdrhistogram) are an extra.
    try:
        return importlib.import_module("krakenwire._bench_cli")
    except ImportError:
        return None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="krakenwire", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"krakenwire {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    from .sim import _cli as sim_cli

    sp = sub.add_parser("sim", help="run the Kraken simulator on loopback; prints its URL")
    sim_cli.add_arguments(sp)

    cp = sub.add_parser("cancel", help="cancel orders (one JSON line per reply on stdout)")
    cp.add_argument("--url", required=True, help="ws(s)://.../v2 (ws:// only to loopback)")
    cp.add_argument(
        "--token",
        help="WebSocket token; without it a token is fetched over REST "
        "with $KRAKEN_API_KEY / $KRAKEN_API_SECRET",
    )
    cp.add_argument(
        "--rest-url",
        default="https://api.kraken.com",
        help="REST base URL for the token fetch (the simulator prints its own)",
    )
    cp.add_argument("--cl-ord-id", action="append", metavar="ID", help="repeatable")
    cp.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    cp.add_argument("order_ids", nargs="*", metavar="ORDER_ID")

    cap = sub.add_parser("cancel-all", help="cancel every open order (one JSON line)")
    _connection_options(cap)

    op = sub.add_parser("orders", help="list open orders (one JSON line each, from the snapshot)")
    _connection_options(op)

    ap = sub.add_parser("add", help="place one order (one JSON line)")
    _connection_options(ap)
    ap.add_argument("--symbol", required=True, help="e.g. BTC/USD")
    ap.add_argument("--side", required=True, choices=["buy", "sell"])
    ap.add_argument("--qty", required=True, help="order quantity (a decimal, kept exact)")
    ap.add_argument("--price", help="limit price (a decimal, kept exact); limit orders")
    ap.add_argument("--type", default="limit", choices=["limit", "market"])
    ap.add_argument("--tif", choices=["gtc", "gtd", "ioc"], help="time in force")
    ap.add_argument("--expire-time", help="RFC3339 time, with --tif gtd")
    ap.add_argument("--post-only", action="store_true")
    ap.add_argument("--validate", action="store_true", help="let Kraken validate only")
    ids = ap.add_mutually_exclusive_group()
    ids.add_argument("--cl-ord-id", help="your order id (or --userref, not both)")
    ids.add_argument("--userref", type=_userref, help="order_userref (an int)")

    dp = sub.add_parser("demo", help="simulator + place + cancel, with a latency table")
    dp.add_argument("--orders", type=int, default=200, help="orders placed per round")
    dp.add_argument("--rounds", type=int, default=10)
    dp.add_argument("--samples", type=int, default=1000, help="10-id batch_cancel samples")

    sub.add_parser("plugins", help="list the plugins a client would load and their hooks")
    bp = sub.add_parser("bench", help="the bench suite (also `make bench`)")
    bench_cli = _bench_module()
    if bench_cli is not None:
        bench_cli.add_arguments(bp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    if args.command == "sim":
        from .sim import _cli as sim_cli

        code: int = _run(sim_cli.run(args))
        return code
    if args.command == "demo":
        from ._demo import run_demo

        code = _run(run_demo(args.orders, args.rounds, args.samples))
        return code
    if args.command == "plugins":
        from ._plugins_cli import run as plugins_run

        return plugins_run(args)
    if args.command == "bench":
        bench_cli = _bench_module()
        if bench_cli is None:
            print("krakenwire bench needs the bench extra: run `make bench`", file=sys.stderr)
            return EXIT_BAD_INPUT
        return int(bench_cli.run(args))
    if args.command == "orders":
        return _guarded("orders", _orders(args))
    if args.command == "add":
        return _guarded("add", _add(args))
    if args.command == "cancel-all":
        return _guarded("cancel-all", _cancel_all(args))
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
        try:
            code = _run(_cancel(args))
        except (ValidationError, CredentialsError) as exc:
            print(f"krakenwire cancel: {exc} (nothing was sent)", file=sys.stderr)
            return EXIT_BAD_INPUT
        except AuthError as exc:
            print(f"krakenwire cancel: {exc}", file=sys.stderr)
            return EXIT_REJECTED
        except ConnectionClosed as exc:
            print(f"krakenwire cancel: {exc}", file=sys.stderr)
            return EXIT_UNKNOWN
        return code
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return EXIT_BAD_INPUT  # pragma: no cover
