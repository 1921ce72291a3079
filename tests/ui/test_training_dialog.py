"""Training dialog against a scripted worker: start, progress, cancel, finish, errors."""

from dataclasses import dataclass

import pytest
from PyQt6.QtCore import QObject, pyqtSignal

from app.ui.training_dialog import (
    DatasetSummary,
    TrainingDialog,
    TrainParams,
    format_eta,
    result_metrics,
    summarise_runs,
)

pytestmark = pytest.mark.gui


@dataclass(frozen=True)
class Progress:
    """Shaped like app.core.training.trainer.TrainProgress (epoch is 1-based)."""

    epoch: int
    epochs: int
    step: int
    total_steps: int
    train_loss: float
    val_loss: float | None
    samples_per_s: float
    eta_s: float


@dataclass(frozen=True)
class Result:
    metrics: dict
    stopped: str = "completed"


class ScriptedWorker(QObject):
    started = pyqtSignal()
    progress = pyqtSignal(object)
    epochEnded = pyqtSignal(object)
    finished = pyqtSignal(object)
    errored = pyqtSignal(str)

    def __init__(self, params):
        super().__init__()
        self.params = params
        self.stop_requested = False
        self.started_calls = 0

    def start(self):
        self.started_calls += 1
        self.started.emit()

    def request_stop(self):
        self.stop_requested = True

    def wait(self, ms=0):
        return True


@dataclass(frozen=True)
class Run:
    outcome: str | None
    n_decisions: int
    encoder_id: str = "enc-a"


SUMMARY = DatasetSummary(labelled_runs=3, decisions=900, unlabelled_runs=1)


@pytest.fixture
def dialog(qtbot):
    workers = []

    def factory(params):
        w = ScriptedWorker(params)
        workers.append(w)
        return w

    d = TrainingDialog(SUMMARY, factory)
    qtbot.addWidget(d)
    d.workers = workers
    return d


def test_summary_counts_labelled_unlabelled_and_other_encoders():
    runs = [Run("extracted", 100), Run("died", 50), Run(None, 70), Run("died", 30, "enc-b")]
    assert summarise_runs(runs, "enc-a") == DatasetSummary(2, 150, 1, 1)
    assert summarise_runs(runs) == DatasetSummary(3, 180, 1, 0)


def test_start_needs_labelled_data(qtbot):
    d = TrainingDialog(DatasetSummary(0, 0, 5), lambda p: pytest.fail("must not start"))
    qtbot.addWidget(d)
    assert not d.start_button.isEnabled()
    d.start()
    assert "Label at least one run" in d.status.text()


def test_start_passes_the_parameters_and_locks_them(dialog):
    dialog.epochs.setValue(7)
    dialog.lr.setValue(0.001)
    dialog.batch.setValue(32)
    dialog.start_button.click()
    (worker,) = dialog.workers
    assert worker.params == TrainParams(7, 0.001, 32)
    assert worker.started_calls == 1
    assert (
        dialog.running and not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    )
    assert not dialog.epochs.isEnabled()
    dialog.start()  # a second click while running does nothing
    assert len(dialog.workers) == 1


def test_progress_moves_the_bar_chart_and_eta(dialog):
    dialog.epochs.setValue(2)
    dialog.start()
    w = dialog.workers[0]
    w.progress.emit(Progress(1, 2, 5, 20, 0.5, None, 1000.0, 90.0))
    assert dialog.progress.value() == 250
    text = dialog.status.text()
    assert "epoch 1/2" in text and "ETA 1 min 30 s" in text and "train loss 0.5" in text
    end_of_epoch = Progress(1, 2, 10, 20, 0.4, 0.45, 1000.0, 45.0)
    w.progress.emit(end_of_epoch)
    w.epochEnded.emit(end_of_epoch)
    w.progress.emit(Progress(2, 2, 11, 20, 0.39, 0.45, 1000.0, 40.0))  # val of epoch 1 again
    assert dialog.chart.train == [(0.5, 0.5), (1.0, 0.4), (1.1, 0.39)]
    assert dialog.chart.val == [(1.0, 0.45)]  # one point per epoch, not per step


def test_cancel_asks_the_worker_to_stop_and_keeps_the_model(qtbot, dialog):
    dialog.start()
    w = dialog.workers[0]
    dialog.cancel_button.click()
    assert w.stop_requested
    with qtbot.assertNotEmitted(dialog.modelReady):
        w.finished.emit(Result({}, stopped="cancelled"))
    assert "Cancelled" in dialog.status.text()
    assert not dialog.running and dialog.start_button.isEnabled()


def test_finish_shows_metrics_and_hands_the_result_over(qtbot, dialog):
    dialog.start()
    w = dialog.workers[0]
    result = Result({"best_val_loss": 0.0791, "epochs_run": 12, "train_decisions": 41280})
    with qtbot.waitSignal(dialog.modelReady) as blocker:
        w.finished.emit(result)
    assert blocker.args == [result]
    text = dialog.metrics_label.text()
    assert "validation loss (best epoch)" in text and "0.0791" in text and "41,280" in text
    dialog.show_swap_result(True, "New model in use.", can_roll_back=True)
    assert dialog.status.text() == "New model in use." and dialog.rollback_button.isEnabled()
    dialog.show_swap_result(False, "encoder mismatch")
    assert "not used: encoder mismatch" in dialog.status.text()


def test_errors_are_shown(dialog):
    dialog.start()
    dialog.workers[0].errored.emit("out of memory")
    assert "Training failed: out of memory" in dialog.status.text()
    assert not dialog.running


def test_factory_failure_is_shown(qtbot):
    def bad(params):
        raise ValueError("no labelled runs for this encoder")

    d = TrainingDialog(SUMMARY, bad)
    qtbot.addWidget(d)
    d.start()
    assert "no labelled runs" in d.status.text() and not d.running


def test_rollback_button(qtbot):
    d = TrainingDialog(SUMMARY, ScriptedWorker, can_roll_back=True)
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.rollbackRequested):
        d.rollback_button.click()


def test_helpers():
    assert format_eta(None) == "—"
    assert format_eta(42) == "42 s"
    assert format_eta(3725) == "1 h 02 min"
    assert result_metrics(Result({"val_loss": 0.5, "note": "x", "ok": True})) == {"val loss": "0.5"}
    assert result_metrics({"epochs": 3}) == {"epochs": "3"}
