"""Hypothesis properties of the codecs, timestamps, chunking and the pending table."""

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenwire import RemoteProtocolError, Session, ValidationError
from krakenwire import _messages as m
from krakenwire._protocol import Pending, chunk
from krakenwire._timefmt import format_timestamp, parse_timestamp
from krakenwire._validate import MAX_BATCH, chunk_sizes

aware = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
)


@given(aware, st.integers(0, 9), st.booleans())
def test_every_kraken_timestamp_variant_parses_to_aware_utc(dt, digits, zulu):
    text = format_timestamp(dt, digits=digits, zulu=zulu)
    got = parse_timestamp(text)
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    keep = min(digits, 6)
    want = dt.replace(microsecond=dt.microsecond // 10 ** (6 - keep) * 10 ** (6 - keep))
    assert got == want


@given(aware, st.integers(-14 * 60, 14 * 60))
def test_explicit_offsets_are_converted_to_utc(dt, minutes):
    tz = timezone(timedelta(minutes=minutes))
    local = dt.astimezone(tz)
    sign = "-" if minutes < 0 else "+"
    h, mi = divmod(abs(minutes), 60)
    text = local.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{sign}{h:02d}:{mi:02d}"
    assert parse_timestamp(text) == dt


def test_documented_examples():
    for text, iso in [
        ("2022-06-13T08:09:10.7890123", "2022-06-13T08:09:10.789012+00:00"),
        ("2022-06-13T08:09:10.7890123Z", "2022-06-13T08:09:10.789012+00:00"),
        ("2023-09-21T15:49:29Z", "2023-09-21T15:49:29+00:00"),
        ("2026-09-25T17:48:26.844359566Z", "2026-09-25T17:48:26.844359+00:00"),
        ("2022-12-25T09:30:59.123Z", "2022-12-25T09:30:59.123000+00:00"),
    ]:
        assert parse_timestamp(text).isoformat() == iso


@given(st.text(max_size=40))
def test_garbage_timestamps_raise_value_error_only(text):
    try:
        parse_timestamp(text)
    except ValueError as exc:
        assert repr(text) in str(exc)


ids = st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), min_size=1, max_size=24)


@given(st.integers(2, 5000))
def test_chunking_is_fewest_balanced_and_never_single(n):
    sizes = chunk_sizes(n)
    assert sum(sizes) == n
    assert len(sizes) == -(-n // MAX_BATCH)
    assert all(2 <= s <= MAX_BATCH for s in sizes)
    assert max(sizes) - min(sizes) <= 1


@given(st.lists(ids, min_size=2, max_size=400, unique=True))
def test_every_id_in_exactly_one_chunk(order_ids):
    parts = chunk(order_ids, chunk_sizes(len(order_ids)))
    flat = [i for p in parts for i in p]
    assert flat == order_ids


@given(
    st.lists(ids, min_size=2, max_size=50, unique=True), st.integers(1, 2**31 - 1), st.booleans()
)
def test_batch_cancel_struct_round_trips(order_ids, rid, with_cl):
    cl = ["c1", "c2"] if with_cl and len(order_ids) <= 48 else None
    req = m.BatchCancel(m.BatchCancelParams(order_ids, "tok", cl), rid)
    data = m.ENCODER.encode(req)
    back = msgspec.json.decode(data, type=m.BatchCancel)
    assert back == req


@given(
    st.builds(m.CancelOrderParams, st.text(min_size=1), st.none() | st.lists(ids, max_size=5)),
    st.integers(0, 2**31),
)
def test_cancel_order_struct_round_trips(params, rid):
    req = m.CancelOrder(params, rid)
    assert msgspec.json.decode(m.ENCODER.encode(req), type=m.CancelOrder) == req


@given(
    st.builds(
        m.Reply,
        method=st.sampled_from(["", "batch_cancel", "pong"]),
        req_id=st.none() | st.integers(0, 2**40),
        success=st.none() | st.booleans(),
        error=st.none() | st.text(max_size=30),
    )
)
def test_reply_struct_round_trips(reply):
    fields = {f: getattr(reply, f) for f in ("method", "req_id", "success", "error")}
    frame = msgspec.json.encode({k: v for k, v in fields.items() if v is not None})
    assert m.REPLY_DECODER.decode(frame) == reply


actions = st.lists(
    st.tuples(
        st.sampled_from(["bc", "co", "ping", "reply", "junk", "forget", "fail"]), st.integers(0, 10)
    ),
    max_size=60,
)


@settings(max_examples=150)
@given(actions)
def test_session_never_leaks_a_pending_id(script):
    """Every request registered is settled, forgotten or failed exactly once."""
    s = Session("t")
    live: dict[int, Pending] = {}
    done: set[int] = set()
    for act, k in script:
        if act == "bc":
            try:
                p, _ = s.batch_cancel([f"O{i}" for i in range(k)])
            except ValidationError:
                continue
            live[p.req_id] = p
        elif act == "co":
            p, _ = s.cancel_order([f"O{i}" for i in range(max(k, 1))])
            live[p.req_id] = p
        elif act == "ping":
            p, _ = s.ping()
            live[p.req_id] = p
        elif act == "reply" and live:
            rid = sorted(live)[k % len(live)]
            method = live[rid].method
            method = "pong" if method == "ping" else method
            frame = msgspec.json.encode(
                {
                    "method": method,
                    "req_id": rid,
                    "success": True,
                    "result": {"count": 1, "order_id": "O"},
                }
            )
            ev = s.receive(frame)
            if isinstance(ev, Pending):
                assert ev.req_id not in done
                done.add(ev.req_id)
                del live[ev.req_id]
        elif act == "junk":
            with pytest.raises(RemoteProtocolError):
                s.receive(b"\xff" * k)
        elif act == "forget" and live:
            rid = sorted(live)[k % len(live)]
            assert s.forget(rid) is live.pop(rid)
        elif act == "fail":
            failed = {p.req_id for p in s.fail_all()}
            assert failed == set(live)
            live.clear()
        assert set(s.pending) == set(live)
