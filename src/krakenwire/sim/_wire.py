"""Wire shapes of the simulator: inbound request Structs and outbound reply Structs.

Inbound frames decode in one C pass into the flat `Inbound` whose ``params`` stay
`msgspec.Raw`; each method then decodes its params Struct with
``forbid_unknown_fields=True`` so an unknown key yields Kraken's ``Unsupported field: '<name>'``
(kraken-ws-v2.md §4.7). Outbound Structs list their fields in the order Kraken's recorded
frames use, and one shared Encoder writes decimals as exact JSON numbers.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "AddOrderParams",
    "AmendOrderParams",
    "AmendResult",
    "BatchAddRow",
    "EditOrderParams",
    "EditResult",
    "BatchAddParams",
    "BatchCancelParams",
    "CancelAfterParams",
    "CancelAfterResult",
    "CancelOrderParams",
    "CountResult",
    "ENCODER",
    "ExecFrame",
    "Inbound",
    "OrderIdResult",
    "Pong",
    "Resp",
    "StatusData",
    "StatusFrame",
    "SubErr",
    "SubResult",
    "SubscribeParams",
    "TokenParams",
    "ChannelOnly",
    "RecordedCountResp",
    "number_error",
    "refusal",
    "unknown_field",
]

ENCODER = msgspec.json.Encoder(decimal_format="number")

_UNKNOWN = re.compile(r"unknown field `([^`]*)`")


def unknown_field(err: msgspec.ValidationError) -> str | None:
    """The offending key of a ``forbid_unknown_fields`` failure, else None."""
    m = _UNKNOWN.search(str(err))
    return m.group(1) if m else None


_NO_TOKEN = "Token(s) not found"
_INVALID = "EGeneral:Invalid arguments"
_NO_MPP = "EGeneral:Invalid arguments:no_mpp order option is only available when ordertype = market"
# Number fields of the order methods: Kraken refuses a non-number with
# "<Field> field must be a number_float" (recorded for limit_price and cash_order_qty).
_NUMBERS = ("order_qty", "limit_price", "cash_order_qty", "display_qty", "trigger_price")
_ORDER_METHODS = frozenset(("add_order", "amend_order", "edit_order", "batch_add"))
_LOOSE: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


def refusal(err: msgspec.ValidationError | str, method: str) -> str:
    """Kraken's error string for params that failed to decode (or an unknown key ``err``).

    Recorded on the venue (kraken-ws-v2.md section 9): an unknown key is
    ``Unsupported field: '<key>' for the given msg type: <method, "_" as " ">`` (``add order``,
    ``ping``); a request without a token is ``Token(s) not found``; anything else here is
    ``EGeneral:Invalid arguments``.
    """
    name = err if isinstance(err, str) else unknown_field(err)
    if name is not None:
        return f"Unsupported field: '{name}' for the given msg type: {method.replace('_', ' ')}"
    if "missing required field `token`" in str(err):
        return _NO_TOKEN
    return _INVALID


def _number_in(obj: dict[str, Any]) -> str | None:
    for name in _NUMBERS:
        if name in obj:
            v = obj[name]
            if type(v) is bool or not isinstance(v, int | float):
                return f"{name.capitalize()} field must be a number_float"
    if obj.get("no_mpp") is True and obj.get("order_type", "market") != "market":
        return _NO_MPP
    return None


def number_error(method: str, raw: msgspec.Raw) -> str | None:
    """Kraken's refusal of an order request whose number field is not a JSON number (a string
    such as ``"100"``, which msgspec's Decimal would accept) or that asks ``no_mpp`` on a
    non-market order; ``None`` otherwise. Only the order methods pay for this second parse."""
    if method not in _ORDER_METHODS or not raw:
        return None
    try:
        obj = _LOOSE.decode(raw)
    except msgspec.DecodeError:
        return None
    if type(obj) is not dict:
        return None
    error = _number_in(obj)
    if error is None and method == "batch_add" and type(obj.get("orders")) is list:
        for row in obj["orders"]:
            if type(row) is dict and (error := _number_in(row)) is not None:
                break
    return error


# -- inbound ---------------------------------------------------------------------------------


class Inbound(msgspec.Struct):
    """Kraken's request envelope; params are decoded later, per method."""

    method: str | None = None
    params: msgspec.Raw = msgspec.Raw(b"")
    req_id: int | None = None


