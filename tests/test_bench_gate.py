"""The CI bench gate's logic, fed synthetic results (no bench run, no bench extra needed)."""

import json
from pathlib import Path

from bench import gate

BASELINE = {"rt10_p99_ratio_max": 1.6}


def summary(kw_p99: float, picows_p99: float = 100.0, sdk_p99: float = 400.0) -> dict:
    def entry(p99: float) -> dict:
        return {"median": {"p99": p99}, "ratio": {"p99": p99 / picows_p99}}

    return {
        "scenarios": {
            "rt10": {
                "krakenwire": entry(kw_p99),
                "picows": entry(picows_p99),
                "kraken-sdk": entry(sdk_p99),
            }
        }
    }


def test_passes_at_measured_speed():
    assert gate.check(summary(120.0), BASELINE) == []


def test_fails_when_client_is_artificially_slowed():
    # The same run with 60 µs of injected work per request: p99 ratio 1.8x > 1.6x.
    failures = gate.check(summary(120.0 + 60.0), BASELINE)
    assert len(failures) == 1 and "bare picows" in failures[0]


def test_fails_when_not_ahead_of_kraken_sdk():
    failures = gate.check(summary(150.0, sdk_p99=150.0), BASELINE)
    assert len(failures) == 1 and "python-kraken-sdk" in failures[0]


def test_fails_when_a_client_is_missing():
    s = summary(120.0)
    del s["scenarios"]["rt10"]["kraken-sdk"]
    assert gate.check(s, BASELINE) == ["rt10 has no python-kraken-sdk result"]
    del s["scenarios"]["rt10"]["picows"]
    assert gate.check(s, BASELINE) != []


def test_committed_baseline_is_readable_and_sane():
    base = gate.load_baseline()
    assert 1.0 < float(base["rt10_p99_ratio_max"]) <= 3.0
    assert json.loads(Path(gate.BASELINE).read_text()) == base
