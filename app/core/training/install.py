"""Installing a trained Q-net: write it, check it reads back as trained, then replace.

The new checkpoint is written to a temporary file next to `out`, loaded back and
compared with the in-memory model, and only then renamed over `out` (atomically); the
model that was there is kept as `<name>.prev.safetensors`. A failure anywhere leaves the
player's model untouched.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import torch

from app.core.atomic import atomic_path
from app.core.data.dataset import DecisionDataset
from app.core.errors import CheckpointError
from app.core.model.checkpoint import load_checkpoint, save_checkpoint
from app.core.model.qnet import TemporalQNet

log = logging.getLogger(__name__)

__all__ = ["install_model", "previous_path", "verify_checkpoint"]

# Windows of the dataset the read-back check runs both models on.
_VERIFY_WINDOWS = 4


def previous_path(out: Path) -> Path:
    """Where the model that `out` replaces is kept: `<name>.prev<suffix>`."""
    return out.with_name(f"{out.stem}.prev{out.suffix}")


def install_model(
    model: TemporalQNet,
    out: Path,
    ds: DecisionDataset,
    *,
    value_scale: float,
    epoch: int,
    val_loss: float,
    extra: dict[str, str],
) -> tuple[Path, Path | None]:
    """Save `model` (trained on `ds`) at `out`, verified; returns (out, kept previous or None)."""
    previous = previous_path(out) if out.exists() else None
    # the new model replaces `out` only once it is complete and reads back as trained
    with atomic_path(out, suffix=".safetensors") as tmp:
        save_checkpoint(
            tmp, model, encoder_id=ds.encoder_id, value_scale=value_scale,
            epoch=epoch, val_loss=val_loss, extra=extra,
        )
        verify_checkpoint(tmp, model, ds, value_scale)
        if previous is not None:
            with atomic_path(previous) as prev_tmp:
                shutil.copyfile(out, prev_tmp)
    log.info("model saved to %s (epoch %d)%s", out, epoch,
             f"; the previous one is kept as {previous.name}" if previous else "")
    return out, previous


def verify_checkpoint(path: Path, model: TemporalQNet, ds: DecisionDataset, scale: float) -> None:
    """CheckpointError unless `path` loads with `model`'s metadata and reproduces its outputs."""
    loaded, meta = load_checkpoint(path, expected_encoder_id=ds.encoder_id)
    if meta.value_scale != scale or meta.config != model.config:
        raise CheckpointError(f"{path.name} does not read back as written (metadata differs)")
    probe = torch.from_numpy(ds.windows(np.arange(min(len(ds), _VERIFY_WINDOWS))))
    with torch.no_grad():
        if not torch.allclose(loaded(probe), model(probe), rtol=1e-5, atol=1e-6):
            raise CheckpointError(f"{path.name} does not reproduce the trained model")
