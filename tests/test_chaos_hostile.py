"""The hostile server's self-test, and the chaos it can do to a live client: wrong req_id types,
duplicates, method mismatches, huge, deep, binary and fragmented frames, close codes.

Every test keeps a request in flight while the junk arrives and checks that the request gets
ITS answer (junk replies carry a count the real reply never has), that the junk is counted,
and that the connection survives (the server saw exactly one handshake)."""

import asyncio
import json

import pytest

import krakenwire
from krakenwire import ConnectionLost
from tests._hostile import HostileServer, deep, open_sockets, run_isolated, until
from tests._rawclient import connect as raw_connect

FAST = {"backoff_base": 0.02, "backoff_cap": 0.1}
JUNK_COUNT = 999  # a count no real reply in these tests has


# ---- self-test ------------------------------------------------------------------------------


def test_hostile_server_speaks_enough_protocol_for_connect(run):
    async def main():
        async with HostileServer() as srv:
            srv.add_open(order_userref=7)
            baseline = open_sockets()
            async with await krakenwire.connect(srv.url, token="t0k") as client:
                assert open_sockets() == baseline + 2  # the client's and the server's end
                await until(lambda: len(client.open_orders) == 1, what="snapshot")
                assert (await client.ping()).latency_ns > 0
                assert (await client.batch_cancel(["A", "B"])).count == 2
                r = await client.cancel_order(order_id=["A", "B"])
                assert len(r.replies) == 2
                assert (await client.cancel_all()).count == 1
                await client.cancel_after(60)
                a = await client.add_order(
                    symbol="BTC/USD", side="buy", order_qty="0.1", limit_price="100"
                )
                assert a.order_id.startswith("OHOST")
                b = await client.batch_add(
                    [
                        {"side": "buy", "order_qty": "1", "limit_price": "1"},
                        {"side": "sell", "order_qty": "1", "limit_price": "9"},
                    ],
                    symbol="BTC/USD",
                )
                assert len(b.orders) == 2
            assert srv.connections == 1 and srv.max_live == 1 and srv.max_subscribed == 1
            await until(lambda: srv.live == 0, what="socket closed")
            await until(lambda: open_sockets() == baseline, what="both ends closed")
            methods = [r["method"] for r in srv.requests]
            assert methods[0] == "subscribe" and "batch_cancel" in methods

    run(main)


def test_hostile_server_on_ipv6_loopback(run):
    async def main():
        async with HostileServer("::1") as srv:
            assert srv.url.startswith("ws://[::1]:")
            async with await krakenwire.connect(srv.url, token="t") as client:
                assert (await client.batch_cancel(["A", "B"])).count == 2

    run(main)


def test_hostile_server_scripting_hooks_and_raw_frames(run):
    async def main():
        async with HostileServer() as srv:
            srv.status_on_connect = False
            srv.on("ping", lambda c, m: c.reply(m, method="pong", req_id="str"))
            raw = await raw_connect(srv.url)
            raw.send({"method": "ping", "req_id": 5})
            assert (await raw.recv())["req_id"] == "str"
            raw.send({"method": "nope", "req_id": 6})
            assert (await raw.recv())["error"] == "EGeneral:Invalid arguments"
            srv.live_conns[0].send_raw('{"a":' + deep(5) + "}")
            assert (await raw.recv())["a"] == [[[[[0]]]]]
            srv.silent = True
            raw.send({"method": "ping", "req_id": 7})
            with pytest.raises(TimeoutError):
                await raw.recv(timeout=0.2)
            assert srv.frames_received == 3 and len(srv.methods("ping")) == 1
            srv.live_conns[0].close(1013)
            await asyncio.wait_for(raw.disconnected.wait(), 5)
            await until(lambda: srv.live == 0)
            assert srv.connections == 1

    run(main)


# ---- chaos against a live client ------------------------------------------------------------


async def _held_batch_cancel(srv, client, ids, junk):
    """Send batch_cancel(ids); the server answers with ``junk(conn, req)`` first, then the real
    reply (count = len(ids)). Returns the result."""

    def handler(conn, msg):
        srv.on("batch_cancel", HostileServer.default("batch_cancel"))  # junk only once
        junk(conn, msg)
        conn.reply(msg, {"count": len(ids)})

    srv.on("batch_cancel", handler)
    return await client.batch_cancel(ids, timeout=5)


def _bad_req_ids(conn, msg):
    rid = msg["req_id"]
    for bad in (str(rid), float(rid), True, 2**70, -rid, [rid], {"id": rid}, None):
        conn.reply(msg, {"count": JUNK_COUNT}, req_id=bad)


def _duplicates(conn, msg):
    # the real reply arrives below; these carry a foreign id, or arrive for a done request
    conn.reply(msg, {"count": JUNK_COUNT}, req_id=msg["req_id"] + 10_000)
    conn.reply(msg, {"count": JUNK_COUNT}, req_id=msg["req_id"] - 1)


def _method_mismatch(conn, msg):
    for wrong in ("cancel_all", "add_order", "pong", "subscribe", 5, None):
        conn.reply(msg, {"count": JUNK_COUNT}, method=wrong)


def _huge(conn, msg):
    conn.send({"method": "nope", "req_id": msg["req_id"], "blob": "x" * 2_000_000})
    conn.send({"channel": "sim_junk", "type": "update", "data": ["y" * 1000] * 1000})


def _deep_frames(conn, msg):
    conn.send_raw('{"channel":"executions","type":"update","data":' + deep(3000) + "}")
    conn.send_raw('{"channel":"heartbeat","extra":' + deep(3000) + "}")
    head = '{"method":"batch_cancel","req_id":' + str(msg["req_id"] + 5000)
    conn.send_raw(head + ',"success":true,"result":{"count":999,"warnings":' + deep(3000) + "}}")
    conn.send_raw(deep(100_000))


