"""``krakenwire check``: a one-off live conformance check a user runs with their own keys.

It runs a fixed sequence that can change nothing on the account: a token over REST, connect,
the ``status`` frame, the ``executions`` subscribe ack and snapshot, ``ping``, an ``add_order``
with ``validate: true`` (Kraken checks it and never places it) and a ``batch_cancel`` of two ids
that cannot exist (it cancels nothing). It never places, amends or cancels a real order and never
calls ``cancel_all`` or the dead man's switch. Each reply is read by the client's own sans-IO
session (did the client understand it?) and its shape (keys, nesting, value kinds: never the
values) is compared with what the simulator answers to the same sequence, run in-process first.
The report is redacted (no token, key, order id or value) so it can go in a bug report.

Exit codes: 0 every shape matched; 5 a shape differed (the report says where); 2 bad input
(no token or credentials); 3 the check could not run to its end (connection or token failure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from decimal import Decimal
from typing import Any

import msgspec
import picows

from . import protocol as _build
from ._auth import Credentials, CredentialsError, TokenFetcher
from .errors import KrakenAPIError, KrakenwireError
from .protocol import ChannelFrame, Completed, Failed
from .protocol import Router as Session

__all__ = ["EXIT_SHAPE_DIFFERS", "add_arguments", "main", "run_check"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_SHAPE_DIFFERS = 0, 2, 3, 5
# Two ids no account can hold: not Kraken's order-id format, not an order_userref.
_NO_SUCH_IDS = ["KRAKENWIRE-CHECK-A", "KRAKENWIRE-CHECK-B"]
_ID = re.compile(r"\b[A-Z0-9]{6}-[A-Z0-9]{5}-[A-Z0-9]{6}\b")
_decode = msgspec.json.Decoder(float_hook=Decimal).decode


def shape(value: Any) -> Any:
    """Keys and nesting of a frame, each leaf reduced to its kind; lists to their first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    return "null" if value is None else type(value).__name__


