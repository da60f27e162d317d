"""Sans-IO tests of the protocol core: literal bytes in, events out, no event loop."""

import json

import pytest

from krakenwire import (
    BatchCancelResult,
    InvalidArguments,
    InvalidOrder,
    InvalidSession,
    KrakenAPIError,
    RemoteProtocolError,
    Session,
    ValidationError,
)
from krakenwire._protocol import ChannelMessage, Pending, Unmatched

SEED_TOKEN = "TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN"
SEED_REQUEST = b"""{
    "method": "batch_cancel",
    "params": {
        "orders": [
            "1",
            "2",
            "ORDERX-IDXXX-XXXXX3"
        ],
        "token": "TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN"
    },
    "req_id": 1234567890
}"""
SEED_RESPONSE = b"""{
    "method": "batch_cancel",
    "req_id": 1234567890,
    "result": {
        "count": 3
    },
    "success": true,
    "time_in": "2022-06-13T08:09:10.123456Z",
    "time_out": "2022-06-13T08:09:10.7890123"
}"""


def test_seed_request_is_byte_for_byte_the_documented_one():
    s = Session(SEED_TOKEN, first_req_id=1234567890)
    _, data = s.batch_cancel(["1", "2", "ORDERX-IDXXX-XXXXX3"])
    assert json.loads(data) == json.loads(SEED_REQUEST)
    assert data == (
        b'{"method":"batch_cancel","params":{"orders":["1","2","ORDERX-IDXXX-XXXXX3"],'
        b'"token":"TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN"},"req_id":1234567890}'
    )


def test_ints_become_decimal_strings_like_the_seed():
    s = Session(SEED_TOKEN, first_req_id=1234567890)
    _, data = s.batch_cancel([1, 2, "ORDERX-IDXXX-XXXXX3"])
    assert json.loads(data) == json.loads(SEED_REQUEST)


def test_seed_response_decodes_with_count_3_and_odd_time_out():
    s = Session(SEED_TOKEN, first_req_id=1234567890)
    p, _ = s.batch_cancel(["1", "2", "ORDERX-IDXXX-XXXXX3"])
    p.sent_ns = 1_000
    ev = s.receive(SEED_RESPONSE, now_ns=6_000)
    assert ev is p
    r = ev.outcome
    assert isinstance(r, BatchCancelResult)
    assert (r.count, r.req_id, r.warnings, r.latency_ns) == (3, 1234567890, [], 5_000)
    assert r.time_in.isoformat() == "2022-06-13T08:09:10.123456+00:00"
    # 7 digits and no "Z": truncated to microseconds, read as UTC.
    assert r.time_out.isoformat() == "2022-06-13T08:09:10.789012+00:00"
    assert s.pending == {}


def test_batch_cancel_error_reply_maps_to_exact_kraken_string():
    s = Session("t")
    p, _ = s.batch_cancel(["A", "B"])
    ev = s.receive(
        b'{"method":"batch_cancel","req_id":%d,"success":false,'
        b'"error":"EGeneral:Invalid arguments","time_in":"2024-01-01T00:00:00.000001Z",'
        b'"time_out":"2024-01-01T00:00:00.000002Z"}' % p.req_id
    )
    assert isinstance(ev.outcome, InvalidArguments)
    assert ev.outcome.error == "EGeneral:Invalid arguments"
    assert ev.outcome.req_id == p.req_id


def test_error_frame_with_extra_keys_like_recorded_invalid_session():
    s = Session("bad")
    p, _ = s.subscribe_executions()
    ev = s.receive(
        b'{"channel":"executions","error":"ESession:Invalid session","method":"subscribe",'
        b'"req_id":%d,"status":"error","success":false,'
        b'"time_in":"2026-09-25T17:58:09.493462Z","time_out":"2026-09-25T17:58:09.493897Z"}'
        % p.req_id
    )
    assert isinstance(ev.outcome, InvalidSession)
    assert isinstance(ev.outcome, KrakenAPIError)


def test_warnings_are_decoded():
    s = Session("t")
    p, _ = s.batch_cancel(["A", "B", "C"])
    ev = s.receive(
        b'{"method":"batch_cancel","req_id":%d,"result":{"count":2,"warnings":'
        b'["order C not open"]},"success":true,"time_in":"2024-01-01T00:00:00Z",'
        b'"time_out":"2024-01-01T00:00:00Z"}' % p.req_id
    )
    assert ev.outcome.count == 2
    assert ev.outcome.warnings == ["order C not open"]


