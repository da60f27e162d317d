"""krakenwire-risk: pre-send risk checks for krakenwire (kill switch, caps, rate counter model).

Register a configured [`RiskPlugin`][krakenwire_risk.RiskPlugin] through
``krakenwire.connect(plugins=[RiskPlugin(...)])``, or install the package: the ``risk`` entry point
is the factory [`from_env`][krakenwire_risk.from_env], called once per client, so every client gets
its own instance (its own rate-counter model) configured from environment variables. Registering
this module itself still works (its hooks delegate to one process-wide default). Importing the
module has no side effects.
"""

from __future__ import annotations

from typing import Any

from krakenwire.hookspecs import Veto, hookimpl

from ._counter import TIERS, OrderAges, RateCounter, age_cost
from ._plugin import CANCELS, ORDER_ENTRY, RiskPlugin

__all__ = [
    "CANCELS",
    "KRAKENWIRE_ACTIVATION",
    "ORDER_ENTRY",
    "TIERS",
    "OrderAges",
    "RateCounter",
    "RiskPlugin",
    "age_cost",
    "default",
    "from_env",
    "reset_default",
]

KRAKENWIRE_ACTIVATION = (
    "always, once installed; it vetoes only what it is told to: KRAKENWIRE_KILL=1 or "
    "KRAKENWIRE_KILL_FILE=<path> (kill switch), KRAKENWIRE_RISK_TIER=starter|intermediate|pro "
    "(rate-counter model), KRAKENWIRE_RISK_MAX_IDS_PER_S, KRAKENWIRE_RISK_CAP_CANCELS=1, "
    "KRAKENWIRE_RISK_MAX_QTY, KRAKENWIRE_RISK_MAX_NOTIONAL"
)
"""What turns this entry point on: `krakenwire plugins` prints it as "activated by"."""

_default: RiskPlugin | None = None


def from_env() -> RiskPlugin:
    """The entry point: a fresh [`RiskPlugin`][krakenwire_risk.RiskPlugin] for one client, from the
    environment."""
    return RiskPlugin.from_env()


def default() -> RiskPlugin:
    """The instance the entry-point hooks use, built from the environment on first call."""
    global _default
    if _default is None:
        _default = RiskPlugin.from_env()
    return _default


def reset_default() -> None:
    """Forget the default instance (the next hook call re-reads the environment)."""
    global _default
    _default = None


@hookimpl
def krakenwire_check_request(request: Any) -> Veto | None:
    """Entry-point form of
    [`RiskPlugin.krakenwire_check_request`][krakenwire_risk.RiskPlugin.krakenwire_check_request]."""
    return default().krakenwire_check_request(request)


@hookimpl
def krakenwire_executions(message: Any) -> None:
    """Entry-point form of
    [`RiskPlugin.krakenwire_executions`][krakenwire_risk.RiskPlugin.krakenwire_executions]."""
    default().krakenwire_executions(message)


@hookimpl
def krakenwire_audit(request: Any, outcome: Any) -> None:
    """Entry-point form of
    [`RiskPlugin.krakenwire_audit`][krakenwire_risk.RiskPlugin.krakenwire_audit]."""
    default().krakenwire_audit(request, outcome)
