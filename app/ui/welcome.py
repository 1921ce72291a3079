"""The first-run welcome: pick the screen, try the hotkeys, learn the F8 → F9 → F8 loop.

Shown once, on the first start (`Settings.welcomed`), and again from the help panel's
tray entry if wanted. While it is open the hotkeys only light up their line here (the
controller routes them to `hotkey_pressed`), so trying F8 does not start a run.
"""

from __future__ import annotations

from html import escape

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.training.verdict import RECOMMENDED_RUNS

HOTKEY_WORDS: dict[str, str] = {
    "start_stop": "start / end a run",
    "mark_extract": "mark that you head for extraction",
    "cycle_risk": "switch risk profile",
    "toggle_overlay": "show / hide the overlay",
}
"""each hotkey binding in words, in the order the welcome lists them"""
PRESSED_STYLE = "color: #1f8f4e; font-weight: bold;"


class WelcomeDialog(QDialog):
    """Four short steps for a new player.

    Signals:
        captureRequested(): the player wants to pick the monitor or region (Settings ▸ Capture).
    """

    captureRequested = pyqtSignal()

    def __init__(self, bindings: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to ArcX")
        self.pressed: set[str] = set()
        keys = {a: k.upper() for a, k in bindings.items()}
        start, mark = keys.get("start_stop", "F8"), keys.get("mark_extract", "F9")

        intro = QLabel(
            "<b>ArcX tells you, during a raid, whether staying to loot or extracting now "
            "is worth more</b>, learned from your own raids. Four steps:"
        )
        intro.setWordWrap(True)

        screen = QGroupBox("1. The screen ArcX watches")
        s_layout = QVBoxLayout(screen)
        s_text = QLabel("The game's monitor, or just the game's part of it.")
        s_text.setWordWrap(True)
        self.capture_button = QPushButton("Choose monitor or region…")
        self.capture_button.clicked.connect(self.captureRequested.emit)
        s_layout.addWidget(s_text)
        s_layout.addWidget(self.capture_button)

        hotkeys = QGroupBox("2. Try your hotkeys (press them now; nothing starts)")
        grid = QGridLayout(hotkeys)
        self.key_labels: dict[str, QLabel] = {}
        for row, (action, words) in enumerate(HOTKEY_WORDS.items()):
            key = QLabel(f"<b>{escape(keys.get(action, '?'))}</b>")
            label = QLabel(words)
            grid.addWidget(key, row, 0)
            grid.addWidget(label, row, 1)
            self.key_labels[action] = label
        self.hotkey_status = QLabel("Waiting for a key… (if none reacts, the tray menu does the same)")
        self.hotkey_status.setWordWrap(True)
        grid.addWidget(self.hotkey_status, len(HOTKEY_WORDS), 0, 1, 2)

        loop = QGroupBox("3. Every raid")
        l_layout = QVBoxLayout(loop)
        l_text = QLabel(
            f"<b>{escape(start)}</b> when the raid starts → <b>{escape(mark)}</b> the moment you "
            f"head for extraction → <b>{escape(start)}</b> when it ends, then type in what you "
            "took home (or Died)."
        )
        l_text.setWordWrap(True)
        l_layout.addWidget(l_text)

        train = QGroupBox("4. Then train")
        t_layout = QVBoxLayout(train)
        self.train_text = QLabel(
            f"Record about <b>{RECOMMENDED_RUNS} raids</b>, then choose <b>Train model…</b> in "
            "the tray menu. ArcX tests the new model on raids it did not train on and tells "
            "you whether its advice beats guessing. Until then the overlay says "
            "<i>no model yet — recording</i>."
        )
        self.train_text.setWordWrap(True)
        t_layout.addWidget(self.train_text)

        done = QPushButton("Got it")
        done.setDefault(True)
        done.clicked.connect(self.accept)

        layout = QVBoxLayout(self)
        for w in (intro, screen, hotkeys, loop, train):
            layout.addWidget(w)
        layout.addWidget(done, alignment=Qt.AlignmentFlag.AlignRight)
        self.setMinimumWidth(480)

    def hotkey_pressed(self, action: str) -> None:
        """A hotkey fired while the welcome is open: light its line up."""
        label = self.key_labels.get(action)
        if label is None:
            return
        self.pressed.add(action)
        label.setStyleSheet(PRESSED_STYLE)
        label.setText(f"{HOTKEY_WORDS[action]} ✓")
        left = len(HOTKEY_WORDS) - len(self.pressed)
        self.hotkey_status.setText(
            "All hotkeys work." if left == 0 else f"Works. {left} more to try (optional)."
        )
