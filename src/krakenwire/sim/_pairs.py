"""The simulator's tradable pairs: one table feeding the ``instrument`` channel and the public
REST endpoints ``/0/public/Assets`` and ``/0/public/AssetPairs``.

Field names and shapes follow Kraken's REST docs (docs.kraken.com/api/docs/rest-api/get-asset-info,
get-tradable-asset-pairs) and the v2 ``instrument`` channel docs: REST keys are Kraken's legacy
names (``XXBTZUSD``, ``XXBT``, ``ZUSD``) with ``altname``/``wsname``; WebSocket v2 uses
``BTC/USD``. Decimals in REST replies are strings, in WebSocket frames numbers. A pair's price
precision is at least the decimals of ``SimConfig.tick_size``, since the market rounds every
symbol's price to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._config import SimConfig

__all__ = ["ASSETS", "SimPair", "asset_pairs_reply", "assets_reply", "instrument_data", "pairs"]


@dataclass(frozen=True)
class SimAsset:
    key: str  # REST key, e.g. "XXBT"
    altname: str  # REST altname, e.g. "XBT"
    ws: str  # WebSocket v2 id, e.g. "BTC"
    decimals: int
    display_decimals: int


ASSETS = (
    SimAsset("XXBT", "XBT", "BTC", 10, 5),
    SimAsset("XETH", "ETH", "ETH", 10, 5),
    SimAsset("ZUSD", "USD", "USD", 4, 2),
)
_BY_WS = {a.ws: a for a in ASSETS}


@dataclass(frozen=True)
class SimPair:
    """One pair; ``price_precision``/``qty_precision`` are what the book checksum uses."""

    symbol: str  # v2, "BTC/USD"
    key: str  # REST, "XXBTZUSD"
    altname: str  # "XBTUSD"
    wsname: str  # v1 name, "XBT/USD"
    price_precision: int
    qty_precision: int
    tick_size: Decimal
    qty_min: Decimal
    cost_min: Decimal

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]


def _decimals(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def pairs(config: SimConfig) -> dict[str, SimPair]:
    """The pairs the simulator lists, keyed by v2 symbol."""
    tick = config.tick_size
    out = [
        SimPair(
            "BTC/USD",
            "XXBTZUSD",
            "XBTUSD",
            "XBT/USD",
            max(1, _decimals(tick)),
            8,
            tick,
            Decimal("0.0001"),
            Decimal("0.5"),
        ),
        SimPair(
            "ETH/USD",
            "XETHZUSD",
            "ETHUSD",
            "ETH/USD",
            max(2, _decimals(tick)),
            8,
            tick,
            Decimal("0.002"),
            Decimal("0.5"),
        ),
    ]
    return {p.symbol: p for p in out}


def instrument_data(config: SimConfig) -> dict[str, Any]:
    """The ``instrument`` channel's snapshot ``data`` (one object: ``assets`` and ``pairs``)."""
    assets = [
        {
            "id": a.ws,
            "status": "enabled",
            "precision": a.decimals,
            "precision_display": a.display_decimals,
            "borrowable": a.ws != "USD",
            "collateral_value": 1.0,
            "margin_rate": 0.02,
        }
        for a in ASSETS
    ]
    out = []
    for p in pairs(config).values():
        step = Decimal(1).scaleb(-p.qty_precision)
        out.append(
            {
                "symbol": p.symbol,
                "base": p.base,
                "quote": p.quote,
                "status": "online",
                "qty_precision": p.qty_precision,
                "qty_increment": step,
                "price_precision": p.price_precision,
                "cost_precision": 5,
                "marginable": True,
                "has_index": True,
                "cost_min": p.cost_min,
                "margin_initial": 0.2,
                "position_limit_long": 250,
                "position_limit_short": 200,
                "tick_size": p.tick_size,
                "price_increment": p.tick_size,
                "qty_min": p.qty_min,
            }
        )
    return {"assets": assets, "pairs": out}


def assets_reply(query: dict[str, str]) -> dict[str, Any]:
    """``GET /0/public/Assets[?asset=XBT,ETH]``."""
    wanted = {s.strip().upper() for s in query.get("asset", "").split(",") if s.strip()}
    result = {}
    for a in ASSETS:
        names = {a.key, a.altname, a.ws}
        if wanted and not names & wanted:
            continue
        result[a.key] = {
            "aclass": "currency",
            "altname": a.altname,
            "decimals": a.decimals,
            "display_decimals": a.display_decimals,
            "collateral_value": 1.0,
            "status": "enabled",
        }
    if wanted and not result:
        return {"error": ["EQuery:Unknown asset"]}
    return {"error": [], "result": result}


def asset_pairs_reply(config: SimConfig, query: dict[str, str]) -> dict[str, Any]:
    """``GET /0/public/AssetPairs[?pair=BTC/USD,XBTUSD]``: a pair asked for by any of its
    names (REST key, altname, v1 wsname, v2 symbol) is returned under the name asked for, as
    clients index the reply by it."""
    asked = [s.strip() for s in query.get("pair", "").split(",") if s.strip()]
    result: dict[str, Any] = {}
    for p in pairs(config).values():
        names = [p.key, p.altname, p.wsname, p.symbol]
        if asked:
            hits = [a for a in asked if a.upper() in names]
            if not hits:
                continue
            key = hits[0]
        else:
            key = p.key
        base, quote = _BY_WS[p.base], _BY_WS[p.quote]
        result[key] = {
            "altname": p.altname,
            "wsname": p.wsname,
            "aclass_base": "currency",
            "base": base.key,
            "aclass_quote": "currency",
            "quote": quote.key,
            "lot": "unit",
            "cost_decimals": 5,
            "pair_decimals": p.price_precision,
            "lot_decimals": p.qty_precision,
            "lot_multiplier": 1,
            "leverage_buy": [2, 3],
            "leverage_sell": [2, 3],
            "fees": [[0, 0.4], [10000, 0.35]],
            "fees_maker": [[0, 0.25], [10000, 0.2]],
            "fee_volume_currency": "ZUSD",
            "margin_call": 80,
            "margin_stop": 40,
            "ordermin": str(p.qty_min),
            "costmin": str(p.cost_min),
            "tick_size": str(p.tick_size),
            "status": "online",
        }
    if asked and not result:
        return {"error": ["EQuery:Unknown asset pair"]}
    return {"error": [], "result": result}
