"""Endless simulated raids for the live demo, and the run commands they imply.

- `LiveRaids`: a capture `FrameSource` that plays raid after raid (seed, seed + 1, …)
  with the autopilot. The capture thread calls `grab()`; the GUI thread reads the newest
  frame with `latest()` and the raid starts/ends with `drain_events()`. Only plain data
  crosses: numpy arrays (copied) and frozen `RaidEvent`s, behind one lock.
- `RunDirector`: turns those events into "start a run" / "mark extracting" (the
  autopilot heads for the exfil: what a player presses F9 for) / "end the run as
  extracted with this value / died" for the app, one at a time, so the demo records
  labelled, marked runs with no hotkeys. It knows nothing of Qt: the game window polls it on a timer.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from app.demo.sim import SimRaidSource

log = logging.getLogger(__name__)

RaidFactory = Callable[[int], SimRaidSource]
"""seed → an unopened raid source"""


@dataclass(frozen=True)
class RaidEvent:
    """A raid began, its autopilot started the walk out, or it ended (from the capture
    thread to the GUI thread)."""

    kind: Literal["started", "extracting", "ended"]
    index: int
    """0 for the first raid of this source, then 1, 2, …"""
    seed: int
    outcome: str | None = None
    """"extracted" or "died" (ended only)"""
    value: float | None = None
    """banked loot, 0 when died (ended only)"""


@dataclass(frozen=True)
class RunCommand:
    """What the app should do next: start a run, or end it with a label."""

    kind: Literal["start", "mark", "end"]
    outcome: str | None = None
    """"extracted" / "died" for an end; None ends the run unlabelled"""
    value: float | None = None
    raid: int = 0
    """the raid index the command belongs to"""


class LiveRaids:
    """Raid after raid as one frame source; see the module docstring.

    `grab()` serves the current raid's frames; the first frame after the autopilot
    decided to leave records an "extracting" event (a raid source without
    `extract_step` never does); once its end frame has been served the
    next grab records an "ended" event, opens the raid with the next seed, records a
    "started" event and serves that raid's first frame. It never returns None, so the
    engine sees one endless capture.
    """

    def __init__(self, seed: int = 0, make_raid: RaidFactory | None = None) -> None:
        self.first_seed = int(seed)
        self._make: RaidFactory = make_raid if make_raid is not None else SimRaidSource
        self._lock = threading.Lock()
        self._raid: SimRaidSource | None = None
        self._index = -1
        self._events: deque[RaidEvent] = deque()
        self._latest: NDArray[np.uint8] | None = None
        self._serial = 0  # frames served in all; lets the viewer skip repaints
        self._marked = False  # the current raid's "extracting" event was recorded

    @property
    def name(self) -> str:
        return "sim"

    @property
    def raid_index(self) -> int:
        """Index of the raid being played (-1 before `open()`)."""
        return self._index

    def open(self) -> None:
        """Start the first raid (or, after a capture restart, carry on with the current)."""
        with self._lock:
            if self._raid is None:
                self._next_raid()

    def _next_raid(self) -> None:
        # caller holds the lock
        self._index += 1
        seed = self.first_seed + self._index
        raid = self._make(seed)
        raid.open()
        self._raid = raid
        self._marked = False
        self._events.append(RaidEvent("started", self._index, seed))
        log.info("demo raid %d (seed %d) started", self._index, seed)

    def grab(self) -> NDArray[np.uint8] | None:
        with self._lock:
            if self._raid is None:
                self._next_raid()
            raid = self._raid
            assert raid is not None
            frame = raid.grab()
            if frame is None:  # the end frame was served last time
                outcome, value = raid.outcome, raid.final_value
                self._events.append(
                    RaidEvent("ended", self._index, raid.seed, outcome,
                              None if value is None else float(value))
                )
                log.info("demo raid %d ended: %s, %.0f", self._index, outcome, value or 0.0)
                self._next_raid()
                assert self._raid is not None
                frame = self._raid.grab()
                assert frame is not None
            elif not self._marked and getattr(raid, "extract_step", None) is not None:
                self._marked = True
                self._events.append(RaidEvent("extracting", self._index, raid.seed))
            latest = frame.copy()
            latest.flags.writeable = False  # shared with the GUI thread: read-only
            self._latest = latest
            self._serial += 1
            return frame

    def close(self) -> None:
        """Nothing to release; the raid carries on if the capture opens again."""

    def latest(self) -> tuple[NDArray[np.uint8] | None, int]:
        """The newest frame served (a read-only copy, safe to keep) and its serial number."""
        with self._lock:
            return self._latest, self._serial

    def drain_events(self) -> list[RaidEvent]:
        """Raid starts and ends since the last call, oldest first."""
        with self._lock:
            out = list(self._events)
            self._events.clear()
            return out


class RunDirector:
    """Raid events in, run commands out, one at a time.

    Feed it `RaidEvent`s; ask `next_command(recording, busy)` whenever the app could act
    (`busy`: a run is still being ended). A raid start asks for a run start; the walk
    out asks for the extraction mark (only while recording: a run started late has no
    mark rather than a wrong one); a raid end asks to end the run with the raid's
    outcome and value. A start that arrives while a
    run is still recorded (its end was missed) first ends that run unlabelled.
    """

    def __init__(self) -> None:
        self._pending: deque[RaidEvent] = deque()
        self.last_ended: RaidEvent | None = None
        """the most recent raid end (for the viewer's caption)"""
        self.current: RaidEvent | None = None
        """the most recent raid start"""

    def feed(self, events: Iterable[RaidEvent]) -> None:
        for e in events:
            if e.kind == "ended":
                self.last_ended = e
            elif e.kind == "started":
                self.current = e
            self._pending.append(e)

    def next_command(self, recording: bool, busy: bool) -> RunCommand | None:
        """The next thing to do, or None (nothing pending, or wait for `busy`)."""
        while self._pending and not busy:
            e = self._pending[0]
            if e.kind == "started":
                if recording:
                    return RunCommand("end", None, None, e.index)  # the end was missed
                self._pending.popleft()
                return RunCommand("start", raid=e.index)
            self._pending.popleft()
            if e.kind == "extracting":
                if recording:
                    return RunCommand("mark", raid=e.index)
                continue
            if recording:
                return RunCommand("end", e.outcome, e.value, e.index)
            # an end with no run (it started before the app was ready): nothing to end
        return None

    def requeue_start(self, command: RunCommand) -> None:
        """A start that the app could not do yet (still warming up): try it again later."""
        self._pending.appendleft(RaidEvent("started", command.raid, -1))
