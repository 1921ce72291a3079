"""TrainingWorker: the real Trainer on a QThread with a small synthetic dataset."""

from __future__ import annotations

import pytest

from app.core.training.trainer import TrainProgress, TrainResult
from app.workers.training import TrainingWorker
from tests.coretypes import small_config, small_dataset

pytestmark = pytest.mark.gui



def test_signals_in_order_and_a_model_installed(qtbot, tmp_path):
    out = tmp_path / "qnet.safetensors"
    worker = TrainingWorker(small_config(), small_dataset(), out)
    progress: list[TrainProgress] = []
    epochs: list[TrainProgress] = []
    worker.progress.connect(progress.append)
    worker.epochEnded.connect(epochs.append)
    with qtbot.waitSignals(
        [worker.started, worker.progress, worker.epochEnded, worker.result, worker.finished],
        order="simple",
        timeout=120_000,
    ) as blocker:
        worker.start()
    result = blocker.all_signals_and_args[-2].args[0]
    assert worker.wait(10_000)
    assert isinstance(result, TrainResult) and result.stopped in ("completed", "early_stopped")
    assert result.checkpoint_path == out and out.is_file()
    assert all(isinstance(p, TrainProgress) for p in progress)
    assert [p.epoch for p in epochs] == [1, 2]
    assert epochs[-1].val_loss is not None
    assert progress[-1].step == progress[-1].total_steps  # the last step always goes out


def test_cancel_stops_after_a_step_and_writes_nothing(qtbot, tmp_path):
    out = tmp_path / "qnet.safetensors"
    worker = TrainingWorker(small_config(epochs=50), small_dataset(), out)
    worker.progress.connect(lambda p: worker.request_stop())
    with qtbot.waitSignal(worker.result, timeout=120_000) as blocker:
        worker.start()
    assert worker.wait(10_000)
    result = blocker.args[0]
    assert result.stopped == "cancelled" and result.checkpoint_path is None
    assert worker.stop_requested and not out.exists()


def test_nothing_to_train_on_becomes_errored(qtbot, tmp_path):
    worker = TrainingWorker(small_config(), tmp_path / "no-runs", tmp_path / "qnet.safetensors")
    (tmp_path / "no-runs").mkdir()
    with (
        qtbot.waitSignals([worker.errored, worker.finished], order="strict", timeout=60_000) as blocker,
        qtbot.assertNotEmitted(worker.result),
    ):
        worker.start()
        assert worker.wait(60_000)
    assert "no labelled runs" in blocker.all_signals_and_args[0].args[0]


def test_the_given_device_wins_over_the_config(qtbot, tmp_path, monkeypatch):
    """The app's device (passed in) is used even where the config names another."""
    import torch

    import app.core.device

    def second_decision(*args, **kwargs):
        raise AssertionError("the trainer decided the device again")

    monkeypatch.setattr(app.core.device, "select_device", second_decision)
    out = tmp_path / "qnet.safetensors"
    worker = TrainingWorker(
        small_config(epochs=1, device="auto"), small_dataset(), out, device=torch.device("cpu", 0)
    )
    with qtbot.waitSignal(worker.result, timeout=120_000) as blocker:
        worker.start()
    assert worker.wait(10_000)
    assert blocker.args[0].device == "cpu:0"
