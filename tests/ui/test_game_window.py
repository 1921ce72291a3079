"""The demo's game window: shows the captured sim frames, keeps runs going raid after raid."""

import numpy as np
import pytest
from PyQt6.QtCore import QObject, QRect, pyqtSignal
from PyQt6.QtWidgets import QWidget

from app.core.errors import ArcXError
from app.demo.sim.live import LiveRaids
from app.ui.game_window import DemoRuns, GameWindow, frame_image, overlay_corner

pytestmark = pytest.mark.gui


class FakeController(QObject):
    runEnded = pyqtSignal(object)

    def __init__(self, warm_after=0):
        super().__init__()
        self.recording = False
        self.ending = False
        self.calls = []
        self.labels = []
        self.refusals = warm_after
        self.n = 0

    def start_run(self):
        if self.refusals:
            self.refusals -= 1
            raise ArcXError("still getting ready")
        self.calls.append("start")
        self.recording = True

    def end_run(self, *, outcome=None, prompt=None):
        self.calls.append(("end", outcome))
        self.recording = False
        self.n += 1
        self.runEnded.emit(type("Info", (), {"run_id": f"run{self.n}"})())

    def mark_extract(self):
        self.calls.append("mark")

    def label_run(self, run_id, outcome, value):
        self.labels.append((run_id, outcome, value))


def test_frame_image_checks_its_input():
    img = frame_image(np.zeros((5, 8, 3), np.uint8))
    assert (img.width(), img.height()) == (8, 5)
    with pytest.raises(ValueError):
        frame_image(np.zeros((5, 8), np.uint8))
    with pytest.raises(ValueError):
        frame_image(np.zeros((5, 8, 3), np.float32))


def test_overlay_corner_is_inside_the_top_right():
    p = overlay_corner(QRect(100, 50, 960, 540), (200, 80), 12)
    assert (p.x(), p.y()) == (100 + 960 - 200 - 12, 62)


def test_shows_sim_frames_and_restarts_raids(qtbot):
    """The capture thread's grabs (here: direct calls) show up; raids restart, and each
    raid is one run, ended and labelled with the raid's outcome."""
    live = LiveRaids(seed=7)
    live.open()
    controller = FakeController(warm_after=1)  # the first start is refused (warming up)
    overlay = QWidget()
    overlay.resize(120, 40)
    window = GameWindow(live, DemoRuns(controller), overlay, poll_ms=10_000)
    qtbot.addWidget(window)
    qtbot.addWidget(overlay)
    window.show()
    overlay.show()

    first = live.grab()
    with qtbot.waitSignals([window.raidStarted, window.frameShown], order="strict"):
        window.poll()
    assert controller.calls == []  # refused: kept for the next poll
    window.poll()
    assert controller.calls == ["start"]
    shown = window.grab().toImage()
    assert shown.width() == window.width()
    centre = shown.pixelColor(window.width() // 2, (window.height() - 28) // 2)
    assert (centre.red(), centre.green(), centre.blue()) != (12, 12, 14)  # the frame, not bg
    assert window._image is not None and window._image.width() == first.shape[1]

    ends = []
    window.raidEnded.connect(lambda i, outcome, value: ends.append((i, outcome, value)))
    while not ends:  # play the raid through, as the capture thread would
        for _ in range(50):
            live.grab()
        window.poll()
    i, outcome, value = ends[0]
    assert i == 0 and outcome in ("extracted", "died")
    # the autopilot's walk out is marked as F9 would (it may die walking out)
    marked = ["mark"] if "mark" in controller.calls else []
    assert outcome != "extracted" or marked
    assert controller.calls == ["start", *marked, ("end", None), "start"]  # next raid, next run
    assert controller.labels == [("run1", outcome, value)]
    assert "Raid 2 (seed 8)" in window.caption() and outcome in window.caption()
    g = window.geometry()
    assert overlay.pos() == overlay_corner(g, (120, 40), 12)


def test_closing_the_game_window_says_so(qtbot):
    """`app.ui.demo.start_gui` connects this to the app's Quit: closing the game window
    ends the demo instead of leaving the overlay advising on a hidden raid."""
    live = LiveRaids(seed=7)
    window = GameWindow(live, None, None, poll_ms=10_000)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.closed):
        window.close()
    assert not window._timer.isActive()


def test_closing_the_demo_game_window_quits_the_app(qtbot, monkeypatch):
    import uuid

    from app.ui import demo
    from app.ui.hotkeys import FakeHotkeyBackend
    from app.ui.parts import Parts
    from app.ui.tray import TrayIcon
    from tests.ui.test_app import FakeEngine, NoModels

    monkeypatch.setattr(TrayIcon, "notify", lambda self, title, msg: None)
    shutdowns = []

    def factory(settings, report, bridge):
        return Parts(FakeEngine(), NoModels(), bridge, "enc-x", shutdown=lambda: shutdowns.append(1))

    running = demo.start_gui(
        engine_factory=factory, hotkey_backend=FakeHotkeyBackend(), use_pystray=False,
        instance_key=f"arcx-test-{uuid.uuid4().hex[:8]}", show_dialogs=False,
    )
    assert running is not None
    app, window = running
    qtbot.addWidget(window)
    try:
        assert app.controller.welcome is None  # the demo explains itself
        with qtbot.waitSignal(app.controller.quitRequested):
            window.close()
        assert shutdowns == [1]  # Quit's clean-up ran: engine stopped
    finally:
        app.clean_up()
