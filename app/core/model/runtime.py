"""Choose how to run the encoder on this machine, at start-up, with a quick self-check.

`select_encoder(model, preference="auto")` returns an `EncoderBackend` (see `fast.py`)
and an `EncoderSelection` report.

On a GPU device (CUDA, ROCm, DirectML), with `auto` or `ort-gpu`, the fp32 ONNX graph is
run by ONNX Runtime with that device's execution provider (`providers.py`: CUDA needs
onnxruntime-gpu, DirectML onnxruntime-directml) and checked like the CPU paths below; it
is used unless the torch fp32 eager encoder on the same device is more than 15 % faster
(on DirectML it is used whenever it passes: torch-directml is kept for training only).
A missing or failing provider is logged and leaves the fp32 eager encoder on the device.
Other preferences on a GPU give the fp32 eager encoder there. A GPU that only ONNX Runtime
can use (DirectML without torch-directml: the torch encoder is on the CPU) is passed as
`ort_device`; ort-gpu is tried there first and used whenever it passes, else the CPU
paths below are chosen.

On the CPU, with `auto`:

1. the INT8 paths (`ort-int8`, `ao-int8`; see `INT8_PATHS` for `ov-int8`) are built —
   once per encoder id, cached under
   `paths.cache_dir()/encoders/<encoder_id>_<H>x<W>_v<N>/` — and each one encodes the
   self-check frames;
2. a path is **accepted** only when every one of its latents has cosine ≥ 0.99 with the
   fp32 eager encoder's latent of the same frame (the reference latents are cached with
   the frames), so runs recorded with any accepted path train a model usable with any
   other;
3. the fastest accepted path wins if it beats fp32 eager (timed on a few of the same
   frames); ONNX Runtime wins ties within 15 % (its threads do not spin and do not
   depend on torch's global thread setting). With no INT8 path accepted, `ort-fp32` is
   tried, then the fp32 eager encoder is used.

An explicit preference (`fp32`, `channels-last`, `compile`, `ort-fp32`, `ort-int8`,
`ao-int8`, `ov-int8`) is built and checked the same way; if it fails the check, fp32 is used and
the report says why. The chosen path's name is what runs record as `encoder_path`.

Self-check and calibration frames are game-like: half of them come from the caller's
`game_frames` maker (the app, the CLI and the demo pass the simulated raid's,
`app.demo.hooks.sim_frames`; core never imports the demo), the rest, or all of them
without a maker, are the synthetic HUD scene (1/f textures, `capture.synthetic`).
Calibration frames and check frames never overlap (different seeds).
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from numpy.typing import NDArray

from app.core import paths
from app.core.atomic import atomic_path
from app.core.capture.synthetic import hud_frames
from app.core.model.encoder import FrameEncoder
from app.core.model.fast import (
    PATH_NAMES,
    AoInt8Backend,
    CompiledBackend,
    EncoderBackend,
    OpenVinoBackend,
    OrtBackend,
    TorchBackend,
    calibrate_ao_int8,
    export_onnx,
    quantize_onnx_int8,
)
from app.core.model.providers import ProviderUnavailableError, open_on_device

log = logging.getLogger(__name__)

FAITHFUL_COSINE = 0.99
"""Smallest cosine similarity to the fp32 latent that a fast path may have on any frame."""
CACHE_VERSION = 2
"""Bump when the cached files' meaning changes (export options, calibration recipe).
2: the ONNX export normalises pixels per row (`fast._RowNormalised`)."""
N_CALIBRATION = 32
"""Frames the INT8 paths are calibrated on."""
N_CHECK = 8
"""Frames each candidate encodes in the self-check (all of them compared, all timed)."""
N_BASELINE_TIMED = 2
"""fp32 eager encodes timed at start-up (after one untimed warm-up)."""
ORT_TIE_MARGIN = 0.15
"""ONNX Runtime is kept unless another path is this much faster."""
INT8_PATHS: tuple[str, ...] = ("ort-int8", "ao-int8")
"""The INT8 paths `auto` tries. ov-int8 is not among them yet: it measured 1.2× less CPU
than ort-int8 here (benchmarks/encoders.py), but the lean start (`lean.py`) runs only
ONNX Runtime graphs, so choosing it would bring torch back into every live start. It is
an explicit choice (`encoder_path = "ov-int8"`) until the lean start can run it."""

Progress = Callable[[str], None]


class FrameMaker(Protocol):
    """Makes game frames for the self-check and the INT8 calibration.

    Called as `maker(n, height=H, width=W, seed=S)`; returns at most `n` frames, each uint8
    RGB of shape (H, W, 3), the same ones for the same arguments. It may return fewer (or
    none) when it cannot make frames of that size; synthetic frames fill the rest.
    """

    def __call__(self, n: int, *, height: int, width: int, seed: int) -> Sequence[NDArray[np.uint8]]: ...


@dataclass(frozen=True)
class PathCheck:
    """How one path did in the self-check."""

    name: str
    """path name (see fast.PATH_NAMES)"""
    accepted: bool
    """worked and was faithful (cosine ≥ FAITHFUL_COSINE on every check frame)"""
    cosine_min: float | None
    """worst cosine to the fp32 latent over the check frames; None when it did not run"""
    ms_per_frame: float | None
    """median wall-clock ms per single-frame encode; None when it did not run"""
    note: str = ""
    """why it was rejected, or where it came from (cache / built)"""


@dataclass(frozen=True)
class EncoderSelection:
    """The decision, for logs, `status()`, benchmarks and the run metadata."""

    chosen: str
    """the path in use (recorded with every run as encoder_path)"""
    reason: str
    """one sentence: why this path"""
    baseline_ms: float | None
    """fp32 eager ms per frame measured in the same self-check (CPU only)"""
    checks: tuple[PathCheck, ...]
    """every path that was tried, in order"""
    threads: int
    """CPU threads the encoder runs on"""
    device: str
    """torch device of the encoder"""
    cache_dir: str | None
    """where the built artifacts are kept"""
    provider: str | None = None
    """the ONNX Runtime execution provider of the chosen path (None: not an ONNX Runtime path)"""

    @property
    def chosen_check(self) -> PathCheck | None:
        return next((c for c in self.checks if c.name == self.chosen), None)

    @property
    def speedup(self) -> float | None:
        """fp32 eager time / chosen path's time (None when either is unknown)."""
        c = self.chosen_check
        if c is None or not c.ms_per_frame or not self.baseline_ms:
            return None
        return self.baseline_ms / c.ms_per_frame

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable data."""
        d = asdict(self)
        d["checks"] = [asdict(c) for c in self.checks]
        d["speedup"] = self.speedup
        return d


# ------------------------------------------------------------------------------ frames


def _game_frames(game: FrameMaker, n: int, height: int, width: int, seed: int) -> list[NDArray[np.uint8]]:
    """Up to n frames from the caller's maker; [] (synthetic frames only) when it fails."""
    try:
        frames = [np.asarray(f, dtype=np.uint8) for f in game(n, height=height, width=width, seed=seed)]
    except Exception as exc:  # e.g. a frame size the game's layout does not support
        log.debug("game frames unavailable (%s); using synthetic ones", exc)
        return []
    if any(f.shape != (height, width, 3) for f in frames):
        log.debug("game frames have the wrong shape; using synthetic ones")
        return []
    return frames[:n]


