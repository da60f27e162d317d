"""Hypothesis fuzzing of the decoder: arbitrary bytes and JSON never raise, every event is one
the session documents, a completed request leaves the table, and nothing breaks a live
connection."""

import asyncio
import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import krakenwire
from krakenwire import protocol as kp
from krakenwire.sim import Simulator

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
KEYS = [
    "method",
    "req_id",
    "success",
    "error",
    "result",
    "channel",
    "type",
    "data",
    "sequence",
    "time_in",
    "time_out",
    "count",
    "warnings",
    "order_id",
]
METHODS = [
    "batch_cancel",
    "cancel_order",
    "cancel_all",
    "cancel_all_orders_after",
    "pong",
    "subscribe",
    "",
    "unknown",
]
frames = st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=8),
    json_values | st.sampled_from(METHODS) | st.integers(0, 5),
    max_size=8,
)


def _session_with_pending():
    s = kp.Session("t", first_req_id=0)
    for call in (
        kp.batch_cancel(["A", "B"]),  # req_id 0
        kp.cancel_order(["A", "B"]),  # 1
        kp.cancel_all(),  # 2
        kp.cancel_after(5),  # 3
        kp.ping(),  # 4
        kp.subscribe_executions(),  # 5
    ):
        s.send(call, 0, 10**9)
    return s


def _check(s, data):
    before = set(s.pending_handles())
    ev = s.receive(data, 1)  # never raises, whatever the bytes
    assert ev is None or isinstance(ev, kp.Event)
    after = set(s.pending_handles())
    if isinstance(ev, kp.Completed | kp.Failed):
        assert ev.handle in before and ev.handle not in after
    else:
        assert after == before


@given(st.binary(max_size=200))
def test_arbitrary_bytes(data):
    _check(_session_with_pending(), data)


@given(json_values)
def test_arbitrary_json(value):
    _check(_session_with_pending(), msgspec.json.encode(value))


@settings(max_examples=300)
@given(frames)
def test_kraken_shaped_json(frame):
    s = _session_with_pending()
    _check(s, json.dumps(frame).encode())


@pytest.fixture(scope="module")
def live():
    loop = asyncio.new_event_loop()
    sim = Simulator()
    loop.run_until_complete(sim.start())
    client = loop.run_until_complete(krakenwire.connect(sim.url, token=sim.token))
    yield loop, sim, client
    loop.run_until_complete(client.close())
    loop.run_until_complete(sim.stop())
    loop.close()


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    st.lists(
        st.binary(max_size=60) | frames.map(lambda f: json.dumps(f).encode()),
        min_size=1,
        max_size=5,
    )
)
def test_fuzzed_frames_never_break_a_live_connection(live, payloads):
    loop, sim, client = live

    async def step():
        for data in payloads:
            sim.inject(data)
        pong = await client.ping(timeout=5)
        assert pong.latency_ns > 0

    loop.run_until_complete(step())
    assert client.state == "connected" and client.stats.reconnects == 0
