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

* **The GPU.** A record is written only when the torch start ran on the CPU. On `auto` it
  also holds `device.gpu_hints()` (the torch and torch-directml installs, the GPU drivers'
  files, read without torch): when they change, a GPU may have become usable, and the
  next start decides with torch again. A lean start therefore computes exactly where the
  record says, the CPU; the `device` setting (or `ARCX_DEVICE`) naming a GPU is never lean.
* **The desktop app.** `plan_start` decides before Qt loads whether this start can be
  lean: a valid record for the player's settings and a checked export for the model the
  slot will load. A model that has none yet (the player copied one in) is exported in a
  child process (`export_in_child`), so a lean process never imports torch.

Torch then loads only to train (in its own process) and to build the caches.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import multiprocessing
import os
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from app.core import paths
from app.core.atomic import atomic_path, sha256_file
from app.core.errors import CheckpointCorruptError, CheckpointError, CheckpointMismatchError
from app.core.model.onnx_qnet import MAX_ABS_ERROR, OrtQNet

if TYPE_CHECKING:
    from app.core.model.qnet import TemporalQNet

log = logging.getLogger(__name__)

__all__ = [
    "LEAN_DEVICES",
    "LIVE_RECORD",
    "LeanEncoder",
    "LeanMeta",
    "LivePlan",
    "LiveRecord",
    "check_live_record",
    "effective_device",
    "export_in_child",
    "export_qnet_for_lean",
    "has_lean_export",
    "load_lean_qnet",
    "plan_start",
    "read_live_record",
    "write_live_record",
]

LIVE_RECORD = "live.json"
_RECORD_VERSION = 1
# Device settings a lean start can serve (it computes on the CPU).
LEAN_DEVICES = ("auto", "cpu")
# Seconds a child process gets to export a Q-net (it imports torch first).
_EXPORT_TIMEOUT_S = 300.0
# The largest safetensors header this reads (a Q-net's is a few kB).
_MAX_HEADER_BYTES = 1 << 20
# Windows the Q-net export is checked on before it is kept.
_CHECK_WINDOWS = 8
_CHECK_COSINE = 0.9999


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
    gpu_hints: dict[str, str | None] | None = None
    """`device.gpu_hints()` when it was chosen on `auto` (None: device `cpu`)"""


def effective_device(setting: str, env: dict[str, str] | None = None) -> str:
    """The device spec in force: `ARCX_DEVICE` wins over the setting, as in `select_device`."""
    from_env = (os.environ if env is None else env).get("ARCX_DEVICE", "").strip()
    return (from_env or setting.strip() or "auto").lower()


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
    """Record an ONNX Runtime encoder choice made on the CPU (see the module docstring)."""
    from app.core.device import gpu_hints

    device = effective_device(device, {})
    record = LiveRecord(
        path_name, str(onnx), sha256_file(onnx), encoder_id, weights, _stat(weights), threads, device,
        encoder_path, reason, gpu_hints() if device == "auto" else None,
    )
    out = _record_file(root)
    _write_json(out, {"version": _RECORD_VERSION, **asdict(record)})
    return out


def check_live_record(
    *, device: str, encoder_path: str, root: Path | None = None
) -> tuple[LiveRecord | None, str]:
    """(the recorded choice, "") if it still holds for these settings and files, else (None, why).

    device: the device setting; `ARCX_DEVICE` wins over it (`effective_device`)."""
    device = effective_device(device)
    if device not in LEAN_DEVICES:
        return None, f"the device is {device}"
    f = _record_file(root)
    try:
        d = json.loads(f.read_text(encoding="utf-8"))
        if d.pop("version", None) != _RECORD_VERSION:
            return None, "the encoder cache is from another version"
        if d.get("weights_stat") is not None:
            d["weights_stat"] = tuple(d["weights_stat"])
        rec = LiveRecord(**d)
    except FileNotFoundError:
        return None, "no encoder cache yet (the first start builds it)"
    except (OSError, ValueError, TypeError):
        return None, "the encoder cache record is unreadable"
    why = ""
    if (rec.device, rec.encoder_path) != (device, encoder_path):
        why = "the device or encoder-path setting changed"
    elif device == "auto" and rec.gpu_hints != _current_gpu_hints():
        why = "the GPU drivers or the torch install changed since the CPU was chosen"
    else:
        try:
            if _stat(rec.weights) != rec.weights_stat:
                why = "the encoder weights changed"
            elif sha256_file(Path(rec.onnx)) != rec.onnx_sha256:
                why = "the encoder graph changed"
        except OSError:
            why = "a cached file is gone"
    if why:
        log.debug("not starting lean: %s", why)
        return None, why
    return rec, ""


def _current_gpu_hints() -> dict[str, str | None]:
    from app.core.device import gpu_hints

    return gpu_hints()


def read_live_record(*, device: str, encoder_path: str, root: Path | None = None) -> LiveRecord | None:
    """The recorded choice if it still holds for these settings and files, else None."""
    return check_live_record(device=device, encoder_path=encoder_path, root=root)[0]


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
    _write_json(out.with_suffix(".json"), {"content_sha256": content_sha256, "onnx_sha256": sha256_file(out),
                                           "cosine": cos, "max_abs_error": err})
    return out


