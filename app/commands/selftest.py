"""`arcx --self-test`: does this install work? Five steps, each timed, exit 0 or 1.

    device    select the compute device (CUDA → ROCm → DirectML → CPU, smoke-tested)
    encoder   load the ResNet-34 encoder (bundled weights, else the seeded random init)
    qnet      load the player's trained Q-net, or build a fresh random one if there is none
    pipeline  one synthetic frame through the real engine: source → encoder → ring → Q-net → EV
    overlay   open the overlay offscreen, paint one estimate, close it

It is what the build scripts run on the frozen executable before packaging (a smoke test
of the bundle: missing DLLs, Qt plugins or data files show up here, not on a player's
machine) and what a player runs when the app does not start (`arcx-console.exe
--self-test`; the windowed `arcx.exe` has no console to print to).

A step that fails does not stop the others, so one run reports everything that is wrong.
A missing module of ArcX itself is reported as "not built yet", never skipped: the
self-test passes only when every step ran. Nothing is written to the player's data: the
Q-net is only read, the synthetic source needs no screen, and the overlay never shows on
a real display (Qt's offscreen platform).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
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
    qnet: Any = None
    value_scale: float = 1.0
    estimate: Any = None
    notes: list[str] = field(default_factory=list)


def _require(module: str) -> Any:
    """Import one of ArcX's own modules; a missing one is "not built yet"."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module or module.startswith(exc.name + ".")):
            raise NotBuiltYet(f"not built yet: {module} is missing") from exc
        raise


# ----------------------------------------------------------------------------- steps


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

    from app.core.model.qnet import QNetConfig, TemporalQNet

    if ctx.encoder is None:
        raise RuntimeError("needs the encoder (failed above)")
    found = _trained_qnet(ctx)
    if found is not None:
        return found
    latent_dim = ctx.encoder.config.latent_dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(FRESH_QNET_SEED)
        qnet = TemporalQNet(QNetConfig(latent_dim=latent_dim))
    ctx.qnet = qnet.to(ctx.device or "cpu").eval()
    ctx.value_scale = 1.0
    cfg = qnet.config
    return (
        f"no trained model: fresh random Q-net ({cfg.arch}, {cfg.num_actions} actions × "
        f"{cfg.num_quantiles} quantiles)"
    )


def _trained_qnet(ctx: _Context) -> str | None:
    """Load the player's current Q-net the way the app does; None when there is none."""
    from app.core import paths
    from app.core.model.checkpoint import load_checkpoint

    candidates = sorted(
        paths.user_models_dir().glob("*.safetensors"), key=lambda p: p.stat().st_mtime
    )
    if not candidates:
        return None
    path = candidates[-1]
    ctx.qnet, meta = load_checkpoint(
        path, expected_encoder_id=ctx.encoder_info.encoder_id, device=ctx.device or "cpu"
    )
    ctx.value_scale = meta.value_scale
    return f"trained model {path.name} (epoch {meta.epoch}, val loss {meta.val_loss:.4g})"


def _step_pipeline(ctx: _Context) -> str:
    _require("app.core.engine")
    raise NotBuiltYet("not built yet: the self-test's engine step waits for app.core.engine")


def _step_overlay(ctx: _Context) -> str:
    # torch before Qt (app/ui/__init__.py explains why); the offscreen platform so the
    # self-test never flashes a window and runs without a display.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    overlay_mod = _require("app.ui.overlay")
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
    return f"painted {image.width()}×{image.height()} px on {app.platformName()}: {view.headline}"


STEPS: tuple[tuple[str, Callable[[_Context], str]], ...] = (
    ("device", _step_device),
    ("encoder", _step_encoder),
    ("qnet", _step_qnet),
    ("pipeline", _step_pipeline),
    ("overlay", _step_overlay),
)


def run_steps(
    steps: tuple[tuple[str, Callable[[_Context], str]], ...] | None = None,
) -> tuple[list[StepResult], list[str]]:
    """Run every step (default: STEPS), never stopping early; return the results and notes."""
    ctx = _Context()
    results: list[StepResult] = []
    for name, fn in STEPS if steps is None else steps:
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
    return results, ctx.notes


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
