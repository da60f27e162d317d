"""The dead man's switch keeper: re-arms ``cancel_all_orders_after`` in the background.

Kraken recommends calling it every 15-30 s with a 60 s timeout (kraken-ws-v2.md §4.6). The
keeper is one task per switch: it re-arms every ``every`` seconds, waits out a reconnection
(the switch keeps running server-side meanwhile, so a long outage lets it fire, which is the
point), reports each failed re-arm, and disarms (timeout 0) when stopped or when the client
closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from ._results import CancelAfterResult
from .errors import ConnectionClosed, KrakenwireError, ValidationError

__all__ = ["CancelAfterKeeper"]

log = logging.getLogger("krakenwire")


class KeeperHost(Protocol):
    """What a keeper needs of the client (structural: no import of the client)."""

    @property
    def url(self) -> str: ...

    @property
    def is_open(self) -> bool: ...

    async def cancel_after(
        self, timeout_s: int, *, timeout: float | None = None
    ) -> CancelAfterResult: ...

    async def wait_connected(self, timeout: float | None = None) -> None: ...


class CancelAfterKeeper:
    """Handle of a running keeper (from
    [`Client.keep_cancel_after`][krakenwire.Client.keep_cancel_after]).

    Attributes:
        timeout: the switch's timeout in seconds.
        every: seconds between re-arms.
        last: the last successful [`CancelAfterResult`][krakenwire.CancelAfterResult]
            (``trigger_time`` = when Kraken would cancel everything if no re-arm came).
        rearms: successful re-arms. failures: failed ones. last_error: the latest failure.
    """

    def __init__(
        self,
        client: KeeperHost,
        timeout: int,
        every: float,
        on_failure: Callable[[KrakenwireError], Any] | None = None,
        *,
        events: Callable[[str, dict[str, Any]], None] | None = None,
        forget: Callable[[CancelAfterKeeper], None] | None = None,
    ) -> None:
        if type(timeout) is not int or not 0 < timeout < 86400:
            raise ValidationError(
                f"keep_cancel_after timeout must be an int in 1..86399, got {timeout!r}",
                field="timeout",
                value=timeout,
            )
        if type(every) not in (int, float) or not 0 < every < timeout:
            raise ValidationError(
                f"every must be > 0 and < timeout ({timeout}), got {every!r}",
                field="every",
                value=every,
            )
        self.client = client
        self.timeout = timeout
        self.every = float(every)
        self.on_failure = on_failure
        self._events = events
        self._forget = forget
        self.last: CancelAfterResult | None = None
        self.rearms = 0
        self.failures = 0
        self.last_error: KrakenwireError | None = None
        self._armed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<CancelAfterKeeper {self.timeout}s every {self.every}s {state} rearms={self.rearms}>"
        )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def wait_armed(self, timeout: float | None = None) -> None:
        """Wait for the first successful arm."""
        await asyncio.wait_for(self._armed.wait(), timeout)

    async def _run(self) -> None:
        c = self.client
        while True:
            try:
                self.last = await c.cancel_after(self.timeout)
                self.rearms += 1
                self._armed.set()
            except ConnectionClosed as exc:
                self._failed(exc)
                try:
                    await c.wait_connected()  # re-arm as soon as the connection is back
                except ConnectionClosed:
                    return
                continue
            except KrakenwireError as exc:
                self._failed(exc)
            await asyncio.sleep(self.every)

    def _failed(self, exc: KrakenwireError) -> None:
        self.failures += 1
        self.last_error = exc
        log.warning(
            "krakenwire %s: re-arming cancel_all_orders_after(%d) failed: %s",
            self.client.url,
            self.timeout,
            exc,
        )
        detail = {"timeout": self.timeout, "error": str(exc), "failures": self.failures}
        if self._events is not None:
            self._events("cancel_after_failed", detail)
        if self.on_failure is not None:
            try:
                self.on_failure(exc)
            except Exception:
                log.exception("keep_cancel_after on_failure callback raised (ignored)")

    async def stop(self, *, disarm: bool = True) -> CancelAfterResult | None:
        """Stop re-arming; with ``disarm`` (the default) also send timeout 0 so the switch
        cannot fire. Without it, the armed switch fires ``timeout`` s after the last re-arm.

        Returns:
            the disarm's result, or ``None`` (not disarmed, or not connected).
        """
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self._forget is not None:
            self._forget(self)
        if disarm and self.client.is_open:
            return await self.client.cancel_after(0)
        return None
