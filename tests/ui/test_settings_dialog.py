"""Settings dialog: validation, persistence, hotkey capture, region picker."""

import json

import pytest
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtWidgets import QDialogButtonBox

from app.core import paths
from app.core.config import Region, Settings, load_settings
from app.ui.hotkeys import normalise_hotkey
from app.ui.region_picker import RegionPicker
from app.ui.settings_dialog import SettingsDialog, display_hotkey, qt_key_name

pytestmark = pytest.mark.gui

KM = Qt.KeyboardModifier


@pytest.fixture
def dialog(qtbot, tmp_path):
    d = SettingsDialog(Settings(), path=tmp_path / "settings.json")
    qtbot.addWidget(d)
    return d


def test_loads_the_settings_into_the_widgets(dialog):
    assert dialog.fps.value() == 8.0
    assert dialog.interval.value() == 0.5
    assert dialog.hotkey_edits["start_stop"].text() == "F8"
    assert dialog.risk.currentData() == "neutral"
    assert dialog.region_label.text() == "whole monitor"
    assert dialog.opacity.value() == 92
    assert isinstance(dialog.validate(), Settings)


def test_ok_saves_and_announces(qtbot, dialog, tmp_path):
    dialog.fps.setValue(12)
    dialog.risk.setCurrentIndex(dialog.risk.findData("aggressive"))
    dialog.hotkey_edits["cycle_risk"].setText("Ctrl+Shift+R")
    dialog.opacity.setValue(90)
    dialog.scale.setValue(1.5)
    dialog.corner.setCurrentText("bottom-left")
    with qtbot.waitSignal(dialog.applied) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    saved = load_settings(tmp_path / "settings.json").settings
    assert saved == blocker.args[0]
    assert saved.capture.fps == 12
    assert saved.inference.risk == "aggressive"
    assert saved.hotkeys.cycle_risk == "ctrl+shift+r"
    assert saved.overlay.opacity == pytest.approx(0.9)
    assert saved.overlay.scale == pytest.approx(1.5)
    assert saved.overlay.placements[dialog.screen_name()].corner == "bottom-left"
    assert dialog.result() == dialog.DialogCode.Accepted


def test_duplicate_hotkeys_are_refused(qtbot, dialog, tmp_path):
    dialog.hotkey_edits["mark_extract"].setText("f8")
    with qtbot.assertNotEmitted(dialog.applied):
        assert dialog.apply() is None
    assert "F8 is bound to both" in dialog.error_label.text()
    assert not dialog.error_label.isHidden()
    assert not (tmp_path / "settings.json").exists()


def test_unknown_key_is_refused(dialog):
    dialog.hotkey_edits["toggle_overlay"].setText("hyper+q")
    assert dialog.apply() is None
    assert "Show / hide overlay" in dialog.error_label.text()


def test_pydantic_problems_are_shown_in_words(dialog):
    dialog.device.setCurrentText("tpu")
    assert dialog.apply() is None
    assert "device" in dialog.error_label.text()


def test_apply_keeps_the_dialog_open_and_cancel_saves_nothing(qtbot, dialog, tmp_path):
    dialog.fps.setValue(20)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Apply).click()
    assert load_settings(tmp_path / "settings.json").settings.capture.fps == 20
    dialog.fps.setValue(3)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert load_settings(tmp_path / "settings.json").settings.capture.fps == 20


def test_corrupt_settings_file_is_backed_up_and_replaced_with_a_message():
    path = paths.settings_file()
    path.write_text("{ this is not json", encoding="utf-8")
    result = load_settings()
    assert result.settings == Settings()
    assert result.message and "invalid" in result.message
    assert result.backup is not None and result.backup.read_text() == "{ this is not json"
    assert json.loads(path.read_text())["version"] == 1


def test_hotkey_edit_records_the_pressed_combination(qtbot, dialog):
    edit = dialog.hotkey_edits["start_stop"]
    qtbot.keyClick(edit, Qt.Key.Key_F7, KM.ControlModifier)
    assert edit.text() == "Ctrl+F7"
    qtbot.keyClick(edit, Qt.Key.Key_Shift)  # a bare modifier changes nothing
    assert edit.text() == "Ctrl+F7"
    assert dialog.validate().hotkeys.start_stop == "ctrl+f7"


@pytest.mark.parametrize(
    ("key", "mods", "name"),
    [
        (Qt.Key.Key_F8, KM.NoModifier, "f8"),
        (Qt.Key.Key_F24, KM.NoModifier, "f24"),
        (Qt.Key.Key_A, KM.ControlModifier | KM.ShiftModifier, "ctrl+shift+a"),
        (Qt.Key.Key_5, KM.KeypadModifier, "num 5"),
        (Qt.Key.Key_5, KM.AltModifier, "alt+5"),
        (Qt.Key.Key_PageUp, KM.NoModifier, "page up"),
        (Qt.Key.Key_Control, KM.ControlModifier, None),
        (Qt.Key.Key_VolumeUp, KM.NoModifier, None),
    ],
)
def test_qt_key_name(key, mods, name):
    assert qt_key_name(key.value, mods) == name


def test_display_hotkey():
    assert display_hotkey("ctrl+shift+f8") == "Ctrl+Shift+F8"
    assert display_hotkey("page up") == "Page Up"
    assert normalise_hotkey(display_hotkey("alt+num 5")) == "alt+num 5"


# ---------------------------------------------------------------- region picker


def test_region_picker_drag_and_enter(qtbot):
    picker = RegionPicker()
    qtbot.addWidget(picker)
    picker.show()
    qtbot.mousePress(picker, Qt.MouseButton.LeftButton, pos=QPoint(300, 200))
    qtbot.mouseMove(picker, QPoint(200, 150))
    qtbot.mouseRelease(picker, Qt.MouseButton.LeftButton, pos=QPoint(100, 120))
    dpr = picker.dpr
    with qtbot.waitSignal(picker.picked) as blocker:
        qtbot.keyClick(picker, Qt.Key.Key_Return)
    region = blocker.args[0]
    assert isinstance(region, Region)
    assert (region.left, region.top) == (round(100 * dpr), round(120 * dpr))
    assert (region.width, region.height) == (round(200 * dpr), round(80 * dpr))


def test_region_picker_ignores_a_click_and_offers_the_whole_monitor(qtbot):
    picker = RegionPicker()
    qtbot.addWidget(picker)
    picker.show()
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=QPoint(50, 50))
    with qtbot.assertNotEmitted(picker.picked):
        qtbot.keyClick(picker, Qt.Key.Key_Return)
    with qtbot.waitSignal(picker.picked) as blocker:
        qtbot.keyClick(picker, Qt.Key.Key_W)
    assert blocker.args == [None]


def test_region_picker_escape_cancels(qtbot):
    picker = RegionPicker()
    qtbot.addWidget(picker)
    picker.show()
    with qtbot.waitSignal(picker.cancelled):
        qtbot.keyClick(picker, Qt.Key.Key_Escape)


def test_dialog_takes_the_picked_region(qtbot, dialog):
    picker = dialog.pick_region()
    qtbot.addWidget(picker)
    picker.show()
    qtbot.mousePress(picker, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.mouseRelease(picker, Qt.MouseButton.LeftButton, pos=QPoint(410, 310))
    picker.accept()
    assert dialog.isVisible()
    settings = dialog.validate()
    assert isinstance(settings, Settings)
    assert settings.capture.region is not None and settings.capture.region.width == round(
        400 * picker.dpr
    )
    dialog.set_region(None)
    assert dialog.validate().capture.region is None
