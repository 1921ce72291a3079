"""Checkpoints: safetensors only, never pickle.

A Q-net checkpoint is one `.safetensors` file whose header metadata carries everything
needed to rebuild and trust the model from the file alone:

    format="arcx-qnet", format_version, config (JSON of QNetConfig), encoder_id,
    value_scale, epoch, val_loss, app_version, created_at, content_sha256, header_sha256

`content_sha256` is a digest of every tensor's name, dtype, shape and bytes; loading
recomputes it, so a flipped bit is caught even where the safetensors header still parses.
`header_sha256` (format 3) is a digest of every other metadata entry, content_sha256
included: a changed digit of `value_scale` or of the config (which change every EV the
model gives) is caught too. Format 1 and 2 files have no header digest and still load;
for every version the values are range-checked (`value_scale`, `epoch`, the config's
sizes), and the model is first built on the `meta` device (no memory) and compared with
the file's tensors, so a header asking for absurd sizes is refused before any
allocation. The same helpers store the encoder's weights (`format="arcx-encoder"`).

Every failure is a `CheckpointError` subclass with a sentence that says what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from app import __version__
from app.core.atomic import atomic_path
from app.core.errors import CheckpointCorruptError, CheckpointError, CheckpointMismatchError
from app.core.model.qnet import QNetConfig, TemporalQNet

QNET_FORMAT = "arcx-qnet"
QNET_FORMAT_VERSION = 3
"""2: the input standardisation (`input_mean`, `input_std`) is saved with the weights; a
version-1 file loads with the identity, which is what it was trained with.
3: `header_sha256` covers the metadata; required from this version on."""
_V1_DEFAULTS = ("input_mean", "input_std")
_HEADER_DIGEST_FROM = 3

MAX_VALUE_SCALE = 1e9
"""The value scale is a typical loot value (loot labels are at most 1e9)."""
MIN_VALUE_SCALE = 1e-6
MAX_EPOCH = 1_000_000
# Largest accepted QNetConfig sizes: far above any trained model (defaults 512/256/2/…),
# far below what would exhaust memory.
CONFIG_LIMITS: dict[str, int] = {
    "latent_dim": 8192,
    "seq_len": 4096,
    "hidden": 4096,
    "num_layers": 16,
    "attn_dim": 4096,
    "head_dim": 8192,
    "num_actions": 16,
    "num_quantiles": 1024,
    "heads": 128,
}

def tensor_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over (name, dtype, shape, bytes) of every tensor, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(repr(tuple(t.shape)).encode())
        # view as bytes: works for every dtype, including bfloat16 which numpy lacks
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def header_digest(meta: Mapping[str, str]) -> str:
    """SHA-256 over every metadata entry but header_sha256 itself (sorted JSON)."""
    body = {k: v for k, v in meta.items() if k != "header_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def check_header(meta: Mapping[str, str], name: str) -> None:
    """CheckpointCorruptError if the metadata does not match its header_sha256."""
    expected = meta.get("header_sha256")
    if expected is not None and header_digest(meta) != expected:
        raise CheckpointCorruptError(
            f"{name} is corrupted: its metadata (value scale, config, …) does not match its header hash"
        )


def write_tensors(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> Path:
    """Write a safetensors file atomically (temp + fsync + rename), adding content_sha256
    and header_sha256 (any given ones are replaced)."""
    path = Path(path)
    plain = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    meta = {k: str(v) for k, v in metadata.items() if k not in ("content_sha256", "header_sha256")}
    meta["content_sha256"] = tensor_digest(plain)
    meta["header_sha256"] = header_digest(meta)
    with atomic_path(path) as tmp:
        save_file(plain, str(tmp), metadata=meta)
    return path


def read_metadata(path: Path) -> dict[str, str]:
    """The header metadata only (cheap: no tensor is read)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointCorruptError(f"{path.name} is not a readable safetensors file ({exc})") from exc


def read_tensors(path: Path, device: str = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read all tensors and the metadata, and verify content_sha256."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
    except Exception as exc:
        raise CheckpointCorruptError(
            f"{path.name} is truncated or not a safetensors file ({exc})"
        ) from exc
    expected = meta.get("content_sha256")
    if expected is None:
        raise CheckpointMismatchError(f"{path.name} has no content hash: not written by ArcX")
    check_header(meta, path.name)
    actual = tensor_digest(tensors)
    if actual != expected:
        raise CheckpointCorruptError(
            f"{path.name} is corrupted: its content hash is {actual[:12]}…, the header says {expected[:12]}…"
        )
    if device != "cpu":
        tensors = {k: v.to(device) for k, v in tensors.items()}
    return tensors, meta


@dataclass(frozen=True)
class CheckpointMeta:
    """What a Q-net checkpoint says about itself."""

    config: QNetConfig
    encoder_id: str
    value_scale: float
    epoch: int
    val_loss: float
    app_version: str
    created_at: str
    content_sha256: str
    extra: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "encoder_id": self.encoder_id,
            "value_scale": self.value_scale,
            "epoch": self.epoch,
            "val_loss": self.val_loss,
            "app_version": self.app_version,
            "created_at": self.created_at,
            "content_sha256": self.content_sha256,
            **({"extra": self.extra} if self.extra else {}),
        }


_REQUIRED = ("format", "format_version", "config", "encoder_id", "value_scale", "epoch", "val_loss")


def _check_config(config: QNetConfig, name: str) -> None:
    """CheckpointMismatchError for a size outside CONFIG_LIMITS (or below 1)."""
    for field, limit in CONFIG_LIMITS.items():
        v = getattr(config, field)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= limit:
            raise CheckpointMismatchError(f"{name} asks for {field}={v!r}; this ArcX accepts 1 to {limit}")
    if not (isinstance(config.dropout, float | int) and 0.0 <= config.dropout < 1.0):
        raise CheckpointMismatchError(f"{name} has an invalid dropout {config.dropout!r}")


