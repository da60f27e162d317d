"""The command line never surprises: every cancel path prints the same fields, exit codes say
what happened (4: fewer cancelled than asked), bad values exit 2 with one line of text, no
traceback ever reaches the user, and ``--help`` documents every option and the exit codes."""

import argparse
import re
from pathlib import Path

import pytest

from krakenwire import cli as cli_module
from tests.test_cli import cli, lines, open_orders, sim_proc  # noqa: F401 - sim_proc: fixture

README = Path(__file__).resolve().parent.parent / "README.md"
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


def test_every_cancel_path_prints_the_same_fields(sim_proc):  # noqa: F811
    info = sim_proc("--orders", "60")
    ids = open_orders(info)
    seen = {}
    # 1 id (cancel_order), 2 ids (batch_cancel), 57 ids (two batch_cancels), unknown ids
    for name, args in {
        "one": ids[:1],
        "two": ids[1:3],
        "many": ids[3:61],
        "one_unknown": ["OGONE0-XXXXX-XXXXXX"],
        "two_unknown": ["OGONE0-XXXXX-XXXXXX", "OGONE1-XXXXX-XXXXXX"],
    }.items():
        r = cli("cancel", *conn(info), *args)
        seen[name] = (r.returncode, lines(r.stdout))
    for name, (_, out) in seen.items():
        for line in out:
            assert set(line) == CANCEL_FIELDS, name
            assert isinstance(line["latency_us"], float) and line["latency_us"] > 0, name
            assert line["time_in"].endswith("Z") and line["time_out"], name
    assert seen["one"][0] == 0 and seen["one"][1][0]["method"] == "cancel_order"
    assert seen["one"][1][0]["count"] == 1 and seen["one"][1][0]["outcome"] == "ok"
    assert seen["two"][0] == 0 and seen["two"][1][0]["method"] == "batch_cancel"
    assert seen["many"][0] == 0 and [x["count"] for x in seen["many"][1]] == [29, 28]
    # 1 unknown id: Kraken refuses the cancel_order (rejected, exit 1); 2 unknown ids: Kraken
    # accepts the batch_cancel and cancels none of them (partial, exit 4).
    assert seen["one_unknown"][0] == 1 and seen["two_unknown"][0] == 4
    (line,) = seen["one_unknown"][1]
    assert line["outcome"] == "rejected" and line["count"] is None and line["success"] is False
    (line,) = seen["two_unknown"][1]
    assert line["outcome"] == "partial" and line["count"] == 0 and line["success"] is True


def test_partial_among_many_exits_4_and_timeout_lines_have_the_fields(sim_proc):  # noqa: F811
    info = sim_proc("--orders", "3")
    ids = open_orders(info)
    r = cli("cancel", *conn(info), *ids, "OGONE0-XXXXX-XXXXXX")
    assert r.returncode == 4
    (line,) = lines(r.stdout)
    assert line["count"] == 3 and line["requested"] == 4
    info = sim_proc("--orders", "1", "--drop-prob", "1")
    (one,) = open_orders(info)
    r = cli("cancel", *conn(info), "--timeout", "0.3", one)
    assert r.returncode == 3
    (line,) = lines(r.stdout)
    assert set(line) == CANCEL_FIELDS and line["outcome"] == "unknown"
    assert line["success"] is None and line["ids"] == [one] and line["latency_us"] is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--timeout", "nan"], "--timeout"),
        (["--timeout", "-1"], "--timeout"),
        (["--timeout", "0"], "--timeout"),
        (["--timeout", "inf"], "--timeout"),
        (["--timeout", "soon"], "--timeout"),
        (["--url", "ws://127.0.0.1:99999/v2"], "Port out of range"),
        (["--url", "ws://[::1"], "Invalid IPv6 URL"),
        (["--url", "ws://127.0.0.1:0/v2"], "port 0"),
        (["--url", "http://127.0.0.1:9/v2"], "ws://"),
        (["--rest-url", "ftp://x"], "--rest-url"),
    ],
)
def test_bad_values_exit_2_with_a_clear_message(args, message, capsys):
    base = {"--url": "ws://127.0.0.1:9/v2", "--token": "t"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for kv in base.items() for x in kv]
    for cmd in (["cancel", *flat, "A", "B"], ["cancel-all", *flat], ["orders", *flat]):
        with pytest.raises(SystemExit) as exc:  # argparse: before anything connects
            cli_module.main(cmd)
        out = capsys.readouterr()
        assert exc.value.code == 2, cmd
        assert message in out.err and out.out == "" and "usage:" in out.err


