"""Builds the real engine for the desktop app and connects it to the UI.

    build(settings, device_report, bridge) → Parts   (what `app.ui.app.start` needs)

* Frame source: the screen region of the settings (`app.core.capture.factory`); the
  environment variable `ARCX_SOURCE` (`synthetic`, `sim`, `replay:PATH`) swaps it for a
  demo or a replay.
* `Engine` with a `RunRecorder` on the user's runs folder; its capture and inference
  loops run in the `CaptureWorker` / `InferenceWorker` QThreads, whose signals feed the
  `EngineBridge`. The capture worker warms the engine up (the first time this builds
  the fast encoder for the machine). A capture loop that stops on an error is restarted
  after `CAPTURE_RETRY_MS`: the app keeps running and the overlay says "capture lost".
* `EngineModels`: the player's model (`qnet.safetensors` in the user's models folder)
  is loaded at start; a newly trained one is swapped in only after the trainer verified
  it and `Engine.load_model` accepted it (hash, encoder, shapes); the one before stays
  available for roll-back.
* The overlay's rectangle is masked out of the captured frames (`Engine.set_masks`),
  on top of Windows' capture exclusion, so the encoder never reads our own numbers.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtWidgets import QApplication

from app.core import paths
from app.core.atomic import swap_files
from app.core.capture.base import Rect as CaptureRect
from app.core.capture.factory import screen_source, source_from_spec
from app.core.config import Settings
from app.core.data.recorder import RunRecorder
from app.core.device import DeviceReport
from app.core.engine import Engine, EngineConfig
from app.core.errors import ArcXError, CheckpointError
from app.core.training.trainer import DEFAULT_MODEL_NAME, TrainConfig
from app.ui import geometry
from app.ui.controller import EngineBridge
from app.ui.training_dialog import TrainParams
from app.workers.capture import CaptureWorker
from app.workers.inference import InferenceWorker
from app.workers.training import TrainingWorker

log = logging.getLogger(__name__)

SOURCE_ENV = "ARCX_SOURCE"
# A capture loop that died is started again after this long.
CAPTURE_RETRY_MS = 5000
# Longest wait for a worker thread at shutdown.
STOP_WAIT_MS = 5000


def model_path() -> Path:
    """Where the player's trained model lives (the trainer installs it there)."""
    return paths.user_models_dir() / DEFAULT_MODEL_NAME


class EngineModels:
    """`ModelSwapper` over an `Engine`: which model is loaded, and the one before it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.current: Path | None = None
        self.previous: Path | None = None

    def load_startup(self, path: Path) -> bool:
        """Load the player's model if there is one (before warm-up it is queued)."""
        if not path.is_file():
            log.info("no trained model at %s: recording only", path)
            return False
        try:
            self.engine.load_model(path)
        except CheckpointError as exc:
            log.warning("the saved model cannot be used: %s", exc)
            return False
        self.current = path
        return True

    @property
    def has_model(self) -> bool:
        return self.current is not None

    @property
    def can_roll_back(self) -> bool:
        return self.previous is not None and self.previous.is_file()

    def describe(self) -> str:
        info = self.engine.status().model
        if info is not None:
            return f"{Path(info.path).name}, epoch {info.epoch}, val loss {info.val_loss:.4g}"
        return self.current.name if self.current is not None else ""

    def swap_in(self, result: Any) -> str:
        """A finished `TrainResult`: its checkpoint was verified by the trainer; the
        engine verifies it again as it loads it, and keeps the old one on any error."""
        path = getattr(result, "checkpoint_path", None)
        if getattr(result, "stopped", None) == "cancelled" or path is None:
            raise ArcXError("training was cancelled; the model in use is unchanged")
        meta = self.engine.load_model(Path(path))
        previous = getattr(result, "previous_path", None)
        self.previous = Path(previous) if previous is not None else self.current
        self.current = Path(path)
        epoch = (
            f"epoch {meta.epoch}, val loss {meta.val_loss:.4g}"
            if meta is not None
            else "queued until warm-up"
        )
        kept = " The previous one is kept for roll-back." if self.can_roll_back else ""
        return f"New model in use ({epoch}).{kept}"

    def roll_back(self) -> str:
        """Swap the model files on disk (so the choice survives a restart) and load the
        rolled-back one; on a load error the files are swapped back."""
        if not self.can_roll_back:
            raise ArcXError("there is no previous model to roll back to")
        assert self.current is not None and self.previous is not None
        swap_files(self.current, self.previous)
        try:
            self.engine.load_model(self.current)
        except BaseException:
            swap_files(self.current, self.previous)
            raise
        return "Rolled back: the previous model is in use, also after a restart (roll back again to undo)."


