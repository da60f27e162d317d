"""Housekeeping: ``ping``, ``subscribe`` and ``unsubscribe`` (never risk-checked)."""

from __future__ import annotations

from typing import Any

from .. import _messages as m
from .. import _results as res
from ..errors import ValidationError
from ._spec import Call, Completion, Kind, MethodSpec, error

__all__ = [
    "PING",
    "ROWS",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "ping",
    "subscribe_balances",
    "subscribe_executions",
]


def _ping(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    # A recorded pong has no "success" key at all (kraken-ws-v2.md section 1).
    if r.success is False:
        return error(r, "ping")
    return res.PongResult(
        req_id=rid, latency_ns=latency, time_in_raw=r.time_in, time_out_raw=r.time_out
    )


def _subscribe(call: Call, r: m.Reply, rid: int, latency: int) -> Any:
    if not r.success:
        return error(r, call.spec.name)
    return m.SUBSCRIBE_DECODER.decode(r.result) if r.result else m.SubscribeWire()


_H, _ONE = Kind.HOUSEKEEPING, Completion.ONE
PING = MethodSpec(
    "ping", m.Ping, _H, True, _ONE, _ping, res.PongResult, answers=frozenset({"pong"})
)
SUBSCRIBE = MethodSpec("subscribe", m.Subscribe, _H, True, _ONE, _subscribe, m.SubscribeWire)
# Kraken answers an unsubscribe error as method "subscribe" (sic, kraken-ws-v2.md §3).
UNSUBSCRIBE = MethodSpec(
    "unsubscribe", m.Unsubscribe, _H, True, _ONE, _subscribe, m.SubscribeWire,
    answers=frozenset({"subscribe"}),
)  # fmt: skip
ROWS = (PING, SUBSCRIBE, UNSUBSCRIBE)


def ping() -> Call:
    return Call(PING, m.Ping(0), None, [])


def subscribe_executions(
    *,
    snap_orders: bool = True,
    snap_trades: bool = False,
    order_status: bool = True,
    ratecounter: bool = False,
    unsubscribe: bool = False,
) -> Call:
    for name, v in (
        ("snap_orders", snap_orders),
        ("snap_trades", snap_trades),
        ("order_status", order_status),
        ("ratecounter", ratecounter),
        ("unsubscribe", unsubscribe),
    ):
        if type(v) is not bool:
            raise ValidationError(f"{name} must be a bool, got {v!r}", field=name, value=v)
    if unsubscribe:
        params = m.SubscribeParams("executions", "")
        return Call(UNSUBSCRIBE, m.Unsubscribe(params, 0), params, [])
    params = m.SubscribeParams(
        "executions", "", snap_orders, snap_trades, order_status, ratecounter
    )
    return Call(SUBSCRIBE, m.Subscribe(params, 0), params, [])


def subscribe_balances(*, unsubscribe: bool = False, snapshot: bool = True) -> Call:
    """The ``subscribe`` (or ``unsubscribe``) request of the ``balances`` channel."""
    params = m.SubscribeParams("balances", "", snapshot=snapshot)
    if unsubscribe:
        params.snapshot = None
        return Call(UNSUBSCRIBE, m.Unsubscribe(params, 0), params, [])
    return Call(SUBSCRIBE, m.Subscribe(params, 0), params, [])
