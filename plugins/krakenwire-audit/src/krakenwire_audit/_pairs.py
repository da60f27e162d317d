"""Pair intent and outcome records into one entry per request.

A request is ``(run, req_id)`` of its intent. Its outcome record normally has the same
``req_id``. The exception is a request Kraken rejected for a stale token and krakenwire re-sent
(once) under a new ``req_id`` after fetching a new token: the outcome's view carries the final
``req_id`` and ``resent: true``, and no intent has that ``req_id`` (krakenwire does not call
``krakenwire_request_sent`` for the re-send today). Such an outcome settles the oldest open,
not re-sent intent of the same run with the same method, ids, client order ids and orders: the
first send was rejected (not executed), so the two are one request. When two identical requests
were both re-sent, which intent each outcome settles cannot be told, and does not matter: they
are the same request twice. Should krakenwire one day call ``krakenwire_request_sent`` for the
re-send too, its intent (``resent: true``) supersedes the original intent the same way
(``resent_as`` on the entry) and its outcome pairs by ``req_id``.

An intent with no outcome is listed with ``settled=False`` and ``outcome="unknown"``: the process
ended (or the file was read) while the request was in flight, so whether Kraken executed it is
unknown. A vetoed request has an outcome and no intent (nothing was sent).
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from ._log import read_all_records

__all__ = ["AuditEntry", "outcome_unknown", "pair_records", "read_requests"]


class AuditEntry(msgspec.Struct, kw_only=True):
    """One request as the audit saw it.

    Attributes:
        run: the plugin instance/client that sent it. req_id: its ``req_id`` (of the intent;
            of the outcome for a vetoed request). method, ids, cl_ord_ids: what it was.
        outcome: ``ok``, ``rejected``, ``vetoed``, or ``unknown`` (a timeout, a lost
            connection, an abandoned wait... or no outcome recorded).
        settled: ``False`` when there is an intent and no outcome: the process stopped with
            the request in flight (its fate is unknown).
        intent, result: the raw records (``None`` when absent).
        resent_as: the ``req_id`` of the re-send, when it was re-sent after a token refresh.
    """

    run: str
    req_id: int
    method: str
    ids: list[str]
    cl_ord_ids: list[str]
    outcome: str
    settled: bool
    intent: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    resent_as: int | None = None


def _content(rec: dict[str, Any]) -> tuple[Any, ...]:
    return (rec.get("method"), rec.get("ids"), rec.get("cl_ord_id"))


def pair_records(records: list[dict[str, Any]]) -> list[AuditEntry]:
    """Entries in the order of their first record (intent, or outcome when vetoed).

    Records without ``ev`` (written by krakenwire-audit 0.1) are outcomes.
    """
    entries: list[AuditEntry] = []
    open_: dict[tuple[str, int], AuditEntry] = {}  # (run, req_id of the wire) -> entry

    def find_original(rec: dict[str, Any]) -> AuditEntry | None:
        run, key = rec.get("run", ""), _content(rec)
        for (r, _), e in open_.items():  # insertion order: oldest first
            if (
                r == run
                and e.intent is not None
                and not e.intent.get("resent")
                and e.resent_as is None
                and _content(e.intent) == key
            ):
                return e
        return None

    for rec in records:
        ev = rec.get("ev", "outcome")
        run = rec.get("run", "")
        rid = rec.get("req_id")
        if not isinstance(rid, int):
            continue
        if ev == "intent":
            if rec.get("resent"):
                orig = find_original(rec)
                if orig is not None:
                    del open_[(run, orig.req_id)]
                    orig.resent_as = rid
                    open_[(run, rid)] = orig
                    continue
            entry = AuditEntry(
                run=run,
                req_id=rid,
                method=rec.get("method", ""),
                ids=list(rec.get("ids", ())),
                cl_ord_ids=list(rec.get("cl_ord_id", ())),
                outcome="unknown",
                settled=False,
                intent=rec,
            )
            open_[(run, rid)] = entry
            entries.append(entry)
        elif ev == "outcome":
            found = open_.pop((run, rid), None)
            if found is None and rec.get("resent"):
                found = find_original(rec)
                if found is not None:
                    del open_[(run, found.req_id)]
                    found.resent_as = rid
            if found is None:  # vetoed (never sent), or an intent in a file no longer kept
                found = AuditEntry(
                    run=run,
                    req_id=rid,
                    method=rec.get("method", ""),
                    ids=list(rec.get("ids", ())),
                    cl_ord_ids=list(rec.get("cl_ord_id", ())),
                    outcome="unknown",
                    settled=False,
                )
                entries.append(found)
            found.result = rec
            found.settled = True
            found.outcome = str(rec.get("outcome", "unknown"))
    return entries


def read_requests(path: str | os.PathLike[str], backups: int = 5) -> list[AuditEntry]:
    """Every request in ``path`` and its rotated files, intent and outcome paired."""
    return pair_records(read_all_records(path, backups))


def outcome_unknown(path: str | os.PathLike[str], backups: int = 5) -> list[AuditEntry]:
    """The requests whose fate is unknown: in flight when the process stopped (an intent, no
    outcome: ``settled=False``), or settled as unknown (timeout, lost connection, abandoned)."""
    return [e for e in read_requests(path, backups) if e.outcome == "unknown"]
