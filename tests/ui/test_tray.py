"""The tray menu model and both renderers (Qt, pystray through its dummy backend)."""

import os
import types

import pytest

from app.ui.actions import Action
from app.ui.icons import TrayState
from app.ui.tray import TrayIcon, TrayStatus, build_menu, iter_entries, tooltip, tray_state

pytestmark = pytest.mark.gui

KEYS = {"start_stop": "f8", "mark_extract": "f9", "cycle_risk": "f10", "toggle_overlay": "f11"}


def entry(entries, id_):
    return next(e for e in iter_entries(entries) if e.id == id_)


def test_menu_has_every_item_of_the_issue():
    entries = build_menu(TrayStatus(hotkeys=KEYS))
    texts = [e.text for e in iter_entries(entries) if not e.separator]
    assert texts == [
        "Start run",
        "Mark extracting",
        "End run",
        "Extracted…",
        "Died",
        "Risk",
        "Safe",
        "Neutral",
        "Aggressive",
        "Show overlay",
        "Settings…",
        "Train model…",
        "Runs…",
        "Open data folder",
        "What do these numbers mean?",
        "About ArcX",
        "Quit",
    ]
    assert entry(entries, Action.START_RUN).shortcut == "F8"


def test_run_items_follow_the_recording_state():
    idle = build_menu(TrayStatus())
    assert entry(idle, Action.START_RUN).enabled
    assert not entry(idle, Action.MARK_EXTRACT).enabled
    assert not next(e for e in idle if e.text == "End run").enabled
    rec = build_menu(TrayStatus(recording=True))
    assert not entry(rec, Action.START_RUN).enabled
    assert entry(rec, Action.MARK_EXTRACT).enabled
    assert next(e for e in rec if e.text == "End run").enabled
    marked = build_menu(TrayStatus(recording=True, extract_marked=True))
    assert entry(marked, Action.MARK_EXTRACT).checked and not entry(marked, Action.MARK_EXTRACT).enabled


def test_risk_is_a_checked_radio_group():
    entries = build_menu(TrayStatus(risk="aggressive"))
    checked = [e.id for e in iter_entries(entries) if e.radio and e.checked]
    assert checked == [Action.risk("aggressive")]


def test_hotkey_failure_shows_in_menu_and_tooltip():
    status = TrayStatus(hotkeys=KEYS, hotkeys_error="no permission")
    entries = build_menu(status)
    assert any("Hotkeys off" in e.text and not e.enabled for e in entries)
    assert entry(entries, Action.START_RUN).shortcut == ""  # no shortcut shown that does not work
    assert "hotkeys off" in tooltip(status)


def test_icon_state_and_tooltip():
    assert tray_state(TrayStatus()) is TrayState.NO_MODEL
    assert tray_state(TrayStatus(has_model=True)) is TrayState.IDLE
    assert tray_state(TrayStatus(recording=True)) is TrayState.RECORDING
    tip = tooltip(TrayStatus(device="cpu: AMD EPYC", risk="safe"))
    assert "cpu: AMD EPYC" in tip and "safe" in tip and len(tip) <= 127


def test_qt_tray_actions_emit_ids(qtbot):
    tray = TrayIcon(use_pystray=False)
    tray.update_status(TrayStatus(hotkeys=KEYS))
    actions = tray.backend.actions
    assert actions[Action.START_RUN].text() == "Start run\tF8"
    with qtbot.waitSignal(tray.triggered) as blocker:
        actions[Action.START_RUN].trigger()
    assert blocker.args == [Action.START_RUN]
    with qtbot.waitSignal(tray.triggered) as blocker:
        actions[Action.risk("safe")].trigger()
    assert blocker.args == [Action.risk("safe")]


def test_qt_tray_updates_in_place(qtbot):
    tray = TrayIcon(use_pystray=False)
    before = tray.backend.actions[Action.START_RUN]
    tray.update_status(TrayStatus(recording=True, risk="safe"))
    assert tray.backend.actions[Action.START_RUN] is before
    assert not before.isEnabled()
    assert tray.backend.actions[Action.risk("safe")].isChecked()
    assert not tray.backend.actions[Action.risk("neutral")].isChecked()
    assert "recording" in tray.backend.icon.toolTip()


class FakePystrayIcon:
    def __init__(self, name, title=None):
        self.name, self.title = name, title
        self.menu = self.icon = None
        self.notified: list[tuple[str, str]] = []
        self.stopped = False

    def run(self):
        pass

    def stop(self):
        self.stopped = True

    def update_menu(self):
        pass

    def notify(self, message, title=None):
        self.notified.append((title, message))


