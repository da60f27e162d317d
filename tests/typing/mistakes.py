"""Deliberate mistakes a user could make; mypy must report every line marked ``# E``.

Checked by tests/typing/test_mypy.py (msgspec's approach): never imported or run.
"""

from decimal import Decimal

import krakenwire
from krakenwire import Credentials


async def main(client: krakenwire.Client) -> None:
    await krakenwire.connect("ws://127.0.0.1:1/v2", token="t", timout=5)  # E
    await krakenwire.connect("ws://127.0.0.1:1/v2", credentials="key:secret")  # E
    await client.add_order(symbol="BTC/USD", side="bye", order_qty=1, limit_price=1)  # E
    await client.add_order(symbol="BTC/USD", side="buy", order_qty=1, order_type="limt")  # E
    await client.add_order(
        symbol="BTC/USD",
        side="buy",
        order_qty=1,
        limit_price=1,
        time_in_force="gtx",  # E
    )
    await client.add_order(symbol="BTC/USD", side="buy", order_qty=[1])  # E
    await client.add_order(
        symbol="BTC/USD",
        side="sell",
        order_qty=1,
        order_type="trailing-stop",
        triggers={"price": 1, "price_type": "percent"},  # E
    )
    await client.add_order(
        symbol="BTC/USD",
        side="buy",
        order_qty=1,
        order_type="market",
        conditional={"order_type": "market"},  # E
    )
    await client.add_order(symbol="BTC/USD", side="buy", order_qty=1, stp_type="newest")  # E
    await client.add_order(symbol="BTC/USD", side="buy", order_qty=1, fee_preference="usd")  # E
    client.balances["USD"] = Decimal(1)  # E
    await client.batch_cancel(12345)  # E
    await client.cancel_after("60")  # E
    await client.cancel_order(order_userref=["7"])  # E
    await client.reconcile(["O1"], recancel="yes")  # E
    client.keep_cancel_after(60, every="20")  # E
    r = await client.batch_cancel(["O1", "O2"])
    r.cnt  # E
    order = client.open_orders.get("O1")
    assert order is not None
    order.order_qty + "1"  # E
    client.open_orders.get(1)  # E
    client.state = "connected"  # E
    Credentials(1, 2)  # E
