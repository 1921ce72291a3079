"""Is the capture healthy? Black, frozen or missing frames for too long are a problem.

A short black screen (a loading screen, a death cam fading) or a few identical frames
(a paused menu) are normal and are fed to the model. Past `black_after_s`,
`frozen_after_s` or `stalled_after_s` they are a capture problem: the engine reports it
once, stops feeding those frames to the ring and the recorder, and reports again when
real frames are back.

    black    the newest frame is (near) black: every pixel ≤ `black_max`
    frozen   the frame has not changed (pixel-identical after preprocessing)
    stalled  the source has returned no frame at all (None) for that long

Times are whatever clock the caller uses (seconds); nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.core.capture.base import Frame

Problem = Literal["black", "frozen", "stalled"]

# A frame whose brightest channel value is at most this is "black" (sensor-free screens
# are exactly 0; a little slack for dithering and compression).
DEFAULT_BLACK_MAX = 24
DEFAULT_AFTER_S = 5.0


@dataclass(frozen=True)
class HealthVerdict:
    """What `FrameHealth` says about one frame (or one missing frame)."""

    problem: Problem | None
    """the capture problem in force after this frame, None when healthy"""
    feed: bool
    """whether this frame may go to the model and the recorder"""
    changed: bool
    """True when `problem` differs from the previous verdict's (report it)"""
    since: float | None
    """when the current streak of black/frozen/missing frames began"""

    def describe(self) -> str:
        """A sentence for the player."""
        if self.problem is None:
            return "capture is back to normal"
        if self.problem == "black":
            return "the captured screen has been black for several seconds (wrong monitor or region, or a protected window?)"
        if self.problem == "frozen":
            return "the captured screen has not changed for several seconds (game minimised or capture stuck?)"
        return "no frames have arrived from the screen for several seconds"


def is_black(frame: Frame, black_max: int = DEFAULT_BLACK_MAX) -> bool:
    """Every channel of every pixel ≤ black_max."""
    return int(np.max(frame)) <= black_max


class FrameHealth:
    """Track streaks of black, frozen and missing frames. Use from one thread."""

    def __init__(
        self,
        *,
        black_after_s: float = DEFAULT_AFTER_S,
        frozen_after_s: float = DEFAULT_AFTER_S,
        stalled_after_s: float = DEFAULT_AFTER_S,
        black_max: int = DEFAULT_BLACK_MAX,
    ) -> None:
        self.black_after_s = black_after_s
        self.frozen_after_s = frozen_after_s
        self.stalled_after_s = stalled_after_s
        self.black_max = black_max
        self.reset()

    def reset(self) -> None:
        self._black_since: float | None = None
        self._frozen_since: float | None = None
        self._missing_since: float | None = None
        self._problem: Problem | None = None

    @property
    def problem(self) -> Problem | None:
        return self._problem

    def _verdict(self, problem: Problem | None, since: float | None) -> HealthVerdict:
        changed = problem != self._problem
        self._problem = problem
        return HealthVerdict(problem, problem is None, changed, since)

    def frame(self, frame: Frame, t: float, *, identical: bool) -> HealthVerdict:
        """A frame arrived at time t; `identical`: equal to the previous frame."""
        self._missing_since = None
        if is_black(frame, self.black_max):
            if self._black_since is None:
                self._black_since = t
        else:
            self._black_since = None
        if identical:
            if self._frozen_since is None:
                self._frozen_since = t
        else:
            self._frozen_since = None
        if self._black_since is not None and t - self._black_since >= self.black_after_s:
            return self._verdict("black", self._black_since)
        if self._frozen_since is not None and t - self._frozen_since >= self.frozen_after_s:
            return self._verdict("frozen", self._frozen_since)
        return self._verdict(None, None)

    def missing(self, t: float) -> HealthVerdict:
        """The source had no frame at time t."""
        if self._missing_since is None:
            self._missing_since = t
        if t - self._missing_since >= self.stalled_after_s:
            return self._verdict("stalled", self._missing_since)
        # Keep an earlier black/frozen problem in force until a real frame clears it.
        return HealthVerdict(self._problem, False, False, self._missing_since)
