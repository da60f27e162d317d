"""Issue 18: Kraken as it is recorded. Tolerant decoding with strict reporting (both batch_cancel
reply shapes give the same result through the library and the CLI), harmful input refused before
it is sent, and the simulator's recorded behaviour: errors, fixed costs, the connection and
message budgets, a bounded ledger."""

from __future__ import annotations

import asyncio
import gc
import logging
import tracemalloc

import msgspec
import pytest

import krakenwire
from krakenwire import _notices, _shapes
from krakenwire import protocol as _build
from krakenwire._config import ClientConfig
from krakenwire.errors import RemoteProtocolError, ValidationError
from krakenwire.protocol import Completed, Session, batch_cancel, cancel_order
from krakenwire.sim import SimConfig, Simulator
from krakenwire.sim._book import LedgerEntry
from krakenwire.sim._conn import Conn
from tests._rawclient import connect
from tests.test_cli import cli, lines, open_orders, sim_proc  # noqa: F401 - the fixture

RECORDED = (
    b'{"method":"batch_cancel","orders_cancelled":2,"req_id":%d,"success":true,'
    b'"time_in":"2024-05-19T19:29:58.063754Z","time_out":"2024-05-19T19:29:58.071569Z"}'
)


# ---- Deliver 1: tolerant decoding, strict reporting ---------------------------------------


def test_both_batch_cancel_shapes_give_the_same_result() -> None:
    """Before: the recorded frame (no result) was RemoteProtocolError, outcome unknown."""
    s = Session("t")
    h, _ = s.send(batch_cancel(["A", "B"]), 0, 10**9)
    recorded = s.receive(RECORDED % h, 1)
    h2, _ = s.send(batch_cancel(["A", "B"]), 0, 10**9)
    documented = s.receive(
        b'{"method":"batch_cancel","req_id":%d,"result":{"count":2},"success":true}' % h2, 1
    )
    assert isinstance(recorded, Completed) and isinstance(documented, Completed)
    assert recorded.result.count == documented.result.count == 2
    assert recorded.result.shape_warnings == documented.result.shape_warnings == ()


@pytest.mark.parametrize(
    ("method", "call", "result", "field"),
    [
        ("batch_cancel", lambda: batch_cancel(["A", "B"]), b'{"count":"2"}', "count"),
        ("cancel_all", _build.cancel_all, b'{"count":[]}', "count"),
        (
            "add_order",
            lambda: _build.add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=1),
            b'{"order_id":7}',
            "order_id",
        ),
        ("amend_order", lambda: _build.amend_order(order_id="O1", order_qty=1), b"{}", "amend_id"),
        (
            "edit_order",
            lambda: _build.edit_order(order_id="O1", symbol="BTC/USD", order_qty=1),
            b'{"order_id":"N","original_order_id":null}',
            "original_order_id",
        ),
        ("cancel_all_orders_after", lambda: _build.cancel_after(5), b"[1]", "current_time"),
    ],
)
def test_success_with_an_unreadable_field_is_a_result_never_unknown(
    method: str,
    call: object,
    result: bytes,
    field: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_shapes.MISMATCHES, "count", 0)  # the log is rate-limited per process
    s = Session("t")
    stats = krakenwire.ClientStats([s])
    h, _ = s.send(call(), 0, 10**9)  # type: ignore[operator]
    frame = b'{"method":"%s","req_id":%d,"success":true,"result":%s}' % (
        method.encode(),
        h,
        result,
    )
    with caplog.at_level(logging.WARNING, logger="krakenwire"):
        ev = s.receive(frame, 1)
    assert isinstance(ev, Completed), ev
    assert getattr(ev.result, field) is None
    assert ev.result.shape_warnings
    assert stats.shape_mismatches == 1
    assert any("differs from the documented shape" in r.message for r in caplog.records)


def test_cancel_order_success_without_an_id_still_answers_one_order() -> None:
    s = Session("t")
    h, _ = s.send(cancel_order(order_id=["O1", "O2"]), 0, 10**9)
    ok = b'{"method":"cancel_order","req_id":%d,"success":true,"result":{"order_id":"O1"}}' % h
    odd = b'{"method":"cancel_order","req_id":%d,"success":true,"result":{"order_id":5}}' % h
    assert s.receive(ok, 1) is None
    ev = s.receive(odd, 2)
    assert isinstance(ev, Completed) and ev.result.cancelled == ["O1"]
    assert ev.result.shape_warnings == ("unreadable order_id: 5",)


