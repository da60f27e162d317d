"""A Hypothesis state machine over the Session: random sends, replies, duplicates, reorderings,
stale tokens, ticks, losses and abandonments. Every request gets exactly one outcome, none after
it, and the pending table is empty at the end."""

import json

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from krakenwire import protocol as kp

S = 1_000_000_000


class SessionMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.s = kp.Session("tok")
        self.s.hold_stale = True
        self.now = 0
        self.wire = {}  # current req_id -> (handle, method, ids)
        self.open = set()  # handles without an outcome
        self.done = set()  # handles with their outcome
        self.sent_frames = []  # frames replayed later (duplicates, reorderings)

    def _events(self, events):
        for ev in events:
            self._event(ev)

    def _event(self, ev):
        if isinstance(ev, kp.Completed | kp.Failed):
            assert ev.handle in self.open, f"second outcome for {ev.handle}"
            self.open.discard(ev.handle)
            self.done.add(ev.handle)
            for rid in [r for r, (h, _, _) in self.wire.items() if h == ev.handle]:
                del self.wire[rid]
        elif isinstance(ev, kp.Stale):
            assert ev.handle in self.open

    @rule(n=st.integers(2, 5), kind=st.sampled_from(["batch_cancel", "cancel_order"]))
    def send(self, n, kind):
        ids = [f"O{len(self.done) + len(self.open)}-{i}" for i in range(n)]
        call = kp.batch_cancel(ids) if kind == "batch_cancel" else kp.cancel_order(ids)
        h, data = self.s.send(call, self.now, 3 * S)
        assert h not in self.open and h not in self.done
        self.open.add(h)
        self.wire[h] = (h, kind, ids)

    def _pick(self, data):
        rid = data.draw(st.sampled_from(sorted(self.wire)))
        return rid, self.wire[rid]

    @precondition(lambda self: self.wire)
    @rule(data=st.data())
    def answer(self, data):
        rid, (_, method, ids) = self._pick(data)
        if method == "batch_cancel":
            frame = {"method": method, "req_id": rid, "success": True, "result": {"count": 1}}
            frames = [json.dumps(frame).encode()]
        else:
            order = data.draw(st.permutations(ids))
            frames = [
                json.dumps(
                    {"method": method, "req_id": rid, "success": True, "result": {"order_id": o}}
                ).encode()
                for o in order
            ]
        for f in frames:
            self.sent_frames.append(f)
            ev = self.s.receive(f, self.now)
            if ev is not None:
                self._event(ev)

    @precondition(lambda self: self.wire)
    @rule(data=st.data(), error=st.sampled_from(["EOrder:Invalid order", "EGeneral:Busy"]))
    def reject(self, data, error):
        rid, (_, method, _) = self._pick(data)
        f = json.dumps({"method": method, "req_id": rid, "success": False, "error": error})
        self.sent_frames.append(f.encode())
        ev = self.s.receive(f.encode(), self.now)
        if ev is not None:
            self._event(ev)

    @precondition(lambda self: self.wire)
    @rule(data=st.data())
    def stale(self, data):
        rid, (_, method, _) = self._pick(data)
        f = {"method": method, "req_id": rid, "success": False, "error": "EAPI:Invalid token"}
        ev = self.s.receive(json.dumps(f).encode(), self.now)
        if ev is not None:
            self._event(ev)

    @rule(ok=st.booleans())
    def refresh(self, ok):
        if ok:
            self.s.set_token("tok2")
            for handle, data in self.s.resend_held(self.now):
                sent = json.loads(data)
                old = next(v for v in self.wire.values() if v[0] == handle)
                for rid in [r for r, v in self.wire.items() if v[0] == handle]:
                    del self.wire[rid]
                self.wire[sent["req_id"]] = old
        else:
            self._events(self.s.fail_held())

    @precondition(lambda self: self.sent_frames)
    @rule(data=st.data())
    def replay(self, data):
        """A duplicate or late frame: it may never produce a second outcome."""
        f = data.draw(st.sampled_from(self.sent_frames))
        ev = self.s.receive(f, self.now)
        if ev is not None:
            self._event(ev)

    @rule(junk=st.binary(max_size=30))
    def junk(self, junk):
        ev = self.s.receive(junk, self.now)
        assert not isinstance(ev, kp.Completed | kp.Failed)

    @rule(dt=st.integers(0, 4 * S))
    def tick(self, dt):
        self.now += dt
        self._events(self.s.tick(self.now))

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def abandon(self, data):
        h = data.draw(st.sampled_from(sorted(self.open)))
        self._events(self.s.abandon(h, self.now))
        assert h not in self.open

    @rule()
    def lose(self):
        self._events(self.s.connection_lost(self.now))
        assert not self.open and len(self.s) == 0

    @invariant()
    def table_matches(self):
        assert len(self.s) == len(self.open)
        assert set(self.s.pending_handles()) == self.open

    def teardown(self):
        self._events(self.s.connection_lost(self.now))
        assert not self.open and len(self.s) == 0


TestSession = SessionMachine.TestCase
TestSession.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
