"""The settings dialog: capture (monitor, region, FPS), inference, hotkeys, overlay, device.

The dialog edits a copy of `Settings`. On OK/Apply it builds the plain dict from the
widgets, checks the hotkeys (known keys, no duplicates) and lets pydantic validate the
rest (`app.core.config.Settings`); a problem is shown in words under the tabs and
nothing is saved. Valid settings are saved through `app.core.config.save_settings` and
announced with `applied`, which the app uses to apply what it can live (overlay,
hotkeys, risk); capture changes take effect when ArcX restarts (the engine's frame
source is built once).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QFocusEvent, QGuiApplication, QKeyEvent
from PyQt6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.config import (
    DEVICE_CHOICES,
    OverlayPlacement,
    Region,
    Settings,
    describe_validation_error,
    save_settings,
)
from app.core.model.ev import RISK_ORDER
from app.ui.fields import fit_placeholder
from app.ui.hotkeys import ACTION_LABELS, normalise_hotkey
from app.ui.overlay.view import RISK_WORDS
from app.ui.overlay.window import READABLE_OPACITY
from app.ui.region_picker import RegionPicker

log = logging.getLogger(__name__)

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right", "custom")

_KEY_NAMES: dict[Qt.Key, str] = {
    Qt.Key.Key_Space: "space",
    Qt.Key.Key_Tab: "tab",
    Qt.Key.Key_Return: "enter",
    Qt.Key.Key_Enter: "enter",
    Qt.Key.Key_Backspace: "backspace",
    Qt.Key.Key_Insert: "insert",
    Qt.Key.Key_Delete: "delete",
    Qt.Key.Key_Home: "home",
    Qt.Key.Key_End: "end",
    Qt.Key.Key_PageUp: "page up",
    Qt.Key.Key_PageDown: "page down",
    Qt.Key.Key_Up: "up",
    Qt.Key.Key_Down: "down",
    Qt.Key.Key_Left: "left",
    Qt.Key.Key_Right: "right",
    Qt.Key.Key_Pause: "pause",
    Qt.Key.Key_Print: "print screen",
    Qt.Key.Key_ScrollLock: "scroll lock",
    Qt.Key.Key_CapsLock: "caps lock",
    Qt.Key.Key_NumLock: "num lock",
    Qt.Key.Key_Escape: "esc",
    Qt.Key.Key_QuoteLeft: "`",
    Qt.Key.Key_Minus: "-",
    Qt.Key.Key_Equal: "=",
    Qt.Key.Key_BracketLeft: "[",
    Qt.Key.Key_BracketRight: "]",
    Qt.Key.Key_Semicolon: ";",
    Qt.Key.Key_Apostrophe: "'",
    Qt.Key.Key_Comma: ",",
    Qt.Key.Key_Period: ".",
    Qt.Key.Key_Slash: "/",
    Qt.Key.Key_Backslash: "\\",
}
_MODIFIER_KEYS = {Qt.Key.Key_Control, Qt.Key.Key_Shift, Qt.Key.Key_Alt, Qt.Key.Key_Meta}


def qt_key_name(key: int, modifiers: Qt.KeyboardModifier) -> str | None:
    """A Qt key press → keyboard's hotkey name (`ctrl+shift+f8`); None for a bare modifier."""
    k = Qt.Key(key)
    if k in _MODIFIER_KEYS:
        return None
    if Qt.Key.Key_F1.value <= key <= Qt.Key.Key_F24.value:
        name = f"f{key - Qt.Key.Key_F1.value + 1}"
    elif Qt.Key.Key_A.value <= key <= Qt.Key.Key_Z.value:
        name = chr(key).lower()
    elif Qt.Key.Key_0.value <= key <= Qt.Key.Key_9.value:
        digit = chr(key)
        name = f"num {digit}" if modifiers & Qt.KeyboardModifier.KeypadModifier else digit
    elif k in _KEY_NAMES:
        name = _KEY_NAMES[k]
    else:
        return None
    mods = []
    if modifiers & Qt.KeyboardModifier.ControlModifier:
        mods.append("ctrl")
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        mods.append("shift")
    if modifiers & Qt.KeyboardModifier.AltModifier:
        mods.append("alt")
    if modifiers & Qt.KeyboardModifier.MetaModifier:
        mods.append("windows")
    return "+".join([*mods, name])


