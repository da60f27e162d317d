"""A hostile Kraken ws-auth server for chaos tests: speaks just enough of the protocol for
``krakenwire.connect(url, token=...)`` to succeed, and can be scripted to send anything.

It is a real picows server on loopback, running on the test's own event loop (asyncio or
uvloop). Every request is decoded with the stdlib ``json`` (so ``req_id`` may be anything) and
recorded in :attr:`HostileServer.requests`; each method has a default handler that a test can
replace with :meth:`HostileServer.on` (a handler gets the connection and the decoded request and
answers with :meth:`HConn.reply`, :meth:`HConn.send`, :meth:`HConn.send_raw`, ... or not at all).
The server counts what a client's lifecycle does to it from the outside: handshakes, live
sockets (and their maximum), live executions subscriptions, attempt times, REST token calls.

Switches (plain attributes, change them at any time):
    status_on_connect: push a ``status`` frame after the handshake.
    silent: read and drop every frame, send nothing (a stall after the handshake).
    subscribe_mode: ``"ack"`` (ack + snapshot), ``"silent"`` (no answer), ``"close"`` (close
        with ``subscribe_close_code``), ``"refuse"`` (``success: false`` with ``refuse_error``).
    snapshot_delay: seconds between the subscribe ack and the executions snapshot.
    hold_executions: queue executions updates until :meth:`release_executions`.
    count_for: ``f(request) -> int``, the ``count`` of a batch_cancel reply.
    tokens: ``None`` accepts any token; otherwise the set of live tokens (see
        :meth:`invalidate_tokens` and the REST endpoint, which mints into it).
    record: keep every request in :attr:`HostileServer.requests` (off for long soaks).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

__all__ = ["HConn", "HostileServer", "deep", "open_sockets", "run_isolated", "until"]

TOKEN_PATH = "/0/private/GetWebSocketsToken"
SESSION = "ESession:Invalid session"
T_IN = "2026-11-25T12:00:00.000000Z"
Handler = Callable[["HConn", dict[str, Any]], None]


def deep(n: int, inner: str = "0") -> str:
    """JSON text nested ``n`` arrays deep."""
    return "[" * n + inner + "]" * n


def open_sockets() -> int:
    """Sockets this process holds (client and in-process server alike), from /proc/self/fd."""
    import os

    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:  # closed while we looked
            pass
    return n


async def until(pred: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``pred`` every 5 ms; fail the test after ``timeout`` seconds (a bound, not a spec)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, f"{what} not reached within {timeout} s"
        await asyncio.sleep(0.005)


class HConn(WSListener):
    """Server side of one connection."""

    def __init__(self, server: HostileServer, number: int) -> None:
        super().__init__()
        self.server = server
        self.number = number  # 1 for the first handshake, 2 for the next, ...
        self.transport: WSTransport | None = None
        self.closed = False
        self.subscribed = False
        self.token: str | None = None
        self.seq = 0
        self.held: list[bytes] = []
        self.requests: list[dict[str, Any]] = []

    # -- picows callbacks ----------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.server._opened(self)
        if self.server.status_on_connect and not self.server.silent:
            self.send(
                {
                    "channel": "status",
                    "type": "update",
                    "data": [
                        {
                            "api_version": "v2",
                            "connection_id": 10**19 + self.number,
                            "system": self.server.system,
                            "version": "2.0.10",
                        }
                    ],
                }
            )

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        self.subscribed = False
        self.server._closed(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        srv = self.server
        if frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type is not WSMsgType.TEXT:
            return
        raw = frame.get_payload_as_bytes()
        srv.frames_received += 1
        if srv.silent:
            return
        try:
            msg = json.loads(raw)
        except ValueError:
            self.reply({}, error="EGeneral:Invalid arguments")
            return
        if not isinstance(msg, dict):
            self.reply({}, error="EGeneral:Invalid arguments")
            return
        msg["_conn"] = self.number
        srv.received += 1
        if srv.record:
            self.requests.append(msg)
            srv.requests.append(msg)
        method = msg.get("method")
        handler = srv.handlers.get(method) if isinstance(method, str) else None
        if handler is None:
            self.reply(msg, error="EGeneral:Invalid arguments")
            return
        handler(self, msg)

    # -- sending -------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return not self.closed and self.transport is not None

    def send_raw(self, data: bytes | str, msg_type: WSMsgType = WSMsgType.TEXT) -> None:
        """Send one frame as-is (any type: TEXT, BINARY, ...)."""
        if self.is_open:
            assert self.transport is not None
            self.transport.send(msg_type, data.encode() if isinstance(data, str) else data)

    def send(self, obj: Any) -> None:
        """Send ``obj`` as compact JSON text (big ints, floats and bools go as they are)."""
        self.send_raw(json.dumps(obj, separators=(",", ":")))

    def send_fragmented(self, data: bytes | str, parts: int = 3) -> None:
        """Send one TEXT message split over ``parts`` frames (TEXT + CONTINUATION...)."""
        if not self.is_open:
            return
        assert self.transport is not None
        b = data.encode() if isinstance(data, str) else data
        step = max(1, -(-len(b) // parts))
        chunks = [b[i : i + step] for i in range(0, len(b), step)]
        for i, chunk in enumerate(chunks):
            kind = WSMsgType.TEXT if i == 0 else WSMsgType.CONTINUATION
            self.transport.send(kind, chunk, fin=i == len(chunks) - 1)

    def reply(
        self,
        msg: dict[str, Any],
        result: Any = None,
        *,
        error: str | None = None,
        method: Any = ...,
        req_id: Any = ...,
        **extra: Any,
    ) -> dict[str, Any]:
        """Kraken-shaped reply to ``msg``; ``method``/``req_id`` default to the request's
        (pass anything to lie). Returns the frame sent."""
        out: dict[str, Any] = {"method": msg.get("method", "") if method is ... else method}
        rid = msg.get("req_id") if req_id is ... else req_id
        if rid is not None:
            out["req_id"] = rid
        if error is None:
            if result is not None:
                out["result"] = result
            out["success"] = True
        else:
            out["error"] = error
            out["success"] = False
        out["time_in"] = T_IN
        out["time_out"] = T_IN
        out.update(extra)
        self.send(out)
        return out

    def executions(self, type_: str, data: Any, sequence: int | None = None) -> None:
        """An executions frame; ``sequence`` defaults to the next number of this connection."""
        if sequence is None:
            self.seq += 1
            sequence = self.seq
        frame = {"channel": "executions", "type": type_, "data": data, "sequence": sequence}
        text = json.dumps(frame, separators=(",", ":")).encode()
        if type_ == "update" and self.server.hold_executions:
            self.held.append(text)
        else:
            self.send_raw(text)

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Close with a close frame carrying ``code``."""
        if self.is_open:
            assert self.transport is not None
            self.transport.send_close(WSCloseCode(code), reason)
            self.transport.disconnect()

    def abort(self) -> None:
        """Drop the TCP connection with no close frame (a 1006 for the client)."""
        if self.is_open:
            assert self.transport is not None
            self.transport.disconnect(graceful=False)


