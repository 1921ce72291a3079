"""`arcx --self-test`: does this install work? Five steps, each timed, exit 0 or 1.

    modules   every module of ArcX imports (a frozen build that lost one fails here)
    device    select the compute device (CUDA → ROCm → DirectML → CPU, smoke-tested)
    encoder   load the ResNet-34 encoder (bundled weights, else the seeded random init)
    qnet      load the player's trained Q-net, or build a fresh random one if there is none
              (saved to a temporary checkpoint, so the engine loads it the normal way)
    pipeline  one synthetic frame through the real engine: source → preprocess → encoder
              (fp32 path) → ring → Q-net → EV; the EV must be finite
    runtimes  the encoder's fast-path runtimes import (ONNX Runtime, torch.ao)
    overlay   open the overlay offscreen, paint the pipeline's estimate, close it

It is what the build scripts run on the frozen executable before packaging (a smoke test
of the bundle: missing DLLs, Qt plugins or data files show up here, not on a player's
machine) and what a player runs when the app does not start (`arcx-console.exe
--self-test`; the windowed `arcx.exe` has no console to print to).

A step that fails does not stop the others, so one run reports everything that is wrong.
A missing module of ArcX itself is reported as "not built yet", never skipped: the
self-test passes only when every step ran. Nothing is written to the player's data: the
Q-net is only read, the engine has no recorder, the synthetic source needs no screen, and
the overlay never shows on a real display (Qt's offscreen platform). The pipeline runs the
fp32 encoder path: the app's automatic choice of a faster path builds INT8 models on the
first start, which takes minutes and belongs to the app, not to a smoke test.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import __version__

log = logging.getLogger(__name__)

# The fresh Q-net used when the player has no trained model yet: seeded, so its output
# is the same on every machine.
FRESH_QNET_SEED = 0


class NotBuiltYet(Exception):
    """A part of ArcX that this step needs is not in this build."""


@dataclass(frozen=True)
class StepResult:
    """The outcome of one self-test step."""

    name: str
    """step name: device, encoder, qnet, pipeline, overlay"""
    ok: bool
    """the step ran and everything it checked was right"""
    detail: str
    """what it found (ok) or what failed (not ok), one line"""
    seconds: float
    """wall time of the step"""


@dataclass
class _Context:
    """What earlier steps hand to later ones."""

    settings: Any = None
    device: Any = None
    encoder: Any = None
    encoder_info: Any = None
    qnet_path: Path | None = None
    estimate: Any = None
    notes: list[str] = field(default_factory=list)
    tmp: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="arcx-selftest-")
    )


def _require(module: str) -> Any:
    """Import one of ArcX's own modules; a missing one is "not built yet"."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module or module.startswith(exc.name + ".")):
            raise NotBuiltYet(f"not built yet: {module} is missing") from exc
        raise


# ----------------------------------------------------------------------------- steps


def _step_modules(ctx: _Context) -> str:
    import pkgutil

    import app

    names = [
        m.name
        for m in pkgutil.walk_packages(app.__path__, "app.")
        if not m.name.endswith("__main__")  # runs the CLI when imported
    ]
    if not names:
        raise RuntimeError("found no ArcX modules to import (a broken bundle?)")
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # any import error is a finding
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
    if failed:
        raise RuntimeError(
            f"{len(failed)} of {len(names)} modules do not import: {'; '.join(failed[:3])}"
        )
    return f"{len(names)} modules import"


def _step_device(ctx: _Context) -> str:
    from app.core.config import load_settings
    from app.core.device import select_device

    loaded = load_settings()
    if loaded.message:
        ctx.notes.append(loaded.message)
    ctx.settings = loaded.settings
    report = select_device(loaded.settings.device)
    ctx.device = report.device
    skipped = [f"{c.label}: {c.reason}" for c in report.candidates if c.passed_smoke is False]
    extra = f"; skipped {'; '.join(skipped)}" if skipped else ""
    return f"{report.kind} ({report.device}), {report.name or 'unknown'}{extra}"


