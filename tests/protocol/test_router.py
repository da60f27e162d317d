"""Sans-IO tests of the Router's decisions across two connections: hedged twins, failover
re-sends, the chunks of one cancel_orders, one req_id space. Literal bytes, explicit ``now``.

Each "v2" comment names what the two-socket layer outside the core used to decide wrongly.
"""

import json

import pytest

from krakenwire import protocol as kp
from krakenwire.errors import (
    ConnectionLost,
    KrakenAPIError,
    NotExecuted,
    OutcomeUnknown,
    RemoteProtocolError,
    ServiceUnavailable,
)
from krakenwire.methods import METHODS, Call, Completion, Kind, MethodSpec

S = 1_000_000_000


def frame(rid, method="batch_cancel", **fields):
    return json.dumps({"method": method, "req_id": rid, **fields}).encode()


def count(rid, n, method="batch_cancel"):
    return frame(rid, method, success=True, result={"count": n})


def refused(rid, error, method="batch_cancel"):
    return frame(rid, method, success=False, error=error)


def ok_cancel(rid, order_id):
    return frame(rid, "cancel_order", success=True, result={"order_id": order_id})


def hedge(router, call, conns=(0, 1)):
    h, frames = router.send_hedged(call, call.copy(), 0, 5 * S, conns)
    rids = [json.loads(d)["req_id"] for _, d in frames]
    return h, rids, frames


def caller(events):
    """The caller's event of a list (Absorbed events are the copies' audit records)."""
    (ev,) = [e for e in events if isinstance(e, kp.Completed | kp.Failed)]
    return ev


def drain(router, ev):
    out = [ev] if ev is not None else []
    out += router.outbox
    router.outbox.clear()
    return out


IDS = ["OA", "OB", "OC", "OD", "OE"]


# ---- hedging --------------------------------------------------------------------------------


def test_hedged_twins_go_out_on_both_sockets_with_their_own_req_ids():
    r = kp.Router("tok", conns=2)
    h, (a, b), frames = hedge(r, kp.batch_cancel(IDS))
    assert [c for c, _ in frames] == [0, 1] and a == h and b != a
    for _, d in frames:
        assert json.loads(d)["params"]["orders"] == IDS


def test_a_twins_already_gone_answer_waits_for_the_copy_that_executed():
    # v2: the first reply settled it: count 0 for a cancel that cancelled all five.
    r = kp.Router("tok", conns=2)
    h, (a, b), _ = hedge(r, kp.batch_cancel(IDS))
    events = drain(r, r.receive(count(b, 0), 1, conn=1))
    assert [type(e) for e in events] == [kp.Absorbed]  # audited, caller still waits
    ev = caller(drain(r, r.receive(count(a, 5), 2, conn=0)))
    assert ev.handle == h and ev.result.count == 5 and ev.result.hedged
    assert len(r) == 0


def test_a_reply_that_proves_the_whole_settles_at_once_and_the_twin_is_only_audited():
    r = kp.Router("tok", conns=2)
    h, (a, b), _ = hedge(r, kp.batch_cancel(IDS))
    ev = caller(drain(r, r.receive(count(a, 5), 1, conn=0)))
    assert ev.handle == h and ev.result.count == 5
    assert len(r) == 1  # the twin stays on the wire until it answers
    late = drain(r, r.receive(count(b, 0), 2, conn=1))
    assert [type(e) for e in late] == [kp.Absorbed] and late[0].req_id == b
    assert len(r) == 0


def test_one_copys_error_is_not_the_answer_while_the_other_executes():
    # v2: the hostile socket's error first gave the caller ServiceUnavailable.
    r = kp.Router("tok", conns=2)
    h, (a, b), _ = hedge(r, kp.batch_cancel(IDS))
    assert drain(r, r.receive(refused(b, "EService:Unavailable"), 1, conn=1))[0].req_id == b
    ev = caller(drain(r, r.receive(count(a, 3), 2, conn=0)))
    assert isinstance(ev, kp.Completed) and ev.result.count == 3


