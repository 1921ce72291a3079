"""EngineBridge: engine events (EV ticks, notices, worker errors) → Qt signals for the UI.

The engine's workers deliver on the main thread (queued signals); the bridge also accepts
plain callbacks from any thread, since emitting a signal is thread-safe and the
connections to the controller are queued across threads. It only sorts events by kind:
what they mean to the player is the UI's business.
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, pyqtSignal

from app.core.capture.health import HealthVerdict, Problem
from app.core.engine import EVTick, Notice
from app.core.model.ev import EVEstimate

log = logging.getLogger(__name__)

# Notice kinds the bridge reports as a capture problem, a recovery, or a one-off message.
PROBLEM_NOTICES = frozenset({"capture_problem", "capture_lost"})
"""capture_lost → `errored` (capture really stopped); capture_problem → `captureProblem`"""
RECOVERED_NOTICES = frozenset({"capture_ok"})
INFO_NOTICES = frozenset({"capture_fallback", "fps_lowered"})


class EngineBridge(QObject):
    """Engine events → signals the controller handles.

    Signals:
        estimate(EVEstimate): the EV of an inference tick.
        noEstimate(str): a tick without an honest EV; the engine's reason ("no_model",
            "no_frames", "capture_black", …).
        errored(str): capture stopped for real (the source failed), in words.
        captureProblem(str, str): frames come but are black or unchanged, or none came
            for a while: the kind ("black", "frozen", "stalled", or "other" for a message
            the bridge does not know) and the engine's sentence.
        recovered(): frames flow again after a problem.
        info(str): something to tell the player once (dxcam → mss, FPS lowered).
        warming(str): a warm-up step, in words.
    """

    estimate = pyqtSignal(EVEstimate)
    noEstimate = pyqtSignal(str)
    errored = pyqtSignal(str)
    captureProblem = pyqtSignal(str, str)
    recovered = pyqtSignal()
    info = pyqtSignal(str)
    warming = pyqtSignal(str)

    def on_estimate(self, est: EVEstimate) -> None:
        self.estimate.emit(est)

    def on_tick(self, tick: EVTick) -> None:
        if tick.ev is not None:
            self.estimate.emit(tick.ev)
        else:
            self.noEstimate.emit(tick.reason or "")

    def on_notice(self, notice: Notice) -> None:
        kind, message = notice.kind, notice.message
        if kind == "capture_problem":
            self.captureProblem.emit(problem_kind(message), message)
        elif kind in PROBLEM_NOTICES:
            self.errored.emit(message)
        elif kind in RECOVERED_NOTICES:
            self.recovered.emit()
        elif kind in INFO_NOTICES:
            self.info.emit(message)
        else:
            log.info("engine: %s", message)

    def on_error(self, error: BaseException | str) -> None:
        self.errored.emit(str(error))

    def on_recovered(self) -> None:
        self.recovered.emit()

    def on_warming(self, message: str) -> None:
        self.warming.emit(message)


_PROBLEMS: tuple[Problem, ...] = ("black", "frozen", "stalled")


def problem_kind(message: str) -> str:
    """Which capture problem a capture_problem notice is about, from its sentence (the
    engine words it with `HealthVerdict.describe`); "other" for any other sentence."""
    for problem in _PROBLEMS:
        if HealthVerdict(problem, False, True, None).describe() == message:
            return problem
    return "other"
