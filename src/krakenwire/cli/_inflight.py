"""What a trading command has on the wire, so that an interrupt can say what it knows.

A command registers each request just before handing it to the client (the client sends it
before its first suspension, so a signal, which the event loop handles between steps, finds every
registered request either on the wire or already finished) and removes it when its outcome is in.
On SIGINT/SIGTERM the runner prints one ``outcome: "unknown"`` line per request still registered,
at once, and the command ends with exit 3; with nothing registered it ends with 130.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable
from typing import Any

from ._output import EXIT_INTERRUPTED, EXIT_UNKNOWN, emit

__all__ = ["InFlight", "run_interruptible"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class InFlight:
    """The requests of one command that are on the wire, each as the line an interrupt prints."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.sent = False  # a request reached the client and was not refused before sending
        self.interrupted: int | None = None  # the signal that stopped the command
        self.reported = 0  # lines printed as unknown on the interrupt
        self._lines: dict[int, dict[str, Any]] = {}
        self._next = 0

    def add(self, line: dict[str, Any]) -> int:
        """Register a request about to be sent; ``line`` is what an interrupt prints for it."""
        key = self._next
        self._next += 1
        self._lines[key] = line
        return key

    def set(self, key: int, **fields: Any) -> None:
        """Fill in what became known after sending (its ``req_id``)."""
        line = self._lines.get(key)
        if line is not None:
            line.update(fields)

    def done(self, key: int, sent: bool = True) -> None:
        """The request's outcome is in (``sent=False``: it was refused before sending)."""
        self._lines.pop(key, None)
        self.sent = self.sent or sent

    def interrupt(self, signum: int) -> None:
        """Print every request still on the wire as unknown, once."""
        if self.interrupted is not None:
            return
        self.interrupted = signum
        lines = list(self._lines.values())
        self._lines.clear()
        name = signal.Signals(signum).name
        for line in lines:
            line["error"] = f"interrupted ({name}) before the reply: the outcome is unknown"
            with contextlib.suppress(BrokenPipeError):
                emit(line)
        self.reported = len(lines)
        self.sent = self.sent or bool(lines)
        if lines:
            text = (
                f"krakenwire {self.command}: interrupted ({name}) with {len(lines)} request(s) "
                "in flight: their outcome is unknown; reconcile (`krakenwire orders`)"
            )
        else:
            text = f"krakenwire {self.command}: interrupted ({name}); nothing was in flight"
        print(text, file=sys.stderr, flush=True)

    def exit_code(self) -> int:
        return EXIT_UNKNOWN if self.reported else EXIT_INTERRUPTED


async def run_interruptible(coro: Awaitable[int], flight: InFlight) -> int:
    """Await ``coro``; on SIGINT/SIGTERM report ``flight`` and stop it (closing its client)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def on_signal(signum: int) -> None:
        flight.interrupt(signum)
        task.cancel()

    installed = []
    for sig in _SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
    try:
        return await coro
    except asyncio.CancelledError:
        if flight.interrupted is None:
            raise
        return flight.exit_code()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
