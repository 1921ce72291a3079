"""The lean live path: the engine without torch, once the caches are built.

Importing torch costs ~500 MB of RSS (the index's CUDA wheel, even on a CPU run), and
the live engine does not need it when the chosen encoder path is ONNX Runtime's. So:

* **Encoder.** When a torch start-up's self-check (`runtime.select_encoder`) chooses an
  ONNX Runtime path on the CPU, the engine writes `live.json` next to the encoder
  caches (`paths.cache_dir()/encoders/`): the graph file and its SHA-256, the encoder id
  and the weights file it came from (path, size, mtime), the threads and the settings it
  was chosen under. The next start reads it and runs `LeanEncoder` on that graph without
  importing torch, as long as the graph's hash, the weights file's stat and the
  settings (`device`, `encoder_path`) still match; otherwise it starts the torch way
  and writes a new record.
* **Q-net.** When the engine loads a checkpoint with torch, it also exports it to ONNX
  (`onnx_qnet.py`), keeps the export only when it reproduces the torch model
  (`check_qnet_fidelity`), and stores it under `paths.cache_dir()/qnet/<content
  hash>.onnx` with a sidecar naming its own SHA-256. A lean engine reads the
  checkpoint's safetensors header (JSON, no tensors) and runs the matching export.

Torch then loads only to train (in its own process) and to build the caches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from app.core import paths
from app.core.atomic import atomic_path
from app.core.errors import CheckpointCorruptError, CheckpointError, CheckpointMismatchError
from app.core.model.onnx_qnet import MAX_ABS_ERROR, OrtQNet

if TYPE_CHECKING:
    from app.core.model.qnet import TemporalQNet

log = logging.getLogger(__name__)

__all__ = [
    "LIVE_RECORD",
    "LeanEncoder",
    "LeanMeta",
    "LiveRecord",
    "export_qnet_for_lean",
    "load_lean_qnet",
    "read_live_record",
    "write_live_record",
]

LIVE_RECORD = "live.json"
_RECORD_VERSION = 1
# The largest safetensors header this reads (a Q-net's is a few kB).
_MAX_HEADER_BYTES = 1 << 20
# Windows the Q-net export is checked on before it is kept.
_CHECK_WINDOWS = 8
_CHECK_COSINE = 0.9999


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".json", durable=False) as tmp:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")


# --------------------------------------------------------------------------- encoder


@dataclass(frozen=True)
class LiveRecord:
    """What a torch start-up chose, for the next start to reuse without torch."""

    path_name: str
    """the encoder path (`ort-int8` or `ort-fp32`)"""
    onnx: str
    """the graph file"""
    onnx_sha256: str
    """its SHA-256 when it passed the self-check"""
    encoder_id: str
    """the encoder's id (hash of its weights)"""
    weights: str | None
    """the weights file it was built from (None: the seeded random init)"""
    weights_stat: tuple[int, int] | None
    """(size, mtime_ns) of that file then"""
    threads: int
    """encoder threads it was timed with"""
    device: str
    """the device setting it was chosen under"""
    encoder_path: str
    """the encoder-path setting it was chosen under"""
    reason: str
    """the self-check's verdict, shown again at a lean start"""


def _record_file(root: Path | None = None) -> Path:
    return (root if root is not None else paths.cache_dir()) / "encoders" / LIVE_RECORD


def _stat(weights: str | None) -> tuple[int, int] | None:
    if weights is None:
        return None
    st = os.stat(weights)
    return st.st_size, st.st_mtime_ns


def write_live_record(
    *, path_name: str, onnx: Path, encoder_id: str, weights: str | None, threads: int,
    device: str, encoder_path: str, reason: str, root: Path | None = None,
) -> Path:
    """Record an ONNX Runtime encoder choice (see the module docstring)."""
    record = LiveRecord(
        path_name, str(onnx), _sha256(onnx), encoder_id, weights, _stat(weights), threads, device,
        encoder_path, reason,
    )
    out = _record_file(root)
    _write_json(out, {"version": _RECORD_VERSION, **asdict(record)})
    return out


def read_live_record(*, device: str, encoder_path: str, root: Path | None = None) -> LiveRecord | None:
    """The recorded choice if it still holds for these settings and files, else None."""
    f = _record_file(root)
    try:
        d = json.loads(f.read_text(encoding="utf-8"))
        if d.pop("version", None) != _RECORD_VERSION:
            return None
        if d.get("weights_stat") is not None:
            d["weights_stat"] = tuple(d["weights_stat"])
        rec = LiveRecord(**d)
    except (OSError, ValueError, TypeError):
        return None
    why = None
    if (rec.device, rec.encoder_path) != (device, encoder_path):
        why = "the device or encoder-path setting changed"
    else:
        try:
            if _stat(rec.weights) != rec.weights_stat:
                why = "the encoder weights changed"
            elif _sha256(Path(rec.onnx)) != rec.onnx_sha256:
                why = "the encoder graph changed"
        except OSError:
            why = "a cached file is gone"
    if why is not None:
        log.debug("not starting lean: %s", why)
        return None
    return rec


