"""Logging to a rotating file, and unhandled exceptions: logged, shown, survived.

`setup_logging` sends every record to `arcx.log` in the user log dir (rotated at 2 MB,
five old files kept) and, when there is one, to the console. `ExceptionReporter`
replaces `sys.excepthook` and `threading.excepthook`: an exception that nothing caught
is logged with its traceback and shown in a non-modal message box on the Qt main
thread (one box at a time), and the app keeps running. PyQt6 would otherwise abort the
process on an exception escaping a slot.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from PyQt6.QtCore import QObject, Qt, pyqtSignal, pyqtSlot
from PyQt6.QtWidgets import QMessageBox

from app.core import paths

log = logging.getLogger(__name__)

LOG_FILE = "arcx.log"
LOG_MAX_BYTES = 2 * 1024 * 1024
LOG_BACKUPS = 5
LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def setup_logging(log_dir: Path | None = None, *, level: int = logging.INFO) -> Path:
    """Root logger → rotating file in `log_dir` (default: the user log dir); returns its path."""
    folder = log_dir or paths.log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger()
    root.setLevel(level)
    for h in list(root.handlers):
        if isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path:
            return path  # already set up (a second call, or tests)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=True
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    consoles = [
        h for h in root.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]  # the CLI's own console handler (a subclass) counts: one line per record, not two
    if sys.stderr is not None and not consoles:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(console)
    return path


class ExceptionReporter(QObject):
    """Logs and shows unhandled exceptions (main thread and other threads).

    Signals:
        reported(str): one line about an exception that was logged (main thread).
    """

    reported = pyqtSignal(str)
    _show = pyqtSignal(str, str)

    def __init__(self, *, show_dialog: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.show_dialog = show_dialog
        self.box: QMessageBox | None = None
        self.count = 0
        self._previous: tuple[Any, Any] | None = None
        self._show.connect(self._on_show, Qt.ConnectionType.QueuedConnection)  # type: ignore[call-arg]

    def install(self) -> None:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def excepthook(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            if self._previous is not None:
                self._previous[0](kind, value, tb)
            return
        self._report(kind, value, tb, threading.current_thread().name)

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "?"
        self._report(args.exc_type, args.exc_value, args.exc_traceback, name)

    def _report(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None, where: str
    ) -> None:
        self.count += 1
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error("unhandled exception in %s:\n%s", where, text)
        self._show.emit(f"{kind.__name__}: {value}", text)

    @pyqtSlot(str, str)
    def _on_show(self, line: str, details: str) -> None:
        self.reported.emit(line)
        if not self.show_dialog:
            return
        if self.box is not None and self.box.isVisible():
            return  # one box at a time; everything is in the log anyway
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "ArcX hit an error",
            f"{line}\n\nArcX keeps running. The details are in the log:\n{paths.log_dir() / LOG_FILE}",
        )
        box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: setattr(self, "box", None))
        self.box = box
        box.open()
