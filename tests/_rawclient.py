"""A bare picows client for the simulator tests: frames in a queue, JSON with exact decimals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect


class RawClient(WSListener):
    def __init__(self) -> None:
        super().__init__()
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.transport: WSTransport | None = None
        self.heartbeats = 0

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self.frames.put_nowait(frame.get_payload_as_bytes())

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.disconnected.set()

    def send_raw(self, data: bytes | str) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, data.encode() if isinstance(data, str) else data)

    def send(self, obj: Any) -> None:
        self.send_raw(json.dumps(obj))

    async def recv_raw(self, timeout: float = 2.0) -> bytes:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def recv(self, timeout: float = 2.0, heartbeats: bool = False) -> Any:
        """Next JSON frame (heartbeats skipped unless asked for)."""
        while True:
            msg = json.loads(await self.recv_raw(timeout), parse_float=Decimal)
            if msg == {"channel": "heartbeat"}:
                self.heartbeats += 1
                if not heartbeats:
                    continue
            return msg

    async def until(self, pred: Callable[[Any], bool], timeout: float = 2.0) -> Any:
        while True:
            msg = await self.recv(timeout)
            if pred(msg):
                return msg

    async def request(self, obj: dict[str, Any], timeout: float = 2.0) -> Any:
        """Send and return the first method reply (anything with ``req_id``/``error``)."""
        self.send(obj)
        return await self.until(lambda m: "channel" not in m or "error" in m, timeout)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.disconnect()


async def connect(url: str) -> RawClient:
    _, client = await ws_connect(RawClient, url)
    assert isinstance(client, RawClient)
    return client
