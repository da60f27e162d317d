"""Turn a run's summary into the budget verdicts, the markdown table, the PNG and history line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

NAMES = {
    "krakenwire": "krakenwire",
    "krakenwire+audit": "krakenwire + audit plugin",
    "krakenwire+risk": "krakenwire + risk plugin",
    "picows": "bare picows (floor)",
    "picows-future": "picows + msgspec + Future",
    "kraken-sdk": "python-kraken-sdk SpotWSClient",
    "websockets": "websockets + json",
    "aiohttp": "aiohttp + json",
}
TITLES = {
    "rt10": "10-id batch_cancel round trip, closed loop (µs)",
    "rt50": "50-id batch_cancel round trip, closed loop (µs)",
    "open10": "10-id batch_cancel, open loop at 1000/s, from the intended send time (µs)",
}


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def budgets(s: dict[str, Any]) -> list[dict[str, Any]]:
    """Each DESIGN.md budget: measured value, target, met or not (reported, never asserted)."""
    sc = s["scenarios"]
    out = []

    def add(name: str, value: float | None, target: float, higher_is_better: bool) -> None:
        if value is None:
            out.append({"budget": name, "value": None, "target": target, "met": None})
            return
        met = value >= target if higher_is_better else value <= target
        out.append({"budget": name, "value": value, "target": target, "met": met})

    kw99 = _get(sc, "rt10", "krakenwire", "median", "p99")
    add("rt10 p99 / bare picows (<=)", _get(sc, "rt10", "krakenwire", "ratio", "p99"), 1.15, False)
    for ref, target in (("kraken-sdk", 5.0), ("websockets", 2.5), ("aiohttp", 2.5)):
        other = _get(sc, "rt10", ref, "median", "p99")
        add(
            f"rt10 p99 {ref} / krakenwire (>=)",
            other / kw99 if other and kw99 else None,
            target,
            True,
        )
    add(
        "pipelined 64 rps / bare picows (>=)",
        _get(sc, "pipe64", "krakenwire", "ratio", "rps"),
        0.9,
        True,
    )
    add(
        "client-side 50-id cost excl. socket write, µs (<=)",
        _get(s, "inproc", "ids50", "client_minus_floor_us"),
        5.0,
        False,
    )
    a99 = _get(sc, "rt10", "krakenwire+audit", "median", "p99")
    add("rt10 p99 audit / none (<=)", a99 / kw99 if a99 and kw99 else None, 1.05, False)
    return out


def _row(name: str, e: dict[str, Any]) -> str:
    if "error" in e or "median" not in e:
        return f"| {NAMES.get(name, name)} | {e.get('error', 'no result')} | | | | | |"
    m, r = e["median"], e.get("ratio")
    cells = [
        f"{m[k]:.0f}" + (f" ({r[k]:.2f}x)" if r and name != "picows" else "")
        for k in ("p50", "p90", "p99", "p999", "max")
    ]
    sp = e.get("split")
    split = ""
    if sp:
        tot = sp["in_us"] + sp["engine_us"] + sp["back_us"]
        split = " / ".join(f"{100 * sp[k] / tot:.0f}%" for k in ("in_us", "engine_us", "back_us"))
    return f"| {NAMES.get(name, name)} | " + " | ".join(cells) + f" | {split} |"


def table(s: dict[str, Any]) -> str:
    sc = s["scenarios"]
    lines = [
        f"# krakenwire bench: {s['mode']} run, {s['date']}, commit {s['commit']}",
        "",
        f"{s['rounds']} rounds, clients interleaved; medians across rounds; (ratio to the bare "
        "picows client in the same round, median). Split = share of the median round trip on "
        "the way in / inside the simulator's engine / on the way back (from time_in/time_out).",
    ]
    for scen in ("rt10", "rt50", "open10"):
        if scen not in sc:
            continue
        lines += ["", f"### {TITLES[scen]}", ""]
        lines += ["| client | p50 | p90 | p99 | p99.9 | max | split in/engine/back |"]
        lines += ["|---|---|---|---|---|---|---|"]
        lines += [_row(c, sc[scen][c]) for c in NAMES if c in sc[scen]]
    if "pipe64" in sc:
        lines += [
            "",
            "### Pipelined, 64 in flight (10-id batch_cancel)",
            "",
            "| client | req/s | ratio |",
            "|---|---|---|",
        ]
        for c, e in sc["pipe64"].items():
            if "median" in e:
                ratio = _get(e, "ratio", "rps")
                lines.append(f"| {NAMES[c]} | {e['median']['rps']:.0f} | {ratio or 1:.2f}x |")
    if "cancel1000" in sc:
        lines += ["", "### cancel_orders of 1,000 ids (20 frames of 50), µs", ""]
        lines += ["| client | last frame written p50 / p99 | last ack p50 / p99 |", "|---|---|---|"]
        for c, e in sc["cancel1000"].items():
            if "written" in e:
                w, a = e["written"], e["acked"]
                lines.append(
                    f"| {NAMES[c]} | {w['p50']:.0f} / {w['p99']:.0f} "
                    f"| {a['p50']:.0f} / {a['p99']:.0f} |"
                )
    inp = s.get("inproc")
    if inp and "error" not in inp:
        lines += ["", "### Client-side cost per call, in process (µs, median of batches)", ""]
        lines += [
            "| ids | build+encode | build+encode+send | socket write floor | decode+resolve "
            "| client total | total minus socket floor |"
        ]
        lines += ["|---|---|---|---|---|---|---|"]
        for k, v in inp.items():
            lines.append(
                f"| {k[3:]} | {v['build_encode_us']:.2f} | {v['send_total_us']:.2f} | "
                f"{v['socket_send_floor_us']:.2f} | {v['decode_resolve_us']:.2f} | "
                f"{v['client_total_us']:.2f} | {v['client_minus_floor_us']:.2f} |"
            )
    elif inp:
        lines += ["", f"In-process cost: failed: {inp['error'][-300:]}"]
    if s.get("budgets"):
        lines += ["", "### Budgets (DESIGN.md; reported, not asserted)", ""]
        lines += ["| budget | measured | target | verdict |", "|---|---|---|---|"]
        for b in s["budgets"]:
            v = b["value"]
            verdict = "not measured" if b["met"] is None else ("met" if b["met"] else "MISSED")
            if b["met"] is False:
                verdict += f" by {abs(v - b['target']) / b['target'] * 100:.0f}%"
            shown = "-" if v is None else f"{v:.2f}"
            lines.append(f"| {b['budget']} | {shown} | {b['target']} | {verdict} |")
    if s.get("skipped"):
        lines += ["", "Skipped clients: " + "; ".join(f"{k}: {v}" for k, v in s["skipped"].items())]
    return "\n".join(lines) + "\n"


def plot(s: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from hdrh.histogram import HdrHistogram

    scens = [k for k in ("rt10", "rt50", "open10") if k in s["scenarios"]]
    fig, axes = plt.subplots(1, len(scens), figsize=(6 * len(scens), 4.5), squeeze=False)
    pcts = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99]
    for ax, scen in zip(axes[0], scens, strict=True):
        for c, e in s["scenarios"][scen].items():
            if not e.get("hists"):
                continue
            h = HdrHistogram(1, 60_000_000_000, 3)
            for enc in e["hists"]:
                h.add(HdrHistogram.decode(enc))
            xs = [1 / (1 - p / 100) for p in pcts]
            ax.plot(
                xs,
                [h.get_value_at_percentile(p) / 1000 for p in pcts],
                marker="o",
                label=NAMES.get(c, c),
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([1 / (1 - p / 100) for p in pcts], [str(p) for p in pcts], rotation=45)
        ax.set_xlabel("percentile (all rounds merged)")
        ax.set_ylabel("latency µs")
        ax.set_title(TITLES[scen], fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"krakenwire bench {s['date']} {s['commit']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    fig.savefig(path.with_name("latest-ci.png" if s["mode"] == "ci" else "latest.png"), dpi=100)
    plt.close(fig)


def history_line(s: dict[str, Any]) -> dict[str, Any]:
    sc = s["scenarios"]
    return {
        "date": s["date"],
        "commit": s["commit"],
        "rt10_p99_us": {c: _get(e, "median", "p99") for c, e in sc.get("rt10", {}).items()},
        "rt10_p99_ratio": {c: _get(e, "ratio", "p99") for c, e in sc.get("rt10", {}).items()},
        "pipe64_ratio": _get(sc, "pipe64", "krakenwire", "ratio", "rps"),
        "cost50_us": _get(s, "inproc", "ids50", "client_minus_floor_us"),
    }
