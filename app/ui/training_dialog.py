"""The training dialog: dataset summary, hyper-parameters, progress, live loss, result.

The dialog edits a `TrainConfig` (epochs, learning rate, batch size; the rest comes from
the app's defaults) and never trains anything itself. Start asks the app for a
`TrainingWorker` (through `worker_factory`) and shows what its signals report: a
progress bar with ETA, the live train / validation loss chart, and at the end the
validation metrics. When the worker sends its result, `modelReady` carries it to the app, which verifies the new
checkpoint and hot-swaps it into the engine (`show_swap_result` reports back). The
previous model stays available: "Roll back" asks the app to switch to it again.

After every training the dialog tests the new model on the player's held-out runs
(`app.core.training.verdict`, off the main thread) and says in plain words whether it
beats constant numbers and the previous model, loudly when it does not.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QCloseEvent
from PyQt6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.data.dataset import DecisionDataset
from app.core.data.recorder import RunInfo
from app.core.training.types import TrainConfig, TrainProgress, TrainResult
from app.core.training.verdict import RECOMMENDED_RUNS, Verdict, verdict_for
from app.ui.loss_chart import LossChart
from app.ui.parts import TrainingWorkerFactory
from app.workers.call import call_off_thread
from app.workers.training import TrainingWorker

log = logging.getLogger(__name__)

Judge = Callable[[Path | DecisionDataset, TrainResult, TrainConfig], Verdict]
"""(training data, result, config) → the new model's `Verdict` (`verdict_for`)"""


@dataclass(frozen=True)
class DatasetSummary:
    """What there is to train on (labelled runs of the current encoder)."""

    labelled_runs: int
    decisions: int
    """decisions in the labelled runs"""
    unlabelled_runs: int
    other_encoder_runs: int = 0
    """labelled runs recorded with another encoder (not used)"""

    @property
    def trainable(self) -> bool:
        return self.labelled_runs > 0 and self.decisions > 0


def summarise_runs(runs: Sequence[RunInfo], encoder_id: str | None = None) -> DatasetSummary:
    """Runs → `DatasetSummary` (runs of another encoder are counted apart)."""
    labelled = decisions = unlabelled = other = 0
    for r in runs:
        if r.outcome is None:
            unlabelled += 1
        elif encoder_id is not None and r.encoder_id != encoder_id:
            other += 1
        else:
            labelled += 1
            decisions += r.n_decisions
    return DatasetSummary(labelled, decisions, unlabelled, other)


def format_eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


# How the trainer's metrics are shown: key → (label, format); others get a generic line.
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "best_val_loss": ("validation loss (best epoch)", "{:.4g}"),
    "final_train_loss": ("training loss (last epoch)", "{:.4g}"),
    "best_epoch": ("best epoch", "{}"),
    "epochs_run": ("epochs run", "{}"),
    "train_decisions": ("training decisions", "{:,}"),
    "val_decisions": ("validation decisions", "{:,}"),
    "value_scale": ("value scale (loot per unit)", "{:,.0f}"),
    "samples_per_s": ("speed (samples/s)", "{:,.0f}"),
    "seconds": ("training time (s)", "{:.0f}"),
}


def result_metrics(result: TrainResult) -> dict[str, str]:
    """A training's metrics (`TrainResult.metrics`) → label → text for the dialog."""
    out: dict[str, str] = {}
    for k, v in result.metrics.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if k in METRIC_LABELS:
            label, fmt = METRIC_LABELS[k]
            out[label] = fmt.format(v)
        elif isinstance(v, float):
            out[k.replace("_", " ")] = f"{v:.4g}"
        else:
            out[k.replace("_", " ")] = str(v)
    return out


