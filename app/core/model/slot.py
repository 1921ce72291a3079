"""The model slot: which trained Q-net the engine uses, the one before it, and the files.

The player's model lives at `model_path()` (the trainer installs it there and keeps the
one it replaced next to it). `ModelSlot` tracks the model in use and the previous one,
loads a freshly trained model into a `ModelLoader` (the engine) only after the trainer
verified it, and rolls back by swapping the two files on disk, so the choice survives a
restart. Plain code: the GUI calls it, and so can a test or the CLI.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.core import paths
from app.core.atomic import swap_files
from app.core.errors import ArcXError, CheckpointError
from app.core.training.types import DEFAULT_MODEL_NAME

if TYPE_CHECKING:  # checkpoint.py imports torch; the slot itself never needs it
    from app.core.model.checkpoint import CheckpointMeta
    from app.core.training.types import TrainResult

log = logging.getLogger(__name__)


def model_path() -> Path:
    """Where the player's trained model lives (the trainer installs it there)."""
    return paths.user_models_dir() / DEFAULT_MODEL_NAME


class LoadedModel(Protocol):
    """What the slot reads of the model in use (`app.core.engine.ModelInfo`)."""

    @property
    def path(self) -> str: ...

    @property
    def epoch(self) -> int: ...

    @property
    def val_loss(self) -> float: ...


class LoaderStatus(Protocol):
    """The part of `app.core.engine.EngineStatus` the slot reads."""

    @property
    def model(self) -> LoadedModel | None: ...


class ModelLoader(Protocol):
    """What the slot needs of `app.core.engine.Engine`."""

    def load_model(self, path: Path | str) -> CheckpointMeta | None:
        """Verify and load a checkpoint (None: queued until warm-up); raises CheckpointError."""

    def status(self) -> LoaderStatus:
        """Its state; `.model` is the model in use, None without one."""


class ModelSlot:
    """The model in use and the one before it, over a `ModelLoader`."""

    def __init__(self, loader: ModelLoader) -> None:
        self.loader = loader
        self.current: Path | None = None
        """the model file in use (None: recording only)"""
        self.previous: Path | None = None
        """the model file it replaced, for roll-back"""

    def load_startup(self, path: Path) -> bool:
        """Load the player's model if there is one (before warm-up it is queued)."""
        if not path.is_file():
            log.info("no trained model at %s: recording only", path)
            return False
        try:
            self.loader.load_model(path)
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
        """The model in use, in words ("" when none)."""
        info = self.loader.status().model
        if info is not None:
            return f"{Path(info.path).name}, epoch {info.epoch}, val loss {info.val_loss:.4g}"
        return self.current.name if self.current is not None else ""

    def swap_in(self, result: TrainResult) -> str:
        """A finished training's model: the trainer verified it; the loader verifies it
        again as it loads it and keeps the old one on any error (raised)."""
        path = result.checkpoint_path
        if result.stopped == "cancelled" or path is None:
            raise ArcXError("training was cancelled; the model in use is unchanged")
        meta = self.loader.load_model(path)
        previous = result.previous_path
        self.previous = previous if previous is not None else self.current
        self.current = path
        epoch = (
            f"epoch {meta.epoch}, val loss {meta.val_loss:.4g}"
            if meta is not None
            else "queued until warm-up"
        )
        kept = " The previous one is kept for roll-back." if self.can_roll_back else ""
        return f"New model in use ({epoch}).{kept}"

    def roll_back(self) -> str:
        """Swap the model files on disk (so the choice survives a restart) and load the
        rolled-back one; on a load error the files are swapped back and it is raised."""
        current, previous = self.current, self.previous
        if current is None or previous is None or not previous.is_file():
            raise ArcXError("there is no previous model to roll back to")
        swap_files(current, previous)
        try:
            self.loader.load_model(current)
        except BaseException:
            swap_files(current, previous)
            raise
        return (
            "Rolled back: the previous model is in use, also after a restart "
            "(roll back again to undo)."
        )