def test_reply_without_success_or_error_is_unknown() -> None:
    s = Session("t")
    h, _ = s.send(batch_cancel(["A", "B"]), 0, 10**9)
    ev = s.receive(b'{"method":"batch_cancel","req_id":%d}' % h, 1)
    assert isinstance(ev.error, RemoteProtocolError)  # type: ignore[union-attr]


def test_recorded_shape_through_the_library_against_the_sim() -> None:
    async def main() -> None:
        async with Simulator(orders=2, config=SimConfig(reply_shape="recorded")) as sim:
            ids = list(sim.account(sim.token).open_orders)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                r = await client.batch_cancel(ids)
                assert r.count == 2 and r.shape_warnings == ()

    asyncio.run(main())


def test_recorded_shape_through_the_cli_exits_0(sim_proc) -> None:  # noqa: F811
    info = sim_proc("--orders", "2", "--reply-shape", "recorded")
    ids = open_orders(info)
    out = cli("cancel", "--url", info["url"], "--token", info["token"], *ids)
    assert out.returncode == 0, out.stderr
    (line,) = lines(out.stdout)
    assert line["count"] == 2 and line["outcome"] == "ok" and line["shape_warnings"] == []


# ---- Deliver 6: refuse harm ---------------------------------------------------------------


@pytest.mark.parametrize("zero", [0, "0", "00"])
def test_userref_zero_refused_in_every_cancel_unless_allowed(zero: object) -> None:
    with pytest.raises(ValidationError, match="allow_userref_zero=True") as ei:
        _build.batch_cancel([zero, "OABC12-XXXXX-XXXXX"])
    assert "every order placed without one" in str(ei.value)
    assert _build.batch_cancel([zero, "X"], allow_userref_zero=True).ids[0] == str(zero)
    if type(zero) is int:
        with pytest.raises(ValidationError, match="order_userref"):
            _build.cancel_order(order_userref=[zero])
        assert _build.cancel_order(order_userref=[0], allow_userref_zero=True).ids == ["0"]
    from krakenwire._cancels import plan

    with pytest.raises(ValidationError):
        plan([zero, "A", "B"], None)  # cancel_orders


def test_userref_zero_never_reaches_the_sim_through_the_client() -> None:
    """Before: batch_cancel([0, id]) cancelled all 10 resting quotes in the simulator."""

    async def main() -> None:
        async with Simulator(orders=10) as sim:
            acct = sim.account(sim.token)
            one = next(iter(acct.open_orders))
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                with pytest.raises(ValidationError):
                    await client.batch_cancel([0, one])
                with pytest.raises(ValidationError):
                    await client.cancel_orders([0, one])
            assert len(acct.open_orders) == 10 and acct.ledger == []

    asyncio.run(main())


@pytest.mark.parametrize("bad", ["a\nb", "a\x00", "a\tb", "a\x1b[2J", "a\rb"])
def test_control_characters_in_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="printable ASCII"):
        _build.batch_cancel([bad, "B"])
    with pytest.raises(ValidationError):
        _build.cancel_order(order_id=[bad])
    with pytest.raises(ValidationError):
        _build.batch_cancel(["A", "B"], [bad])


def test_cli_refuses_control_characters_exit_2() -> None:
    out = cli("cancel", "--url", "ws://127.0.0.1:9/v2", "--token", "t", "A\nB", "C")
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)


@pytest.mark.parametrize("field", ["side", "order_type", "time_in_force"])
def test_unhashable_enum_argument_is_a_validation_error(field: str) -> None:
    args: dict[str, object] = {"symbol": "BTC/USD", "side": "buy", "order_qty": 1}
    args["limit_price"] = 1
    args[field] = ["buy"]
    with pytest.raises(ValidationError) as ei:
        _build.add_order(**args)
    assert ei.value.field == field


@pytest.mark.parametrize(
    "url", ["http://example.com", "https://api.kraken.com/0", "http://[::1", "ftp://x", 5]
)
def test_bad_rest_url_is_a_validation_error(url: object) -> None:
    with pytest.raises(ValidationError) as ei:
        ClientConfig("ws://127.0.0.1:1/v2", rest_url=url)  # type: ignore[arg-type]
    assert ei.value.field == "rest_url"


# ---- Deliver 3: the simulator as recorded -------------------------------------------------