def _step_encoder(ctx: _Context) -> str:
    from app.core.model.encoder import load_encoder

    device = ctx.device if ctx.device is not None else "cpu"
    ctx.encoder, ctx.encoder_info = load_encoder(device=device)
    info = ctx.encoder_info
    if not info.pretrained:
        ctx.notes.append(
            "the encoder has no pretrained weights (seeded random init); the installer ships "
            "models/encoder_resnet34.safetensors, a source checkout gets it from "
            "installer/fetch_weights.py"
        )
    return f"id {info.encoder_id}, weights: {info.source}" + (
        f" ({info.path})" if info.path else ""
    )


def _step_qnet(ctx: _Context) -> str:
    import torch

    from app.core.model.checkpoint import save_checkpoint
    from app.core.model.qnet import QNetConfig, TemporalQNet

    if ctx.encoder is None:
        raise RuntimeError("needs the encoder (failed above)")
    found = _trained_qnet(ctx)
    if found is not None:
        return found
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(FRESH_QNET_SEED)
        qnet = TemporalQNet(QNetConfig(latent_dim=ctx.encoder.config.latent_dim))
    ctx.qnet_path = save_checkpoint(
        Path(ctx.tmp.name) / "fresh-qnet.safetensors",
        qnet,
        encoder_id=ctx.encoder_info.encoder_id,
        value_scale=1.0,
        epoch=0,
        val_loss=0.0,
        extra={"note": "arcx --self-test: fresh random Q-net"},
    )
    cfg = qnet.config
    return (
        f"no trained model: fresh random Q-net ({cfg.arch}, {cfg.num_actions} actions × "
        f"{cfg.num_quantiles} quantiles)"
    )


def _trained_qnet(ctx: _Context) -> str | None:
    """The player's model, where the trainer installs it and the app loads it; None if none.

    It must load and fit the running encoder: a model the app cannot use is a failure.
    """
    from app.core import paths
    from app.core.model.checkpoint import load_checkpoint

    trainer = _require("app.core.training.trainer")
    path = paths.user_models_dir() / trainer.DEFAULT_MODEL_NAME
    if not path.is_file():
        return None
    _, meta = load_checkpoint(path, expected_encoder_id=ctx.encoder_info.encoder_id)
    ctx.qnet_path = path
    return f"trained model {path} (epoch {meta.epoch}, val loss {meta.val_loss:.4g})"


def _step_pipeline(ctx: _Context) -> str:
    engine_mod = _require("app.core.engine")
    synthetic = _require("app.core.capture.synthetic")
    fast = _require("app.core.model.fast")
    if ctx.encoder is None or ctx.qnet_path is None:
        raise RuntimeError("needs the encoder and a Q-net (failed above)")
    from app.core.config import Settings

    settings = ctx.settings if ctx.settings is not None else Settings()
    config = engine_mod.EngineConfig.from_settings(settings, encoder_path="fp32")
    engine = engine_mod.Engine(
        synthetic.SyntheticSource(seed=0),
        config=config,
        encoder=fast.TorchBackend(ctx.encoder),
        encoder_id=ctx.encoder_info.encoder_id,
    )
    engine.warm_up(progress=lambda msg: log.debug("engine: %s", msg))
    engine.load_model(ctx.qnet_path)
    engine.open_source()
    try:
        frame = engine.capture_once()
        tick = engine.inference_once()
    finally:
        engine.close_source()
    if not frame.fed:
        raise RuntimeError(
            f"the synthetic frame did not reach the window (problem: {frame.problem})"
        )
    if tick.ev is None:
        raise RuntimeError(f"no EV from the pipeline (reason: {tick.reason})")
    ev = tick.ev
    if not all(math.isfinite(v) for v in (ev.ev_stay, ev.ev_extract, ev.delta)):
        raise RuntimeError(f"the EV is not finite: stay {ev.ev_stay}, extract {ev.ev_extract}")
    ctx.estimate = ev
    encode_ms = f"{frame.encode_ms:.0f} ms" if frame.encode_ms is not None else "?"
    return (
        f"1 frame → EV stay {ev.ev_stay:.3g}, extract {ev.ev_extract:.3g}, advice {ev.advice} "
        f"(encode {encode_ms}, Q-net {tick.qnet_ms or 0:.0f} ms)"
    )


