"""krakenwire-prometheus: request counts, outcomes and latency histograms for Prometheus.

Register ``PrometheusPlugin(port=...)`` through ``krakenwire.connect(plugins=[...])`` and call
``start()`` (or let the first ``connected`` event start it), or install the package: the
``prometheus`` entry point is the factory [`from_env`][krakenwire_prometheus.from_env], which
registers a plugin serving ``KRAKENWIRE_PROMETHEUS_PORT`` (nothing when it is unset). Registering
this module itself still works (its hooks feed one process-wide default). Importing the module has
no side effects and does not import prometheus_client (a CLI that never serves metrics does not pay
for it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from krakenwire.hookspecs import hookimpl

if TYPE_CHECKING:
    from ._plugin import LATENCY_BUCKETS, PrometheusPlugin

__all__ = [
    "KRAKENWIRE_ACTIVATION",
    "LATENCY_BUCKETS",
    "PrometheusPlugin",
    "default",
    "from_env",
    "reset_default",
]

KRAKENWIRE_ACTIVATION = (
    "KRAKENWIRE_PROMETHEUS_PORT=<port> (metrics served on KRAKENWIRE_PROMETHEUS_HOST, "
    "default 127.0.0.1)"
)
"""What turns this entry point on: `krakenwire plugins` prints it as "activated by"."""


def __getattr__(name: str) -> Any:
    if name in ("LATENCY_BUCKETS", "PrometheusPlugin"):
        from . import _plugin

        return getattr(_plugin, name)
    raise AttributeError(name)


def from_env() -> PrometheusPlugin | None:
    """The entry point: a fresh plugin for one client serving ``KRAKENWIRE_PROMETHEUS_PORT``,
    or ``None`` (nothing registered) when the variable is unset."""
    if not os.environ.get("KRAKENWIRE_PROMETHEUS_PORT", "").strip():
        return None
    from ._plugin import PrometheusPlugin

    return PrometheusPlugin.from_env()


_default: PrometheusPlugin | None = None


def default() -> PrometheusPlugin:
    """The instance the module's hooks use, built from the environment on first call."""
    from ._plugin import PrometheusPlugin

    global _default
    if _default is None:
        _default = PrometheusPlugin.from_env()
    return _default


def reset_default() -> None:
    """Stop and forget the default instance."""
    global _default
    if _default is not None:
        _default.close()
    _default = None


@hookimpl
def krakenwire_audit(request: Any, outcome: Any, elapsed_ns: int) -> None:
    """Entry-point form of
    [`PrometheusPlugin.krakenwire_audit`][krakenwire_prometheus.PrometheusPlugin.krakenwire_audit]."""
    default().krakenwire_audit(request, outcome, elapsed_ns)


@hookimpl
def krakenwire_connection_event(event: str) -> None:
    """Entry-point form of
    [`PrometheusPlugin.krakenwire_connection_event`][krakenwire_prometheus.PrometheusPlugin.krakenwire_connection_event]."""
    default().krakenwire_connection_event(event)
