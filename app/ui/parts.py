"""What the engine factory hands the app: `Parts`, and the interfaces the UI holds.

    EngineFactory: (settings, device report, bridge) → Parts

`app.ui.wiring.build` is the real factory; tests pass fakes. Both `app.ui.app` and
`app.ui.wiring` import this module, and neither imports the other back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.core.config import Settings
from app.core.data.recorder import RunInfo
from app.core.device import DeviceReport
from app.core.training.types import TrainConfig, TrainResult
from app.ui.geometry import Rect
from app.workers.bridge import EngineBridge
from app.workers.training import TrainingWorker


class EngineLike(Protocol):
    """What the controller needs from `app.core.engine.Engine`."""

    @property
    def is_warm(self) -> bool:
        """warm-up has finished (a run can start)"""

    def start_run(self) -> object: ...

    def mark_extract(self, ago_s: float = 0.0) -> None: ...

    def end_run(self, outcome: str | None, loot: float | None = None) -> RunInfo:
        """Stop recording; returns the run's info. Slow: called off the main thread."""

    def set_risk(self, risk: str | float) -> None: ...


class ModelSwapper(Protocol):
    """Verify-and-load of trained models, with one step of roll-back
    (`app.core.model.slot.ModelSlot`)."""

    @property
    def has_model(self) -> bool: ...

    @property
    def can_roll_back(self) -> bool: ...

    def describe(self) -> str:
        """The model in use, in words ("" when none)."""

    def swap_in(self, result: TrainResult) -> str:
        """Verify the trained model in `result` and load it; raises ArcXError when refused."""

    def roll_back(self) -> str:
        """Load the previous model again; raises ArcXError when there is none."""


TrainingWorkerFactory = Callable[[TrainConfig], TrainingWorker]
"""the training dialog's config → a `TrainingWorker`, not started yet"""


@dataclass
class Parts:
    """What the engine factory builds for the app."""

    engine: EngineLike
    """start_run / mark_extract / end_run / set_risk (app.core.engine.Engine)"""
    models: ModelSwapper
    """the loaded model, hot-swap and roll-back"""
    bridge: EngineBridge
    """engine events as signals"""
    encoder_id: str | Callable[[], str | None] | None = None
    """the encoder's id, or a function giving it once the engine has warmed up"""
    training_worker: TrainingWorkerFactory | None = None
    """TrainConfig → a TrainingWorker on the app's device"""
    shutdown: Callable[[], None] = lambda: None
    """stop the engine's threads and close the recorder"""
    set_overlay_rect: Callable[[Rect], None] = lambda rect: None
    """the overlay moved (global logical pixels): mask it out of the capture"""
    train_defaults: TrainConfig | None = None
    """the training dialog's starting values (None: `TrainConfig()`)"""


EngineFactory = Callable[[Settings, DeviceReport, EngineBridge], Parts]
"""builds the engine and its parts for `app.ui.app.start`"""
