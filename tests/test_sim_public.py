"""The simulator's public endpoint and public REST, seen by a bare WebSocket client and urllib:
Kraken's frame shapes, acks, errors, checksums and fault switches."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
import zlib
from decimal import Decimal
from typing import Any

import pytest

from krakenwire.sim import SimConfig, Simulator

from ._rawclient import RawClient, connect

QUIET = SimConfig(book_interval=0.0, seed=11)


def kraken_checksum(
    asks: list[dict[str, Decimal]], bids: list[dict[str, Decimal]], pp: int, qp: int
) -> int:
    """The documented algorithm, straight from decimal text (independent of both books)."""

    def t(d: Decimal, n: int) -> str:
        return f"{d:.{n}f}".replace(".", "").lstrip("0")

    asks = sorted(asks, key=lambda lv: lv["price"])[:10]
    bids = sorted(bids, key=lambda lv: lv["price"], reverse=True)[:10]
    text = "".join(t(lv["price"], pp) + t(lv["qty"], qp) for lv in (*asks, *bids))
    return zlib.crc32(text.encode())


async def reply(c: RawClient, req_id: int) -> Any:
    return await c.until(lambda m: m.get("req_id") == req_id)


def test_status_acks_snapshot_and_checksummed_updates() -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            c = await connect(sim.public_url)
            status = await c.recv()
            assert status["channel"] == "status" and status["data"][0]["system"] == "online"
            c.send({"method": "subscribe", "params": {"channel": "instrument"}, "req_id": 1})
            ack = await reply(c, 1)
            assert ack["success"] is True and ack["result"] == {
                "channel": "instrument",
                "snapshot": True,
            }
            inst = await c.recv()
            assert inst["channel"] == "instrument" and inst["type"] == "snapshot"
            pair = {p["symbol"]: p for p in inst["data"]["pairs"]}["BTC/USD"]
            pp, qp = pair["price_precision"], pair["qty_precision"]

            c.send(
                {
                    "method": "subscribe",
                    "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 10},
                    "req_id": 2,
                }
            )
            ack = await reply(c, 2)
            assert ack["result"] == {
                "channel": "book",
                "snapshot": True,
                "symbol": "BTC/USD",
                "depth": 10,
            }
            assert ack["time_in"].endswith("Z") and ack["time_out"].endswith("Z")
            snap = await c.recv()
            assert snap["type"] == "snapshot"
            data = snap["data"][0]
            assert len(data["bids"]) == len(data["asks"]) == 10
            assert data["checksum"] == kraken_checksum(data["asks"], data["bids"], pp, qp)
            # keep the book the plain way and check every update's checksum against it
            asks = {lv["price"]: lv["qty"] for lv in data["asks"]}
            bids = {lv["price"]: lv["qty"] for lv in data["bids"]}
            for i in range(200):
                if i % 20 == 0:
                    sim.step_market(4)
                sim.publish_book()
                up = (await c.until(lambda m: m.get("channel") == "book"))["data"][0]
                assert "timestamp" in up
                for side, levels, rev in ((asks, up["asks"], False), (bids, up["bids"], True)):
                    for lv in levels:
                        if lv["qty"] == 0:
                            side.pop(lv["price"], None)
                        else:
                            side[lv["price"]] = lv["qty"]
                    for p in sorted(side, reverse=rev)[10:]:
                        del side[p]
                got = kraken_checksum(
                    [{"price": p, "qty": q} for p, q in asks.items()],
                    [{"price": p, "qty": q} for p, q in bids.items()],
                    pp,
                    qp,
                )
                assert up["checksum"] == got, i
            assert max(bids) < min(asks)

    asyncio.run(main())


def test_errors_are_krakens() -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            c = await connect(sim.public_url)
            await c.recv()
            c.send(
                {
                    "method": "subscribe",
                    "params": {"channel": "book", "symbol": ["XBT/FOO"]},
                    "req_id": 1,
                }
            )
            err = await reply(c, 1)
            assert err["success"] is False and err["error"] == "Currency pair not supported XBT/FOO"
            assert err["symbol"] == "XBT/FOO"
            c.send(
                {
                    "method": "subscribe",
                    "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 7},
                    "req_id": 2,
                }
            )
            assert (await reply(c, 2))["error"] == "EGeneral:Invalid arguments"
            c.send(
                {
                    "method": "subscribe",
                    "params": {"channel": "executions", "token": "x"},
                    "req_id": 3,
                }
            )
            assert "Try ws-auth.kraken.com" in (await reply(c, 3))["error"]
            c.send({"method": "batch_cancel", "params": {"orders": ["A", "B"]}, "req_id": 4})
            assert "Try ws-auth.kraken.com" in (await reply(c, 4))["error"]
            c.send(
                {
                    "method": "unsubscribe",
                    "params": {"channel": "ticker", "symbol": ["BTC/USD"]},
                    "req_id": 5,
                }
            )
            err = await reply(c, 5)
            assert err["error"] == "Subscription Not Found" and err["method"] == "subscribe"
            c.send(
                {
                    "method": "subscribe",
                    "params": {"channel": "ticker", "symbol": ["BTC/USD"]},
                    "req_id": 6,
                }
            )
            assert (await reply(c, 6))["success"] is True
            c.send(
                {
                    "method": "subscribe",
                    "params": {"channel": "ticker", "symbol": ["BTC/USD"]},
                    "req_id": 7,
                }
            )
            assert (await reply(c, 7))["error"] == "Already subscribed"
            c.send({"method": "ping", "req_id": 8})
            assert (await reply(c, 8))["method"] == "pong"
            # and the private host refuses public channels (unchanged)
            a = await connect(sim.url)
            await a.recv()
            a.send(
                {
                    "method": "subscribe",
                    "params": {"channel": "book", "symbol": ["BTC/USD"]},
                    "req_id": 9,
                }
            )
            assert "Try ws.kraken.com" in (await reply(a, 9))["error"]

    asyncio.run(main())


def test_fault_switches_every_nth() -> None:
    async def main() -> None:
        cfg = SimConfig(book_interval=0.0, book_corrupt_every=3, book_drop_every=5, seed=2)
        async with Simulator(config=cfg) as sim:
            c = await connect(sim.public_url)
            await c.recv()
            c.send(
                {
                    "method": "subscribe",
                    "params": {"channel": "book", "symbol": ["BTC/USD"]},
                    "req_id": 1,
                }
            )
            await reply(c, 1)
            await c.recv()  # snapshot
            assert sim.public is not None
            sim.publish_book(steps=10)  # updates 5 and 10 are dropped
            frames = [await c.until(lambda m: m.get("channel") == "book") for _ in range(8)]
            with pytest.raises(TimeoutError):
                await c.until(lambda m: m.get("channel") == "book", timeout=0.2)
            assert sim.public.updates_sent == 8 and len(frames) == 8

    asyncio.run(main())


def test_bad_switch_values_are_refused() -> None:
    for bad in ({"book_corrupt_every": 0}, {"book_interval": -1.0}, {"book_delay": -0.1}):
        with pytest.raises(ValueError):
            SimConfig(**bad)  # type: ignore[arg-type]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - loopback only
        return json.loads(r.read())


def test_public_rest_assets_and_asset_pairs() -> None:
    async def main() -> None:
        async with Simulator(config=QUIET) as sim:
            loop = asyncio.get_running_loop()
            base = sim.rest_url
            pairs = await loop.run_in_executor(None, _get, f"{base}/0/public/AssetPairs")
            assert pairs["error"] == [] and set(pairs["result"]) == {"XXBTZUSD", "XETHZUSD"}
            btc = pairs["result"]["XXBTZUSD"]
            assert (
                btc["wsname"] == "XBT/USD"
                and btc["pair_decimals"] == 1
                and btc["lot_decimals"] == 8
            )
            assert btc["base"] == "XXBT" and btc["quote"] == "ZUSD" and btc["ordermin"] == "0.0001"
            one = await loop.run_in_executor(None, _get, f"{base}/0/public/AssetPairs?pair=BTC/USD")
            assert list(one["result"]) == ["BTC/USD"]  # keyed by the name asked for
            none = await loop.run_in_executor(None, _get, f"{base}/0/public/AssetPairs?pair=NOPE")
            assert none == {"error": ["EQuery:Unknown asset pair"]}
            assets = await loop.run_in_executor(None, _get, f"{base}/0/public/Assets")
            assert assets["result"]["XXBT"]["altname"] == "XBT" and "ZUSD" in assets["result"]

    asyncio.run(main())


def test_cli_prints_the_public_url_and_takes_the_fault_flags() -> None:
    cmd = [
        sys.executable,
        "-m",
        "krakenwire.sim",
        "--json",
        "--book-interval",
        "0",
        "--book-corrupt-every",
        "1",
    ]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())

            async def main() -> None:
                c = await connect(info["public_url"])
                status = await c.recv()
                assert status["channel"] == "status"
                c.send({"method": "subscribe", "params": {"channel": "instrument"}, "req_id": 1})
                assert (await reply(c, 1))["success"] is True
                c.close()
                await asyncio.wait_for(c.disconnected.wait(), 2)

            asyncio.run(main())
            proc.terminate()
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
