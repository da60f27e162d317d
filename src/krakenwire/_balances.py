"""The live balances view, kept from Kraken's ``balances`` channel (sans-IO but for an Event).

Kraken's page (docs.kraken.com .../spot-websocket-v2/balances) streams a ``snapshot`` (per
asset: its total ``balance`` and the ``wallets`` holding it, ``type``/``id``/``balance`` each)
and then ``update`` frames of ledger entries (``asset``, ``wallet_type``, ``wallet_id``,
``amount``, ``fee`` and the wallet's new ``balance``). The view keeps each asset's total as the
snapshot gives it and every wallet; an update sets its wallet to the ``balance`` it carries
and moves the total by the wallet's change (never adds ``amount``), so a repeated entry (two
sockets streaming the same account) changes nothing. A snapshot row without wallets is taken
as the spot/main wallet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from .methods.housekeeping import subscribe_balances
from .protocol._events import ChannelFrame

__all__ = ["Balances", "subscribe_balances"]  # the builder lives with the other subscribes

_ZERO = Decimal(0)
_MAIN = ("spot", "main")


def _dec(v: Any) -> Decimal | None:
    if type(v) is Decimal:
        return v
    if type(v) is int:
        return Decimal(v)
    return None


class Balances(Mapping[str, Decimal]):
    """A read-only mapping asset -> ``Decimal`` balance (all wallets), kept from the
    ``balances`` channel: ``client.balances["USD"]``.

    ``ready`` is set once a snapshot has been applied on the current connection;
    `wallets` gives one asset's wallets; ``sequence`` is the last frame's and ``gaps``
    counts the sequence gaps seen (each answered with a fresh snapshot).
    """

    def __init__(self) -> None:
        self._wallets: dict[str, dict[tuple[str, str], Decimal]] = {}
        self._totals: dict[str, Decimal] = {}
        self._seq: dict[int, int] = {}
        self.sequence: int | None = None
        self.gaps = 0
        self.ready = asyncio.Event()

    def __repr__(self) -> str:
        shown = ", ".join(f"{a}={v}" for a, v in sorted(self.items()))
        return f"<Balances {shown}{'' if self.ready.is_set() else ' (no snapshot)'}>"

    def __getitem__(self, asset: str) -> Decimal:
        return self._totals[asset]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._totals))

    def __len__(self) -> int:
        return len(self._totals)

    def wallets(self, asset: str) -> dict[tuple[str, str], Decimal]:
        """``{(wallet_type, wallet_id): balance}`` of ``asset`` (empty if unknown)."""
        return dict(self._wallets.get(asset, {}))

    def reset(self, stream: int = 0) -> None:
        """``stream``'s socket dropped: the balances stay, ``ready`` clears until the next
        snapshot."""
        self._seq.pop(stream, None)
        if not self._seq:
            self.ready.clear()

    def apply(self, msg: ChannelFrame, stream: int = 0) -> bool:
        """Apply one ``balances`` frame. Returns ``False`` when ``sequence`` shows a gap (the
        frame is still applied; the caller should take a fresh snapshot).

        Raises:
            ValueError: the frame is not a list of balance rows (nothing applied).
        """
        data = msg.data
        if not isinstance(data, list) or not all(
            isinstance(row, dict) and isinstance(row.get("asset"), str) for row in data
        ):
            raise ValueError(f"balances {msg.type} not understood: {str(data)[:100]}")
        ok = True
        if msg.type == "snapshot":
            self._load(data)
        else:
            last = self._seq.get(stream)
            seq = msg.sequence
            if seq is not None and last is not None and seq != last + 1:
                self.gaps += 1
                ok = False
            for row in data:
                new = _dec(row.get("balance"))
                if new is None:
                    continue
                asset = row["asset"]
                wallet = (str(row.get("wallet_type", "spot")), str(row.get("wallet_id", "main")))
                wallets = self._wallets.setdefault(asset, {})
                old = wallets.get(wallet, _ZERO)
                wallets[wallet] = new
                self._totals[asset] = self._totals.get(asset, _ZERO) + new - old
        if type(msg.sequence) is int:
            self._seq[stream] = msg.sequence
            self.sequence = msg.sequence
        if msg.type == "snapshot":
            self.ready.set()
        return ok

    def _load(self, rows: list[dict[str, Any]]) -> None:
        self._wallets.clear()
        self._totals.clear()
        for row in rows:
            wallets: dict[tuple[str, str], Decimal] = {}
            listed = row.get("wallets")
            if isinstance(listed, list):
                for w in listed:
                    amount = _dec(w.get("balance")) if isinstance(w, dict) else None
                    if amount is not None:
                        wallets[(str(w.get("type", "spot")), str(w.get("id", "main")))] = amount
            total = _dec(row.get("balance"))
            if total is None:
                total = sum(wallets.values(), _ZERO)
            if not wallets:
                wallets[_MAIN] = total  # a row without wallets: the total is the spot wallet
            self._wallets[row["asset"]] = wallets
            self._totals[row["asset"]] = total
