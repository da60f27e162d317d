"""The ``balances`` channel of the simulated account: its rows and the wallet arithmetic.

Kraken's balances page (docs.kraken.com .../spot-websocket-v2/balances) streams a snapshot
(one row per asset: its total ``balance`` and its ``wallets``) and then one ``update`` per
ledger entry (``ledger_id``, ``ref_id``, ``type``, ``asset``, ``amount``, ``fee``, the new
``balance`` of the wallet). The simulated account has one wallet per asset, ``spot``/``main``;
a fill writes two entries (the base asset and the quote asset), the fee charged on the asset
the order's ``fee_preference`` names (Kraken's default: quote buying, base selling). The
recorded frames (kraken-async-rs test data, 2024-05) carry one entry per update frame, and so
does the simulator.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from ._order import new_ledger_id

__all__ = [
    "DEFAULT_BALANCES",
    "BalanceRow",
    "LedgerRow",
    "Wallet",
    "ledger_rows",
    "snapshot_rows",
]

ZERO = Decimal(0)
# What a fresh simulated account holds (spot/main); ``Account.balances`` is a plain dict.
DEFAULT_BALANCES: dict[str, Decimal] = {
    "USD": Decimal("1000000"),
    "BTC": Decimal("100"),
    "ETH": Decimal("1000"),
}


class Wallet(msgspec.Struct):
    type: str
    id: str
    balance: Decimal


class BalanceRow(msgspec.Struct):
    """One asset of a snapshot (the key order of Kraken's example)."""

    asset: str
    asset_class: str
    balance: Decimal
    wallets: list[Wallet]


class LedgerRow(msgspec.Struct, kw_only=True):
    """One ledger entry of an update (the key order of the recorded frame)."""

    ledger_id: str
    ref_id: str
    timestamp: str
    type: str
    asset: str
    asset_class: str = "currency"
    category: str
    wallet_type: str = "spot"
    wallet_id: str = "main"
    amount: Decimal
    fee: Decimal
    balance: Decimal


def snapshot_rows(balances: dict[str, Decimal]) -> list[BalanceRow]:
    return [
        BalanceRow(asset, "currency", amount, [Wallet("spot", "main", amount)])
        for asset, amount in sorted(balances.items())
    ]


def ledger_rows(
    balances: dict[str, Decimal],
    moves: list[tuple[str, Decimal, Decimal]],
    ref_id: str,
    timestamp: str,
) -> list[LedgerRow]:
    """Apply ``(asset, amount, fee)`` moves to ``balances`` (amount signed, the fee taken
    from it) and return their ledger rows, each with the wallet's new balance."""
    rows: list[LedgerRow] = []
    for asset, amount, fee in moves:
        new = balances.get(asset, ZERO) + amount - fee
        balances[asset] = new
        rows.append(
            LedgerRow(
                ledger_id=new_ledger_id(),
                ref_id=ref_id,
                timestamp=timestamp,
                type="trade",
                asset=asset,
                category="trade",
                amount=amount,
                fee=fee,
                balance=new,
            )
        )
    return rows
