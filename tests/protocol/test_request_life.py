"""Sans-IO tests of a request's whole life in the Session: literal bytes, explicit ``now``.

Each test reproduces one way a request's fate used to get lost between the protocol and the
connection (the "Why" of Core v2): it fails on the old split and passes on the session that
owns the request from send to its one outcome.
"""

import json
import math

import pytest

from krakenwire import (
    Abandoned,
    ConnectionLost,
    InvalidSession,
    NotExecuted,
    OutcomeUnknown,
    RateLimitExceeded,
    RequestTimeout,
    ValidationError,
)
from krakenwire import protocol as kp
from krakenwire._validate import MAX_ID_LEN, check_timeout

S = 1_000_000_000  # ns per second


def reply(rid, method="cancel_order", **fields):
    return json.dumps({"method": method, "req_id": rid, **fields}).encode()


def ok_cancel(rid, order_id, **extra):
    return reply(rid, result={"order_id": order_id, **extra}, success=True)


def err(rid, error, method="cancel_order"):
    return reply(rid, method=method, success=False, error=error)


# ---- completion ----------------------------------------------------------------------------


def _view(orders):
    """A userref lookup over ``{order_id: userref}`` (what the executions view answers)."""
    return lambda ref: [o for o, r in orders.items() if r == ref]


def test_userref_cancel_completes_when_the_stream_catches_up_not_on_a_guessed_count():
    s = kp.Session("t")
    s.userrefs = _view({"O1": 7, "O2": 7})  # O3 (also userref 7) is not in the view yet
    h, data = s.send(kp.cancel_order(order_userref=[7]), 0, 10 * S)
    assert json.loads(data)["params"]["order_userref"] == [7]
    assert s.receive(ok_cancel(h, "O1"), 1) is None
    # Two replies for the two orders the view knows: v2 completed here and left O3 out.
    assert s.receive(ok_cancel(h, "O2"), 2) is None
    assert s.order_seen("O3", 7, None, 3) == []  # the stream shows O3 (placed late)
    assert s.receive(ok_cancel(h, "O3"), 4) is None
    (ev,) = s.order_seen("O1", 7, "canceled", 5)  # the engine's cancels reach the stream
    assert isinstance(ev, kp.Completed)
    assert sorted(ev.result.cancelled) == ["O1", "O2", "O3"] and ev.result.exact
    assert len(s) == 0


def test_userref_cancel_reports_an_order_the_stream_shows_cancelled_before_its_reply():
    s = kp.Session("t")
    s.userrefs = _view({"O1": 7})
    h, _ = s.send(kp.cancel_order(order_userref=[7]), 0, 10 * S)
    assert s.receive(ok_cancel(h, "O1"), 1) is None
    assert s.order_seen("O9", 7, None, 2) == []  # unknown to the view at send time
    # The engine's cancel of O9 reaches the stream before its reply: O1 is answered, O9 is
    # cancelled per the stream, nothing the view knows is open: complete, with both.
    (ev,) = s.order_seen("O9", 7, "canceled", 3)
    assert sorted(ev.result.cancelled) == ["O1", "O9"]  # never under-reported
    assert s.receive(ok_cancel(h, "O9"), 4).reason == "no pending request"  # late: counted


def test_userref_cancel_racing_a_fill_completes_without_a_timeout():
    s = kp.Session("t")
    s.userrefs = _view({"O1": 7, "O2": 7})
    h, _ = s.send(kp.cancel_order(order_userref=[7]), 0, 10 * S)
    assert s.order_seen("O2", 7, "filled", 1) == []  # filled before the cancel reached it
    assert s.receive(ok_cancel(h, "O1"), 2) is None
    (ev,) = s.order_seen("O1", 7, "canceled", 3)
    assert isinstance(ev, kp.Completed) and ev.result.cancelled == ["O1"]


