"""krakenwire-prometheus: metrics through the hooks, scraped over HTTP from the loopback port."""

from __future__ import annotations

import urllib.request

import krakenwire_prometheus
import pytest
from krakenwire_prometheus import PrometheusPlugin

from krakenwire import BatchCancelResult, KrakenAPIError, RequestTimeout, RiskRejected
from krakenwire.hookspecs import Veto
from krakenwire.plugins import PluginHost
from krakenwire.protocol import batch_cancel


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def pending():
    """The request view a hook receives for a batch_cancel of two ids."""
    return batch_cancel(["OAAAAA-AAAAA-AAAAAA", "OBBBBB-BBBBB-BBBBBB"]).view(1)


def test_scrape_counts_and_latency_histogram():
    plugin = PrometheusPlugin(port=0)
    host = PluginHost([plugin], autoload=False)
    try:
        port = plugin.start()
        assert port > 0 and plugin.start() == port
        p = pending()
        for _ in range(3):
            host.audit(p, BatchCancelResult(count=2, req_id=p.req_id), 2_000_000, None)
        host.audit(p, KrakenAPIError("EOrder:Invalid order"), 1_000_000, None)
        host.audit(p, RequestTimeout("slow"), 10_000_000_000, None)
        host.audit(p, RiskRejected(Veto("no", "risk")), 0, None)
        host.event("connected", {})
        text = scrape(port)
    finally:
        plugin.close()
    assert 'krakenwire_requests_total{method="batch_cancel",outcome="ok"} 3.0' in text
    assert 'krakenwire_requests_total{method="batch_cancel",outcome="rejected"} 1.0' in text
    assert 'krakenwire_requests_total{method="batch_cancel",outcome="unknown"} 1.0' in text
    assert 'krakenwire_requests_total{method="batch_cancel",outcome="vetoed"} 1.0' in text
    assert 'krakenwire_orders_cancelled_total{method="batch_cancel"} 6.0' in text
    assert (
        'krakenwire_request_latency_seconds_bucket{le="0.0025",method="batch_cancel",'
        'outcome="ok"} 3.0'
    ) in text
    assert (
        'krakenwire_request_latency_seconds_count{method="batch_cancel",outcome="ok"} 3.0' in text
    )
    assert 'krakenwire_connection_events_total{event="connected"} 1.0' in text
    assert "python_gc" not in text  # its own registry, not the global one


def test_two_instances_do_not_share_metrics():
    a, b = PrometheusPlugin(port=None), PrometheusPlugin(port=None)
    a.krakenwire_audit(pending(), BatchCancelResult(count=2, req_id=1), 1000)
    assert (
        a.registry.get_sample_value(
            "krakenwire_requests_total", {"method": "batch_cancel", "outcome": "ok"}
        )
        == 1
    )
    assert (
        b.registry.get_sample_value(
            "krakenwire_requests_total", {"method": "batch_cancel", "outcome": "ok"}
        )
        is None
    )
    with pytest.raises(ValueError):
        a.start()


def test_loopback_only():
    with pytest.raises(ValueError, match="loopback"):
        PrometheusPlugin(port=0, host="0.0.0.0")


def test_module_form_serves_on_connected(monkeypatch):
    krakenwire_prometheus.reset_default()
    monkeypatch.setenv("KRAKENWIRE_PROMETHEUS_PORT", "0")
    try:
        host = PluginHost([krakenwire_prometheus], autoload=False)
        host.event("connected", {})
        plugin = krakenwire_prometheus.default()
        assert plugin.serving and plugin._server.server_address[0] == "127.0.0.1"
        assert 'event="connected"' in scrape(plugin.port)
    finally:
        krakenwire_prometheus.reset_default()
