"""EngineRunner: owns the engine's worker threads; starts them, restarts capture, stops them.

The capture worker warms the engine up (the first time this builds the fast encoder for
the machine) and runs the capture loop; the inference worker ticks once it is warm. Both
feed an `EngineBridge`. A capture loop that stops on an error is started again after
`CAPTURE_RETRY_MS`, so the app keeps running and the overlay says "capture lost".
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, QTimer

from app.core.engine import Engine
from app.workers.bridge import EngineBridge
from app.workers.capture import CaptureWorker
from app.workers.inference import InferenceWorker

log = logging.getLogger(__name__)

# A capture loop that died is started again after this long.
CAPTURE_RETRY_MS = 5000
# Longest wait for a worker thread at shutdown.
STOP_WAIT_MS = 5000


class EngineRunner(QObject):
    """The capture and inference workers of one engine, feeding `bridge`."""

    def __init__(self, engine: Engine, bridge: EngineBridge) -> None:
        super().__init__()
        self.engine = engine
        self.bridge = bridge
        self.stopping = False
        self.capture: CaptureWorker | None = None
        self.inference = InferenceWorker(engine)
        self.inference.progress.connect(bridge.on_tick)
        self.inference.errored.connect(bridge.on_error)

    def start(self) -> None:
        self._start_capture()
        self.inference.start()

    def _start_capture(self) -> None:
        worker = CaptureWorker(self.engine)
        worker.warming.connect(self.bridge.on_warming)
        worker.notice.connect(self.bridge.on_notice)
        worker.errored.connect(self._on_capture_error)
        self.capture = worker
        worker.start()

    def _on_capture_error(self, message: str) -> None:
        self.bridge.on_error(message)
        if not self.stopping:
            log.info("capture stopped (%s); retrying in %d ms", message, CAPTURE_RETRY_MS)
            QTimer.singleShot(CAPTURE_RETRY_MS, self._restart_capture)

    def _restart_capture(self) -> None:
        if self.stopping:
            return
        old = self.capture
        if old is not None:
            old.wait(STOP_WAIT_MS)
        self._start_capture()

    def stop(self) -> None:
        """Ask both loops to end and wait for them (at most `STOP_WAIT_MS` each)."""
        self.stopping = True
        for w in (self.capture, self.inference):
            if w is not None:
                w.request_stop()
        for w in (self.capture, self.inference):
            if w is not None and not w.wait(STOP_WAIT_MS):
                log.warning("%s did not stop in time", type(w).__name__)
