"""krakenwire-audit: records, redaction, fsync policies, rotation, the reader, and a SIGKILL."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import krakenwire_audit
import msgspec
import pytest
from krakenwire_audit import (
    AuditCorruption,
    AuditLog,
    AuditPlugin,
    read_all_records,
    read_records,
)

from krakenwire import (
    Abandoned,
    BatchCancelResult,
    CancelOrderReply,
    CancelOrderResult,
    ConnectionLost,
    KrakenAPIError,
    RemoteProtocolError,
    RequestTimeout,
    RiskRejected,
)
from krakenwire.hookspecs import Veto
from krakenwire.plugins import PluginHost
from krakenwire.protocol import batch_cancel, cancel_order

TOKEN = "audit-SECRET-token-5f2b9c1e7d"
HERE = Path(__file__).parent


async def until(cond, limit: float = 10.0) -> None:
    """Wait for ``cond()`` (a generous bound, so a slow machine does not fail it)."""
    for _ in range(int(limit / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


def pending(n: int = 2, req_id: int = 1):
    """The request view a hook receives for a batch_cancel of ``n`` ids."""
    return batch_cancel([f"O{i:05d}-AAAAA-AAAAAA" for i in range(n)]).view(req_id)


def test_records_for_every_outcome_kind_and_no_token(tmp_path):
    path = tmp_path / "audit.jsonl"
    plugin = AuditPlugin(path, fsync_every=1)
    host = PluginHost([plugin], autoload=False)
    p = pending()
    outcomes = [
        BatchCancelResult(
            count=2,
            req_id=p.req_id,
            time_in_raw="2024-01-01T00:00:00.1Z",
            time_out_raw="2024-01-01T00:00:00.2Z",
            warnings_raw=b'["w"]',
        ),
        KrakenAPIError("EOrder:Invalid order", req_id=p.req_id, method="batch_cancel"),
        RequestTimeout("timeout", req_id=p.req_id, method="batch_cancel"),
        ConnectionLost("gone", req_id=p.req_id, method="batch_cancel"),
        RiskRejected(Veto("too fast", "risk")),
        CancelOrderResult(
            replies=[
                CancelOrderReply("OAAAAA-AAAAA-AAAAAA"),
                CancelOrderReply(error="EOrder:Invalid order"),
            ],
            req_id=9,
        ),
        Abandoned("the caller stopped waiting", req_id=p.req_id, method="batch_cancel"),
        RemoteProtocolError("unreadable reply", req_id=p.req_id, method="batch_cancel"),
    ]
    for out in outcomes:
        host.audit(p, out, 1234, None)
    assert host.audit_errors == 0
    plugin.close()
    recs = read_records(path)
    assert [r["outcome"] for r in recs] == [
        "ok",
        "rejected",
        "unknown",
        "unknown",
        "vetoed",
        "ok",
        "unknown",
        "unknown",
    ]
    assert recs[0]["count"] == 2 and recs[0]["latency_ns"] == 1234
    assert recs[0]["ids"] == list(p.ids) and recs[0]["req_id"] == p.req_id
    assert recs[0]["method"] == "batch_cancel" and "cl_ord_id" not in recs[0]
    assert recs[0]["time_in"] == "2024-01-01T00:00:00.1Z" and recs[0]["warnings"] == ["w"]
    assert recs[1]["error"] == "EOrder:Invalid order"
    assert recs[2]["error_type"] == "RequestTimeout"
    assert recs[4]["plugin"] == "risk" and recs[4]["error"] == "too fast"
    assert recs[5]["count"] == 1 and recs[5]["errors"] == ["EOrder:Invalid order"]
    assert recs[6]["error_type"] == "Abandoned" and recs[7]["error_type"] == "RemoteProtocolError"
    assert "token" not in p.__struct_fields__  # a view never carries the token
    text = path.read_text()
    assert TOKEN not in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_cl_ord_ids_are_recorded(tmp_path):
    path = tmp_path / "cl.jsonl"
    plugin = AuditPlugin(path, fsync_every=1)
    view = cancel_order(cl_ord_id=["mm-1", "mm-2"]).view(4)
    plugin.krakenwire_audit(view, RequestTimeout("slow", req_id=4), 7, None)
    plugin.close()
    (rec,) = read_records(path)
    assert (rec["req_id"], rec["method"], rec["ids"]) == (4, "cancel_order", [])
    assert rec["cl_ord_id"] == ["mm-1", "mm-2"] and rec["outcome"] == "unknown"


def test_a_token_in_a_record_is_scrubbed(tmp_path):
    """The last line of defence: a secret that reaches a record never reaches the file. A
    request view has no token (so nothing is scrubbed for one); a request object that does
    carry one has it scrubbed, and so does the log's own ``redact``."""
    path = tmp_path / "scrub.jsonl"
    plugin = AuditPlugin(path, fsync_every=1)
    carrier = types.SimpleNamespace(
        req_id=1, method="batch_cancel", ids=("A", "B"), cl_ord_ids=(), token=TOKEN
    )
    plugin.krakenwire_audit(carrier, RequestTimeout(f"timeout token={TOKEN}", req_id=1), 1, None)
    plugin.flush()
    plugin.log.append({"note": f"x{TOKEN}y"}, redact=TOKEN)
    plugin.close()
    text = path.read_text()
    assert TOKEN not in text and text.count("<redacted>") == 2
    assert [r["outcome"] for r in read_records(path)[:1]] == ["unknown"]