def display_hotkey(name: str) -> str:
    """`ctrl+shift+f8` → `Ctrl+Shift+F8` (how the dialog shows a binding)."""
    return "+".join(
        p.upper() if len(p) <= 3 and p[0] == "f" and p[1:].isdigit() else p.title()
        for p in name.split("+")
    )


class HotkeyEdit(QLineEdit):
    """A field that records the next key combination pressed in it."""

    def __init__(self, key: str, parent: QWidget | None = None) -> None:
        super().__init__(display_hotkey(key) if key else "", parent)
        fit_placeholder(self, "click, then press a key")
        self.setToolTip("Click here and press the key (with Ctrl / Shift / Alt if you like)")

    def keyPressEvent(self, event: QKeyEvent | None) -> None:  # noqa: N802 (Qt override)
        if event is None:
            return
        name = qt_key_name(event.key(), event.modifiers())
        if name is not None:
            self.setText(display_hotkey(name))
            event.accept()

    def focusInEvent(self, event: QFocusEvent | None) -> None:  # noqa: N802
        super().focusInEvent(event)
        self.selectAll()


class SettingsDialog(QDialog):
    """Edit, validate and save the settings.

    Signals:
        applied(object): the new, valid, saved `Settings`.
        unlockOverlayRequested(): the player wants to drag the overlay into place.
        helpRequested(): the player asked "What do these numbers mean?".
    """

    applied = pyqtSignal(object)
    unlockOverlayRequested = pyqtSignal()
    helpRequested = pyqtSignal()

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        path: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("ArcX settings")
        self._settings = settings
        self._path = path
        self._region: Region | None = settings.capture.region
        self._picker: RegionPicker | None = None

        tabs = QTabWidget()
        tabs.addTab(self._capture_tab(), "Capture")
        tabs.addTab(self._hotkeys_tab(), "Hotkeys")
        tabs.addTab(self._overlay_tab(), "Overlay")
        tabs.addTab(self._model_tab(), "Model && device")
        self.tabs = tabs

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d93f3f;")
        self.error_label.hide()

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.clicked.connect(self._on_button)

        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.load(settings)

    # ---------------------------------------------------------------- tabs
    def _capture_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.monitor = QComboBox()
        for i, screen in enumerate(QGuiApplication.screens()):
            g = screen.geometry()
            dpr = screen.devicePixelRatio()
            phys = f"{round(g.width() * dpr)}×{round(g.height() * dpr)}"
            primary = " (primary)" if screen is QGuiApplication.primaryScreen() else ""
            self.monitor.addItem(f"{i}: {screen.name()} — {phys}{primary}", i)
        form.addRow("Monitor", self.monitor)

        self.region_label = QLabel()
        pick = QPushButton("Pick region…")
        pick.clicked.connect(self.pick_region)
        whole = QPushButton("Whole monitor")
        whole.clicked.connect(lambda: self.set_region(None))
        row = QHBoxLayout()
        row.addWidget(self.region_label, 1)
        row.addWidget(pick)
        row.addWidget(whole)
        form.addRow("Region", row)

        self.fps = QDoubleSpinBox()
        self.fps.setRange(1.0, 30.0)
        self.fps.setDecimals(1)
        self.fps.setSuffix(" FPS")
        form.addRow("Capture rate", self.fps)
        self.backend = QComboBox()
        self.backend.addItems(["auto", "dxcam", "mss"])
        form.addRow("Grabber", self.backend)
        self.interval = QDoubleSpinBox()
        self.interval.setRange(0.1, 5.0)
        self.interval.setSingleStep(0.1)
        self.interval.setDecimals(2)
        self.interval.setSuffix(" s")
        form.addRow("EV update every", self.interval)
        self.game_profile = QLineEdit()
        form.addRow("Game / map", self.game_profile)
        note = QLabel("Monitor, region, rate and grabber take effect when ArcX restarts.")
        note.setStyleSheet("color: gray;")
        form.addRow(note)
        return w

    def _hotkeys_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.hotkey_edits: dict[str, HotkeyEdit] = {}
        for action, label in ACTION_LABELS.items():
            edit = HotkeyEdit("")
            self.hotkey_edits[action] = edit
            form.addRow(label, edit)
        note = QLabel("Hotkeys work while the game has focus and are never blocked from it.")
        note.setWordWrap(True)
        note.setStyleSheet("color: gray;")
        form.addRow(note)
        return w

    def _overlay_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.overlay_visible = QCheckBox("Show the overlay during runs")
        form.addRow(self.overlay_visible)
        self.layout_choice = QComboBox()
        self.layout_choice.addItem("Compact: one line (EXTRACT NOW / STAY +400)", "compact")
        self.layout_choice.addItem("Detailed: both choices, their values and ranges", "detailed")
        form.addRow("Overlay shows", self.layout_choice)
        self.unit = QLineEdit()
        self.unit.setMaxLength(8)
        fit_placeholder(self.unit, "e.g. ₽ or loot")
        self.unit.setToolTip("What the numbers are counted in; shown after them on the overlay")
        form.addRow("Unit", self.unit)
        self.corner = QComboBox()
        self.corner.addItems(CORNERS)
        form.addRow("Corner (this monitor)", self.corner)
        self.margin = QSpinBox()
        self.margin.setRange(0, 500)
        self.margin.setSuffix(" px")
        form.addRow("Distance from corner", self.margin)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        # not below the floor that keeps the overlay's text at 4.5:1 over a white scene
        self.opacity.setRange(round(READABLE_OPACITY * 100), 100)
        self.opacity_label = QLabel()
        self.opacity.valueChanged.connect(lambda v: self.opacity_label.setText(f"{v} %"))
        row = QHBoxLayout()
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_label)
        form.addRow("Opacity", row)
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.5, 3.0)
        self.scale.setSingleStep(0.1)
        self.scale.setSuffix(" ×")
        form.addRow("Size", self.scale)
        unlock = QPushButton("Unlock overlay to drag it…")
        unlock.clicked.connect(self.unlockOverlayRequested.emit)
        form.addRow(unlock)
        self.help_button = QPushButton("What do these numbers mean?")
        self.help_button.clicked.connect(self.helpRequested.emit)
        form.addRow(self.help_button)
        return w

    def _model_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.risk = QComboBox()
        for r in RISK_ORDER:
            self.risk.addItem(f"{r.capitalize()}: {RISK_WORDS[r]}", r)
        form.addRow("Default risk profile", self.risk)
        self.device = QComboBox()
        self.device.setEditable(True)  # allows "cuda:1"
        self.device.addItems(list(DEVICE_CHOICES))
        form.addRow("Compute device", self.device)
        note = QLabel("A device change takes effect when ArcX restarts. ARCX_DEVICE overrides it.")
        note.setWordWrap(True)
        note.setStyleSheet("color: gray;")
        form.addRow(note)
        return w

    # ---------------------------------------------------------------- data
    def screen_name(self) -> str:
        screens = QGuiApplication.screens()
        i = self.monitor.currentData()
        if isinstance(i, int) and 0 <= i < len(screens):
            return screens[i].name()
        primary = QGuiApplication.primaryScreen()
        return primary.name() if primary is not None else ""

    def load(self, s: Settings) -> None:
        """Fill the widgets from `s`."""
        self._settings = s
        idx = self.monitor.findData(s.capture.monitor)
        self.monitor.setCurrentIndex(max(idx, 0))
        self.set_region(s.capture.region)
        self.fps.setValue(s.capture.fps)
        self.backend.setCurrentText(s.capture.backend)
        self.interval.setValue(s.inference.interval_s)
        self.game_profile.setText(s.game_profile)
        for action, key in s.hotkeys.bindings().items():
            self.hotkey_edits[action].setText(display_hotkey(key))
        self.overlay_visible.setChecked(s.overlay.visible)
        self.layout_choice.setCurrentIndex(max(self.layout_choice.findData(s.overlay.layout), 0))
        self.unit.setText(s.overlay.unit)
        place = s.overlay.placements.get(self.screen_name(), OverlayPlacement())
        self.corner.setCurrentText(place.corner)
        self.margin.setValue(s.overlay.margin)
        self.opacity.setValue(round(s.overlay.opacity * 100))
        self.scale.setValue(s.overlay.scale)
        self.risk.setCurrentIndex(max(self.risk.findData(s.inference.risk), 0))
        self.device.setCurrentText(s.device)

    def set_placements(self, placements: dict[str, OverlayPlacement]) -> None:
        """The overlay was dragged meanwhile: take its placements, show this monitor's corner."""
        overlay = self._settings.overlay.model_copy(update={"placements": dict(placements)})
        self._settings = self._settings.model_copy(update={"overlay": overlay})
        self.corner.setCurrentText(placements.get(self.screen_name(), OverlayPlacement()).corner)

    def set_region(self, region: Region | None) -> None:
        self._region = region
        if region is None:
            self.region_label.setText("whole monitor")
        else:
            self.region_label.setText(
                f"{region.width}×{region.height} px at ({region.left}, {region.top})"
            )

    def collect(self) -> dict[str, Any]:
        """The widgets as a plain settings dict (not yet validated)."""
        base = self._settings.model_dump(mode="json")
        screen = self.screen_name()
        placements = dict(base["overlay"]["placements"])
        old = placements.get(screen, OverlayPlacement().model_dump())
        placements[screen] = {**old, "corner": self.corner.currentText()}
        return {
            **base,
            "capture": {
                **base["capture"],
                "monitor": self.monitor.currentData() or 0,
                "region": self._region.model_dump() if self._region is not None else None,
                "fps": self.fps.value(),
                "backend": self.backend.currentText(),
            },
            "inference": {
                **base["inference"],
                "interval_s": self.interval.value(),
                "risk": self.risk.currentData(),
            },
            "hotkeys": {a: e.text() for a, e in self.hotkey_edits.items()},
            "overlay": {
                **base["overlay"],
                "visible": self.overlay_visible.isChecked(),
                "layout": self.layout_choice.currentData(),
                "unit": self.unit.text().strip(),
                "opacity": self.opacity.value() / 100.0,
                "scale": self.scale.value(),
                "margin": self.margin.value(),
                "placements": placements,
            },
            "device": self.device.currentText(),
            "game_profile": self.game_profile.text(),
        }

    def validate(self) -> Settings | str:
        """Valid `Settings`, or the problems in words."""
        data = self.collect()
        keys: dict[str, str] = {}
        for action, text in data["hotkeys"].items():
            label = ACTION_LABELS[action]
            try:
                key = normalise_hotkey(text)
            except ValueError as exc:
                return f"Hotkey for “{label}”: {exc}."
            if key in keys.values():
                other = next(ACTION_LABELS[a] for a, k in keys.items() if k == key)
                return f"{key.upper()} is bound to both “{other}” and “{label}”: pick another key."
            keys[action] = key
        data["hotkeys"] = keys
        try:
            return Settings.model_validate(data)
        except ValidationError as exc:
            return describe_validation_error(exc)

    def apply(self) -> Settings | None:
        """Validate, save and announce; on a problem show it and return None."""
        result = self.validate()
        if isinstance(result, str):
            self.error_label.setText(result)
            self.error_label.show()
            return None
        self.error_label.hide()
        try:
            save_settings(result, self._path)
        except OSError as exc:
            self.error_label.setText(f"Could not save the settings: {exc}")
            self.error_label.show()
            return None
        self._settings = result
        self.applied.emit(result)
        return result

    def _on_button(self, button: QAbstractButton | None) -> None:
        role = self.buttons.buttonRole(button)
        if role == QDialogButtonBox.ButtonRole.AcceptRole:
            if self.apply() is not None:
                self.accept()
        elif role == QDialogButtonBox.ButtonRole.ApplyRole:
            self.apply()
        else:
            self.reject()

    # ---------------------------------------------------------------- region
    def pick_region(self) -> RegionPicker:
        """Open the region picker on the selected monitor (the dialog hides meanwhile)."""
        screens = QGuiApplication.screens()
        i = self.monitor.currentData() or 0
        screen = screens[i] if 0 <= i < len(screens) else QGuiApplication.primaryScreen()
        self.hide()
        picker = RegionPicker(screen, self._region)
        picker.picked.connect(self._on_picked)
        picker.cancelled.connect(self._on_pick_cancelled)
        self._picker = picker
        picker.show()
        picker.activateWindow()
        return picker

    def _on_picked(self, region: Region | None) -> None:
        self.set_region(region)
        self._picker = None
        self.show()

    def _on_pick_cancelled(self) -> None:
        self._picker = None
        self.show()