def test_unknown_userref_then_one_naming_two_reports_both_cancelled():
    s = kp.Session("t")
    s.userrefs = _view({"O8a": 8, "O8b": 8})
    h, _ = s.send(kp.cancel_order(order_userref=[99, 8]), 0, 10 * S)
    assert s.receive(err(h, "EOrder:Invalid order"), 1) is None  # 99: answers one slot
    assert s.receive(ok_cancel(h, "O8a"), 2) is None
    assert s.receive(ok_cancel(h, "O8b"), 3) is None
    (ev,) = s.order_seen("O8a", 8, "canceled", 4)
    assert isinstance(ev, kp.Completed)
    assert ev.result.ok is False and ev.result.cancelled_ids == ["O8a", "O8b"]
    assert ev.result.errors == ["EOrder:Invalid order"]


def test_userref_cancel_without_a_view_ends_quietly_and_says_it_is_not_exact():
    s = kp.Session("t")  # subscribe=False: no executions view
    h, _ = s.send(kp.cancel_order(order_userref=[7]), 0, 10 * S)
    for i, o in enumerate(("O1", "O2", "O3")):
        assert s.receive(ok_cancel(h, o), 1 + i) is None
    assert s.tick(3 + kp.QUIET_NS - 1) == []
    (ev,) = s.tick(3 + kp.QUIET_NS)
    assert ev.result.cancelled == ["O1", "O2", "O3"] and ev.result.exact is False


def test_a_duplicate_reply_never_counts_twice():
    s = kp.Session("t")
    h, _ = s.send(kp.cancel_order(["A", "B"]), 0, 1 * S)
    assert s.receive(ok_cancel(h, "A"), 1) is None
    dup = s.receive(ok_cancel(h, "A"), 2)
    assert isinstance(dup, kp.Unmatched) and "duplicate" in dup.reason
    assert s.duplicates == 1 and len(s) == 1
    # B never answers: its fate is unknown, and the reply that came is kept.
    (ev,) = s.tick(1 * S)
    assert isinstance(ev, kp.Failed) and isinstance(ev.error, RequestTimeout)
    assert isinstance(ev.error, OutcomeUnknown)
    assert [r.order_id for r in ev.error.replies] == ["A"]
    assert ev.error.ids == ("A", "B")


def test_a_reply_for_an_order_not_in_the_request_is_not_counted():
    s = kp.Session("t")
    h, _ = s.send(kp.cancel_order(["A", "B"]), 0, S)
    ev = s.receive(ok_cancel(h, "Z"), 1)
    assert isinstance(ev, kp.Unmatched) and len(s) == 1


def test_per_order_results_survive_a_later_request_level_error():
    s = kp.Session("t")
    h, _ = s.send(kp.cancel_order(["A", "B"]), 0, S)
    assert s.receive(ok_cancel(h, "A"), 1) is None
    ev = s.receive(err(h, "EOrder:Rate limit exceeded"), 2)
    assert isinstance(ev, kp.Completed)  # not RateLimitExceeded: A's success is kept
    assert ev.result.cancelled_ids == ["A"]
    assert ev.result.errors == ["EOrder:Rate limit exceeded"]


def test_a_request_level_error_as_first_reply_rejects_the_request():
    s = kp.Session("t")
    h, _ = s.send(kp.cancel_order(["A", "B"]), 0, S)
    ev = s.receive(err(h, "EOrder:Rate limit exceeded"), 1)
    assert isinstance(ev, kp.Failed) and isinstance(ev.error, RateLimitExceeded)
    assert isinstance(ev.error, NotExecuted)
    late = s.receive(ok_cancel(h, "A"), 2)
    assert isinstance(late, kp.Unmatched) and len(s) == 0


def test_cl_ord_id_replies_are_matched_by_cl_ord_id():
    s = kp.Session("t")
    h, _ = s.send(kp.cancel_order(cl_ord_id=["mm-1", "mm-2"]), 0, S)
    assert s.receive(ok_cancel(h, "O1", cl_ord_id="mm-2"), 1) is None
    assert isinstance(s.receive(ok_cancel(h, "O9", cl_ord_id="mm-2"), 2), kp.Unmatched)
    ev = s.receive(ok_cancel(h, "O2", cl_ord_id="mm-1"), 3)
    assert isinstance(ev, kp.Completed) and ev.result.cancelled_ids == ["O1", "O2"]


# ---- deadlines and token re-sends ------------------------------------------------------------


