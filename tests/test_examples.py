"""The scripts in examples/ run against the simulator: on their own (each starts one
in-process), and pointed at a simulator in another process with --url/--token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PY = sys.executable

# script -> (extra args, expected exit status, a line its output must contain)
RUNS = {
    "pull_quotes.py": ([], 0, "quotes still open: 0"),
    "dead_mans_switch.py": (
        ["--crash", "--timeout", "1", "--every", "0.3", "--run-for", "0.5"],
        0,
        "the switch fired",
    ),
    "risk_plugin.py": ([], 0, "vetoed, nothing sent"),
    "audit_reader.py": ([], 1, "UNKNOWN outcome: batch_cancel"),  # the sample has one
    "reconnect_reconcile.py": ([], 0, "60 open, re-cancelled 60"),
    "quoter.py": (["--rounds", "3"], 0, "quotes still open: 0"),
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN", "PYTHON"))}
    env["KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(RUNS)


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_runs_on_its_own_simulator(script):
    args, code, expect = RUNS[script]
    r = _run(script, *args)
    assert r.returncode == code, r.stdout + r.stderr
    assert expect in r.stdout, r.stdout
    assert "Traceback" not in r.stderr, r.stderr


@pytest.fixture(scope="module")
def sim_info():
    proc = subprocess.Popen(
        [PY, "-m", "krakenwire.sim", "--json"], stdout=subprocess.PIPE, text=True, env=_env()
    )
    try:
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


@pytest.mark.parametrize(
    "script, args, expect",
    [
        ("pull_quotes.py", ["--quotes", "30", "--after", "0.1"], "quotes still open: 0"),
        ("dead_mans_switch.py", ["--timeout", "5", "--every", "1", "--run-for", "0.2"], "disarmed"),
        ("risk_plugin.py", [], "vetoed, nothing sent"),
        ("reconnect_reconcile.py", [], "quotes still open: 0"),
    ],
)
def test_example_against_a_simulator_in_another_process(sim_info, script, args, expect):
    r = _run(script, "--url", sim_info["url"], "--token", sim_info["token"], *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert expect in r.stdout


def test_quoter_against_a_simulator_in_another_process():
    """Its trading and market-data URLs from ``krakenwire sim --market --json``."""
    cmd = [PY, "-m", "krakenwire.sim", "--json", "--market", "--market-interval", "0.02"]
    cmd += ["--book-interval", "0.005"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        r = _run(
            "quoter.py",
            *("--url", info["url"], "--token", info["token"]),
            *("--public-url", info["public_url"], "--rounds", "2"),
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert "quotes still open: 0" in r.stdout and "round 2: mid moved" in r.stdout
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_examples_refuse_a_real_url_without_live():
    r = _run("pull_quotes.py", "--url", "wss://ws-auth.kraken.com/v2", "--token", "t")
    assert r.returncode == 2 and "--live" in r.stderr


def test_audit_reader_reads_a_given_file_as_json(tmp_path):
    path = tmp_path / "audit.jsonl"
    records = [
        {
            "ts": "t1",
            "req_id": 1,
            "method": "batch_cancel",
            "ids": ["A", "B"],
            "outcome": "ok",
            "count": 2,
            "latency_ns": 100_000,
        },
        {
            "ts": "t2",
            "req_id": 2,
            "method": "batch_cancel",
            "ids": ["C", "D"],
            "outcome": "rejected",
            "error": "EOrder:Invalid order",
            "latency_ns": 90_000,
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"ts": "t3", "req')
    r = _run("audit_reader.py", "--json", str(path))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["records"] == 2 and summary["unknown"] == []  # the torn last line: dropped
    assert summary["methods"]["batch_cancel"]["outcomes"] == {"ok": 1, "rejected": 1}
    assert summary["methods"]["batch_cancel"]["latency_us"]["p50"] == 100.0


def test_audit_reader_counts_each_request_once_intent_and_outcome_paired(tmp_path):
    # krakenwire-audit writes an intent record before the frame and an outcome after it
    # settles: two records, one request. An intent alone is a request in flight at the stop.
    path = tmp_path / "audit.jsonl"
    base = {"run": "r1", "method": "batch_cancel"}
    records = [
        {**base, "ev": "intent", "ts": "t1", "req_id": 1, "ids": ["A", "B"]},
        {**base, "ev": "outcome", "ts": "t2", "req_id": 1, "ids": ["A", "B"], "outcome": "ok"},
        {**base, "ev": "intent", "ts": "t3", "req_id": 2, "ids": ["C", "D"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    r = _run("audit_reader.py", "--json", str(path))
    assert r.returncode == 1, r.stderr  # one outcome is unknown
    summary = json.loads(r.stdout)
    assert summary["records"] == 3 and summary["requests"] == 2
    assert summary["methods"]["batch_cancel"]["outcomes"] == {"ok": 1, "unknown": 1}
    assert [u["ids"] for u in summary["unknown"]] == [["C", "D"]]
    # The sample written against the simulator: every request counted once.
    r = _run("audit_reader.py", "--json")
    summary = json.loads(r.stdout)
    total = sum(n for m in summary["methods"].values() for n in m["outcomes"].values())
    assert total == summary["requests"] < summary["records"]
    assert "?" not in {o for m in summary["methods"].values() for o in m["outcomes"]}