def load_lean_qnet(
    path: Path, expected_encoder_id: str | None, *, root: Path | None = None
) -> tuple[OrtQNet, LeanMeta] | None:
    """The checkpoint's checked ONNX export and header, or None when there is none (yet).

    Raises CheckpointError when the checkpoint itself is unusable (as the torch loader would)."""
    meta = _lean_meta(Path(path), expected_encoder_id)
    onnx = _checked_export(meta, root)
    return (OrtQNet(onnx), meta) if onnx is not None else None


def _checked_export(meta: LeanMeta, root: Path | None) -> Path | None:
    """The checkpoint's ONNX export if its sidecar vouches for it (the fidelity check passed)."""
    onnx = _export_file(meta.content_sha256, root)
    try:
        side = json.loads(onnx.with_suffix(".json").read_text(encoding="utf-8"))
        if side.get("content_sha256") != meta.content_sha256 or side.get("onnx_sha256") != sha256_file(onnx):
            return None
    except (OSError, ValueError):
        return None
    return onnx


def has_lean_export(path: Path, expected_encoder_id: str | None, *, root: Path | None = None) -> bool:
    """True when `load_lean_qnet` would run this checkpoint without torch (no session opened)."""
    try:
        return _checked_export(_lean_meta(Path(path), expected_encoder_id), root) is not None
    except CheckpointError:
        return False


# ------------------------------------------------------------------- desktop start


@dataclass(frozen=True)
class LivePlan:
    """Whether a start can run without torch, decided before anything loads it."""

    lean: bool
    """True: the encoder record holds and the model (if any) has a checked export"""
    reason: str
    """why not, in words ("" when lean)"""
    record: LiveRecord | None
    """the encoder record (None: not lean)"""


def plan_start(device: str, encoder_path: str, model: Path | None, *, root: Path | None = None) -> LivePlan:
    """Can a start with these settings and this model be lean? Reads files only, never torch.

    device / encoder_path: the settings (`ARCX_DEVICE` wins over `device`); model: the
    checkpoint the start will load (None or a missing file: recording only). A model the
    engine would refuse anyway (unreadable, another encoder) does not need torch either."""
    record, why = check_live_record(device=device, encoder_path=encoder_path, root=root)
    if record is None:
        return LivePlan(False, why, None)
    if model is not None and Path(model).is_file():
        try:
            meta = _lean_meta(Path(model), record.encoder_id)
        except CheckpointError as exc:
            log.debug("the model will be refused either way (%s): a lean start", exc)
        else:
            if _checked_export(meta, root) is None:
                return LivePlan(False, f"the model {Path(model).name} has no checked ONNX export yet", None)
    return LivePlan(True, "", record)


def _export_child(job_text: str, conn: Any) -> None:
    """Entry of `export_in_child`'s process: load the checkpoint with torch, export, report."""
    job = json.loads(job_text)
    try:
        from app.core.model.checkpoint import load_checkpoint

        model, meta = load_checkpoint(Path(job["path"]), expected_encoder_id=job["encoder_id"], device="cpu")
        out = export_qnet_for_lean(model, meta.content_sha256, root=Path(job["root"]))
        reply: dict[str, Any] = {"export": str(out) if out is not None else None, "error": None}
    except BaseException as exc:  # reported to the parent, which decides
        reply = {"export": None, "error": f"{type(exc).__name__}: {exc}"}
    conn.send_bytes(json.dumps(reply).encode("utf-8"))
    conn.close()


def export_in_child(
    path: Path, expected_encoder_id: str | None, *, root: Path | None = None, timeout_s: float = _EXPORT_TIMEOUT_S
) -> tuple[Path | None, str]:
    """Export a checkpoint's Q-net for lean starts in a spawned process (it imports torch,
    this process does not); (the checked export, "") or (None, why not).

    JSON over a one-way pipe, as the training child (`app.core.training.child`)."""
    root = root if root is not None else paths.cache_dir()
    job = json.dumps({"path": str(path), "encoder_id": expected_encoder_id, "root": str(root)})
    ctx = multiprocessing.get_context("spawn")
    from_child, child_end = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_export_child, args=(job, child_end), name="arcx-export", daemon=True)
    proc.start()
    child_end.close()
    try:
        if not from_child.poll(timeout_s):
            return None, f"the export took longer than {timeout_s:.0f} s"
        reply = json.loads(from_child.recv_bytes())
    except (EOFError, OSError):
        proc.join(5.0)
        return None, f"the export process ended without an answer (exit code {proc.exitcode})"
    finally:
        if proc.is_alive():
            proc.join(5.0)
        if proc.is_alive():
            proc.terminate()
            proc.join(5.0)
        with contextlib.suppress(OSError):
            from_child.close()
    if reply.get("error"):
        return None, str(reply["error"])
    if reply.get("export") is None:
        return None, "its ONNX export does not reproduce the torch model"
    return Path(reply["export"]), ""
