"""InferenceWorker: the engine's inference loop on a QThread.

`run()` waits (on the stop event) until the engine is warm — the capture worker warms it
up — then calls `Engine.run_inference`, one tick every `interval_s`, each sent as `progress`. `request_stop()`
ends it within one tick. Exceptions become `errored`; `finished` always follows.
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, pyqtSignal

from app.core.engine import Engine, EVTick
from app.workers.base import StoppableWorker, describe_error

log = logging.getLogger(__name__)

# How often the worker looks whether the engine has finished warming up.
_WARM_POLL_S = 0.1


class InferenceWorker(StoppableWorker):
    """Runs `Engine.run_inference` until `request_stop()`.

    Signals:
        started(): inherited from QThread; the thread began.
        progress(EVTick): every inference interval (its `ev` is None when there is no
            honest estimate; `reason` says why).
        errored(str): the loop stopped on an error.
        finished(): inherited from QThread; the loop ended.
    """

    progress = pyqtSignal(EVTick)

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine

    def _on_tick(self, tick: EVTick) -> None:
        self.progress.emit(tick)

    def run(self) -> None:
        try:
            while not self.engine.is_warm:
                if self._stop.wait(_WARM_POLL_S):
                    return
            self.engine.run_inference(self._stop, on_tick=self._on_tick)
        except BaseException as exc:  # the worker reports, it never dies silently
            log.exception("inference loop failed")
            self.errored.emit(describe_error(exc))
