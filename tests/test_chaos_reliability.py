"""The "Reliability" issue, one test (or more) per numbered item, against the hostile server
(tests/_hostile.py) or the simulator. Everything is counted from the server side or through
public API; no test asserts a duration (only bounds on how long we wait, and lower bounds on
backoff gaps, which a slow machine can only widen)."""

import asyncio
import logging

import pytest

import krakenwire
from krakenwire import (
    AuthError,
    ConnectError,
    ConnectionLost,
    Credentials,
    RequestTimeout,
    ValidationError,
)
from krakenwire.sim import SimConfig, Simulator
from tests._hostile import HostileServer, open_sockets, until

BASE, CAP = 0.05, 0.2  # backoff of the reconnect tests: gaps >= BASE/2, <= CAP
RECONNECT = {"backoff_base": BASE, "backoff_cap": CAP}


# ---- 1. reconnect loops multiply ------------------------------------------------------------


async def _storm(srv, mode, observe):
    """Connect, then make every later subscribe fail (``mode``), drop the socket, and watch
    for ``observe`` seconds. Returns (client, attempts made while the subscribe failed)."""
    client = await krakenwire.connect(srv.url, token="t", timeout=0.3, **RECONNECT)
    srv.subscribe_mode = mode
    first = srv.connections
    srv.drop_all(None)
    await asyncio.sleep(observe)
    return client, srv.connections - first


def _spacing_problem(srv, since):
    times = srv.attempt_times[since:]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Backoff with equal jitter sleeps >= BASE/2 before every attempt; only one attempt in
    # flight means handshakes can never come closer together than that (a slow machine only
    # widens gaps). Allow a little for handshake-time variance.
    if gaps and min(gaps) < BASE / 4:
        return f"attempts {len(times)} with gaps as short as {sorted(gaps)[:3]} s (no backoff)"
    return None


async def _eventually(pred, timeout):
    try:
        await until(pred, timeout)
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize("mode", ["close", "silent"])
def test_failed_resubscribe_keeps_one_reconnect_loop_and_recovers(run, mode):
    """Item 1: subscribe closed with 1013 / never answered during reconnects -> still one
    attempt at a time, with backoff; recovery once healthy; nothing open after close().
    Every requirement is checked and all the broken ones are reported together."""

    async def main():
        problems = []
        async with HostileServer() as srv:
            baseline = open_sockets()
            client, attempts = await _storm(srv, mode, observe=1.0)
            # One loop, backoff >= BASE/2 per attempt (capped at CAP): over 1 s at most
            # ~1/(CAP/2) + a few early short ones. Multiplying loops make hundreds.
            if attempts > 20:
                problems.append(f"{attempts} connection attempts in 1 s")
            if srv.max_live > 1:
                problems.append(f"{srv.max_live} sockets open at once")
            if (gap := _spacing_problem(srv, 1)) is not None:
                problems.append(gap)
            srv.subscribe_mode = "ack"
            # Recovery within the backoff cap (plus a generous bound for a slow machine).
            if not await _eventually(lambda: client.state == "connected", CAP + 2):
                problems.append(f"no recovery within {CAP + 2} s of the server turning healthy")
            await asyncio.sleep(3 * CAP)  # let any stray loop show itself
            if srv.live != 1 or srv.subscribed != 1 or srv.max_subscribed > 1:
                problems.append(
                    f"after recovery: {srv.live} live sockets, {srv.subscribed} live "
                    f"subscriptions (at most {srv.max_subscribed} at once)"
                )
            await client.close()
            if not await _eventually(lambda: srv.live == 0, 1.5):
                problems.append(f"{srv.live} sockets still open at the server after close()")
            # Counted in this process too: the server closing its end says nothing of a
            # client socket nobody closed.
            if not await _eventually(lambda: open_sockets() <= baseline, 1.5):
                problems.append(f"{open_sockets() - baseline} sockets left open after close()")
            after = srv.connections
            await asyncio.sleep(3 * CAP)
            if srv.connections != after:
                problems.append(f"{srv.connections - after} connection attempts after close()")
        assert not problems, "\n".join(problems)

    run(main)