def test_a_re_sent_request_keeps_its_deadline():
    s = kp.Session("old")
    s.hold_stale = True
    h, _ = s.send(kp.batch_cancel(["A", "B"]), 0, 2 * S)
    ev = s.receive(err(h, "ESession:Invalid session", "batch_cancel"), 1)
    assert ev == kp.Stale(h, False)
    assert s.tick(S) == []  # held, not yet due
    s.set_token("new")
    ((handle, data),) = s.resend_held(S)
    sent = json.loads(data)
    assert handle == h and sent["req_id"] != h and sent["params"]["token"] == "new"
    # The reply to the re-send is lost: the deadline still applies. (Absorbed: each copy's
    # own audit event; the caller's event comes first.)
    ev, *copies = s.tick(2 * S)
    assert all(isinstance(c, kp.Absorbed) for c in copies)
    assert isinstance(ev, kp.Failed) and isinstance(ev.error, RequestTimeout)
    assert ev.handle == h and len(s) == 0


def test_a_held_request_that_expires_before_its_re_send_did_not_execute():
    s = kp.Session("old")
    s.hold_stale = True
    h, _ = s.send(kp.batch_cancel(["A", "B"]), 0, S)
    s.receive(err(h, "ESession:Invalid session", "batch_cancel"), 1)
    (ev,) = s.tick(S)
    assert isinstance(ev.error, InvalidSession) and isinstance(ev.error, NotExecuted)


def test_a_second_stale_rejection_is_the_outcome():
    s = kp.Session("old")
    s.hold_stale = True
    h, _ = s.send(kp.batch_cancel(["A", "B"]), 0, S)
    s.receive(err(h, "ESession:Invalid session", "batch_cancel"), 1)
    s.set_token("new")
    ((_, data),) = s.resend_held(2)
    rid = json.loads(data)["req_id"]
    ev = s.receive(err(rid, "ESession:Invalid session", "batch_cancel"), 3)
    assert isinstance(ev, kp.Failed) and isinstance(ev.error, InvalidSession)


def test_a_stale_rejection_of_an_old_token_is_re_sent_without_a_new_fetch():
    s = kp.Session("old")
    s.hold_stale = True
    h, _ = s.send(kp.batch_cancel(["A", "B"]), 0, S)
    s.set_token("new")  # a refresh happened while the request was in flight
    ev = s.receive(err(h, "ESession:Invalid session", "batch_cancel"), 1)
    assert ev == kp.Stale(h, True)


def test_one_refresh_serves_every_request_rejected_for_the_same_token():
    s = kp.Session("old")
    s.hold_stale = True
    handles = [s.send(kp.batch_cancel([f"A{i}", f"B{i}"]), 0, S)[0] for i in range(64)]
    events = [s.receive(err(h, "ESession:Invalid session", "batch_cancel"), 1) for h in handles]
    assert all(isinstance(e, kp.Stale) and not e.fresh for e in events)
    s.set_token("new")
    frames = s.resend_held(2)
    assert sorted(h for h, _ in frames) == handles
    assert all(json.loads(d)["params"]["token"] == "new" for _, d in frames)


# ---- loss and abandonment --------------------------------------------------------------------


def test_connection_lost_makes_every_pending_request_unknown():
    s = kp.Session("t")
    h1, _ = s.send(kp.batch_cancel(["A", "B"]), 0, S)
    h2, _ = s.send(kp.cancel_order(["C", "D"]), 0, S)
    s.receive(ok_cancel(h2, "C"), 1)
    events = s.connection_lost(2)
    assert {e.handle for e in events} == {h1, h2}
    assert all(isinstance(e.error, ConnectionLost) for e in events)
    partial = next(e for e in events if e.handle == h2)
    assert [r.order_id for r in partial.error.replies] == ["C"]
    assert len(s) == 0 and s.connection_lost() == []


def test_abandon_frees_the_entry_at_once_and_still_yields_an_outcome():
    s = kp.Session("t")
    s.views = True  # so the event carries the view an auditor records
    h, _ = s.send(kp.batch_cancel(["A", "B"]), 0, S)
    (ev,) = s.abandon(h, 5)
    assert isinstance(ev.error, Abandoned) and isinstance(ev.error, OutcomeUnknown)
    assert ev.request.method == "batch_cancel" and ev.request.req_id == h
    assert len(s) == 0 and s.abandon(h) == [] and s.tick(10 * S) == []
    assert isinstance(s.receive(reply(h, "batch_cancel", success=True), 6), kp.Unmatched)


