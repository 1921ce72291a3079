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
    assert [e.kind for e in events] == ["started", "ended", "started"]
    assert events[1].outcome in ("extracted", "died") and events[2].seed == 4


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
