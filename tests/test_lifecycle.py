"""Connection lifecycle against the real simulator: reconnect, watchdog, 1008, tokens, reconcile."""

import asyncio
import logging
import random
import ssl

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

import krakenwire
from krakenwire import (
    AuthError,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    Credentials,
    InvalidSession,
    ServiceUnavailable,
)
from krakenwire._config import ConnectBudget, backoff
from krakenwire.sim import SimConfig, Simulator

FAST = {"backoff_base": 0.01, "backoff_cap": 0.05}


async def _until(pred, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def test_reconnects_resubscribes_and_reports_every_state(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            states = []
            async with await krakenwire.connect(
                sim.url, token=sim.token, on_state=states.append, **FAST
            ) as client:
                await asyncio.wait_for(client.open_orders.ready.wait(), 5)
                assert await sim.drop_connections(1001) == 1
                await _until(lambda: client.stats.reconnects == 1 and client.state == "connected")
                await asyncio.wait_for(client.open_orders.ready.wait(), 5)
                ids = [o.order_id for o in acct.place(2)]
                assert (await client.batch_cancel(ids)).count == 2
                await sim.drop_connections(None)  # abrupt, like 1006
                await _until(lambda: client.stats.reconnects == 2 and client.state == "connected")
            seq = [s.state for s in states]
            assert seq[:4] == ["connected", "disconnected", "reconnecting", "connected"]
            assert states[1].reason == "close code 1001"
            assert seq[-1] == "closed"

    run(main)


def test_close_code_1008_is_terminal(run):
    async def main():
        async with Simulator() as sim:
            client = await krakenwire.connect(sim.url, token=sim.token, **FAST)
            await sim.drop_connections(1008)
            await asyncio.wait_for(client.wait_closed(), 5)
            assert client.state == "closed" and client.stats.reconnects == 0
            with pytest.raises(ConnectionClosed, match="not connected"):
                await client.batch_cancel(["A", "B"])
            await client.close()

    run(main)


def test_watchdog_drops_a_silent_socket_and_reconnects(run):
    async def main():
        async with Simulator() as sim:
            states = []

            def on_state(change):
                states.append(change.state)
                if change.state == "disconnected":
                    sim.blackhole = False

            async with await krakenwire.connect(
                sim.url,
                token=sim.token,
                on_state=on_state,
                liveness_timeout=0.3,
                ping_timeout=0.3,
                **FAST,
            ) as client:
                sim.blackhole = True  # socket stays open; nothing comes back
                await _until(lambda: client.stats.reconnects == 1, timeout=10)
                assert (await client.ping()).latency_ns > 0
            assert "disconnected" in states and "reconnecting" in states

    run(main)


def test_watchdog_keeps_a_quiet_healthy_socket(run):
    async def main():
        async with Simulator(config=SimConfig(heartbeat_interval=5.0)) as sim:
            async with await krakenwire.connect(
                sim.url, token=sim.token, liveness_timeout=0.2, ping_timeout=1.0, **FAST
            ) as client:
                await asyncio.sleep(0.8)  # no heartbeats: the watchdog pings, gets pongs
                assert client.stats.reconnects == 0 and client.state == "connected"

    run(main)


def test_credentials_fresh_token_per_connection_and_refresh_on_invalid_session(run):
    async def main():
        async with Simulator() as sim:
            key, secret = next(iter(sim.api_keys.items()))
            creds = Credentials(key, secret)
            events = []

            class Watch:
                @krakenwire.hookimpl
                def krakenwire_connection_event(self, event):
                    events.append(event)

            async with await krakenwire.connect(
                sim.url, credentials=creds, rest_url=sim.rest_url, plugins=[Watch()], **FAST
            ) as client:
                acct = sim.accounts[0]
                assert client.stats.token_refreshes == 1
                ids = [o.order_id for o in acct.place(2)]
                sim.invalidate_tokens()  # Kraken killed the token server-side
                r = await client.batch_cancel(ids)
                assert r.count == 2 and client.stats.token_refreshes == 2
                # The first attempt was rejected (not executed, not in the ledger); the re-send
                # executed exactly once.
                assert [(e.method, e.error) for e in acct.ledger] == [("batch_cancel", None)]
                await sim.drop_connections(None)
                await _until(lambda: client.stats.reconnects == 1 and client.state == "connected")
                assert client.stats.token_refreshes == 3  # a fresh token for the new connection
            assert events.count("token_refreshed") == 3 and "disconnected" in events

    run(main)


def test_invalid_session_without_credentials_is_raised(run):
    async def main():
        async with Simulator() as sim:
            async with await krakenwire.connect(sim.url, token=sim.token, **FAST) as client:
                sim.invalidate_tokens()
                with pytest.raises(InvalidSession) as ei:
                    await client.batch_cancel(["A", "B"])
                assert isinstance(ei.value, AuthError)
                assert ei.value.error == "ESession:Invalid session"

    run(main)


def test_token_refused_on_reconnect_closes_without_a_retry_loop(run):
    async def main():
        async with Simulator() as sim:
            client = await krakenwire.connect(sim.url, token=sim.token, **FAST)
            sim.invalidate_tokens()
            before = sim.frames_received
            await sim.drop_connections(None)
            await asyncio.wait_for(client.wait_closed(), 5)
            assert client.state == "closed"
            assert sim.frames_received - before <= 2  # one subscribe attempt, not a loop
            await client.close()

    run(main)


def test_rest_refusal_is_an_auth_error_with_krakens_string(run):
    async def main():
        async with Simulator() as sim:
            key = next(iter(sim.api_keys))
            wrong = Credentials(key, "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
            with pytest.raises(AuthError) as ei:
                await krakenwire.connect(sim.url, credentials=wrong, rest_url=sim.rest_url)
            assert ei.value.error == "EAPI:Invalid signature"

    run(main)


def test_connection_lost_then_reconcile_says_which_are_gone(run):
    async def main():
        async with Simulator(config=SimConfig(close_after=1)) as sim:
            acct = sim.account(sim.token)
            doomed = [o.order_id for o in acct.place(3)]
            keep = [o.order_id for o in acct.place(2)]
            async with await krakenwire.connect(sim.url, token=sim.token, **FAST) as client:
                with pytest.raises(ConnectionLost) as ei:
                    await client.batch_cancel(doomed)
                assert list(ei.value.ids) == doomed and ei.value.outcome == "unknown"
                rec = await client.reconcile(list(ei.value.ids) + keep[:1])
                assert rec.gone == doomed and rec.open == keep[:1]
            assert set(acct.open_orders) == set(keep)

    run(main)


def test_reconcile_recancels_what_is_still_open(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(3)]
            async with await krakenwire.connect(sim.url, token=sim.token, **FAST) as client:
                rec = await client.reconcile(ids, recancel=True)
                assert rec.open == ids and rec.recancelled.count == 3
                await client.ping()
                rec2 = await client.reconcile(ids)
                assert rec2.gone == ids and rec2.statuses == dict.fromkeys(ids, "canceled")
            assert acct.open_orders == {}

    run(main)


def test_cancel_only_and_maintenance(run):
    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            async with await krakenwire.connect(sim.url, token=sim.token, **FAST) as client:
                await sim.set_system("cancel_only")
                await client.ping()
                assert client.status == "cancel_only"
                ids = [o.order_id for o in acct.place(2)]
                assert (await client.batch_cancel(ids)).count == 2
                await sim.set_system("maintenance")
                with pytest.raises(ServiceUnavailable) as ei:
                    await client.batch_cancel(["A", "B"])
                assert ei.value.error == "EService:Unavailable"
                assert client.status == "maintenance"

    run(main)


def test_secrets_never_in_logs_reprs_or_errors(run, caplog):
    async def main():
        caplog.set_level(logging.DEBUG)
        async with Simulator(config=SimConfig(junk_every=2)) as sim:
            key, secret = next(iter(sim.api_keys.items()))
            creds = Credentials(key, secret)
            seen = [repr(creds), str(creds)]
            async with await krakenwire.connect(
                sim.url, credentials=creds, rest_url=sim.rest_url, **FAST
            ) as client:
                token = client._conns.router.token()
                seen += [repr(client), repr(client._conns.router)]
                sim.invalidate_tokens()
                r = await client.batch_cancel(["A", "B"])
                seen.append(repr(r))
                try:
                    await client.cancel_order(order_userref=[10**12])
                except krakenwire.ValidationError as exc:
                    seen.append(str(exc))
                await sim.drop_connections(None)
                await _until(lambda: client.state == "connected")
            with pytest.raises(AuthError) as ei:
                await krakenwire.connect(sim.url, token=token + "x")
            seen.append(str(ei.value))
        text = caplog.text + "\n".join(seen)
        for s in (secret, token):
            assert s not in text

    run(main)


@pytest.fixture(scope="module")
def tls():
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    return server, trusting


def test_wss_verifies_certificates_by_default(run, tls):
    server_ctx, trusting = tls

    async def main():
        async with Simulator(ssl_context=server_ctx) as sim:
            assert sim.url.startswith("wss://")
            with pytest.raises(ConnectError, match="certificate"):
                await krakenwire.connect(sim.url, token=sim.token, timeout=3)
            async with await krakenwire.connect(
                sim.url, token=sim.token, ssl_context=trusting
            ) as client:
                assert (await client.ping()).latency_ns > 0

    run(main)


def test_connect_budget_caps_attempts_in_a_rolling_window():
    now = [0.0]
    b = ConnectBudget(max_attempts=3, window=10.0, clock=lambda: now[0])
    for _ in range(3):
        assert b.delay() == 0.0
        b.record()
        now[0] += 1.0
    assert b.delay() == pytest.approx(7.0)  # the first attempt leaves the window at t=10
    now[0] = 10.0
    assert b.delay() == 0.0


@given(st.integers(0, 200), st.floats(0.001, 5), st.floats(0.01, 120))
def test_backoff_is_capped_and_jittered(attempt, base, cap):
    d = backoff(attempt, base, cap, random.Random(attempt))
    full = min(cap, base * 2.0 ** min(attempt, 30))
    assert full / 2 <= d <= full