def test_connect_budget_is_not_burnt_by_a_subscribe_storm(run):
    """Item 1: with the default budget (100 attempts / 600 s) a few seconds of failing
    subscribes must not push the next attempt ~10 minutes away."""

    async def main():
        async with HostileServer() as srv:
            client, _ = await _storm(srv, "close", observe=1.0)
            srv.subscribe_mode = "ack"
            await until(lambda: client.state == "connected", CAP + 2, "recovery")
            await client.close()

    run(main)


# ---- 2. one frame must not kill the connection ----------------------------------------------


def _held(srv):
    """Make the server hold every batch_cancel reply; returns the list to release from."""
    held = []
    srv.on("batch_cancel", lambda conn, msg: held.append((conn, msg)))
    return held


def _release(held):
    for conn, msg in held:
        conn.reply(msg, {"count": len(msg["params"]["orders"])})
    held.clear()


BAD_EXECUTIONS = {
    "data_int_update": {"channel": "executions", "type": "update", "data": 5, "sequence": 2},
    "data_int_snapshot": {"channel": "executions", "type": "snapshot", "data": 5, "sequence": 2},
    "order_id_list_snapshot": {
        "channel": "executions",
        "type": "snapshot",
        "data": [{"order_id": ["O1"], "order_status": "new"}],
        "sequence": 2,
    },
    "order_id_dict_snapshot": {
        "channel": "executions",
        "type": "snapshot",
        "data": [{"order_id": {"a": 1}, "order_status": "new"}],
        "sequence": 2,
    },
    "data_float_snapshot": {"channel": "executions", "type": "snapshot", "data": 1.5},
}


@pytest.mark.parametrize("kind", sorted(BAD_EXECUTIONS))
def test_an_unreadable_executions_frame_is_counted_and_the_connection_lives(run, caplog, kind):
    """Item 2: `"data": 5` or a list where an order id belongs raised TypeError out of
    on_ws_frame; picows dropped the socket and every pending request became ConnectionLost."""

    async def main():
        caplog.set_level(logging.DEBUG, logger="krakenwire")
        async with HostileServer() as srv:
            async with await krakenwire.connect(srv.url, token="t", **RECONNECT) as client:
                held = _held(srv)
                calls = [
                    asyncio.ensure_future(client.batch_cancel([f"A{i}", f"B{i}"], timeout=5))
                    for i in range(3)
                ]
                await until(lambda: len(held) == 3, what="requests at the server")
                before = client.stats.malformed
                logged = len(caplog.records)
                srv.broadcast(BAD_EXECUTIONS[kind])
                assert (await client.ping(timeout=5)).latency_ns > 0
                _release(held)
                results = await asyncio.gather(*calls)
                assert [r.count for r in results] == [2, 2, 2]
                assert client.stats.malformed == before + 1
                assert srv.connections == 1 and client.state == "connected"
                assert any(r.name == "krakenwire" for r in caplog.records[logged:]), "not logged"

    run(main)


def test_a_raising_on_executions_callback_is_logged_and_the_connection_lives(run, caplog):
    """Item 2: a user callback that raises must be logged (with its traceback) and must not
    reach picows (which drops the socket)."""

    async def main():
        caplog.set_level(logging.WARNING, logger="krakenwire")
        seen = []

        def boom(msg):
            seen.append(msg.type)
            if msg.type == "update":
                raise ValueError("user bug")

        async with HostileServer() as srv:
            client = await krakenwire.connect(srv.url, token="t", on_executions=boom, **RECONNECT)
            held = _held(srv)
            call = asyncio.ensure_future(client.batch_cancel(["A", "B"], timeout=5))
            await until(lambda: len(held) == 1, what="request at the server")
            srv.emit("update", [{"order_id": "OX", "exec_type": "new", "order_status": "new"}])
            assert (await client.ping(timeout=5)).latency_ns > 0
            _release(held)
            assert (await call).count == 2
            assert "update" in seen and srv.connections == 1
            await client.close()
        errs = [r for r in caplog.records if r.name == "krakenwire" and r.exc_info]
        assert errs and isinstance(errs[0].exc_info[1], ValueError)

    run(main)