def test_cancel_order_collects_all_n_replies_with_the_same_req_id():
    s = Session("t")
    p, data = s.cancel_order(["OA", "OB", "OC"])
    assert json.loads(data)["params"] == {"token": "t", "order_id": ["OA", "OB", "OC"]}
    frames = [
        b'{"method":"cancel_order","req_id":%d,"result":{"order_id":"OA"},"success":true}',
        b'{"method":"cancel_order","req_id":%d,"success":false,"error":"EOrder:Invalid order"}',
        b'{"method":"cancel_order","req_id":%d,"result":{"order_id":"OC","cl_ord_id":"x"},'
        b'"success":true}',
    ]
    assert s.receive(frames[0] % p.req_id) is None
    assert s.receive(frames[1] % p.req_id) is None
    ev = s.receive(frames[2] % p.req_id)
    assert ev is p
    r = ev.outcome
    assert r.cancelled == ["OA", "OC"]
    assert r.errors == ["EOrder:Invalid order"]
    assert not r.ok
    assert s.pending == {}


def test_cancel_order_request_level_error_ends_the_request():
    s = Session("t")
    p, _ = s.cancel_order(["OA", "OB"])
    ev = s.receive(
        b'{"method":"cancel_order","req_id":%d,"success":false,'
        b'"error":"ESession:Invalid session"}' % p.req_id
    )
    assert isinstance(ev.outcome, InvalidSession)
    assert s.pending == {}


def test_pong_without_success_key_is_a_pong():
    s = Session("t")
    p, data = s.ping()
    assert json.loads(data) == {"method": "ping", "req_id": p.req_id}
    ev = s.receive(
        b'{"method":"pong","req_id":%d,"time_in":"2024-09-10T20:24:26.280373Z",'
        b'"time_out":"2024-09-10T20:24:26.280397Z"}' % p.req_id
    )
    assert ev.outcome.time_out.microsecond == 280397


def test_cancel_all_and_cancel_after():
    s = Session("t")
    p, data = s.cancel_all()
    assert json.loads(data) == {
        "method": "cancel_all",
        "params": {"token": "t"},
        "req_id": p.req_id,
    }
    ev = s.receive(
        b'{"method":"cancel_all","req_id":%d,"result":{"count":1},"success":true,'
        b'"time_in":"2023-09-26T13:09:48.463201Z","time_out":"2023-09-26T13:09:48.471419Z"}'
        % p.req_id
    )
    assert ev.outcome.count == 1
    p, data = s.cancel_after(60)
    assert json.loads(data)["params"] == {"timeout": 60, "token": "t"}
    assert json.loads(data)["method"] == "cancel_all_orders_after"
    ev = s.receive(
        b'{"method":"cancel_all_orders_after","req_id":%d,"result":{"currentTime":'
        b'"2023-09-21T15:49:29Z","triggerTime":"2023-09-21T15:51:09Z"},"success":true}' % p.req_id
    )
    assert ev.outcome.trigger_time.isoformat() == "2023-09-21T15:51:09+00:00"
    p, _ = s.cancel_after(0)
    ev = s.receive(
        b'{"method":"cancel_all_orders_after","req_id":%d,"result":{"currentTime":'
        b'"2023-09-21T15:49:29Z","triggerTime":"0"},"success":true}' % p.req_id
    )
    assert ev.outcome.trigger_time is None


def test_status_heartbeat_executions_are_channel_messages():
    s = Session("t")
    status = s.receive(
        b'{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online",'
        b'"api_version":"v2","connection_id":18125794168470749634,'
        b'"upcoming_maintenance":[],"emergency":[]}]}'
    )
    assert isinstance(status, ChannelMessage)
    assert status.data[0]["connection_id"] == 18125794168470749634
    hb = s.receive(b'{"channel":"heartbeat"}')
    assert isinstance(hb, ChannelMessage) and hb.channel == "heartbeat"
    ex = s.receive(
        b'{"channel":"executions","type":"update","data":[{"timestamp":'
        b'"2024-05-18T12:58:40.165132Z","order_status":"canceled","exec_type":"canceled",'
        b'"cum_qty":0.00000000,"order_userref":0,"reason":"User requested",'
        b'"order_id":"KIUEL4-G3PWU-HOJTYU"}],"sequence":143}'
    )
    assert ex.sequence == 143
    assert str(ex.data[0]["cum_qty"]) == "0E-8"  # Decimal, not float


def test_unmatched_and_malformed_are_counted_never_fatal():
    s = Session("t")
    p, _ = s.batch_cancel(["A", "B"])
    ev = s.receive(b'{"method":"batch_cancel","req_id":999999,"success":true,"result":{"count":2}}')
    assert isinstance(ev, Unmatched) and s.unmatched == 1
    with pytest.raises(RemoteProtocolError):
        s.receive(b"not json")
    with pytest.raises(RemoteProtocolError):
        s.receive(b'{"method":"batch_cancel","req_id":"abc"}')
    assert s.malformed == 2
    # A reply to our req_id with an unreadable result still settles the request.
    ev = s.receive(
        b'{"method":"batch_cancel","req_id":%d,"success":true,'
        b'"result":{"count":"three"}}' % p.req_id
    )
    assert isinstance(ev, Pending) and isinstance(ev.outcome, RemoteProtocolError)
    assert s.pending == {}
    # v1-era flood error shape
    assert isinstance(s.receive(b'{"Error":"Exceeded msg rate"}'), ChannelMessage)