def test_both_copies_refused_is_not_executed():
    r = kp.Router("tok", conns=2)
    h, (a, b), _ = hedge(r, kp.batch_cancel(IDS))
    drain(r, r.receive(refused(a, "EService:Unavailable"), 1, conn=0))
    ev = caller(drain(r, r.receive(refused(b, "EOrder:Invalid order"), 2, conn=1)))
    assert isinstance(ev.error, ServiceUnavailable) and isinstance(ev.error, NotExecuted)


def test_a_lost_copy_makes_a_short_count_unknown_never_a_success():
    r = kp.Router("tok", conns=2)
    h, (a, b), _ = hedge(r, kp.batch_cancel(IDS))
    drain(r, r.receive(count(b, 2), 1, conn=1))
    ev = caller(r.failover(2, 0, None)[0] + r.outbox)
    assert isinstance(ev.error, ConnectionLost) and isinstance(ev.error, OutcomeUnknown)
    assert [x.count for x in ev.error.replies] == [2]  # what the other copy said


def test_hedged_cancel_all_adds_both_counts():
    # cancel_all: a copy never proves the whole (its twin may cancel an order placed since).
    r = kp.Router("tok", conns=2)
    h, (a, b), _ = hedge(r, kp.cancel_all())
    assert drain(r, r.receive(count(a, 3, "cancel_all"), 1, conn=0))[0].req_id == a
    ev = caller(drain(r, r.receive(count(b, 2, "cancel_all"), 2, conn=1)))
    assert ev.result.count == 5


def test_hedged_cancel_order_merges_per_order_replies():
    r = kp.Router("tok", conns=2)
    h, (a, b), _ = hedge(r, kp.cancel_order(["OA", "OB"]))
    assert r.receive(ok_cancel(a, "OA"), 1, conn=0) is None
    unknown = refused(a, "EOrder:Unknown order", "cancel_order")
    drain(r, r.receive(unknown, 2, conn=0))  # OB gone for copy a
    assert r.receive(refused(b, "EOrder:Unknown order", "cancel_order"), 3, conn=1) is None
    ev = caller(drain(r, r.receive(ok_cancel(b, "OB"), 4, conn=1)))
    assert sorted(ev.result.cancelled) == ["OA", "OB"] and ev.result.ok


def test_a_reply_on_the_other_socket_matches_nothing():
    r = kp.Router("tok", conns=2)
    h0, _ = r.send(kp.batch_cancel(IDS), 0, S, conn=0)
    h1, _ = r.send(kp.batch_cancel(IDS), 0, S, conn=1)
    assert h0 != h1  # one req_id space for both sockets (the audit pairs by it)
    ev = r.receive(count(h0, 5), 1, conn=1)
    assert isinstance(ev, kp.Unmatched) and "other connection" in ev.reason
    assert len(r) == 2


# ---- failover ------------------------------------------------------------------------------


def test_failover_re_sends_an_idempotent_cancel_on_the_other_socket():
    r = kp.Router("tok", conns=2)
    r.set_token("tok-b", conn=1)
    h, _ = r.send(kp.batch_cancel(IDS), 0, 5 * S, conn=0)
    events, ((rid, data),) = r.failover(1, 0, 1)
    sent = json.loads(data)
    assert rid != h and sent["req_id"] == rid and sent["params"]["token"] == "tok-b"
    assert sent["params"]["orders"] == IDS
    assert [type(e) for e in events] == [kp.Absorbed]  # the dead copy's audit: unknown
    assert isinstance(events[0].outcome, ConnectionLost)
    ev = caller(drain(r, r.receive(count(rid, 5), 2, conn=1)))
    assert ev.handle == h and ev.result.count == 5 and ev.result.failed_over


