"""Crash-test child: intent + outcome per request, each written and fsync'd inline
(``durability="process"``, ``fsync_every=1``), forever, printing the count of requests whose
two records are synced.

Run as ``python _audit_child.py PATH TOKEN``; the parent SIGKILLs it mid-stream. Each record is
what a client hands the hook: the session's Completed event (its request view, its result and
its elapsed time) for a batch_cancel sent with the token and answered by a literal reply.
"""

import sys

from krakenwire_audit import AuditPlugin

from krakenwire.protocol import Completed, Session, batch_cancel


def main() -> None:
    path, token = sys.argv[1], sys.argv[2]
    plugin = AuditPlugin(path, durability="process", fsync_every=1, fsync_interval=None)
    session = Session(token)
    session.views = True  # what a client with an audit plugin sets
    i = 0
    while True:
        call = batch_cancel([f"O{i:05d}-AAAAA-AAAAAA", f"O{i:05d}-BBBBB-BBBBBB"])
        h, _ = session.send(call, 1, 10**9)
        plugin.krakenwire_request_sent(call.view(h), None)
        ev = session.receive(
            b'{"method":"batch_cancel","req_id":%d,"result":{"count":2},"success":true}' % h,
            1 + 1000 + i,
        )
        assert isinstance(ev, Completed) and ev.request is not None
        plugin.krakenwire_audit(ev.request, ev.result, ev.elapsed_ns, None)
        sys.stdout.write(f"{plugin.log.synced // 2}\n")
        sys.stdout.flush()
        i += 1


if __name__ == "__main__":
    main()
