"""krakenwire-risk: pre-send risk checks for krakenwire (kill switch, caps, rate counter model).

Register a configured :class:`RiskPlugin` through ``krakenwire.connect(plugins=[RiskPlugin(...)])``,
or install the package and let the ``risk`` entry point load this module: its hooks delegate to
one default instance built from environment variables (:meth:`RiskPlugin.from_env`) on first use.
Importing the module has no side effects.
"""

from __future__ import annotations

from typing import Any

from krakenwire.hookspecs import Veto, hookimpl

from ._counter import TIERS, OrderAges, RateCounter, age_cost
from ._plugin import CANCELS, ORDER_ENTRY, RiskPlugin

__all__ = [
    "CANCELS",
    "ORDER_ENTRY",
    "TIERS",
    "OrderAges",
    "RateCounter",
    "RiskPlugin",
    "age_cost",
    "default",
    "reset_default",
]

_default: RiskPlugin | None = None


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
    """Entry-point form of :meth:`RiskPlugin.krakenwire_check_request`."""
    return default().krakenwire_check_request(request)


@hookimpl
def krakenwire_executions(message: Any) -> None:
    """Entry-point form of :meth:`RiskPlugin.krakenwire_executions`."""
    default().krakenwire_executions(message)


@hookimpl
def krakenwire_audit(request: Any, outcome: Any) -> None:
    """Entry-point form of :meth:`RiskPlugin.krakenwire_audit`."""
    default().krakenwire_audit(request, outcome)
