"""Installing a trained Q-net: write it, check it reads back as trained, then replace.

The new checkpoint is written to a temporary file next to `out`, loaded back and
compared with the in-memory model, and only then renamed over `out` (atomically); the
model that was there is kept as `<name>.prev.safetensors`, but only if it loads (its
hash checks): a truncated or corrupt model never replaces a good roll-back copy. A
failure anywhere leaves the player's model untouched; a full disk or a read-only folder
is a `WriteError` that says so. Temp files that a crash left in the folder (older than
`atomic.STALE_AFTER_S`) are removed first.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError

from app.core.atomic import atomic_path, remove_stale_temps, write_error
from app.core.data.dataset import DecisionDataset
from app.core.errors import CheckpointError
from app.core.model.checkpoint import load_checkpoint, parse_meta, read_tensors, save_checkpoint
from app.core.model.qnet import TemporalQNet

log = logging.getLogger(__name__)

__all__ = ["install_model", "loads", "previous_path", "verify_checkpoint"]

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
    """Save `model` (trained on `ds`) at `out`, verified; returns (out, the roll-back
    copy or None). Raises WriteError when the disk is full or the folder read-only."""
    out = Path(out)
    prev = previous_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for p in remove_stale_temps(out.parent):
            log.info("removed %s, left by an interrupted save", p.name)
        keep_out = out.exists() and loads(out)
        # the new model replaces `out` only once it is complete and reads back as trained
        with atomic_path(out, suffix=".safetensors") as tmp:
            save_checkpoint(
                tmp, model, encoder_id=ds.encoder_id, value_scale=value_scale,
                epoch=epoch, val_loss=val_loss, extra=extra,
            )
            verify_checkpoint(tmp, model, ds, value_scale)
            if keep_out:
                with atomic_path(prev) as prev_tmp:
                    shutil.copyfile(out, prev_tmp)
    except (OSError, SafetensorError) as exc:
        log.error("saving the model to %s failed", out, exc_info=True)
        raise write_error(exc, f"save the trained model to {out}; the installed model is unchanged") from exc
    previous = prev if keep_out or (prev.exists() and loads(prev)) else None
    log.info("model saved to %s (epoch %d)%s", out, epoch,
             f"; the previous one is kept as {previous.name}" if previous else "")
    return out, previous


def loads(path: Path) -> bool:
    """True when `path` is an intact Q-net checkpoint (hash and header check; no model built)."""
    try:
        _, meta = read_tensors(path)
        parse_meta(meta, path.name)
    except (CheckpointError, OSError) as exc:
        log.warning("%s cannot be used (%s); it is not kept as the previous model", path.name, exc)
        return False
    return True


def verify_checkpoint(path: Path, model: TemporalQNet, ds: DecisionDataset, scale: float) -> None:
    """CheckpointError unless `path` loads with `model`'s metadata and reproduces its outputs."""
    loaded, meta = load_checkpoint(path, expected_encoder_id=ds.encoder_id)
    if meta.value_scale != scale or meta.config != model.config:
        raise CheckpointError(f"{path.name} does not read back as written (metadata differs)")
    probe = torch.from_numpy(ds.windows(np.arange(min(len(ds), _VERIFY_WINDOWS))))
    with torch.no_grad():
        if not torch.allclose(loaded(probe), model(probe), rtol=1e-5, atol=1e-6):
            raise CheckpointError(f"{path.name} does not reproduce the trained model")
