"""The CI gate: pure functions over a run's per-round results, testable without a run.

It reads the 10-id closed loop against the reflector and gates on two ratios to references
measured in the same rounds, never on a raw latency:

- ``cpu_ratio``: krakenwire's process CPU time per request / picows + msgspec + Future's
  (median of the per-round ratios). CPU time is the figure least moved by a noisy machine.
- ``added_latency_ratio``: the latency krakenwire adds at p50 over the bare picows callback
  client / the latency python-kraken-sdk adds (each a per-round difference, median over
  rounds). 0.05 would be "20x smaller than python-kraken-sdk's".

Both bounds live in ``bench/baseline.json`` with the spread they were chosen from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .figures import REF, paired

BASELINE = Path(__file__).with_name("baseline.json")


def load_baseline(path: Path = BASELINE) -> dict[str, Any]:
    return json.loads(path.read_text())


def gate_figures(raw: dict[str, Any]) -> dict[str, float | None]:
    """The two gated figures (None when a client has no result)."""
    rt = raw.get("reflector", {}).get("rt10", {})
    kw, pf, sdk, ref = (rt.get(c) for c in ("krakenwire", "picows-future", "kraken-sdk", REF))
    cpu = paired(kw, pf, lambda a, b: a["cpu_us"] / b["cpu_us"]) if kw and pf else None
    lat = None
    if kw and sdk and ref:
        kw_add = paired(kw, ref, lambda a, b: a["p50"] - b["p50"])
        sdk_add = paired(sdk, ref, lambda a, b: a["p50"] - b["p50"])
        if kw_add is not None and sdk_add is not None and sdk_add > 0:
            lat = kw_add / sdk_add
    return {"cpu_ratio": cpu, "added_latency_ratio": lat}


def check(raw: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Return the gate's failures (empty when it passes)."""
    figs = gate_figures(raw)
    failures = []
    cpu, lat = figs["cpu_ratio"], figs["added_latency_ratio"]
    cpu_max = float(baseline["cpu_ratio_max"])
    lat_max = float(baseline["added_latency_ratio_max"])
    if cpu is None:
        failures.append("no CPU figure: krakenwire or picows + msgspec + Future has no result")
    elif cpu > cpu_max:
        failures.append(
            f"krakenwire CPU per request is {cpu:.2f}x picows + msgspec + Future's "
            f"(bound {cpu_max:.2f}x in baseline.json)"
        )
    if lat is None:
        failures.append(
            "no added-latency figure: krakenwire, bare picows or python-kraken-sdk has no "
            "result (or python-kraken-sdk added nothing over bare picows)"
        )
    elif lat > lat_max:
        failures.append(
            f"krakenwire adds {lat:.2f}x the p50 latency python-kraken-sdk adds over bare "
            f"picows (bound {lat_max:.2f}x in baseline.json)"
        )
    return failures
