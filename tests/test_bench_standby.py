"""The bench's warm-standby section (bench/standby.py) with tiny trial counts: the structure of
its figures and the invariants (none unknown with a standby, none cancelled twice, no order
entry re-sent), never a timing; then the targets and the report built from them."""

import asyncio

import pytest

pytest.importorskip("hdrh")  # the bench extra (bench.worker's histograms)

from bench import __main__ as runner  # noqa: E402
from bench import figures, report, standby  # noqa: E402

TOTALS = {
    "unknown",
    "rejected",
    "failed_over",
    "answered_before_kill",
    "double_cancels",
    "not_cancelled",
    "reconciled_open",
    "order_entry_resent",
}


def _check_failover(f, standby_on, trials, inflight):
    for key in ("fate_p50_ms", "fate_p99_ms", "fate_max_ms", "rebuilt_p50_ms", "entry_outcomes"):
        assert key in f
    assert f["standby"] is standby_on and f["trials"] == trials
    assert set(f["totals"]) == TOTALS and len(f["per_trial"]) == trials
    t = f["totals"]
    assert t["double_cancels"] == 0 and t["order_entry_resent"] == 0
    assert t["not_cancelled"] == 0 and t["reconciled_open"] == 0 and t["rejected"] == 0
    for trial in f["per_trial"]:
        assert trial["order_entry_sent"] == 1 and trial["fate_ms"] >= 0
    if standby_on:
        assert t["unknown"] == 0
        assert t["failed_over"] + t["answered_before_kill"] == trials * inflight
    else:
        assert t["unknown"] + t["answered_before_kill"] == trials * inflight


def test_standby_scenarios_structure_and_invariants():
    async def main():
        return {
            "failover": {
                "standby": await standby.failover(2, True, inflight=8),
                "no_standby": await standby.failover(1, False, inflight=4),
            },
            "hedging": await standby.hedging(20, blocks=2, warmup=2, jitter=0.005),
        }

    st = asyncio.run(main())
    _check_failover(st["failover"]["standby"], True, 2, 8)
    _check_failover(st["failover"]["no_standby"], False, 1, 4)
    hg = st["hedging"]
    assert hg["errors"] == {"plain": 0, "hedged": 0} and hg["double_cancels"] == 0
    for mode in ("plain", "hedged"):
        assert hg[mode]["count"] == 20
        assert {"p50", "p99", "p999", "max"} <= set(hg[mode])
    assert hg["p999_ratio"] is not None and hg["p99_ratio"] is not None

    targets = figures.standby_targets(st)
    assert len(targets) == 5
    assert all(t["verdict"] in ("PASS", "MISS") for t in targets)
    counts = [t for t in targets if t["unit"] == ""]  # unknown, cancelled twice, re-sent
    assert len(counts) == 3 and all(t["value"] == 0 and t["verdict"] == "PASS" for t in counts)
    st["targets"] = targets
    summary = {
        "date": "2026-01-01T00:00:00+00:00",
        "commit": "abc1234",
        "mode": "full",
        "sections": ["standby"],
        "cpus": 2,
        "python": "3.11",
        "plan": runner.plan("full", None),
        "scenarios": {},
        "standby": st,
    }
    text = report.table(summary)
    assert report.STANDBY_TITLE in text and "Targets (warm standby)" in text
    assert "Headline" not in text  # a partial run shows only what it ran
    assert all(row in text.splitlines() for row in report.standby_targets_table(st))
    assert "standby_targets" in report.history_line(summary)


def test_standby_targets_when_not_run_or_failed():
    assert all(t["verdict"] == "not available" for t in figures.standby_targets(None))
    failed = figures.standby_targets({"error": "RuntimeError: boom"})
    assert all(t["verdict"] == "not available" and "boom" in t["detail"] for t in failed)
    lines = report.standby_lines({"standby": {"error": "RuntimeError: boom", "targets": failed}})
    assert any("Failed: RuntimeError: boom" in line for line in lines)


def test_only_selects_sections_and_ci_has_no_standby():
    full = runner.plan("full", None)
    assert runner.sections_of(full, None) == ["reflector", "cli", "simulator", "standby", "tick"]
    assert runner.sections_of(full, "standby") == ["standby"]
    assert runner.sections_of(full, "standby,reflector") == ["reflector", "standby"]
    ci = runner.plan("ci", None)
    assert runner.sections_of(ci, None) == ["reflector"]
    with pytest.raises(ValueError):
        runner.sections_of(ci, "standby")
    with pytest.raises(ValueError):
        runner.sections_of(full, "nope")
