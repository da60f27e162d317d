"""The trading commands of the ``krakenwire`` CLI (``cancel``, ``orders``, ``add``,
``cancel-all``): each validates everything before connecting, prints one JSON object per line
with the same fields on every path, and returns the exit code scripts test."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from .._results import CancelOrderResult, CancelOrdersResult
from ..errors import KrakenwireError
from ._output import (
    EXIT_OK,
    EXIT_UNKNOWN,
    cancel_line,
    emit,
    error_line,
    line_exit,
    timing,
    worst,
)

__all__ = ["add", "cancel", "cancel_all", "orders"]


async def cancel(args: argparse.Namespace) -> int:
    from .._cancels import plan
    from .._connect import connect

    orders: list[str] = args.order_ids
    cl: list[str] = args.cl_ord_id or []
    total = len(orders) + len(cl)
    # Check everything we can before connecting: nothing is sent on bad input.
    plan(orders, cl or None)
    token = args.token
    creds = None
    if not token:
        from .._auth import Credentials

        # Names the missing or malformed variable, never its value.
        creds = Credentials.from_env()
    async with await connect(
        args.url, token=token, credentials=creds, rest_url=args.rest_url, timeout=args.timeout
    ) as client:
        lines: list[dict[str, Any]] = []
        if total == 1:
            try:
                r1 = await client.cancel_order(orders or None, cl_ord_id=cl or None)
            except KrakenwireError as exc:
                lines.append(cancel_line("cancel_order", orders, cl, exc=exc))
            else:
                lines.append(cancel_line("cancel_order", orders, cl, r1))
        elif total <= 50:
            try:
                r = await client.batch_cancel(orders, cl or None)
            except KrakenwireError as exc:
                lines.append(cancel_line("batch_cancel", orders, cl, exc=exc))
            else:
                lines.append(cancel_line("batch_cancel", orders, cl, r))
        else:  # any number of ids and cl_ord_ids: the fewest chunks of 2..50 in all
            many: CancelOrdersResult = await client.cancel_orders(orders, cl_ord_id=cl or None)
            cls = set(cl)
            for ch in many.chunks:
                method = (
                    "cancel_order" if isinstance(ch.result, CancelOrderResult) else ("batch_cancel")
                )
                o = [i for i in ch.ids if i not in cls]
                c = [i for i in ch.ids if i in cls]
                lines.append(cancel_line(method, o, c, ch.result, ch.error))
        for line in lines:  # before the close handshake: a script reads them at once
            emit(line)
    return worst([line_exit(x) for x in lines])


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


async def orders(args: argparse.Namespace) -> int:
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


_ADD_FIELDS: dict[str, Any] = {
    "order_id": None,
    "cl_ord_id": None,
    "order_userref": None,
    "warnings": [],
}


async def add(args: argparse.Namespace) -> int:
    from .. import _build

    fields = _add_fields(args)
    _build.add_order(**fields)  # every check before connecting: nothing sent on bad input
    async with await _connected(args) as client:
        try:
            r = await client.add_order(**fields)
        except KrakenwireError as exc:
            base = dict(_ADD_FIELDS, cl_ord_id=args.cl_ord_id, order_userref=args.userref)
            return error_line(exc, "add_order", base)
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


async def cancel_all(args: argparse.Namespace) -> int:
    async with await _connected(args) as client:  # --url was checked by argparse
        try:
            r = await client.cancel_all()
        except KrakenwireError as exc:
            return error_line(exc, "cancel_all", {"count": None, "warnings": []})
        line: dict[str, Any] = {"method": "cancel_all", "req_id": r.req_id, "success": True}
        line.update(outcome="ok", count=r.count, warnings=list(r.warnings), error=None, **timing(r))
        emit(line)
    return EXIT_OK
