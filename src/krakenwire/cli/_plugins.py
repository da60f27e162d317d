"""``krakenwire plugins``: every installed plugin entry point, active or not, what activates it,
and the hooks each implements.

Plugins are loaded exactly as [`krakenwire.connect`][krakenwire.connect] loads them (the
``krakenwire`` entry points, the ``$KRAKENWIRE_PLUGINS`` allow-list,
``$KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD``), so "active" means a client started from the same
environment would run it. An entry point that is installed but not active is listed too, with the
reason: its factory found no configuration (e.g. ``krakenwire-audit`` without
``KRAKENWIRE_AUDIT_PATH``), the allow-list leaves it out, autoload is off, or it failed to load.
What activates a plugin is the ``KRAKENWIRE_ACTIVATION`` text of its entry point's module (see
"Writing a plugin"); the hooks of a plugin that is not active are read from what its entry point
declares (a module's or class's hook implementations, or the class a factory's return annotation
names).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import types
import typing
import warnings
from typing import Any, TextIO

from ..plugins import ENTRY_POINT_GROUP, PluginHost

__all__ = ["run"]

_IMPL_ATTR = "krakenwire_impl"  # what pluggy.HookimplMarker("krakenwire") sets on a function


def _hooks_of(obj: Any) -> list[str]:
    """The hook names ``obj`` (a module or a class) implements."""
    names = set()
    for attr in dir(obj):
        if (
            attr.startswith("krakenwire_")
            and getattr(getattr(obj, attr, None), _IMPL_ATTR, None) is not None
        ):
            names.add(attr)
    return sorted(names)


def _declared_hooks(obj: Any, module: str) -> list[str]:
    """The hooks an entry point's object would implement once active: a module's or a class's
    own; a factory's, from the class its return annotation names, else from its module."""
    if isinstance(obj, types.ModuleType | type):
        return _hooks_of(obj)
    try:
        hint = typing.get_type_hints(obj).get("return")
    except Exception:  # noqa: BLE001 - an annotation we cannot resolve (TYPE_CHECKING only)
        hint = None
    classes = [a for a in typing.get_args(hint) or (hint,) if isinstance(a, type)]
    hooks = {h for c in classes if c is not type(None) for h in _hooks_of(c)}
    if not hooks:
        hooks.update(_hooks_of(importlib.import_module(module)))
    return sorted(hooks)


def _activation(ep: importlib.metadata.EntryPoint, obj: Any) -> str:
    text = None
    try:
        text = getattr(importlib.import_module(ep.module), "KRAKENWIRE_ACTIVATION", None)
    except Exception:  # noqa: BLE001 - reported as a failure elsewhere
        text = None
    if isinstance(text, str) and text:
        return text
    if isinstance(obj, types.ModuleType):
        return "always (a module: registered when installed)"
    return "when its factory returns a plugin (its module says no more: no KRAKENWIRE_ACTIVATION)"


def _origin(ep: importlib.metadata.EntryPoint) -> str:
    dist = ep.dist
    where = f"{dist.name} {dist.version}" if dist is not None else "?"
    return f"{ep.value} ({where})"


def _why_not(name: str, allow: set[str] | None, disabled: bool) -> str:
    if disabled:
        return "not loaded: KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD is set"
    if allow is not None and name not in allow:
        return "not loaded: not named in KRAKENWIRE_PLUGINS"
    return "inactive: its factory found no configuration (see 'activated by')"


def run(args: Any = None, out: TextIO | None = None) -> int:
    """Print every ``krakenwire`` entry point with its status, activation and hooks, then any
    plugin registered otherwise.

    Args:
        args: the parsed command line (unused; ``krakenwire plugins`` takes no options).
        out: where to print (default stdout).

    Returns:
        0, or 1 if a plugin failed to load.
    """
    out = out or sys.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # failures are listed below instead
        host = PluginHost()
    disabled = os.environ.get("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", "") in ("1", "true", "yes")
    allow_raw = os.environ.get("KRAKENWIRE_PLUGINS")
    allow = {n.strip() for n in allow_raw.split(",") if n.strip()} if allow_raw else None
    if disabled:
        print("plugin autoload disabled (KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD)", file=out)
    if allow_raw:
        print(f"allow-list (KRAKENWIRE_PLUGINS): {allow_raw}", file=out)
    active = dict(host.list_plugins())
    failed = dict(host.failed)
    eps = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    if not eps and not active:
        print("no plugins installed", file=out)
        print(
            "the first-party plugins (krakenwire-risk, krakenwire-audit, krakenwire-prometheus) "
            "are in plugins/ of a checkout: `make dist`, then pip install dist/*.whl; writing "
            "your own: docs/plugins.md",
            file=out,
        )
    seen = set()
    for ep in eps:
        seen.add(ep.name)
        print(f"{ep.name}  {_origin(ep)}", file=out)
        if ep.name in failed:
            print(f"    status: FAILED {ep.name}: {failed[ep.name]}", file=out)
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # not loaded by the host (allow-list): say so, go on
            print(f"    status: cannot be imported: {type(exc).__name__}: {exc}", file=out)
            continue
        if ep.name in active:
            status, hooks = "active", active[ep.name]
        else:
            status, hooks = _why_not(ep.name, allow, disabled), _declared_hooks(obj, ep.module)
        print(f"    status: {status}", file=out)
        print(f"    activated by: {_activation(ep, obj)}", file=out)
        print("    hooks:", file=out)
        for hook in hooks or ["(none declared)"]:
            print(f"        {hook}", file=out)
    for name, hooks in active.items():
        if name in seen:
            continue
        print(f"{name}  (registered, not an entry point)", file=out)
        print("    status: active", file=out)
        print("    hooks:", file=out)
        for hook in hooks:
            print(f"        {hook}", file=out)
    return 1 if host.failed else 0