class TrainingDialog(QDialog):
    """Train a model on the labelled runs.

    Signals:
        modelReady(TrainResult): training finished; the worker's result (with the checkpoint).
        verdictReady(object): the new model's `Verdict` on the held-out runs (after modelReady).
        rollbackRequested(): switch the engine back to the previous model.
    """

    modelReady = pyqtSignal(TrainResult)
    verdictReady = pyqtSignal(object)
    rollbackRequested = pyqtSignal()

    def __init__(
        self,
        summary: DatasetSummary,
        worker_factory: TrainingWorkerFactory,
        parent: QWidget | None = None,
        *,
        defaults: TrainConfig | None = None,
        can_roll_back: bool = False,
        judge: Judge | None = None,
    ) -> None:
        super().__init__(parent)
        self._judge = judge or verdict_for
        self._config: TrainConfig | None = None
        self.verdict: Verdict | None = None
        self.setWindowTitle("ArcX — train model")
        self.resize(580, 700)
        self._factory = worker_factory
        self.worker: TrainingWorker | None = None
        self.last_result: TrainResult | None = None
        self.defaults = defaults or TrainConfig()
        """the config the dialog edits (what it does not show stays as given)"""
        self._epochs = self.defaults.epochs

        data_box = QGroupBox("Your data")
        data_form = QFormLayout(data_box)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        data_form.addRow(self.summary_label)

        params = QGroupBox("Training")
        form = QFormLayout(params)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(self.defaults.epochs)
        form.addRow("Epochs", self.epochs)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 1e-1)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(self.defaults.lr)
        form.addRow("Learning rate", self.lr)
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(self.defaults.batch_size)
        form.addRow("Batch size", self.batch)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        self.chart = LossChart()
        self.metrics_label = QLabel()
        self.metrics_label.setWordWrap(True)
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextFormat(Qt.TextFormat.RichText)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.rollback_button = QPushButton("Roll back to previous model")
        self.rollback_button.setEnabled(can_roll_back)
        self.rollback_button.clicked.connect(self.rollbackRequested.emit)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.rollback_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(data_box)
        layout.addWidget(params)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.metrics_label)
        layout.addLayout(buttons)
        self.set_summary(summary)

    # ---------------------------------------------------------------- data
    def set_summary(self, summary: DatasetSummary) -> None:
        self.summary = summary
        parts = [
            f"<b>{summary.labelled_runs}</b> labelled runs, <b>{summary.decisions:,}</b> decisions",
            f"{summary.unlabelled_runs} unlabelled runs (label them in Runs… to use them)",
        ]
        if summary.other_encoder_runs:
            parts.append(
                f"{summary.other_encoder_runs} runs recorded with another encoder (not used)"
            )
        more = RECOMMENDED_RUNS - summary.labelled_runs
        if more > 0:
            parts.append(
                f"<span style='color:#b9770e'>Record and label about <b>{more}</b> more runs "
                f"before trusting the advice (about {RECOMMENDED_RUNS} in all).</span> "
                "You can train now; the result will say whether it beats guessing."
            )
        self.summary_label.setText("<br>".join(parts))
        if not self.running:
            self.start_button.setEnabled(summary.trainable)
            if not summary.trainable:
                self.status.setText(
                    "Nothing to train on yet. Play a raid with F8 (start) → F9 (when you head "
                    "out) → F8 (end), type in what you took home, and it appears here."
                )

    def config(self) -> TrainConfig:
        """The defaults with what the player chose (epochs, learning rate, batch size)."""
        return replace(
            self.defaults,
            epochs=self.epochs.value(),
            lr=self.lr.value(),
            batch_size=self.batch.value(),
        )

    @property
    def running(self) -> bool:
        return self.worker is not None

    # ---------------------------------------------------------------- control
    def start(self) -> None:
        if self.running or not self.summary.trainable:
            return
        config = self.config()
        try:
            worker = self._factory(config)
        except Exception as exc:  # a bad dataset or config is reported, not raised
            log.exception("could not start training")
            self.status.setText(f"Could not start: {exc}")
            return
        self.worker = worker
        self._config = config
        self.verdict = None
        self.verdict_label.clear()
        self.last_result = None
        self._epochs = config.epochs
        self.chart.clear()
        self.metrics_label.clear()
        self.progress.setValue(0)
        self.progress.setFormat("%p %")
        worker.started.connect(self._on_started)
        worker.progress.connect(self._on_progress)
        worker.epochEnded.connect(self._on_epoch_end)
        worker.result.connect(self._on_result)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(lambda w=worker: self._on_finished(w))
        self._set_running(True)
        self.status.setText("Starting…")
        worker.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.status.setText("Cancelling after the current step…")
            self.cancel_button.setEnabled(False)
            self.worker.request_stop()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running and self.summary.trainable)
        self.cancel_button.setEnabled(running)
        for w in (self.epochs, self.lr, self.batch):
            w.setEnabled(not running)

    def _done(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.wait(5000)
            worker.deleteLater()
        self._set_running(False)

    # ---------------------------------------------------------------- worker signals
    def _on_started(self) -> None:
        self.status.setText("Training…")

    def _on_progress(self, p: TrainProgress) -> None:
        """A step (or epoch end): bar, ETA, train-loss curve."""
        epochs = p.epochs or self._epochs
        self._epochs = epochs
        frac = min(1.0, p.step / p.total_steps) if p.total_steps else 0.0
        self.progress.setValue(round(1000 * frac))
        self.chart.add_train(frac * epochs, p.train_loss)
        eta = format_eta(p.eta_s)
        bits = [f"epoch {p.epoch}/{epochs}", f"train loss {p.train_loss:.4g}"]
        if p.val_loss is not None:
            bits.append(f"val loss {p.val_loss:.4g}")
        if p.samples_per_s:
            bits.append(f"{p.samples_per_s:,.0f} samples/s")
        bits.append(f"ETA {eta}")
        self.status.setText(" · ".join(bits))
        self.progress.setFormat(f"%p %  ·  ETA {eta}")

    def _on_epoch_end(self, p: TrainProgress) -> None:
        """An epoch's validation: one point on the validation curve."""
        if p.val_loss is not None:
            self.chart.add_val(float(p.epoch), p.val_loss)

    def _on_result(self, result: TrainResult) -> None:
        data = getattr(self.worker, "data", None)
        self._done()
        self.last_result = result
        if result.stopped == "cancelled":
            self.status.setText("Cancelled. The model in use is unchanged.")
            self.progress.setFormat("cancelled")
            return
        self.progress.setValue(1000)
        self.progress.setFormat("done")
        metrics = result_metrics(result)
        if metrics:
            rows = "".join(
                f"<tr><td>{k}</td><td align='right'><b>{v}</b></td></tr>"
                for k, v in metrics.items()
            )
            self.metrics_label.setText(f"<b>Validation</b><table>{rows}</table>")
        self.status.setText("Finished. Checking the new model…")
        if result.verdict is not None:  # judged in the training process (child.judge_in_child)
            self.show_verdict(result.verdict)
        elif result.verdict_error is not None:
            self.verdict_label.setText(f"Quality not checked: {escape(result.verdict_error)}")
        elif data is not None and result.checkpoint_path is not None and self._config is not None:
            self.verdict_label.setText("<i>Testing the new model on your held-out runs…</i>")
            config, judge = self._config, self._judge
            call_off_thread(
                lambda: judge(data, result, config),
                self.show_verdict,
                lambda msg: self.verdict_label.setText(f"Quality not checked: {escape(msg)}"),
                name="arcx-verdict",
            )
        self.modelReady.emit(result)

    def show_verdict(self, verdict: Verdict) -> None:
        """The new model's quality in words: green when it beats guessing, loud red when not."""
        self.verdict = verdict
        lines = "".join(f"<li>{escape(line)}</li>" for line in verdict.lines)
        if verdict.warn:
            head = f"<span style='color:#c0392b'><b>⚠ {escape(verdict.headline)}</b></span>"
        else:
            head = f"<span style='color:#1f8f4e'><b>✓ {escape(verdict.headline)}</b></span>"
        self.verdict_label.setText(f"{head}<ul style='margin:2px'>{lines}</ul>")
        self.verdictReady.emit(verdict)

    def _on_finished(self, worker: TrainingWorker) -> None:
        """The worker's thread ended; after a result or an error it is already let go."""
        if worker is self.worker:
            self._done()
            self.status.setText("Training stopped without a result.")

    def _on_errored(self, message: str) -> None:
        self._done()
        self.progress.setFormat("failed")
        self.status.setText(f"Training failed: {message}")

    # ---------------------------------------------------------------- app feedback
    def show_swap_result(self, ok: bool, message: str, *, can_roll_back: bool = False) -> None:
        """The app verified (and swapped in) the new model, or refused it."""
        self.status.setText(message if ok else f"New model not used: {message}")
        self.rollback_button.setEnabled(can_roll_back)

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 (Qt override)
        if self.worker is not None:
            self.worker.request_stop()
            self.worker.wait(10000)
            self.worker = None
        super().closeEvent(event)