def test_fsync_policies(tmp_path):
    t = [0.0]
    every3 = AuditLog(tmp_path / "a", fsync_every=3, clock=lambda: t[0])
    for i in range(7):
        every3.append({"i": i})
    assert (every3.written, every3.synced) == (7, 6)
    every3.close()
    assert every3.synced == 7
    timed = AuditLog(tmp_path / "b", fsync_every=None, fsync_interval=0.5, clock=lambda: t[0])
    timed.append({"i": 0})
    t[0] += 0.2
    timed.append({"i": 1})
    assert timed.synced == 0
    t[0] += 0.4
    timed.append({"i": 2})
    assert timed.synced == 3
    timed.close()


def test_interval_timer_syncs_without_further_records(tmp_path):
    async def main():
        plugin = AuditPlugin(tmp_path / "t.jsonl", fsync_every=None, fsync_interval=0.05)
        plugin.krakenwire_audit(pending(), BatchCancelResult(count=2, req_id=1), 5, None)
        assert plugin.log.written == 0  # buffered (durability="batch")
        await until(lambda: plugin.log.written == 1 and plugin.log.unsynced == 0)
        plugin.close()

    asyncio.run(main())


def test_rotation(tmp_path):
    path = tmp_path / "r.jsonl"
    log = AuditLog(path, max_bytes=200, backups=2)
    for i in range(40):
        log.append({"i": i, "pad": "x" * 20})
    log.close()
    assert log.rotations > 2
    assert os.path.exists(f"{path}.1") and os.path.exists(f"{path}.2")
    assert not os.path.exists(f"{path}.3")
    assert path.stat().st_size <= 200
    got = [r["i"] for r in read_all_records(path, backups=2)]
    assert got == list(range(40 - len(got), 40))  # the newest, in order, the oldest dropped


def test_reader_tolerates_only_a_truncated_last_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a":1}\n{"a":2}\n{"a":3, "tr')
    assert read_records(path) == [{"a": 1}, {"a": 2}]
    path.write_bytes(b'{"a":1}\n{"a":2}')  # complete JSON, newline lost
    assert read_records(path) == [{"a": 1}, {"a": 2}]
    path.write_bytes(b'{"a":1}\n{"a":2, "tr\n{"a":3}\n')
    with pytest.raises(AuditCorruption) as ei:
        read_records(path)
    assert ei.value.line == 2
    path.write_bytes(b'{"a":1}\n\n{"a":3}\n')
    with pytest.raises(AuditCorruption):
        read_records(path)
    path.write_bytes(b"[1]\n")
    with pytest.raises(AuditCorruption):
        read_records(path)


def test_sigkill_mid_stream_keeps_every_fsynced_record(tmp_path):
    path = tmp_path / "crash.jsonl"
    child = subprocess.Popen(
        [sys.executable, str(HERE / "_audit_child.py"), str(path), TOKEN],
        stdout=subprocess.PIPE,
        text=True,
    )
    synced = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            synced = int(line)
            if synced >= 300:
                break
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
    for line in rest.split():
        synced = max(synced, int(line))
    assert child.returncode == -signal.SIGKILL
    assert synced >= 300
    recs = [r for r in read_records(path) if r["ev"] == "outcome"]
    assert len(recs) >= synced
    for i, rec in enumerate(recs[:synced]):
        assert rec["req_id"] == i + 1
        assert rec["ids"] == [f"O{i:05d}-AAAAA-AAAAAA", f"O{i:05d}-BBBBB-BBBBBB"]
        assert rec["outcome"] == "ok" and rec["count"] == 2 and rec["latency_ns"] == 1000 + i
    assert TOKEN not in path.read_text()


