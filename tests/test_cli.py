"""The command line through real subprocesses against a simulator in its own process."""

import asyncio
import json
import os
import subprocess
import sys

import pytest

import krakenwire

PY = sys.executable


@pytest.fixture
def sim_proc():
    """``python -m krakenwire.sim --json`` in a subprocess; yields (info, extra args) factory."""
    procs = []

    def start(*args):
        proc = subprocess.Popen(
            [PY, "-m", "krakenwire.sim", "--json", *args], stdout=subprocess.PIPE, text=True
        )
        procs.append(proc)
        return json.loads(proc.stdout.readline())

    yield start
    for p in procs:
        p.terminate()
        p.wait(10)
        p.stdout.close()


def open_orders(info):
    """Order ids from the executions snapshot, read with the library itself."""
    seen = []

    async def main():
        snap = asyncio.Event()

        def on_exec(ev):
            if ev.type == "snapshot":
                seen.extend(o["order_id"] for o in ev.data)
                snap.set()

        async with await krakenwire.connect(
            info["url"], token=info["token"], on_executions=on_exec
        ):
            await asyncio.wait_for(snap.wait(), 5)

    asyncio.run(main())
    return seen


def cli(*args, env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_")}
    full_env.update(env or {})
    return subprocess.run(
        [PY, "-m", "krakenwire", *args], capture_output=True, text=True, timeout=60, env=full_env
    )


def lines(out):
    return [json.loads(x) for x in out.splitlines()]


def test_cancel_ok_one_json_line_per_reply(sim_proc):
    info = sim_proc("--orders", "3")
    ids = open_orders(info)
    r = cli("cancel", "--url", info["url"], "--token", info["token"], *ids)
    assert r.returncode == 0, r.stderr
    (line,) = lines(r.stdout)
    assert line["success"] is True and line["count"] == 3 and line["orders"] == ids
    assert info["token"] not in r.stdout + r.stderr


def test_cancel_single_id_refused_by_kraken_is_rejected_exit_1(sim_proc):
    # Kraken answers a one-id cancel_order of an id not open with success:false,
    # EOrder:Invalid order: nothing was cancelled, as the library's `ok=False` says.
    info = sim_proc("--orders", "1")
    r = cli("cancel", "--url", info["url"], "--token", info["token"], "OGONE0-XXXXX-XXXXXX")
    assert r.returncode == 1, r.stderr
    (line,) = lines(r.stdout)
    assert line["method"] == "cancel_order" and line["outcome"] == "rejected"
    assert line["success"] is False and line["count"] is None and line["requested"] == 1
    assert line["errors"] == ["EOrder:Invalid order"] and line["error"] == "EOrder:Invalid order"


def test_strict_rejection_exits_1_with_krakens_string(sim_proc):
    info = sim_proc("--orders", "2", "--strict")
    ids = open_orders(info)
    r = cli("cancel", "--url", info["url"], "--token", info["token"], *ids, "OGONE0-XXXXX-XXXXXX")
    assert r.returncode == 1
    (line,) = lines(r.stdout)
    assert line["success"] is False and line["error"] == "EOrder:Invalid order"
    assert line["outcome"] == "rejected" and line["count"] is None


def test_cl_ord_id_repeatable(sim_proc):
    # Per-id warnings are a simulator switch (Kraken documents warnings only as advisories).
    info = sim_proc("--batch-cancel-warnings")
    r = cli(
        "cancel",
        "--url",
        info["url"],
        "--token",
        info["token"],
        "--cl-ord-id",
        "mm-1",
        "--cl-ord-id",
        "mm-2",
    )
    assert r.returncode == 4, r.stderr  # neither is open: fewer cancelled than asked
    (line,) = lines(r.stdout)
    assert line["cl_ord_id"] == ["mm-1", "mm-2"] and line["count"] == 0
    assert len(line["warnings"]) == 2


def test_bad_input_exits_2_and_sends_nothing():
    for args in (
        ["cancel", "--url", "ws://127.0.0.1:9/v2", "--token", "t"],
        ["cancel", "--url", "ws://127.0.0.1:9/v2", "--token", "t", "A", "A"],
        ["cancel", "--url", "ws://127.0.0.1:9/v2", "--token", "t", "--cl-ord-id", "x" * 19],
        ["cancel", "--url", "ws://example.com/v2", "--token", "t", "A", "B"],
        ["cancel", "--url", "ws://127.0.0.1:9/v2", "A", "B"],  # no token, no credentials
    ):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stdout == "" and "cannot connect" not in r.stderr  # port 9 never contacted
    r = cli(
        "cancel",
        "--url",
        "ws://127.0.0.1:9/v2",
        "A",
        "B",
        env={"KRAKEN_API_KEY": "k", "KRAKEN_API_SECRET": "%%%not-base64"},
    )
    assert r.returncode == 2 and "KRAKEN_API_SECRET" in r.stderr and "%%%" not in r.stderr


def test_unreachable_exits_2_nothing_was_sent():
    r = cli("cancel", "--url", "ws://127.0.0.1:9/v2", "--token", "t", "A", "B")
    assert r.returncode == 2 and "cannot connect" in r.stderr and r.stdout == ""
    assert "nothing was sent" in r.stderr and "unknown" not in r.stderr


def test_wss_to_a_plain_server_says_why_without_a_traceback(sim_proc):
    info = sim_proc()
    url = info["url"].replace("ws://", "wss://")
    r = cli("cancel", "--url", url, "--token", info["token"], "A", "B")
    assert r.returncode == 2 and r.stdout == ""  # the handshake failed: nothing was sent
    assert "TLS" in r.stderr and "Logging error" not in r.stderr
    assert "Traceback" not in r.stderr and info["token"] not in r.stderr


def test_a_refused_token_says_the_token_is_the_problem(sim_proc):
    info = sim_proc()
    r = cli("cancel", "--url", info["url"], "--token", "not-a-token", "A", "B")
    assert r.returncode == 1 and "token" in r.stderr and "Traceback" not in r.stderr


def test_more_than_50_cl_ord_ids_are_chunked_with_the_order_ids(sim_proc):
    info = sim_proc("--orders", "30")
    ids = open_orders(info)
    cls = [f"x-{i}" for i in range(60)]  # not open: counted as not cancelled, still sent
    args = [a for c in cls for a in ("--cl-ord-id", c)]
    r = cli("cancel", "--url", info["url"], "--token", info["token"], *args, *ids)
    out = lines(r.stdout)
    assert len(out) == 2 and sum(x["count"] for x in out) == 30
    assert sorted(i for x in out for i in x["cl_ord_id"]) == sorted(cls)
    assert r.returncode == 4  # fewer cancelled than named


def test_timeout_exits_3_outcome_unknown(sim_proc):
    info = sim_proc("--orders", "2", "--drop-prob", "1")
    ids = open_orders(info)
    r = cli("cancel", "--url", info["url"], "--token", info["token"], "--timeout", "0.3", *ids)
    assert r.returncode == 3
    (line,) = lines(r.stdout)
    assert line["outcome"] == "unknown" and line["ids"] == ids


def test_env_credentials_fetch_a_token_over_rest(sim_proc):
    info = sim_proc("--orders", "2")
    ids = open_orders(info)
    env = {"KRAKEN_API_KEY": info["api_key"], "KRAKEN_API_SECRET": info["api_secret"]}
    r = cli("cancel", "--url", info["url"], "--rest-url", info["rest_url"], *ids, env=env)
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout)[0]["count"] == 2
    assert info["api_secret"] not in r.stdout + r.stderr


def test_many_ids_chunked(sim_proc):
    info = sim_proc("--orders", "120")
    ids = open_orders(info)
    r = cli("cancel", "--url", info["url"], "--token", info["token"], *ids)
    assert r.returncode == 0, r.stderr
    out = lines(r.stdout)
    assert [x["count"] for x in out] == [40, 40, 40]


def test_demo_runs_and_confirms_nothing_left():
    r = cli("demo", "--orders", "100", "--rounds", "2", "--samples", "50")
    assert r.returncode == 0, r.stderr
    assert "open orders left in the simulator: 0" in r.stdout
    assert "p99" in r.stdout


def test_no_command_prints_help_and_exits_2():
    r = cli()
    assert r.returncode == 2 and "usage" in r.stderr
