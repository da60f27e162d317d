"""Loads plugins into a per-client pluggy manager and calls hooks without pluggy on the hot path.

A pluggy hook call costs 1.5-2.6 us here; a cached attribute costs ~0.01 us. So :class:`PluginHost`
keeps ``check`` and ``audit`` as ``None`` when no plugin implements them, and otherwise as a plain
function over the implementations resolved once, whenever plugins are registered or unregistered,
in pluggy's call order (tryfirst/trylast, last registered first) with ``firstresult`` kept.
Registration, validation and discovery stay pluggy's. Hook wrappers fall back to ``pm.hook``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pluggy

from . import hookspecs
from .errors import RiskRejected
from .hookspecs import Veto

__all__ = ["ENTRY_POINT_GROUP", "PluginHost", "PluginManager"]

log = logging.getLogger("krakenwire.plugins")
ENTRY_POINT_GROUP = "krakenwire"
_ENV_ALLOW = "KRAKENWIRE_PLUGINS"
_ENV_DISABLE = "KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD"

Check = Callable[[Any, Any], None]
Audit = Callable[[Any, Any, int, Any], None]


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, telling its host to re-resolve the fast path after every change."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__("krakenwire")
        self._on_change = on_change
        self.add_hookspecs(hookspecs)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """pluggy's register, also refusing a hookimpl that names no known hook (pluggy only
        checks that in ``check_pending``): raises ``pluggy.PluginValidationError``."""
        out = super().register(plugin, name)
        try:
            self.check_pending()
        except pluggy.PluginValidationError:
            super().unregister(plugin)
            raise
        finally:
            self._on_change()
        return out

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        out = super().unregister(plugin, name)
        self._on_change()
        return out


def _caller(impl: Any, order: Sequence[str]) -> Callable[..., Any]:
    """A function taking the hook's arguments positionally, calling ``impl`` with its subset."""
    fn = impl.function
    names = tuple(impl.argnames)
    if names == tuple(order):
        return fn  # type: ignore[no-any-return]
    idx = tuple(order.index(n) for n in names)
    return lambda *args: fn(*[args[i] for i in idx])