def test_bad_values_through_the_real_command():
    for args in (
        ["--timeout", "nan"],
        ["--url", "ws://127.0.0.1:99999/v2"],
        ["--url", "ws://[::1"],
    ):
        base = {"--url": "ws://127.0.0.1:9/v2", "--token": "t"}
        base[args[0]] = args[1]
        r = cli("cancel", *[x for kv in base.items() for x in kv], "A", "B")
        assert r.returncode == 2 and "Traceback" not in r.stderr and r.stdout == ""
        assert r.stderr.strip().splitlines()[-1].startswith("krakenwire cancel: error: argument")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "99999"], "--port"),
        (["--port", "-1"], "--port"),
        (["--latency", "nan"], "--latency"),
        (["--latency", "-1"], "--latency"),
        (["--drop-prob", "2"], "--drop-prob"),
        (["--drop-prob", "nan"], "--drop-prob"),
        (["--orders", "-5"], "--orders"),
    ],
)
def test_sim_values_are_checked_before_it_starts(args, message, capsys):
    assert cli_module.main(["sim", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"krakenwire sim: error: argument {message}") and "Traceback" not in err


def test_demo_counts_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exc:
        cli_module.main(["demo", "--orders", "0"])
    assert exc.value.code == 2 and "--orders: must be >= 1" in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_on_stderr_and_exit_3(monkeypatch, capsys):
    import krakenwire.cli._demo

    async def boom(*_args):
        raise RuntimeError("something broke")

    monkeypatch.setattr(krakenwire.cli._demo, "run_demo", boom)
    assert cli_module.main(["demo"]) == 3
    err = capsys.readouterr().err
    assert "krakenwire demo: unexpected error: RuntimeError: something broke" in err
    assert "Traceback" not in err
    monkeypatch.setenv("KRAKENWIRE_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli_module.main(["demo"])


def _parsers():
    root = cli_module.build_parser()
    yield "krakenwire", root
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"krakenwire {name}", sub


@pytest.mark.parametrize("name, parser", list(_parsers()), ids=lambda x: str(x))
def test_every_option_has_help_text(name, parser):
    assert parser.description, f"{name} has no description"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{name} {choice.dest} has no help"
            continue
        assert action.help and action.help != argparse.SUPPRESS, (
            f"{name} {action.option_strings or action.dest} has no help text"
        )


def test_top_level_help_is_whole_and_documents_output_and_exit_codes():
    r = cli("--help")
    assert r.returncode == 0
    out = r.stdout
    assert "with a local Kraken simulator for trying everything\noffline" in out
    assert "JSON only on stdout" in out and "--json" in out and "stderr" in out
    for code in (0, 1, 2, 3, 4):
        assert re.search(rf"^  {code} +\S", out, re.M), f"exit code {code} not documented"
    readme = README.read_text()
    for code in (0, 1, 2, 3, 4):
        assert re.search(rf"^\| `?{code}`? \|", readme, re.M), f"README lacks exit code {code}"


def test_bench_without_its_extra_says_how_to_get_it(monkeypatch, capsys):
    import krakenwire.cli._bench as bench_cli

    monkeypatch.setattr(bench_cli, "_BENCH_MODULES", {"hdrhistogram": "no_such_module_xyz"})
    assert cli_module.main(["bench", "--ci"]) == 2
    err = capsys.readouterr().err
    assert "bench extra is not installed (missing: hdrhistogram)" in err and "make bench" in err


def test_a_closed_stdout_is_quiet(sim_proc):  # noqa: F811
    import subprocess
    import sys

    info = sim_proc("--orders", "200")
    proc = subprocess.Popen(
        [sys.executable, "-m", "krakenwire", "orders", *conn(info)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(30) in (0, 141)  # 0 if it had written everything before the close
    assert err == ""


def test_cancel_help_wraps_and_sim_help_shows_defaults():
    import subprocess
    import sys

    env = {"COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "krakenwire"]
    text = subprocess.run([*run, "cancel", "--help"], capture_output=True, text=True, env=env)
    assert max(len(x) for x in text.stdout.splitlines()) <= 80, text.stdout
    assert "in flight" in text.stdout
    sim = subprocess.run([*run, "sim", "--help"], capture_output=True, text=True, env=env).stdout
    for default in ("(default: 127.0.0.1)", "(default: 0)", "(default: 0.0)", "(default: 0.25)"):
        assert default in sim, default


def test_cancel_order_result_says_count_like_every_other_cancel_result():
    from krakenwire import CancelOrderResult
    from krakenwire._results import CancelOrderReply

    r = CancelOrderResult(
        req_id=1,
        replies=[CancelOrderReply("O1"), CancelOrderReply("O2", error="EOrder:Invalid order")],
    )
    assert r.count == 1 and r.cancelled_ids == ["O1"] and not r.ok
    assert r.cancelled == ["O1"]  # which ids; count says how many
