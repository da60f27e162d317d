"""Plugin hooks: the fast path agrees with pluggy, vetoes send nothing, audits follow the caller,
entry points load (and fail) as documented. Plugins run against the real simulator."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import re

import pluggy
import pytest

import krakenwire
from krakenwire import KrakenAPIError, RiskRejected
from krakenwire.hookspecs import Veto, hookimpl
from krakenwire.plugins import PluginHost
from krakenwire.protocol import batch_cancel
from krakenwire.sim import SimConfig, Simulator

TOKEN = "hooks-test-token-abcdef"


def pending(ids=("OAAAAA-AAAAA-AAAAAA", "OBBBBB-BBBBB-BBBBBB")):
    return batch_cancel(list(ids)).view(7)


class Recorder:
    """A plugin that records its calls in a shared list and optionally vetoes."""

    def __init__(self, name, calls, veto=None):
        self.name = name
        self.calls = calls
        self.veto = veto

    @hookimpl
    def krakenwire_check_request(self, request):
        self.calls.append(("check", self.name))
        return Veto(self.veto) if self.veto else None

    @hookimpl
    def krakenwire_audit(self, outcome, request):  # a subset, in another order
        self.calls.append(("audit", self.name))


class First(Recorder):
    @hookimpl(tryfirst=True)
    def krakenwire_check_request(self, request):
        return super().krakenwire_check_request(request)

    @hookimpl(tryfirst=True)
    def krakenwire_audit(self, outcome, request):
        super().krakenwire_audit(outcome, request)


class Last(Recorder):
    @hookimpl(trylast=True)
    def krakenwire_check_request(self, request):
        return super().krakenwire_check_request(request)

    @hookimpl(trylast=True)
    def krakenwire_audit(self, outcome, request):
        super().krakenwire_audit(outcome, request)


def build(calls, vetoes=()):
    plugins = [
        Last("last", calls),
        Recorder("a", calls),
        First("first", calls),
        Recorder("b", calls),
    ]
    for p in plugins:
        if p.name in vetoes:
            p.veto = f"{p.name} says no"
    return PluginHost(plugins, autoload=False), plugins


# ---- fast path ---------------------------------------------------------------------------


def test_empty_host_has_no_fast_path():
    host = PluginHost(autoload=False)
    assert host.check is None and host.audit is None and host.executions is None


@pytest.mark.parametrize("vetoes", [(), ("a",), ("a", "b"), ("last",)])
def test_fast_path_agrees_with_pm_hook(vetoes):
    calls: list = []
    host, _ = build(calls, vetoes)
    p = pending()
    veto = host.pm.hook.krakenwire_check_request(request=p, context=None)
    slow_calls = list(calls)
    calls.clear()
    try:
        host.check(p)
        fast_veto = None
    except RiskRejected as exc:
        fast_veto = exc.veto
    assert calls == slow_calls  # same order, same short-circuit (firstresult)
    assert calls[0] == ("check", "first")
    if vetoes:
        assert fast_veto.reason == veto.reason
    else:
        assert veto is None and fast_veto is None
        assert [n for _, n in calls] == ["first", "b", "a", "last"]
    calls.clear()
    host.pm.hook.krakenwire_audit(request=p, outcome=None, elapsed_ns=1, context=None)
    slow_calls = list(calls)
    calls.clear()
    host.audit(p, None, 1, None)
    assert calls == slow_calls and len(calls) == 4


def test_fast_path_is_re_resolved_on_unregister():
    calls: list = []
    host, plugins = build(calls, ("b",))
    with pytest.raises(RiskRejected, match="b says no"):
        host.check(pending())
    host.pm.unregister(plugins[3])
    host.check(pending())
    for p in plugins[:3]:
        host.pm.unregister(p)
    assert host.check is None and host.audit is None


def test_veto_names_the_plugin_and_failing_check_fails_closed():
    class Broken:
        @hookimpl
        def krakenwire_check_request(self, request):
            raise ZeroDivisionError("boom")

    host = PluginHost(autoload=False)
    host.pm.register(Recorder("v", [], veto="nope"), name="vetoer")
    with pytest.raises(RiskRejected) as ei:
        host.check(pending())
    assert (ei.value.plugin, ei.value.reason) == ("vetoer", "nope")
    host.pm.register(Broken(), name="broken")  # registered last: called first
    with pytest.raises(RiskRejected) as ei:
        host.check(pending())
    assert ei.value.plugin == "broken" and "ZeroDivisionError" in ei.value.reason
    assert isinstance(ei.value.__cause__, ZeroDivisionError)


def test_raising_auditor_is_logged_and_counted(caplog):
    calls: list = []

    class Bad:
        @hookimpl
        def krakenwire_audit(self):
            raise RuntimeError("auditor broke")

    host = PluginHost([Recorder("good", calls)], autoload=False)
    host.pm.register(Bad(), name="bad")
    with caplog.at_level(logging.ERROR, logger="krakenwire.plugins"):
        host.audit(pending(), None, 1, None)
    assert host.audit_errors == 1
    assert calls == [("audit", "good")]  # the others still ran
    assert "'bad'" in caplog.text and "auditor broke" in caplog.text


# ---- registration validation ---------------------------------------------------------------


def test_unknown_hook_name_is_refused():
    class Typo:
        @hookimpl
        def krakenwire_chek_request(self, request):
            return None

    host = PluginHost(autoload=False)
    with pytest.raises(pluggy.PluginValidationError, match="krakenwire_chek_request"):
        host.pm.register(Typo())
    assert host.list_plugins() == [] and host.check is None


def test_wrong_argument_names_are_refused():
    class WrongArgs:
        @hookimpl
        def krakenwire_check_request(self, req, ctx):
            return None

    with pytest.raises(pluggy.PluginValidationError, match="req"):
        PluginHost([WrongArgs()], autoload=False)


# ---- against the simulator -----------------------------------------------------------------


async def _connect(sim, plugins=(), **kw):
    kw.setdefault("autoload_plugins", False)
    return await krakenwire.connect(sim.url, token=sim.token, plugins=plugins, **kw)


def test_veto_sends_nothing(run):
    audited: list = []

    class Veto3:
        @hookimpl
        def krakenwire_check_request(self, request):
            n = len(request.all_ids)
            return Veto("three is too many") if n == 3 else Veto("26") if n == 26 else None

        @hookimpl
        def krakenwire_audit(self, request, outcome, elapsed_ns):
            audited.append((request.req_id, type(outcome).__name__, elapsed_ns))

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            client = await _connect(sim, [Veto3()])
            ids = [o.order_id for o in acct.place(60)]
            await client.ping()
            frames, ledger = sim.frames_received, list(acct.ledger)
            with pytest.raises(RiskRejected) as ei:
                await client.batch_cancel(ids[:3])
            assert ei.value.reason == "three is too many" and ei.value.plugin
            # cancel_orders checks every chunk before sending any: 53 ids -> 27 + 26
            with pytest.raises(RiskRejected, match="26"):
                await client.cancel_orders(ids[:53])
            await asyncio.sleep(0.05)
            assert sim.frames_received == frames and acct.ledger == ledger
            assert len(acct.open_orders) == 60
            await asyncio.sleep(0)
            assert audited[-1][1:] == ("RiskRejected", 0)
            r = await client.batch_cancel(ids[:2])
            assert r.count == 2 and sim.frames_received == frames + 1
            await client.close()

    run(main)


def test_audit_runs_after_the_caller_resumed(run):
    order: list = []

    class Auditor:
        @hookimpl
        def krakenwire_audit(self, request):
            order.append(("audit", request.req_id))

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            client = await _connect(sim, [Auditor()])
            ids = [o.order_id for o in acct.place(6)]
            for k in range(3):
                r = await client.batch_cancel(ids[2 * k : 2 * k + 2])
                order.append(("resumed", r.req_id))
            await asyncio.sleep(0.01)
            await client.close()

    run(main)
    cancels = [e for e in order if e[0] == "resumed"]
    for _, rid in cancels:
        assert order.index(("resumed", rid)) < order.index(("audit", rid))


def test_audit_records_match_the_sim_ledger(run, tmp_path):
    from krakenwire_audit import AuditPlugin, read_records

    async def main():
        path = tmp_path / f"audit-{id(main)}.jsonl"
        plugin = AuditPlugin(path, fsync_every=1)
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            client = await _connect(sim, [plugin])
            ids = [o.order_id for o in acct.place(10)]
            await client.batch_cancel(ids[0:2])
            await client.batch_cancel(ids[2:5])
            await client.batch_cancel([ids[0], ids[5]])  # one already gone: count 1
            await client.batch_cancel(["OZZZZZ-ZZZZZ-ZZZZZZ", "OYYYYY-YYYYY-YYYYYY"])
            await client.cancel_orders(ids[6:10])
            await asyncio.sleep(0.01)
            await client.close()
            ledger = [e for e in acct.ledger if e.method == "batch_cancel"]
        plugin.close()
        recs = [
            r
            for r in read_records(path)
            if r["method"] == "batch_cancel" and r.get("ev") == "outcome"
        ]
        assert [r["req_id"] for r in recs] == [e.req_id for e in ledger]
        assert [r["count"] for r in recs] == [len(e.cancelled) for e in ledger] == [2, 3, 1, 0, 4]
        assert [r["ids"] for r in recs] == [e.requested for e in ledger]
        assert all(r["outcome"] == "ok" and r["latency_ns"] > 0 for r in recs)
        assert sim.token not in path.read_text()

    run(main)


def test_audit_sees_rejections_losses_and_connection_events(run):
    seen: list = []

    class Watcher:
        @hookimpl
        def krakenwire_audit(self, request, outcome):
            seen.append((request.method, type(outcome).__name__))

        @hookimpl
        def krakenwire_connection_event(self, event, detail):
            seen.append((event, TOKEN in str(detail)))

    async def main():
        config = SimConfig(batch_cancel_mode="strict", close_after=3)
        async with Simulator(config=config) as sim:
            acct = sim.account(sim.token)
            client = await _connect(sim, [Watcher()])
            ids = [o.order_id for o in acct.place(6)]
            await client.batch_cancel(ids[:2])
            with pytest.raises(KrakenAPIError):
                await client.batch_cancel(["OZZZZZ-ZZZZZ-ZZZZZZ", ids[2]])
            with pytest.raises(krakenwire.ConnectionLost):
                await client.batch_cancel(ids[3:5])
            await asyncio.sleep(0.01)
            await client.close()

    seen.clear()
    run(main)
    # The executions subscribe is audited too (every request is), before "connected".
    assert seen[0] == ("subscribe", "SubscribeWire")
    assert [e for e in seen if e[0] != "subscribe"][0] == ("connected", False)
    audits = [e for e in seen if e[0] == "batch_cancel"]
    assert [a[1] for a in audits][:2] == ["BatchCancelResult", "InvalidOrder"]
    assert audits[2][1] == "ConnectionLost"
    assert ("disconnected", False) in seen


# ---- entry points --------------------------------------------------------------------------


def test_example_plugin_loads_through_its_entry_point(run, monkeypatch):
    import krakenwire_example

    monkeypatch.setenv("KRAKENWIRE_PLUGINS", "example")
    monkeypatch.delenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    host = PluginHost()
    assert [n for n, _ in host.list_plugins()] == ["example"]
    assert dict(host.list_plugins())["example"] == ["krakenwire_audit", "krakenwire_check_request"]

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(3)]
            monkeypatch.setenv("KRAKENWIRE_EXAMPLE_DENY", ids[0])
            client = await krakenwire.connect(sim.url, token=sim.token)
            before = krakenwire_example.TALLY[("batch_cancel", "ok")]
            frames = sim.frames_received
            with pytest.raises(RiskRejected) as ei:
                await client.batch_cancel(ids[:2])
            assert ei.value.plugin == "example" and ids[0] in ei.value.reason
            assert sim.frames_received == frames
            await client.batch_cancel(ids[1:])
            await asyncio.sleep(0.01)
            assert krakenwire_example.TALLY[("batch_cancel", "ok")] == before + 1
            await client.close()

    run(main)


def test_allow_list_and_disable(monkeypatch, tmp_path):
    monkeypatch.delenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("KRAKENWIRE_PLUGINS", raising=False)
    monkeypatch.delenv("KRAKENWIRE_AUDIT_PATH", raising=False)
    monkeypatch.delenv("KRAKENWIRE_PROMETHEUS_PORT", raising=False)
    names = {n for n, _ in PluginHost().list_plugins()}
    assert "audit" not in names  # its factory found no configuration: nothing registered
    assert "prometheus" not in names
    monkeypatch.setenv("KRAKENWIRE_AUDIT_PATH", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("KRAKENWIRE_PROMETHEUS_PORT", "0")  # configured, never started here
    names = {n for n, _ in PluginHost().list_plugins()}
    assert {"example", "risk", "audit", "prometheus"} <= names
    monkeypatch.setenv("KRAKENWIRE_PLUGINS", "risk, audit")
    assert {n for n, _ in PluginHost().list_plugins()} == {"risk", "audit"}
    monkeypatch.setenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", "1")
    host = PluginHost()
    assert host.list_plugins() == [] and host.check is None and host.audit is None
    monkeypatch.setenv("KRAKENWIRE_PLUGINS", "risk")
    assert [n for n, _ in PluginHost(autoload=True).list_plugins()] == ["risk"]  # explicit wins


def _fake_entry_points(monkeypatch, extra):
    real = importlib.metadata.entry_points

    def entry_points(**kw):
        eps = list(real(**kw))
        if kw.get("group") == "krakenwire":
            eps = extra + [e for e in eps if e.name == "example"]
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_plugin_that_fails_to_import_warns_and_others_load(monkeypatch):
    monkeypatch.delenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("KRAKENWIRE_PLUGINS", raising=False)
    broken = importlib.metadata.EntryPoint("broken", "krakenwire_no_such_module_xyz", "krakenwire")
    _fake_entry_points(monkeypatch, [broken])
    with pytest.warns(RuntimeWarning, match="'broken'.*ModuleNotFoundError"):
        host = PluginHost()
    assert [n for n, _ in host.list_plugins()] == ["example"]
    assert host.failed[0][0] == "broken" and "krakenwire_no_such_module_xyz" in host.failed[0][1]


def test_entry_point_refused_by_validation_warns_and_others_load(monkeypatch):
    monkeypatch.delenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("KRAKENWIRE_PLUGINS", raising=False)
    # an object whose hookimpl names no hook: BAD_PLUGIN at the end of this module
    bad = importlib.metadata.EntryPoint("typo", f"{__name__}:BAD_PLUGIN", "krakenwire")
    _fake_entry_points(monkeypatch, [bad])
    with pytest.warns(RuntimeWarning, match="'typo'.*refused"):
        host = PluginHost()
    assert [n for n, _ in host.list_plugins()] == ["example"]
    assert host.failed[0][0] == "typo"


def test_plugins_cli_lists_plugins_and_hooks(monkeypatch, capsys):
    from krakenwire.cli._plugins import run as plugins_cli

    monkeypatch.delenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("KRAKENWIRE_PLUGINS", "example,risk")
    assert plugins_cli(None) == 0
    out = capsys.readouterr().out
    assert "example  krakenwire_example (krakenwire-example" in out
    assert "    krakenwire_check_request" in out and "    krakenwire_executions" in out
    broken = importlib.metadata.EntryPoint("broken", "krakenwire_no_such_module_xyz", "krakenwire")
    _fake_entry_points(monkeypatch, [broken])
    monkeypatch.delenv("KRAKENWIRE_PLUGINS")
    assert plugins_cli(None) == 1
    assert "status: FAILED broken: ModuleNotFoundError" in capsys.readouterr().out


class _Typo:
    @hookimpl
    def krakenwire_audits(self, request):
        return None


BAD_PLUGIN = _Typo()


def test_a_veto_of_any_chunk_sends_no_chunk_and_leaks_no_pending(run):
    class VetoSecondChunk:
        def __init__(self):
            self.seen = 0

        @krakenwire.hookimpl
        def krakenwire_check_request(self, request):
            self.seen += 1
            if self.seen == 2:
                return krakenwire.Veto("second chunk refused")
            return None

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(120)]
            async with await krakenwire.connect(
                sim.url, token=sim.token, plugins=[VetoSecondChunk()], autoload_plugins=False
            ) as client:
                before = sim.frames_received
                with pytest.raises(krakenwire.RiskRejected, match="second chunk refused"):
                    await client.cancel_orders(ids)
                assert client.pending == 0
                await client.ping()
                assert sim.frames_received == before + 1  # only the ping
            assert len(acct.open_orders) == 120

    run(main)


def test_a_vetoed_confirmed_cancel_orders_leaves_no_watchers(run):
    class VetoAll:
        @krakenwire.hookimpl
        def krakenwire_check_request(self, request):
            return krakenwire.Veto("no")

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(60)]
            async with await krakenwire.connect(
                sim.url, token=sim.token, plugins=[VetoAll()], autoload_plugins=False
            ) as client:
                await client.ping()
                with pytest.raises(krakenwire.RiskRejected):
                    await client.cancel_orders(ids, confirm=1.0)
                assert client.open_orders._watchers == {} and client.pending == 0

    run(main)


def test_entry_point_factories_give_each_client_its_own_instance(monkeypatch):
    from krakenwire_risk import RiskPlugin

    monkeypatch.setenv("KRAKENWIRE_PLUGINS", "risk")
    monkeypatch.delenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    a, b = PluginHost(), PluginHost()
    pa, pb = a.pm.get_plugin("risk"), b.pm.get_plugin("risk")
    assert isinstance(pa, RiskPlugin) and isinstance(pb, RiskPlugin) and pa is not pb


def test_a_plugin_registered_explicitly_is_not_also_autoloaded(monkeypatch):
    from krakenwire_risk import RiskPlugin

    monkeypatch.setenv("KRAKENWIRE_PLUGINS", "risk")
    monkeypatch.delenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    mine = RiskPlugin(tier=None)
    host = PluginHost([mine])
    risks = [p for p in host.pm.get_plugins() if isinstance(p, RiskPlugin)]
    assert risks == [mine]


def test_plugins_cli_lists_inactive_entry_points_with_what_activates_them(monkeypatch, capsys):
    from krakenwire.cli._plugins import run as plugins_cli

    for var in ("DISABLE_PLUGIN_AUTOLOAD", "PLUGINS", "AUDIT_PATH", "PROMETHEUS_PORT"):
        monkeypatch.delenv(f"KRAKENWIRE_{var}", raising=False)
    assert plugins_cli(None) == 0
    out = capsys.readouterr().out
    blocks = {b.split("  ", 1)[0]: b for b in re.split(r"\n(?=\S)", out.strip())}
    assert {"risk", "audit", "prometheus", "example"} <= set(blocks), out
    audit = blocks["audit"]
    assert "status: inactive" in audit and "activated by: KRAKENWIRE_AUDIT_PATH=<file>" in audit
    assert "        krakenwire_request_sent" in audit  # declared by AuditPlugin, not loaded
    assert "activated by: KRAKENWIRE_PROMETHEUS_PORT=<port>" in blocks["prometheus"]
    assert "status: active" in blocks["risk"]
    monkeypatch.setenv("KRAKENWIRE_PLUGINS", "risk")
    assert plugins_cli(None) == 0
    out = capsys.readouterr().out
    assert "not named in KRAKENWIRE_PLUGINS" in out
    monkeypatch.setenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert plugins_cli(None) == 0
    assert "status: active" not in capsys.readouterr().out
