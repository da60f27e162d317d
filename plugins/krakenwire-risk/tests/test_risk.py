"""krakenwire-risk: kill switch, caps, the rate counter model, and its wiring into a PluginHost."""

from __future__ import annotations

import krakenwire_risk
import pytest
from krakenwire_risk import RateCounter, RiskPlugin, age_cost

from krakenwire import ChannelFrame, RiskRejected
from krakenwire import protocol as kp
from krakenwire.hookspecs import Veto
from krakenwire.plugins import PluginHost


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def add_order(req_id: int, symbol: str = "BTC/USD", qty: str = "1", price: str | None = "100"):
    """The request view of an add_order (a market order when ``price`` is None)."""
    if price is None:
        call = kp.add_order(symbol=symbol, side="buy", order_type="market", order_qty=qty)
    else:
        call = kp.add_order(symbol=symbol, side="buy", order_qty=qty, limit_price=price)
    return call.view(req_id)


def batch_add(req_id: int, n: int, symbol: str = "BTC/USD", qty: str = "1"):
    """The request view of a batch_add of ``n`` limit orders."""
    orders = [{"side": "buy", "order_qty": qty, "limit_price": "10"} for _ in range(n)]
    return kp.batch_add(orders, symbol=symbol).view(req_id)


def cancel(ids: list[str], req_id: int = 1):
    """The request view of a batch_cancel (or, for one id, a cancel_order)."""
    call = kp.batch_cancel(ids) if len(ids) > 1 else kp.cancel_order(ids)
    return call.view(req_id)


def execs(kind: str, rows: list[dict]) -> ChannelFrame:
    return ChannelFrame("executions", kind, rows, 1)


def new(oid: str, symbol: str = "BTC/USD") -> dict:
    return {"order_id": oid, "symbol": symbol, "exec_type": "new", "order_status": "new"}


def test_age_cost_table():
    assert [age_cost("cancel", a) for a in (0, 5, 10, 15, 45, 90, 300)] == [8, 6, 5, 4, 2, 1, 0]
    assert [age_cost("amend", a) for a in (0, 5, 10, 15)] == [3, 2, 1, 0]
    assert [age_cost("edit", a) for a in (0, 5, 10, 15, 45, 90)] == [6, 5, 4, 2, 1, 0]


def test_counter_decays_per_tier():
    clock = Clock()
    c = RateCounter("intermediate", clock=clock)
    assert (c.threshold, c.decay) == (125, 2.34)
    c.add("BTC/USD", 10)
    clock.t += 2
    assert c.value("BTC/USD") == pytest.approx(10 - 4.68)
    clock.t += 100
    assert c.value("BTC/USD") == 0
    with pytest.raises(ValueError):
        RateCounter("platinum")


def test_kill_switch_file_and_env_block_all_but_cancels(tmp_path, monkeypatch):
    kill = tmp_path / "KILL"
    r = RiskPlugin(kill_file=kill, tier=None)
    assert r.krakenwire_check_request(add_order(1)) is None
    kill.touch()
    veto = r.krakenwire_check_request(add_order(2))
    assert veto is not None and "kill switch" in veto.reason and str(kill) in veto.reason
    assert (
        r.krakenwire_check_request(cancel(["OAAAAA-AAAAA-AAAAAA", "OBBBBB-BBBBB-BBBBBB"])) is None
    )
    kill.unlink()
    monkeypatch.setenv("KRAKENWIRE_KILL", "1")
    assert r.krakenwire_check_request(add_order(3)) is not None
    assert r.krakenwire_check_request(cancel(["OAAAAA-AAAAA-AAAAAA"])) is None
    monkeypatch.setenv("KRAKENWIRE_KILL_FILE", str(kill))
    monkeypatch.delenv("KRAKENWIRE_KILL")
    kill.touch()
    assert RiskPlugin(tier=None).krakenwire_check_request(add_order(4)) is not None


def test_size_caps():
    r = RiskPlugin(max_order_qty=5, max_notional=1000, tier=None)
    assert r.krakenwire_check_request(add_order(1, qty="5", price="100")) is None
    assert "order_qty" in r.krakenwire_check_request(add_order(2, qty="6")).reason
    assert "notional" in r.krakenwire_check_request(add_order(3, qty="4", price="300")).reason
    assert r.krakenwire_check_request(add_order(4, qty="4", price=None)) is None  # market
    assert r.krakenwire_check_request(batch_add(5, 3, qty="9")) is not None
    assert r.vetoes == 3


