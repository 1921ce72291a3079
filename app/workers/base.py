"""What every ArcX worker shares: a stop flag, `request_stop()`, and `errored`.

A worker is a `QThread` whose `run()` calls core and waits on `self._stop` (a
`threading.Event`); `request_stop()` only sets that event, never blocks and never
terminates the thread. Exceptions are turned into `errored(str)` by the subclass's `run()`
with `describe_error`, so a worker never dies silently.
"""

from __future__ import annotations

import threading

from PyQt6.QtCore import QObject, QThread, pyqtSignal

from app.core.errors import ArcXError


def describe_error(exc: BaseException) -> str:
    """One line for the player: ArcX errors are already sentences."""
    if isinstance(exc, ArcXError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class StoppableWorker(QThread):
    """Base of the workers.

    Signals:
        errored(str): the work stopped on an error; the reason in words.
    """

    errored = pyqtSignal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask the loop to end; it does at its next check. Never blocks."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()