def test_failover_re_send_that_finds_the_orders_gone_is_unknown_unless_the_stream_says():
    # v2: the re-send's count 0 was reported, though the dead copy had cancelled them.
    r = kp.Router("tok", conns=2)
    h, _ = r.send(kp.batch_cancel(IDS), 0, 5 * S, conn=0)
    _, ((rid, _),) = r.failover(1, 0, 1)
    ev = caller(drain(r, r.receive(count(rid, 0), 2, conn=1)))
    assert isinstance(ev.error, ConnectionLost)
    # The same with the executions stream showing every order cancelled: known.
    r2 = kp.Router("tok", conns=2)
    r2.closed = {o: "canceled" for o in IDS}.get
    h, _ = r2.send(kp.batch_cancel(IDS), 0, 5 * S, conn=0)
    _, ((rid, _),) = r2.failover(1, 0, 1)
    ev = caller(drain(r2, r2.receive(count(rid, 0), 2, conn=1)))
    assert ev.result.count == 5 and "executions stream" in ev.result.warnings[-1]
    r3 = kp.Router("tok", conns=2)
    seen = {"OA": "canceled", "OB": "filled"}  # a fill is no cancel
    r3.closed = seen.get
    h, _ = r3.send(kp.batch_cancel(["OA", "OB"]), 0, 5 * S, conn=0)
    _, ((rid, _),) = r3.failover(1, 0, 1)
    # The stream may still show it (its events can trail the reply): wait, up to the deadline.
    assert [type(e) for e in drain(r3, r3.receive(count(rid, 0), 2, conn=1))] == [kp.Absorbed]
    assert r3.order_seen("OC", None, "canceled", 3) == []  # not a named order: still unknown
    assert len(r3) == 1 and r3.tick(5 * S - 1) == []
    assert isinstance(caller(r3.tick(5 * S)).error, ConnectionLost) and len(r3) == 0
    # ... and settled the moment the stream shows the last named order cancelled.
    r4 = kp.Router("tok", conns=2)
    seen4 = {"OA": "canceled"}
    r4.closed = seen4.get
    h, _ = r4.send(kp.batch_cancel(["OA", "OB"]), 0, 5 * S, conn=0)
    _, ((rid, _),) = r4.failover(1, 0, 1)
    drain(r4, r4.receive(count(rid, 0), 2, conn=1))
    seen4["OB"] = "canceled"
    (ev,) = r4.order_seen("OB", None, "canceled", 3)
    assert ev.handle == h and ev.result.count == 2 and len(r4) == 0


def test_failover_re_sends_only_the_unanswered_part_of_a_cancel_order():
    r = kp.Router("tok", conns=2)
    h, _ = r.send(kp.cancel_order(["OA", "OB", "OC"]), 0, 5 * S, conn=0)
    assert r.receive(ok_cancel(h, "OA"), 1, conn=0) is None
    _, ((rid, data),) = r.failover(2, 0, 1)
    assert json.loads(data)["params"]["order_id"] == ["OB", "OC"]
    assert r.receive(ok_cancel(rid, "OB"), 3, conn=1) is None
    ev = caller(drain(r, r.receive(ok_cancel(rid, "OC"), 4, conn=1)))
    assert sorted(ev.result.cancelled) == ["OA", "OB", "OC"] and ev.result.failed_over


def test_order_entry_is_never_re_sent():
    r = kp.Router("tok", conns=2)
    call = kp.add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=1)
    h, _ = r.send(call, 0, 5 * S, conn=0)
    events, resends = r.failover(1, 0, 1)
    assert resends == [] and isinstance(caller(events).error, ConnectionLost)


def test_a_hedged_copy_on_the_dead_socket_is_not_re_sent_its_twin_carries_on():
    r = kp.Router("tok", conns=2)
    h, (a, b), _ = hedge(r, kp.batch_cancel(IDS))
    events, resends = r.failover(1, 0, 1)
    assert resends == [] and [type(e) for e in events] == [kp.Absorbed]
    ev = caller(drain(r, r.receive(count(b, 5), 2, conn=1)))
    assert ev.result.count == 5


def test_a_failed_over_request_keeps_its_deadline():
    r = kp.Router("tok", conns=2)
    h, _ = r.send(kp.batch_cancel(IDS), 0, 2 * S, conn=0)
    r.failover(S, 0, 1)
    assert r.tick(2 * S - 1) == []
    ev = caller(r.tick(2 * S))
    assert ev.handle == h and isinstance(ev.error, OutcomeUnknown)