def test_ids_per_second_sliding_window():
    clock = Clock()
    r = RiskPlugin(max_ids_per_second=5, tier=None, clock=clock)
    assert r.krakenwire_check_request(batch_add(1, 4)) is None
    assert r.krakenwire_check_request(batch_add(2, 2)) is not None  # 6 > 5
    clock.t += 0.5
    assert r.krakenwire_check_request(add_order(3)) is None  # 5
    ids = [f"O{i:05d}-AAAAA-AAAAAA" for i in range(10)]
    assert r.krakenwire_check_request(cancel(ids)) is None  # cancels exempt by default
    clock.t += 0.6  # the batch of 4 left the window
    assert r.krakenwire_check_request(batch_add(4, 4)) is None
    capped = RiskPlugin(max_ids_per_second=5, cap_cancels=True, tier=None, clock=clock)
    assert capped.krakenwire_check_request(cancel(ids)) is not None


def test_rate_counter_vetoes_order_entry_never_cancels():
    clock = Clock()
    r = RiskPlugin(tier="starter", clock=clock)
    for i in range(60):
        assert r.krakenwire_check_request(add_order(i)) is None
    veto = r.krakenwire_check_request(add_order(100))
    assert veto is not None and "rate counter for BTC/USD" in veto.reason
    # another pair has its own counter
    assert r.krakenwire_check_request(add_order(101, symbol="ETH/USD")) is None
    # batch_add costs n/2
    clock.t += 3  # decayed by 3
    assert r.krakenwire_check_request(batch_add(102, 6)) is None
    assert r.krakenwire_check_request(batch_add(103, 2)) is not None
    # cancels of young orders: reported, added, never blocked
    r.krakenwire_executions(
        execs("update", [new("OAAAAA-AAAAA-AAAAAA"), new("OBBBBB-BBBBB-BBBBBB", "ETH/USD")])
    )
    p = cancel(["OAAAAA-AAAAA-AAAAAA", "OBBBBB-BBBBB-BBBBBB"])
    assert r.krakenwire_check_request(p) is None
    assert r.last_cancel_cost == {"BTC/USD": 8, "ETH/USD": 8}
    assert r.cancel_costs[-1] == (p.req_id, {"BTC/USD": 8, "ETH/USD": 8})
    assert r.counter.value("BTC/USD") > 60


def test_cancel_cost_by_age_and_lifecycle():
    clock = Clock()
    r = RiskPlugin(clock=clock)
    r.krakenwire_executions(execs("update", [new("OAAAAA-AAAAA-AAAAAA")]))
    r.krakenwire_executions(
        execs(
            "update",
            [
                {
                    "order_id": "OBBBBB-BBBBB-BBBBBB",
                    "exec_type": "pending_new",
                    "symbol": "ETH/USD",
                    "cl_ord_id": "mine-1",
                }
            ],
        )
    )
    assert r.cancel_cost(["OAAAAA-AAAAA-AAAAAA", "mine-1", "OZZZZZ-ZZZZZ-ZZZZZZ"]) == {
        "BTC/USD": 8,
        "ETH/USD": 8,
    }
    clock.t += 20
    assert r.cancel_cost(["OAAAAA-AAAAA-AAAAAA"]) == {"BTC/USD": 4}
    r.krakenwire_executions(
        execs("update", [{"order_id": "OAAAAA-AAAAA-AAAAAA", "exec_type": "amended"}])
    )
    assert r.cancel_cost(["OAAAAA-AAAAA-AAAAAA"]) == {"BTC/USD": 8}  # age restarts on amend
    clock.t += 400
    assert r.cancel_cost(["OAAAAA-AAAAA-AAAAAA"]) == {}
    r.krakenwire_executions(
        execs("update", [{"order_id": "OBBBBB-BBBBB-BBBBBB", "exec_type": "canceled"}])
    )
    r.krakenwire_executions(
        execs("update", [{"order_id": "OAAAAA-AAAAA-AAAAAA", "exec_type": "filled"}])
    )
    assert len(r.ages) == 0