def test_abandoning_a_re_sent_request_finds_it_by_its_handle():
    s = kp.Session("old")
    s.hold_stale = True
    h, _ = s.send(kp.batch_cancel(["A", "B"]), 0, S)
    s.receive(err(h, "ESession:Invalid session", "batch_cancel"), 1)
    s.set_token("new")
    s.resend_held(2)
    ev, absorbed = s.abandon(h)
    assert ev.handle == h and isinstance(ev.error, Abandoned) and len(s) == 0
    assert isinstance(absorbed, kp.Absorbed) and absorbed.req_id != h


# ---- input checked before anything is registered ------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -5, 0, "1", True, None, 10**9])
def test_bad_timeouts_are_validation_errors(bad):
    with pytest.raises(ValidationError) as ei:
        check_timeout(bad)
    assert ei.value.field == "timeout"


class Sneaky(str):
    pass


@pytest.mark.parametrize(
    "ids, field",
    [
        ([Sneaky("A"), "B"], "orders"),  # a str subclass: the encoder would refuse it
        (["\ud800", "B"], "orders"),  # a lone surrogate: not encodable as UTF-8
        (["Ä", "B"], "orders"),  # not ASCII: no Kraken id is
        (["A" * (MAX_ID_LEN + 1), "B"], "orders"),  # over the bound
        ("OQ1Z2X-7ABCD-EFGHIJ", "orders"),  # one str, not a list of ids
        ({"A": 1, "B": 2}, "orders"),  # a mapping: keys or values?
        ([["A"], "B"], "orders"),
        ([2**40, "B"], "orders"),  # beyond a 32-bit userref
        ([-1, "B"], "orders"),
        ([1.5, "B"], "orders"),
    ],
)
def test_bad_ids_never_register_anything(ids, field):
    s = kp.Session("t")
    with pytest.raises(ValidationError) as ei:
        s.send(kp.batch_cancel(ids), 0, S)
    assert ei.value.field == field
    assert len(s) == 0


def test_sets_and_iterators_are_read_once():
    call = kp.batch_cancel(iter(["A", "B"]))
    assert call.ids == ["A", "B"]
    assert sorted(kp.batch_cancel({"A", "B"}).ids) == ["A", "B"]


def test_an_order_struct_mutated_after_building_is_checked_again():
    from krakenwire import Client

    o = Client.order(side="buy", order_qty=1, limit_price="10")
    o.order_qty = -3  # the caller changed it after it was validated
    with pytest.raises(ValidationError) as ei:
        kp.batch_add([o, Client.order(side="sell", order_qty=1, limit_price="11")], symbol="X/Y")
    assert ei.value.field == "order_qty"


def test_every_method_in_the_registry_but_housekeeping_passes_the_risk_gate():
    seen = []
    s = kp.Session("t")
    s.check = seen.append
    calls = {
        "batch_cancel": kp.batch_cancel(["A", "B"]),
        "cancel_order": kp.cancel_order(["A"]),
        "cancel_all": kp.cancel_all(),
        "cancel_all_orders_after": kp.cancel_after(60),
        "add_order": kp.add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=1),
        "batch_add": kp.batch_add(
            [{"side": "buy", "order_qty": 1, "limit_price": 1}] * 2, symbol="BTC/USD"
        ),
        "amend_order": kp.amend_order(order_id="O1", order_qty=2),
        "edit_order": kp.edit_order(order_id="O1", symbol="BTC/USD", order_qty=2),
        "ping": kp.ping(),
        "subscribe": kp.subscribe_executions(),
        "unsubscribe": kp.subscribe_executions(unsubscribe=True),
    }
    assert set(calls) == set(kp.METHODS)  # every method of the registry has a builder here
    for call in calls.values():
        s.send(call, 0, S)
    checked = {v.method for v in seen}
    assert checked == {n for n, spec in kp.METHODS.items() if spec.kind is not kp.Kind.HOUSEKEEPING}
    assert all("token" not in repr(v) and "t" not in v.ids for v in seen)