def parse_meta(meta: Mapping[str, str], name: str = "checkpoint") -> CheckpointMeta:
    """Validate a Q-net header. Raises CheckpointMismatchError with the reason."""
    if meta.get("format") != QNET_FORMAT:
        raise CheckpointMismatchError(
            f"{name} is not an ArcX Q-net checkpoint (format={meta.get('format')!r})"
        )
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise CheckpointMismatchError(f"{name} lacks metadata: {', '.join(missing)}")
    try:
        version = int(meta["format_version"])
    except ValueError:
        raise CheckpointMismatchError(f"{name} has a bad format_version {meta['format_version']!r}") from None
    if version > QNET_FORMAT_VERSION:
        raise CheckpointMismatchError(
            f"{name} was written by a newer ArcX (format {version}, this one reads ≤ {QNET_FORMAT_VERSION})"
        )
    if version >= _HEADER_DIGEST_FROM and "header_sha256" not in meta:
        raise CheckpointCorruptError(f"{name} lacks its header hash (format {version} has one)")
    check_header(meta, name)
    try:
        config = QNetConfig.from_dict(json.loads(meta["config"]))
        value_scale = float(meta["value_scale"])
        epoch = int(meta["epoch"])
        val_loss = float(meta["val_loss"])
    except (ValueError, TypeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointMismatchError(f"{name} has unreadable metadata ({type(exc).__name__}: {exc})") from exc
    if not (math.isfinite(value_scale) and MIN_VALUE_SCALE <= value_scale <= MAX_VALUE_SCALE):
        raise CheckpointMismatchError(
            f"{name} has an invalid value scale {value_scale} (accepted: {MIN_VALUE_SCALE:g} to {MAX_VALUE_SCALE:g})"
        )
    if not 0 <= epoch <= MAX_EPOCH:
        raise CheckpointMismatchError(f"{name} has an invalid epoch {epoch}")
    if math.isinf(val_loss) or val_loss < 0:  # nan: trained without a validation split
        raise CheckpointMismatchError(f"{name} has an invalid validation loss {val_loss}")
    _check_config(config, name)
    known = set(_REQUIRED) | {"app_version", "created_at", "content_sha256"}
    return CheckpointMeta(
        config=config,
        encoder_id=meta["encoder_id"],
        value_scale=value_scale,
        epoch=epoch,
        val_loss=val_loss,
        app_version=meta.get("app_version", "?"),
        created_at=meta.get("created_at", "?"),
        content_sha256=meta.get("content_sha256", ""),
        extra={k: v for k, v in meta.items() if k not in known},
    )


def save_checkpoint(
    path: Path,
    model: TemporalQNet,
    *,
    encoder_id: str,
    value_scale: float,
    epoch: int,
    val_loss: float,
    extra: Mapping[str, str] | None = None,
) -> Path:
    """Write the model and its metadata; atomic, so a crash never leaves half a file."""
    meta = {
        **dict(extra or {}),
        "format": QNET_FORMAT,
        "format_version": str(QNET_FORMAT_VERSION),
        "config": json.dumps(model.config.to_dict(), sort_keys=True),
        "encoder_id": encoder_id,
        "value_scale": repr(float(value_scale)),
        "epoch": str(int(epoch)),
        "val_loss": repr(float(val_loss)),
        "app_version": __version__,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return write_tensors(path, model.state_dict(), meta)


def load_checkpoint(
    path: Path, *, expected_encoder_id: str | None = None, device: str | torch.device = "cpu"
) -> tuple[TemporalQNet, CheckpointMeta]:
    """Rebuild the Q-net from the file alone, verify it, return (model in eval mode, meta)."""
    path = Path(path)
    tensors, raw = read_tensors(path)
    meta = parse_meta(raw, path.name)
    if expected_encoder_id is not None and meta.encoder_id != expected_encoder_id:
        raise CheckpointMismatchError(
            f"{path.name} was trained on latents of encoder {meta.encoder_id}, "
            f"but the running encoder is {expected_encoder_id}; retrain on runs recorded with it"
        )
    try:
        with torch.device("meta"):  # shapes only, no memory: the file decides what is allocated
            expected = TemporalQNet(meta.config).state_dict()
    except (ValueError, TypeError, RuntimeError, AssertionError) as exc:
        raise CheckpointMismatchError(f"{path.name}: {exc}") from exc
    if int(raw["format_version"]) < 2:
        identity = {"input_mean": torch.zeros(meta.config.latent_dim), "input_std": torch.ones(meta.config.latent_dim)}
        tensors = {**{k: identity[k] for k in _V1_DEFAULTS}, **tensors}
    _check_shapes(path.name, expected, tensors)
    model = TemporalQNet(meta.config)
    model.load_state_dict(tensors)
    model.to(device)
    model.eval()
    return model, meta


def _check_shapes(name: str, expected: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor]) -> None:
    """CheckpointMismatchError unless `tensors` has exactly `expected`'s names and shapes."""
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointMismatchError(
            f"{name} does not match its architecture: missing {missing[:4]}, unexpected {unexpected[:4]}"
        )
    wrong = [
        f"{k} {list(tensors[k].shape)} ≠ {list(v.shape)}"
        for k, v in expected.items()
        if tensors[k].shape != v.shape
    ]
    if wrong:
        raise CheckpointMismatchError(f"{name} has wrong tensor shapes: {'; '.join(wrong[:4])}")
