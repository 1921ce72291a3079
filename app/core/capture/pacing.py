"""Fixed-rate loops without drift.

`Pacer` keeps an absolute schedule: the k-th step is due at `t0 + k·period`. Sleeping a
little too long, or a step taking a variable time, never accumulates: the next delay is
measured to the next deadline, not from "now". A step that overruns by more than a
whole period skips the missed slots (counted in `skipped`) instead of running a burst
of late steps, so the loop never lags behind the present.

`run_paced` is the loop the capture and inference threads (and the headless CLI) run.
Clock and sleep are parameters: tests drive both with a fake clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class Pacer:
    """Deadlines at t0 + k·period on `clock` (seconds)."""

    def __init__(self, period_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not period_s > 0:
            raise ValueError(f"period must be positive, got {period_s}")
        self._period = float(period_s)
        self._clock = clock
        self._next: float | None = None
        self.steps = 0
        """steps taken since `start`"""
        self.skipped = 0
        """deadlines skipped because a step overran them"""

    @property
    def period(self) -> float:
        return self._period

    @period.setter
    def period(self, value: float) -> None:
        """Change the rate; the schedule re-anchors at the next deadline."""
        if not value > 0:
            raise ValueError(f"period must be positive, got {value}")
        self._period = float(value)

    @property
    def next_deadline(self) -> float | None:
        return self._next

    def start(self, now: float | None = None) -> None:
        """The first step is due now."""
        self._next = self._clock() if now is None else now
        self.steps = 0
        self.skipped = 0

    def delay(self) -> float:
        """Seconds until the next step is due (0 when it is due or late)."""
        if self._next is None:
            self.start()
        assert self._next is not None
        return max(0.0, self._next - self._clock())

    def advance(self) -> int:
        """A step finished: schedule the next one. Returns how many slots were skipped."""
        if self._next is None:
            self.start()
        assert self._next is not None
        self.steps += 1
        self._next += self._period
        late = self._clock() - self._next
        if late < self._period:
            return 0
        missed = math.floor(late / self._period)  # whole periods already in the past
        self._next += missed * self._period
        self.skipped += missed
        return missed


def run_paced(
    step: Callable[[], object],
    pacer: Pacer,
    should_stop: Callable[[], bool],
    sleep: Callable[[float], bool],
) -> None:
    """Call `step` at the pacer's rate until `should_stop()`.

    `sleep(seconds)` waits and returns True when stopping was requested meanwhile (a
    `threading.Event.wait` does exactly that), so a stop takes effect within one tick.
    Exceptions from `step` propagate to the caller.
    """
    pacer.start()
    while not should_stop():
        step()
        pacer.advance()
        delay = pacer.delay()
        if delay > 0 and sleep(delay):
            break
