"""``krakenwire check`` against the simulator in both reply modes: the documented mode matches
the reference everywhere; the recorded mode's batch_cancel shape is flagged (exit 5); the report
carries no token and no order id, and nothing on the account changes."""

from __future__ import annotations

import asyncio
import json

from krakenwire._check import EXIT_SHAPE_DIFFERS, run_check
from krakenwire.sim import SimConfig, Simulator
from tests.test_cli import cli, sim_proc  # noqa: F401 - the fixture


def _run(shape: str) -> tuple[dict, list]:
    async def main() -> tuple[dict, list]:
        async with Simulator(orders=3, config=SimConfig(reply_shape=shape)) as sim:
            acct = sim.account(sim.token)
            before = sorted(acct.open_orders)
            report = await run_check(sim.url, sim.token)
            assert sorted(acct.open_orders) == before  # nothing placed, nothing cancelled
            methods = [e.method for e in acct.ledger]
            return report, methods

    return asyncio.run(main())


def test_check_matches_the_documented_simulator() -> None:
    report, methods = _run("documented")
    assert report["matched"] is True, report
    names = [s["name"] for s in report["steps"]]
    assert names == [
        "status",
        "subscribe executions",
        "executions snapshot",
        "ping",
        "add_order validate",
        "batch_cancel of two ids that cannot exist",
    ]
    assert all(not s["differs"] for s in report["steps"])
    assert "cancel_all" not in methods and "cancel_all_orders_after" not in methods


def test_check_flags_the_recorded_batch_cancel_shape() -> None:
    report, _ = _run("recorded")
    assert report["matched"] is False
    (bad,) = [s for s in report["steps"] if s["differs"]]
    assert bad["name"] == "batch_cancel of two ids that cannot exist"
    assert ".orders_cancelled: only here" in bad["differs"]
    assert ".result: missing (reference has it)" in bad["differs"]
    assert bad["client"] == "ok"  # the client reads it all the same


def test_check_cli_exit_codes_and_redaction(sim_proc) -> None:  # noqa: F811
    for shape, code in (("documented", 0), ("recorded", EXIT_SHAPE_DIFFERS)):
        info = sim_proc("--orders", "2", "--reply-shape", shape)
        out = cli("check", "--url", info["url"], "--token", info["token"])
        assert out.returncode == code, (out.stdout, out.stderr)
        assert info["token"] not in out.stdout
        report = json.loads(out.stdout)
        assert report["matched"] is (code == 0)
        for oid in json.dumps(report).split('"'):
            assert not (len(oid) == 19 and oid.count("-") == 2), oid  # no Kraken order id


def test_check_without_token_or_keys_is_bad_input() -> None:
    out = cli("check", "--url", "ws://127.0.0.1:9/v2")
    assert out.returncode == 2, out.stderr