def test_reply_for_a_different_method_is_not_matched():
    s = Session("t")
    p, _ = s.batch_cancel(["A", "B"])
    ev = s.receive(
        b'{"method":"cancel_all","req_id":%d,"success":true,"result":{"count":2}}' % p.req_id
    )
    assert isinstance(ev, Unmatched)
    assert p.req_id in s.pending


@pytest.mark.parametrize(
    ("orders", "cl", "needle"),
    [
        ([], None, "got 0"),
        (["A"], None, "got 1"),
        ([f"O{i}" for i in range(51)], None, "got 51"),
        ([f"O{i}" for i in range(30)], [f"c{i}" for i in range(21)], "got 51"),
        (["A", "A"], None, "'A' more than once"),
        (["A", ""], None, "orders[1] is an empty id"),
        (["A", 1.5], None, "float 1.5"),
        (["A", None], None, "NoneType None"),
        ("AB", None, "not a single str"),
        (["A", "B"], ["x" * 19], "'xxxxxxxxxxxxxxxxxxx' is not a UUID"),
        (["A", "B"], ["ok", "ok"], "'ok' more than once"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(orders, cl, needle):
    s = Session("t")
    with pytest.raises(ValidationError, match=None) as ei:
        s.batch_cancel(orders, cl)
    assert needle in str(ei.value)
    assert s.pending == {}


def test_cl_ord_id_formats_accepted():
    s = Session("t")
    _, data = s.batch_cancel(
        ["A"], ["mm-1", "0123456789abcdef0123456789ABCDEF", "123e4567-e89b-12d3-a456-426614174000"]
    )
    assert json.loads(data)["params"]["cl_ord_id"][0] == "mm-1"


def test_token_never_in_repr():
    s = Session("SECRET-TOKEN-123")
    p, _ = s.batch_cancel(["A", "B"])
    for obj in (s, p, p.request, p.request.params):
        assert "SECRET-TOKEN-123" not in repr(obj)
        assert "SECRET-TOKEN-123" not in str(obj)


def test_cancel_order_one_kind_only():
    s = Session("t")
    with pytest.raises(ValidationError, match="exactly one of"):
        s.cancel_order(["A"], ["c"])
    with pytest.raises(ValidationError, match="exactly one of"):
        s.cancel_order()
    with pytest.raises(ValidationError):
        s.cancel_order([])
    with pytest.raises(ValidationError, match="order_userref"):
        s.cancel_order(order_userref=[-1])
    with pytest.raises(ValidationError, match="timeout"):
        s.cancel_after(86400)
    assert s.pending == {}


def test_unknown_error_code_falls_back_to_base_class_and_prefix_match():
    from krakenwire.errors import ServiceUnavailable, error_for_code

    e = error_for_code("EGeneral:Internal error:1234")
    assert type(e) is ServiceUnavailable and e.error == "EGeneral:Internal error:1234"
    assert type(error_for_code("EFoo:Bar")) is KrakenAPIError
    assert type(error_for_code("EOrder:Unknown order")) is InvalidOrder


def test_unified_variant_carries_asset_class():
    s = Session("t")
    _, data = s.batch_cancel(["A"], ["c-1"], unified=True)
    assert json.loads(data)["params"] == {
        "orders": ["A"],
        "token": "t",
        "cl_ord_id": ["c-1"],
        "asset_class": "spot",
    }


def test_success_without_result_is_unknown_never_a_rejection():
    """success:true means Kraken executed something; without a result we cannot say what."""
    s = Session("t")
    for method, (p, _) in [
        ("batch_cancel", s.batch_cancel(["A", "B"])),
        ("cancel_all", s.cancel_all()),
        ("add_order", s.add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=100)),
    ]:
        ev = s.receive(b'{"method":"%s","req_id":%d,"success":true}' % (method.encode(), p.req_id))
        assert isinstance(ev.outcome, RemoteProtocolError)
        assert not isinstance(ev.outcome, KrakenAPIError)
        assert ev.outcome.outcome == "unknown" and "unknown" in str(ev.outcome)
    assert s.pending == {}


def test_error_without_method_for_our_req_id_is_that_requests_rejection():
    s = Session("t")
    p, _ = s.batch_cancel(["A", "B"])
    ev = s.receive(b'{"error":"EGeneral:Invalid arguments","req_id":%d,"success":false}' % p.req_id)
    assert ev is p and isinstance(p.outcome, InvalidArguments)
    # Without success:false it is not an answer: a method-less success cannot be matched.
    q, _ = s.batch_cancel(["A", "B"])
    assert isinstance(s.receive(b'{"req_id":%d,"success":true}' % q.req_id), ChannelMessage)
    assert q.req_id in s.pending