class EngineRunner(QObject):
    """Owns the engine's worker threads: starts them, restarts capture, stops them."""

    def __init__(self, engine: Engine, bridge: EngineBridge) -> None:
        super().__init__()
        self.engine = engine
        self.bridge = bridge
        self.stopping = False
        self.capture: CaptureWorker | None = None
        self.inference = InferenceWorker(engine)
        self.inference.ev.connect(bridge.on_tick)
        self.inference.errored.connect(bridge.on_error)

    def start(self) -> None:
        self._start_capture()
        self.inference.start()

    def _start_capture(self) -> None:
        worker = CaptureWorker(self.engine)
        worker.warming.connect(self.bridge.on_warming)
        worker.notice.connect(self.bridge.on_notice)
        worker.errored.connect(self._on_capture_error)
        self.capture = worker
        worker.start()

    def _on_capture_error(self, message: str) -> None:
        self.bridge.on_error(message)
        if not self.stopping:
            log.info("capture stopped (%s); retrying in %d ms", message, CAPTURE_RETRY_MS)
            QTimer.singleShot(CAPTURE_RETRY_MS, self._restart_capture)

    def _restart_capture(self) -> None:
        if self.stopping:
            return
        old = self.capture
        if old is not None:
            old.wait(STOP_WAIT_MS)
        self._start_capture()

    def stop(self) -> None:
        self.stopping = True
        for w in (self.capture, self.inference):
            if w is not None:
                w.request_stop()
        for w in (self.capture, self.inference):
            if w is not None and not w.wait(STOP_WAIT_MS):
                log.warning("%s did not stop in time", type(w).__name__)


def training_worker_factory(engine: Engine, runs_root: Path, out_path: Path) -> Any:
    """TrainParams → a `TrainingWorker` on the runs of the engine's encoder."""

    def make(params: TrainParams) -> TrainingWorker:
        config = TrainConfig(
            epochs=params.epochs,
            lr=params.learning_rate,
            batch_size=params.batch_size,
            encoder_id=engine.encoder_id,
        )
        return TrainingWorker(config, runs_root, out_path)

    return make


def default_train_params() -> TrainParams:
    """The dialog's defaults: the trainer's own."""
    cfg = TrainConfig()
    return TrainParams(epochs=cfg.epochs, learning_rate=cfg.lr, batch_size=cfg.batch_size)


def mask_for_overlay(rect: geometry.Rect, settings: Settings) -> CaptureRect | None:
    """The overlay's rectangle in captured-image pixels (None: not in the capture)."""
    screens = QApplication.screens()
    index = settings.capture.monitor
    if not 0 <= index < len(screens):
        return None
    screen = screens[index]
    g = screen.geometry()
    region = settings.capture.region
    box = (
        None
        if region is None
        else geometry.Rect(region.left, region.top, region.width, region.height)
    )
    found = geometry.overlay_capture_mask(
        rect, geometry.Rect(g.x(), g.y(), g.width(), g.height()), screen.devicePixelRatio(), box
    )
    return None if found is None else CaptureRect(found.left, found.top, found.width, found.height)


def build(
    settings: Settings, report: DeviceReport, bridge: EngineBridge, source: Any | None = None
) -> Any:
    """The real engine and everything around it, as `app.ui.app.Parts`.

    source: a FrameSource to capture instead of the screen (the demo's `LiveRaids`); it is
    not the screen, so the overlay is not masked out of its frames.
    """
    from app.ui.app import Parts

    on_screen = source is None
    if source is None:
        spec = os.environ.get(SOURCE_ENV, "").strip()
        source = (
            source_from_spec(spec, settings.capture) if spec else screen_source(settings.capture)
        )
    runs_root = paths.runs_dir()
    recorder = RunRecorder(runs_root)
    if recorder.recovered:
        log.info(
            "recovered %d run(s) a crash had left; they are unlabelled", len(recorder.recovered)
        )
    engine = Engine(
        source,
        config=EngineConfig.from_settings(settings),
        recorder=recorder,
        device=report.device,  # detected once at start-up, not again in warm_up
    )
    models = EngineModels(engine)
    models.load_startup(model_path())
    runner = EngineRunner(engine, bridge)
    runner.start()

    def shutdown() -> None:
        runner.stop()
        recorder.close()

    return Parts(
        engine=engine,
        models=models,
        bridge=bridge,
        encoder_id=lambda: engine.encoder_id,
        training_worker=training_worker_factory(engine, runs_root, model_path()),
        shutdown=shutdown,
        set_overlay_rect=(
            (
                lambda rect: engine.set_masks(
                    [m] if (m := mask_for_overlay(rect, settings)) is not None else []
                )
            )
            if on_screen
            else (lambda rect: None)
        ),
        train_defaults=default_train_params(),
    )