class HostileServer:
    """A scriptable picows server on ``127.0.0.1`` (or ``::1``): see the module docstring."""

    def __init__(
        self, host: str = "127.0.0.1", *, rest: bool = False, handshake_timeout: float = 5.0
    ) -> None:
        self.host = host
        self.handshake_timeout = handshake_timeout
        self.port = 0
        # switches
        self.status_on_connect = True
        self.silent = False
        self.subscribe_mode = "ack"
        self.subscribe_close_code = 1013
        self.refuse_error = SESSION
        self.snapshot_delay = 0.0
        self.hold_executions = False
        self.system = "online"
        self.count_for: Callable[[dict[str, Any]], int] = _default_count
        self.tokens: set[str] | None = None
        self.open_orders: dict[str, dict[str, Any]] = {}  # order_id -> executions row
        # counters
        self.connections = 0
        self.live = 0
        self.max_live = 0
        self.max_subscribed = 0
        self.attempt_times: list[float] = []
        self.frames_received = 0
        self.received = 0  # JSON-object requests handled (recorded or not)
        self.record = True  # keep every request in .requests (turn off for long soaks)
        self.rest_calls = 0
        self.requests: list[dict[str, Any]] = []
        self.conns: list[HConn] = []
        self.handlers: dict[str, Handler] = dict(_DEFAULTS)
        self._ids = itertools.count(1)
        self._numbers = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._rest = rest
        self._runner: web.AppRunner | None = None
        self.rest_url = ""

    # -- scripting -----------------------------------------------------------------------------

    def on(self, method: str, handler: Handler) -> None:
        """Replace the handler of ``method`` (``handler(conn, request)``)."""
        self.handlers[method] = handler

    @staticmethod
    def default(method: str) -> Handler:
        """The built-in handler of ``method`` (to call from an override)."""
        return _DEFAULTS[method]

    def methods(self, *names: str) -> list[dict[str, Any]]:
        """Requests received whose method is one of ``names`` (all of them if none given)."""
        return [r for r in self.requests if not names or r.get("method") in names]

    def trading(self) -> list[dict[str, Any]]:
        """Requests received other than ping/subscribe/unsubscribe housekeeping."""
        return [r for r in self.requests if r.get("method") not in _HOUSEKEEPING]

    @property
    def live_conns(self) -> list[HConn]:
        return [c for c in self.conns if c.is_open]

    @property
    def subscribed(self) -> int:
        """Live connections holding an executions subscription."""
        return sum(1 for c in self.conns if c.is_open and c.subscribed)

    def broadcast(self, obj: Any) -> int:
        """Send ``obj`` (JSON) or ``bytes``/``str`` (raw text) to every live connection."""
        conns = self.live_conns
        for c in conns:
            if isinstance(obj, bytes | str):
                c.send_raw(obj)
            else:
                c.send(obj)
        return len(conns)

    def drop_all(self, code: int | None = None) -> int:
        """Close every live connection: abruptly (``None``) or with a close ``code``."""
        conns = self.live_conns
        for c in conns:
            if code is None:
                c.abort()
            else:
                c.close(code)
        return len(conns)

    def release_executions(self) -> None:
        """Stop holding executions updates and send every held one, in order."""
        self.hold_executions = False
        for c in self.live_conns:
            held, c.held = c.held, []
            for text in held:
                c.send_raw(text)

    def invalidate_tokens(self) -> None:
        """Every token known so far is now refused (``ESession:Invalid session``)."""
        self.tokens = set()

    def token_ok(self, token: Any) -> bool:
        return self.tokens is None or token in self.tokens

    def new_order_id(self) -> str:
        n = next(self._ids)
        return f"OHOST{n:01d}-{n % 100000:05d}-HOSTIL"

    def add_open(self, order_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Put an order in the account (it shows in the next snapshot)."""
        oid = order_id or self.new_order_id()
        row = {
            "order_id": oid,
            "symbol": "BTC/USD",
            "side": "buy",
            "order_type": "limit",
            "order_qty": 0.001,
            "limit_price": 29000,
            "order_status": "new",
            "exec_type": "new",
            "order_userref": 0,
            "timestamp": T_IN,
            **fields,
        }
        self.open_orders[oid] = row
        return row

    def emit(self, type_: str, rows: list[dict[str, Any]]) -> None:
        """An executions update to every subscribed connection."""
        for c in self.live_conns:
            if c.subscribed and rows:
                c.executions(type_, rows)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/v2"

    async def start(self) -> None:
        self._server = await ws_create_server(
            lambda _req: HConn(self, next(self._numbers)),
            self.host,
            0,
            websocket_handshake_timeout=self.handshake_timeout,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self._rest:
            app = web.Application()
            app.router.add_post(TOKEN_PATH, self._rest_token)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, 0)
            await site.start()
            port = self._runner.addresses[0][1]
            self.rest_url = f"http://{self.host}:{port}"

    async def stop(self) -> None:
        for c in self.live_conns:
            c.abort()
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await asyncio.sleep(0)

    async def __aenter__(self) -> HostileServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _opened(self, conn: HConn) -> None:
        self.connections += 1
        self.live += 1
        self.max_live = max(self.max_live, self.live)
        self.attempt_times.append(asyncio.get_running_loop().time())
        self.conns.append(conn)

    def _closed(self, conn: HConn) -> None:
        self.live -= 1
        # Keep the list bounded over long soaks: closed connections are only counted.
        self.conns = [c for c in self.conns if c.is_open]

    def _subscribed(self) -> None:
        self.max_subscribed = max(self.max_subscribed, self.subscribed)

    async def _rest_token(self, request: web.Request) -> web.Response:
        self.rest_calls += 1
        await request.read()
        token = f"hostile-token-{self.rest_calls}"
        if self.tokens is not None:
            self.tokens.add(token)
        body = {"error": [], "result": {"token": token, "expires": 900}}
        return web.json_response(body)


# -- default handlers --------------------------------------------------------------------------

_HOUSEKEEPING = frozenset({"ping", "subscribe", "unsubscribe"})


def _default_count(msg: dict[str, Any]) -> int:
    params = msg.get("params") or {}
    return len(params.get("orders") or ()) + len(params.get("cl_ord_id") or ())


def _params(msg: dict[str, Any]) -> dict[str, Any]:
    p = msg.get("params")
    return p if isinstance(p, dict) else {}


def _authed(conn: HConn, msg: dict[str, Any]) -> bool:
    if conn.server.token_ok(_params(msg).get("token")):
        return True
    conn.reply(msg, error=SESSION)
    return False


def _subscribe(conn: HConn, msg: dict[str, Any]) -> None:
    srv = conn.server
    mode = srv.subscribe_mode
    if mode == "silent":
        return
    if mode == "close":
        conn.close(srv.subscribe_close_code)
        return
    if mode == "refuse":
        conn.reply(msg, error=srv.refuse_error, channel="executions")
        return
    if not srv.token_ok(_params(msg).get("token")):
        conn.reply(msg, error=SESSION, channel="executions")
        return
    conn.subscribed = True
    conn.token = _params(msg).get("token")
    srv._subscribed()
    conn.reply(
        msg,
        {"channel": "executions", "maxratecount": 180, "snap_orders": True, "snap_trades": False},
    )
    rows = list(srv.open_orders.values())

    def snapshot() -> None:
        if conn.is_open:
            conn.executions("snapshot", rows)

    if srv.snapshot_delay > 0:
        asyncio.get_running_loop().call_later(srv.snapshot_delay, snapshot)
    else:
        snapshot()


def _unsubscribe(conn: HConn, msg: dict[str, Any]) -> None:
    conn.subscribed = False
    conn.reply(msg, {"channel": "executions"})


def _ping(conn: HConn, msg: dict[str, Any]) -> None:
    conn.reply(msg, method="pong")


def _cancel_rows(conn: HConn, oids: list[str]) -> None:
    rows = []
    for oid in oids:
        if conn.server.open_orders.pop(oid, None) is not None:
            rows.append(
                {
                    "order_id": oid,
                    "exec_type": "canceled",
                    "order_status": "canceled",
                    "timestamp": T_IN,
                    "cancel_reason": "User requested",
                }
            )
    conn.server.emit("update", rows)


def _batch_cancel(conn: HConn, msg: dict[str, Any]) -> None:
    if not _authed(conn, msg):
        return
    conn.reply(msg, {"count": conn.server.count_for(msg)})
    _cancel_rows(conn, [str(o) for o in _params(msg).get("orders") or ()])


def _cancel_order(conn: HConn, msg: dict[str, Any]) -> None:
    if not _authed(conn, msg):
        return
    p = _params(msg)
    ids = p.get("order_id") or p.get("cl_ord_id") or p.get("order_userref") or ()
    for oid in ids:
        conn.reply(msg, {"order_id": str(oid)})
    _cancel_rows(conn, [str(o) for o in p.get("order_id") or ()])


def _cancel_all(conn: HConn, msg: dict[str, Any]) -> None:
    if not _authed(conn, msg):
        return
    oids = list(conn.server.open_orders)
    conn.reply(msg, {"count": len(oids)})
    _cancel_rows(conn, oids)


def _cancel_after(conn: HConn, msg: dict[str, Any]) -> None:
    if not _authed(conn, msg):
        return
    conn.reply(msg, {"currentTime": "2026-11-25T12:00:00Z", "triggerTime": "0"})


def _new_rows(conn: HConn, rows: list[dict[str, Any]]) -> None:
    conn.server.emit("update", [{**r, "exec_type": "pending_new"} for r in rows])
    conn.server.emit("update", rows)


def _add_order(conn: HConn, msg: dict[str, Any]) -> None:
    if not _authed(conn, msg):
        return
    p = _params(msg)
    extra = {k: p[k] for k in ("cl_ord_id", "order_userref") if k in p}
    row = conn.server.add_open(**extra)
    conn.reply(msg, {"order_id": row["order_id"], **extra})
    _new_rows(conn, [row])


def _batch_add(conn: HConn, msg: dict[str, Any]) -> None:
    if not _authed(conn, msg):
        return
    rows = []
    for o in _params(msg).get("orders") or ():
        extra = {k: o[k] for k in ("cl_ord_id", "order_userref") if k in o}
        rows.append((conn.server.add_open(**extra), extra))
    conn.reply(msg, [{"order_id": r["order_id"], **extra} for r, extra in rows])
    _new_rows(conn, [r for r, _ in rows])


_DEFAULTS: dict[str, Handler] = {
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "ping": _ping,
    "batch_cancel": _batch_cancel,
    "cancel_order": _cancel_order,
    "cancel_all": _cancel_all,
    "cancel_all_orders_after": _cancel_after,
    "add_order": _add_order,
    "batch_add": _batch_add,
}


def run_isolated(target: str, loop: str, timeout: float = 60.0) -> None:
    """Run the coroutine function ``target`` (``"tests.module:function"``) on ``loop``
    (``"asyncio"``/``"uvloop"``) in a child interpreter, and fail with its output if it fails.

    For scenarios that can damage the interpreter running them: today a RecursionError raised
    inside picows' frame callback leaves CPython 3.11's recursion bookkeeping inconsistent, and
    pytest itself then dies with an INTERNALERROR while reporting. A child process keeps the
    rest of the suite alive and still fails the one test."""
    import os
    import subprocess
    import sys

    module, func = target.split(":")
    code = (
        "import asyncio, importlib, uvloop\n"
        f"main = getattr(importlib.import_module({module!r}), {func!r})\n"
        f"(uvloop.run if {loop!r} == 'uvloop' else asyncio.run)(main())\n"
        "print('SCENARIO-OK')\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root, "KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "SCENARIO-OK" in proc.stdout, out[-4000:]
