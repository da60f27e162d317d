"""krakenwire-audit: records, redaction, fsync policies, rotation, the reader, and a SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import krakenwire_audit
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
    plugin.krakenwire_audit(view, RequestTimeout("slow", req_id=4), 7)
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
    plugin.krakenwire_audit(carrier, RequestTimeout(f"timeout token={TOKEN}", req_id=1), 1)
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
        plugin.krakenwire_audit(pending(), BatchCancelResult(count=2, req_id=1), 5)
        assert plugin.log.unsynced == 1
        await asyncio.sleep(0.15)
        assert plugin.log.unsynced == 0
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
    recs = read_records(path)
    assert len(recs) >= synced
    for i, rec in enumerate(recs[:synced]):
        assert rec["req_id"] == i + 1
        assert rec["ids"] == [f"O{i:05d}-AAAAA-AAAAAA", f"O{i:05d}-BBBBB-BBBBBB"]
        assert rec["outcome"] == "ok" and rec["count"] == 2 and rec["latency_ns"] == 1000 + i
    assert TOKEN not in path.read_text()


def test_module_form_is_inert_without_path_and_writes_with_it(tmp_path, monkeypatch):
    monkeypatch.delenv("KRAKENWIRE_AUDIT_PATH", raising=False)
    krakenwire_audit.reset_default()
    host = PluginHost([krakenwire_audit], autoload=False)
    host.audit(pending(), BatchCancelResult(count=2, req_id=1), 1, None)
    assert krakenwire_audit.default() is None
    krakenwire_audit.reset_default()
    path = tmp_path / "env.jsonl"
    monkeypatch.setenv("KRAKENWIRE_AUDIT_PATH", str(path))
    monkeypatch.setenv("KRAKENWIRE_AUDIT_FSYNC", "every")
    try:
        host.audit(pending(), BatchCancelResult(count=2, req_id=1), 1, None)
        plugin = krakenwire_audit.default()
        assert plugin is not None and plugin.log.fsync_every == 1
        assert len(read_records(path)) == 1
    finally:
        krakenwire_audit.reset_default()


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
            plugin.krakenwire_audit(pending(), BatchCancelResult(count=2, req_id=i), 5)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.15)
        assert plugin.log.unsynced == 0 and threads
        assert all(t is not threading.main_thread() for t in threads)
        plugin.close()  # the final fsync on close is the caller's own

    asyncio.run(main())
