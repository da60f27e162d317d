"""The watchdog of one connection: a ping when nothing arrived for a while (no pong in time:
drop the socket so the lifecycle reconnects) and a keep-alive ping when nothing was sent
(Kraken closes an idle socket after about a minute)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ._config import ClientConfig
from ._link import Link
from .errors import KrakenwireError, OutcomeUnknown
from .methods import housekeeping as _build

__all__ = ["Watchdog"]

log = logging.getLogger("krakenwire")
_now_ns = time.monotonic_ns


class Watchdog:
    """Ticks every ``min(1 s, liveness/4, keepalive/4)`` while the link's socket is open."""

    def __init__(self, config: ClientConfig, link: Link) -> None:
        self.config = config
        self.link = link
        self._tick: asyncio.TimerHandle | None = None
        self._probe: asyncio.Future[Any] | None = None

    def start(self) -> None:
        cfg = self.config
        period = min(1.0, cfg.liveness_timeout / 4, cfg.keepalive_interval / 4)
        self.stop()
        self._tick = asyncio.get_running_loop().call_later(period, self._on_tick)

    def stop(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _on_tick(self) -> None:
        self._tick = None
        link = self.link
        if not link.is_open:
            return
        cfg = self.config
        now = _now_ns()
        try:
            if (now - link.last_rx_ns) / 1e9 >= cfg.liveness_timeout and self._probe is None:
                _, self._probe = link.start(_build.ping(), cfg.ping_timeout)
                self._probe.add_done_callback(self._probe_done)
            elif (now - link.last_tx_ns) / 1e9 >= cfg.keepalive_interval:
                _, fut = link.start(_build.ping(), cfg.timeout)
                fut.add_done_callback(_consume)
        except KrakenwireError as exc:
            log.debug("krakenwire: keep-alive ping not sent: %s", exc)
        self.start()

    def _probe_done(self, fut: asyncio.Future[Any]) -> None:
        self._probe = None
        if fut.cancelled() or fut.exception() is None:
            return
        if isinstance(fut.exception(), OutcomeUnknown) and self.link.is_open:
            cfg = self.config
            log.warning(
                "krakenwire %s: no frame for %.1f s and no pong: dropping the socket",
                cfg.url,
                cfg.liveness_timeout + cfg.ping_timeout,
            )
            self.link.drop()


def _consume(fut: asyncio.Future[Any]) -> None:
    # Keep-alive pings nobody awaits: read the exception so asyncio does not log it.
    if not fut.cancelled():
        fut.exception()
