"""Loads plugins into a per-client pluggy manager and calls hooks without pluggy on the hot path.

A pluggy hook call costs 1.5-2.6 us here; a cached attribute costs ~0.01 us. So `PluginHost`
keeps ``check`` and ``audit`` as ``None`` when no plugin implements them, and otherwise as a plain
function over the implementations resolved once, whenever plugins are registered or unregistered,
in pluggy's call order (tryfirst/trylast, last registered first) with ``firstresult`` kept.
Registration, validation and discovery stay pluggy's. Hook wrappers fall back to ``pm.hook``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import operator
import os
import types
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

Check = Callable[[Any], None]
Audit = Callable[[Any, Any, int, Any], None]
Notify = Callable[[Any, Any], None]


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
    if not idx:
        return lambda *args: fn()
    if len(idx) == 1:
        (i,) = idx
        return lambda *args: fn(args[i])
    pick = operator.itemgetter(*idx)  # in C: cheaper than building a list per call
    return lambda *args: fn(*pick(args))


class PluginHost:
    """One per client: the pluggy manager plus the pre-resolved hook callers.

    Attributes:
        pm: the `pluggy.PluginManager` (register, unregister, list plugins through it).
        check: ``None`` when no plugin implements ``krakenwire_check_request``; else
            ``check(request)`` which raises [`RiskRejected`][krakenwire.RiskRejected] on a veto or
            error (the context is bound: see `bind`).
        intent: ``None`` or ``intent(request, context)``: ``krakenwire_request_sent``.
        audit: ``None`` when no plugin audits; else ``audit(request, outcome, elapsed_ns,
            context)`` which never raises (errors are logged and counted in ``audit_errors``).
        failed: ``(name, error text)`` of entry points that could not be loaded.

    Entry points: a module is registered as it is; a class or factory function is called once
    per host (so each client gets its own instance); a factory returning ``None`` (e.g. not
    configured by the environment) registers nothing. An entry point is skipped when a plugin
    from the same top-level package was registered explicitly.
    """

    def __init__(self, plugins: Iterable[object] = (), *, autoload: bool | None = None) -> None:
        self.check: Check | None = None
        self.intent: Notify | None = None
        self.audit: Audit | None = None
        self.executions: Notify | None = None
        self.context: Any = None
        self.on_resolve: Callable[[], None] | None = None  # the client re-reads the callers
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
            top = ep.value.split(":")[0].split(".")[0]
            if any(_package_of(p) == top for p in self.pm.get_plugins()):
                continue  # registered explicitly: not a second time
            try:
                plugin = ep.load()
                if not isinstance(plugin, types.ModuleType) and callable(plugin):
                    plugin = plugin()  # one instance per client
                if plugin is None:
                    continue  # the factory found no configuration
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

    def bind(self, context: Any) -> None:
        """Give the hooks their read-only context (once, by the client that owns the host)."""
        self.context = context
        self._resolve()

    @property
    def wants_views(self) -> bool:
        """Whether any hook needs the per-request view."""
        return self.check is not None or self.audit is not None or self.intent is not None

    def _resolve(self) -> None:
        self.check = self._resolve_check()
        self.audit = self._resolve_audit()
        self.executions = self._resolve_notify(
            self.pm.hook.krakenwire_executions, ("message", "context"), "executions"
        )
        self.intent = self._resolve_notify(
            self.pm.hook.krakenwire_request_sent, ("request", "context"), "request_sent"
        )
        if self.on_resolve is not None:
            self.on_resolve()

    def _resolve_check(self) -> Check | None:
        hook = self.pm.hook.krakenwire_check_request
        impls = self._impls(hook)
        if impls is not None and not impls:
            return None
        order = ("request", "context")
        if impls is None:  # wrappers present: let pluggy run them, keep fail-closed semantics

            def run_pm(request: Any) -> None:
                try:
                    veto = hook(request=request, context=self.context)
                except Exception as exc:
                    raise RiskRejected(
                        Veto(f"risk check raised {type(exc).__name__}: {exc}", "?")
                    ) from exc
                if veto is not None:
                    raise RiskRejected(_named(veto, "?"))

            return run_pm
        calls = [(i.plugin_name, _caller(i, order)) for i in impls]

        def check(request: Any) -> None:
            ctx = self.context
            for name, call in calls:
                try:
                    veto = call(request, ctx)
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
        order = ("request", "outcome", "elapsed_ns", "context")
        calls: list[tuple[str, Callable[..., Any]]]
        if impls is not None:
            calls = [(i.plugin_name, _caller(i, order)) for i in impls]
        else:

            def via_pm(r: Any, o: Any, e: int, c: Any) -> None:
                hook(request=r, outcome=o, elapsed_ns=e, context=c)

            calls = [("?", via_pm)]

        def audit(request: Any, outcome: Any, elapsed_ns: int, client: Any) -> None:
            for name, call in calls:
                try:
                    call(request, outcome, elapsed_ns, client)
                except Exception:
                    self.audit_errors += 1
                    log.exception("audit hook of plugin %r raised (ignored)", name)

        return audit

    def _resolve_notify(self, hook: Any, order: Sequence[str], what: str) -> Notify | None:
        """A caller of a two-argument notification hook over the implementations resolved now;
        errors are logged and counted, never propagated."""
        impls = hook.get_hookimpls()
        if not impls:
            return None
        calls = [(i.plugin_name, _caller(i, order)) for i in reversed(impls)]

        def notify(a: Any, b: Any) -> None:
            for name, call in calls:
                try:
                    call(a, b)
                except Exception:
                    self.event_errors += 1
                    log.exception("%s hook of plugin %r raised (ignored)", what, name)

        return notify

    def event(self, event: str, detail: dict[str, Any]) -> None:
        """Call ``krakenwire_connection_event`` on every plugin; errors are logged and counted."""
        hook = self.pm.hook.krakenwire_connection_event
        for impl in reversed(hook.get_hookimpls()):
            try:
                _caller(impl, ("event", "context", "detail"))(event, self.context, detail)
            except Exception:
                self.event_errors += 1
                log.exception(
                    "connection_event hook of plugin %r raised (ignored)", impl.plugin_name
                )


def _package_of(plugin: object) -> str:
    mod = plugin.__name__ if isinstance(plugin, types.ModuleType) else type(plugin).__module__
    return mod.split(".")[0]


def _named(veto: Any, plugin: str) -> Veto:
    if isinstance(veto, Veto):
        return veto if veto.plugin else Veto(veto.reason, plugin)
    return Veto(str(veto), plugin)
