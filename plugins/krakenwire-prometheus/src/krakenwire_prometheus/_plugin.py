"""Request counts by method and outcome and latency histograms, served on a loopback port.

Each [`PrometheusPlugin`][krakenwire_prometheus.PrometheusPlugin] owns a ``CollectorRegistry`` (not
prometheus-client's global one), so several clients or tests never share or collide on metrics. The
HTTP server is prometheus-client's own, bound to a loopback address only.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from krakenwire import RiskRejected
from krakenwire.hookspecs import hookimpl

__all__ = ["LATENCY_BUCKETS", "PrometheusPlugin"]

# Seconds: 50 us .. 10 s, dense around the 1-20 ms of a loopback or Kraken round trip.
LATENCY_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    10.0,
)
"""Histogram buckets of the request latency, in seconds (50 us .. several seconds)."""


def _outcome(outcome: Any) -> str:
    if isinstance(outcome, RiskRejected):
        return "vetoed"
    if isinstance(outcome, BaseException):
        return str(getattr(outcome, "outcome", "rejected"))
    return "unknown" if outcome is None else "ok"


class PrometheusPlugin:
    """krakenwire metrics for Prometheus.

    Args:
        port: TCP port to serve ``/metrics`` on (0: an ephemeral one, read back from ``port``
            after `start`); ``None``: do not serve (collect only).
        host: a loopback address; anything else raises ``ValueError``.
        namespace: metric name prefix.

    Attributes:
        registry: this plugin's ``CollectorRegistry``.
        port: the bound port once started.
        requests: ``{ns}_requests_total{method, outcome}``.
        latency: ``{ns}_request_latency_seconds{method, outcome}`` (send to settle, vetoed
            excluded).
        cancelled: ``{ns}_orders_cancelled_total{method}``.
        events: ``{ns}_connection_events_total{event}``.
    """

    def __init__(
        self, port: int | None = 0, *, host: str = "127.0.0.1", namespace: str = "krakenwire"
    ) -> None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ValueError(f"metrics are served on loopback only, not {host!r}")
        self.host = host
        self.port = port
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            f"{namespace}_requests",
            "Trading requests by outcome",
            ("method", "outcome"),
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{namespace}_request_latency_seconds",
            "Request round trip, send to settle",
            ("method", "outcome"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cancelled = Counter(
            f"{namespace}_orders_cancelled",
            "Orders Kraken reported cancelled",
            ("method",),
            registry=self.registry,
        )
        self.events = Counter(
            f"{namespace}_connection_events",
            "Connection events",
            ("event",),
            registry=self.registry,
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> PrometheusPlugin:
        """Configuration from the environment: ``KRAKENWIRE_PROMETHEUS_PORT`` (unset: collect but do
        not serve) and ``KRAKENWIRE_PROMETHEUS_HOST`` (default ``127.0.0.1``)."""
        e = os.environ if env is None else env
        raw = e.get("KRAKENWIRE_PROMETHEUS_PORT", "").strip()
        return cls(int(raw) if raw else None, host=e.get("KRAKENWIRE_PROMETHEUS_HOST", "127.0.0.1"))

    @property
    def serving(self) -> bool:
        return self._server is not None

    def start(self) -> int:
        """Serve ``/metrics`` (idempotent) and return the bound port.

        Raises:
            ValueError: constructed with ``port=None``. OSError: the port is taken.
        """
        with self._lock:
            if self._server is None:
                if self.port is None:
                    raise ValueError("no port configured")
                self._server, self._thread = start_http_server(
                    self.port, addr=self.host, registry=self.registry
                )
                self.port = int(self._server.server_address[1])
        assert self.port is not None
        return self.port

    def close(self) -> None:
        """Stop serving (idempotent)."""
        with self._lock:
            server, self._server = self._server, None
            thread, self._thread = self._thread, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    @hookimpl
    def krakenwire_audit(self, request: Any, outcome: Any, elapsed_ns: int) -> None:
        """Count the request and observe its latency."""
        method = request.method
        kind = _outcome(outcome)
        self.requests.labels(method, kind).inc()
        if kind != "vetoed":
            self.latency.labels(method, kind).observe(elapsed_ns / 1e9)
        if kind == "ok":
            n = getattr(outcome, "count", None)  # every cancel result says count
            if isinstance(n, int) and n:
                self.cancelled.labels(method).inc(n)

    @hookimpl
    def krakenwire_connection_event(self, event: str) -> None:
        """Count the event; start serving on the first ``connected`` if a port is set."""
        self.events.labels(event).inc()
        if event == "connected" and self.port is not None and self._server is None:
            self.start()
