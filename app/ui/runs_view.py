"""The runs view: every recorded run, with label, relabel, delete and open folder.

The table shows what `app.core.data.recorder.list_runs` returns; every change goes
through the recorder's own functions (`label_run`, `delete_run`), reached through the
small `RunStore` interface so the view never touches run files itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from PyQt6.QtCore import QUrl, pyqtSignal
from PyQt6.QtGui import QDesktopServices
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.data.recorder import RunInfo
from app.core.errors import ArcXError
from app.core.timeline import load_timeline
from app.ui.fields import fit_placeholder
from app.ui.loot_prompt import parse_loot
from app.ui.timeline import TimelineChart

log = logging.getLogger(__name__)

COLUMNS = ("Date", "Length", "Decisions", "Outcome", "Loot", "Encoder")


class RunStore(Protocol):
    """What the runs view needs from the recorder."""

    def list(self) -> Sequence[RunInfo]:
        """Every recorded run."""

    def label(self, run_id: str, outcome: str, value: float) -> None: ...

    def delete(self, run_id: str) -> None: ...


class CoreRunStore:
    """`RunStore` over `app.core.data.recorder` for the runs under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def list(self) -> Sequence[RunInfo]:
        from app.core.data import recorder

        return list(recorder.list_runs(self.root))

    def label(self, run_id: str, outcome: str, value: float) -> None:
        from app.core.data import recorder

        recorder.label_run(self.root, run_id, outcome, value)

    def delete(self, run_id: str) -> None:
        from app.core.data import recorder

        recorder.delete_run(self.root, run_id)


def format_started(started: dt.datetime | float | str | None) -> str:
    """A run's start time (datetime, epoch seconds or ISO text) as local `YYYY-MM-DD HH:MM`."""
    when: dt.datetime | None = None
    if isinstance(started, dt.datetime):
        when = started
    elif isinstance(started, int | float):
        when = dt.datetime.fromtimestamp(float(started))
    elif isinstance(started, str):
        try:
            when = dt.datetime.fromisoformat(started)
        except ValueError:
            return started
    if when is None:
        return "?"
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%Y-%m-%d %H:%M")