def test_entry_point_is_a_factory_giving_each_client_its_own_instance(tmp_path, monkeypatch):
    (ep,) = [e for e in importlib.metadata.entry_points(group="krakenwire") if e.name == "audit"]
    assert ep.value == "krakenwire_audit:from_env" and ep.load() is krakenwire_audit.from_env
    monkeypatch.setenv("KRAKENWIRE_PLUGINS", "audit")
    monkeypatch.delenv("KRAKENWIRE_AUDIT_PATH", raising=False)
    host = PluginHost(autoload=True)
    assert host.pm.get_plugin("audit") is None and not host.failed  # unset: nothing registered
    path = tmp_path / "env.jsonl"
    monkeypatch.setenv("KRAKENWIRE_AUDIT_PATH", str(path))
    monkeypatch.setenv("KRAKENWIRE_AUDIT_FSYNC", "every")
    monkeypatch.setenv("KRAKENWIRE_AUDIT_DURABILITY", "intent")
    a, b = PluginHost(autoload=True), PluginHost(autoload=True)
    pa, pb = a.pm.get_plugin("audit"), b.pm.get_plugin("audit")
    try:
        assert isinstance(pa, AuditPlugin) and isinstance(pb, AuditPlugin) and pa is not pb
        assert pa.log.fsync_every == 1 and pa.durability == "intent" and pa.run != pb.run
        assert a.intent is not None and a.audit is not None
        a.intent(pending(), None)
        assert [r["ev"] for r in read_records(path)] == ["intent"]  # written before the send
    finally:
        pa.close()
        pb.close()


def test_interval_fsync_never_runs_on_the_event_loop_thread(tmp_path, monkeypatch):
    import threading

    real_fsync = os.fsync
    threads = []

    def spy(fd):
        threads.append(threading.current_thread())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)

    async def main():
        plugin = AuditPlugin(tmp_path / "bg.jsonl", fsync_interval=0.05)
        for i in range(20):
            plugin.krakenwire_audit(pending(), BatchCancelResult(count=2, req_id=i), 5, None)
            await asyncio.sleep(0.01)
        await until(lambda: plugin.log.written == 20 and plugin.log.unsynced == 0)
        assert threads
        assert all(t is not threading.main_thread() for t in threads)
        plugin.close()  # the final fsync on close is the caller's own

    asyncio.run(main())


# ---- write-ahead: intent before the frame, outcome after, paired by the reader -------------


