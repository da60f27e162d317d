"""A Hypothesis state machine over the Router with TWO connections and a model of Kraken's
engine: random sends (plain or hedged, on either socket), the engine executing copies in any
order, replies delivered late, twice or never, refusals, socket losses with failover re-sends,
reconnects, ticks and abandonments.

It checks what the caller may rely on: every request gets exactly one outcome; never a
``NotExecuted`` for a request any copy of which executed; a success reports the true count (an
order is cancelled once; a hedged twin's "already gone" never hides what the other copy did);
and the tables are empty at the end.
"""

import json

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from krakenwire import protocol as kp
from krakenwire.errors import NotExecuted, OutcomeUnknown

S = 1_000_000_000


class RouterMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.r = kp.Router("tok", conns=2)
        self.now = 0
        self.up = [True, True]
        self.open = set()  # orders resting in the engine
        self.reqs = {}  # handle -> {"method", "ids", "done", "cancelled": set()}
        self.copies = {}  # req_id -> (handle, conn, ids named by this copy)
        self.replies = []  # (conn, frame) the engine produced, not yet delivered
        self.delivered = []  # (conn, frame) delivered once (replayed later as duplicates)
        self.n = 0

    # ---- bookkeeping ----------------------------------------------------------------------

    def _events(self, events):
        for ev in events:
            self._event(ev)
        box = self.r.outbox
        while box:
            self._event(box.pop(0))

    def _event(self, ev):
        if isinstance(ev, kp.Absorbed):
            assert ev.req_id in self.copies
            return
        if not isinstance(ev, kp.Completed | kp.Failed):
            return
        req = self.reqs[ev.handle]
        assert not req["done"], f"second outcome for {ev.handle}"
        req["done"] = True
        truth = req["cancelled"]
        if isinstance(ev, kp.Failed):
            if isinstance(ev.error, NotExecuted):
                assert not truth, f"NotExecuted for {req['method']} that cancelled {truth}"
            else:
                assert isinstance(ev.error, OutcomeUnknown)
            return
        res = ev.result
        if req["method"] == "batch_cancel":
            # The true count so far; a copy still on the wire can add nothing once the result
            # proves the whole (every id named cancelled).
            assert res.count == len(truth), (res.count, truth)
        else:
            assert set(res.cancelled) == truth, (res.cancelled, truth)

    def _receive(self, conn, frame):
        ev = self.r.receive(frame, self.now, conn)
        self._events([ev] if ev is not None else [])

    # ---- sending --------------------------------------------------------------------------

    @rule(
        n=st.integers(2, 4),
        kind=st.sampled_from(["batch_cancel", "cancel_order"]),
        conn=st.integers(0, 1),
        hedge=st.booleans(),
    )
    def send(self, n, kind, conn, hedge):
        if not self.up[conn]:
            return
        self.n += 1
        ids = [f"O{self.n}-{i}" for i in range(n)]
        self.open.update(ids)
        call = kp.batch_cancel(ids) if kind == "batch_cancel" else kp.cancel_order(ids)
        if hedge and all(self.up):
            h, frames = self.r.send_hedged(call, call.copy(), self.now, 3 * S, (conn, 1 - conn))
            for c, data in frames:
                self.copies[json.loads(data)["req_id"]] = (h, c, ids)
        else:
            h, data = self.r.send(call, self.now, 3 * S, conn)
            self.copies[h] = (h, conn, ids)
        assert h not in self.reqs
        self.reqs[h] = {"method": kind, "ids": ids, "done": False, "cancelled": set()}

    def _on_wire(self):
        return sorted(rid for rid in self.copies if rid in self.r._wire)

    # ---- the engine -----------------------------------------------------------------------

    @precondition(lambda self: self._on_wire())
    @rule(data=st.data())
    def execute(self, data):
        """The engine handles one copy: cancels what it names that is still open and queues
        its reply (Kraken's shapes) on the copy's socket."""
        rid = data.draw(st.sampled_from(self._on_wire()))
        h, conn, ids = self.copies[rid]
        req = self.reqs[h]
        if not self.up[conn] or req.get(("ran", rid)):
            return
        req[("ran", rid)] = True
        gone = [i for i in ids if i in self.open]
        self.open.difference_update(gone)
        req["cancelled"].update(gone)
        if req["method"] == "batch_cancel":
            frames = [{"method": "batch_cancel", "req_id": rid, "success": True,
                       "result": {"count": len(gone)}}]  # fmt: skip
        else:
            frames = [
                {
                    "method": "cancel_order",
                    "req_id": rid,
                    "success": True,
                    "result": {"order_id": i},
                }
                if i in gone
                else {
                    "method": "cancel_order",
                    "req_id": rid,
                    "success": False,
                    "error": "EOrder:Unknown order",
                }  # fmt: skip
                for i in ids
            ]
        for f in frames:
            self.replies.append((conn, json.dumps(f).encode()))

    @precondition(lambda self: self._on_wire())
    @rule(data=st.data(), error=st.sampled_from(["EGeneral:Internal error", "EService:Busy"]))
    def refuse(self, data, error):
        """The engine refuses a copy it has not run: nothing executed by it."""
        rid = data.draw(st.sampled_from(self._on_wire()))
        h, conn, _ = self.copies[rid]
        req = self.reqs[h]
        if not self.up[conn] or req.get(("ran", rid)):
            return
        req[("ran", rid)] = True
        f = {"method": req["method"], "req_id": rid, "success": False, "error": error}
        self.replies.append((conn, json.dumps(f).encode()))

    @precondition(lambda self: self.replies)
    @rule(data=st.data(), drop=st.booleans())
    def deliver(self, data, drop):
        i = data.draw(st.integers(0, len(self.replies) - 1))
        conn, frame = self.replies.pop(i)
        if drop or not self.up[conn]:
            return  # lost on the way (or its socket is gone)
        self.delivered.append((conn, frame))
        self._receive(conn, frame)

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def replay(self, data):
        conn, frame = data.draw(st.sampled_from(self.delivered))
        if self.up[conn]:
            self._receive(conn, frame)

    # ---- time, loss, callers --------------------------------------------------------------

    @rule(dt=st.integers(0, 4 * S))
    def tick(self, dt):
        self.now += dt
        self._events(self.r.tick(self.now))

    @rule(conn=st.integers(0, 1))
    def lose(self, conn):
        if not self.up[conn]:
            return
        self.up[conn] = False
        other = 1 - conn
        to = other if self.up[other] else None
        self.replies = [(c, f) for c, f in self.replies if c != conn]
        events, resends = self.r.failover(self.now, conn, to)
        for rid, data in resends:
            sent = json.loads(data)
            assert sent["req_id"] == rid and sent["params"]["token"] == "tok"
            handle = next(h for h, c, _ in self.copies.values() if self.r.copies(h)[-1] == rid)
            p = sent["params"]
            self.copies[rid] = (handle, to, p.get("orders") or p.get("order_id"))
        self._events(events)

    @rule(conn=st.integers(0, 1))
    def reconnect(self, conn):
        self.up[conn] = True

    @precondition(lambda self: any(not r["done"] for r in self.reqs.values()))
    @rule(data=st.data())
    def abandon(self, data):
        h = data.draw(st.sampled_from(sorted(h for h, r in self.reqs.items() if not r["done"])))
        self._events(self.r.abandon(h, self.now))
        assert self.reqs[h]["done"]

    @rule(junk=st.binary(max_size=30), conn=st.integers(0, 1))
    def junk(self, junk, conn):
        ev = self.r.receive(junk, self.now, conn)
        assert not isinstance(ev, kp.Completed | kp.Failed)

    @invariant()
    def every_open_request_has_a_copy_on_the_wire(self):
        live = {self.copies[rid][0] for rid in self.r._wire if rid in self.copies}
        for h, req in self.reqs.items():
            if not req["done"]:
                assert h in live, f"request {h} waits with no copy on the wire"

    def teardown(self):
        for conn in (0, 1):
            self.up[conn] = False
            events, resends = self.r.failover(self.now, conn, None)
            assert resends == []
            self._events(events)
        assert all(r["done"] for r in self.reqs.values())
        assert len(self.r) == 0 and not self.r._fates and not self.r._groups


TestRouter = RouterMachine.TestCase
TestRouter.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
