"""Draw the bench history (``bench/history.jsonl``): ``make bench-plot``.

Top: krakenwire's process CPU per request as a ratio to picows + msgspec + Future, and the
latency it adds at p50 as a fraction of python-kraken-sdk's, both against the reflector (runs
since the reflector exists). Bottom: the 10-id p99 ratio to bare picows on the simulator (every
run, the only figure the older lines have).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .report import COLORS, NAMES

HERE = Path(__file__).resolve().parent


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = HERE / "history.jsonl"
    rows = (
        [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []
    )
    if not rows:
        print(f"no history yet in {path}: run `make bench` first", file=sys.stderr)
        return 1
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    labels = [f"{r['date'][:16]}\n{r['commit']}" for r in rows]
    for key, name, color in (
        ("cpu_ratio_picows_future", "CPU / picows + msgspec + Future", COLORS["krakenwire"]),
        ("added_latency_ratio_sdk", "added p50 / python-kraken-sdk's", COLORS["kraken-sdk"]),
    ):
        ax.plot(labels, [r.get(key) for r in rows], marker="o", color=color, label=name)
    ax.axhline(1.03, color=COLORS["krakenwire"], ls="--", lw=0.8)
    ax.axhline(0.05, color=COLORS["kraken-sdk"], ls="--", lw=0.8)
    ax.set_ylabel("krakenwire vs references (reflector)")
    clients = sorted({c for r in rows for c in r.get("rt10_p99_ratio", {})} - {"picows"})
    for c in clients:
        ax2.plot(
            labels,
            [r.get("rt10_p99_ratio", {}).get(c) for r in rows],
            marker="o",
            color=COLORS.get(c),
            lw=3.0 if c == "krakenwire" else 1.2,
            label=NAMES.get(c, c),
        )
    ax2.set_ylabel("simulator: rt10 p99 / bare picows")
    for a in (ax, ax2):
        a.grid(True, alpha=0.3)
        a.legend(fontsize=7)
    plt.setp(ax2.get_xticklabels(), rotation=45, fontsize=7)
    fig.tight_layout()
    out = HERE / "results" / "history.png"
    out.parent.mkdir(exist_ok=True)
    fig.savefig(out, dpi=100)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
