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
    ValidationError,
)
from krakenwire.protocol import (
    ChannelFrame,
    Completed,
    Failed,
    Malformed,
    Session,
    Unmatched,
    add_order,
    batch_cancel,
    cancel_after,
    cancel_all,
    cancel_order,
    ping,
    subscribe_executions,
)

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
SECOND = 10**9


def send(s, call, now_ns=0, timeout_ns=SECOND):
    return s.send(call, now_ns, timeout_ns)


def test_seed_request_is_byte_for_byte_the_documented_one():
    s = Session(SEED_TOKEN, first_req_id=1234567890)
    h, data = send(s, batch_cancel(["1", "2", "ORDERX-IDXXX-XXXXX3"]))
    assert h == 1234567890
    assert json.loads(data) == json.loads(SEED_REQUEST)
    assert data == (
        b'{"method":"batch_cancel","params":{"orders":["1","2","ORDERX-IDXXX-XXXXX3"],'
        b'"token":"TxxxxxxxxxOxxxxxxxxxxKxxxxxxxExxxxxxxxN"},"req_id":1234567890}'
    )


def test_ints_become_decimal_strings_like_the_seed():
    s = Session(SEED_TOKEN, first_req_id=1234567890)
    _, data = send(s, batch_cancel([1, 2, "ORDERX-IDXXX-XXXXX3"]))
    assert json.loads(data) == json.loads(SEED_REQUEST)


def test_seed_response_decodes_with_count_3_and_odd_time_out():
    s = Session(SEED_TOKEN, first_req_id=1234567890)
    h, _ = send(s, batch_cancel(["1", "2", "ORDERX-IDXXX-XXXXX3"]), now_ns=1_000)
    ev = s.receive(SEED_RESPONSE, now_ns=6_000)
    assert isinstance(ev, Completed) and ev.handle == h
    r = ev.result
    assert isinstance(r, BatchCancelResult)
    assert (r.count, r.req_id, r.warnings, r.latency_ns) == (3, 1234567890, [], 5_000)
    assert ev.elapsed_ns == 5_000
    assert r.orders == ["1", "2", "ORDERX-IDXXX-XXXXX3"]
    assert r.time_in.isoformat() == "2022-06-13T08:09:10.123456+00:00"
    # 7 digits and no "Z": truncated to microseconds, read as UTC.
    assert r.time_out.isoformat() == "2022-06-13T08:09:10.789012+00:00"
    assert len(s) == 0 and s.pending_handles() == []


def test_batch_cancel_error_reply_maps_to_exact_kraken_string():
    s = Session("t")
    h, _ = send(s, batch_cancel(["A", "B"]))
    ev = s.receive(
        b'{"method":"batch_cancel","req_id":%d,"success":false,'
        b'"error":"EGeneral:Invalid arguments","time_in":"2024-01-01T00:00:00.000001Z",'
        b'"time_out":"2024-01-01T00:00:00.000002Z"}' % h,
        1,
    )
    assert isinstance(ev, Failed) and ev.handle == h
    assert isinstance(ev.error, InvalidArguments)
    assert ev.error.error == "EGeneral:Invalid arguments"
    assert ev.error.req_id == h
    assert len(s) == 0


def test_error_frame_with_extra_keys_like_recorded_invalid_session():
    s = Session("bad")
    h, _ = send(s, subscribe_executions())
    ev = s.receive(
        b'{"channel":"executions","error":"ESession:Invalid session","method":"subscribe",'
        b'"req_id":%d,"status":"error","success":false,'
        b'"time_in":"2026-09-25T17:58:09.493462Z","time_out":"2026-09-25T17:58:09.493897Z"}' % h,
        1,
    )
    assert isinstance(ev, Failed) and ev.handle == h
    assert isinstance(ev.error, InvalidSession)
    assert isinstance(ev.error, KrakenAPIError)


