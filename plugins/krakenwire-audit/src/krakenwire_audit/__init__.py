"""krakenwire-audit: a write-ahead JSON Lines audit of every krakenwire request.

An INTENT record is taken just before each request's frame is written (``krakenwire_request_sent``)
and an OUTCOME record after it settles (``krakenwire_audit``);
[`read_requests`][krakenwire_audit.read_requests] pairs them, and lists a request with an intent and
no outcome (the process stopped while it was in flight) as outcome unknown. Records are buffered and
written in batches; ``durability`` (``batch``, ``intent``, ``process``) and the fsync settings say
what a process kill or a machine crash can lose (see `krakenwire_audit._plugin`).

Register ``AuditPlugin(path, ...)`` through ``krakenwire.connect(plugins=[...])``, or install the
package: the ``audit`` entry point is the factory [`from_env`][krakenwire_audit.from_env], called
once per client, which returns a fresh [`AuditPlugin`][krakenwire_audit.AuditPlugin] configured from
``$KRAKENWIRE_AUDIT_PATH`` (and the other ``KRAKENWIRE_AUDIT_*`` variables), or ``None`` when that
is unset. Importing the module has no side effects.
"""

from __future__ import annotations

from ._log import AuditCorruption, AuditLog, read_all_records, read_records
from ._pairs import AuditEntry, outcome_unknown, pair_records, read_requests
from ._plugin import DURABILITY, AuditPlugin, from_env
from ._records import intent_record, make_record

__all__ = [
    "DURABILITY",
    "KRAKENWIRE_ACTIVATION",
    "AuditCorruption",
    "AuditEntry",
    "AuditLog",
    "AuditPlugin",
    "from_env",
    "intent_record",
    "make_record",
    "outcome_unknown",
    "pair_records",
    "read_all_records",
    "read_records",
    "read_requests",
]

KRAKENWIRE_ACTIVATION = (
    "KRAKENWIRE_AUDIT_PATH=<file> (a JSON Lines audit; KRAKENWIRE_AUDIT_DURABILITY, "
    "KRAKENWIRE_AUDIT_FSYNC, KRAKENWIRE_AUDIT_FLUSH, KRAKENWIRE_AUDIT_MAX_BYTES, "
    "KRAKENWIRE_AUDIT_BACKUPS tune it)"
)
"""What turns this entry point on: `krakenwire plugins` prints it as "activated by"."""