def test_snapshot_uses_timestamps():
    from datetime import UTC, datetime, timedelta

    r = RiskPlugin()
    old = (datetime.now(UTC) - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    r.krakenwire_executions(
        execs(
            "snapshot",
            [
                {
                    "order_id": "OAAAAA-AAAAA-AAAAAA",
                    "symbol": "BTC/USD",
                    "order_status": "new",
                    "timestamp": old,
                }
            ],
        )
    )
    assert r.cancel_cost(["OAAAAA-AAAAA-AAAAAA"]) == {"BTC/USD": 2}  # 45..90 s band


def test_refund_when_another_plugin_vetoes():
    clock = Clock()
    r = RiskPlugin(clock=clock)
    p = add_order(7)
    assert r.krakenwire_check_request(p) is None
    assert r.counter.value("BTC/USD") == 1
    r.krakenwire_audit(p, RiskRejected(Veto("no", "other")))
    assert r.counter.value("BTC/USD") == 0


def test_in_a_plugin_host_veto_names_the_plugin(tmp_path):
    kill = tmp_path / "kill"
    kill.touch()
    host = PluginHost([RiskPlugin(kill_file=kill)], autoload=False)
    with pytest.raises(RiskRejected) as ei:
        host.check(add_order(1))
    assert "kill switch" in ei.value.reason and ei.value.plugin
    host.check(cancel(["OAAAAA-AAAAA-AAAAAA", "OBBBBB-BBBBB-BBBBBB"]))


def test_as_the_sessions_gate_nothing_vetoed_is_registered(tmp_path):
    kill = tmp_path / "kill"
    kill.touch()
    host = PluginHost([RiskPlugin(kill_file=kill)], autoload=False)
    s = kp.Session("t")
    s.check = host.check
    call = kp.add_order(symbol="BTC/USD", side="buy", order_qty=1, limit_price=100)
    with pytest.raises(RiskRejected) as ei:
        s.send(call, 0, 10**9)
    assert ei.value.request.method == "add_order" and ei.value.request.req_id == 1
    assert len(s) == 0
    # Cancels pass the kill switch; housekeeping (ping) is never asked about.
    h, _ = s.send(kp.batch_cancel(["OAAAAA-AAAAA-AAAAAA", "OBBBBB-BBBBB-BBBBBB"]), 0, 10**9)
    h2, _ = s.send(kp.ping(), 0, 10**9)
    assert s.pending_handles() == [h, h2]


def test_amend_and_edit_cost_by_order_age():
    clock = Clock()
    r = RiskPlugin(clock=clock)
    r.krakenwire_executions(
        execs("update", [{**new("OAAAAA-AAAAA-AAAAAA", "ETH/USD"), "cl_ord_id": "mm-1"}])
    )
    amend = kp.amend_order(order_id="OAAAAA-AAAAA-AAAAAA", limit_price="2").view(1)
    assert amend.symbol is None  # an amend names no symbol: the order's age tells it
    assert r.krakenwire_check_request(amend) is None
    assert r.counter.value("ETH/USD") == 1 + 3  # an amend of an order under 5 s old
    by_cl = kp.amend_order(cl_ord_id="mm-1", limit_price="2").view(2)
    assert r.krakenwire_check_request(by_cl) is None
    assert r.counter.value("ETH/USD") == 8
    edit = kp.edit_order(order_id="OAAAAA-AAAAA-AAAAAA", symbol="ETH/USD", order_qty=2).view(3)
    assert r.krakenwire_check_request(edit) is None
    assert r.counter.value("ETH/USD") == 8 + 1 + 6
    unknown = kp.amend_order(order_id="OZZZZZ-ZZZZZ-ZZZZZZ", limit_price="2").view(4)
    assert r.krakenwire_check_request(unknown) is None
    assert r.counter.value("?") == 1  # an order it never saw: the flat cost, no symbol
    capped = RiskPlugin(max_order_qty=5, tier=None)
    assert capped.krakenwire_check_request(
        kp.amend_order(order_id="OAAAAA-AAAAA-AAAAAA", order_qty=6).view(5)
    )


def test_module_form_reads_env_lazily(monkeypatch, tmp_path):
    krakenwire_risk.reset_default()
    monkeypatch.setenv("KRAKENWIRE_RISK_MAX_QTY", "2")
    monkeypatch.delenv("KRAKENWIRE_RISK_TIER", raising=False)
    try:
        host = PluginHost([krakenwire_risk], autoload=False)
        host.check(add_order(1, qty="2"))
        with pytest.raises(RiskRejected, match="order_qty"):
            host.check(add_order(2, qty="3"))
        assert krakenwire_risk.default().counter is None  # no tier configured: no counter
    finally:
        krakenwire_risk.reset_default()


def test_against_the_simulator_ages_from_executions_and_cancels_pass(tmp_path):
    import asyncio

    import krakenwire
    from krakenwire.sim import Simulator

    kill = tmp_path / "KILL"
    kill.touch()  # killed: order entry blocked, cancels still go out
    risk = RiskPlugin(kill_file=kill, tier="starter", threshold=5)

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            client = await krakenwire.connect(
                sim.url, token=sim.token, plugins=[risk], autoload_plugins=False
            )
            ids = [o.order_id for o in acct.place(4)]
            for _ in range(100):
                if len(risk.ages) == 4:
                    break
                await asyncio.sleep(0.01)
            assert risk.cancel_cost(ids) == {"BTC/USD": 32}
            r = await client.batch_cancel(ids)  # 32 > threshold 5, still never blocked
            assert r.count == 4
            assert risk.last_cancel_cost == {"BTC/USD": 32}
            for _ in range(100):
                if len(risk.ages) == 0:
                    break
                await asyncio.sleep(0.01)
            assert len(risk.ages) == 0  # canceled events removed them
            await client.close()

    asyncio.run(main())
