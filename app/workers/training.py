"""TrainingWorker: the core `Trainer`, in a child process, watched from a QThread.

Thin by design: `run()` calls `train_in_child` (app/core/training/child.py), whose
`on_step` / `on_epoch_end` callbacks emit signals, and turns an exception into `errored`.
Training runs in a spawned process, so its threads and memory never touch the live
engine's, and a crash in it (a segfault, the process killed) is an `errored` line, not
the app's end. `request_stop()` sets the cancel token (a `threading.Event`), which is
forwarded to the child's trainer, which checks it after every step; a cancelled fit
writes nothing and still sends its `result` (`stopped == "cancelled"`).
Step progress is throttled to `PROGRESS_INTERVAL_S` so a fast trainer cannot flood the
GUI thread; the last step before an epoch ends is always sent.

The device is the app's: the worker passes the one the app detected at start-up (from the
player's device setting) to the trainer, which then does not decide again.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QObject, pyqtSignal

from app.core.training.child import train_in_child
from app.core.training.types import TrainConfig, TrainProgress, TrainResult
from app.workers.base import StoppableWorker, describe_error

if TYPE_CHECKING:
    import torch

    from app.core.data.dataset import DecisionDataset  # imports polars; only the type is named here

log = logging.getLogger(__name__)

# At most one step-progress signal per this many seconds (epoch ends always go out).
PROGRESS_INTERVAL_S = 0.05


class TrainingWorker(StoppableWorker):
    """Runs `Trainer.fit(data, out_path)` until it ends or `request_stop()`.

    Signals:
        started(): inherited from QThread; training began (data loading comes next).
        progress(TrainProgress): after optimiser steps (throttled) and after each epoch.
        epochEnded(TrainProgress): after each epoch's validation (also sent as progress).
        result(TrainResult): the fit's result (also when cancelled: `stopped == "cancelled"`).
        errored(str): training failed; the reason in words. `result` does not follow.
        finished(): inherited from QThread; always last.
    """

    progress = pyqtSignal(TrainProgress)
    epochEnded = pyqtSignal(TrainProgress)
    result = pyqtSignal(TrainResult)

    def __init__(
        self,
        config: TrainConfig,
        data: Path | DecisionDataset,
        out_path: Path | None = None,
        *,
        device: torch.device | str | None = None,
        judge: bool = True,
        parent: QObject | None = None,
    ) -> None:
        """data: a runs folder or a `DecisionDataset`; out_path: where the model goes
        (default: the trainer's, the user's models folder); device: where to train (the
        app's device, a torch.device or, from a lean start, "cpu"; None: the trainer decides
        from `config.device`); judge: score the new model on the held-out runs in the
        training process (`TrainResult.verdict`), so this process never loads torch for it."""
        super().__init__(parent)
        self.config = config
        self.data = data
        self.out_path = out_path
        self.device = device
        self.judge = judge
        self._last_emit = 0.0
        self.child_pid: int | None = None
        """the training process's id once it started (for the footprint benchmark)"""

    def _on_step(self, p: TrainProgress) -> None:
        now = time.monotonic()
        if now - self._last_emit >= PROGRESS_INTERVAL_S or p.step >= p.total_steps:
            self._last_emit = now
            self.progress.emit(p)

    def _on_epoch_end(self, p: TrainProgress) -> None:
        self._last_emit = time.monotonic()
        self.progress.emit(p)
        self.epochEnded.emit(p)

    def _on_started(self, pid: int) -> None:
        self.child_pid = pid

    def run(self) -> None:
        try:
            result = train_in_child(
                self.config,
                self.data,
                self.out_path,
                device=str(self.device) if self.device is not None else None,
                on_step=self._on_step,
                on_epoch_end=self._on_epoch_end,
                cancel=self._stop,
                on_started=self._on_started,
                judge=self.judge,
            )
        except BaseException as exc:  # the worker reports, it never dies silently
            log.exception("training failed")
            self.errored.emit(describe_error(exc))
            return
        log.info("training ended: %s on %s", result.stopped, result.device)
        self.result.emit(result)
