"""The CI bench gate and the figures behind it, fed synthetic per-round results (no bench
run, no bench extra needed), and one real short run that must fail on an injected slowdown."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from bench import figures, gate

ROOT = Path(__file__).resolve().parent.parent
BASELINE = {"cpu_ratio_max": 1.5, "added_latency_ratio_max": 0.5}


def rounds(p50, cpu, n=5, p99=None):
    return [{"p50": p50, "p99": p99 or 2 * p50, "p999": 3 * p50, "cpu_us": cpu} for _ in range(n)]


def raw(kw_p50=27.0, kw_cpu=22.0, *, pf_cpu=17.0, sdk_p50=90.0, ref_p50=24.0):
    return {
        "reflector": {
            "rt10": {
                "picows": rounds(ref_p50, 12.0),
                "picows-future": rounds(31.0, pf_cpu),
                "krakenwire": rounds(kw_p50, kw_cpu),
                "kraken-sdk": rounds(sdk_p50, 66.0),
            }
        }
    }


def test_passes_at_measured_speed():
    assert gate.check(raw(), BASELINE) == []
    figs = gate.gate_figures(raw())
    assert figs["cpu_ratio"] == pytest.approx(22 / 17)
    assert figs["added_latency_ratio"] == pytest.approx(3 / 66)


def test_fails_when_client_is_artificially_slowed():
    # The same run with 50 µs of busy-wait per krakenwire request: +50 µs CPU and latency.
    failures = gate.check(raw(kw_p50=27.0 + 50, kw_cpu=22.0 + 50), BASELINE)
    assert len(failures) == 2
    assert "CPU" in failures[0] and "python-kraken-sdk" in failures[1]


def test_fails_on_cpu_alone():
    failures = gate.check(raw(kw_cpu=17.0 * 1.6), BASELINE)
    assert len(failures) == 1 and "CPU" in failures[0]


def test_ratios_are_taken_within_a_round():
    # A slow round for everyone does not move the per-round ratio.
    r = raw()
    for rs in r["reflector"]["rt10"].values():
        rs[0] = {k: v * 3 for k, v in rs[0].items()}
    assert gate.gate_figures(r)["cpu_ratio"] == pytest.approx(22 / 17)


def test_fails_when_a_client_is_missing():
    r = raw()
    del r["reflector"]["rt10"]["kraken-sdk"]
    assert len(gate.check(r, BASELINE)) == 1
    r["reflector"]["rt10"]["picows-future"] = [{"error": "boom"}] * 5
    assert len(gate.check(r, BASELINE)) == 2


def test_committed_baseline_is_readable_and_sane():
    base = gate.load_baseline()
    assert 1.0 < float(base["cpu_ratio_max"]) <= 3.0
    assert 0.0 < float(base["added_latency_ratio_max"]) < 1.0
    assert json.loads(Path(gate.BASELINE).read_text()) == base


def test_cancel_rounds_pairs_stamps_with_runs():
    # 2 runs of 3 frames; the first is warm-up.
    starts, acks = [1_000_000, 2_000_000], [1_500_000, 2_600_000]
    stamps = [1_010_000, 1_020_000, 1_030_000, 2_010_000, 2_020_000, 2_040_000]
    out = figures.cancel_rounds(starts, acks, stamps, warmup=1)
    assert out["frames"] == 3
    assert out["written_p50"] == 40.0 and out["acked_p50"] == 600.0
    assert "error" in figures.cancel_rounds(starts, acks, stamps[:-1], warmup=1)


def test_targets_say_not_available_rather_than_guess():
    r = raw()
    r["reflector"]["rt10"]["krakenwire-cb"] = [{"error": "not available: no batch_cancel_cb"}]
    t = {x["name"]: x for x in figures.targets(r, None)}
    cb = [x for name, x in t.items() if name.startswith("callback")]
    assert len(cb) == 2 and all(x["verdict"] == "not available" and x["value"] is None for x in cb)
    sdk = t["added latency at p50: python-kraken-sdk's / krakenwire's"]
    assert sdk["value"] == pytest.approx(66 / 3) and sdk["verdict"] == "PASS"
    cpu = t["awaitable batch_cancel: CPU per request / picows+msgspec+Future"]
    assert cpu["verdict"] == "MISS"
    assert t["krakenwire cancel: process start to frame on the wire (median)"]["verdict"] == (
        "not available"
    )


def test_added_latency_at_or_below_zero_passes():
    t = figures.targets(raw(kw_p50=23.0), {"median_ms": 80.0})
    sdk = next(x for x in t if x["name"].startswith("added latency at p50: python"))
    assert sdk["value"] == math.inf and sdk["verdict"] == "PASS"
    assert t[-1]["verdict"] == "PASS"


BENCH_EXTRA = all(importlib.util.find_spec(m) for m in ("hdrh", "kraken", "matplotlib"))


@pytest.mark.skipif(not BENCH_EXTRA, reason="needs the bench extra (make bench-ci installs it)")
@pytest.mark.timeout(300)
def test_real_short_gate_run_fails_on_injected_slowdown():
    # 300 µs of busy-wait before every krakenwire request: far beyond this machine's noise
    # (krakenwire's whole CPU cost per request is ~20-40 µs), so both gated ratios trip.
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--ci", "--rounds", "3", "--n", "600"]
        + ["--inject-delay-us", "300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert "bench-ci FAILED: krakenwire CPU per request" in out.stderr
    assert "bench-ci FAILED: krakenwire adds" in out.stderr