def _diff(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two shapes differ (``a``: the venue's, ``b``: the reference)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only here" for k in sorted(set(a) - set(b))]
        out += [f"{where}.{k}: missing (reference has it)" for k in sorted(set(b) - set(a))]
        for k in sorted(set(a) & set(b)):
            out += _diff(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        return _diff(a[0], b[0], f"{where}[0]") if a and b else []
    return [] if a == b else [f"{where or '.'}: {a} here, {b} in the reference"]


class _Frames(picows.WSListener):
    """Every text frame of one connection, in order, into a queue."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type is picows.WSMsgType.TEXT:
            self.queue.put_nowait(frame.get_payload_as_bytes())

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        self.queue.put_nowait(None)


class _Step(msgspec.Struct):
    name: str
    shape: Any = None
    client: str = ""  # what the client made of it: "ok", "rejected: <Kraken's string>", ...
    differs: list[str] = []


async def _sequence(
    url: str, token: str, symbol: str, qty: Decimal, price: Decimal, timeout: float, ssl: Any
) -> list[_Step]:
    """Run the sequence on ``url``; one `_Step` per frame looked at."""
    frames = _Frames()
    transport, _ = await picows.ws_connect(
        lambda: frames, url, ssl_context=ssl, websocket_handshake_timeout=timeout
    )
    session = Session(token)
    steps: list[_Step] = []

    async def next_frame(pred: Any) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            data = await asyncio.wait_for(frames.queue.get(), max(left, 0.001))
            if data is None:
                raise ConnectionError("the server closed the connection")
            if pred(data):
                return data

    def record(name: str, data: bytes, ev: Any) -> None:
        step = _Step(name, shape(_decode(data)))
        if type(ev) is Completed:
            warned = getattr(ev.result, "shape_warnings", ())
            step.client = "ok" if not warned else "read with warnings: " + "; ".join(warned)
        elif type(ev) is Failed and isinstance(ev.error, KrakenAPIError):
            step.client = "rejected: " + _ID.sub("<id>", ev.error.error)
        elif type(ev) is ChannelFrame:
            step.client = "ok"
        else:
            step.client = f"not understood: {type(ev).__name__}"
        steps.append(step)

    try:
        status = await next_frame(lambda d: b'"status"' in d)
        record("status", status, session.receive(status, 0))
        for name, call, extra in (
            ("subscribe executions", _build.subscribe_executions(), "snapshot"),
            ("ping", _build.ping(), None),
            (
                "add_order validate",
                _build.add_order(
                    symbol=symbol, side="buy", order_qty=qty, limit_price=price, validate=True
                ),
                None,
            ),
            ("batch_cancel of two ids that cannot exist", _build.batch_cancel(_NO_SUCH_IDS), None),
        ):
            rid, data = session.send(call, 0, 10**18)
            transport.send(picows.WSMsgType.TEXT, data)
            marker = b'"req_id":%d' % rid
            reply = await next_frame(lambda d, m=marker: m in d)
            record(name, reply, session.receive(reply, 1))
            if extra is not None:
                snap = await next_frame(lambda d: b'"snapshot"' in d)
                record("executions snapshot", snap, session.receive(snap, 2))
    finally:
        transport.disconnect()
    return steps


async def run_check(
    url: str,
    token: str,
    *,
    reference: list[_Step] | None = None,
    symbol: str = "BTC/USD",
    qty: Decimal = Decimal("0.0001"),
    price: Decimal = Decimal("1"),
    timeout: float = 10.0,
    ssl: Any = None,
) -> dict[str, Any]:
    """Run the check against ``url`` with ``token``; the redacted report as a dict.

    ``reference`` is the simulator's run of the same sequence (run in-process when ``None``).
    The report's ``matched`` is true when the client read every reply without a warning and
    every shape equals the simulator's.
    """
    if reference is None:
        from .sim import Simulator

        async with Simulator(rest=False) as sim:
            reference = await _sequence(sim.url, sim.token, symbol, qty, price, timeout, None)
    steps = await _sequence(url, token, symbol, qty, price, timeout, ssl)
    by_name = {s.name: s for s in reference}
    for step in steps:
        ref = by_name.get(step.name)
        step.differs = _diff(step.shape, ref.shape) if ref is not None else ["no reference"]
    matched = all(
        not s.differs and (s.client == "ok" or s.client.startswith("rejected")) for s in steps
    )
    return {
        "krakenwire_check": 1,
        "matched": matched,
        "steps": [msgspec.structs.asdict(s) for s in steps],
    }


def add_arguments(sub: Any) -> None:
    """Register ``krakenwire check`` on the CLI's subparsers."""
    p = sub.add_parser(
        "check",
        help="live conformance check with your keys: never places, amends or cancels an order",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    p.add_argument("--url", default="wss://ws-auth.kraken.com/v2", help="ws-auth endpoint")
    p.add_argument("--token", default=None, help="a WebSocket token (else KRAKEN_API_KEY/SECRET)")
    p.add_argument("--rest-url", default="https://api.kraken.com", help="REST base for the token")
    p.add_argument("--symbol", default="BTC/USD", help="pair of the validate-only add_order")
    p.add_argument("--qty", default="0.0001", help="its quantity (validated, never placed)")
    p.add_argument("--price", default="1", help="its limit price (validated, never placed)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per step")


async def main(args: argparse.Namespace) -> int:
    """``krakenwire check``: prints the redacted JSON report; returns the exit code."""
    token = args.token
    try:
        qty, price = Decimal(args.qty), Decimal(args.price)
        if token is None:
            creds = Credentials(
                os.environ.get("KRAKEN_API_KEY", ""), os.environ.get("KRAKEN_API_SECRET", "")
            )
            token = (await TokenFetcher(creds, args.rest_url).fetch()).value
    except (CredentialsError, ArithmeticError, ValueError) as exc:
        print(f"krakenwire check: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KrakenwireError as exc:
        print(f"krakenwire check: no token: {exc}", file=sys.stderr)
        return EXIT_INCOMPLETE
    try:
        report = await run_check(
            args.url, token, symbol=args.symbol, qty=qty, price=price, timeout=args.timeout
        )
    except (OSError, TimeoutError, picows.WSError, KrakenwireError) as exc:
        print(f"krakenwire check: could not complete: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INCOMPLETE
    text = json.dumps(report, indent=2)
    print(text.replace(token, "<redacted>"))
    return EXIT_OK if report["matched"] else EXIT_SHAPE_DIFFERS
