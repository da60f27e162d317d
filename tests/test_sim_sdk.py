"""A real third-party client against the simulator: python-kraken-sdk's ``SpotWSClient``,
unmodified. It fetches its token over the simulator's REST endpoint, appends ``/v2`` to the URL
it is given (here one that already ends in ``/v2``), subscribes to executions, and sends
batch_cancel, a several-id cancel_order and add_order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from krakenwire.sim import Simulator

spot = pytest.importorskip(
    "kraken.spot", reason="python-kraken-sdk is not installed (it is in the dev extra)"
)


def test_python_kraken_sdk_spot_ws_client() -> None:
    async def main() -> None:
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(5)]
            inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

            async def on_message(msg: Any) -> None:
                if isinstance(msg, dict):
                    inbox.put_nowait(msg)

            async def until(pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
                while True:
                    msg = await asyncio.wait_for(inbox.get(), 20)
                    if pred(msg):
                        return msg

            def reply(method: str, req_id: int) -> Callable[[dict[str, Any]], bool]:
                return lambda m: m.get("method") == method and m.get("req_id") == req_id

            key, secret = next(iter(sim.api_keys.items()))
            client = spot.SpotWSClient(
                key=key,
                secret=secret,
                callback=on_message,
                no_public=True,
                rest_url=sim.rest_url,
                auth_ws_url=sim.url,  # the SDK appends /v2: the simulator serves /v2/v2 too
            )
            try:
                await client.start()
                await client.subscribe(params={"channel": "executions"}, req_id=1)
                ack = await until(reply("subscribe", 1))
                assert ack["success"] is True and ack["result"]["channel"] == "executions"
                snap = await until(lambda m: m.get("type") == "snapshot")
                assert sorted(r["order_id"] for r in snap["data"]) == sorted(ids)

                gone = "OGONE0-XXXXX-XXXXXX"
                await client.send_message(
                    {"method": "batch_cancel", "params": {"orders": [*ids[:2], gone]}, "req_id": 2}
                )
                r = await until(reply("batch_cancel", 2))
                assert r["success"] is True and r["result"]["count"] == 2

                await client.send_message(
                    {"method": "cancel_order", "params": {"order_id": ids[2:]}, "req_id": 3}
                )
                got = [await until(reply("cancel_order", 3)) for _ in ids[2:]]
                assert sorted(m["result"]["order_id"] for m in got) == sorted(ids[2:])
                assert acct.open_orders == {}

                order = {
                    "order_type": "limit",
                    "side": "buy",
                    "order_qty": 1.25,
                    "limit_price": 100.5,
                    "symbol": "BTC/USD",
                    "order_userref": 7,
                }
                await client.send_message({"method": "add_order", "params": order, "req_id": 4})
                added = await until(reply("add_order", 4))
                assert added["success"] is True
                assert list(acct.open_orders) == [added["result"]["order_id"]]
                assert acct.ledger[-1].method == "add_order" and acct.ledger[-1].req_id == 4
            finally:
                await client.close()

    asyncio.run(main())
