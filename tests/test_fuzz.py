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
from krakenwire.methods import METHODS as TABLE
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
METHODS = [*sorted(TABLE), "pong", "", "unknown"]  # the method table, and what it lacks
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


# ---- the executions channel and deep nesting, against a live client --------------------------

STATUSES = ["new", "pending_new", "partially_filled", "filled", "canceled", "expired", "amended"]
order_rows = st.fixed_dictionaries(
    {},
    optional={
        "order_id": st.text(max_size=12) | json_values,
        "order_status": st.sampled_from(STATUSES) | json_values,
        "exec_type": st.sampled_from(STATUSES) | json_values,
        "order_userref": st.integers(-(2**40), 2**40) | json_values,
        "cl_ord_id": st.text(max_size=12) | json_values,
        "limit_price": st.floats(allow_nan=False) | json_values,
        "order_qty": st.floats(allow_nan=False) | json_values,
        "symbol": st.sampled_from(["BTC/USD", ""]) | json_values,
    },
)
# A well-formed envelope (so the frame reaches the executions handler, not the envelope check)
# around fuzzed data: rows with fuzzed fields, or any JSON value where the rows belong.
executions_frames = st.fixed_dictionaries(
    {
        "channel": st.just("executions"),
        "type": st.sampled_from(["snapshot", "update"]),
    },
    optional={
        "data": st.lists(order_rows | json_values, max_size=4) | json_values,
        "sequence": st.integers(0, 2**40),
    },
)


@st.composite
def deep_frames(draw):
    """A frame with a value nested 500..5,000 deep somewhere a decoder has to walk through."""
    depth = draw(st.integers(500, 5000))
    opener = draw(st.sampled_from(["[", '{"k":']))
    closer = "]" if opener == "[" else "}"
    value = opener * depth + "0" + closer * depth
    where = draw(st.sampled_from(["data", "result", "unknown_key", "warnings"]))
    if where == "data":
        return '{"channel":"executions","type":"update","data":' + value + "}"
    if where == "result":
        return '{"method":"batch_cancel","req_id":777777,"success":true,"result":' + value + "}"
    if where == "warnings":
        return (
            '{"method":"batch_cancel","req_id":777777,"success":true,'
            '"result":{"count":1,"warnings":' + value + "}}"
        )
    return '{"channel":"heartbeat","zz":' + value + "}"


@pytest.fixture
def hostile_live():
    """One hostile server and client per test (shared by its examples), so one test's fatal
    frame does not fail the next test."""
    from tests._hostile import HostileServer

    loop = asyncio.new_event_loop()
    srv = HostileServer()
    srv.record = False
    loop.run_until_complete(srv.start())
    client = loop.run_until_complete(
        krakenwire.connect(srv.url, token="t", backoff_base=0.01, backoff_cap=0.05)
    )
    yield loop, srv, client
    loop.run_until_complete(client.close())
    loop.run_until_complete(srv.stop())
    loop.close()


def _survives(hostile_live, frames):
    """Inject ``frames`` while a batch_cancel is held at the server: the request gets its own
    answer afterwards, a ping works, and the client never reconnected."""
    from tests._hostile import HostileServer, until

    loop, srv, client = hostile_live

    async def step():
        assert client.state == "connected" and srv.connections == 1, "an earlier frame killed it"
        held = []
        srv.on("batch_cancel", lambda conn, msg: held.append((conn, msg)))
        call = asyncio.ensure_future(client.batch_cancel(["F1", "F2", "F3"], timeout=5))
        await until(lambda: len(held) == 1, what="request at the server")
        for f in frames:
            srv.broadcast(f)
        assert (await client.ping(timeout=5)).latency_ns > 0
        conn, msg = held[0]
        conn.reply(msg, {"count": 3})
        srv.on("batch_cancel", HostileServer.default("batch_cancel"))
        assert (await call).count == 3
        assert srv.connections == 1 and client.state == "connected"

    loop.run_until_complete(step())


@settings(
    max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(st.lists(executions_frames, min_size=1, max_size=4))
def test_fuzzed_executions_frames_never_break_a_live_connection(hostile_live, frames):
    _survives(hostile_live, frames)


@settings(
    max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(st.lists(deep_frames(), min_size=1, max_size=2))
def test_deeply_nested_frames_never_break_a_live_connection(hostile_live, frames):
    _survives(hostile_live, frames)


@given(deep_frames())
def test_deep_nesting_is_a_protocol_error_not_a_crash(text):
    # The decoder's contract (sans-IO): the library's protocol error or an event, nothing else.
    _check(_session_with_pending(), text.encode())
