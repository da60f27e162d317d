"""Crash-test child: a real client and the simulator in one process, audited, then killed.

``python _inflight_child.py PATH DURABILITY MODE``:

1. ``batch_cancel`` calls answered by the simulator; after each, the caller awaits once more
   (``asyncio.sleep(0)``) and prints ``resumed <req_id>``;
2. the simulator goes dark (``blackhole``) and 5 concurrent ``batch_cancel`` are sent; once
   their frames are written the child prints ``inflight <n>``;
3. MODE ``wait``: sleep until the parent SIGKILLs it. MODE ``self``: the simulator answers
   again, one more call is made and the caller SIGKILLs its own process the moment it resumes
   (before the audit hook could run), printing ``last <req_id>`` first.
"""

import asyncio
import os
import signal
import sys

from krakenwire_audit import AuditPlugin

import krakenwire
from krakenwire.sim import Simulator

RESUMED = 20
INFLIGHT = 5


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(path: str, durability: str, mode: str) -> None:
    plugin = AuditPlugin(path, durability=durability, fsync_interval=None)
    async with Simulator() as sim:
        client = await krakenwire.connect(
            sim.url, token=sim.token, plugins=[plugin], autoload_plugins=False
        )
        for i in range(RESUMED):
            r = await client.batch_cancel([f"OR{i:04d}-AAAAA-AAAAAA", f"OR{i:04d}-BBBBB-BBBBBB"])
            await asyncio.sleep(0)
            out(f"resumed {r.req_id}")
        sim.blackhole = True
        tasks = [
            asyncio.ensure_future(
                client.batch_cancel(
                    [f"OF{i:04d}-AAAAA-AAAAAA", f"OF{i:04d}-BBBBB-BBBBBB"], timeout=600
                )
            )
            for i in range(INFLIGHT)
        ]
        while client.plugins.context.pending < INFLIGHT:  # every frame written
            await asyncio.sleep(0.01)
        out(f"inflight {INFLIGHT}")
        if mode == "self":
            sim.blackhole = False
            r = await client.batch_cancel(["OLAST-AAAAA-AAAAAA", "OLAST-BBBBB-BBBBBB"])
            out(f"last {r.req_id}")
            os.kill(os.getpid(), signal.SIGKILL)
        await asyncio.sleep(600)
        del tasks


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
