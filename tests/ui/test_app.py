"""Start-up of the desktop app with a fake engine: device in the tray, settings repair
message, single instance hand-over, quit."""

import logging
import uuid

import pytest
from PyQt6.QtWidgets import QApplication

from app.core import paths
from app.core.config import Settings
from app.ui import app as ui_app
from app.ui.actions import Action
from app.ui.hotkeys import FakeHotkeyBackend
from app.ui.parts import Parts
from app.ui.tray import TrayIcon
from app.workers.bridge import EngineBridge

pytestmark = pytest.mark.gui


class FakeEngine:
    is_warm = True

    def __init__(self):
        self.calls = []

    def start_run(self):
        self.calls.append("start_run")

    def mark_extract(self, ago_s=0.0):
        self.calls.append("mark_extract")

    def end_run(self, outcome, loot=None):
        self.calls.append(("end_run", outcome, loot))

    def set_risk(self, risk):
        self.calls.append(("set_risk", risk))


class NoModels:
    has_model = False
    can_roll_back = False

    def describe(self):
        return ""

    def swap_in(self, result):
        raise AssertionError

    def roll_back(self):
        raise AssertionError


@pytest.fixture
def started(qtbot, monkeypatch):
    root = logging.getLogger()
    handlers = list(root.handlers)
    notes = []
    monkeypatch.setattr(TrayIcon, "notify", lambda self, title, msg: notes.append((title, msg)))
    engines = []
    shutdowns = []
    masks = []

    def factory(settings, report, bridge):
        assert isinstance(settings, Settings) and isinstance(bridge, EngineBridge)
        engine = FakeEngine()
        engines.append(engine)
        return Parts(
            engine,
            NoModels(),
            bridge,
            "enc-x",
            shutdown=lambda: shutdowns.append(1),
            set_overlay_rect=masks.append,
        )

    key = f"arcx-test-{uuid.uuid4().hex[:8]}"

    def go():
        return ui_app.start(
            [],
            engine_factory=factory,
            hotkey_backend=FakeHotkeyBackend(),
            use_pystray=False,
            instance_key=key,
            show_dialogs=False,
        )

    running = []

    def start():
        r = go()
        if r is not None:
            running.append(r)
        return r

    start.masks = masks
    yield start, notes, engines, shutdowns
    for r in running:
        r.app.aboutToQuit.disconnect(r.clean_up)
        r.reporter.uninstall()
        r.resume.stop()
        r.instance.release()
        r.tray.hide()
    for w in QApplication.topLevelWidgets():
        w.close()
    for h in root.handlers:
        if h not in handlers:
            root.removeHandler(h)
            h.close()


def test_device_in_tooltip_and_notification(started):
    start, notes, engines, _ = started
    r = start()
    assert r is not None
    dev = ui_app.device_text(r.device)
    assert dev.startswith(r.device.kind)
    assert dev in r.tray.backend.icon.toolTip()
    assert notes[0][0] == "ArcX is running" and dev in notes[0][1]
    assert (paths.log_dir() / "arcx.log").parent.exists()


def test_corrupt_settings_are_replaced_with_a_message(started):
    start, notes, _, _ = started
    paths.settings_file().write_text("{ broken", encoding="utf-8")
    r = start()
    assert r.controller.settings == Settings()
    assert r.settings_message and "invalid" in r.settings_message
    assert any("invalid" in msg for _, msg in notes)
    assert list(paths.config_dir().glob("settings.bad-*.json"))


def test_second_launch_brings_the_first_ones_settings_forward(qtbot, started):
    start, _, _, _ = started
    first = start()
    assert first.controller.settings_dialog is None
    assert start() is None  # the second launch hands over and would exit
    qtbot.waitUntil(lambda: first.controller.settings_dialog is not None, timeout=5000)
    assert first.controller.settings_dialog.isVisible()


def test_quit_ends_an_active_run_unlabelled_and_shuts_down(qtbot, started):
    start, _, engines, shutdowns = started
    r = start()
    r.tray.backend.actions[Action.START_RUN].trigger()
    assert r.controller.recording
    r.tray.backend.actions[Action.QUIT].trigger()
    assert engines[0].calls == ["start_run", ("end_run", None, None)]
    assert shutdowns == [1]


def test_the_overlay_rectangle_goes_to_the_engine(qtbot, started):
    start, _, _, _ = started
    r = start()
    overlay = r.controller.overlay
    assert start.masks and start.masks[-1] == overlay.window_rect()
    overlay.show()  # a hidden window gets its move event when shown
    overlay.move(overlay.x() - 40, overlay.y() + 30)
    assert start.masks[-1] == overlay.window_rect()


def test_the_session_ending_cleans_up_once(qtbot, started):
    start, _, engines, shutdowns = started
    r = start()
    r.controller.handle(Action.START_RUN)
    r.app.aboutToQuit.emit()  # what Qt does when Windows ends the session
    r.app.aboutToQuit.emit()
    assert engines[0].calls == ["start_run", ("end_run", None, None)]
    assert shutdowns == [1]


def test_starts_without_any_tray(qtbot, started, monkeypatch):
    """Xvfb: no Qt tray and pystray cannot even import: the app starts and works."""
    import sys

    monkeypatch.setitem(sys.modules, "pystray", None)  # `import pystray` → ImportError
    start, _notes, engines, _ = started
    key = f"arcx-test-{uuid.uuid4().hex[:8]}"
    r = ui_app.start(
        [],
        engine_factory=lambda s, rep, b: Parts(FakeEngine(), NoModels(), b, "enc-x"),
        hotkey_backend=FakeHotkeyBackend(),
        use_pystray=True,
        instance_key=key,
        show_dialogs=False,
    )
    assert r is not None
    try:
        assert not r.tray.available
        r.controller.handle(Action.START_RUN)  # the menu's actions still work (hotkeys too)
        assert r.controller.recording
        assert r.controller.overlay.isVisible()
    finally:
        r.app.aboutToQuit.disconnect(r.clean_up)
        r.reporter.uninstall()
        r.resume.stop()
        r.instance.release()


def test_app_and_wiring_import_no_circle():
    """`app.ui.app` → `app.ui.wiring` → `app.ui.parts`; neither imports the app back."""
    import ast
    import inspect

    from app.ui import parts, wiring

    for module in (wiring, parts):
        tree = ast.parse(inspect.getsource(module))
        imported = {
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        }
        assert "app.ui.app" not in imported
    assert ui_app.default_engine_factory is wiring.build
