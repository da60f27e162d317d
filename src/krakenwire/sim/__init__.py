"""A local Kraken Spot WebSocket v2 (ws-auth) simulator for tests, demos and benchmarks.

Kraken has no spot sandbox, so :class:`Simulator` speaks the trading protocol of
kraken-ws-v2.md on a loopback port: tokens, status, heartbeats, executions, the trading
methods with Kraken's error strings, and fault switches (:class:`SimConfig`) for latency,
dropped replies, disconnects and junk frames.
"""

from ._book import Account, LedgerEntry, Order
from ._server import SimConfig, Simulator

__all__ = ["Account", "LedgerEntry", "Order", "SimConfig", "Simulator"]
