"""Crash-test child: audits records with fsync per record forever, printing the synced count.

Run as ``python _audit_child.py PATH TOKEN``; the parent SIGKILLs it mid-stream.
"""

import sys

from krakenwire_audit import AuditPlugin

from krakenwire import BatchCancelResult, Session


def main() -> None:
    path, token = sys.argv[1], sys.argv[2]
    plugin = AuditPlugin(path, fsync_every=1, fsync_interval=None)
    session = Session(token)
    i = 0
    while True:
        p, _ = session.batch_cancel([f"O{i:05d}-AAAAA-AAAAAA", f"O{i:05d}-BBBBB-BBBBBB"])
        session.forget(p.req_id)
        plugin.krakenwire_audit(p, BatchCancelResult(count=2, req_id=p.req_id), 1000 + i)
        sys.stdout.write(f"{plugin.log.synced}\n")
        sys.stdout.flush()
        i += 1


if __name__ == "__main__":
    main()
