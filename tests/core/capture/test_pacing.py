"""Pacer and run_paced with a fake clock: no real sleeping, no wall-clock limits."""

from __future__ import annotations

import pytest

from app.core.capture.pacing import Pacer, run_paced


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> bool:
        self.t += seconds
        return False


def test_rejects_non_positive_period() -> None:
    with pytest.raises(ValueError):
        Pacer(0.0)
    p = Pacer(0.125)
    with pytest.raises(ValueError):
        p.period = -1.0


def test_steps_land_on_the_absolute_schedule_despite_variable_work_and_oversleep() -> None:
    clock = FakeClock()
    pacer = Pacer(0.125, clock)
    starts: list[float] = []
    work = [0.01, 0.09, 0.05, 0.12, 0.0, 0.07] * 10

    def step() -> None:
        starts.append(clock.t)
        clock.t += work[len(starts) - 1]

    def sleep(seconds: float) -> bool:
        clock.t += seconds + 0.004  # every sleep overshoots by 4 ms
        return len(starts) >= len(work)

    run_paced(step, pacer, lambda: False, sleep)
    assert len(starts) == len(work)
    # Each start is late by at most the one oversleep; the error never accumulates.
    for k, t in enumerate(starts):
        assert 0.0 <= t - (100.0 + k * 0.125) <= 0.0041
    assert pacer.skipped == 0


def test_naive_sleep_would_drift() -> None:
    """The reference we beat: sleeping `period` after each step drifts by the work time."""
    t, starts = 0.0, []
    for _ in range(40):
        starts.append(t)
        t += 0.05 + 0.125  # work, then a fixed sleep
    assert starts[-1] - 39 * 0.125 > 1.9  # ~2 s behind after 5 s; the Pacer test above is exact


def test_an_overrun_skips_missed_slots_instead_of_bursting() -> None:
    clock = FakeClock(0.0)
    pacer = Pacer(0.1, clock)
    pacer.start()
    clock.t = 0.35  # the first step took 3.5 periods
    assert pacer.advance() == 2  # deadlines 0.1 and 0.2 are gone; 0.3 is due now
    assert pacer.next_deadline == pytest.approx(0.3)
    assert pacer.delay() == 0.0
    pacer.advance()  # a fast step at 0.35
    assert pacer.next_deadline == pytest.approx(0.4)
    assert pacer.delay() == pytest.approx(0.05)
    assert pacer.skipped == 2 and pacer.steps == 2


def test_slightly_late_steps_catch_up_without_skipping() -> None:
    clock = FakeClock(0.0)
    pacer = Pacer(0.1, clock)
    pacer.start()
    clock.t = 0.15  # late by half a period
    assert pacer.advance() == 0
    assert pacer.delay() == 0.0  # run the next one right away
    assert pacer.next_deadline == pytest.approx(0.1)


def test_changing_the_period_applies_from_the_next_deadline() -> None:
    clock = FakeClock(0.0)
    pacer = Pacer(0.125, clock)
    pacer.start()
    pacer.advance()
    pacer.period = 0.25
    pacer.advance()
    assert pacer.next_deadline == pytest.approx(0.375)


def test_stop_requested_during_sleep_ends_the_loop_within_one_tick() -> None:
    clock = FakeClock()
    pacer = Pacer(0.5, clock)
    calls = []

    def sleep(seconds: float) -> bool:
        clock.t += seconds
        return len(calls) == 3  # stop arrives while waiting after the third step

    run_paced(lambda: calls.append(clock.t), pacer, lambda: False, sleep)
    assert len(calls) == 3


def test_should_stop_is_checked_before_each_step() -> None:
    clock = FakeClock()
    calls: list[float] = []
    run_paced(lambda: calls.append(1.0), Pacer(0.1, clock), lambda: len(calls) >= 2, clock.sleep)
    assert len(calls) == 2


def test_step_exceptions_propagate() -> None:
    clock = FakeClock()

    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_paced(boom, Pacer(0.1, clock), lambda: False, clock.sleep)
