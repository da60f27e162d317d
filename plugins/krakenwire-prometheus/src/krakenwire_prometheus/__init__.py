"""krakenwire-prometheus: request counts, outcomes and latency histograms for Prometheus.

Register ``PrometheusPlugin(port=...)`` through ``krakenwire.connect(plugins=[...])`` and call
``start()`` (or let the first ``connected`` event start it), or install the package: the
``prometheus`` entry point loads this module, whose hooks feed one default instance configured
from ``KRAKENWIRE_PROMETHEUS_PORT`` on first use. Importing the module has no side effects.
"""

from __future__ import annotations

from typing import Any

from krakenwire.hookspecs import hookimpl

from ._plugin import LATENCY_BUCKETS, PrometheusPlugin

__all__ = ["LATENCY_BUCKETS", "PrometheusPlugin", "default", "reset_default"]

_default: PrometheusPlugin | None = None


def default() -> PrometheusPlugin:
    """The instance the entry-point hooks use, built from the environment on first call."""
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
    """Entry-point form of :meth:`PrometheusPlugin.krakenwire_audit`."""
    default().krakenwire_audit(request, outcome, elapsed_ns)


@hookimpl
def krakenwire_connection_event(event: str) -> None:
    """Entry-point form of :meth:`PrometheusPlugin.krakenwire_connection_event`."""
    default().krakenwire_connection_event(event)
