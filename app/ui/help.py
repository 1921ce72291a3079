"""The "What do these numbers mean?" panel: the overlay's words and numbers, explained.

Reachable from the tray menu and from Settings. The text is built from the player's unit
(`OverlaySettings.unit`) and hotkeys, so the examples read like the overlay does.
"""

from __future__ import annotations

from html import escape

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.ui.overlay.view import RISK_WORDS, format_amount


def help_html(unit: str = "", mark_key: str = "F9", start_key: str = "F8") -> str:
    """The panel's text (HTML) for this unit and these hotkeys."""
    stay = escape(f"STAY {format_amount(400, unit, sign=True)}")
    risk_rows = "".join(
        f"<li><b>{escape(name.capitalize())}</b>: {escape(words)}</li>"
        for name, words in RISK_WORDS.items()
    )
    return f"""
<h3>What the overlay says</h3>
<p><b>{stay}</b>: keep looting. Staying a while longer is worth about
{escape(format_amount(400, unit))} more, on average, than leaving now.</p>
<p><b>EXTRACT NOW</b>: head for extraction. Leaving now is worth more than staying.</p>
<p>The numbers are what ArcX expects you to take home at the end of the raid (the final
loot value you type in when a run ends), learned from <i>your own</i> labelled runs.
They are averages: a single raid can go better or worse.</p>
<h3>The detailed panel</h3>
<ul>
<li><b>If you stay / If you leave</b>: the expected take-home value of each choice (leaving means heading out now).</li>
<li><b>The bars</b>: 8 raids in 10 like this one ended between the bar's two ends;
the tick is the value the advice used.</li>
<li><b>death risk</b>: the chance that staying ends with nothing.</li>
</ul>
<h3>Risk profile</h3>
<ul>{risk_rows}</ul>
<h3>During a run</h3>
<p>{escape(start_key)} starts a run, {escape(mark_key)} marks the moment you head for
extraction (press it again within a few seconds to undo), {escape(start_key)} ends it and
asks what you took home. Amber <b>SCREEN UNCHANGED</b> means the picture stood still (a
pause, a menu): the advice waits. Red <b>CAPTURE LOST</b> means screen capture stopped.</p>
<h3>Can I trust it?</h3>
<p>After every training, ArcX tests the new model on runs it did not train on and says in
plain words whether it beats guessing. Record about 30 runs before trusting the advice.</p>
"""


class HelpDialog(QDialog):
    """The explanation panel (non-modal; one at a time, kept by the controller)."""

    def __init__(
        self,
        unit: str = "",
        mark_key: str = "F9",
        start_key: str = "F8",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("What do these numbers mean?")
        self.text = QLabel(help_html(unit, mark_key, start_key))
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setMinimumWidth(460)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