def test_warnings_are_decoded():
    s = Session("t")
    h, _ = send(s, batch_cancel(["A", "B", "C"]))
    ev = s.receive(
        b'{"method":"batch_cancel","req_id":%d,"result":{"count":2,"warnings":'
        b'["order C not open"]},"success":true,"time_in":"2024-01-01T00:00:00Z",'
        b'"time_out":"2024-01-01T00:00:00Z"}' % h,
        1,
    )
    assert ev.result.count == 2
    assert ev.result.warnings == ["order C not open"]


def test_cancel_order_collects_all_n_replies_with_the_same_req_id():
    s = Session("t")
    h, data = send(s, cancel_order(["OA", "OB", "OC"]))
    assert json.loads(data)["params"] == {"token": "t", "order_id": ["OA", "OB", "OC"]}
    frames = [
        b'{"method":"cancel_order","req_id":%d,"result":{"order_id":"OA"},"success":true}',
        b'{"method":"cancel_order","req_id":%d,"success":false,"error":"EOrder:Invalid order"}',
        b'{"method":"cancel_order","req_id":%d,"result":{"order_id":"OC","cl_ord_id":"x"},'
        b'"success":true}',
    ]
    assert s.receive(frames[0] % h, 1) is None
    assert s.receive(frames[1] % h, 2) is None
    ev = s.receive(frames[2] % h, 3)
    assert isinstance(ev, Completed) and ev.handle == h
    r = ev.result
    assert r.cancelled_ids == ["OA", "OC"]
    assert r.errors == ["EOrder:Invalid order"]
    assert not r.ok
    assert len(s) == 0


def test_cancel_order_request_level_error_ends_the_request():
    s = Session("t")
    h, _ = send(s, cancel_order(["OA", "OB"]))
    ev = s.receive(
        b'{"method":"cancel_order","req_id":%d,"success":false,'
        b'"error":"ESession:Invalid session"}' % h,
        1,
    )
    assert isinstance(ev, Failed) and isinstance(ev.error, InvalidSession)
    assert len(s) == 0


def test_pong_without_success_key_is_a_pong():
    s = Session("t")
    h, data = send(s, ping())
    assert json.loads(data) == {"method": "ping", "req_id": h}
    ev = s.receive(
        b'{"method":"pong","req_id":%d,"time_in":"2024-09-10T20:24:26.280373Z",'
        b'"time_out":"2024-09-10T20:24:26.280397Z"}' % h,
        1,
    )
    assert isinstance(ev, Completed)
    assert ev.result.time_out.microsecond == 280397


def test_cancel_all_and_cancel_after():
    s = Session("t")
    h, data = send(s, cancel_all())
    assert json.loads(data) == {"method": "cancel_all", "params": {"token": "t"}, "req_id": h}
    ev = s.receive(
        b'{"method":"cancel_all","req_id":%d,"result":{"count":1},"success":true,'
        b'"time_in":"2023-09-26T13:09:48.463201Z","time_out":"2023-09-26T13:09:48.471419Z"}' % h,
        1,
    )
    assert ev.result.count == 1
    h, data = send(s, cancel_after(60))
    assert json.loads(data)["params"] == {"timeout": 60, "token": "t"}
    assert json.loads(data)["method"] == "cancel_all_orders_after"
    ev = s.receive(
        b'{"method":"cancel_all_orders_after","req_id":%d,"result":{"currentTime":'
        b'"2023-09-21T15:49:29Z","triggerTime":"2023-09-21T15:51:09Z"},"success":true}' % h,
        1,
    )
    assert ev.result.trigger_time.isoformat() == "2023-09-21T15:51:09+00:00"
    h, _ = send(s, cancel_after(0))
    ev = s.receive(
        b'{"method":"cancel_all_orders_after","req_id":%d,"result":{"currentTime":'
        b'"2023-09-21T15:49:29Z","triggerTime":"0"},"success":true}' % h,
        1,
    )
    assert ev.result.trigger_time is None
    assert len(s) == 0