def _binary(conn, msg):
    from picows import WSMsgType

    conn.send_raw(b"\x00\xff\xfe binary junk", WSMsgType.BINARY)
    bad = {"method": "batch_cancel", "req_id": msg["req_id"], "result": {"count": JUNK_COUNT}}
    conn.send_raw(json.dumps({**bad, "req_id": msg["req_id"] + 77}).encode(), WSMsgType.BINARY)
    conn.send_raw(b"\xff\xfe not utf-8 \xc3\x28")


JUNK = {
    "bad_req_id_types": _bad_req_ids,
    "duplicates_and_foreign_ids": _duplicates,
    "method_mismatch": _method_mismatch,
    "huge_frames": _huge,
    "binary_and_invalid_utf8": _binary,
}


@pytest.mark.parametrize("kind", sorted(JUNK))
def test_junk_before_the_real_reply_never_answers_the_wrong_caller(run, kind):
    async def main():
        async with HostileServer() as srv:
            async with await krakenwire.connect(srv.url, token="t", **FAST) as client:
                before = client.stats.malformed + client.stats.unmatched
                r = await _held_batch_cancel(srv, client, ["A1", "B2", "C3"], JUNK[kind])
                assert r.count == 3 and r.orders == ["A1", "B2", "C3"]
                assert (await client.batch_cancel(["D", "E"], timeout=5)).count == 2
                assert client.stats.malformed + client.stats.unmatched > before
                assert client.state == "connected" and client.pending == 0
            assert srv.connections == 1

    run(main)


async def deep_frames_scenario():
    """Deeply nested frames (executions data, an unknown key, a reply's warnings, a bare array)
    arrive before the real reply: each is counted, the request gets its answer, the socket
    lives on."""
    async with HostileServer() as srv:
        async with await krakenwire.connect(srv.url, token="t", **FAST) as client:
            before = client.stats.malformed + client.stats.unmatched
            r = await _held_batch_cancel(srv, client, ["A1", "B2", "C3"], _deep_frames)
            assert r.count == 3 and r.orders == ["A1", "B2", "C3"]
            assert (await client.batch_cancel(["D", "E"], timeout=5)).count == 2
            assert client.stats.malformed + client.stats.unmatched >= before + 4
            assert client.state == "connected" and client.pending == 0
        assert srv.connections == 1


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_deeply_nested_frames_never_break_the_connection(loop):
    run_isolated("tests.test_chaos_hostile:deep_frames_scenario", loop)


def test_a_late_duplicate_reply_never_settles_the_next_request(run):
    async def main():
        async with HostileServer() as srv:
            async with await krakenwire.connect(srv.url, token="t", **FAST) as client:
                first = {}

                def hold(conn, msg):
                    if not first:
                        first["msg"] = msg
                        conn.reply(msg, {"count": 2})
                    else:  # the first reply again, then this request's own
                        conn.reply(first["msg"], {"count": JUNK_COUNT})
                        conn.reply(msg, {"count": 3})

                srv.on("batch_cancel", hold)
                assert (await client.batch_cancel(["A", "B"], timeout=5)).count == 2
                assert (await client.batch_cancel(["C", "D", "E"], timeout=5)).count == 3
                assert client.stats.unmatched >= 1

    run(main)


def test_a_reply_in_fragmented_frames_is_reassembled(run):
    """RFC 6455 §5.4: a server may fragment any message; the request must still be answered."""

    async def main():
        async with HostileServer() as srv:
            async with await krakenwire.connect(srv.url, token="t", **FAST) as client:

                def fragmented(conn, msg):
                    text = json.dumps(
                        {
                            "method": "batch_cancel",
                            "req_id": msg["req_id"],
                            "result": {"count": 2},
                            "success": True,
                            "time_in": "2026-11-25T12:00:00.000000Z",
                            "time_out": "2026-11-25T12:00:00.000000Z",
                        }
                    )
                    conn.send_fragmented(text, parts=4)

                srv.on("batch_cancel", fragmented)
                r = await client.batch_cancel(["A", "B"], timeout=2)
                assert r.count == 2
                assert client.state == "connected" and srv.connections == 1

    run(main)


@pytest.mark.parametrize("code", [1000, 1001, 1011, 1012, 1013, None])
def test_close_codes_fail_in_flight_requests_as_unknown_and_reconnect(run, code):
    async def main():
        async with HostileServer() as srv:
            async with await krakenwire.connect(srv.url, token="t", **FAST) as client:

                def close(conn, msg):
                    if code is None:
                        conn.abort()
                    else:
                        conn.close(code)

                srv.on("batch_cancel", close)
                with pytest.raises(ConnectionLost) as ei:
                    await client.batch_cancel(["A", "B"], timeout=5)
                assert ei.value.outcome == "unknown" and list(ei.value.ids) == ["A", "B"]
                srv.on("batch_cancel", HostileServer.default("batch_cancel"))
                await until(lambda: client.state == "connected" and srv.subscribed == 1)
                assert (await client.batch_cancel(["A", "B"], timeout=5)).count == 2
                assert client.pending == 0
            await until(lambda: srv.live == 0, what="every socket closed")
            assert srv.connections == 2 and srv.max_live == 1

    run(main)


def test_close_code_1008_is_terminal(run):
    async def main():
        async with HostileServer() as srv:
            client = await krakenwire.connect(srv.url, token="t", **FAST)
            srv.drop_all(1008)
            await asyncio.wait_for(client.wait_closed(), 5)
            await asyncio.sleep(0.2)
            assert srv.connections == 1 and client.state == "closed"
            await client.close()

    run(main)
