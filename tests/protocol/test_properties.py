"""Hypothesis properties of the codecs, timestamps, chunking and the pending table."""

import json
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenwire import Abandoned, ConnectionLost, RequestTimeout, ValidationError
from krakenwire import _messages as m
from krakenwire._cancels import plan
from krakenwire._timefmt import format_timestamp, parse_timestamp
from krakenwire._validate import MAX_BATCH, chunk_sizes
from krakenwire.protocol import (
    Completed,
    Failed,
    Malformed,
    Session,
    Unmatched,
    batch_cancel,
    cancel_order,
    ping,
)

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


# The userref 0 ("0", "00") is refused by default (it names every order placed without one).
ids = st.text(
    st.characters(codec="ascii", categories=["L", "N", "P"]), min_size=1, max_size=24
).filter(lambda v: not (v.isdigit() and not v.strip("0")))


@given(st.integers(2, 5000))
def test_chunking_is_fewest_balanced_and_never_single(n):
    sizes = chunk_sizes(n)
    assert sum(sizes) == n
    assert len(sizes) == -(-n // MAX_BATCH)
    assert all(2 <= s <= MAX_BATCH for s in sizes)
    assert max(sizes) - min(sizes) <= 1


cl_ids = st.from_regex(r"[a-z][a-z0-9-]{0,17}", fullmatch=True)


@given(
    st.lists(ids, max_size=300, unique=True),
    st.lists(cl_ids, max_size=120, unique=True),
)
def test_every_identifier_in_exactly_one_chunk(order_ids, cl_ord_ids):
    """cancel_orders' chunks, as written on the wire, hold every order id and cl_ord_id once,
    in order, in the fewest requests of 2..50 identifiers in all."""
    n = len(order_ids) + len(cl_ord_ids)
    if n == 0:
        with pytest.raises(ValidationError):
            plan(order_ids, cl_ord_ids)
        return
    parts, calls, _, _ = plan(order_ids, cl_ord_ids)
    s = Session("t")
    frames = [json.loads(s.send(c, 0, 10**9)[1]) for c in calls]
    if n == 1:
        assert [f["method"] for f in frames] == ["cancel_order"]
        return
    assert [f["method"] for f in frames] == ["batch_cancel"] * len(frames)
    sent_o = [f["params"]["orders"] for f in frames]
    sent_c = [f["params"].get("cl_ord_id") or [] for f in frames]
    assert [len(o) + len(c) for o, c in zip(sent_o, sent_c, strict=True)] == chunk_sizes(n)
    assert [i for p in sent_o for i in p] == order_ids
    assert [i for p in sent_c for i in p] == cl_ord_ids
    assert parts == [o + c for o, c in zip(sent_o, sent_c, strict=True)]


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
        st.sampled_from(["bc", "co", "ping", "reply", "junk", "abandon", "tick", "lost"]),
        st.integers(0, 10),
    ),
    max_size=60,
)


@settings(max_examples=150)
@given(actions)
def test_session_never_leaks_a_pending_id(script):
    """Every request registered ends exactly once: settled by its reply(ies), expired by
    tick, abandoned or lost with the connection; its handle then leaves the table."""
    s = Session("t")
    live: dict[int, tuple[str, list[str]]] = {}  # handle -> (method, ids still to answer)
    done: set[int] = set()
    now = 0

    def ended(events, cls=None):
        for ev in events:
            assert isinstance(ev, Completed | Failed)
            assert ev.handle in live and ev.handle not in done
            if cls is not None:
                assert isinstance(ev.error, cls)
            done.add(ev.handle)
            del live[ev.handle]

    for act, k in script:
        now += 1
        if act == "bc":
            try:
                call = batch_cancel([f"O{i}" for i in range(k)])
            except ValidationError:
                continue
            h, _ = s.send(call, now, 20)
            live[h] = ("batch_cancel", [])
        elif act == "co":
            order_ids = [f"O{i}" for i in range(max(k, 1))]
            h, _ = s.send(cancel_order(order_ids), now, 20)
            live[h] = ("cancel_order", order_ids)
        elif act == "ping":
            h, _ = s.send(ping(), now, 20)
            live[h] = ("ping", [])
        elif act == "reply" and live:
            h = sorted(live)[k % len(live)]
            method, todo = live[h]
            oid = todo[k % len(todo)] if todo else "O"
            frame = msgspec.json.encode(
                {
                    "method": "pong" if method == "ping" else method,
                    "req_id": h,
                    "success": True,
                    "result": {"count": 1, "order_id": oid},
                }
            )
            ev = s.receive(frame, now)
            if method == "cancel_order":
                todo.remove(oid)  # one reply per id; a repeat would be Unmatched
            if ev is None:
                assert method == "cancel_order" and todo
            else:
                assert not todo
                ended([ev])
        elif act == "junk":
            assert isinstance(s.receive(b"\xff" * k, now), Malformed)
            # A reply to a request already ended completes nothing.
            if done:
                gone = sorted(done)[k % len(done)]
                frame = b'{"method":"batch_cancel","req_id":%d,"success":true}' % gone
                assert isinstance(s.receive(frame, now), Unmatched)
        elif act == "abandon" and live:
            h = sorted(live)[k % len(live)]
            ended(s.abandon(h, now), Abandoned)
            assert s.abandon(h, now) == []  # only once
        elif act == "tick":
            now += k
            ended(s.tick(now), RequestTimeout)
        elif act == "lost":
            events = s.connection_lost(now)
            assert {ev.handle for ev in events} == set(live)
            ended(events, ConnectionLost)
        assert set(s.pending_handles()) == set(live)
        assert len(s) == len(live)
