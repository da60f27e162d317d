"""The balances channel: the client's view (sans-IO on recorded and documented frames, and
live against the simulator over loopback) and the simulator keeping balances from fills and
fees."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import msgspec
import pytest

import krakenwire
from krakenwire import Balances, ValidationError
from krakenwire._messages import DATA_DECODER
from krakenwire.protocol import ChannelFrame
from krakenwire.sim import SimConfig, Simulator
from tests._rawclient import connect as raw_connect


def frame(text: str) -> ChannelFrame:
    msg = DATA_DECODER.decode(text)
    return ChannelFrame(msg["channel"], msg["type"], msg["data"], msg.get("sequence"))


# Recorded from the venue: kraken-async-rs, src/wss/kraken_wss_client.rs (2024-05).
RECORDED_SNAPSHOT = """{"channel":"balances","type":"snapshot","data":[
 {"asset":"BRICK","asset_class":"currency","balance":439.9736,"wallets":[]},
 {"asset":"USD","asset_class":"currency","balance":160.2405,
  "wallets":[{"type":"spot","id":"main","balance":1.34}]}],"sequence":1}"""
RECORDED_UPDATE = """{"channel":"balances","type":"update","data":[{
 "ledger_id":"DATKX6-PEHL1-HZKND8","ref_id":"LKAKN2-N0N12-VKQNLN",
 "timestamp":"2024-05-24T14:01:53.526524Z","type":"trade","asset":"USD","asset_class":"currency",
 "category":"trade","wallet_type":"spot","wallet_id":"main","amount":-19.9743,"fee":0.0499,
 "balance":118.0677}],"sequence":2}"""
# Kraken's documented snapshot example (docs.kraken.com .../spot-websocket-v2/balances).
DOC_SNAPSHOT = """{"channel":"balances","type":"snapshot","data":[
 {"asset":"MATIC","asset_class":"currency","balance":500,
  "wallets":[{"type":"spot","id":"main","balance":300},{"type":"earn","id":"flex","balance":200}]}
 ],"sequence":1}"""


def test_recorded_snapshot_and_update() -> None:
    b = Balances()
    assert not b.ready.is_set() and len(b) == 0
    assert b.apply(frame(RECORDED_SNAPSHOT)) is True
    assert b.ready.is_set() and b["BRICK"] == Decimal("439.9736")
    assert b["USD"] == Decimal("160.2405")
    assert b.wallets("BRICK") == {("spot", "main"): Decimal("439.9736")}
    assert b.apply(frame(RECORDED_UPDATE)) is True
    # the spot wallet moved from 1.34 to 118.0677; the total moves by as much
    assert b.wallets("USD")[("spot", "main")] == Decimal("118.0677")
    assert b["USD"] == Decimal("160.2405") - Decimal("1.34") + Decimal("118.0677")
    b.apply(frame(RECORDED_UPDATE.replace('"sequence":2', '"sequence":3')))
    assert b["USD"] == Decimal("160.2405") - Decimal("1.34") + Decimal("118.0677")  # idempotent
    assert b.sequence == 3 and b.gaps == 0


def test_documented_snapshot_sums_wallets_and_an_earn_update() -> None:
    b = Balances()
    b.apply(frame(DOC_SNAPSHOT))
    assert b["MATIC"] == 500 and b.wallets("MATIC")[("earn", "flex")] == 200
    upd = RECORDED_UPDATE.replace('"USD"', '"MATIC"').replace('"spot"', '"earn"')
    upd = upd.replace('"main"', '"flex"').replace("118.0677", "250")
    b.apply(frame(upd))
    assert b["MATIC"] == 550 and dict(b) == {"MATIC": Decimal(550)}


def test_gap_malformed_and_reset() -> None:
    b = Balances()
    b.apply(frame(RECORDED_SNAPSHOT))
    assert b.apply(frame(RECORDED_UPDATE.replace('"sequence":2', '"sequence":5'))) is False
    assert b.gaps == 1
    with pytest.raises(ValueError):
        b.apply(ChannelFrame("balances", "update", {"asset": "USD"}, 6))
    with pytest.raises(ValueError):
        b.apply(ChannelFrame("balances", "update", [{"balance": 1}], 6))
    b.reset()
    assert not b.ready.is_set() and b["BRICK"] == Decimal("439.9736")  # kept until resnapshot
    with pytest.raises(TypeError):
        b["USD"] = Decimal(1)  # type: ignore[index]


def run(main: Any, **cfg: Any) -> None:
    async def go() -> None:
        async with Simulator(config=SimConfig(**cfg)) as sim:
            await main(sim)

    asyncio.run(go())


def test_client_balances_follow_fills_and_fees() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        acct.balances = {"USD": Decimal(100000), "BTC": Decimal(2)}
        async with await krakenwire.connect(sim.url, token=sim.token, balances=True) as c:
            assert c.balances.ready.is_set() and dict(c.balances) == acct.balances
            # a market buy at 30000: USD pays cost + 0.4 % taker fee (quote, the buy default)
            await c.add_order(symbol="BTC/USD", side="buy", order_type="market", order_qty=1)
            await c.ping()
            assert c.balances["BTC"] == 3 and c.balances["USD"] == 100000 - 30000 - 120
            # a sell pays its fee in base by default (Kraken's fcib for sells)
            await c.add_order(symbol="BTC/USD", side="sell", order_type="market", order_qty=1)
            await c.ping()
            assert c.balances["BTC"] == Decimal(3) - 1 - Decimal("0.004")
            assert c.balances["USD"] == 100000 - 120
            # fee_preference quote on a sell: the fee comes out of USD
            await c.add_order(
                symbol="BTC/USD", side="sell", order_type="market", order_qty=1,
                fee_preference="quote",
            )  # fmt: skip
            await c.ping()
            assert c.balances["BTC"] == Decimal(1) - Decimal("0.004")
            assert c.balances["USD"] == 100000 - 120 + 30000 - 120
            assert dict(c.balances) == acct.balances
            assert c.balances.sequence == 7  # snapshot, then one frame per ledger entry

    run(main)


def test_balances_off_by_default_and_resnapshot_after_reconnect() -> None:
    async def main(sim: Simulator) -> None:
        async with await krakenwire.connect(sim.url, token=sim.token) as c:
            assert len(c.balances) == 0 and not c.balances.ready.is_set()
        with pytest.raises(ValidationError) as ei:
            await krakenwire.connect(sim.url, token=sim.token, balances=True, subscribe=False)
        assert ei.value.field == "balances"
        async with await krakenwire.connect(
            sim.url, token=sim.token, balances=True, backoff_base=0.01
        ) as c:
            sim.account(sim.token).balances["USD"] = Decimal(5)  # changed while we are away
            await sim.drop_connections()
            await c.wait_connected(5.0)
            await asyncio.wait_for(c.balances.ready.wait(), 5.0)
            assert c.balances["USD"] == 5

    run(main)


def test_sim_balances_subscription_frames() -> None:
    async def main(sim: Simulator) -> None:
        c = await raw_connect(sim.url)
        await c.recv()  # status
        sub = {"method": "subscribe", "params": {"channel": "balances", "token": sim.token}}
        c.send({**sub, "req_id": 1})
        ack = await c.recv()
        assert ack["result"] == {"channel": "balances", "snapshot": True} and ack["success"]
        snap = await c.recv()
        assert snap["channel"] == "balances" and snap["type"] == "snapshot"
        assert snap["sequence"] == 1
        usd = next(r for r in snap["data"] if r["asset"] == "USD")
        assert usd == {
            "asset": "USD",
            "asset_class": "currency",
            "balance": Decimal(1000000),
            "wallets": [{"type": "spot", "id": "main", "balance": Decimal(1000000)}],
        }
        c.send({**sub, "req_id": 2})
        assert (await c.recv())["error"] == "Already subscribed"
        c.send({"method": "unsubscribe", "params": sub["params"], "req_id": 3})
        assert (await c.recv())["success"] is True
        c.send({"method": "unsubscribe", "params": sub["params"], "req_id": 4})
        gone = await c.recv()
        assert gone["error"] == "Subscription Not Found" and gone["method"] == "subscribe"
        quiet = {"channel": "balances", "token": sim.token, "snapshot": False}
        c.send({"method": "subscribe", "params": quiet, "req_id": 5})
        assert (await c.recv())["result"] == {"channel": "balances", "snapshot": False}
        c.close()

    run(main)


def test_sim_ledger_entry_shape() -> None:
    async def main(sim: Simulator) -> None:
        c = await raw_connect(sim.url)
        await c.recv()
        params = {"channel": "balances", "token": sim.token, "snapshot": False}
        c.send({"method": "subscribe", "params": params, "req_id": 1})
        await c.recv()
        order = {"order_type": "market", "side": "buy", "order_qty": 0.5, "symbol": "ETH/USD"}
        c.send({"method": "add_order", "params": {**order, "token": sim.token}, "req_id": 2})
        got: list[dict[str, Any]] = []
        while len(got) < 2:
            msg = await c.recv()
            if msg.get("channel") == "balances":
                assert msg["type"] == "update" and len(msg["data"]) == 1
                got.append(msg["data"][0] | {"sequence": msg["sequence"]})
        usd, eth = got
        keys = list(msgspec.json.decode(RECORDED_UPDATE)["data"][0])
        assert [k for k in usd if k != "sequence"] == keys  # the recorded keys, in order
        assert usd["asset"] == "USD" and usd["amount"] == -15000 and usd["fee"] == 60
        assert usd["balance"] == 1000000 - 15060 and usd["sequence"] == 1
        assert eth["asset"] == "ETH" and eth["amount"] == Decimal("0.5") and eth["fee"] == 0
        assert eth["ref_id"] == usd["ref_id"] and eth["ledger_id"] != usd["ledger_id"]
        c.close()

    run(main)


def test_a_sequence_gap_brings_a_fresh_snapshot() -> None:
    async def main(sim: Simulator) -> None:
        acct = sim.account(sim.token)
        async with await krakenwire.connect(sim.url, token=sim.token, balances=True) as c:
            for peers in sim.engine._bal_subs.values():  # lose one update on the way
                for peer in peers:
                    peers[peer] += 1
            await c.add_order(symbol="BTC/USD", side="buy", order_type="market", order_qty=1)
            await c.ping()
            assert c.balances.gaps == 1
            for _ in range(100):  # the re-subscribe's snapshot replaces what the gap hid
                await c.ping()
                if c.balances.sequence == 1:
                    break
            assert c.balances.sequence == 1 and dict(c.balances) == acct.balances

    run(main)
