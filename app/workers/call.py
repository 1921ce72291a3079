"""OneShotWorker: one slow core call (ending a run compacts its files) on a QThread.

`call_off_thread(fn, on_result, on_error)` runs `fn()` once on a short-lived worker and
delivers its return value (`result`) or its failure (`errored`, in words; the traceback
goes to the log) on the main thread. The worker is parented to the application, so Qt
keeps it alive until it has finished, and it deletes itself afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import QApplication

from app.workers.base import StoppableWorker, describe_error

log = logging.getLogger(__name__)


class OneShotWorker(StoppableWorker):
    """Runs `fn()` once.

    Signals:
        started(): inherited from QThread; the call began.
        result(object): what `fn` returned.
        errored(str): `fn` raised; the reason in words. `result` does not follow.
        finished(): inherited from QThread; always last.
    """

    result = pyqtSignal(object)

    def __init__(
        self, fn: Callable[[], Any], *, name: str = "arcx-call", parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.fn = fn
        self.setObjectName(name)

    def run(self) -> None:
        try:
            value = self.fn()
        except BaseException as exc:  # reported on the main thread, never lost
            log.error("%s failed", self.objectName(), exc_info=exc)
            self.errored.emit(describe_error(exc))
        else:
            self.result.emit(value)


def call_off_thread(
    fn: Callable[[], Any],
    on_result: Callable[[Any], None],
    on_error: Callable[[str], None],
    *,
    name: str = "arcx-call",
) -> OneShotWorker:
    """Run `fn` on a short-lived worker; `on_result` / `on_error` run on the main thread."""
    worker = OneShotWorker(fn, name=name, parent=QApplication.instance())
    queued = Qt.ConnectionType.QueuedConnection
    worker.result.connect(on_result, queued)  # type: ignore[call-arg]
    worker.errored.connect(on_error, queued)  # type: ignore[call-arg]
    worker.finished.connect(worker.deleteLater)
    worker.start()
    return worker
