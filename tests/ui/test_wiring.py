"""The real engine behind the app: hot-swap of a freshly trained model only after it
verified, roll-back, a refused model, training on the app's device, and the worker
threads feeding the bridge."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PyQt6.QtWidgets import QApplication

import app.core.device
from app.core.capture.replay import ReplaySource
from app.core.capture.synthetic import SyntheticSource
from app.core.config import Settings
from app.core.data.recorder import RunRecorder, list_runs
from app.core.data.synthetic import SyntheticConfig, record_runs
from app.core.engine import Engine, EngineConfig
from app.core.model.qnet import QNetConfig
from app.core.model.slot import ModelSlot
from app.core.training.trainer import TrainConfig
from app.ui import wiring
from app.ui.controller import AppController
from app.ui.hotkeys import FakeHotkeyBackend, HotkeyManager
from app.ui.overlay import OverlayMode, OverlayWindow
from app.ui.runs_view import CoreRunStore
from app.ui.tray import TrayIcon
from app.workers import runner as workers_runner
from app.workers.bridge import EngineBridge
from app.workers.runner import EngineRunner
from app.workers.training import TrainingWorker

pytestmark = pytest.mark.gui

D, L = 16, 8


class FakeEncoder:
    """D-dim latents from pixels: plays the frozen encoder of the synthetic runs."""

    name = "fake-path"

    def encode(self, frames: np.ndarray) -> np.ndarray:
        x = frames.reshape(len(frames), -1)[:, :D].astype(np.float32) / 255.0
        return x


def synthetic_cfg(world_seed: int = 0) -> SyntheticConfig:
    return SyntheticConfig(
        latent_dim=D, max_duration_s=60.0, threshold_median=20_000.0, world_seed=world_seed
    )


def recorded_runs(root, world_seed: int = 0, seed: int = 1):
    """Five labelled synthetic runs written through the real recorder under `root`."""
    return record_runs(root, 5, synthetic_cfg(world_seed), seed=seed)


def train_config(**kw) -> TrainConfig:
    qnet = QNetConfig(latent_dim=D, seq_len=L, hidden=16, num_layers=1, attn_dim=16, head_dim=32)
    base = dict(
        epochs=2, batch_size=64, device="cpu", precision="fp32", qnet=qnet, window=L, num_threads=1
    )
    return TrainConfig(**{**base, **kw})


@pytest.fixture
def app_with_engine(qtbot, tmp_path):
    engine = Engine(
        SyntheticSource(160, 90),
        config=EngineConfig(window=L),
        encoder=FakeEncoder(),
        encoder_id=synthetic_cfg().encoder_id,
    )
    engine.warm_up()
    models = ModelSlot(engine)
    out = tmp_path / "models" / "qnet.safetensors"
    runs = tmp_path / "runs"
    recorded_runs(runs)
    data = {"root": runs, "encoder_id": engine.encoder_id}
    tray = TrayIcon(use_pystray=False)
    notes = []
    tray.notify = lambda title, msg: notes.append(msg)
    overlay = OverlayWindow()
    qtbot.addWidget(overlay)
    controller = AppController(
        Settings(),
        engine=engine,
        run_store=CoreRunStore(runs),
        tray=tray,
        hotkeys=HotkeyManager(FakeHotkeyBackend()),
        overlay=overlay,
        models=models,
        bridge=EngineBridge(),
        training_worker=lambda config: TrainingWorker(
            train_config(epochs=config.epochs, encoder_id=data["encoder_id"]), data["root"], out
        ),
        encoder_id=lambda: engine.encoder_id,
    )
    yield engine, models, controller, out, data, notes
    for w in QApplication.topLevelWidgets():
        w.close()


def train_in_dialog(qtbot, dialog):
    with qtbot.waitSignal(dialog.modelReady, timeout=120_000) as blocker:
        dialog.start()
    return blocker.args[0]


def test_train_in_the_dialog_then_hot_swap_and_roll_back(qtbot, app_with_engine):
    engine, models, controller, out, data, notes = app_with_engine
    assert engine.status().model is None and not controller.status().has_model
    dialog = controller.show_training()
    assert dialog.summary.labelled_runs == 5 and dialog.start_button.isEnabled()
    dialog.epochs.setValue(2)
    first = train_in_dialog(qtbot, dialog)
    assert first.checkpoint_path == out
    info = engine.status().model
    assert info is not None and info.path == str(out)  # swapped in, capture never stopped
    assert controller.status().has_model and "New model in use" in dialog.status.text()
    assert not dialog.rollback_button.isEnabled()  # nothing before it
    first_bytes = out.read_bytes()

    second = train_in_dialog(qtbot, dialog)  # a second model replaces it …
    prev = out.with_name("qnet.prev.safetensors")
    assert second.previous_path == prev and prev.read_bytes() == first_bytes
    assert dialog.rollback_button.isEnabled()
    second_bytes = out.read_bytes()
    dialog.rollback_button.click()  # … and the first one comes back, on disk too
    assert engine.status().model.path == str(out)
    assert out.read_bytes() == first_bytes and prev.read_bytes() == second_bytes  # survives a restart
    assert "Rolled back" in dialog.status.text()
    dialog.rollback_button.click()  # rolling back again undoes it
    assert out.read_bytes() == second_bytes and prev.read_bytes() == first_bytes


def test_a_cancelled_training_changes_nothing(qtbot, app_with_engine):
    engine, models, controller, out, data, notes = app_with_engine
    dialog = controller.show_training()
    dialog.epochs.setValue(50)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=60_000)
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert "Cancelled" in dialog.status.text()
    assert engine.status().model is None and not out.exists()


def test_a_model_of_another_encoder_is_refused_and_the_old_one_stays(qtbot, app_with_engine):
    engine, models, controller, out, data, notes = app_with_engine
    dialog = controller.show_training()
    train_in_dialog(qtbot, dialog)
    good = engine.status().model
    other = out.parent.parent / "other-runs"
    recorded_runs(other, world_seed=7)  # runs recorded with another encoder …
    data.update(root=other, encoder_id=None)  # … trained on anyway (the app filters them)
    train_in_dialog(qtbot, dialog)
    assert engine.status().model == good
    assert "not used" in dialog.status.text() and "encoder" in dialog.status.text()
    assert any("not used" in n for n in notes)


def test_gui_training_runs_on_the_device_the_app_chose(qtbot, monkeypatch, app_with_engine):
    """The device setting decided the app's device once, at start-up (`select_device`);
    training from the dialog uses that device and never decides again. The fake device
    `cpu:0` is one no decider returns, so the result shows whose choice it was."""
    engine, models, controller, out, data, notes = app_with_engine

    def second_decision(*args, **kwargs):
        raise AssertionError("GUI training decided the device again")

    monkeypatch.setattr(app.core.device, "select_device", second_decision)  # resolve_device's
    fake = torch.device("cpu", 0)
    controller.training_worker = wiring.training_worker_factory(engine, data["root"], out, fake)
    controller.train_defaults = train_config(device=None)  # the config alone would auto-detect
    dialog = controller.show_training()
    devices = []
    dialog.epochs.setValue(1)
    with qtbot.waitSignal(dialog.modelReady, timeout=120_000) as blocker:
        dialog.start()
        dialog.worker.progress.connect(lambda p: devices.append(p.device))
    result = blocker.args[0]
    assert result.device == "cpu:0" and set(devices) <= {"cpu:0"}
    assert controller.status().has_model


def test_runner_feeds_the_bridge_and_restarts_a_dead_capture(qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr(workers_runner, "CAPTURE_RETRY_MS", 50)
    bridge = EngineBridge()
    engine = Engine(
        ReplaySource(tmp_path / "missing.npz"), encoder=FakeEncoder(), encoder_id="fake"
    )
    runner = EngineRunner(engine, bridge)
    errors = []
    bridge.errored.connect(errors.append)
    runner.start()
    try:
        qtbot.waitUntil(lambda: len(errors) >= 2, timeout=30_000)  # failed, retried, failed again
        assert "replay source not found" in errors[0]
    finally:
        runner.stop()
    assert not runner.inference.isRunning()


def test_runner_ticks_reach_the_overlay(qtbot, app_with_engine, tmp_path):
    engine, models, controller, out, data, notes = app_with_engine
    engine.recorder = RunRecorder(tmp_path / "live-runs")  # start_run records
    runner = EngineRunner(engine, controller.bridge)
    runner.start()
    try:
        qtbot.waitUntil(lambda: engine.status().frames_seen > 0, timeout=30_000)
        controller.start_run()
        qtbot.waitUntil(lambda: engine.status().run_id is not None, timeout=30_000)
        # two more ticks: at least one whole tick ran while the run was recording
        ticks0 = engine.status().ticks
        qtbot.waitUntil(lambda: engine.status().ticks >= ticks0 + 2, timeout=30_000)
        with qtbot.waitSignal(
            controller.bridge.noEstimate, timeout=30_000, check_params_cb=lambda r: r == "no_model"
        ):
            pass  # an honest tick: recorded, no EV without a model
        assert controller.overlay.mode is OverlayMode.NO_MODEL
    finally:
        controller.end_run(outcome="died")
        qtbot.waitUntil(lambda: not controller.ending, timeout=30_000)
        runner.stop()
    (run,) = list_runs(tmp_path / "live-runs")
    assert run.outcome == "died" and run.n_decisions >= 1
