"""Training dialog against a scripted worker: start, progress, cancel, finish, errors."""

import pytest
from PyQt6.QtCore import QObject, pyqtSignal

from app.core.training.trainer import TrainConfig, TrainProgress, TrainResult
from app.ui.training_dialog import (
    DatasetSummary,
    TrainingDialog,
    format_eta,
    result_metrics,
    summarise_runs,
)
from tests.coretypes import run_info, train_result
from tests.coretypes import train_progress as Progress

pytestmark = pytest.mark.gui


class ScriptedWorker(QObject):
    """Plays a TrainingWorker: the same signals, emitted by the test."""

    started = pyqtSignal()
    progress = pyqtSignal(TrainProgress)
    epochEnded = pyqtSignal(TrainProgress)
    result = pyqtSignal(TrainResult)
    errored = pyqtSignal(str)
    finished = pyqtSignal()

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.stop_requested = False
        self.started_calls = 0

    def start(self):
        self.started_calls += 1
        self.started.emit()

    def request_stop(self):
        self.stop_requested = True

    def wait(self, ms=0):
        return True


def Run(outcome, n_decisions, encoder_id="enc-a"):  # noqa: N802 (reads like the old fake)
    return run_info(outcome=outcome, n_decisions=n_decisions, encoder_id=encoder_id)


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
    assert "Nothing to train on yet" in d.status.text()


def test_start_passes_the_parameters_and_locks_them(dialog):
    dialog.epochs.setValue(7)
    dialog.lr.setValue(0.001)
    dialog.batch.setValue(32)
    dialog.start_button.click()
    (worker,) = dialog.workers
    assert worker.config == TrainConfig(epochs=7, lr=0.001, batch_size=32)
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
        w.result.emit(train_result(stopped="cancelled", checkpoint_path=None))
        w.finished.emit()
    assert "Cancelled" in dialog.status.text()
    assert not dialog.running and dialog.start_button.isEnabled()


def test_finish_shows_metrics_and_hands_the_result_over(qtbot, dialog):
    dialog.start()
    w = dialog.workers[0]
    result = train_result()
    with qtbot.waitSignal(dialog.modelReady) as blocker:
        w.result.emit(result)
    w.finished.emit()  # the thread ends after its result: nothing more happens
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
    metrics = result_metrics(train_result(best_val_loss=None, history=()))
    assert metrics["epochs run"] == "12" and metrics["training decisions"] == "41,280"
    assert "validation loss (best epoch)" not in metrics  # no validation split


def test_the_dialog_edits_the_defaults_it_was_given(qtbot):
    defaults = TrainConfig(epochs=30, batch_size=256, patience=9, encoder_id="enc-a")
    d = TrainingDialog(SUMMARY, ScriptedWorker, defaults=defaults)
    qtbot.addWidget(d)
    assert (d.epochs.value(), d.batch.value(), d.lr.value()) == (30, 256, TrainConfig().lr)
    d.epochs.setValue(4)
    assert d.config() == TrainConfig(epochs=4, batch_size=256, patience=9, encoder_id="enc-a")


def test_a_worker_that_ends_without_a_result_frees_the_dialog(dialog):
    dialog.start()
    dialog.workers[0].finished.emit()
    assert not dialog.running and "without a result" in dialog.status.text()