# ---- 3. confirmation must not lie -----------------------------------------------------------


@pytest.mark.parametrize("place", ["add_order", "batch_add"])
def test_confirm_after_own_ack_is_cancelled_not_not_open(run, place):
    """Item 3: the add_order/batch_add ack is evidence the order exists; the executions `new`
    and `canceled` events arrive only after the batch_cancel reply."""

    async def main():
        async with HostileServer() as srv:
            async with await krakenwire.connect(srv.url, token="t") as client:
                srv.hold_executions = True  # Kraken is slow to tell us about the new orders
                if place == "add_order":
                    ids = []
                    for px in ("100", "101"):
                        r = await client.add_order(
                            symbol="BTC/USD", side="buy", order_qty="1", limit_price=px
                        )
                        ids.append(r.order_id)
                else:
                    orders = [
                        {"side": "buy", "order_qty": "1", "limit_price": "100"},
                        {"side": "buy", "order_qty": "1", "limit_price": "101"},
                    ]
                    b = await client.batch_add(orders, symbol="BTC/USD")
                    ids = [o.order_id for o in b.orders]

                def cancel_then_release(conn, msg):
                    HostileServer.default("batch_cancel")(conn, msg)
                    asyncio.get_running_loop().call_later(0.05, srv.release_executions)

                srv.on("batch_cancel", cancel_then_release)
                res = await client.batch_cancel(ids, confirm=3.0, timeout=5)
                assert res.count == 2
                assert res.confirmation.outcomes == dict.fromkeys(ids, "cancelled")

    run(main)


def test_connect_returns_with_the_executions_snapshot_in(run):
    """Item 3: connect() returned right after the subscribe ack, before the snapshot."""

    async def main():
        async with HostileServer() as srv:
            for ref in (1, 2, 3):
                srv.add_open(order_userref=ref)
            srv.snapshot_delay = 0.2
            async with await krakenwire.connect(srv.url, token="t") as client:
                assert len(client.open_orders) == 3
                assert client.open_orders.ready.is_set()

    run(main)


# ---- 4. input that does harm ----------------------------------------------------------------


def test_reconcile_of_a_bare_string_cancels_nothing(run):
    """Item 4: reconcile("OQ1Z2X-7ABCD-EFGHIJ", recancel=True) iterated the string and
    cancelled the orders with userrefs 1, 2 and 7."""

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            for ref in (1, 2, 7):
                acct.place_order(order_userref=ref)
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                await until(lambda: len(client.open_orders) == 3, what="snapshot")
                with pytest.raises(ValidationError):
                    await client.reconcile("OQ1Z2X-7ABCD-EFGHIJ", recancel=True)
                await client.ping()
            assert len(acct.open_orders) == 3 and acct.ledger == []

    run(main)


def test_batch_cancel_with_confirm_yes_sends_nothing(run):
    """Item 4: confirm="yes" sent and executed the cancel, then raised ValueError."""

    async def main():
        async with Simulator() as sim:
            acct = sim.account(sim.token)
            ids = [o.order_id for o in acct.place(2)]
            async with await krakenwire.connect(sim.url, token=sim.token) as client:
                with pytest.raises(ValidationError):
                    await client.batch_cancel(ids, confirm="yes")
                await client.ping()
            assert len(acct.open_orders) == 2 and acct.ledger == []

    run(main)


