"""The run-end prompt: how did the raid end, and what was the loot worth?

A small panel in the corner above the tray that appears *without activating*: the game
keeps focus and keyboard input until the player clicks into the field. "Save" labels the
run as extracted with the value, "Died" labels it with 0, "Later" (or closing it) leaves
the run unlabelled for the runs view.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QGuiApplication, QKeyEvent
from PyQt6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.fields import fit_placeholder

# Distance from the screen's corner, logical pixels.
MARGIN = 16


def parse_loot(text: str) -> float | None:
    """`12,450` / `12 450` / `12.5k` / `1.2m` → a value ≥ 0; None when it is not a number."""
    t = text.strip().lower().replace(",", "").replace(" ", "").replace("\u202f", "")
    if not t:
        return None
    mult = 1.0
    if t[-1] in "km":
        mult = 1_000.0 if t[-1] == "k" else 1_000_000.0
        t = t[:-1]
    try:
        value = float(t) * mult
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


class LootPrompt(QWidget):
    """Non-activating end-of-run prompt.

    Signals:
        submitted(str, float): ("extracted", value) or ("died", 0.0).
        dismissed(): "Later" or closed: the run stays unlabelled.
    """

    submitted = pyqtSignal(str, float)
    dismissed = pyqtSignal()

    def __init__(self, run_name: str = "", *, outcome_known: bool = False) -> None:
        super().__init__(None)
        self._answered = False
        self.setWindowTitle("ArcX — run ended")
        self.setWindowFlags(
            Qt.WindowType.Tool
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
        )
        # Appear without taking focus from the game; a click in the field activates it.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)

        frame = QFrame(self)
        frame.setObjectName("panel")
        frame.setStyleSheet(
            "#panel { background: #1b1f26; border: 1px solid #3a414d; border-radius: 8px; }"
            "QLabel { color: #e8ecf1; } QLabel#muted { color: #9aa4b1; }"
            "QLineEdit { background: #0f1217; color: white; border: 1px solid #4a5260;"
            " border-radius: 4px; padding: 4px; font-size: 15px; }"
        )
        title = QLabel(
            "Extracted — what was the loot worth?"
            if outcome_known
            else "Run ended — how did it go?"
        )
        title.setStyleSheet("font-weight: bold; font-size: 13px;")
        sub = QLabel(run_name or "Final loot value, as the game shows it")
        sub.setObjectName("muted")
        self.value = QLineEdit()
        fit_placeholder(self.value, "e.g. 48,500 or 48.5k")
        self.value.returnPressed.connect(self.save)
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.died_button = QPushButton("Died")
        self.died_button.clicked.connect(self.died)
        self.died_button.setVisible(not outcome_known)
        self.later_button = QPushButton("Later")
        self.later_button.clicked.connect(self.later)
        self.error = QLabel("")
        self.error.setObjectName("muted")

        row = QHBoxLayout()
        row.addWidget(self.value, 1)
        row.addWidget(self.save_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.error, 1)
        buttons.addWidget(self.died_button)
        buttons.addWidget(self.later_button)
        inner = QVBoxLayout(frame)
        inner.addWidget(title)
        inner.addWidget(sub)
        inner.addLayout(row)
        inner.addLayout(buttons)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        self.setFixedWidth(340)

    def show_in_corner(self) -> None:
        """Show bottom-right of the primary screen (next to the tray), without activating."""
        self.adjustSize()
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            avail = screen.availableGeometry()
            self.move(
                avail.right() - self.width() - MARGIN, avail.bottom() - self.height() - MARGIN
            )
        self.show()

    def save(self) -> None:
        value = parse_loot(self.value.text())
        if value is None:
            self.error.setText("enter a number (0 or more)")
            return
        self._answer()
        self.submitted.emit("extracted", value)

    def died(self) -> None:
        self._answer()
        self.submitted.emit("died", 0.0)

    def later(self) -> None:
        self._answer()
        self.dismissed.emit()

    def _answer(self) -> None:
        self._answered = True
        self.close()

    def keyPressEvent(self, event: QKeyEvent | None) -> None:  # noqa: N802 (Qt override)
        if event is not None and event.key() == Qt.Key.Key_Escape:
            self.later()
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802
        if not self._answered:
            self._answered = True
            self.dismissed.emit()
        super().closeEvent(event)
