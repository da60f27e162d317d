"""Rows of the ``executions`` channel, built from orders the way Kraken shapes them.

The shapes follow Kraken's executions page (docs.kraken.com/api/docs/websocket-v2/executions):
``pending_new`` and snapshot rows are full order reports; a ``new`` update is sparse (timestamp,
status, ids); a ``trade`` carries the fill (``exec_id``, ``last_qty``, ``last_price``,
``liquidity_ind``, ``cost``, ``fees``) and the order's cumulative fields; ``canceled`` and
``expired`` match the recorded cancel frame (kraken-ws-v2.md §4.11). ``time_in_force`` is
uppercase (``GTC``), as Kraken writes it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from ._order import ZERO, Order, new_exec_id

__all__ = [
    "CLOSE_TYPES",
    "ExecAmended",
    "ExecClosed",
    "ExecFull",
    "ExecNew",
    "ExecStatus",
    "ExecTrade",
    "Fee",
    "Row",
    "amended_row",
    "closed_row",
    "filled_row",
    "full_row",
    "new_row",
    "status_row",
    "trade_row",
]

# With order_status:false only these exec_types are streamed, plus trades (Kraken's executions
# page: "only open / close transitions will be streamed: new, filled, canceled, expired").
CLOSE_TYPES = frozenset(("new", "filled", "canceled", "expired", "trade"))


class _Row(msgspec.Struct, kw_only=True):
    """Every row has ``exec_type``; UNSET fields are left out of the frame."""


class ExecFull(_Row, kw_only=True):
    """A full order report: ``pending_new`` updates and snapshot rows (doc example order)."""

    order_id: str
    order_userref: int
    cl_ord_id: str | UnsetType = UNSET
    symbol: str
    order_qty: Decimal
    cum_qty: Decimal | UnsetType = UNSET
    cum_cost: Decimal
    avg_price: Decimal | UnsetType = UNSET
    time_in_force: str
    exec_type: str
    side: str
    order_type: str
    limit_price_type: str | UnsetType = UNSET
    limit_price: Decimal | UnsetType = UNSET
    stop_price: Decimal
    triggers: dict[str, Any] | UnsetType = UNSET
    post_only: bool | UnsetType = UNSET
    reduce_only: bool | UnsetType = UNSET
    amended: bool | UnsetType = UNSET
    order_status: str
    fee_usd_equiv: Decimal
    fee_ccy_pref: str = "fciq"
    timestamp: str
    ratecount: int | UnsetType = UNSET


class ExecNew(_Row, kw_only=True):
    """The sparse ``new`` update of Kraken's "Live Order" example."""

    timestamp: str
    order_status: str = "new"
    exec_type: str = "new"
    order_userref: int
    order_id: str
    cl_ord_id: str | UnsetType = UNSET
    ratecount: int | UnsetType = UNSET


class Fee(msgspec.Struct):
    asset: str
    qty: Decimal


class ExecTrade(_Row, kw_only=True):
    """One fill, with the order's cumulative fields after it."""

    order_id: str
    order_userref: int
    cl_ord_id: str | UnsetType = UNSET
    exec_id: str
    exec_type: str = "trade"
    trade_id: int
    symbol: str
    side: str
    last_qty: Decimal
    last_price: Decimal
    liquidity_ind: str
    cost: Decimal
    order_status: str
    order_type: str
    cum_qty: Decimal
    cum_cost: Decimal
    avg_price: Decimal
    timestamp: str
    fee_usd_equiv: Decimal
    fees: list[Fee]


class ExecClosed(_Row, kw_only=True):
    """``canceled``, ``expired`` or ``filled``: field for field like the recorded cancel."""

    timestamp: str
    order_status: str
    exec_type: str
    cum_qty: Decimal = ZERO
    cum_cost: Decimal = ZERO
    fee_usd_equiv: Decimal = ZERO
    avg_price: Decimal = ZERO
    order_userref: int
    cancel_reason: str | UnsetType = UNSET
    reason: str | UnsetType = UNSET
    order_id: str
    cl_ord_id: str | UnsetType = UNSET
    ratecount: int | UnsetType = UNSET


class ExecAmended(_Row, kw_only=True):
    """An in-place amendment: the changed fields and ``amended: true``."""

    timestamp: str
    order_status: str
    exec_type: str = "amended"
    order_userref: int
    order_id: str
    cl_ord_id: str | UnsetType = UNSET
    order_qty: Decimal
    limit_price: Decimal | UnsetType = UNSET
    post_only: bool = False
    amended: bool = True
    reason: str = "User requested"
    ratecount: int | UnsetType = UNSET


class ExecStatus(_Row, kw_only=True):
    """A stop-loss/take-profit order whose trigger fired (``exec_type: status``)."""

    timestamp: str
    order_status: str
    exec_type: str = "status"
    order_userref: int
    order_id: str
    cl_ord_id: str | UnsetType = UNSET
    triggers: dict[str, Any]


Row = ExecFull | ExecNew | ExecTrade | ExecClosed | ExecAmended | ExecStatus