TRADE = {"symbol": "BTC/USD", "side": "buy", "order_qty": "1", "limit_price": "1"}
BAD_CALLS = {
    "batch_cancel-confirm-str": lambda c: c.batch_cancel(["A", "B"], confirm="yes"),
    "batch_cancel-confirm-negative": lambda c: c.batch_cancel(["A", "B"], confirm=-1),
    "batch_cancel-timeout-str": lambda c: c.batch_cancel(["A", "B"], timeout="1"),
    "batch_cancel-timeout-negative": lambda c: c.batch_cancel(["A", "B"], timeout=-1),
    "batch_cancel-timeout-nan": lambda c: c.batch_cancel(["A", "B"], timeout=float("nan")),
    "batch_cancel-unified-str": lambda c: c.batch_cancel(["A", "B"], unified="no"),
    "cancel_order-confirm-str": lambda c: c.cancel_order(order_id=["A"], confirm="yes"),
    "cancel_order-timeout-str": lambda c: c.cancel_order(order_id=["A"], timeout="1"),
    "cancel_orders-confirm-str": lambda c: c.cancel_orders(["A", "B", "C"], confirm="yes"),
    "cancel_orders-timeout-str": lambda c: c.cancel_orders(["A", "B", "C"], timeout="x"),
    "cancel_all-timeout-str": lambda c: c.cancel_all(timeout="x"),
    "cancel_after-timeout-negative": lambda c: c.cancel_after(60, timeout=-5),
    "add_order-timeout-str": lambda c: c.add_order(**TRADE, timeout="x"),
    "ping-timeout-str": lambda c: c.ping(timeout="x"),
    "reconcile-bare-string": lambda c: c.reconcile("OQ1Z2X-7ABCD-EFGHIJ", recancel=True),
    "reconcile-recancel-str": lambda c: c.reconcile(["7"], recancel="no"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_every_argument_is_checked_before_anything_is_sent(run, name):
    """Item 4: a bad argument anywhere raises ValidationError and the server sees nothing."""

    async def main():
        async with HostileServer() as srv:
            for ref in (1, 2, 7):
                srv.add_open(order_userref=ref)
            async with await krakenwire.connect(srv.url, token="t") as client:
                await until(lambda: len(client.open_orders) == 3, what="snapshot")
                seen = len(srv.requests)
                with pytest.raises(ValidationError):
                    await asyncio.wait_for(BAD_CALLS[name](client), 5)
                await asyncio.sleep(0.05)
                assert srv.requests[seen:] == [], "the server saw a frame"
                assert client.pending == 0
                assert (await client.ping(timeout=5)).latency_ns > 0
            assert len(srv.open_orders) == 3

    run(main)


# ---- 5. connect contract --------------------------------------------------------------------


def test_connect_to_a_server_silent_after_the_handshake_is_a_connect_error(run):
    """Item 5: RequestTimeout (outcome unknown) said the subscribe may have executed; the
    caller only needs to know the connection could not be established."""

    async def main():
        async with HostileServer() as srv:
            srv.silent = True
            with pytest.raises(ConnectError) as ei:
                await krakenwire.connect(srv.url, token="t", timeout=0.3)
            assert not isinstance(ei.value, RequestTimeout)
            await until(lambda: srv.live == 0, 3, "the half-open socket closed")

    run(main)


def test_connect_when_the_subscribe_is_closed_1013_is_a_connect_error(run):
    async def main():
        async with HostileServer() as srv:
            srv.subscribe_mode = "close"
            with pytest.raises(ConnectError) as ei:
                await krakenwire.connect(srv.url, token="t", timeout=2)
            assert not isinstance(ei.value, ConnectionLost)
            assert "1013" in str(ei.value)

    run(main)


def test_wss_to_a_plain_ws_server_says_why(run):
    """Item 5: the message was "cannot connect to wss://...: " with an empty reason."""

    async def main():
        async with HostileServer(handshake_timeout=0.5) as srv:
            url = srv.url.replace("ws://", "wss://")
            with pytest.raises(ConnectError) as ei:
                await krakenwire.connect(url, token="t", timeout=3)
            reason = str(ei.value).split(f"{url}:", 1)[-1].strip()
            assert reason, f"no reason given: {str(ei.value)!r}"

    run(main)


def test_a_refused_token_names_the_token(run):
    """Item 5: "subscribe to executions refused: ESession:Invalid session" did not say that
    the token is the problem."""

    async def main():
        async with Simulator() as sim:
            with pytest.raises(AuthError) as ei:
                await krakenwire.connect(sim.url, token="not-a-token")
            assert ei.value.error == "ESession:Invalid session"
            assert "token" in str(ei.value).lower()
            assert "not-a-token" not in str(ei.value)  # never the secret itself

    run(main)


# ---- 6. token refresh storm -----------------------------------------------------------------


def test_one_token_refresh_serves_a_burst_rejected_for_the_same_stale_token(run):
    """Item 6: 64 requests in flight when Kraken invalidates the token: each rejected one
    fetched its own token (65 REST calls). Rejections arrive spread out (latency jitter), as
    they do from a real exchange."""

    async def main():
        cfg = SimConfig(latency_jitter=0.15, seed=3)
        async with Simulator(config=cfg) as sim:
            key, secret = next(iter(sim.api_keys.items()))
            acct = sim.accounts[0]
            async with await krakenwire.connect(
                sim.url, credentials=Credentials(key, secret), rest_url=sim.rest_url
            ) as client:
                assert client.stats.token_refreshes == 1
                ids = [o.order_id for o in acct.place(128)]
                sim.invalidate_tokens()
                results = await asyncio.gather(
                    *(client.batch_cancel(ids[2 * i : 2 * i + 2], timeout=10) for i in range(64))
                )
                assert [r.count for r in results] == [2] * 64
                minted = len(sim.tokens)  # REST calls since the invalidation, server side
                assert minted == 1, f"{minted} tokens fetched for one stale token"
                assert client.stats.token_refreshes == 2

    run(main)


def test_one_token_refresh_for_a_burst_counted_at_the_rest_endpoint(run):
    """Item 6, counted at a REST endpoint: the hostile server rejects every request sent
    with the stale token, spread over time."""

    async def main():
        async with HostileServer(rest=True) as srv:
            srv.tokens = set()  # only tokens minted over REST are valid
            creds = Credentials("key", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
            async with await krakenwire.connect(
                srv.url, credentials=creds, rest_url=srv.rest_url
            ) as client:
                assert srv.rest_calls == 1
                loop = asyncio.get_running_loop()

                def slow(conn, msg):  # answer each request a little later than the previous
                    slow.n += 1
                    loop.call_later(
                        0.003 * slow.n, HostileServer.default("batch_cancel"), conn, msg
                    )

                slow.n = 0
                srv.on("batch_cancel", slow)
                srv.invalidate_tokens()
                results = await asyncio.gather(
                    *(client.batch_cancel([f"A{i}", f"B{i}"], timeout=10) for i in range(64))
                )
                assert [r.count for r in results] == [2] * 64
                assert srv.rest_calls == 2, f"{srv.rest_calls - 1} REST calls for one stale token"

    run(main)


def test_cancel_order_resent_after_a_token_refresh_returns_its_replies(run):
    """Found by the hostile soak: a cancel_order rejected for a stale token is re-sent with a
    fresh one and executes, but the caller got InvalidSession (a NotExecuted error) and the
    re-sent request's replies were counted as unmatched. A cancel that executed reported as
    not executed is the worst lie a cancel path can tell."""

    async def main():
        async with HostileServer(rest=True) as srv:
            srv.tokens = set()
            creds = Credentials("key", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
            async with await krakenwire.connect(
                srv.url, credentials=creds, rest_url=srv.rest_url
            ) as client:
                srv.invalidate_tokens()
                ids = ["OAAAAA-AAAAA-AAAAA1", "OAAAAA-AAAAA-AAAAA2", "OAAAAA-AAAAA-AAAAA3"]
                r = await client.cancel_order(order_id=ids, timeout=5)
                assert [x.order_id for x in r.replies] == ids
                sent = srv.methods("cancel_order")
                assert len(sent) == 2 and sent[0]["params"]["token"] != sent[1]["params"]["token"]
                assert client.stats.unmatched == 0

    run(main)
