"""Shared fixtures: every client test runs on both the asyncio and the uvloop event loop."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

try:
    import uvloop
except ImportError:  # no uvloop build for this platform (Windows): asyncio only
    uvloop = None


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """``run(main)`` runs the coroutine function ``main`` on the parametrized loop."""
    if request.param == "uvloop" and uvloop is None:
        pytest.skip("uvloop is not installed on this platform")

    def _run(main: Callable[[], Awaitable[Any]]) -> Any:
        if request.param == "uvloop":
            return uvloop.run(main())
        return asyncio.run(main())

    return _run


@pytest.fixture(autouse=True)
def _no_plugin_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make install` installs the first-party plugins; tests of the core must not depend on
    them. Tests of entry-point loading unset this themselves."""
    monkeypatch.setenv("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", "1")
