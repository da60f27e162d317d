"""Turn a run's summary into the markdown table, the PNG, the history line and the README block."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

NAMES = {
    "picows": "bare picows, callback (floor)",
    "picows-future": "picows + msgspec + Future",
    "krakenwire": "krakenwire",
    "krakenwire-cb": "krakenwire batch_cancel_cb (callback)",
    "krakenwire+audit": "krakenwire + audit plugin",
    "krakenwire+risk": "krakenwire + risk plugin",
    "aiohttp": "aiohttp + json",
    "websockets": "websockets + json",
    "kraken-sdk": "python-kraken-sdk SpotWSClient",
}
# One colour per client in every panel; krakenwire is the one drawn thick.
COLORS = {
    "picows": "#000000",
    "picows-future": "#7f7f7f",
    "krakenwire": "#d62728",
    "krakenwire-cb": "#ff7f0e",
    "krakenwire+audit": "#e377c2",
    "krakenwire+risk": "#8c564b",
    "aiohttp": "#1f77b4",
    "websockets": "#2ca02c",
    "kraken-sdk": "#9467bd",
}
README_BEGIN = "<!-- bench:latest (written by `make bench`; do not edit by hand) -->"
README_END = "<!-- /bench:latest -->"


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _f(v: Any, fmt: str = "{:.1f}") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def _value(t: dict[str, Any]) -> str:
    v = t["value"]
    if v is None:
        return "-"
    if v == math.inf:
        return "∞ (krakenwire adds ≤ 0)"
    if t["unit"] == "x":
        return f"{v:.2f}x"
    if t["unit"] == "µs":
        return f"{v:+.1f} µs"
    return f"{v:.0f} {t['unit']}"


def targets_table(s: dict[str, Any]) -> list[str]:
    lines = [
        "| figure | measured (median of rounds) | single rounds | target | verdict |",
        "|---|---|---|---|---|",
    ]
    for t in s.get("targets", []):
        if s["mode"] == "ci" and t["value"] is None and not t.get("detail"):
            continue  # a scenario the short run does not include
        tgt = f"{t['op']} {t['target']:g}{'' if t['unit'] == 'x' else ' '}{t['unit']}"
        if t["unit"] == "µs" and t["name"].find("minus") >= 0:
            tgt = f"within {t['target']:g} µs"
        verdict = t["verdict"] + (f" ({t['detail']})" if t.get("detail") else "")
        mm = t.get("rounds_min_max")
        rounds = "" if not mm else " .. ".join(_value({**t, "value": v}) for v in mm)
        lines.append(f"| {t['name']} | {_value(t)} | {rounds} | {tgt} | {verdict} |")
    return lines


def headline_table(s: dict[str, Any]) -> list[str]:
    rt = _get(s, "scenarios", "reflector", "rt10") or {}
    lines = [
        "| client | p50 µs | p99 µs | p99.9 µs | added p50 µs | added p99 µs | CPU µs/request "
        "| CPU / bare picows |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in NAMES:
        e = rt.get(c)
        if e is None:
            continue
        if "median" not in e:
            lines.append(f"| {NAMES[c]} | {e.get('error', 'no result')} | | | | | | |")
            continue
        m, a, r = e["median"], e.get("added", {}), e.get("ratio", {})
        ref = c == "picows"
        lines.append(
            f"| {NAMES[c]} | {m['p50']:.1f} | {m['p99']:.1f} | {m['p999']:.0f} | "
            + ("0 (reference)" if ref else _f(a.get("p50"), "{:+.1f}"))
            + " | "
            + ("0 (reference)" if ref else _f(a.get("p99"), "{:+.1f}"))
            + f" | {m['cpu_us']:.1f} | "
            + ("1.00x" if ref else _f(r.get("cpu_us"), "{:.2f}x"))
            + " |"
        )
    return lines


def _title(s: dict[str, Any]) -> str:
    return f"{s['mode']} run, {s['date']}, commit {s['commit']}"


def table(s: dict[str, Any]) -> str:
    sc = s["scenarios"]
    refl = s["plan"]["reflector"]
    rt_n = next((x["n"] for x in refl["scenarios"] if x["name"] == "rt10"), 0)
    sections = s.get("sections") or ["reflector", "cli", "simulator"]
    lines = [f"# krakenwire bench: {_title(s)}", ""]
    if "reflector" in sections:
        lines += [
            f"Shared, noisy {s['cpus']}-core machine; Python {s['python']}; uvloop everywhere. "
            f"Headline against the reflector (`bench/reflector.py`): {refl['rounds']} "
            f"interleaved rounds of {rt_n} 10-id `batch_cancel` round trips per client, one in "
            "flight; figures are medians over rounds; *added* = the client minus the bare "
            "picows callback client in the same round; CPU = process CPU time of the client's "
            "worker over the measured loop / requests.",
            "",
            "### Headline: 10-id batch_cancel against the reflector",
            "",
            *headline_table(s),
            "",
        ]
    else:
        lines += [
            f"Partial run (`--only {','.join(sections)}`); shared, noisy {s['cpus']}-core "
            f"machine; Python {s['python']}; uvloop everywhere.",
        ]
    if "reflector" in sections or "cli" in sections:
        lines += ["### Targets (DESIGN.md)", "", *targets_table(s)]
    g, bounds = s.get("gate") or {}, s.get("gate_bounds")
    if bounds:
        lines += ["", "### CI gate (bench/gate.py, bounds from bench/baseline.json)", ""]
        lines += ["| gated figure | measured | bound | |", "|---|---|---|---|"]
        for key, bound_key, what in (
            ("cpu_ratio", "cpu_ratio_max", "CPU per request / picows + msgspec + Future"),
            (
                "added_latency_ratio",
                "added_latency_ratio_max",
                "added p50 / python-kraken-sdk's added p50",
            ),
        ):
            v, b = g.get(key), float(bounds[bound_key])
            ok = "-" if v is None else ("pass" if v <= b else "FAIL")
            lines.append(f"| {what} | {_f(v, '{:.2f}')} | <= {b:.2f} | {ok} |")
    pipe = _get(sc, "reflector", "pipe64")
    if pipe:
        lines += ["", "### 64 in flight (10-id batch_cancel, reflector)", ""]
        lines += ["| client | requests/s | / bare picows | CPU µs/request |", "|---|---|---|---|"]
        for c in NAMES:
            e = pipe.get(c)
            if e is None:
                continue
            if "median" not in e:
                lines.append(f"| {NAMES[c]} | {e.get('error', 'no result')} | | |")
                continue
            ratio = "1.00x" if c == "picows" else _f(_get(e, "ratio", "rps"), "{:.2f}x")
            lines.append(
                f"| {NAMES[c]} | {e['median']['rps']:.0f} | {ratio} | {e['median']['cpu_us']:.1f} |"
            )
    c1000 = _get(sc, "reflector", "cancel1000")
    if c1000:
        lines += [
            "",
            "### cancel_orders of 1,000 ids (20 frames of 50, reflector), µs from the call",
            "",
            "Last frame written = the reflector's arrival stamp of the 20th frame minus the "
            "client's start stamp (CLOCK_MONOTONIC in both processes); bare picows writes 20 "
            "pre-encoded frames.",
            "",
            "| client | last frame written p50 / p99 | / bare picows (p50) | last ack p50 / p99 |",
            "|---|---|---|---|",
        ]
        for c in NAMES:
            e = c1000.get(c)
            if e is None:
                continue
            if "median" not in e:
                lines.append(f"| {NAMES[c]} | {e.get('error', 'no result')} | | |")
                continue
            m = e["median"]
            ratio = "1.00x" if c == "picows" else _f(_get(e, "ratio", "written_p50"), "{:.2f}x")
            lines.append(
                f"| {NAMES[c]} | {m['written_p50']:.0f} / {m['written_p99']:.0f} | {ratio} | "
                f"{m['acked_p50']:.0f} / {m['acked_p99']:.0f} |"
            )
    cli = s.get("cli")
    if cli:
        lines += [
            "",
            "### krakenwire cancel: process start to batch_cancel frame at the reflector",
            "",
        ]
        if "error" in cli:
            lines.append(f"Failed: {cli['error']}")
        else:
            lines.append(
                f"`{cli['command']}`: median {cli['median_ms']:.0f} ms (min {cli['min_ms']:.0f}, "
                f"max {cli['max_ms']:.0f}) over {cli['runs']} runs after one untimed run; target "
                f"<= 100 ms. Its first frame (the executions subscribe) arrived at "
                f"{cli.get('first_frame_ms', math.nan):.0f} ms (median); the whole command used "
                f"{cli.get('cpu_ms', math.nan):.0f} ms of CPU (user + sys, until exit). For scale, "
                f"`python -c pass` takes {cli['python_start_ms']:.0f} ms here."
            )
    for scen, title in (
        ("rt10", "10-id batch_cancel round trip, closed loop (µs)"),
        ("open10", "10-id batch_cancel, open loop at 1000/s, from the intended send time (µs)"),
    ):
        e_sc = _get(sc, "simulator", scen)
        if not e_sc:
            continue
        if scen == "rt10":
            sim = s["plan"]["simulator"]
            lines += [
                "",
                "## Realistic: against the simulator",
                "",
                f"`python -m krakenwire.sim` (its engine, the book, every client subscribed to "
                f"executions); {sim['rounds']} rounds; (ratio to bare picows in the same round, "
                "median). Split = share of the median round trip on the way in / inside the "
                "simulator / on the way back (from its time_in/time_out).",
            ]
        lines += ["", f"### {title}", ""]
        lines += ["| client | p50 | p90 | p99 | p99.9 | max | split in/engine/back |"]
        lines += ["|---|---|---|---|---|---|---|"]
        for c in NAMES:
            e = e_sc.get(c)
            if e is None:
                continue
            lines.append(_sim_row(c, e))
    if s.get("standby") is not None:
        lines += ["", *standby_lines(s)]
    if s.get("skipped"):
        lines += ["", "Not measured: " + "; ".join(f"{k}: {v}" for k, v in s["skipped"].items())]
    return "\n".join(lines).lstrip("\n") + "\n"


STANDBY_TITLE = "## Warm standby: failover and hedged cancels (simulator in the bench process)"


def _standby_value(v: Any, unit: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if unit == "ms":
        return f"{v:.1f} ms"
    if unit == "x":
        return f"{v:.1f}x"
    return f"{v:g}"


def standby_targets_table(st: dict[str, Any]) -> list[str]:
    lines = ["| figure | measured | target | verdict |", "|---|---|---|---|"]
    for t in st.get("targets", []):
        unit = t["unit"]
        tgt = f"{t['op']} {t['target']:g}" + (f" {unit}" if unit == "ms" else unit)
        verdict = t["verdict"] + (f" ({t['detail']})" if t.get("detail") else "")
        lines.append(f"| {t['name']} | {_standby_value(t['value'], unit)} | {tgt} | {verdict} |")
    return lines


def standby_lines(s: dict[str, Any]) -> list[str]:
    """The standby section of latest.md: what was run, the per-mode figures, the targets."""
    st = s["standby"]
    lines = [STANDBY_TITLE, ""]
    if "error" in st:
        return [*lines, f"Failed: {st['error']}", "", *standby_targets_table(st)]
    fo, hg = st["failover"], st["hedging"]
    one = fo["standby"]
    lines += [
        "`bench/standby.py`: `krakenwire.sim.Simulator` runs in the client's process, on its "
        "event loop (these are fate latencies in milliseconds, not client CPU; the simulator's "
        "own work is inside them). The primary's death is an abrupt close, seen by the client "
        "at once.",
        "",
        f"**Failover**: {one['inflight']} two-id `batch_cancel`s of open orders and one "
        f"`add_order` in flight on the primary (the simulator executed them and holds their "
        f"replies: {1000 * one['latency']:.0f} ms extra latency on the primary only, "
        f"{1000 * one['standby_latency']:.0f} ms base), then the primary is killed. *Fate "
        "known* = from the kill until each of the 64 has a result or an error that is not "
        "OutcomeUnknown; the ones that end unknown are then given to `client.reconcile` "
        "(which waits for the reconnect and its snapshot) and the time runs until it returns. "
        "Default reconnect settings; one client across all trials (the dead socket is rebuilt "
        "between trials). With fewer than 100 trials, p99 is their maximum.",
        "",
        "| mode | trials | fate known p50 | p99 | max | unknown | failed over | rejected "
        "| cancelled twice | order entry re-sent | dead socket back (p50) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label in (
        ("standby", "`standby=True`: re-sent on the standby"),
        ("no_standby", "no standby: ConnectionLost, reconnect, `reconcile`"),
    ):
        f = fo[key]
        t = f["totals"]
        lines.append(
            f"| {label} | {f['trials']} | {_f(f['fate_p50_ms'])} ms | {_f(f['fate_p99_ms'])} ms "
            f"| {_f(f['fate_max_ms'])} ms | {t['unknown']} | {t['failed_over']} "
            f"| {t['rejected']} | {t['double_cancels']} | {t['order_entry_resent']} "
            + (
                f"| {_f(f['rebuilt_p50_ms'], '{:.0f}')} ms |"
                if f["standby"]
                else "| inside the fate (reconcile waits for it) |"
            )
        )
    lines += [
        "",
        f"**Hedging**: uniform 0..{1000 * hg['jitter']:.0f} ms jitter on every frame to the "
        "primary only (`set_connection_latency(primary, 0, jitter)`), then a closed loop of "
        f"two-id `batch_cancel`s of open orders: {hg['n']} plain (`hedge=False`, the primary) "
        f"and {hg['n']} hedged (`hedge=True`, both sockets, the first reply settles it), in "
        f"{hg['blocks']} alternating blocks. µs.",
        "",
        "| mode | p50 | p90 | p99 | p99.9 | max | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in ("plain", "hedged"):
        m = hg[mode]
        lines.append(
            f"| {mode} | "
            + " | ".join(f"{m[k]:.0f}" for k in ("p50", "p90", "p99", "p999", "max"))
            + f" | {hg['errors'][mode]} |"
        )
    lines += ["", "### Targets (warm standby)", "", *standby_targets_table(st)]
    return lines


def _sim_row(name: str, e: dict[str, Any]) -> str:
    if "median" not in e:
        return f"| {NAMES.get(name, name)} | {e.get('error', 'no result')} | | | | | |"
    m, r = e["median"], e.get("ratio")
    cells = [
        f"{m[k]:.0f}" + (f" ({r[k]:.2f}x)" if r and k in r and name != "picows" else "")
        for k in ("p50", "p90", "p99", "p999", "max")
    ]
    sp = e.get("split")
    split = ""
    if sp:
        tot = sp["in_us"] + sp["engine_us"] + sp["back_us"]
        split = " / ".join(f"{100 * sp[k] / tot:.0f}%" for k in ("in_us", "engine_us", "back_us"))
    return f"| {NAMES.get(name, name)} | " + " | ".join(cells) + f" | {split} |"


def readme_block(s: dict[str, Any]) -> str:
    return "\n".join(
        [
            README_BEGIN,
            f"Latest `make bench` ({s['date']}, commit {s['commit']}; the same run as "
            "[bench/latest.md](bench/latest.md), which has the rest), 10-id `batch_cancel` "
            "against the reflector, one in flight, medians of 7 rounds:",
            "",
            *headline_table(s),
            "",
            *targets_table(s),
            *(
                ["", "Warm standby (details in bench/latest.md):", "", *standby_targets_table(st)]
                if (st := s.get("standby")) is not None
                else []
            ),
            "",
            "![bench](bench/latest.png)",
            README_END,
        ]
    )


def update_readme(path: Path, s: dict[str, Any]) -> bool:
    """Replace the block between the markers with this run's; False when there is none."""
    text = path.read_text()
    pat = re.compile(re.escape(README_BEGIN) + r".*?" + re.escape(README_END), re.S)
    if not pat.search(text):
        return False
    path.write_text(pat.sub(lambda _m: readme_block(s), text, count=1))
    return True