def test_sim_charges_the_fixed_cost_on_failed_validation() -> None:
    async def main() -> None:
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            c = await connect(sim.url)
            await c.recv()
            base = {"symbol": "BTC/USD", "side": "buy", "token": sim.token}
            for params in (
                dict(base, order_type="limit", order_qty=1, limit_price="1"),  # not a number
                dict(base, order_type="limit", order_qty=1, limit_price=1, price=1),  # unknown
                dict(base, order_type="limit", order_qty=-1, limit_price=1),  # validation
            ):
                r = await c.request({"method": "add_order", "params": params, "req_id": 1})
                assert r["success"] is False, r
            assert acct.charge("BTC/USD", 0.0, 0.0) == pytest.approx(3.0, abs=0.1)
            c.close()

    asyncio.run(main())


def test_sim_connection_attempt_budget_bans_with_429() -> None:
    async def main() -> None:
        cfg = SimConfig(connect_budget=3, connect_window=600, connect_ban=600)
        async with Simulator(config=cfg) as sim:
            for _ in range(3):
                (await connect(sim.url)).close()
            with pytest.raises(Exception, match="429"):
                await connect(sim.url)
            with pytest.raises(krakenwire.ConnectError):
                await krakenwire.connect(sim.url, token=sim.token, reconnect=False)
            assert sim.engine.connect_refusals == 2

    asyncio.run(main())


def test_sim_message_rate_limit_sends_the_bare_flood_notice() -> None:
    async def main() -> None:
        async with Simulator(config=SimConfig(msg_rate_limit=5)) as sim:
            c = await connect(sim.url)
            await c.recv()
            for i in range(8):
                c.send({"method": "ping", "req_id": i})
            got = [await c.recv_raw() for _ in range(8)]
            floods = [g for g in got if g == b'{"Error":"Exceeded msg rate"}']
            assert len(floods) == 3 and sim.engine.flood_refusals == 3
            notice = _notices.classify(floods[0])
            assert notice is not None and notice.kind == _notices.RATE_LIMITED
            c.close()

    asyncio.run(main())


def test_client_is_not_misled_by_the_flood_notice_or_the_proxy_restart() -> None:
    """Neither frame settles anything: the request that drew the notice times out (unknown),
    the others complete; the proxy notice is followed by the drop, which the client survives."""

    async def main() -> None:
        async with Simulator(orders=4, config=SimConfig(msg_rate_limit=3)) as sim:
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                await asyncio.sleep(1.1)
                outs = await asyncio.gather(
                    *(client.ping(timeout=0.5) for _ in range(4)), return_exceptions=True
                )
                assert sum(isinstance(o, krakenwire.RequestTimeout) for o in outs) >= 1
                assert any(not isinstance(o, Exception) for o in outs)
                assert sim.proxy_restart(drop_after=0.2) == 1
                await asyncio.sleep(0.5)
                await client.wait_connected(5)
                # the text frame and the flood notice: named, counted, never fatal
                assert client.stats.proxy_restarts == 1 and client.stats.malformed == 0
                assert client.stats.rate_limit_notices >= 1

    asyncio.run(main())


def test_sim_ledger_is_bounded_and_memory_flat() -> None:
    """Before: every request stayed in the ledger (~540 bytes each, 45 -> 200 MB over 300k).
    A cheap in-process loop over the engine's record path, no sockets."""

    async def main() -> None:
        async with Simulator(config=SimConfig(ledger_size=1000)) as sim:
            eng = sim.engine
            acct = sim.account(sim.token)

            def burst(n: int) -> None:
                for i in range(n):
                    eng.record(acct, LedgerEntry(req_id=i, method="batch_cancel", requested=["A"]))

            tracemalloc.start()
            burst(20_000)
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            burst(200_000)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            assert 1000 <= len(acct.ledger) <= 1250
            assert after - before < 100_000  # 200k more entries would be ~100 MB unbounded
            assert acct.ledger[-1].req_id == 199_999

    asyncio.run(main())


def test_sim_config_validates_the_new_switches() -> None:
    for bad in (
        {"reply_shape": "other"},
        {"connect_budget": 0},
        {"msg_rate_limit": 0},
        {"ledger_size": 0},
        {"connect_window": 0},
    ):
        with pytest.raises(ValueError):
            SimConfig(**bad)  # type: ignore[arg-type]
    assert isinstance(Conn, type) and msgspec is not None
