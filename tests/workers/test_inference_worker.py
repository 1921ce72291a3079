"""InferenceWorker: waits for warm-up, emits EV ticks as progress, stops within one tick, reports errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.capture.synthetic import SyntheticSource
from app.core.engine import Engine, EngineConfig, EVTick
from app.core.model.checkpoint import save_checkpoint
from app.core.model.qnet import QNetConfig, TemporalQNet
from app.workers.capture import CaptureWorker
from app.workers.inference import InferenceWorker

pytestmark = pytest.mark.gui

D = 8


class FakeEncoder:
    name = "fake-path"

    def encode(self, frames: np.ndarray) -> np.ndarray:
        return (frames.reshape(len(frames), -1)[:, :D] / 255.0).astype(np.float32)


def engine_for(**cfg) -> Engine:
    return Engine(SyntheticSource(160, 90), config=EngineConfig(**cfg), encoder=FakeEncoder(), encoder_id="fake")


def model(path: Path, value: float) -> Path:
    net = TemporalQNet(QNetConfig(latent_dim=D, hidden=4, num_layers=1, attn_dim=4, head_dim=4, num_quantiles=4))
    with torch.no_grad():
        net.head[-1].weight.zero_()
        net.head[-1].bias.fill_(value)
    return save_checkpoint(path, net, encoder_id="fake", value_scale=10.0, epoch=1, val_loss=0.1)


def test_ticks_with_capture_running_and_a_model(qtbot, tmp_path: Path) -> None:
    engine = engine_for(fps=30.0, interval_s=0.05)
    engine.load_model(model(tmp_path / "m.safetensors", 2.0))  # before warm-up: loaded by it
    capture = CaptureWorker(engine)
    inference = InferenceWorker(engine)
    inference.start()  # waits for the capture worker to warm the engine up
    capture.start()
    with qtbot.waitSignal(inference.progress, timeout=30_000, check_params_cb=lambda t: t.ev is not None) as blocker:
        pass
    tick = blocker.args[0]
    assert isinstance(tick, EVTick) and tick.ev is not None and tick.ev.ev_stay == pytest.approx(20.0)
    assert tick.frame_age_ms is not None and tick.frame_age_ms >= 0
    for w in (inference, capture):
        with qtbot.waitSignal(w.finished, timeout=30_000):
            w.request_stop()


def test_without_a_model_ticks_say_so(qtbot) -> None:
    engine = engine_for(interval_s=0.05)
    engine.warm_up(progress=lambda m: None)
    worker = InferenceWorker(engine)
    with qtbot.waitSignals([worker.started, worker.progress], order="strict", timeout=30_000) as blocker:
        worker.start()
    tick = blocker.all_signals_and_args[-1].args[0]
    assert tick.ev is None and tick.reason == "no_frames"
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        worker.request_stop()


def test_stop_within_one_tick_and_before_warm_up(qtbot) -> None:
    engine = engine_for(interval_s=120.0)
    idle = InferenceWorker(engine)  # never warmed up: waits, then stops on request
    idle.start()
    with qtbot.waitSignal(idle.finished, timeout=30_000):
        idle.request_stop()
    engine.warm_up(progress=lambda m: None)
    slow = InferenceWorker(engine)
    with qtbot.waitSignal(slow.progress, timeout=30_000):
        slow.start()
    with qtbot.waitSignal(slow.finished, timeout=30_000):  # long before the next tick, 120 s away
        slow.request_stop()


def test_an_exception_becomes_errored(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_for(interval_s=0.05)
    engine.warm_up(progress=lambda m: None)

    def broken() -> EVTick:
        raise RuntimeError("Q-net exploded")

    monkeypatch.setattr(engine, "inference_once", broken)
    worker = InferenceWorker(engine)
    with qtbot.waitSignals([worker.errored, worker.finished], order="strict", timeout=30_000) as blocker:
        worker.start()
    assert blocker.all_signals_and_args[0].args[0] == "RuntimeError: Q-net exploded"