def _cl(order: Order) -> str | UnsetType:
    return order.cl_ord_id if order.cl_ord_id is not None else UNSET


def _status(order: Order) -> str:
    if order.cum_qty >= order.order_qty:
        return "filled"
    return "partially_filled" if order.cum_qty else "new"


def _triggers(order: Order, status: str, ts: str, last: Decimal | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reference": order.trigger_reference,
        "price": order.trigger_price,
        "price_type": "static",
        "status": status,
    }
    if order.trail is not None:  # a trailing stop: its distance, and where it stands now
        out["price"] = order.trail
        out["price_type"] = order.trail_type
        out["actual_price"] = order.trigger_price
        out["peak_price"] = order.peak
    if last is not None:
        out["last_price"] = last
        out["timestamp"] = ts
    return out


def full_row(order: Order, exec_type: str, snapshot: bool = False) -> ExecFull:
    """A full report (the keys of Kraken's pending_new example); ``snapshot`` adds the
    cumulative fields, ``post_only``/``reduce_only`` and ``amended``."""
    status = "pending_new" if exec_type == "pending_new" else _status(order)
    row = ExecFull(
        order_id=order.order_id,
        order_userref=order.order_userref,
        cl_ord_id=_cl(order),
        symbol=order.symbol,
        order_qty=order.order_qty,
        cum_cost=order.cum_cost,
        time_in_force=order.time_in_force.upper(),
        exec_type=exec_type,
        side=order.side,
        order_type=order.order_type,
        stop_price=order.trigger_price if order.trigger_price is not None else ZERO,
        order_status=status,
        fee_usd_equiv=order.fee,
        timestamp=order.timestamp,
    )
    if order.limit_price is not None:
        row.limit_price_type = "static"
        row.limit_price = order.limit_price
    if order.trigger_price is not None:
        row.triggers = _triggers(order, "triggered" if order.triggered else "untriggered", "")
    if order.post_only:
        row.post_only = True
    if order.reduce_only:
        row.reduce_only = True
    if snapshot:
        row.post_only = order.post_only
        row.reduce_only = order.reduce_only
        row.cum_qty = order.cum_qty
        row.avg_price = order.avg_price
        row.amended = order.amended
    return row


def new_row(order: Order, ts: str) -> ExecNew:
    return ExecNew(
        timestamp=ts,
        order_userref=order.order_userref,
        order_id=order.order_id,
        cl_ord_id=_cl(order),
    )


def closed_row(order: Order, exec_type: str, ts: str, reason: str | None) -> ExecClosed:
    row = ExecClosed(
        timestamp=ts,
        order_status=exec_type,
        exec_type=exec_type,
        cum_qty=order.cum_qty,
        cum_cost=order.cum_cost,
        fee_usd_equiv=order.fee,
        avg_price=order.avg_price,
        order_userref=order.order_userref,
        order_id=order.order_id,
        cl_ord_id=_cl(order),
    )
    if reason is not None:
        row.reason = reason
        if exec_type == "canceled":
            row.cancel_reason = reason  # deprecated twin of reason, still sent (§4.11)
    return row


def filled_row(order: Order, ts: str) -> ExecClosed:
    return closed_row(order, "filled", ts, None)


def trade_row(
    order: Order,
    qty: Decimal,
    price: Decimal,
    fee: Decimal,
    maker: bool,
    trade_id: int,
    ts: str,
    fee_asset: str = "",
    fee_usd: Decimal | None = None,
) -> ExecTrade:
    """The ``trade`` row of a fill already applied to ``order``: ``fee`` in ``fee_asset``
    (the quote currency by default), ``fee_usd`` its value in the quote currency."""
    return ExecTrade(
        order_id=order.order_id,
        order_userref=order.order_userref,
        cl_ord_id=_cl(order),
        exec_id=new_exec_id(),
        trade_id=trade_id,
        symbol=order.symbol,
        side=order.side,
        last_qty=qty,
        last_price=price,
        liquidity_ind="m" if maker else "t",
        cost=qty * price,
        order_status=_status(order),
        order_type=order.order_type,
        cum_qty=order.cum_qty,
        cum_cost=order.cum_cost,
        avg_price=order.avg_price,
        timestamp=ts,
        fee_usd_equiv=fee if fee_usd is None else fee_usd,
        fees=[Fee(fee_asset or order.symbol.split("/", 1)[-1], fee)],
    )


def amended_row(order: Order, ts: str) -> ExecAmended:
    row = ExecAmended(
        timestamp=ts,
        order_status=_status(order),
        order_userref=order.order_userref,
        order_id=order.order_id,
        cl_ord_id=_cl(order),
        order_qty=order.order_qty,
        post_only=order.post_only,
    )
    if order.limit_price is not None:
        row.limit_price = order.limit_price
    return row


def status_row(order: Order, ts: str, last: Decimal) -> ExecStatus:
    return ExecStatus(
        timestamp=ts,
        order_status=_status(order),
        order_userref=order.order_userref,
        order_id=order.order_id,
        cl_ord_id=_cl(order),
        triggers=_triggers(order, "triggered", ts, last),
    )
