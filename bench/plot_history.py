"""Draw p99 of the 10-id round trip over ``bench/history.jsonl``: ``make bench-plot``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .report import NAMES

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
    clients = sorted({c for r in rows for c in r["rt10_p99_us"]})
    for c in clients:
        ax.plot(labels, [r["rt10_p99_us"].get(c) for r in rows], marker="o", label=NAMES.get(c, c))
        if c != "picows":
            ax2.plot(
                labels,
                [r["rt10_p99_ratio"].get(c) for r in rows],
                marker="o",
                label=NAMES.get(c, c),
            )
    ax.set_ylabel("rt10 p99 µs (median of rounds)")
    ax.set_yscale("log")
    ax2.set_ylabel("p99 / bare picows")
    ax2.axhline(1.15, color="k", ls="--", lw=0.8)
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