def plot(s: dict[str, Any], path: Path) -> bool:
    """The PNG of the latency curves and CPU; False (nothing written) without reflector data."""
    if not _get(s, "scenarios", "reflector", "rt10"):
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from hdrh.histogram import HdrHistogram

    panels: list[tuple[str, str, str]] = [("reflector", "rt10", "curve")]
    panels.append(("reflector", "rt10", "cpu"))
    if _get(s, "scenarios", "simulator", "rt10"):
        panels.append(("simulator", "rt10", "curve"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.8), squeeze=False)
    pcts = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99]
    xs = [1 / (1 - p / 100) for p in pcts]
    for ax, (phase, scen, kind) in zip(axes[0], panels, strict=True):
        by = _get(s, "scenarios", phase, scen) or {}
        clients = [c for c in NAMES if c in by and "median" in by[c]]
        if kind == "cpu":
            vals = [by[c]["median"]["cpu_us"] for c in clients]
            bars = ax.barh([NAMES[c] for c in clients], vals, color=[COLORS[c] for c in clients])
            for c, b in zip(clients, bars, strict=True):
                if c == "krakenwire":
                    b.set_edgecolor("black")
                    b.set_linewidth(2.5)
            ax.invert_yaxis()
            ax.set_xlabel("process CPU µs per request (median of rounds)")
            ax.set_title("reflector: client CPU per 10-id batch_cancel", fontsize=9)
            ax.tick_params(axis="y", labelsize=7)
            ax.grid(True, axis="x", alpha=0.3)
            continue
        for c in clients:
            e = by[c]
            if not e.get("hists"):
                continue
            h = HdrHistogram(1, 60_000_000_000, 3)
            for enc in e["hists"]:
                h.add(HdrHistogram.decode(enc))
            main = c == "krakenwire"
            ax.plot(
                xs,
                [h.get_value_at_percentile(p) / 1000 for p in pcts],
                marker="o",
                markersize=5 if main else 3,
                lw=3.0 if main else 1.2,
                alpha=1.0 if main else 0.75,
                zorder=10 if main else 2,
                color=COLORS[c],
                label=NAMES[c],
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(xs, [str(p) for p in pcts], rotation=45)
        ax.set_xlabel("percentile (all rounds merged)")
        ax.set_ylabel("round trip µs")
        ax.set_title(f"{phase}: 10-id batch_cancel, closed loop", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"krakenwire bench, {_title(s)}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    fig.savefig(path.with_name("latest-ci.png" if s["mode"] == "ci" else "latest.png"), dpi=100)
    plt.close(fig)
    return True


def history_line(s: dict[str, Any]) -> dict[str, Any]:
    rt = _get(s, "scenarios", "reflector", "rt10") or {}
    sim = _get(s, "scenarios", "simulator", "rt10") or {}
    return {
        "date": s["date"],
        "commit": s["commit"],
        "server": "reflector",
        "cpu_us": {c: _get(e, "median", "cpu_us") for c, e in rt.items()},
        "p50_us": {c: _get(e, "median", "p50") for c, e in rt.items()},
        "added_p50_us": {c: _get(e, "added", "p50") for c, e in rt.items()},
        "cpu_ratio_picows_future": _get(s, "gate", "cpu_ratio"),
        "added_latency_ratio_sdk": _get(s, "gate", "added_latency_ratio"),
        "targets": {t["name"]: [t["value"], t["verdict"]] for t in s.get("targets", [])},
        # The simulator's figures, comparable with the lines before the reflector existed.
        "rt10_p99_us": {c: _get(e, "median", "p99") for c, e in sim.items()},
        "rt10_p99_ratio": {c: _get(e, "ratio", "p99") for c, e in sim.items()},
        "standby_targets": {
            t["name"]: [t["value"], t["verdict"]] for t in (_get(s, "standby", "targets") or [])
        },
        "failover_fate_p99_ms": {
            k: _get(s, "standby", "failover", k, "fate_p99_ms") for k in ("standby", "no_standby")
        },
        "hedge_p999_ratio": _get(s, "standby", "hedging", "p999_ratio"),
    }