def test_status_heartbeat_executions_are_channel_frames():
    s = Session("t")
    status = s.receive(
        b'{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online",'
        b'"api_version":"v2","connection_id":18125794168470749634,'
        b'"upcoming_maintenance":[],"emergency":[]}]}',
        1,
    )
    assert isinstance(status, ChannelFrame)
    assert (status.channel, status.type) == ("status", "update")
    assert status.data[0]["connection_id"] == 18125794168470749634
    hb = s.receive(b'{"channel":"heartbeat"}', 2)
    assert isinstance(hb, ChannelFrame) and hb.channel == "heartbeat"
    ex = s.receive(
        b'{"channel":"executions","type":"update","data":[{"timestamp":'
        b'"2024-05-18T12:58:40.165132Z","order_status":"canceled","exec_type":"canceled",'
        b'"cum_qty":0.00000000,"order_userref":0,"reason":"User requested",'
        b'"order_id":"KIUEL4-G3PWU-HOJTYU"}],"sequence":143}',
        3,
    )
    assert isinstance(ex, ChannelFrame) and ex.sequence == 143
    assert str(ex.data[0]["cum_qty"]) == "0E-8"  # Decimal, not float


def test_unmatched_and_malformed_are_counted_never_fatal():
    s = Session("t")
    h, _ = send(s, batch_cancel(["A", "B"]))
    ev = s.receive(
        b'{"method":"batch_cancel","req_id":999999,"success":true,"result":{"count":2}}', 1
    )
    assert isinstance(ev, Unmatched) and s.unmatched == 1
    assert (ev.method, ev.req_id) == ("batch_cancel", 999999)
    # Changed: an undecodable frame is an event (Malformed), no longer a raised
    # RemoteProtocolError; it is still counted and the session stays usable.
    assert isinstance(s.receive(b"not json", 2), Malformed)
    assert isinstance(s.receive(b'{"method":"batch_cancel","req_id":"abc"}', 3), Malformed)
    assert s.malformed == 2
    assert s.pending_handles() == [h]
    # A success reply to our req_id with an unreadable count settles the request as executed
    # (issue 18: success:true is never an unknown outcome): count None, a shape warning.
    ev = s.receive(
        b'{"method":"batch_cancel","req_id":%d,"success":true,"result":{"count":"three"}}' % h,
        4,
    )
    assert isinstance(ev, Completed) and ev.handle == h
    assert ev.result.count is None
    assert ev.result.shape_warnings == ("unreadable count: 'three'",)
    assert s.malformed == 2
    assert len(s) == 0
    # v1-era flood error shape: a connection-level notice, counted by the client
    notice = s.receive(b'{"Error":"Exceeded msg rate"}', 5)
    assert notice.kind == "rate_limited" and notice.text == "Exceeded msg rate"


def test_reply_for_a_different_method_is_not_matched():
    s = Session("t")
    h, _ = send(s, batch_cancel(["A", "B"]))
    ev = s.receive(
        b'{"method":"cancel_all","req_id":%d,"success":true,"result":{"count":2}}' % h, 1
    )
    assert isinstance(ev, Unmatched) and s.unmatched == 1
    assert h in s.pending_handles()


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
    s = Session("t", first_req_id=7)
    with pytest.raises(ValidationError) as ei:
        send(s, batch_cancel(orders, cl))
    assert needle in str(ei.value)
    # Refused by the builder, before any req_id: nothing registered, no id used up.
    assert len(s) == 0
    assert send(s, ping())[0] == 7


def test_cl_ord_id_formats_accepted():
    s = Session("t")
    _, data = send(
        s,
        batch_cancel(
            ["A"],
            ["mm-1", "0123456789abcdef0123456789ABCDEF", "123e4567-e89b-12d3-a456-426614174000"],
        ),
    )
    assert json.loads(data)["params"]["cl_ord_id"][0] == "mm-1"


