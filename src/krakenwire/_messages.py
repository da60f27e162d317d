"""msgspec Structs for every frame krakenwire sends or receives, and the shared codecs.

Requests are tagged on ``method`` so they encode as Kraken's envelope
``{"method": ..., "params": {...}, "req_id": N}``. Every inbound frame decodes into one flat
`Reply`; its ``result``/``data`` stay `msgspec.Raw` until we know the method, so a
frame costs one pass of the C decoder. Params structs hide the token from ``repr``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "AddOrder",
    "AddOrderParams",
    "AddOrderWire",
    "AmendOrder",
    "AmendOrderParams",
    "AmendOrderWire",
    "BatchAdd",
    "BatchAddParams",
    "BatchAddRowWire",
    "BatchCancel",
    "BatchCancelParams",
    "BatchCancelWire",
    "BatchOrder",
    "CancelAfterParams",
    "CancelAfterWire",
    "CancelAll",
    "CancelAllOrdersAfter",
    "CancelOrder",
    "CancelOrderParams",
    "CancelOrderWire",
    "Conditional",
    "DATA_DECODER",
    "ENCODER",
    "EditOrder",
    "EditOrderParams",
    "EditOrderWire",
    "Ping",
    "REPLY_DECODER",
    "Reply",
    "Subscribe",
    "SubscribeParams",
    "SubscribeWire",
    "TokenParams",
    "Triggers",
    "Unsubscribe",
]

_REDACTED = "<redacted>"


class _Secretive(msgspec.Struct, omit_defaults=True):
    """Params base: ``repr`` shows every field but ``token``."""

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={_REDACTED if name == 'token' else repr(getattr(self, name))}"
            for name in self.__struct_fields__
        )
        return f"{type(self).__name__}({fields})"

    __str__ = __repr__


class BatchCancelParams(_Secretive):
    """`batch_cancel` params (docs.kraken.com .../spot-websocket-v2/batch_cancel)."""

    orders: list[str]
    token: str
    cl_ord_id: list[str] | None = None
    # Unified WS only (docs.kraken.com/exchange/api-reference/unified-ws/batch_cancel).
    asset_class: str | None = None


class CancelOrderParams(_Secretive):
    """`cancel_order` params: one kind of id per request; one reply per order."""

    token: str
    order_id: list[str] | None = None
    cl_ord_id: list[str] | None = None
    order_userref: list[int] | None = None


class TokenParams(_Secretive):
    """Params of methods that take only the token (`cancel_all`)."""

    token: str


class CancelAfterParams(_Secretive):
    """`cancel_all_orders_after` params: seconds, 0 disarms, < 86400."""

    timeout: int
    token: str


class SubscribeParams(_Secretive):
    """`subscribe`/`unsubscribe` params for the `executions` and `balances` channels."""

    channel: str
    token: str
    snap_orders: bool | None = None
    snap_trades: bool | None = None
    order_status: bool | None = None
    ratecounter: bool | None = None
    snapshot: bool | None = None  # balances only


class Triggers(msgspec.Struct, omit_defaults=True, kw_only=True):
    """``triggers`` of a stop-loss, take-profit or trailing-stop order (add_order, batch_add,
    edit_order): ``price`` read as ``price_type`` (``static`` a price, ``pct`` a percentage and
    ``quote`` an amount of the quote currency away from ``reference``, the ``last`` trade or
    the ``index``)."""

    reference: str | None = None
    price: Decimal
    price_type: str | None = None


class Conditional(msgspec.Struct, omit_defaults=True, kw_only=True):
    """``conditional``: the close order placed when its parent fills (one-triggers-other)."""

    order_type: str
    limit_price: Decimal | None = None
    limit_price_type: str | None = None
    trigger_price: Decimal | None = None
    trigger_price_type: str | None = None


class BatchOrder(_Secretive, kw_only=True):
    """One order of a `batch_add` (docs.kraken.com .../spot-websocket-v2/batch_add); prices and
    quantities are ``Decimal`` so they go on the wire as exact JSON numbers. ``order_qty`` is
    None only for a ``cash_order_qty`` order (the amount is then in the quote currency)."""

    order_type: str
    side: str
    order_qty: Decimal | None = None
    limit_price: Decimal | None = None
    limit_price_type: str | None = None
    triggers: Triggers | None = None
    time_in_force: str | None = None
    margin: bool | None = None
    post_only: bool | None = None
    reduce_only: bool | None = None
    effective_time: str | None = None
    expire_time: str | None = None
    cl_ord_id: str | None = None
    order_userref: int | None = None
    conditional: Conditional | None = None
    display_qty: Decimal | None = None
    fee_preference: str | None = None
    no_mpp: bool | None = None
    stp_type: str | None = None
    cash_order_qty: Decimal | None = None


class AddOrderParams(BatchOrder, kw_only=True):
    """`add_order` params (docs.kraken.com .../spot-websocket-v2/add_order)."""

    symbol: str
    token: str
    deadline: str | None = None
    validate: bool | None = None
    sender_sub_id: str | None = None


class BatchAddParams(_Secretive, kw_only=True):
    """`batch_add` params: 2..15 orders of one ``symbol``."""

    orders: list[BatchOrder]
    symbol: str
    token: str
    deadline: str | None = None
    validate: bool | None = None


class AmendOrderParams(_Secretive, kw_only=True):
    """`amend_order` params: ``order_id`` or ``cl_ord_id`` (scalars); keeps the ids."""

    token: str
    order_id: str | None = None
    cl_ord_id: str | None = None
    order_qty: Decimal | None = None
    display_qty: Decimal | None = None
    limit_price: Decimal | None = None
    limit_price_type: str | None = None
    post_only: bool | None = None
    trigger_price: Decimal | None = None
    trigger_price_type: str | None = None
    deadline: str | None = None
    symbol: str | None = None


class EditOrderParams(_Secretive, kw_only=True):
    """`edit_order` params: cancel-and-replace; ``order_id`` and ``symbol`` required."""

    order_id: str
    symbol: str
    token: str
    order_qty: Decimal | None = None
    display_qty: Decimal | None = None
    limit_price: Decimal | None = None
    triggers: Triggers | None = None
    post_only: bool | None = None
    reduce_only: bool | None = None
    fee_preference: str | None = None
    no_mpp: bool | None = None
    order_userref: int | None = None
    deadline: str | None = None
    validate: bool | None = None


class _Req(msgspec.Struct, tag_field="method", omit_defaults=True):
    pass


class BatchCancel(_Req, tag="batch_cancel"):
    params: BatchCancelParams
    req_id: int


class CancelOrder(_Req, tag="cancel_order"):
    params: CancelOrderParams
    req_id: int


class CancelAll(_Req, tag="cancel_all"):
    params: TokenParams
    req_id: int


class CancelAllOrdersAfter(_Req, tag="cancel_all_orders_after"):
    params: CancelAfterParams
    req_id: int


class Ping(_Req, tag="ping"):
    req_id: int


class Subscribe(_Req, tag="subscribe"):
    params: SubscribeParams
    req_id: int


class Unsubscribe(_Req, tag="unsubscribe"):
    params: SubscribeParams
    req_id: int


class AddOrder(_Req, tag="add_order"):
    params: AddOrderParams
    req_id: int


class BatchAdd(_Req, tag="batch_add"):
    params: BatchAddParams
    req_id: int


class AmendOrder(_Req, tag="amend_order"):
    params: AmendOrderParams
    req_id: int


class EditOrder(_Req, tag="edit_order"):
    params: EditOrderParams
    req_id: int


class Reply(msgspec.Struct):
    """One flat shape for every inbound frame: method replies and channel messages alike."""

    method: str = ""
    channel: str = ""
    type: str = ""
    req_id: int | None = None
    success: bool | None = None
    error: str | None = None
    # msgspec cannot put Raw in a union with None; an empty Raw (falsy) means "absent".
    result: msgspec.Raw = msgspec.Raw(b"")
    data: msgspec.Raw = msgspec.Raw(b"")
    sequence: int | None = None
    time_in: str = ""
    time_out: str = ""
    # batch_cancel's count as recorded from the live venue: top level, no `result`
    # (kraken-async-rs test data, 2024-05-19; kraken-ws-v2.md section 4.1). Raw, so a value of
    # another type never makes the whole reply unreadable (it is read in _shapes.read_count).
    orders_cancelled: msgspec.Raw = msgspec.Raw(b"")
    # The v1-era flood notice `{"Error":"Exceeded msg rate"}` (capital E; kraken-ws-v2.md §5).
    flood_error: str | None = msgspec.field(default=None, name="Error")


# Reply `result` Structs. Every field has a default, so a result missing a field still decodes
# (the field is None and _shapes reports it): a `success: true` reply is never unreadable.


class BatchCancelWire(msgspec.Struct):
    """`result` of batch_cancel and cancel_all: ``{count, warnings?}``.

    ``warnings`` (one string per id that was not open) stays raw JSON until someone reads it:
    turning 50 of them into strings costs more than the rest of resolving the reply.
    """

    count: int | None = None
    warnings: msgspec.Raw = msgspec.Raw(b"")


class CancelOrderWire(msgspec.Struct):
    """`result` of one cancel_order reply: ``{order_id, cl_ord_id?, warnings?}``."""

    order_id: str | None = None
    cl_ord_id: str | None = None
    warnings: list[str] = []


class CancelAfterWire(msgspec.Struct):
    """`result` of cancel_all_orders_after (camelCase keys, per Kraken's docs)."""

    currentTime: str | None = None  # noqa: N815 - Kraken's key
    triggerTime: str = ""  # noqa: N815 - Kraken's key; omitted when the switch is disarmed
    warnings: list[str] = []


class SubscribeWire(msgspec.Struct):
    """`result` of a subscribe ack."""

    channel: str = ""
    maxratecount: int | None = None
    snap_orders: bool | None = None
    snap_trades: bool | None = None
    warnings: list[str] = []


class AddOrderWire(msgspec.Struct):
    """`result` of add_order: ``{order_id, cl_ord_id?, order_userref?, warnings?}``
    (``order_id`` is ``""`` for ``validate: true``)."""

    order_id: str | None = None
    cl_ord_id: str | None = None
    order_userref: int | None = None
    warnings: list[str] = []


class BatchAddRowWire(AddOrderWire):
    """One row of batch_add's result array; a row the engine refused carries ``error``."""

    error: str | None = None


class AmendOrderWire(msgspec.Struct):
    """`result` of amend_order: ``{amend_id, order_id?, cl_ord_id?, warnings?}``."""

    amend_id: str | None = None
    order_id: str | None = None
    cl_ord_id: str | None = None
    warnings: list[str] = []


class EditOrderWire(msgspec.Struct):
    """`result` of edit_order: ``{order_id, original_order_id, warnings?}``."""

    order_id: str | None = None
    original_order_id: str | None = None
    warnings: list[str] = []


ENCODER = msgspec.json.Encoder(decimal_format="number")
REPLY_DECODER = msgspec.json.Decoder(Reply)
# Channel data (executions) keeps prices and quantities exact.
DATA_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(float_hook=Decimal)
BATCH_CANCEL_DECODER = msgspec.json.Decoder(BatchCancelWire)
CANCEL_ORDER_DECODER = msgspec.json.Decoder(CancelOrderWire)
CANCEL_AFTER_DECODER = msgspec.json.Decoder(CancelAfterWire)
SUBSCRIBE_DECODER = msgspec.json.Decoder(SubscribeWire)
ADD_ORDER_DECODER = msgspec.json.Decoder(AddOrderWire)
BATCH_ADD_DECODER = msgspec.json.Decoder(list[BatchAddRowWire])
AMEND_ORDER_DECODER = msgspec.json.Decoder(AmendOrderWire)
EDIT_ORDER_DECODER = msgspec.json.Decoder(EditOrderWire)
