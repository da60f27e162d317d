"""The tick-to-cancel bench: its frames are valid Kraken book frames, and a short run of it
measures every client it names (no timing is asserted, only that the machinery works)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from krakenwire.market import Book
from krakenwire.market._messages import decoders

ROOT = Path(__file__).resolve().parent.parent
bench = pytest.importorskip("bench.tick_to_cancel")


def test_frames_carry_krakens_checksum_and_triggers_move_the_mid() -> None:
    snap, frames, flags = bench.make_frames(300, 10)
    fast, _, _ = decoders()
    book = Book("BTC/USD", 10, 1, 8)
    assert book.snapshot(fast.decode(snap).data[0])
    bids = [book.best_bid]
    for raw in frames:
        assert book.update(fast.decode(raw).data[0]), "a frame's checksum does not match"
        bids.append(book.best_bid)
    moved = [i for i in range(1, len(bids)) if bids[i] != bids[i - 1]]
    assert moved == [i + 1 for i, f in enumerate(flags) if f]  # only triggers move the best bid
    assert all(abs(bids[i] - bids[i - 1]) == pytest.approx(bench.TICKS * 0.1) for i in moved)


def test_a_short_run_matches_every_trigger_to_a_cancel() -> None:
    plan = {
        "quiet": {"frames": 100, "trigger": 10, "burst": 1, "period": 0.002},
        "flood": {"frames": 400, "trigger": 100, "burst": 20, "period": 0.001},
        "clients": ["picows", "krakenwire-cb", "krakenwire-await"],
        "rounds": 1,
    }
    env = {**os.environ, "KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "bench.tick_to_cancel", json.dumps(plan)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    for mode, triggers in (("quiet", 10), ("flood", 4)):
        for client in plan["clients"]:
            fig = res["results"][mode][client]
            assert "error" not in fig, fig
            assert fig["triggers"] == triggers and fig["n"] == triggers, (mode, client, fig)
            assert fig["updates"] >= plan[mode]["frames"]
    assert "p50 krakenwire-cb / picows" in " ".join(res["verdicts"])
    assert "Tick-to-cancel" in bench.table(res)
