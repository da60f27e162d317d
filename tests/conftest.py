"""Shared fixtures: every client test runs on both the asyncio and the uvloop event loop."""

import asyncio
import gc
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """When a test fails, collect garbage before pytest formats the failure.

    A failing client test can leave Futures whose exception nobody retrieved; if the garbage
    collector finalizes them while pytest is inside ``ast.parse`` (it parses the test's source
    to show the failure), their "exception was never retrieved" log formats a traceback, and
    CPython 3.11's traceback formatting calls ``ast.parse`` re-entrantly: pytest then dies with
    ``INTERNALERROR SystemError: AST constructor recursion depth mismatch`` and the whole run is
    lost. Finalizing them here, before the report, keeps a failure a failure."""
    try:
        return (yield)
    except BaseException:
        gc.collect()
        raise
