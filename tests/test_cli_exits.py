"""The command line's contract in the paths a panic button meets: interrupted with requests in
flight (SIGINT, SIGTERM), refused before a byte was sent, a closed stdout. Each runs the real
``krakenwire`` in a subprocess against a simulator (or a silent socket) on loopback."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

from tests.test_cli import cli, lines, open_orders, sim_proc  # noqa: F401 - sim_proc: fixture

PY = sys.executable
CANCEL_FIELDS = {
    "method",
    "req_id",
    "success",
    "outcome",
    "requested",
    "count",
    "ids",
    "orders",
    "cl_ord_id",
    "warnings",
    "errors",
    "error",
    "shape_warnings",
    "time_in",
    "time_out",
    "latency_us",
}


def conn(info):
    return ["--url", info["url"], "--token", info["token"]]


def _env():
    return {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_")}


def _start(*args):
    return subprocess.Popen(
        [PY, "-m", "krakenwire", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def _wait_gone(info, ids):
    """Until the simulator has executed the cancel (its reply is never sent: --drop-prob 1)."""
    while set(ids) & set(open_orders(info)):
        time.sleep(0.05)  # each look is a connection: the simulator models Kraken's budget


def test_sigint_with_batches_in_flight_prints_each_as_unknown_and_exits_3(sim_proc):  # noqa: F811
    # The simulator executes every trading request and never answers it: the cancel is done
    # and the CLI cannot know. Ctrl-C must say so, per request, not just "interrupted".
    info = sim_proc("--orders", "60", "--drop-prob", "1")
    ids = open_orders(info)
    assert len(ids) == 60
    proc = _start("cancel", *conn(info), "--timeout", "600", *ids)
    _wait_gone(info, ids)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    got = lines(out)
    assert len(got) == 2  # 60 ids: two batch_cancels of 30, both on the wire
    for line in got:
        assert set(line) == CANCEL_FIELDS
        assert line["outcome"] == "unknown" and line["success"] is None
        assert line["method"] == "batch_cancel" and isinstance(line["req_id"], int)
        assert line["requested"] == 30 and line["count"] is None and "SIGINT" in line["error"]
    assert sorted(i for x in got for i in x["ids"]) == sorted(ids)
    assert "2 request(s) in flight" in err and "Traceback" not in err


def test_sigterm_with_one_cancel_order_in_flight_exits_3(sim_proc):  # noqa: F811
    info = sim_proc("--orders", "1", "--drop-prob", "1")
    (one,) = open_orders(info)
    proc = _start("cancel", *conn(info), "--timeout", "600", one)
    _wait_gone(info, [one])
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    (line,) = lines(out)
    assert set(line) == CANCEL_FIELDS and line["method"] == "cancel_order"
    assert line["outcome"] == "unknown" and line["ids"] == [one] and "SIGTERM" in line["error"]


def test_sigint_with_nothing_in_flight_exits_130_and_prints_nothing():
    # A server that accepts the TCP connection and never answers the WebSocket handshake:
    # the CLI is connecting, nothing was sent.
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        proc = _start(
            "cancel", "--url", f"ws://127.0.0.1:{port}/v2", "--token", "t", "--timeout", "600", "A"
        )
        peer, _ = srv.accept()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        peer.close()
    assert proc.returncode == 130, err
    assert out == "" and "nothing was in flight" in err and "Traceback" not in err


def test_add_and_cancel_all_in_flight_are_unknown_on_sigint(sim_proc):  # noqa: F811
    info = sim_proc("--orders", "2", "--drop-prob", "1")
    ids = open_orders(info)
    proc = _start("cancel-all", *conn(info), "--timeout", "600")
    _wait_gone(info, ids)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    (line,) = lines(out)
    assert line["method"] == "cancel_all" and line["outcome"] == "unknown"
    assert line["count"] is None and line["success"] is None


def test_refused_before_a_byte_was_sent_exits_2_never_unknown(sim_proc):  # noqa: F811
    info = sim_proc()
    creds = {"KRAKEN_API_KEY": info["api_key"], "KRAKEN_API_SECRET": info["api_secret"]}
    cases = {
        # plain http:// to a host that is not loopback: a signed request would travel in clear
        "bad rest url": (["--url", info["url"], "--rest-url", "http://example.com"], creds),
        "rest refused": (["--url", info["url"], "--rest-url", "http://127.0.0.1:9"], creds),
        "ws refused": (["--url", "ws://127.0.0.1:9/v2", "--token", "t"], {}),
        "bad ws url": (["--url", "ws://example.com/v2", "--token", "t"], {}),
        "no credentials": (["--url", info["url"]], {}),
    }
    for name, (args, env) in cases.items():
        for cmd in (["cancel", *args, "A", "B"], ["cancel", *args, "A"], ["cancel-all", *args]):
            r = cli(*cmd, env=env)
            assert r.returncode == 2, (name, cmd, r.stderr)
            assert r.stdout == "" and "unknown" not in r.stderr, (name, r.stderr)
            assert "Traceback" not in r.stderr and info["api_secret"] not in r.stderr


def _closed_stdout(*args):
    """Run ``krakenwire ARGS >&-`` (fd 1 closed, as the shell does it)."""
    return subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", PY, "-m", "krakenwire", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )


def test_cancel_with_stdout_closed_keeps_its_lines_on_stderr(sim_proc):  # noqa: F811
    info = sim_proc("--orders", "3")
    ids = open_orders(info)
    r = _closed_stdout("cancel", *conn(info), *ids[:2])
    assert r.returncode == 0, r.stderr  # the outcome's exit code, not a libuv abort (134)
    assert "Assertion" not in r.stderr and "Traceback" not in r.stderr
    (line,) = [json.loads(x) for x in r.stderr.splitlines() if x.startswith("{")]
    assert line["outcome"] == "ok" and line["count"] == 2 and sorted(line["ids"]) == sorted(ids[:2])
    assert open_orders(info) == ids[2:]
    r = _closed_stdout("cancel", *conn(info), "OGONE0-XXXXX-XXXXXX")
    assert r.returncode == 1 and '"outcome":"rejected"' in r.stderr


def test_orders_with_stdout_closed_exits_141_quietly(sim_proc):  # noqa: F811
    info = sim_proc("--orders", "3")
    r = _closed_stdout("orders", *conn(info))
    assert r.returncode == 141, r.stderr
    assert r.stderr == ""


def test_cancel_all_by_symbol_from_the_command_line(sim_proc):  # noqa: F811
    import asyncio

    import krakenwire

    info = sim_proc()

    async def place():
        async with await krakenwire.connect(info["url"], token=info["token"]) as c:
            for symbol, n in (("BTC/USD", 3), ("ETH/USD", 2)):
                for i in range(n):
                    await c.add_order(
                        symbol=symbol, side="buy", order_qty="0.01", limit_price=100 + i
                    )

    asyncio.run(place())
    r = cli("cancel-all", *conn(info), "--symbol", "ETH/USD")
    assert r.returncode == 0, r.stderr
    (line,) = lines(r.stdout)
    assert set(line) == CANCEL_FIELDS and line["method"] == "batch_cancel"
    assert line["count"] == 2 and line["outcome"] == "ok"
    assert len(open_orders(info)) == 3  # BTC/USD untouched
    r = cli("cancel-all", *conn(info), "--symbol", "ETH/USD")
    assert r.returncode == 0 and r.stdout == "" and "nothing sent" in r.stderr
    r = cli("cancel-all", *conn(info), "--symbol", "btcusd")
    assert r.returncode == 2 and "BASE/QUOTE" in r.stderr and r.stdout == ""


def test_the_simulator_with_stdout_closed_does_not_abort():
    # Its first socket would get fd 1; libuv aborts closing it (exit 134 before the fix).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["sh", "-c", 'exec "$@" >&-', "sh", PY, "-m", "krakenwire.sim", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    while proc.poll() is None:  # until it listens (a connection it accepts)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            break
        except OSError:
            continue
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Assertion" not in err, (proc.returncode, err)
