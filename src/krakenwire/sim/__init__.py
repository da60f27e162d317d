"""A local Kraken Spot WebSocket v2 (ws-auth) simulator for tests, demos and benchmarks.

Kraken has no spot sandbox, so [`Simulator`][krakenwire.sim.Simulator] speaks the trading protocol
of kraken-ws-v2.md on a loopback port: tokens, status, heartbeats, executions, the trading methods
with Kraken's error strings, an optional market that fills orders, and switches
([`SimConfig`][krakenwire.sim.SimConfig]) for undocumented behaviour and faults. It is an
independent implementation of Kraken's side: it shares no protocol code with the client.
"""

from ._book import Account, LedgerEntry
from ._config import SimConfig
from ._methods import METHODS
from ._order import Order
from ._server import Simulator

__all__ = ["METHODS", "Account", "LedgerEntry", "Order", "SimConfig", "Simulator"]