def run_child(path, durability: str, mode: str) -> dict[str, list[int]]:
    """Run ``_inflight_child.py``; SIGKILL it once its requests are in flight (mode ``wait``),
    or let it kill itself (mode ``self``). Returns what it printed, by kind."""
    child = subprocess.Popen(
        [sys.executable, str(HERE / "_inflight_child.py"), str(path), durability, mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    seen: dict[str, list[int]] = {"resumed": [], "inflight": [], "last": []}
    try:
        assert child.stdout is not None
        for line in child.stdout:
            kind, n = line.split()
            seen[kind].append(int(n))
            if kind == "inflight" and mode == "wait":
                child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert len(seen["resumed"]) == 20 and seen["inflight"] == [5]
    return seen


@pytest.mark.parametrize("durability", ["intent", "process"])
def test_sigkill_with_requests_in_flight_reports_them_as_outcome_unknown(tmp_path, durability):
    """The process is killed with 5 requests on the wire: each is on disk as an intent and the
    reader lists it as outcome unknown (the 0.1 plugin never recorded them at all). With
    ``durability="process"``, the outcome of every request whose caller had resumed (and
    awaited once more) is on disk too; with ``"intent"`` each is at least listed."""
    path = tmp_path / "inflight.jsonl"
    seen = run_child(path, durability, "wait")
    entries = krakenwire_audit.read_requests(path)
    by_id = {e.req_id: e for e in entries}
    unknown = [e for e in entries if not e.settled]
    assert len(unknown) == 5 and all(e.outcome == "unknown" and e.intent for e in unknown)
    assert {e.ids[0][:2] for e in unknown} == {"OF"}  # the in-flight ones, and only them
    assert krakenwire_audit.outcome_unknown(path) == unknown
    for rid in seen["resumed"]:
        assert by_id[rid].intent is not None  # never missing
        if durability == "process":
            assert by_id[rid].settled and by_id[rid].outcome == "ok", rid
            assert by_id[rid].result["count"] == 0 and by_id[rid].result["latency_ns"] > 0
    assert len({e.run for e in entries}) == 1


def test_a_kill_in_the_callers_own_step_leaves_that_request_listed(tmp_path):
    """The issue's case: the caller is killed the moment it resumes, before krakenwire runs the
    audit hook. Its request is on disk as an intent, so it is listed (outcome unknown unless the
    outcome made it), never missing; so are the 5 still in flight."""
    path = tmp_path / "self.jsonl"
    seen = run_child(path, "process", "self")
    (last,) = seen["last"]
    entries = {e.req_id: e for e in krakenwire_audit.read_requests(path)}
    assert last in entries and entries[last].intent is not None
    assert entries[last].outcome in ("unknown", "ok")
    assert all(entries[r].settled for r in seen["resumed"])
    assert sum(1 for e in entries.values() if not e.settled and e.ids[0][:2] == "OF") == 5


def test_real_client_intent_and_outcome_paired_and_vetoed_has_no_intent(tmp_path):
    """Against the simulator, default durability ("batch"): every request has an intent and
    an outcome after close; a vetoed one has an outcome only; nothing written per request
    before the batch is due."""
    import krakenwire
    from krakenwire.hookspecs import hookimpl
    from krakenwire.sim import Simulator

    class VetoMarked:
        @hookimpl
        def krakenwire_check_request(self, request):
            return Veto("marked") if "OVETO-AAAAA-AAAAAA" in request.ids else None

    path = tmp_path / "client.jsonl"

    async def main():
        plugin = AuditPlugin(path, flush_interval=30.0)
        async with Simulator(orders=4) as sim:
            client = await krakenwire.connect(
                sim.url,
                token=sim.token,
                plugins=[plugin, VetoMarked()],
                autoload_plugins=False,
            )
            try:
                ids = list(client.open_orders)[:4]
                await client.batch_cancel(ids[:2])
                await client.cancel_order(ids[2:])
                with pytest.raises(RiskRejected):
                    await client.batch_cancel(["OVETO-AAAAA-AAAAAA", "OX-BBBBB-BBBBBB"])
                await asyncio.sleep(0)  # the veto's audit is scheduled with call_soon
                assert plugin.log.written == 0  # all buffered: no write on the request path
            finally:
                await client.close()
        plugin.close()
        return ids

    ids = asyncio.run(main())
    all_entries = krakenwire_audit.read_requests(path)
    assert all(e.settled and e.intent is not None for e in all_entries if e.outcome != "vetoed")
    entries = [e for e in all_entries if e.method != "subscribe"]  # housekeeping is audited too
    assert [(e.method, e.outcome, e.settled) for e in entries] == [
        ("batch_cancel", "ok", True),
        ("cancel_order", "ok", True),
        ("batch_cancel", "vetoed", True),
    ]
    assert entries[0].intent["ids"] == ids[:2] and entries[0].result["count"] == 2
    assert entries[1].result["count"] == 2 and entries[1].intent["kind"] == "cancel"
    assert entries[2].intent is None and entries[2].result["error"] == "marked"
    assert TOKEN not in path.read_text()


def test_batch_durability_writes_on_the_loop_timer_without_further_requests(tmp_path):
    async def main():
        plugin = AuditPlugin(tmp_path / "b.jsonl", flush_interval=0.02, fsync_interval=None)
        plugin.krakenwire_request_sent(pending(), None)
        plugin.krakenwire_audit(pending(), BatchCancelResult(count=2, req_id=1), 5, None)
        assert plugin.log.written == 0
        await until(lambda: plugin.log.written == 2)
        plugin.close()

    asyncio.run(main())
    assert [r["ev"] for r in read_records(tmp_path / "b.jsonl")] == ["intent", "outcome"]


def test_intent_durability_writes_each_intent_before_returning(tmp_path):
    path = tmp_path / "i.jsonl"
    plugin = AuditPlugin(path, durability="intent", fsync_every=1, fsync_interval=None)
    plugin.krakenwire_request_sent(pending(req_id=1), None)
    assert (plugin.log.written, plugin.log.synced) == (1, 1)  # on disk before the frame
    plugin.krakenwire_audit(pending(req_id=1), BatchCancelResult(count=2, req_id=1), 5, None)
    assert plugin.log.written == 1  # outcomes are batched in "intent" mode...
    plugin.krakenwire_request_sent(pending(req_id=2), None)
    assert plugin.log.written == 3  # ...and go out with the next intent at the latest
    plugin.close()
    entries = krakenwire_audit.read_requests(path)
    assert [(e.req_id, e.outcome, e.settled) for e in entries] == [
        (1, "ok", True),
        (2, "unknown", False),
    ]
    with pytest.raises(ValueError):
        AuditPlugin(tmp_path / "x", durability="sometimes")


def test_a_resent_request_pairs_with_its_first_intent(tmp_path):
    """A request rejected for a stale token is re-sent once under a new req_id (the outcome's
    view says ``resent``); the reader pairs that outcome with the original intent."""
    path = tmp_path / "resent.jsonl"
    plugin = AuditPlugin(path)
    a = batch_cancel(["OA-AAAAA-AAAAAA", "OA-BBBBB-BBBBBB"])
    b = batch_cancel(["OB-AAAAA-AAAAAA", "OB-BBBBB-BBBBBB"])
    plugin.krakenwire_request_sent(a.view(1), None)
    plugin.krakenwire_request_sent(b.view(2), None)
    plugin.krakenwire_request_sent(a.view(3), None)  # the same ids again, a second request
    plugin.krakenwire_audit(b.view(2), BatchCancelResult(count=2, req_id=2), 5, None)
    # req_id 1 was held for a new token and re-sent as 7; 3 is still in flight
    plugin.krakenwire_audit(a.view(7, resent=True), BatchCancelResult(count=2, req_id=7), 9, None)
    plugin.close()
    entries = krakenwire_audit.read_requests(path)
    got = [(e.req_id, e.outcome, e.settled, e.resent_as) for e in entries]
    assert got == [(1, "ok", True, 7), (2, "ok", True, None), (3, "unknown", False, None)]
    assert entries[0].result["resent"] is True and entries[0].result["req_id"] == 7


def test_pairing_a_resent_intent_runs_and_old_records():
    """A re-send with its own intent supersedes the first; runs never pair with each other;
    0.1 records (no ``ev``) are outcomes."""
    view = batch_cancel(["OA-AAAAA-AAAAAA", "OA-BBBBB-BBBBBB"])
    i1 = krakenwire_audit.intent_record(view.view(1), 0, "r1")
    i7 = krakenwire_audit.intent_record(view.view(7, resent=True), 0, "r1")
    o7 = krakenwire_audit.make_record(view.view(7, resent=True), None, 5, 0, "r1")
    other = krakenwire_audit.intent_record(view.view(7), 0, "r2")
    legacy = {"req_id": 3, "method": "batch_cancel", "ids": [], "outcome": "ok"}
    entries = krakenwire_audit.pair_records([i1, other, i7, o7, legacy])
    got = [(e.run, e.req_id, e.outcome, e.settled, e.resent_as) for e in entries]
    assert got == [
        ("r1", 1, "unknown", True, 7),  # o7 is a None outcome: unknown, but recorded
        ("r2", 7, "unknown", False, None),
        ("", 3, "ok", True, None),
    ]


def test_one_instance_shared_by_two_clients_keeps_their_req_ids_apart(tmp_path):
    path = tmp_path / "shared.jsonl"
    plugin = AuditPlugin(path, run="R")
    ctx_a, ctx_b = object(), object()
    for ctx in (ctx_a, ctx_b):
        plugin.krakenwire_request_sent(pending(req_id=1), ctx)
    plugin.krakenwire_audit(pending(req_id=1), BatchCancelResult(count=2, req_id=1), 5, ctx_b)
    plugin.close()
    entries = krakenwire_audit.read_requests(path)
    assert [(e.run, e.settled) for e in entries] == [("R", False), ("R.2", True)]


def test_order_entry_intent_records_the_orders(tmp_path):
    from decimal import Decimal

    from krakenwire.protocol import add_order

    path = tmp_path / "entry.jsonl"
    plugin = AuditPlugin(path)
    call = add_order(
        symbol="BTC/USD",
        side="buy",
        order_type="limit",
        order_qty=Decimal("0.5"),
        limit_price=Decimal("30000.1"),
        cl_ord_id="mm-9",
    )
    plugin.krakenwire_request_sent(call.view(3), None)
    plugin.close()
    (rec,) = read_records(path)
    assert (rec["ev"], rec["kind"], rec["symbol"], rec["cl_ord_id"]) == (
        "intent",
        "entry",
        "BTC/USD",
        ["mm-9"],
    )
    assert rec["orders"] == [
        {
            "symbol": "BTC/USD",
            "side": "buy",
            "order_type": "limit",
            "order_qty": "0.5",
            "limit_price": "30000.1",
            "cl_ord_id": "mm-9",
        }
    ]
    slow = krakenwire_audit.intent_record(call.view(3), 0, rec["run"]) | {"ts": rec["ts"]}
    assert rec == msgspec.json.decode(msgspec.json.encode(slow))  # the dict form agrees