# ---- cancel_orders chunks: one outcome -------------------------------------------------------


def test_the_chunks_of_one_cancel_orders_settle_one_handle():
    r = kp.Router("tok")
    calls = [kp.batch_cancel(["A1", "A2"]), kp.batch_cancel(["B1", "B2"])]
    h, frames = r.send_group(calls, [["A1", "A2"], ["B1", "B2"]], 0, S)
    (a, _), (b, _) = frames
    assert h not in (a, b)
    assert drain(r, r.receive(count(b, 2), 1)) == []  # audited only when views are on
    ev = caller(drain(r, r.receive(refused(a, "EOrder:Invalid order"), 2)))
    assert ev.handle == h
    res = ev.result
    assert [c.outcome for c in res.chunks] == ["rejected", "ok"] and res.count == 2


def test_abandoning_cancel_orders_frees_every_chunk():
    r = kp.Router("tok")
    calls = [kp.batch_cancel(["A1", "A2"]), kp.batch_cancel(["B1", "B2"])]
    h, _ = r.send_group(calls, [["A1", "A2"], ["B1", "B2"]], 0, S)
    events = r.abandon(h)
    assert len(events) == 2 and len(r) == 0 and not r._groups


# ---- the method table ----------------------------------------------------------------------


def test_a_bug_of_ours_is_raised_never_blamed_on_the_peer():
    def settle(call, reply, rid, latency):
        raise KeyError("a bug in krakenwire")

    spec = MethodSpec("batch_cancel", METHODS["batch_cancel"].request, Kind.CANCEL, True,
                      Completion.ONE, settle, object)  # fmt: skip
    base = kp.batch_cancel(IDS)
    r = kp.Router("tok")
    h, _ = r.send(Call(spec, base.req, base.params, IDS), 0, S)
    with pytest.raises(KeyError):
        r.receive(count(h, 5), 1)


def test_a_success_we_cannot_fully_read_is_a_success_with_a_warning_never_unknown():
    r = kp.Router("tok")
    h, _ = r.send(kp.batch_cancel(IDS), 0, S)
    ev = r.receive(frame(h, success=True, result={"count": "five"}), 1)
    assert isinstance(ev, kp.Completed) and ev.result.count is None
    assert ev.result.shape_warnings and r.shape_mismatches == 1


def test_a_reply_that_says_neither_success_nor_error_is_unknown():
    r = kp.Router("tok")
    h, _ = r.send(kp.batch_cancel(IDS), 0, S)
    ev = r.receive(frame(h), 1)
    assert isinstance(ev.error, RemoteProtocolError)


def test_the_table_cannot_hold_a_multi_reply_method_with_a_one_reply_settle():
    spec = METHODS["cancel_order"]
    with pytest.raises(ValueError, match="settle"):
        MethodSpec(spec.name, spec.request, spec.kind, spec.idempotent, Completion.ONE, None,
                   spec.result)  # fmt: skip


def test_every_cancel_in_the_table_can_merge_copies():
    for spec in METHODS.values():
        if spec.kind is Kind.CANCEL:
            assert spec.idempotent and spec.merge is not None
        if spec.kind is Kind.ENTRY:
            assert not spec.idempotent


def test_a_results_cl_ord_id_list_is_its_own():
    # v2: one shared empty list ended up in every result; appending to one changed the next.
    r = kp.Router("tok")
    outs = []
    for _ in range(2):
        h, _ = r.send(kp.batch_cancel(IDS), 0, S)
        outs.append(r.receive(count(h, 5), 1).result)
    outs[0].cl_ord_id.append("mine")
    assert outs[1].cl_ord_id == []
    assert kp.batch_cancel(IDS).cl_ord_ids == []


def test_the_error_of_a_refused_first_reply_is_kraken_s():
    r = kp.Router("tok")
    h, _ = r.send(kp.batch_cancel(IDS), 0, S)
    ev = r.receive(refused(h, "EGeneral:Invalid arguments"), 1)
    assert isinstance(ev.error, KrakenAPIError) and ev.error.error == "EGeneral:Invalid arguments"
