"""The bench's reflector: Kraken-shaped replies with the req_id spliced in, the arrival stamps,
and krakenwire working against it through its public API (core dependencies only)."""

import asyncio
import json
import time

import msgspec
import picows
from bench import reflector

import krakenwire


def test_batch_cancel_reply_counts_every_id_and_splices_the_req_id():
    params = {"orders": ["A", "B", "C"], "cl_ord_id": ["x"], "token": "T"}
    r = reflector.build("batch_cancel", msgspec.json.encode(params))
    assert r.token == "T" and not r.snapshot
    (frame,) = r.frames(42)
    msg = json.loads(frame)
    assert msg["method"] == "batch_cancel" and msg["req_id"] == 42
    assert msg["result"] == {"count": 4} and msg["success"] is True
    assert msg["time_in"].endswith("Z") and msg["time_out"].endswith("Z")
    assert "req_id" not in json.loads(r.frames(None)[0])


def test_cancel_order_answers_once_per_id_and_ping_pongs():
    r = reflector.build("cancel_order", b'{"order":["A","B"],"token":"T"}')
    msgs = [json.loads(f) for f in r.frames(7)]
    assert [m["result"]["order_id"] for m in msgs] == ["A", "B"]
    assert all(m["req_id"] == 7 for m in msgs)
    pong = json.loads(reflector.build("ping", b"").frames(3)[0])
    assert pong == {"method": "pong", "req_id": 3, **{k: pong[k] for k in ("time_in", "time_out")}}
    bad = json.loads(reflector.build("no_such_method", b"{}").frames(1)[0])
    assert bad["success"] is False and bad["error"].startswith("EGeneral")


def test_ws_frame_lengths():
    for n in (0, 125, 126, 65535, 65536):
        f = reflector.ws_frame(b"x" * n)
        assert f[0] == 0x81 and f.endswith(b"x" * n) and len(f) - n in (2, 4, 10)


def test_krakenwire_against_the_reflector_public_api_only(run):
    async def main():
        refl = reflector.Reflector()
        server = await picows.ws_create_server(lambda _r: reflector.Conn(refl), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            refl.recording["T"] = []
            t0 = time.monotonic_ns()
            c = await krakenwire.connect(
                f"ws://127.0.0.1:{port}/v2", token="T", autoload_plugins=False
            )
            ids = [f"OBNCH0-{i:05d}-NOTOPN" for i in range(10)]
            r = await c.batch_cancel(ids)
            assert r.count == 10
            many = await c.cancel_orders([f"OBNCH1-{i:05d}-NOTOPN" for i in range(1000)])
            assert len(many.chunks) == 20 and all(ch.error is None for ch in many.chunks)
            await c.ping()
            await c.close()
            stamps = refl.recording.pop("T")
            assert len(stamps) == 21 and t0 < stamps[0] <= stamps[-1] <= time.monotonic_ns()
            assert refl.connections == 1
        finally:
            server.close()
            await asyncio.sleep(0)

    run(main)


def test_junk_gets_an_error_in_order(run):
    async def main():
        refl = reflector.Reflector()
        server = await picows.ws_create_server(lambda _r: reflector.Conn(refl), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        got: list[bytes] = []
        done = asyncio.get_running_loop().create_future()

        class L(picows.WSListener):
            def on_ws_frame(self, transport, frame):
                got.append(frame.get_payload_as_bytes())
                if len(got) == 4 and not done.done():
                    done.set_result(None)

        t, _ = await picows.ws_connect(L, f"ws://127.0.0.1:{port}/v2")
        try:
            for data in (b'{"method":"ping","req_id":1}', b"not json", b'{"method":"ping"}'):
                t.send(picows.WSMsgType.TEXT, data)
            await asyncio.wait_for(done, 5)
            msgs = [json.loads(g) for g in got]
            assert msgs[0]["channel"] == "status"
            assert msgs[1] == {**msgs[1], "method": "pong", "req_id": 1}
            assert msgs[2]["success"] is False and "req_id" not in msgs[2]
            assert msgs[3]["method"] == "pong" and "req_id" not in msgs[3]
        finally:
            t.disconnect()
            server.close()

    run(main)