class _Params(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    def __repr__(self) -> str:  # the token is a credential: keep it out of logs
        return f"{type(self).__name__}(...)"


class TokenParams(_Params, kw_only=True):
    token: str = ""


class SubscribeParams(TokenParams, kw_only=True):
    channel: str
    snap_orders: bool = True
    snap_trades: bool = False
    order_status: bool = True
    ratecounter: bool = False
    rebased: bool = True
    users: str | None = None
    snapshot: bool | None = None
    snapshot_trades: bool | None = None


class ChannelOnly(msgspec.Struct):
    """The channel of a subscribe, read before its params are checked (public channels carry
    fields such as ``symbol`` that the executions params refuse)."""

    channel: str | None = None


class BatchCancelParams(TokenParams, kw_only=True):
    orders: list[str]
    cl_ord_id: list[str] | None = None


class CancelOrderParams(TokenParams, kw_only=True):
    order_id: list[str] | None = None
    cl_ord_id: list[str] | None = None
    order_userref: list[int] | None = None


class CancelAfterParams(TokenParams, kw_only=True):
    timeout: int


class _OrderFields(_Params, kw_only=True):
    """add_order fields (docs.kraken.com .../spot-websocket-v2/add_order).

    Numbers are typed ``Any`` and decoded with ``float_hook=Decimal``: a JSON number arrives as
    an exact ``Decimal`` (or ``int``), a string stays a ``str`` so the handler can answer
    Kraken's recorded ``Limit_price field must be a number_float``.
    """

    order_type: str
    side: str
    order_qty: Any = None
    limit_price: Any = None
    limit_price_type: str | None = None
    time_in_force: str = "gtc"
    post_only: bool = False
    reduce_only: bool = False
    margin: bool = False
    no_mpp: bool | None = None
    cl_ord_id: str | None = None
    order_userref: int | None = None
    stp_type: str | None = None
    display_qty: Any = None
    fee_preference: str | None = None
    expire_time: str | None = None
    effective_time: str | None = None
    cash_order_qty: Any = None
    triggers: dict[str, Any] | None = None
    conditional: dict[str, Any] | None = None


class AddOrderParams(_OrderFields, kw_only=True):
    symbol: str
    token: str = ""
    deadline: str | None = None
    validate: bool = False
    sender_sub_id: str | None = None


class BatchAddParams(TokenParams, kw_only=True):
    orders: list[_OrderFields]
    symbol: str
    deadline: str | None = None
    validate: bool = False


class AmendOrderParams(TokenParams, kw_only=True):
    """amend_order (docs.kraken.com .../spot-websocket-v2/amend_order)."""

    order_id: str | None = None
    cl_ord_id: str | None = None
    order_qty: Any = None
    display_qty: Any = None
    limit_price: Any = None
    limit_price_type: str | None = None
    post_only: bool | None = None
    trigger_price: Any = None
    trigger_price_type: str | None = None
    deadline: str | None = None
    symbol: str | None = None


class EditOrderParams(TokenParams, kw_only=True):
    """edit_order (docs.kraken.com .../spot-websocket-v2/edit_order)."""

    order_id: str
    symbol: str
    order_qty: Any = None
    display_qty: Any = None
    limit_price: Any = None
    post_only: bool | None = None
    reduce_only: bool | None = None
    order_userref: int | None = None
    triggers: dict[str, Any] | None = None
    fee_preference: str | None = None
    no_mpp: bool | None = None
    deadline: str | None = None
    validate: bool = False


# -- outbound --------------------------------------------------------------------------------


class Resp(msgspec.Struct, omit_defaults=True, kw_only=True):
    """A method reply: ``success`` always present, ``result``/``error`` per outcome."""

    method: str = ""
    req_id: int | None = None
    result: Any = None
    success: bool
    error: str | None = None
    time_in: str
    time_out: str


class RecordedCountResp(msgspec.Struct, kw_only=True, omit_defaults=True):
    """batch_cancel's success as recorded from the live venue (kraken-async-rs test data,
    2024-05-19): keys in that frame's order, a top-level count and no ``result``."""

    method: str
    orders_cancelled: int
    req_id: int | None = None
    success: bool
    time_in: str
    time_out: str


class Pong(msgspec.Struct, kw_only=True):
    """Kraken's recorded pong carries no ``success`` (kraken-ws-v2.md §1)."""

    method: str = "pong"
    req_id: int | UnsetType = UNSET
    time_in: str
    time_out: str


class SubErr(msgspec.Struct, kw_only=True):
    """A failed subscribe, shaped like the recorded ESession frame (§2.4)."""

    channel: str | UnsetType = UNSET
    error: str
    method: str = "subscribe"
    req_id: int | UnsetType = UNSET
    status: str = "error"
    success: bool = False
    time_in: str
    time_out: str


class CountResult(msgspec.Struct, omit_defaults=True):
    count: int
    warnings: list[str] | None = None


class OrderIdResult(msgspec.Struct, omit_defaults=True):
    order_id: str
    cl_ord_id: str | None = None
    order_userref: int | None = None
    warnings: list[str] | None = None


class BatchAddRow(msgspec.Struct, omit_defaults=True):
    """One row of batch_add's result; a row the engine refused carries ``error``."""

    order_id: str = ""
    cl_ord_id: str | None = None
    order_userref: int | None = None
    error: str | None = None
    warnings: list[str] | None = None


class AmendResult(msgspec.Struct, omit_defaults=True):
    amend_id: str
    order_id: str | None = None
    cl_ord_id: str | None = None


class EditResult(msgspec.Struct, omit_defaults=True):
    order_id: str
    original_order_id: str
    warnings: list[str] | None = None


class SubResult(msgspec.Struct, omit_defaults=True):
    channel: str
    maxratecount: int | None = None
    snap_orders: bool | None = None
    snap_trades: bool | None = None
    snapshot: bool | None = None  # the balances ack (recorded: {"channel","snapshot"})


class CancelAfterResult(msgspec.Struct):
    currentTime: str  # noqa: N815 - Kraken's key
    triggerTime: str  # noqa: N815 - Kraken's key


class ExecFrame(msgspec.Struct):
    channel: str
    type: str
    data: msgspec.Raw
    sequence: int


class StatusData(msgspec.Struct):
    version: str
    system: str
    api_version: str
    connection_id: int
    upcoming_maintenance: list[Any] = []
    emergency: list[Any] = []


class StatusFrame(msgspec.Struct):
    channel: str
    type: str
    data: list[StatusData]
