"""ModelSlot: start-up load, swap-in after training, roll-back on disk, refusals."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core import paths
from app.core.errors import ArcXError, CheckpointError
from app.core.model.checkpoint import CheckpointMeta
from app.core.model.qnet import QNetConfig
from app.core.model.slot import ModelSlot, model_path
from app.core.training.trainer import TrainResult
from tests.coretypes import train_result

META = CheckpointMeta(
    config=QNetConfig(),
    encoder_id="enc",
    value_scale=1.0,
    epoch=3,
    val_loss=0.0123,
    app_version="test",
    created_at="2024-01-01T00:00:00Z",
    content_sha256="0" * 64,
    extra={},
)


@dataclass(frozen=True)
class Info:
    path: str
    epoch: int
    val_loss: float


@dataclass(frozen=True)
class Status:
    model: Info | None


class FakeLoader:
    """Plays the engine: remembers what it loaded; refuses files named in `refuse`."""

    def __init__(self, warm: bool = True) -> None:
        self.warm = warm
        self.loaded: list[Path] = []
        self.contents: list[bytes] = []
        self.refuse: set[str] = set()

    def load_model(self, path: Path | str) -> CheckpointMeta | None:
        path = Path(path)
        if path.read_bytes().decode() in self.refuse:
            raise CheckpointError(f"{path.name}: encoder mismatch")
        self.loaded.append(path)
        self.contents.append(path.read_bytes())
        if not self.warm:
            return None
        return META

    def status(self) -> Status:
        if not self.loaded:
            return Status(None)
        return Status(Info(str(self.loaded[-1]), 3, 0.0123))


def result(path: Path | None, previous: Path | None = None, stopped: str = "completed") -> TrainResult:
    return train_result(stopped=stopped, checkpoint_path=path, previous_path=previous, best_epoch=3,
                        best_val_loss=0.0123, epochs_run=3)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def test_model_path_is_in_the_user_models_dir():
    assert model_path() == paths.user_models_dir() / "qnet.safetensors"


def test_startup_without_a_file_records_only(tmp_path):
    slot = ModelSlot(FakeLoader())
    assert not slot.load_startup(tmp_path / "qnet.safetensors")
    assert not slot.has_model and not slot.can_roll_back and slot.describe() == ""


def test_startup_with_a_refused_file_records_only(tmp_path):
    loader = FakeLoader()
    loader.refuse.add("bad")
    slot = ModelSlot(loader)
    assert not slot.load_startup(write(tmp_path / "qnet.safetensors", "bad"))
    assert not slot.has_model


def test_startup_before_warm_up_is_queued_and_named(tmp_path):
    slot = ModelSlot(FakeLoader(warm=False))
    path = write(tmp_path / "qnet.safetensors", "one")
    assert slot.load_startup(path) and slot.has_model
    assert slot.describe() == "qnet.safetensors, epoch 3, val loss 0.0123"


def test_swap_in_then_roll_back_and_again(tmp_path):
    loader = FakeLoader()
    slot = ModelSlot(loader)
    out, prev = tmp_path / "qnet.safetensors", tmp_path / "qnet.prev.safetensors"
    write(out, "one")
    text = slot.swap_in(result(out))
    assert text == "New model in use (epoch 3, val loss 0.0123)."
    assert slot.current == out and not slot.can_roll_back
    write(prev, "one")  # the trainer keeps the replaced model next to the new one
    write(out, "two")
    assert "kept for roll-back" in slot.swap_in(result(out, prev))
    assert slot.previous == prev and slot.can_roll_back

    assert "Rolled back" in slot.roll_back()
    assert out.read_text() == "one" and prev.read_text() == "two"  # on disk: survives a restart
    assert loader.contents[-1] == b"one"
    slot.roll_back()  # undoes it
    assert out.read_text() == "two" and loader.contents[-1] == b"two"


def test_swap_in_before_warm_up_is_queued(tmp_path):
    slot = ModelSlot(FakeLoader(warm=False))
    out = write(tmp_path / "qnet.safetensors", "one")
    assert slot.swap_in(result(out)) == "New model in use (queued until warm-up)."


def test_a_cancelled_training_is_refused(tmp_path):
    slot = ModelSlot(FakeLoader())
    with pytest.raises(ArcXError, match="cancelled"):
        slot.swap_in(result(None, stopped="cancelled"))
    assert not slot.has_model


def test_a_refused_model_leaves_the_slot_as_it_was(tmp_path):
    loader = FakeLoader()
    slot = ModelSlot(loader)
    out = write(tmp_path / "qnet.safetensors", "one")
    slot.swap_in(result(out))
    bad = write(tmp_path / "other.safetensors", "bad")
    loader.refuse.add("bad")
    with pytest.raises(CheckpointError):
        slot.swap_in(result(bad, out))
    assert slot.current == out and slot.previous is None


def test_roll_back_without_a_previous_model_is_refused(tmp_path):
    slot = ModelSlot(FakeLoader())
    with pytest.raises(ArcXError, match="no previous model"):
        slot.roll_back()
    out = write(tmp_path / "qnet.safetensors", "one")
    slot.swap_in(result(out, tmp_path / "missing.safetensors"))
    with pytest.raises(ArcXError, match="no previous model"):
        slot.roll_back()


def test_a_failed_roll_back_swaps_the_files_back(tmp_path):
    loader = FakeLoader()
    slot = ModelSlot(loader)
    out, prev = write(tmp_path / "qnet.safetensors", "two"), write(tmp_path / "qnet.prev.safetensors", "old")
    slot.swap_in(result(out, prev))
    loader.refuse.add("old")
    with pytest.raises(CheckpointError):
        slot.roll_back()
    assert out.read_text() == "two" and prev.read_text() == "old"
