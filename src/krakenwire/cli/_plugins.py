"""``krakenwire plugins``: list the plugins a client would load and the hooks each implements.

Plugins are discovered exactly as :func:`krakenwire.connect` does (the ``krakenwire`` entry
points, ``$KRAKENWIRE_PLUGINS`` allow-list, ``$KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD``), so the
listing is what a client started from the same environment would run.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import warnings
from typing import Any, TextIO

from ..plugins import ENTRY_POINT_GROUP, PluginHost

__all__ = ["run"]


def _origin(name: str) -> str:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            dist = ep.dist
            where = f"{dist.name} {dist.version}" if dist is not None else "?"
            return f"{ep.value} ({where})"
    return ""


def run(args: Any = None, out: TextIO | None = None) -> int:
    """Print the loaded plugins with their hooks, then the ones that failed to load.

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
    if os.environ.get("KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD", "") in ("1", "true", "yes"):
        print("plugin autoload disabled (KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD)", file=out)
    allow = os.environ.get("KRAKENWIRE_PLUGINS")
    if allow:
        print(f"allow-list (KRAKENWIRE_PLUGINS): {allow}", file=out)
    plugins = host.list_plugins()
    if not plugins:
        print("no plugins loaded", file=out)
        if not host.failed:
            print(
                "the first-party plugins (krakenwire-risk, krakenwire-audit, "
                "krakenwire-prometheus): pip install 'krakenwire[plugins]'; "
                "writing your own: docs/plugins.md",
                file=out,
            )
    for name, hooks in plugins:
        origin = _origin(name)
        print(f"{name}" + (f"  {origin}" if origin else ""), file=out)
        for hook in hooks:
            print(f"    {hook}", file=out)
    for name, error in host.failed:
        print(f"FAILED {name}: {error}", file=out)
    return 1 if host.failed else 0