def format_duration(seconds: float | None) -> str:
    """`754` → `12:34`, `3725` → `1:02:05`."""
    if seconds is None:
        return "?"
    s = round(float(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def run_length(info: RunInfo) -> float | None:
    """Seconds of play: the run clock, or frames / FPS when that is longer (runs written
    by tools faster than real time, e.g. synthetic ones, have a near-zero clock)."""
    by_frames = info.n_frames / info.fps if info.fps > 0 else None
    if info.duration_s is None:
        return by_frames
    return max(float(info.duration_s), by_frames or 0.0)


def _sort_key(info: RunInfo) -> float:
    return info.started_at.timestamp()


def row_texts(info: RunInfo) -> tuple[str, ...]:
    """The table row of one run."""
    if info.outcome is None:
        outcome_text, loot_text = "unlabelled", "—"
    else:
        outcome_text = info.outcome
        value = info.final_loot_value
        loot_text = f"{value:,.0f}" if value is not None else "—"
    return (
        format_started(info.started_at),
        format_duration(run_length(info)),
        str(info.n_decisions),
        outcome_text,
        loot_text,
        info.encoder_id[:12],
    )


EMPTY_TEXT = (
    "No runs yet. Start a raid with F8, press F9 when you head for extraction and F8 when it "
    "ends, then type in what you took home. Each raid appears here."
)


def summary_text(runs: Sequence[RunInfo]) -> str:
    """The line above the table: the counts, or what to do when there is nothing yet."""
    if not runs:
        return EMPTY_TEXT
    labelled = sum(r.outcome is not None for r in runs)
    unlabelled = len(runs) - labelled
    note = (
        " — unlabelled runs are not trained on: select one and Label… it" if unlabelled else ""
    )
    return f"{len(runs)} runs: {labelled} labelled, {unlabelled} unlabelled{note}"


class LabelDialog(QDialog):
    """Outcome and final loot value for one run."""

    def __init__(
        self, outcome: str | None, value: float | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Label run")
        self.outcome = QComboBox()
        self.outcome.addItems(["extracted", "died"])
        if outcome in ("extracted", "died"):
            self.outcome.setCurrentText(outcome)
        self.value = QLineEdit("" if value is None else f"{value:.0f}")
        fit_placeholder(self.value, "final loot value, e.g. 48,500")
        self.outcome.currentTextChanged.connect(lambda t: self.value.setEnabled(t == "extracted"))
        self.value.setEnabled(self.outcome.currentText() == "extracted")
        self.error = QLabel()
        self.error.setStyleSheet("color: #d93f3f;")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Outcome", self.outcome)
        form.addRow("Loot", self.value)
        form.addRow(self.error)
        form.addRow(buttons)

    def result_value(self) -> tuple[str, float] | None:
        outcome = self.outcome.currentText()
        if outcome == "died":
            return outcome, 0.0
        value = parse_loot(self.value.text())
        return None if value is None else (outcome, value)

    def _accept(self) -> None:
        if self.result_value() is None:
            self.error.setText("enter the loot value (a number, 0 or more)")
            return
        self.accept()


class RunsView(QDialog):
    """Table of recorded runs.

    Signals:
        changed(): a run was labelled, relabelled or deleted.
    """

    changed = pyqtSignal()

    def __init__(
        self,
        store: RunStore,
        parent: QWidget | None = None,
        *,
        open_folder: Callable[[Path], None] | None = None,
        confirm: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("ArcX — recorded runs")
        self.resize(760, 600)
        self.store = store
        self._open_folder = open_folder or _open_folder
        self._confirm = confirm or self._ask
        self.runs: list[RunInfo] = []

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)  # type: ignore[union-attr]
        header = self.table.horizontalHeader()
        assert header is not None
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _i: self.label_clicked())

        self.label_button = QPushButton("Label…")
        self.label_button.clicked.connect(self.label_clicked)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.delete_selected)
        self.folder_button = QPushButton("Open folder")
        self.folder_button.clicked.connect(self.open_selected_folder)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for b in (self.label_button, self.delete_button, self.folder_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(refresh)
        buttons.addWidget(close)

        self.timeline = TimelineChart()
        self.timeline_text = QLabel()
        self.timeline_text.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.timeline, 1)
        layout.addWidget(self.timeline_text)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        selected = self.selected_run()
        keep = selected.run_id if selected is not None else None
        try:
            self.runs = sorted(self.store.list(), key=_sort_key, reverse=True)
        except (ArcXError, OSError) as exc:
            self.runs = []
            self.summary.setText(f"Could not read the runs: {exc}")
        else:
            self.summary.setText(summary_text(self.runs))
        self.table.setRowCount(len(self.runs))
        for row, info in enumerate(self.runs):
            for col, text in enumerate(row_texts(info)):
                self.table.setItem(row, col, QTableWidgetItem(text))
            if info.run_id == keep:
                self.table.selectRow(row)
        self._update_buttons()

    def selected_run(self) -> RunInfo | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def select_run(self, run_id: str) -> None:
        for row, info in enumerate(self.runs):
            if info.run_id == run_id:
                self.table.selectRow(row)
                return
        raise KeyError(run_id)

    def _show_timeline(self, run: RunInfo | None) -> None:
        """The selected run's timeline: EV stay / extract over time, advice, mark, outcome."""
        if run is None:
            self.timeline.set_timeline(None)
            self.timeline_text.setText("")
            return
        try:
            tl = load_timeline(run)
        except (ArcXError, OSError, ValueError) as exc:
            self.timeline.set_timeline(None, f"No timeline: {exc}")
            self.timeline_text.setText("")
            return
        self.timeline.set_timeline(tl, "This run has no decisions.")
        self.timeline_text.setText(tl.summary() if len(tl.t) else "")

    def _update_buttons(self) -> None:
        run = self.selected_run()
        self._show_timeline(run)
        for b in (self.label_button, self.delete_button, self.folder_button):
            b.setEnabled(run is not None)
        if run is not None:
            self.label_button.setText("Relabel…" if run.outcome is not None else "Label…")

    # ---------------------------------------------------------------- actions
    def label_selected(self, outcome: str, value: float) -> bool:
        """Label (or relabel) the selected run through the recorder."""
        run = self.selected_run()
        if run is None:
            return False
        try:
            self.store.label(run.run_id, outcome, value)
        except (ArcXError, OSError, ValueError) as exc:
            QMessageBox.warning(self, "ArcX", f"Could not label the run: {exc}")
            return False
        self.refresh()
        self.changed.emit()
        return True

    def label_clicked(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        dialog = LabelDialog(run.outcome, run.final_loot_value, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            result = dialog.result_value()
            if result is not None:
                self.label_selected(*result)

    def delete_selected(self) -> bool:
        """Delete the selected run after the player confirms."""
        run = self.selected_run()
        if run is None:
            return False
        what = f"the run of {row_texts(run)[0]} ({format_duration(run_length(run))}, {run.n_decisions} decisions)"
        if not self._confirm(f"Delete {what}? Its recorded data is removed for good."):
            return False
        try:
            self.store.delete(run.run_id)
        except (ArcXError, OSError) as exc:
            QMessageBox.warning(self, "ArcX", f"Could not delete the run: {exc}")
            return False
        self.refresh()
        self.changed.emit()
        return True

    def open_selected_folder(self) -> None:
        run = self.selected_run()
        if run is not None:
            self._open_folder(Path(run.path))

    def _ask(self, text: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Delete run",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes


def _open_folder(path: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