class PluginHost:
    """One per client: the pluggy manager plus the pre-resolved hook callers.

    Attributes:
        pm: the :class:`pluggy.PluginManager` (register, unregister, list plugins through it).
        check: ``None`` when no plugin implements ``krakenwire_check_request``; else
            ``check(request, client)`` which raises :class:`RiskRejected` on a veto or error.
        audit: ``None`` when no plugin audits; else ``audit(request, outcome, elapsed_ns, client)``
            which never raises (errors are logged and counted in ``audit_errors``).
        failed: ``(name, error text)`` of entry points that could not be loaded.
    """

    def __init__(self, plugins: Iterable[object] = (), *, autoload: bool | None = None) -> None:
        self.check: Check | None = None
        self.audit: Audit | None = None
        self.executions: Callable[[Any, Any], None] | None = None
        self.audit_errors = 0
        self.event_errors = 0
        self.failed: list[tuple[str, str]] = []
        self.pm = PluginManager(self._resolve)
        for plugin in plugins:
            self.pm.register(plugin)
        if autoload is None:
            autoload = os.environ.get(_ENV_DISABLE, "") not in ("1", "true", "yes")
        if autoload:
            self.load_entry_points()

    def load_entry_points(self) -> None:
        """Register the ``krakenwire`` entry points (only those named in $KRAKENWIRE_PLUGINS,
        comma-separated, when it is set). One that fails to import is skipped with a warning."""
        allow_raw = os.environ.get(_ENV_ALLOW)
        allow = {n.strip() for n in allow_raw.split(",") if n.strip()} if allow_raw else None
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if allow is not None and ep.name not in allow:
                continue
            if self.pm.has_plugin(ep.name) or self.pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not stop the others
                self.failed.append((ep.name, f"{type(exc).__name__}: {exc}"))
                warnings.warn(
                    f"krakenwire plugin {ep.name!r} ({ep.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            try:
                self.pm.register(plugin, name=ep.name)
            except pluggy.PluginValidationError as exc:  # refused by pluggy's validation
                self.failed.append((ep.name, f"PluginValidationError: {exc}"))
                warnings.warn(
                    f"krakenwire plugin {ep.name!r} ({ep.value}) refused: {exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def list_plugins(self) -> list[tuple[str, list[str]]]:
        """``(plugin name, [hook names it implements])`` for every registered plugin."""
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or ())
            out.append((name, hooks))
        return out

    # ---- fast path resolution -------------------------------------------------------------

    def _impls(self, hook: Any) -> list[Any] | None:
        """Implementations in call order, or None if a wrapper needs pluggy's own machinery."""
        impls = hook.get_hookimpls()
        if any(i.hookwrapper or i.wrapper for i in impls):
            return None
        return list(reversed(impls))

    def _resolve(self) -> None:
        self.check = self._resolve_check()
        self.audit = self._resolve_audit()
        hook = self.pm.hook.krakenwire_executions
        self.executions = self._notify_executions if hook.get_hookimpls() else None

    def _resolve_check(self) -> Check | None:
        hook = self.pm.hook.krakenwire_check_request
        impls = self._impls(hook)
        if impls is not None and not impls:
            return None
        order = ("request", "client")
        if impls is None:  # wrappers present: let pluggy run them, keep fail-closed semantics

            def run_pm(request: Any, client: Any) -> None:
                try:
                    veto = hook(request=request, client=client)
                except Exception as exc:
                    raise RiskRejected(
                        Veto(f"risk check raised {type(exc).__name__}: {exc}", "?")
                    ) from exc
                if veto is not None:
                    raise RiskRejected(_named(veto, "?"))

            return run_pm
        calls = [(i.plugin_name, _caller(i, order)) for i in impls]

        def check(request: Any, client: Any) -> None:
            for name, call in calls:
                try:
                    veto = call(request, client)
                except Exception as exc:
                    raise RiskRejected(
                        Veto(f"risk check raised {type(exc).__name__}: {exc}", name)
                    ) from exc
                if veto is not None:
                    raise RiskRejected(_named(veto, name))

        return check

    def _resolve_audit(self) -> Audit | None:
        hook = self.pm.hook.krakenwire_audit
        impls = self._impls(hook)
        if impls is not None and not impls:
            return None
        order = ("request", "outcome", "elapsed_ns", "client")
        calls: list[tuple[str, Callable[..., Any]]]
        if impls is not None:
            calls = [(i.plugin_name, _caller(i, order)) for i in impls]
        else:

            def via_pm(r: Any, o: Any, e: int, c: Any) -> None:
                hook(request=r, outcome=o, elapsed_ns=e, client=c)

            calls = [("?", via_pm)]

        def audit(request: Any, outcome: Any, elapsed_ns: int, client: Any) -> None:
            for name, call in calls:
                try:
                    call(request, outcome, elapsed_ns, client)
                except Exception:
                    self.audit_errors += 1
                    log.exception("audit hook of plugin %r raised (ignored)", name)

        return audit

    def _notify_executions(self, message: Any, client: Any) -> None:
        hook = self.pm.hook.krakenwire_executions
        for impl in reversed(hook.get_hookimpls()):
            try:
                _caller(impl, ("message", "client"))(message, client)
            except Exception:
                self.event_errors += 1
                log.exception("executions hook of plugin %r raised (ignored)", impl.plugin_name)

    def event(self, event: str, client: Any, detail: dict[str, Any]) -> None:
        """Call ``krakenwire_connection_event`` on every plugin; errors are logged and counted."""
        hook = self.pm.hook.krakenwire_connection_event
        for impl in reversed(hook.get_hookimpls()):
            try:
                _caller(impl, ("event", "client", "detail"))(event, client, detail)
            except Exception:
                self.event_errors += 1
                log.exception(
                    "connection_event hook of plugin %r raised (ignored)", impl.plugin_name
                )


def _named(veto: Any, plugin: str) -> Veto:
    if isinstance(veto, Veto):
        return veto if veto.plugin else Veto(veto.reason, plugin)
    return Veto(str(veto), plugin)
