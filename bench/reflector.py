"""The reflector: a minimal Kraken-shaped server, the reference server of the headline figures.

``python -m bench.reflector`` serves ``ws://127.0.0.1:PORT/v2`` (picows, uvloop) and Kraken's
REST ``POST /0/private/GetWebSocketsToken`` (aiohttp; any key gets a token, nothing is
verified), prints one JSON line (``url``, ``rest_url``, ``token``, ``api_key``, ``api_secret``)
and then reads control commands, one JSON line each, on stdin. Every request a client sends is
answered at once with a pre-encoded Kraken-shaped reply (built once per distinct method and
params, then only the ``req_id`` is spliced in): ``batch_cancel`` -> ``{"count": N}`` (every
id counts as cancelled), ``cancel_order`` -> one reply per id, ``ping`` -> ``pong``,
``subscribe`` -> the ack and, for ``executions``, an empty snapshot; ``add_order``,
``batch_add``, ``amend_order``, ``edit_order``, ``cancel_all``, ``cancel_all_orders_after``
get a plausible success; anything else ``EGeneral:Invalid arguments``. A ``status`` frame goes
out on connect and nothing else unsolicited (no heartbeats, no executions updates), so every
client is treated the same and the server's own work per request (one envelope decode, a dict
look-up, one send) is small and identical for all of them.

For timing without touching the client, it stamps ``time.monotonic_ns()`` (CLOCK_MONOTONIC,
system-wide on Linux, so comparable with another process's stamps) on the arrival of every
``batch_cancel`` frame whose token is being recorded. The replies to all frames of one read go
out in one write after the last of them (picows' ``frame.last_in_buffer``), so a stamp is not
delayed by the replies to the frames before it and the server keeps up with 64 in flight.

Control commands: ``{"kind": "record", "token": T}`` starts recording T's arrivals;
``{"kind": "stamps", "token": T}`` answers ``{"stamps": [ns, ...], "first": ns}`` (every
batch_cancel frame; the first frame of any method carrying T, e.g. the executions subscribe)
and stops recording it;
``{"kind": "stats"}`` answers the frame and connection counts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from typing import Any

import msgspec
import picows

TEXT = picows.WSMsgType.TEXT
CLOSE = picows.WSMsgType.CLOSE
# Fixed timestamps: the reflector's replies carry no timing information, only Kraken's shape.
TIMES = b'"time_in":"2026-01-01T00:00:00.000000Z","time_out":"2026-01-01T00:00:00.000010Z"'
TOKEN = "bench-reflector-token"
API_KEY = "bench-reflector-key"
API_SECRET = "YmVuY2gtcmVmbGVjdG9yLXNlY3JldA=="  # base64: clients sign with it, nobody checks
INVALID = "EGeneral:Invalid arguments"
CACHE_MAX = 4096


class Envelope(msgspec.Struct):
    method: str = ""
    params: msgspec.Raw = msgspec.Raw(b"")
    req_id: int | None = None


_decode_env = msgspec.json.Decoder(Envelope).decode
_decode_params = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


class Reply(msgspec.Struct):
    """Pre-encoded frames for one (method, params): ``head + req_id + tail`` each."""

    heads: list[bytes]
    tails: list[bytes]
    no_id: list[bytes]  # the same frames without a req_id
    token: str
    snapshot: bool = False

    def frames(self, req_id: int | None) -> list[bytes]:
        if req_id is None:
            return self.no_id
        rid = b"%d" % req_id
        return [h + rid + t for h, t in zip(self.heads, self.tails, strict=True)]


def _reply(method: str, result: Any = None, error: str | None = None) -> tuple[bytes, bytes]:
    head = b'{"method":' + _encode(method) + b',"req_id":'
    if error is not None:
        body = b',"success":false,"error":' + _encode(error)
    elif result is None:  # pong: Kraken's recorded pong has no success and no result
        body = b""
    else:
        body = b',"result":' + _encode(result) + b',"success":true'
    return head, body + b"," + TIMES + b"}"


def _ids(p: dict[str, Any], key: str) -> list[Any]:
    v = p.get(key)
    return v if isinstance(v, list) else []


_ORDER_ID = "OREFLX-ECTOR-{:06d}"


def _results(method: str, p: dict[str, Any]) -> tuple[list[tuple[bytes, bytes]], bool]:
    """The reply frames for one request, as (head, tail) pairs; and whether a snapshot follows."""
    if method == "batch_cancel":
        n = len(_ids(p, "orders")) + len(_ids(p, "cl_ord_id"))
        return [_reply(method, {"count": n})], False
    if method == "cancel_order":
        out = []
        for oid in _ids(p, "order"):
            out.append(_reply(method, {"order_id": oid}))
        for i, cl in enumerate(_ids(p, "cl_ord_id")):
            out.append(_reply(method, {"order_id": _ORDER_ID.format(i), "cl_ord_id": cl}))
        for i, ref in enumerate(_ids(p, "order_userref")):
            out.append(_reply(method, {"order_id": _ORDER_ID.format(i), "order_userref": ref}))
        return out or [_reply(method, error=INVALID)], False
    if method == "ping":
        return [_reply("pong")], False
    if method in ("subscribe", "unsubscribe"):
        channel = p.get("channel")
        if not isinstance(channel, str):
            return [_reply(method, error=INVALID)], False
        res: dict[str, Any] = {"channel": channel}
        snap = method == "subscribe" and channel == "executions"
        if snap:
            res.update(maxratecount=180, snap_orders=bool(p.get("snap_orders", True)))
            res["snap_trades"] = bool(p.get("snap_trades", False))
        return [_reply(method, res)], snap
    if method == "cancel_all":
        return [_reply(method, {"count": 0})], False
    if method == "cancel_all_orders_after":
        t = "2026-01-01T00:00:00Z"
        trig = "0" if not p.get("timeout") else "2026-01-01T00:01:00Z"
        return [_reply(method, {"currentTime": t, "triggerTime": trig})], False
    if method == "add_order":
        res = {"order_id": _ORDER_ID.format(0)}
        res.update({k: p[k] for k in ("cl_ord_id", "order_userref") if k in p})
        return [_reply(method, res)], False
    if method == "batch_add":
        orders = _ids(p, "orders")
        rows = []
        for i, o in enumerate(orders):
            row = {"order_id": _ORDER_ID.format(i)}
            if isinstance(o, dict):
                row.update({k: o[k] for k in ("cl_ord_id", "order_userref") if k in o})
            rows.append(row)
        return [_reply(method, rows)] if rows else [_reply(method, error=INVALID)], False
    if method == "amend_order":
        res = {"amend_id": "TREFLX-ECTOR-000000"}
        res.update({k: p[k] for k in ("order_id", "cl_ord_id") if k in p})
        return [_reply(method, res)], False
    if method == "edit_order":
        orig = p.get("order_id", "")
        return [_reply(method, {"order_id": _ORDER_ID.format(1), "original_order_id": orig})], False
    return [_reply(method, error=INVALID)], False


def build(method: str, raw: bytes) -> Reply:
    try:
        p = _decode_params(raw) if raw else {}
    except msgspec.DecodeError:
        p = {}
    pairs, snap = _results(method, p)
    tok = p.get("token")
    no_id = []
    for h, t in pairs:
        # {"method":"x","req_id":<id>,... -> {"method":"x",...
        no_id.append(h[: -len(b',"req_id":')] + t)
    return Reply(
        [h for h, _ in pairs],
        [t for _, t in pairs],
        no_id,
        tok if isinstance(tok, str) else "",
        snap,
    )


class Reflector:
    def __init__(self) -> None:
        self.cache: dict[tuple[str, bytes], Reply] = {}
        self.recording: dict[str, list[int]] = {}
        self.first: dict[str, int] = {}
        self.frames = 0
        self.connections = 0
        self.ids = itertools.count(1 << 62)

    def reply_for(self, method: str, raw: bytes) -> Reply:
        key = (method, raw)
        r = self.cache.get(key)
        if r is None:
            if len(self.cache) >= CACHE_MAX:
                self.cache.clear()
            r = self.cache[key] = build(method, raw)
        return r

    def status(self) -> bytes:
        data = {"api_version": "v2", "connection_id": next(self.ids), "system": "online"}
        data["version"] = "2.0.10"
        return _encode({"channel": "status", "type": "update", "data": [data]})


class Conn(picows.WSListener):
    def __init__(self, refl: Reflector) -> None:
        super().__init__()
        self.refl = refl
        self.seq = 0
        self.out: list[bytes] = []
        self.t: picows.WSTransport | None = None

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.t = transport
        self.refl.connections += 1
        transport.send(TEXT, self.refl.status())

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        now = time.monotonic_ns()
        if frame.msg_type is not TEXT:
            if frame.msg_type is CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            return
        refl = self.refl
        refl.frames += 1
        try:
            env = _decode_env(frame.get_payload_as_memoryview())
        except (msgspec.DecodeError, msgspec.ValidationError):
            env = Envelope()  # junk: answered in order like any request, as method ""
        raw = bytes(env.params)
        r = refl.reply_for(env.method, raw)
        frames = r.frames(env.req_id)
        if refl.recording:
            stamps = refl.recording.get(r.token)
            if stamps is not None:
                if env.method == "batch_cancel":
                    stamps.append(now)
                refl.first.setdefault(r.token, now)
        if r.snapshot:
            self.seq += 1
            snap = b'{"channel":"executions","type":"snapshot","data":[],"sequence":%d}' % self.seq
            frames = [*frames, snap]
        if frame.last_in_buffer and not self.out and len(frames) == 1:
            transport.send(TEXT, frames[0])  # the closed-loop case: one frame per read
            return
        if not self.out:  # a safety net: last_in_buffer should flush first
            asyncio.get_running_loop().call_soon(self.flush)
        self.out.extend(frames)
        if frame.last_in_buffer:
            self.flush()

    def flush(self) -> None:
        """Every reply to the frames of one read, in one write."""
        out, self.out = self.out, []
        t = self.t
        if not out or t is None or t.is_disconnected:
            return
        if len(out) == 1:
            t.send(TEXT, out[0])
        else:
            t.underlying_transport.write(b"".join(map(ws_frame, out)))


def ws_frame(payload: bytes) -> bytes:
    """A server-to-client text frame (unmasked, RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


async def _rest(host: str) -> tuple[Any, str]:
    from aiohttp import web

    body = json.dumps({"error": [], "result": {"token": TOKEN, "expires": 900}})

    async def token(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/0/private/GetWebSocketsToken", token)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://{host}:{port}"


def control(refl: Reflector, cmd: dict[str, Any]) -> dict[str, Any]:
    kind = cmd.get("kind")
    if kind == "record":
        refl.recording[cmd["token"]] = []
        refl.first.pop(cmd["token"], None)
        return {"ok": True}
    if kind == "stamps":
        tok = cmd["token"]
        return {"stamps": refl.recording.pop(tok, []), "first": refl.first.pop(tok, None)}
    if kind == "stats":
        return {"frames": refl.frames, "connections": refl.connections}
    return {"error": f"unknown command {kind!r}"}


async def main(host: str = "127.0.0.1") -> int:
    refl = Reflector()
    server = await picows.ws_create_server(lambda _req: Conn(refl), host, 0)
    port = server.sockets[0].getsockname()[1]
    runner, rest_url = await _rest(host)
    info = {
        "url": f"ws://{host}:{port}/v2",
        "rest_url": rest_url,
        "token": TOKEN,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
    }
    print(json.dumps(info), flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            cmd = json.loads(line) if line.strip() else {"kind": "quit"}
            if cmd.get("kind") == "quit":
                break
            print(json.dumps(control(refl, cmd)), flush=True)
    finally:
        server.close()
        await runner.cleanup()
    return 0


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main()))
