# ruff: noqa: F811  (the ctx fixture is imported from test_controller)
"""Issue 15, first run: the welcome, empty states that say what to do, and naming the
X11 libraries Qt really misses."""

from __future__ import annotations

import pytest

from app.core.config import load_settings
from app.ui import qtlibs
from app.ui.runs_view import EMPTY_TEXT, RunsView, summary_text
from tests.coretypes import run_info
from tests.ui.test_controller import ctx  # noqa: F401 (the fixture)

pytestmark = pytest.mark.gui


def test_the_welcome_lets_the_player_try_the_hotkeys_without_starting_a_run(qtbot, ctx):
    welcome = ctx.c.show_welcome()
    assert welcome.isVisible()
    assert load_settings(ctx.settings_path).settings.welcomed  # shown once
    text = welcome.findChildren(type(welcome.train_text))
    words = " ".join(label.text() for label in text)
    assert "F8" in words and "F9" in words and "30 raids" in words and "Train model" in words
    ctx.backend.press("f8")
    qtbot.waitUntil(lambda: "start_stop" in welcome.pressed)
    assert not ctx.c.recording and ctx.engine.calls == []
    assert "✓" in welcome.key_labels["start_stop"].text()
    welcome.capture_button.click()
    assert ctx.c.settings_dialog is not None and ctx.c.settings_dialog.tabs.currentIndex() == 0
    welcome.accept()
    qtbot.waitUntil(lambda: ctx.c.welcome is None)
    ctx.c.hotkeys._last.clear()
    ctx.backend.press("f8")  # after the welcome, F8 starts a run again
    qtbot.waitUntil(lambda: ctx.c.recording)


def test_the_runs_view_says_what_to_do_when_empty(qtbot, ctx):
    view = RunsView(ctx.c.run_store)
    qtbot.addWidget(view)
    assert view.summary.text() == EMPTY_TEXT and "F8" in EMPTY_TEXT
    assert "Label" in summary_text([run_info(outcome=None)])
    assert "1 labelled, 0 unlabelled" in summary_text([run_info(outcome="died")])


def test_missing_x11_libraries_are_named_with_their_packages():
    present = {"libxcb-cursor.so.0"}
    missing = qtlibs.missing_xcb_libraries(
        lambda so: so in present or so not in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    )
    assert missing == {"libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1"}
    message = qtlibs.missing_message(missing)
    assert "apt-get install libxcb-icccm4 libxcb-keysyms1" in message
    assert "libxcb-cursor" not in message
    assert qtlibs.missing_xcb_libraries(lambda so: True) == {}


def test_the_check_runs_only_where_qt_would_load_xcb():
    assert qtlibs.uses_xcb({"DISPLAY": ":0"}, "linux")
    assert not qtlibs.uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert qtlibs.uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not qtlibs.uses_xcb({"DISPLAY": ":0"}, "win32")
    assert not qtlibs.uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
