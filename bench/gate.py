"""The CI gate: pure functions over a run's summary, so their logic is testable without a run.

The gate reads the 10-id closed-loop round trip (``rt10``): krakenwire's p99 as a ratio to the
bare picows client (the median of the per-round ratios, each measured in the same round) must
not exceed ``bench/baseline.json``'s bound, and krakenwire's median p99 must be below
python-kraken-sdk's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BASELINE = Path(__file__).with_name("baseline.json")


def load_baseline(path: Path = BASELINE) -> dict[str, Any]:
    return json.loads(path.read_text())


def check(summary: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Return the gate's failures (empty when it passes)."""
    failures = []
    rt = summary["scenarios"].get("rt10", {})
    kw, sdk = rt.get("krakenwire"), rt.get("kraken-sdk")
    if kw is None or "picows" not in rt:
        return ["rt10 has no krakenwire or bare picows result"]
    bound = float(baseline["rt10_p99_ratio_max"])
    ratio = kw["ratio"]["p99"]
    if ratio > bound:
        failures.append(
            f"krakenwire p99 is {ratio:.2f}x bare picows (bound {bound:.2f}x in baseline.json)"
        )
    if sdk is None:
        failures.append("rt10 has no python-kraken-sdk result")
    elif kw["median"]["p99"] >= sdk["median"]["p99"]:
        failures.append(
            f"krakenwire p99 {kw['median']['p99']:.0f} us is not below "
            f"python-kraken-sdk's {sdk['median']['p99']:.0f} us"
        )
    return failures
