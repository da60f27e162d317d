"""krakenwire-audit: an append-only JSON Lines audit of every krakenwire request and outcome.

Register ``AuditPlugin(path, ...)`` through ``krakenwire.connect(plugins=[...])``, or install the
package: the ``audit`` entry point loads this module, whose hooks write to
``$KRAKENWIRE_AUDIT_PATH`` through one default :class:`AuditPlugin` built on first use (nothing
is written when the variable is unset). Read a file back with :func:`read_records`. Importing
the module has no side effects.
"""

from __future__ import annotations

from typing import Any

from krakenwire.hookspecs import hookimpl

from ._log import AuditCorruption, AuditLog, read_all_records, read_records
from ._plugin import AuditPlugin, make_record

__all__ = [
    "AuditCorruption",
    "AuditLog",
    "AuditPlugin",
    "default",
    "make_record",
    "read_all_records",
    "read_records",
    "reset_default",
]

_default: AuditPlugin | None = None
_configured = False


def default() -> AuditPlugin | None:
    """The instance the entry-point hooks use (``None`` if ``KRAKENWIRE_AUDIT_PATH`` is unset),
    built from the environment on first call."""
    global _default, _configured
    if not _configured:
        _default = AuditPlugin.from_env()
        _configured = True
    return _default


def reset_default() -> None:
    """Close and forget the default instance (the next hook call re-reads the environment)."""
    global _default, _configured
    if _default is not None:
        _default.close()
    _default, _configured = None, False


@hookimpl
def krakenwire_audit(request: Any, outcome: Any, elapsed_ns: int) -> None:
    """Entry-point form of :meth:`AuditPlugin.krakenwire_audit`."""
    plugin = default()
    if plugin is not None:
        plugin.krakenwire_audit(request, outcome, elapsed_ns)


@hookimpl
def krakenwire_connection_event(event: str) -> None:
    """Entry-point form of :meth:`AuditPlugin.krakenwire_connection_event`."""
    plugin = default()
    if plugin is not None:
        plugin.krakenwire_connection_event(event)