class LeanEncoder:
    """An ONNX Runtime encoder session from a `LiveRecord`: uint8 [B, H, W, 3] → [B, D]."""

    def __init__(self, record: LiveRecord) -> None:
        from app.core.model.ortsession import open_session

        self.name = record.path_name
        self.session = open_session(record.onnx, record.threads)
        self._input = self.session.get_inputs()[0].name

    def encode(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        arr = np.asarray(frames)
        if arr.ndim == 3:
            arr = arr[None]  # (1, H, W, 3)
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 [B, H, W, 3], got {arr.dtype} {list(arr.shape)}")
        (z,) = self.session.run(None, {self._input: np.ascontiguousarray(arr)})
        return np.asarray(z, dtype=np.float32)


# ----------------------------------------------------------------------------- Q-net


@dataclass(frozen=True)
class LeanMeta:
    """The checkpoint header fields the engine uses (the names of `CheckpointMeta`'s)."""

    encoder_id: str
    value_scale: float
    epoch: int
    val_loss: float
    content_sha256: str
    latent_dim: int


def read_header(path: Path) -> dict[str, str]:
    """A safetensors file's `__metadata__` (its JSON header; no tensor is read)."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if not 0 < n <= _MAX_HEADER_BYTES:
                raise ValueError(f"header of {n} bytes")
            header = json.loads(f.read(n))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except (OSError, ValueError, struct.error) as exc:
        raise CheckpointCorruptError(f"{Path(path).name} is not a readable safetensors file ({exc})") from exc
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return dict(meta) if isinstance(meta, dict) else {}


def _lean_meta(path: Path, expected_encoder_id: str | None) -> LeanMeta:
    meta = read_header(path)
    try:
        lm = LeanMeta(
            encoder_id=meta["encoder_id"], value_scale=float(meta["value_scale"]), epoch=int(meta["epoch"]),
            val_loss=float(meta["val_loss"]), content_sha256=meta["content_sha256"],
            latent_dim=int(json.loads(meta["config"])["latent_dim"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointMismatchError(f"{path.name} has unreadable metadata ({exc})") from exc
    if not math.isfinite(lm.value_scale) or lm.value_scale <= 0:
        raise CheckpointMismatchError(f"{path.name} has an invalid value scale {lm.value_scale}")
    if expected_encoder_id is not None and lm.encoder_id != expected_encoder_id:
        raise CheckpointMismatchError(
            f"{path.name} was trained on encoder {lm.encoder_id}, the engine runs {expected_encoder_id}"
        )
    return lm


def _export_file(content_sha256: str, root: Path | None = None) -> Path:
    return (root if root is not None else paths.cache_dir()) / "qnet" / f"{content_sha256[:32]}.onnx"


def export_qnet_for_lean(
    model: TemporalQNet, content_sha256: str, *, root: Path | None = None, seed: int = 0
) -> Path | None:
    """Export a loaded checkpoint's Q-net for lean starts (needs torch); None if it is not faithful."""
    from app.core.model.onnx_qnet import check_qnet_fidelity, export_qnet_onnx

    out = _export_file(content_sha256, root)
    out.parent.mkdir(parents=True, exist_ok=True)
    export_qnet_onnx(model, out)
    cfg = model.config
    windows = np.random.default_rng(seed).standard_normal((_CHECK_WINDOWS, cfg.seq_len, cfg.latent_dim))
    windows = (windows * model.input_std.cpu().numpy() + model.input_mean.cpu().numpy()).astype(np.float32)
    cos, err = check_qnet_fidelity(model, OrtQNet(out), windows)
    if cos < _CHECK_COSINE or err > MAX_ABS_ERROR:
        log.warning("the Q-net's ONNX export is not faithful (cosine %.6f, max error %.2e): not kept", cos, err)
        out.unlink(missing_ok=True)
        return None
    _write_json(out.with_suffix(".json"), {"content_sha256": content_sha256, "onnx_sha256": _sha256(out),
                                           "cosine": cos, "max_abs_error": err})
    return out


def load_lean_qnet(
    path: Path, expected_encoder_id: str | None, *, root: Path | None = None
) -> tuple[OrtQNet, LeanMeta] | None:
    """The checkpoint's checked ONNX export and header, or None when there is none (yet).

    Raises CheckpointError when the checkpoint itself is unusable (as the torch loader would)."""
    meta = _lean_meta(Path(path), expected_encoder_id)
    onnx = _export_file(meta.content_sha256, root)
    try:
        side = json.loads(onnx.with_suffix(".json").read_text(encoding="utf-8"))
        if side.get("content_sha256") != meta.content_sha256 or side.get("onnx_sha256") != _sha256(onnx):
            return None
    except (OSError, ValueError):
        return None
    return OrtQNet(onnx), meta
