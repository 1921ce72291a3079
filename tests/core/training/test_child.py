"""Training in a spawned child process (app/core/training/child.py)."""

from __future__ import annotations

import logging
import os
import signal
import threading

import numpy as np
import pytest

from app.core.capture.synthetic import SyntheticSource
from app.core.engine import Engine, EngineConfig, EngineThreads, EVTick
from app.core.errors import DataError
from app.core.training.child import (
    TrainingCrashed,
    config_from_dict,
    result_from_dict,
    result_to_dict,
    train_in_child,
)
from app.core.training.trainer import TrainConfig, TrainProgress
from tests.coretypes import D, small_config, small_dataset


class GridEncoder:
    """Latent = the red channel's means over a 4×4 grid: cheap and frame-dependent."""

    name = "grid"

    def encode(self, frames: np.ndarray) -> np.ndarray:
        B, H, W, _ = frames.shape
        grid = frames[:, : H // 4 * 4, : W // 4 * 4].reshape(B, 4, H // 4, 4, W // 4, 3).mean(axis=(2, 4))
        return (grid[..., 0].reshape(B, D) / 255.0).astype(np.float32)


def test_config_and_result_round_trip_as_plain_data():
    cfg = small_config(lr=3e-4, seed=7)
    assert config_from_dict(cfg.to_dict()) == cfg
    assert config_from_dict(TrainConfig().to_dict()) == TrainConfig()


def test_training_runs_in_a_child_and_reports_progress_and_result(tmp_path, caplog):
    out = tmp_path / "qnet.safetensors"
    pids: list[int] = []
    steps: list[TrainProgress] = []
    epochs: list[TrainProgress] = []
    with caplog.at_level(logging.INFO):
        result = train_in_child(
            small_config(), small_dataset(), out,
            on_step=steps.append, on_epoch_end=epochs.append, on_started=pids.append,
        )
    assert pids and pids[0] != os.getpid()
    assert result.stopped in ("completed", "early_stopped") and result.checkpoint_path == out and out.is_file()
    assert [p.epoch for p in epochs] == [1, 2] and steps[-1].step == steps[-1].total_steps
    assert result_from_dict(result_to_dict(result)) == result
    # the child's log records are logged here, under their own logger names
    assert any(r.name == "app.core.training.install" and "model saved" in r.getMessage() for r in caplog.records)


def test_cancel_reaches_the_child_and_nothing_is_written(tmp_path):
    out = tmp_path / "qnet.safetensors"
    cancel = threading.Event()
    result = train_in_child(small_config(epochs=50), small_dataset(), out, on_step=lambda p: cancel.set(), cancel=cancel)
    assert result.stopped == "cancelled" and result.checkpoint_path is None and not out.exists()


def test_an_arcx_error_in_the_child_is_raised_here_as_the_same_class(tmp_path):
    (tmp_path / "no-runs").mkdir()
    with pytest.raises(DataError, match="no labelled runs"):
        train_in_child(small_config(), tmp_path / "no-runs", tmp_path / "qnet.safetensors")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["killed", "segfault"])
def test_a_crash_in_the_child_is_reported_and_the_engine_keeps_running(tmp_path, sig):
    """A child that dies mid-training is a TrainingCrashed; the live engine beside it ticks on."""
    engine = Engine(SyntheticSource(64, 36), config=EngineConfig(), encoder=GridEncoder(), encoder_id="grid-0001")
    engine.warm_up(progress=lambda msg: None)
    engine.open_source()
    ticks: list[EVTick] = []
    ticked = threading.Event()

    def on_tick(t: EVTick) -> None:
        ticks.append(t)
        ticked.set()

    threads = EngineThreads(engine, on_tick=on_tick)
    threads.start()
    pids: list[int] = []
    out = tmp_path / "qnet.safetensors"
    try:
        with pytest.raises(TrainingCrashed, match=signal.Signals(sig).name) as caught:
            train_in_child(
                small_config(epochs=50), small_dataset(), out,
                on_started=pids.append, on_step=lambda p: os.kill(pids[0], sig),
            )
        assert "installed model is unchanged" in str(caught.value) and not out.exists()
        before = len(ticks)
        ticked.clear()
        assert ticked.wait(30.0)  # the engine still ticks after the crash
        assert len(ticks) > before and threads.error is None and not threads.wait(0)
    finally:
        threads.stop()
        engine.close_source()


def test_the_child_judges_the_new_model_as_verdict_for_would_here(tmp_path):
    """judge=True: the verdict comes back with the result, the same as scoring here."""
    from dataclasses import replace

    from app.core.training.verdict import verdict_for

    out = tmp_path / "qnet.safetensors"
    config, data = small_config(), small_dataset()
    judged = train_in_child(config, data, out, judge=True)
    assert judged.verdict is not None and judged.verdict_error is None
    here = verdict_for(data, replace(judged, verdict=None), config)
    assert judged.verdict.level == here.level and judged.verdict.headline == here.headline
    assert judged.verdict.new_loss == pytest.approx(here.new_loss, rel=1e-6)
    assert judged.verdict.baseline_loss == pytest.approx(here.baseline_loss, rel=1e-12)
    assert result_from_dict(result_to_dict(judged)) == judged  # travels as plain data
    plain = train_in_child(config, data, tmp_path / "other.safetensors")
    assert plain.verdict is None and plain.verdict_error is None  # only when asked


def test_a_verdict_that_fails_in_the_child_is_reported_and_the_model_kept(tmp_path):
    from app.core.training.child import judge_in_child
    from tests.coretypes import train_result

    result = judge_in_child(tmp_path / "no-runs", train_result(checkpoint_path=tmp_path / "x.safetensors"), small_config())
    assert result.verdict is None and result.verdict_error  # in words, not raised