def game_like_frames(
    n: int, *, height: int = 225, width: int = 400, seed: int = 0, game: FrameMaker | None = None
) -> NDArray[np.uint8]:
    """n frames: half from `game` (when given), the rest synthetic HUD scenes. Shape (n, H, W, 3)."""
    made = _game_frames(game, n // 2, height, width, seed) if game is not None else []
    rest = hud_frames(n - len(made), width=width, height=height, seed=seed)
    frames = np.concatenate([np.stack(made), rest]) if made else rest
    return np.ascontiguousarray(frames)


def cosine_rows(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float64]:
    """Cosine similarity of matching rows of two [N, D] arrays."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    num = (a64 * b64).sum(axis=1)
    den = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    return num / np.maximum(den, 1e-12)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------- cache


def encoder_cache_dir(model: FrameEncoder, root: Path | None = None) -> Path:
    cfg = model.config
    base = (root if root is not None else paths.cache_dir()) / "encoders"
    return base / f"{model.encoder_id()}_{cfg.height}x{cfg.width}_v{CACHE_VERSION}"


def _save_npz(path: Path, **arrays: NDArray[Any]) -> None:
    # cache files are rebuildable: atomic (never torn) but not worth an fsync
    with atomic_path(path, suffix=".npz", durable=False) as tmp:
        np.savez(tmp, **arrays)  # type: ignore[arg-type]


def reference_set(
    model: FrameEncoder, cache: Path, progress: Progress, game: FrameMaker | None = None
) -> tuple[NDArray[np.uint8], NDArray[np.float32], float | None]:
    """Check frames and their fp32 eager latents (cached); also the eager ms/frame if computed now."""
    path = cache / "check.npz"
    cfg = model.config
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                frames, latents = data["frames"], data["latents"]
            if frames.shape == (N_CHECK, cfg.height, cfg.width, 3) and latents.shape == (N_CHECK, cfg.latent_dim):
                return frames, latents.astype(np.float32), None
        except (OSError, KeyError, ValueError) as exc:
            log.warning("self-check cache %s is unreadable (%s); rebuilding it", path, exc)
    progress("computing reference latents for the encoder self-check (once per encoder)")
    frames = game_like_frames(N_CHECK, height=cfg.height, width=cfg.width, seed=7, game=game)
    ref = TorchBackend(model)
    ref.encode(frames[:1])  # warm-up
    times, rows = [], []
    for f in frames:
        t0 = time.perf_counter()
        rows.append(ref.encode(f))
        times.append((time.perf_counter() - t0) * 1000.0)
    latents = np.concatenate(rows).astype(np.float32)
    _save_npz(path, frames=frames, latents=latents)
    return frames, latents, statistics.median(times)


# ------------------------------------------------------------------------------ builds


def _calibration(model: FrameEncoder, game: FrameMaker | None) -> NDArray[np.uint8]:
    cfg = model.config
    return game_like_frames(N_CALIBRATION, height=cfg.height, width=cfg.width, seed=1, game=game)


def _build(
    name: str, model: FrameEncoder, cache: Path, threads: int, progress: Progress, game: FrameMaker | None = None,
    ort_device: tuple[str, int] | None = None,
) -> tuple[EncoderBackend, str]:
    """Load a path's cached artifact or build it; returns (backend, "cached" | "built").

    ort_device: (kind, index) ort-gpu runs on (default: the torch encoder's device)."""
    if name in ("fp32", "channels-last"):
        return TorchBackend(model, channels_last=name == "channels-last"), "eager"
    if name == "compile":
        progress("compiling the encoder with torch.compile (about a minute)")
        return CompiledBackend(model), "compiled"
    if name in ("ort-fp32", "ort-int8", "ov-int8", "ort-gpu"):
        if name == "ov-int8":
            import openvino  # noqa: F401  (ImportError: the path is not available)
        fp32 = cache / "encoder_fp32.onnx"
        origin = "cached"
        if not fp32.is_file():
            progress("exporting the encoder to ONNX (once per encoder)")
            export_onnx(model, fp32)
            origin = "built"
        if name == "ort-fp32":
            return OrtBackend(fp32, name=name, threads=threads), origin
        if name == "ort-gpu":
            kind, index = ort_device or device_kind(next(model.parameters()).device)
            opened = open_on_device(fp32, kind, index, threads=threads, allow_cpu=False)
            return OrtBackend(fp32, name=name, session=opened.session, provider=opened.choice.provider), origin
        int8 = cache / "encoder_int8.onnx"
        if not int8.is_file():
            progress("quantizing the encoder to INT8 with ONNX Runtime (once per encoder, ~30 s)")
            quantize_onnx_int8(fp32, int8, _calibration(model, game))
            origin = "built"
        if name == "ov-int8":
            return OpenVinoBackend(int8, name=name, threads=threads), origin
        return OrtBackend(int8, name=name, threads=threads), origin
    if name == "ao-int8":
        from app.core.model.checkpoint import read_tensors, write_tensors

        obs_path = cache / "ao_int8_observers.safetensors"
        if obs_path.is_file():
            observers, _ = read_tensors(obs_path)
            return AoInt8Backend(model, observers), "cached"
        progress("calibrating the torch.ao INT8 encoder (once per encoder, ~15 s)")
        observers = calibrate_ao_int8(model, _calibration(model, game))
        write_tensors(obs_path, observers, {"format": "arcx-ao-int8-observers", "encoder_id": model.encoder_id()})
        return AoInt8Backend(model, observers), "built"
    raise ValueError(f"unknown encoder path '{name}'; choose one of auto, {', '.join(PATH_NAMES)}")


def _artifacts(name: str, cache: Path) -> list[Path]:
    """The cached files a failing path deletes before its one rebuild.

    ov-int8 and ort-gpu run the graphs of ort-int8 and ort-fp32 and delete nothing: a
    runtime or provider that fails on a good graph must not cost the other paths theirs
    (a corrupt graph is rebuilt by the path that owns it)."""
    return {
        "ort-fp32": [cache / "encoder_fp32.onnx"],
        "ort-int8": [cache / "encoder_int8.onnx"],
        "ao-int8": [cache / "ao_int8_observers.safetensors"],
    }.get(name, [])


def _measure(backend: EncoderBackend, frames: NDArray[np.uint8], ref: NDArray[np.float32]) -> tuple[float, float]:
    """(worst cosine to ref, median ms per single-frame encode) over all check frames."""
    backend.encode(frames[:1])  # warm-up: first-run allocations, lazy init
    times, rows = [], []
    for f in frames:
        t0 = time.perf_counter()
        rows.append(backend.encode(f[None]))
        times.append((time.perf_counter() - t0) * 1000.0)
    z = np.concatenate(rows)
    if z.shape != ref.shape or not np.isfinite(z).all():
        return float("nan"), statistics.median(times)
    return float(cosine_rows(z, ref).min()), statistics.median(times)


def _try_path(
    name: str, model: FrameEncoder, cache: Path, threads: int, frames: NDArray[np.uint8],
    ref: NDArray[np.float32], progress: Progress, game: FrameMaker | None = None,
    ort_device: tuple[str, int] | None = None,
) -> tuple[EncoderBackend | None, PathCheck]:
    """Build (or load) and check one path; a cached artifact that fails is rebuilt once."""
    extra = {"ort_device": ort_device} if ort_device is not None else {}
    for attempt in (1, 2):
        try:
            backend, origin = _build(name, model, cache, threads, progress, game, **extra)
            cos, ms = _measure(backend, frames, ref)
        except ImportError as exc:
            return None, PathCheck(name, False, None, None, f"not available: {exc}")
        except ProviderUnavailableError as exc:  # logged: the player's GPU is not used by it
            log.warning("encoder path %s is not available: %s", name, exc)
            return None, PathCheck(name, False, None, None, f"not available: {exc}")
        except Exception as exc:  # an exporter/quantizer/runtime failure rejects the path only
            log.warning("encoder path %s failed: %s", name, exc)
            if attempt == 1 and any(p.exists() for p in _artifacts(name, cache)):
                for p in _artifacts(name, cache):
                    p.unlink(missing_ok=True)
                continue
            return None, PathCheck(name, False, None, None, f"failed: {type(exc).__name__}: {exc}")
        faithful = cos >= FAITHFUL_COSINE  # False for NaN too
        if faithful:
            return backend, PathCheck(name, True, cos, ms, origin)
        if attempt == 1 and origin == "cached":
            log.warning("cached %s encoder is not faithful (cosine %.4f); rebuilding it", name, cos)
            for p in _artifacts(name, cache):
                p.unlink(missing_ok=True)
            continue
        return None, PathCheck(name, False, cos, ms, f"not faithful: cosine {cos:.4f} < {FAITHFUL_COSINE}")
    raise AssertionError("unreachable")


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with `n` torch intra-op threads, restoring the previous count afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def device_kind(device: torch.device) -> tuple[str, int]:
    """(kind, index) of a torch device in `device.py`'s names: cuda, rocm, directml or cpu."""
    index = device.index or 0
    if device.type == "cuda":
        return ("rocm" if getattr(torch.version, "hip", None) else "cuda"), index
    if device.type == "privateuseone":  # torch-directml
        return "directml", index
    return "cpu", 0


def keep_gpu_ort(kind: str, ort_ms: float, eager_ms: float) -> bool:
    """Whether a faithful ort-gpu path is used rather than torch fp32 eager on the same GPU.

    Always on DirectML (torch-directml is for training only); elsewhere unless torch is
    more than ORT_TIE_MARGIN faster (ONNX Runtime lets the next start skip torch)."""
    return kind == "directml" or eager_ms >= (1 - ORT_TIE_MARGIN) * ort_ms


def _time_eager(eager: EncoderBackend, frames: NDArray[np.uint8]) -> float:
    """Median ms of N_BASELINE_TIMED single-frame fp32 eager encodes after one warm-up."""
    eager.encode(frames[:1])
    times = []
    for f in frames[:N_BASELINE_TIMED]:
        t0 = time.perf_counter()
        eager.encode(f[None])
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def default_threads() -> int:
    """Encoder threads: a quarter of the logical CPUs, 1 to 4: the game keeps the rest."""
    return max(1, min(4, (os.cpu_count() or 1) // 4))


def select_encoder(
    model: FrameEncoder,
    *,
    preference: str = "auto",
    threads: int | None = None,
    cache_root: Path | None = None,
    progress: Progress | None = None,
    game_frames: FrameMaker | None = None,
    ort_device: tuple[str, int] | None = None,
) -> tuple[EncoderBackend, EncoderSelection]:
    """Pick the encoder path for this machine (see the module docstring).

    threads: CPU threads for the encoder (default `default_threads()`). The self-check
        runs every path with that many threads (torch's count is restored afterwards);
        the caller runs the chosen backend with the same number (the engine sets
        `torch.set_num_threads(threads)` for the torch paths).
    game_frames: makes half of the self-check and calibration frames (see `FrameMaker`);
        without it they are all synthetic. Check frames are cached per encoder: the
        maker matters the first time only.
    ort_device: (kind, index) of a GPU that ONNX Runtime can use while the torch encoder
        is on the CPU, e.g. ("directml", 0) on a machine with onnxruntime-directml and no
        torch-directml (inference on AMD / Intel GPUs without it). With `auto` or
        `ort-gpu`, ort-gpu is tried there first and used whenever it passes the check (it
        takes the encoder off the CPU); when it is not available or fails, the CPU paths
        are chosen as usual and the report says why.
    """
    threads = threads or default_threads()
    with torch_threads(threads):
        return _select(model, preference, threads, cache_root, progress, game_frames, ort_device)


def _select(
    model: FrameEncoder, preference: str, threads: int, cache_root: Path | None, progress: Progress | None,
    game: FrameMaker | None = None, ort_device: tuple[str, int] | None = None,
) -> tuple[EncoderBackend, EncoderSelection]:
    say: Progress = progress or (lambda msg: log.info("%s", msg))
    preference = (preference or "auto").strip().lower()
    if preference != "auto" and preference not in PATH_NAMES:
        raise ValueError(f"unknown encoder path '{preference}'; choose one of auto, {', '.join(PATH_NAMES)}")
    device = next(model.parameters()).device
    kind, index = device_kind(device)
    if kind != "cpu":
        if preference in ("auto", "ort-gpu"):
            return _select_gpu(model, (kind, index), threads, cache_root, say, game)
        note = "" if preference == "fp32" else f" ({preference} is a CPU path)"
        selection = EncoderSelection(
            "fp32", f"fp32 eager on {device}{note}", None, (), threads, str(device), None
        )
        return TorchBackend(model), selection
    gpu_for_ort = ort_device is not None and ort_device[0] != "cpu"
    if preference == "ort-gpu" and not gpu_for_ort:
        raise ValueError("the ort-gpu encoder path needs a GPU device (this encoder is on the CPU)")

    if preference == "fp32":  # the reference itself: nothing to build or check
        return TorchBackend(model), EncoderSelection(
            "fp32", "fp32 eager, as configured", None, (), threads, "cpu", None
        )
    cache = encoder_cache_dir(model, cache_root)
    frames, ref, fresh_baseline = reference_set(model, cache, say, game)
    checks: list[PathCheck] = []
    accepted: dict[str, tuple[EncoderBackend, PathCheck]] = {}

    # The fp32 eager encoder: the reference, and the time to beat.
    eager = TorchBackend(model)
    baseline_ms = fresh_baseline if fresh_baseline is not None else _time_eager(eager, frames)
    fp32_check = PathCheck("fp32", True, 1.0, baseline_ms, "reference")

    gpu_note = ""  # why a GPU ONNX Runtime could use is not used, for the reason
    if gpu_for_ort and ort_device is not None and preference in ("auto", "ort-gpu"):
        # A GPU only ONNX Runtime can use: it takes the encoder off the CPU whenever it is faithful.
        backend, check = _try_path("ort-gpu", model, cache, threads, frames, ref, say, game, ort_device)
        checks.append(check)
        if backend is not None:
            provider = getattr(backend, "provider", None)
            reason = (
                f"ort-gpu: ONNX Runtime {provider} on {ort_device[0]}:{ort_device[1]}, {check.ms_per_frame:.1f} "
                f"ms/frame vs {baseline_ms:.1f} ms fp32 eager on the CPU, cosine ≥ {check.cosine_min:.4f}"
            )
            return backend, EncoderSelection(
                "ort-gpu", reason, baseline_ms, (*checks, fp32_check), threads, "cpu", str(cache), provider
            )
        gpu_note = f" (ort-gpu: {check.note})"
        if preference == "ort-gpu":
            checks.append(fp32_check)
            return eager, EncoderSelection(
                "fp32", f"fp32 eager (ort-gpu: {check.note})", baseline_ms, tuple(checks), threads, "cpu", str(cache)
            )

    tiers: list[tuple[str, ...]] = [(preference,)] if preference != "auto" else [INT8_PATHS, ("ort-fp32",)]
    for tier in tiers:
        for name in tier:
            backend, check = _try_path(name, model, cache, threads, frames, ref, say, game)
            checks.append(check)
            if backend is not None:
                accepted[name] = (backend, check)
        if accepted:
            break
    checks.append(fp32_check)

    def ms(name: str) -> float:
        return accepted[name][1].ms_per_frame or float("inf")

    if accepted:
        best = min(accepted, key=ms)
        if "ort-int8" in accepted and best != "ort-int8" and ms(best) > (1 - ORT_TIE_MARGIN) * ms("ort-int8"):
            best = "ort-int8"
        if preference == "auto" and ms(best) >= baseline_ms:
            reason = f"no faithful path beat fp32 eager ({baseline_ms:.0f} ms) on this machine{gpu_note}"
        else:
            check = accepted[best][1]
            reason = (
                f"{best}: {check.ms_per_frame:.0f} ms/frame vs {baseline_ms:.0f} ms fp32 eager "
                f"({baseline_ms / max(ms(best), 1e-9):.1f}×), cosine ≥ {check.cosine_min:.4f}{gpu_note}"
            )
            provider = getattr(accepted[best][0], "provider", None)
            return accepted[best][0], EncoderSelection(
                best, reason, baseline_ms, tuple(checks), threads, "cpu", str(cache), provider
            )
    else:
        why = "; ".join(f"{c.name}: {c.note}" for c in checks if not c.accepted)
        reason = f"fp32 eager (no faster path passed the self-check: {why})"
    return eager, EncoderSelection("fp32", reason, baseline_ms, tuple(checks), threads, "cpu", str(cache))


def _select_gpu(
    model: FrameEncoder, gpu: tuple[str, int], threads: int, cache_root: Path | None, say: Progress,
    game: FrameMaker | None,
) -> tuple[EncoderBackend, EncoderSelection]:
    """On a GPU device: ort-gpu (the fp32 graph on the device's provider) or fp32 eager there."""
    kind = gpu[0]
    device = next(model.parameters()).device
    cache = encoder_cache_dir(model, cache_root)
    frames, ref, fresh_baseline = reference_set(model, cache, say, game)
    eager = TorchBackend(model)
    baseline_ms = fresh_baseline if fresh_baseline is not None else _time_eager(eager, frames)
    backend, check = _try_path("ort-gpu", model, cache, threads, frames, ref, say, game, gpu)
    checks = (check, PathCheck("fp32", True, 1.0, baseline_ms, "reference"))
    if backend is not None and check.ms_per_frame is not None:
        provider = getattr(backend, "provider", None)
        if keep_gpu_ort(kind, check.ms_per_frame, baseline_ms):
            reason = (
                f"ort-gpu: ONNX Runtime {provider} on {device}, {check.ms_per_frame:.1f} ms/frame vs "
                f"{baseline_ms:.1f} ms torch fp32 eager, cosine ≥ {check.cosine_min:.4f}"
            )
            return backend, EncoderSelection(
                "ort-gpu", reason, baseline_ms, checks, threads, str(device), str(cache), provider
            )
        why = f"ort-gpu ({provider}) took {check.ms_per_frame:.1f} ms/frame, torch {baseline_ms:.1f} ms"
    else:
        why = f"ort-gpu: {check.note}"
    return eager, EncoderSelection(
        "fp32", f"fp32 eager on {device} ({why})", baseline_ms, checks, threads, str(device), str(cache)
    )
