"""`krakenwire add`, `orders` and `cancel-all` through real subprocesses against a simulator in
its own process: JSON lines on stdout and the exit codes of `krakenwire cancel`."""

from tests.test_cli import cli, lines, sim_proc  # noqa: F401 - sim_proc is a fixture


def conn(info):
    return ["--url", info["url"], "--token", info["token"]]


def test_add_orders_cancel_all_round_trip(sim_proc):  # noqa: F811
    info = sim_proc("--orders", "2")
    r = cli(
        "add",
        *conn(info),
        "--symbol",
        "BTC/USD",
        "--side",
        "buy",
        "--qty",
        "0.00010000",
        "--price",
        "29000.5",
        "--post-only",
        "--cl-ord-id",
        "cli-1",
    )
    assert r.returncode == 0, r.stderr
    (added,) = lines(r.stdout)
    assert added["success"] is True and added["order_id"] and added["cl_ord_id"] == "cli-1"
    r = cli(
        "add",
        *conn(info),
        "--symbol",
        "BTC/USD",
        "--side",
        "sell",
        "--qty",
        "1",
        "--price",
        "31000",
        "--userref",
        "42",
        "--tif",
        "gtc",
    )
    assert r.returncode == 0, r.stderr
    r = cli("orders", *conn(info))
    assert r.returncode == 0, r.stderr
    listed = lines(r.stdout)
    assert len(listed) == 4
    mine = next(o for o in listed if o.get("cl_ord_id") == "cli-1")
    assert mine["order_id"] == added["order_id"]
    assert mine["limit_price"] == 29000.5 and mine["order_qty"] == 0.0001
    assert '"order_qty":0.00010000' in r.stdout  # exact digits as a JSON number
    assert any(o["order_userref"] == 42 for o in listed)
    r = cli("cancel-all", *conn(info))
    assert r.returncode == 0, r.stderr
    (line,) = lines(r.stdout)
    assert line["method"] == "cancel_all" and line["count"] == 4 and line["success"] is True
    r = cli("orders", *conn(info))
    assert r.returncode == 0 and r.stdout == ""


def test_add_rejected_by_kraken_exits_1_with_the_exact_string(sim_proc):  # noqa: F811
    info = sim_proc()
    args = ["--symbol", "BTC/USD", "--side", "buy", "--qty", "1", "--price", "1"]
    first = cli("add", *conn(info), *args, "--cl-ord-id", "dup")
    assert first.returncode == 0
    r = cli("add", *conn(info), *args, "--cl-ord-id", "dup")
    assert r.returncode == 1
    (line,) = lines(r.stdout)
    assert line == {
        "method": "add_order",
        "req_id": line["req_id"],
        "success": False,
        "outcome": "rejected",
        "order_id": None,
        "cl_ord_id": "dup",
        "order_userref": None,
        "warnings": [],
        "error": "EGeneral:Invalid arguments",
        "time_in": None,
        "time_out": None,
        "latency_us": None,
    }
    assert set(line) == set(lines(first.stdout)[0])  # the same fields as a success


def test_add_bad_input_exits_2_and_sends_nothing():
    base = [
        "add",
        "--url",
        "ws://127.0.0.1:9/v2",
        "--token",
        "t",
        "--symbol",
        "BTC/USD",
        "--side",
        "buy",
    ]
    for extra in (
        ["--qty", "0", "--price", "1"],
        ["--qty", "-1", "--price", "1"],
        ["--qty", "1"],  # a limit order without a price
        ["--qty", "1", "--price", "abc"],
        ["--qty", "1", "--price", "1", "--cl-ord-id", "a", "--userref", "1"],
        ["--qty", "1", "--price", "1", "--tif", "gtd"],  # gtd without expire time
    ):
        r = cli(*base, *extra)
        assert r.returncode == 2, (extra, r.stderr)
        assert r.stdout == "" and "cannot connect" not in r.stderr  # port 9 never contacted


def test_orders_and_cancel_all_unreachable_exit_2():
    for cmd in ("orders", "cancel-all"):
        r = cli(cmd, "--url", "ws://127.0.0.1:9/v2", "--token", "t")
        assert r.returncode == 2 and r.stdout == "" and "nothing was sent" in r.stderr
