"""LiveRaids (raid after raid as one source) and RunDirector (events → run commands)."""

import numpy as np

from app.demo.sim import SimRaidSource
from app.demo.sim.live import LiveRaids, RaidEvent, RunCommand, RunDirector


class ScriptedRaid:
    """A raid of `n` frames, each filled with its step, ending as `outcome`."""

    def __init__(self, seed, n=3, outcome="extracted", value=100.0):
        self.seed, self.n = seed, n
        self.outcome_at_end, self.value_at_end = outcome, value
        self.served = 0

    def open(self):
        self.served = 0

    def grab(self):
        if self.served >= self.n:
            return None
        self.served += 1
        return np.full((4, 6, 3), self.served, np.uint8)

    @property
    def outcome(self):
        return self.outcome_at_end if self.served >= self.n else None

    @property
    def final_value(self):
        return self.value_at_end if self.served >= self.n else None


def test_raids_follow_each_other_with_new_seeds():
    live = LiveRaids(seed=10, make_raid=lambda s: ScriptedRaid(s, n=2, value=float(s)))
    live.open()
    frames = [live.grab() for _ in range(5)]  # raid 10: 2 frames, raid 11: 2, raid 12: 1
    assert all(f is not None for f in frames)
    assert [int(f[0, 0, 0]) for f in frames] == [1, 2, 1, 2, 1]
    assert live.drain_events() == [
        RaidEvent("started", 0, 10),
        RaidEvent("ended", 0, 10, "extracted", 10.0),
        RaidEvent("started", 1, 11),
        RaidEvent("ended", 1, 11, "extracted", 11.0),
        RaidEvent("started", 2, 12),
    ]
    assert live.drain_events() == []
    latest, serial = live.latest()
    assert serial == 5 and np.array_equal(latest, frames[-1])
    assert latest is not frames[-1] and not latest.flags.writeable  # safe across threads


class WalkingRaid(ScriptedRaid):
    """A scripted raid whose autopilot starts the walk out on its frame `leave_at`."""

    def __init__(self, seed, n=4, leave_at=2):
        super().__init__(seed, n=n)
        self.leave_at = leave_at

    @property
    def extract_step(self):
        return self.leave_at if self.served >= self.leave_at else None


def test_the_walk_out_is_one_extracting_event_between_start_and_end():
    live = LiveRaids(seed=1, make_raid=lambda s: WalkingRaid(s))
    live.open()
    for _ in range(9):  # raid 1: 4 frames, raid 2: 4, raid 3: 1
        live.grab()
    assert [(e.kind, e.index) for e in live.drain_events()] == [
        ("started", 0), ("extracting", 0), ("ended", 0),
        ("started", 1), ("extracting", 1), ("ended", 1),
        ("started", 2),
    ]


def test_real_sim_raid_restarts():
    live = LiveRaids(seed=3)
    live.open()
    first = live.grab()
    assert first.dtype == np.uint8 and first.ndim == 3
    probe = SimRaidSource(3)
    probe.open()
    n = 1
    while probe.grab() is not None:
        n += 1
    for _ in range(n):  # the whole first raid, then the first frame of the next
        live.grab()
    events = live.drain_events()
    kinds = [e.kind for e in events]
    outcome = events[kinds.index("ended")].outcome
    # the autopilot marks its walk out whenever it leaves alive; it may also die walking
    assert kinds in (["started", "ended", "started"], ["started", "extracting", "ended", "started"])
    assert outcome != "extracted" or "extracting" in kinds
    assert outcome in ("extracted", "died") and events[-1].seed == 4


def test_director_starts_ends_and_labels_in_order():
    d = RunDirector()
    d.feed([RaidEvent("started", 0, 5)])
    assert d.next_command(recording=False, busy=False) == RunCommand("start", raid=0)
    assert d.next_command(recording=True, busy=False) is None
    d.feed([RaidEvent("ended", 0, 5, "died", 0.0), RaidEvent("started", 1, 6)])
    assert d.next_command(recording=True, busy=False) == RunCommand("end", "died", 0.0, 0)
    assert d.next_command(recording=False, busy=True) is None  # the end is still running
    assert d.next_command(recording=False, busy=False) == RunCommand("start", raid=1)
    assert d.last_ended.outcome == "died" and d.current.index == 1


def test_director_marks_the_walk_out_only_in_a_recorded_run():
    d = RunDirector()
    d.feed([RaidEvent("started", 0, 5), RaidEvent("extracting", 0, 5)])
    assert d.next_command(recording=False, busy=False) == RunCommand("start", raid=0)
    assert d.next_command(recording=True, busy=False) == RunCommand("mark", raid=0)
    assert d.current.index == 0  # the caption still names the raid, not the event
    d.feed([RaidEvent("ended", 0, 5, "extracted", 50.0), RaidEvent("started", 1, 6),
            RaidEvent("extracting", 1, 6), RaidEvent("ended", 1, 6, "extracted", 60.0)])
    assert d.next_command(recording=True, busy=False) == RunCommand("end", "extracted", 50.0, 0)
    assert d.next_command(recording=False, busy=False) == RunCommand("start", raid=1)
    d.requeue_start(RunCommand("start", raid=1))  # the app refused the start: not recording
    assert d.next_command(recording=False, busy=False) == RunCommand("start", raid=1)
    # still not recording when the walk out and the end come: no mark, no end
    assert d.next_command(recording=False, busy=False) is None


def test_director_ends_a_run_whose_raid_end_was_missed():
    d = RunDirector()
    d.feed([RaidEvent("started", 4, 9)])
    assert d.next_command(recording=True, busy=False) == RunCommand("end", None, None, 4)
    assert d.next_command(recording=False, busy=False) == RunCommand("start", raid=4)


def test_director_drops_an_end_with_no_run_and_retries_a_deferred_start():
    d = RunDirector()
    d.feed([RaidEvent("ended", 0, 1, "extracted", 5.0), RaidEvent("started", 1, 2)])
    cmd = d.next_command(recording=False, busy=False)
    assert cmd == RunCommand("start", raid=1)
    d.requeue_start(cmd)
    assert d.next_command(recording=False, busy=False) == RunCommand("start", raid=1)
    assert d.next_command(recording=False, busy=False) is None
