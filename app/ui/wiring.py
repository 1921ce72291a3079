"""Builds the real engine for the desktop app and connects it to the UI.

    build(settings, device_report, bridge) → Parts   (an `app.ui.parts.EngineFactory`)

* Frame source: the screen region of the settings (`app.core.capture.factory`); the
  environment variable `ARCX_SOURCE` (`synthetic`, `sim`, `replay:PATH`) swaps it for a
  demo or a replay.
* `Engine` with a `RunRecorder` on the user's runs folder, on the device the app chose
  at start-up (a lean start's report names no torch device: the engine then starts from
  the lean record, `app/core/model/lean.py`, and never imports torch on Windows once Qt
  has loaded); its capture and inference loops run in the workers of an `EngineRunner`
  (`app.workers.runner`), whose signals feed the `EngineBridge`.
* `ModelSlot` (`app.core.model.slot`): the player's model is loaded at start; a newly
  trained one is swapped in only after the trainer verified it and the engine accepted
  it; the one before stays available for roll-back.
* Training runs in a `TrainingWorker` on the same device as the engine: the one the app
  detected from the player's device setting, never a second decision.
* The overlay's rectangle is masked out of the captured frames (`Engine.set_masks`),
  on top of Windows' capture exclusion, so the encoder never reads our own numbers.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtWidgets import QApplication

from app.core import paths
from app.core.capture.base import FrameSource
from app.core.capture.base import Rect as CaptureRect
from app.core.capture.factory import screen_source, source_from_spec
from app.core.config import Settings
from app.core.data.recorder import RunRecorder
from app.core.device import DeviceReport
from app.core.engine import Engine, EngineConfig
from app.core.model.slot import ModelSlot, model_path
from app.core.training.types import TrainConfig
from app.demo import hooks as demo
from app.ui import geometry
from app.ui.parts import Parts, TrainingWorkerFactory
from app.workers.bridge import EngineBridge
from app.workers.runner import EngineRunner
from app.workers.training import TrainingWorker

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

IDLE_FPS = 1.0
"""frames per second the tray app grabs between runs: checked for capture problems, never
encoded (the overlay shows nothing outside a run and a run starts with an empty window)"""

SOURCE_ENV = "ARCX_SOURCE"


def training_worker_factory(
    engine: Engine, runs_root: Path, out_path: Path, device: torch.device | str
) -> TrainingWorkerFactory:
    """TrainConfig → a `TrainingWorker` on the runs of the engine's encoder, on `device`."""

    def make(config: TrainConfig) -> TrainingWorker:
        config = replace(config, encoder_id=engine.encoder_id)
        return TrainingWorker(config, runs_root, out_path, device=device)

    return make


def default_train_config() -> TrainConfig:
    """The dialog's defaults: the trainer's own."""
    return TrainConfig()


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
    settings: Settings,
    report: DeviceReport,
    bridge: EngineBridge,
    source: FrameSource | None = None,
) -> Parts:
    """The real engine and everything around it.

    source: a FrameSource to capture instead of the screen (the demo's `LiveRaids`); it is
    not the screen, so the overlay is not masked out of its frames.
    """
    on_screen = source is None
    if source is None:
        spec = os.environ.get(SOURCE_ENV, "").strip()
        source = (
            source_from_spec(spec, settings.capture, extra=demo.SOURCES)
            if spec
            else screen_source(settings.capture)
        )
    runs_root = paths.runs_dir()
    recorder = RunRecorder(runs_root)
    if recorder.recovered:
        log.info(
            "recovered %d run(s) a crash had left; they are unlabelled", len(recorder.recovered)
        )
    engine = Engine(
        source,
        config=EngineConfig.from_settings(settings, idle_fps=min(IDLE_FPS, settings.capture.fps)),
        recorder=recorder,
        device=report.torch_device,  # detected once at start-up (None: a lean start's record)
        game_frames=demo.sim_frames,  # the self-check's game-like frames
        # Windows without torch loaded: importing it after Qt would fail (app/ui/__init__.py)
        torch_in_process=sys.platform != "win32" or "torch" in sys.modules,
    )
    models = ModelSlot(engine)
    models.load_startup(model_path())
    runner = EngineRunner(engine, bridge)
    runner.start()

    def shutdown() -> None:
        runner.stop()
        recorder.close()

    def set_overlay_rect(rect: geometry.Rect) -> None:
        if on_screen:
            mask = mask_for_overlay(rect, settings)
            engine.set_masks([mask] if mask is not None else [])

    return Parts(
        engine=engine,
        models=models,
        bridge=bridge,
        encoder_id=lambda: engine.encoder_id,
        training_worker=training_worker_factory(engine, runs_root, model_path(), report.device),
        shutdown=shutdown,
        set_overlay_rect=set_overlay_rect,
        train_defaults=default_train_config(),
    )