def _step_runtimes(ctx: _Context) -> str:
    """The fast encoder paths' runtimes are in this build (the app picks one at start)."""
    import onnxruntime
    from torch.ao.quantization.quantize_fx import prepare_fx  # noqa: F401

    providers = ", ".join(onnxruntime.get_available_providers())
    return f"onnxruntime {onnxruntime.__version__} ({providers}); torch.ao quantization"


def _step_overlay(ctx: _Context) -> str:
    # torch before Qt (app/ui/__init__.py explains why); the offscreen platform so the
    # self-test never flashes a window and runs without a display.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    overlay_mod = _require("app.ui.overlay")
    from PyQt6.QtGui import QGuiApplication
    from PyQt6.QtWidgets import QApplication

    from app.core.model.ev import compute_ev

    app = QApplication.instance() or QApplication([sys.argv[0], "-platform", "offscreen"])
    settings = ctx.settings.overlay if ctx.settings is not None else None
    window = overlay_mod.OverlayWindow(settings)
    estimate = ctx.estimate
    if estimate is None:  # the pipeline step failed: paint a known estimate instead
        import numpy as np

        estimate = compute_ev(np.linspace(0.0, 1.0, 32).reshape(2, 16), "neutral")
    window.show_estimate(estimate)
    window.show()
    app.processEvents()
    image = window.grab().toImage()
    painted = not image.isNull() and image.width() > 0
    view = window.view()
    window.close()
    window.deleteLater()
    app.processEvents()
    if not painted:
        raise RuntimeError("the overlay painted nothing")
    return f"painted {image.width()}×{image.height()} px on {QGuiApplication.platformName()}: {view.headline}"


STEPS: tuple[tuple[str, Callable[[_Context], str]], ...] = (
    ("modules", _step_modules),
    ("device", _step_device),
    ("encoder", _step_encoder),
    ("qnet", _step_qnet),
    ("pipeline", _step_pipeline),
    ("runtimes", _step_runtimes),
    ("overlay", _step_overlay),
)


def run_steps(
    steps: tuple[tuple[str, Callable[[_Context], str]], ...] | None = None,
) -> tuple[list[StepResult], list[str]]:
    """Run every step (default: STEPS), never stopping early; return the results and notes."""
    ctx = _Context()
    results: list[StepResult] = []
    try:
        _run_into(ctx, STEPS if steps is None else steps, results)
    finally:
        ctx.tmp.cleanup()
    return results, ctx.notes


def _run_into(
    ctx: _Context,
    steps: tuple[tuple[str, Callable[[_Context], str]], ...],
    results: list[StepResult],
) -> None:
    for name, fn in steps:
        t0 = time.perf_counter()
        try:
            detail = fn(ctx)
            ok = True
        except NotBuiltYet as exc:
            detail, ok = str(exc), False
        except Exception as exc:  # a self-test reports every failure, whatever its type
            log.debug("self-test step %s failed", name, exc_info=True)
            detail, ok = f"{type(exc).__name__}: {exc}", False
            last = traceback.extract_tb(exc.__traceback__)[-1:]
            if last:
                frame = last[0]
                detail += f" (at {os.path.basename(frame.filename)}:{frame.lineno})"
        results.append(StepResult(name, ok, detail, time.perf_counter() - t0))


def main() -> int:
    """Print the report; 0 when every step passed, 1 otherwise."""
    from app.core import paths

    frozen = "frozen" if paths.is_frozen() else "from source"
    print(f"ArcX {__version__} self-test ({frozen}, {sys.platform}, bundle {paths.bundle_root()})")
    results, notes = run_steps()
    for r in results:
        mark = "ok  " if r.ok else "FAIL"
        print(f"  {mark} {r.name:<9} {r.detail}  [{r.seconds:.1f} s]")
    for note in notes:
        print(f"  note: {note}")
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"self-test FAILED: {', '.join(failed)}")
        return 1
    print("self-test passed")
    return 0
