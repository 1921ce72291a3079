"""CaptureWorker: start, progress, stop within one frame, errors become `errored`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.capture.replay import ReplaySource
from app.core.capture.synthetic import SyntheticSource
from app.core.engine import Engine, EngineConfig, FrameResult, Notice
from app.workers.capture import CaptureWorker

pytestmark = pytest.mark.gui


class FakeEncoder:
    name = "fake-path"

    def encode(self, frames: np.ndarray) -> np.ndarray:
        return frames.reshape(len(frames), -1)[:, :8].astype(np.float32)


def engine_for(source, **cfg) -> Engine:
    return Engine(source, config=EngineConfig(**cfg), encoder=FakeEncoder(), encoder_id="fake")


def test_start_progress_stop(qtbot) -> None:
    engine = engine_for(SyntheticSource(160, 90), fps=30.0)
    worker = CaptureWorker(engine)
    warm_msgs: list[str] = []
    worker.warming.connect(warm_msgs.append)
    with qtbot.waitSignals([worker.started, worker.progress], order="strict", timeout=30_000) as blocker:
        worker.start()
    result = blocker.all_signals_and_args[-1].args[0]
    assert isinstance(result, FrameResult) and result.fed
    assert any("engine ready" in m for m in warm_msgs)  # the worker warmed the engine up
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        worker.request_stop()
    assert worker.wait(30_000) and not worker.isRunning()
    assert engine.status().frames_seen >= 1


def test_stop_takes_effect_within_one_frame_not_at_the_next_deadline(qtbot) -> None:
    # 0.01 FPS: the next frame would be 100 s away; stopping must not wait for it.
    engine = engine_for(SyntheticSource(160, 90), fps=0.01, min_fps=0.01)
    worker = CaptureWorker(engine)
    with qtbot.waitSignal(worker.progress, timeout=30_000):
        worker.start()
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        worker.request_stop()
    assert engine.status().frames_seen == 1


def test_an_exception_becomes_errored_then_finished(qtbot, tmp_path: Path) -> None:
    engine = engine_for(ReplaySource(tmp_path / "missing.npz"))
    worker = CaptureWorker(engine)
    with qtbot.waitSignals([worker.errored, worker.finished], order="strict", timeout=30_000) as blocker:
        worker.start()
    message = blocker.all_signals_and_args[0].args[0]
    assert "replay source not found" in message
    assert worker.wait(30_000)


def test_engine_notices_are_forwarded_and_unsubscribed(qtbot) -> None:
    engine = engine_for(SyntheticSource(160, 90, black=True), fps=30.0, black_after_s=0.0)
    worker = CaptureWorker(engine)
    with qtbot.waitSignal(worker.notice, timeout=30_000, check_params_cb=lambda n: n.kind == "capture_problem") as blocker:
        worker.start()
    notice = blocker.args[0]
    assert isinstance(notice, Notice) and "black" in notice.message
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        worker.request_stop()
    assert engine._notice_listeners == []
