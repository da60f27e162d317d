"""Bounded soak: 10,000 requests against a simulator that drops replies, drops connections at
random and sends junk. Every request resolves exactly once, no reply reaches the wrong request,
and every answer the client got agrees with the simulator's ledger."""

import asyncio
import time

import krakenwire
from krakenwire import (
    BatchCancelResult,
    ConnectionClosed,
    ConnectionLost,
    KrakenAPIError,
    RequestTimeout,
)
from krakenwire.sim import SimConfig, Simulator

TOTAL = 10_000
WORKERS = 25
GONE = "OGONE0-XXXXX-XXXXXX"


class AuditCount:
    def __init__(self):
        self.settled: dict[int, int] = {}

    @krakenwire.hookimpl
    def krakenwire_audit(self, request):
        if request.method == "batch_cancel":
            self.settled[request.req_id] = self.settled.get(request.req_id, 0) + 1


def test_soak_10000_requests_resolve_exactly_once_and_match_the_ledger(run):
    cfg = SimConfig(
        drop_reply_prob=0.01, close_prob=0.001, junk_every=97, batch_cancel_mode="strict", seed=7
    )

    async def main():
        async with Simulator(config=cfg) as sim:
            acct = sim.account(sim.token)
            audit = AuditCount()
            client = await krakenwire.connect(
                sim.url,
                token=sim.token,
                timeout=0.25,
                plugins=[audit],
                backoff_base=0.002,
                backoff_cap=0.01,
            )
            outcomes: list[tuple[list[str], object]] = []
            started = time.monotonic()

            async def worker(w: int) -> None:
                for i in range(TOTAL // WORKERS):
                    ids = [o.order_id for o in acct.place(2)]
                    if i % 10 == w % 10:
                        ids.append(GONE)  # strict mode: the whole batch is rejected
                    while True:
                        try:
                            r = await client.batch_cancel(ids)
                        except ConnectionLost as exc:
                            r = exc
                        except ConnectionClosed:  # not sent (reconnecting): try again
                            await client.wait_connected(10)
                            continue
                        except (KrakenAPIError, RequestTimeout) as exc:
                            r = exc
                        break
                    outcomes.append((ids, r))

            await asyncio.gather(*(worker(w) for w in range(WORKERS)))
            await client.close()
            elapsed = time.monotonic() - started

            assert len(outcomes) == TOTAL
            # Exactly once: one audit per request, none for a req_id twice.
            assert len(audit.settled) == TOTAL and set(audit.settled.values()) == {1}
            ledger = {e.req_id: e for e in acct.ledger if e.method == "batch_cancel"}
            kinds = {"ok": 0, "rejected": 0, "unknown": 0}
            for ids, r in outcomes:
                if isinstance(r, BatchCancelResult):
                    kinds["ok"] += 1
                    e = ledger[r.req_id]
                    assert r.orders == ids == e.requested  # never someone else's reply
                    assert r.count == len(e.cancelled) == len(ids) and e.reply_sent
                elif isinstance(r, KrakenAPIError):
                    kinds["rejected"] += 1
                    e = ledger[r.req_id]
                    assert e.requested == ids and e.error == r.error == "EOrder:Invalid order"
                    assert e.cancelled == [] and GONE in ids
                else:
                    assert isinstance(r, RequestTimeout | ConnectionLost)
                    assert r.outcome == "unknown" and list(r.ids) == ids
                    kinds["unknown"] += 1
            assert kinds["ok"] > 0.8 * TOTAL and kinds["rejected"] > 0 and kinds["unknown"] > 0
            assert client.stats.reconnects > 0
            assert client.stats.malformed + client.stats.unmatched > 0
            print(f"soak: {kinds} in {elapsed:.1f}s, reconnects={client.stats.reconnects}")

    run(main)
