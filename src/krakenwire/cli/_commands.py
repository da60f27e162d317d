"""The trading commands of the ``krakenwire`` CLI (``cancel``, ``orders``, ``add``,
``cancel-all``): each validates everything before connecting, prints one JSON object per line
with the same fields on every path, and returns the exit code scripts test."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ..errors import KrakenwireError, NotConnected, RiskRejected, ValidationError
from ._inflight import InFlight
from ._output import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_UNKNOWN,
    NO_TIMING,
    cancel_line,
    emit,
    error_line,
    line_exit,
    pending_line,
    timing,
    worst,
)

__all__ = ["add", "cancel", "cancel_all", "orders"]


_NOT_SENT = (ValidationError, RiskRejected, NotConnected)


async def cancel(args: argparse.Namespace, flight: InFlight) -> int:
    from .._cancels import plan

    orders: list[str] = args.order_ids
    cl: list[str] = args.cl_ord_id or []
    # Check everything we can before connecting: nothing is sent on bad input.
    parts, _, _, cids = plan(orders, cl or None)
    async with await _connected(args) as client:
        if len(parts) == 1 and len(parts[0]) == 1:
            lines = [await _cancel_one(client, flight, orders, cl, args.timeout)]
        else:
            lines = await _cancel_batches(client, flight, parts, set(cids), args.timeout)
        for line in lines:  # before the close handshake: a script reads them at once
            emit(line)
    return worst([line_exit(x) for x in lines])


async def _cancel_one(
    client: Any, flight: InFlight, orders: list[str], cl: list[str], timeout: float
) -> dict[str, Any]:
    """One id: one cancel_order."""
    key = flight.add(pending_line("cancel_order", orders, cl))
    sent = True
    try:
        r = await client.cancel_order(orders or None, cl_ord_id=cl or None, timeout=timeout)
    except KrakenwireError as exc:
        sent = not isinstance(exc, _NOT_SENT)
        return cancel_line("cancel_order", orders, cl, exc=exc)
    finally:
        flight.done(key, sent)
    return cancel_line("cancel_order", orders, cl, r)


async def _cancel_batches(
    client: Any, flight: InFlight, parts: list[list[str]], cls: set[str], timeout: float
) -> list[dict[str, Any]]:
    """2+ ids: one batch_cancel per chunk of 2..50 (the chunks cancel_orders would send),
    every frame written before any reply is read; each chunk's line says how it went. A chunk
    refused before sending (a veto, no connection) stops the sending: it and the chunks after
    it are reported with that error, never as unknown."""
    lines: list[dict[str, Any] | None] = [None] * len(parts)
    all_in = asyncio.Event()
    left = len(parts)

    def settled(i: int, key: int, o: list[str], c: list[str]) -> Any:
        def on_done(out: Any) -> None:
            nonlocal left
            flight.done(key)
            if isinstance(out, KrakenwireError):
                lines[i] = cancel_line("batch_cancel", o, c, exc=out)
            else:
                lines[i] = cancel_line("batch_cancel", o, c, out)
            left -= 1
            if left == 0:
                all_in.set()

        return on_done

    stop: KrakenwireError | None = None
    for i, part in enumerate(parts):
        o = [x for x in part if x not in cls]
        c = [x for x in part if x in cls]
        if stop is None:
            key = flight.add(pending_line("batch_cancel", o, c))
            try:
                rid = client.batch_cancel_cb(
                    o, c or None, on_done=settled(i, key, o, c), timeout=timeout
                )
            except KrakenwireError as exc:
                flight.done(key, sent=False)
                stop = exc
            else:
                flight.set(key, req_id=rid)
                continue
        lines[i] = cancel_line("batch_cancel", o, c, exc=stop)
        left -= 1
    if left:
        await all_in.wait()
    return [x for x in lines if x is not None]


async def _connected(args: argparse.Namespace) -> Any:
    from .._connect import connect

    creds = None
    if not args.token:
        from .._auth import Credentials

        creds = Credentials.from_env()  # names the missing variable, never its value
    return await connect(
        args.url,
        token=args.token,
        credentials=creds,
        rest_url=args.rest_url,
        timeout=args.timeout,
    )


async def orders(args: argparse.Namespace, flight: InFlight) -> int:
    """List the open orders (no request is sent: `flight` stays empty)."""
    async with await _connected(args) as client:  # --url was checked by argparse
        view = client.open_orders
        try:
            await asyncio.wait_for(view.ready.wait(), args.timeout)
        except TimeoutError:
            print("krakenwire orders: no executions snapshot in time", file=sys.stderr)
            return EXIT_UNKNOWN
        for order in view.values():
            emit(order.fields)
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


def _unknown(method: str, base: dict[str, Any]) -> dict[str, Any]:
    """The line of a single request on the wire whose outcome is not known."""
    line: dict[str, Any] = {"method": method, "req_id": None, "success": None}
    line.update(outcome="unknown", **base, error=None, **NO_TIMING)
    return line


_ADD_FIELDS: dict[str, Any] = {
    "order_id": None,
    "cl_ord_id": None,
    "order_userref": None,
    "warnings": [],
}


async def add(args: argparse.Namespace, flight: InFlight) -> int:
    from ..methods import entry as _build

    fields = _add_fields(args)
    _build.add_order(**fields)  # every check before connecting: nothing sent on bad input
    base = dict(_ADD_FIELDS, cl_ord_id=args.cl_ord_id, order_userref=args.userref)
    async with await _connected(args) as client:
        key = flight.add(_unknown("add_order", base))
        sent = True
        try:
            r = await client.add_order(**fields)
        except KrakenwireError as exc:
            sent = not isinstance(exc, _NOT_SENT)
            return error_line(exc, "add_order", base)
        finally:
            flight.done(key, sent)
        line: dict[str, Any] = {"method": "add_order", "req_id": r.req_id, "success": True}
        line.update(
            outcome="ok",
            order_id=r.order_id,
            cl_ord_id=r.cl_ord_id,
            order_userref=r.order_userref,
            warnings=list(r.warnings),
            error=None,
            **timing(r),
        )
        emit(line)
    return EXIT_OK


async def _cancel_symbols(args: argparse.Namespace, flight: InFlight) -> int:
    """``cancel-all --symbol PAIR``: the pairs' open orders, as ``cancel`` would their ids."""
    from .._bysymbol import check_symbols, ids_of_symbols
    from .._cancels import plan

    symbols = check_symbols(args.symbol)  # before connecting: nothing sent on bad input
    async with await _connected(args) as client:
        view = client.open_orders
        try:
            await asyncio.wait_for(view.ready.wait(), args.timeout)
        except TimeoutError:
            print("krakenwire cancel-all: no executions snapshot in time", file=sys.stderr)
            return EXIT_BAD_INPUT  # nothing was sent
        ids = ids_of_symbols(view, symbols)
        if not ids:
            names = ", ".join(sorted(symbols))
            print(f"krakenwire cancel-all: no open order of {names}: nothing sent", file=sys.stderr)
            return EXIT_OK
        parts, _, _, _ = plan(ids, None)
        if len(ids) == 1:
            lines = [await _cancel_one(client, flight, ids, [], args.timeout)]
        else:
            lines = await _cancel_batches(client, flight, parts, set(), args.timeout)
        for line in lines:
            emit(line)
    return worst([line_exit(x) for x in lines])


async def cancel_all(args: argparse.Namespace, flight: InFlight) -> int:
    if args.symbol:
        return await _cancel_symbols(args, flight)
    base: dict[str, Any] = {"count": None, "warnings": []}
    async with await _connected(args) as client:  # --url was checked by argparse
        key = flight.add(_unknown("cancel_all", base))
        sent = True
        try:
            r = await client.cancel_all()
        except KrakenwireError as exc:
            sent = not isinstance(exc, _NOT_SENT)
            return error_line(exc, "cancel_all", base)
        finally:
            flight.done(key, sent)
        line: dict[str, Any] = {"method": "cancel_all", "req_id": r.req_id, "success": True}
        line.update(outcome="ok", count=r.count, warnings=list(r.warnings), error=None, **timing(r))
        emit(line)
    return EXIT_OK