@pytest.fixture
def pystray_fake(monkeypatch):
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")  # pure-Python Menu/MenuItem, no display
    import pystray

    assert os.environ["PYSTRAY_BACKEND"] == "dummy"
    return types.SimpleNamespace(Icon=FakePystrayIcon, Menu=pystray.Menu, MenuItem=pystray.MenuItem)


def _find(menu, text):
    for item in menu.items:
        if item.text.startswith(text):
            return item
        sub = getattr(item, "submenu", None)
        if sub:
            found = _find(sub, text)
            if found is not None:
                return found
    return None


def test_pystray_fallback_has_the_same_menu_and_marshals_clicks(qtbot, pystray_fake):
    tray = TrayIcon(use_pystray=True, pystray_module=pystray_fake)
    assert tray.uses_pystray
    tray.update_status(TrayStatus(hotkeys=KEYS, risk="safe", recording=True))
    menu = tray.backend.icon.menu
    top = [i.text for i in menu.items]
    assert top[:3] == ["Start run (F8)", "Mark extracting (F9)", "End run"]
    assert _find(menu, "Safe").checked and not _find(menu, "Neutral").checked
    assert not _find(menu, "Start run").enabled
    assert tray.backend.icon.icon.size == (64, 64)  # PIL image made from the QIcon
    with qtbot.waitSignal(tray.triggered) as blocker:
        _find(menu, "Died")(tray.backend.icon)  # what pystray does on a click, on its thread
    assert blocker.args == [Action.END_DIED]
    tray.notify("ArcX", "hello")
    assert tray.backend.icon.notified == [("ArcX", "hello")]
    tray.show()
    tray.hide()
    assert tray.backend.icon.stopped


def test_pystray_failures_do_not_break_the_app(qtbot, pystray_fake):
    class NoTrayIcon(FakePystrayIcon):
        """Like pystray's xorg backend without a tray: setting the title fails."""

        def __setattr__(self, name, value):
            if (
                name == "title"
                and value is not None
                and "ArcX" in str(value)
                and getattr(self, "broken", False)
            ):
                raise AssertionError("no system tray manager")
            if name == "title" and value is not None:
                str(value).encode("latin-1")  # X11 titles are Latin-1
            object.__setattr__(self, name, value)

    module = types.SimpleNamespace(
        Icon=NoTrayIcon, Menu=pystray_fake.Menu, MenuItem=pystray_fake.MenuItem
    )
    tray = TrayIcon(use_pystray=True, pystray_module=module)
    tray.update_status(TrayStatus(device="cpu: AMD EPYC — 2 cores"))  # an em dash: made Latin-1
    assert "-" in tray.backend.icon.title
    tray.backend.icon.broken = True
    tray.update_status(TrayStatus(recording=True))  # logged, not raised


def test_no_tray_at_all_logs_and_keeps_running(qtbot, caplog):
    """Xvfb: Qt sees no tray and pystray cannot start: nothing shows, nothing raises."""

    class BrokenIcon:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("Bad display name")

    module = types.SimpleNamespace(Icon=BrokenIcon, Menu=None, MenuItem=None)
    with caplog.at_level("WARNING", logger="app.ui.tray"):
        tray = TrayIcon(use_pystray=True, pystray_module=module)
    assert not tray.available and not tray.uses_pystray
    assert any("no system tray" in r.getMessage() for r in caplog.records)
    tray.update_status(TrayStatus(recording=True))
    tray.show()
    tray.notify("ArcX", "still here")
    tray.hide()
    with qtbot.waitSignal(tray.triggered, timeout=1000) as got:  # actions still flow
        tray._fired.emit(Action.START_RUN)
    assert got.args == [Action.START_RUN]


def test_pystray_run_failing_on_its_thread_is_logged(qtbot, pystray_fake, caplog):
    class DiesOnRun(pystray_fake.Icon):
        def run(self, *args, **kwargs):
            raise RuntimeError("no tray manager")

    module = types.SimpleNamespace(
        Icon=DiesOnRun, Menu=pystray_fake.Menu, MenuItem=pystray_fake.MenuItem
    )
    tray = TrayIcon(use_pystray=True, pystray_module=module)
    with caplog.at_level("WARNING", logger="app.ui.tray"):
        tray.show()
        tray.backend.thread.join(2)
    assert not tray.backend.thread.is_alive()
    assert any("no tray icon" in r.getMessage() for r in caplog.records)


def test_x11_display_without_tray_manager_means_no_tray(qtbot, pystray_fake):
    class XorgWithoutManager(pystray_fake.Icon):
        def _get_systray_manager(self):
            return None  # what pystray's xorg backend answers under a bare Xvfb

    module = types.SimpleNamespace(
        Icon=XorgWithoutManager, Menu=pystray_fake.Menu, MenuItem=pystray_fake.MenuItem
    )
    tray = TrayIcon(use_pystray=True, pystray_module=module)
    assert not tray.available
