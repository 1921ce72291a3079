"""The CPU thread count for training steps, adapted to how busy the machine is.

On a CPU that other programs keep busy, one thread can be several times faster than
waiting for a descheduled second one, so the trainer times steps at both settings now and
then and keeps the faster (`TrainConfig.num_threads` unset, CPU training only).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

__all__ = ["ThreadTuner"]


class ThreadTuner:
    """The CPU thread count, adapted to how busy the machine is.

    A probe times two steps at `high` threads and two at one (after one untimed warm-up
    step) and keeps the faster. It probes again after `_REPROBE_STEPS` steps (longer when
    the last probe found a clear winner), or at once when `_SLOW_STEPS` steps in a row take
    over `_SLOWDOWN` times the chosen setting's probe time: the load changed. Only full
    batches are timed.
    """

    _REPROBE_STEPS = 50
    _MAX_REPROBE_STEPS = 200
    _SLOWDOWN = 2.0
    _SLOW_STEPS = 3

    def __init__(self, high: int) -> None:
        self.high = high
        self.active = high > 1
        self.choice = high
        self.probes = 0
        self._warm = False
        self._plan: list[int] = []
        self._times: dict[int, list[float]] = {}
        self._ref = 0.0
        self._interval = self._REPROBE_STEPS
        self._since = 0
        self._slow = 0

    def threads(self) -> int:
        """Threads for the next step."""
        return self._plan[0] if self._plan else self.choice

    def record(self, threads: int, seconds: float, full_batch: bool = True) -> None:
        """Report how long the step just run with `threads` took."""
        if not self.active or not full_batch:
            return
        if not self._warm:
            self._warm = True
            self._plan = [self.high, self.high, 1, 1]
            return
        if self._plan:
            self._times.setdefault(threads, []).append(seconds)
            self._plan.pop(0)
            if not self._plan:
                self._choose()
            return
        self._since += 1
        self._slow = self._slow + 1 if seconds > self._SLOWDOWN * self._ref else 0
        if self._slow >= self._SLOW_STEPS or self._since >= self._interval:
            self._plan = [self.high, self.high, 1, 1]

    def _choose(self) -> None:
        mean = {n: sum(t) / len(t) for n, t in self._times.items()}
        fast = min(mean, key=lambda n: mean[n])
        slow = max(mean.values())
        if fast != self.choice:
            log.debug(  # chatter: `arcx -v` shows it
                "CPU threads: %d (step times %s)", fast,
                ", ".join(f"{n}: {1000 * t:.0f} ms" for n, t in sorted(mean.items())),
            )
        self.choice, self._ref = fast, mean[fast]
        clear = slow > 2.0 * mean[fast]
        self._interval = min(self._interval * 2, self._MAX_REPROBE_STEPS) if clear else self._REPROBE_STEPS
        self._times, self._since, self._slow = {}, 0, 0
        self.probes += 1