def test_token_never_in_repr():
    s = Session("SECRET-TOKEN-123")
    s.views = True
    call = batch_cancel(["A", "B"])
    h, data = send(s, call)
    assert b"SECRET-TOKEN-123" in data  # on the wire, and only there
    ev = s.receive(b'{"method":"batch_cancel","req_id":%d,"success":false,"error":"E"}' % h, 1)
    h2, _ = send(s, batch_cancel(["C", "D"]))
    (lost,) = s.connection_lost(2)
    for obj in (s, call, call.req, call.params, ev, ev.request, ev.error, lost, lost.error):
        assert "SECRET-TOKEN-123" not in repr(obj)
        assert "SECRET-TOKEN-123" not in str(obj)
    assert "token" not in ev.request.__struct_fields__  # a view never carries it


def test_cancel_order_one_kind_only():
    s = Session("t", first_req_id=3)
    with pytest.raises(ValidationError, match="exactly one of"):
        cancel_order(["A"], ["c"])
    with pytest.raises(ValidationError, match="exactly one of"):
        cancel_order()
    with pytest.raises(ValidationError):
        cancel_order([])
    with pytest.raises(ValidationError, match="order_userref"):
        cancel_order(order_userref=[-1])
    with pytest.raises(ValidationError, match="timeout"):
        cancel_after(86400)
    assert len(s) == 0 and send(s, ping())[0] == 3


def test_unknown_error_code_falls_back_to_base_class_and_prefix_match():
    from krakenwire.errors import ServiceUnavailable, error_for_code

    e = error_for_code("EGeneral:Internal error:1234")
    assert type(e) is ServiceUnavailable and e.error == "EGeneral:Internal error:1234"
    assert type(error_for_code("EFoo:Bar")) is KrakenAPIError
    assert type(error_for_code("EOrder:Unknown order")) is InvalidOrder


def test_unified_variant_carries_asset_class():
    s = Session("t")
    _, data = send(s, batch_cancel(["A"], ["c-1"], unified=True))
    assert json.loads(data)["params"] == {
        "orders": ["A"],
        "token": "t",
        "cl_ord_id": ["c-1"],
        "asset_class": "spot",
    }


def test_success_without_result_is_executed_with_a_shape_warning():
    """success:true means Kraken executed the request: without a result it is still a
    success, its unreadable fields None and a shape warning (issue 18, Deliver 1)."""
    s = Session("t")
    for method, call, field in [
        ("batch_cancel", batch_cancel(["A", "B"]), "count"),
        ("cancel_all", cancel_all(), "count"),
        (
            "add_order",
            add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=100),
            "order_id",
        ),
    ]:
        h, _ = send(s, call)
        ev = s.receive(b'{"method":"%s","req_id":%d,"success":true}' % (method.encode(), h), 1)
        assert isinstance(ev, Completed) and ev.handle == h
        assert getattr(ev.result, field) is None
        assert "no result" in ev.result.shape_warnings
    assert len(s) == 0


def test_reply_with_neither_success_nor_error_is_unknown_never_a_rejection():
    s = Session("t")
    h, _ = send(s, batch_cancel(["A", "B"]))
    ev = s.receive(b'{"method":"batch_cancel","req_id":%d}' % h, 1)
    assert isinstance(ev, Failed) and isinstance(ev.error, RemoteProtocolError)
    assert not isinstance(ev.error, KrakenAPIError)
    assert ev.error.outcome == "unknown"


def test_error_without_method_for_our_req_id_is_that_requests_rejection():
    s = Session("t")
    h, _ = send(s, batch_cancel(["A", "B"]))
    ev = s.receive(b'{"error":"EGeneral:Invalid arguments","req_id":%d,"success":false}' % h, 1)
    assert isinstance(ev, Failed) and ev.handle == h
    assert isinstance(ev.error, InvalidArguments)
    # Without success:false it is not an answer: a method-less success cannot be matched.
    q, _ = send(s, batch_cancel(["A", "B"]))
    assert isinstance(s.receive(b'{"req_id":%d,"success":true}' % q, 2), ChannelFrame)
    assert q in s.pending_handles()
