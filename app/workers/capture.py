"""CaptureWorker: the engine's capture loop on a QThread.

Thin by design: `run()` warms the engine up (when nobody did), opens the source on this
thread and calls `Engine.run_capture`, which paces itself and waits on a
`threading.Event`. `request_stop()` sets that event, so the loop ends within one frame
period; the source is closed on the way out. Any exception becomes `errored`, then
`finished` follows as always: the thread never dies silently.
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, pyqtSignal

from app.core.engine import Engine, FrameResult, Notice
from app.workers.base import StoppableWorker, describe_error

log = logging.getLogger(__name__)


class CaptureWorker(StoppableWorker):
    """Runs `Engine.run_capture` until `request_stop()`.

    Signals:
        started(): inherited from QThread; the thread began (warm-up comes next).
        warming(str): a warm-up step, in words (device, encoder path self-check, …).
        progress(FrameResult): every capture step.
        notice(Notice): from the engine (capture problem and recovery, dxcam →
            mss fallback, FPS lowered, model loaded), from whichever thread raised it.
        errored(str): the loop stopped on an error (capture lost, bad source, …).
        finished(): inherited from QThread; the loop ended and the source is closed.
    """

    warming = pyqtSignal(str)
    progress = pyqtSignal(FrameResult)
    notice = pyqtSignal(Notice)

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine

    def _on_frame(self, result: FrameResult) -> None:
        self.progress.emit(result)

    def _on_notice(self, notice: Notice) -> None:
        self.notice.emit(notice)

    def run(self) -> None:
        self.engine.subscribe(on_notice=self._on_notice)
        try:
            if not self.engine.is_warm:
                self.engine.warm_up(progress=self.warming.emit)
            if not self._stop.is_set():
                self.engine.run_capture(self._stop, on_frame=self._on_frame)
        except BaseException as exc:  # the worker reports, it never dies silently
            log.exception("capture loop failed")
            self.errored.emit(describe_error(exc))
        finally:
            self.engine.unsubscribe(on_notice=self._on_notice)
