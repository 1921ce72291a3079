"""Child process for test_dialogs_xvfb.py: the real app controller on a real X server.

Steps, each announced on stdout and continued when the parent writes a line to stdin:
RUN (a run started: the overlay is mapped), RUNS (the Runs window is open: the overlay must
be gone), ABOUT (the About box is open, after a garbage collection), DONE.
"""

import gc
import sys
import tempfile
import time
from pathlib import Path

from PyQt6.QtWidgets import QApplication

from app.core.config import Settings
from app.ui.controller import AppController
from app.ui.hotkeys import FakeHotkeyBackend, HotkeyManager
from app.ui.overlay import OverlayWindow
from app.ui.runs_view import CoreRunStore
from app.ui.tray import TrayIcon
from app.workers.bridge import EngineBridge
from tests.ui.test_controller import FakeEngine, FakeModels


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def step(app: QApplication, name: str) -> None:
    pump(app, 0.5)
    print(name, flush=True)
    sys.stdin.readline()


def main() -> int:
    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    root = Path(tempfile.mkdtemp(prefix="arcx-dialogs-")) / "runs"
    overlay = OverlayWindow()
    c = AppController(
        Settings(),
        engine=FakeEngine(root),
        run_store=CoreRunStore(root),
        tray=TrayIcon(use_pystray=False),
        hotkeys=HotkeyManager(FakeHotkeyBackend()),
        overlay=overlay,
        models=FakeModels(),
        bridge=EngineBridge(),
        settings_path=root.parent / "settings.json",
    )
    c.start_run()
    step(app, "RUN")
    c.show_runs()
    step(app, "RUNS")
    c.runs_view.close()
    c.show_about()
    gc.collect()
    step(app, "ABOUT")
    c.about_box.close()
    pump(app, 0.5)
    print("OVERLAY-BACK" if overlay.isVisible() else "OVERLAY-MISSING", flush=True)
    c.end_run(outcome="died")
    pump(app, 1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
