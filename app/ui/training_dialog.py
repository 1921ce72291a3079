"""The training dialog: dataset summary, hyper-parameters, progress, live loss, result.

The dialog never trains anything itself. Start asks the app for a `TrainingWorker`
(through `worker_factory`) and shows what its signals report: a progress bar with ETA,
the live train / validation loss chart, and at the end the validation metrics. When the
worker finishes, `modelReady` carries its result to the app, which verifies the new
checkpoint and hot-swaps it into the engine (`show_swap_result` reports back). The
previous model stays available: "Roll back" asks the app to switch to it again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import pyqtSignal
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

from app.ui.loss_chart import LossChart

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainParams:
    """What the player chooses in the dialog."""

    epochs: int = 20
    """passes over the labelled decisions"""
    learning_rate: float = 3e-4
    """AdamW learning rate"""
    batch_size: int = 64
    """decisions per optimiser step"""


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


def summarise_runs(runs: Sequence[Any], encoder_id: str | None = None) -> DatasetSummary:
    """RunInfo-like objects → `DatasetSummary` (runs of another encoder are counted apart)."""
    labelled = decisions = unlabelled = other = 0
    for r in runs:
        if getattr(r, "outcome", None) is None:
            unlabelled += 1
        elif encoder_id is not None and getattr(r, "encoder_id", encoder_id) != encoder_id:
            other += 1
        else:
            labelled += 1
            decisions += int(getattr(r, "n_decisions", 0) or 0)
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


def result_metrics(result: Any) -> dict[str, str]:
    """A trainer's result (dataclass, mapping or object) → label → text for the dialog."""
    raw: Mapping[str, Any]
    metrics = getattr(result, "metrics", None)
    if isinstance(metrics, Mapping):
        raw = metrics
    elif isinstance(result, Mapping):
        raw = result
    elif hasattr(result, "__dataclass_fields__"):
        raw = {k: getattr(result, k) for k in result.__dataclass_fields__}
    else:
        raw = {}
    out: dict[str, str] = {}
    for k, v in raw.items():
        if isinstance(v, bool) or v is None:
            continue
        if k in METRIC_LABELS and isinstance(v, int | float):
            label, fmt = METRIC_LABELS[k]
            out[label] = fmt.format(v)
        elif isinstance(v, float):
            out[k.replace("_", " ")] = f"{v:.4g}"
        elif isinstance(v, int):
            out[k.replace("_", " ")] = str(v)
    return out


class TrainingDialog(QDialog):
    """Train a model on the labelled runs.

    Signals:
        modelReady(object): training finished; the worker's result (with the checkpoint).
        rollbackRequested(): switch the engine back to the previous model.
    """

    modelReady = pyqtSignal(object)
    rollbackRequested = pyqtSignal()

    def __init__(
        self,
        summary: DatasetSummary,
        worker_factory: Callable[[TrainParams], Any],
        parent: QWidget | None = None,
        *,
        defaults: TrainParams | None = None,
        can_roll_back: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("ArcX — train model")
        self.resize(560, 560)
        self._factory = worker_factory
        self.worker: Any | None = None
        self.last_result: Any | None = None
        self._epochs = 1
        defaults = defaults or TrainParams()

        data_box = QGroupBox("Your data")
        data_form = QFormLayout(data_box)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        data_form.addRow(self.summary_label)

        params = QGroupBox("Training")
        form = QFormLayout(params)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(defaults.epochs)
        form.addRow("Epochs", self.epochs)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 1e-1)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(defaults.learning_rate)
        form.addRow("Learning rate", self.lr)
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(defaults.batch_size)
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
        self.summary_label.setText("<br>".join(parts))
        if not self.running:
            self.start_button.setEnabled(summary.trainable)
            if not summary.trainable:
                self.status.setText("Label at least one run to train (Runs… in the tray menu).")

    def params(self) -> TrainParams:
        return TrainParams(self.epochs.value(), self.lr.value(), self.batch.value())

    @property
    def running(self) -> bool:
        return self.worker is not None

    # ---------------------------------------------------------------- control
    def start(self) -> None:
        if self.running or not self.summary.trainable:
            return
        params = self.params()
        try:
            worker = self._factory(params)
        except Exception as exc:  # a bad dataset or config is reported, not raised
            log.exception("could not start training")
            self.status.setText(f"Could not start: {exc}")
            return
        self.worker = worker
        self.last_result = None
        self._epochs = params.epochs
        self.chart.clear()
        self.metrics_label.clear()
        self.progress.setValue(0)
        self.progress.setFormat("%p %")
        worker.started.connect(self._on_started)
        worker.progress.connect(self._on_progress)
        if hasattr(worker, "epochEnded"):
            worker.epochEnded.connect(self._on_epoch_end)
        worker.finished.connect(self._on_finished)
        worker.errored.connect(self._on_errored)
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

    def _on_progress(self, p: Any) -> None:
        """A step (or epoch end): bar, ETA, train-loss curve. `p` is a TrainProgress."""
        total = int(getattr(p, "total_steps", 0) or 0)
        step = int(getattr(p, "step", 0) or 0)
        epoch = int(getattr(p, "epoch", 0) or 0)
        epochs = int(getattr(p, "epochs", 0) or self._epochs)
        self._epochs = epochs
        frac = min(1.0, step / total) if total else 0.0
        self.progress.setValue(round(1000 * frac))
        train_loss = getattr(p, "train_loss", None)
        if train_loss is not None:
            self.chart.add_train(frac * epochs, float(train_loss))
        val_loss = getattr(p, "val_loss", None)
        speed = getattr(p, "samples_per_s", None)
        eta = format_eta(getattr(p, "eta_s", None))
        bits = [f"epoch {epoch}/{epochs}"]
        if train_loss is not None:
            bits.append(f"train loss {float(train_loss):.4g}")
        if val_loss is not None:
            bits.append(f"val loss {float(val_loss):.4g}")
        if speed:
            bits.append(f"{float(speed):,.0f} samples/s")
        bits.append(f"ETA {eta}")
        self.status.setText(" · ".join(bits))
        self.progress.setFormat(f"%p %  ·  ETA {eta}")

    def _on_epoch_end(self, p: Any) -> None:
        """An epoch's validation: one point on the validation curve."""
        val_loss = getattr(p, "val_loss", None)
        if val_loss is not None:
            self.chart.add_val(float(getattr(p, "epoch", 0)), float(val_loss))

    def _on_finished(self, result: Any) -> None:
        self._done()
        self.last_result = result
        if getattr(result, "stopped", None) == "cancelled" or getattr(result, "cancelled", False):
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
        self.modelReady.emit(result)

    def _on_errored(self, message: str) -> None:
        self._done()
        self.progress.setFormat("failed")
        self.status.setText(f"Training failed: {message}")

    # ---------------------------------------------------------------- app feedback
    def show_swap_result(self, ok: bool, message: str, *, can_roll_back: bool = False) -> None:
        """The app verified (and swapped in) the new model, or refused it."""
        self.status.setText(message if ok else f"New model not used: {message}")
        self.rollback_button.setEnabled(can_roll_back)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        if self.worker is not None:
            self.worker.request_stop()
            self.worker.wait(10000)
            self.worker = None
        super().closeEvent(event)
