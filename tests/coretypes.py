"""Real core values for UI tests: the UI's edges are typed, so tests hand it the real
dataclasses (`RunInfo`, `TrainProgress`, `TrainResult`, `EVTick`, `Notice`), not look-alikes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from app.core.data.dataset import DecisionDataset
from app.core.data.recorder import RunInfo
from app.core.data.synthetic import SyntheticConfig, synthetic_run_data
from app.core.engine import EVTick, Notice
from app.core.model.ev import EVEstimate
from app.core.model.qnet import QNetConfig
from app.core.training.trainer import TrainConfig, TrainProgress, TrainResult


def run_info(**kw: Any) -> RunInfo:
    base: dict[str, Any] = dict(
        run_id="r1",
        started_at=dt.datetime(2026, 3, 1, 20, 15, tzinfo=dt.timezone.utc),
        ended_at=None,
        duration_s=60.0,
        game_profile="default",
        encoder_id="enc-a",
        encoder_path="fp32",
        fps=8.0,
        outcome=None,
        final_loot_value=None,
        extract_mark_t=None,
        n_frames=0,
        n_decisions=0,
        bytes_on_disk=0,
        path=Path("runs") / str(kw.get("run_id", "r1")),
        app_version="test",
    )
    return RunInfo(**{**base, **kw})


def train_progress(
    epoch: int,
    epochs: int,
    step: int,
    total_steps: int,
    train_loss: float,
    val_loss: float | None,
    samples_per_s: float,
    eta_s: float,
) -> TrainProgress:
    return TrainProgress(
        epoch=epoch,
        epochs=epochs,
        step=step,
        total_steps=total_steps,
        train_loss=train_loss,
        val_loss=val_loss,
        best_val_loss=val_loss,
        samples_per_s=samples_per_s,
        eta_s=eta_s,
    )


def train_result(**kw: Any) -> TrainResult:
    base: dict[str, Any] = dict(
        stopped="completed",
        checkpoint_path=Path("qnet.safetensors"),
        previous_path=None,
        best_epoch=12,
        best_val_loss=0.0791,
        epochs_run=12,
        value_scale=30_000.0,
        device="cpu",
        precision="fp32",
        n_train=41_280,
        n_val=9_000,
        n_train_runs=40,
        n_val_runs=10,
        encoder_id="enc-a",
        seconds=61.0,
        samples_per_s=5_000.0,
    )
    return TrainResult(**{**base, **kw})


def ev_tick(ev: EVEstimate | None, reason: str | None) -> EVTick:
    return EVTick(
        t=0.0,
        ev=ev,
        reason=reason,
        frame_age_ms=None,
        qnet_ms=None,
        stages_ms={},
        filled=0,
        run_id=None,
        decision_idx=None,
    )


def notice(kind: str, message: str) -> Notice:
    return Notice(kind=kind, message=message, t=0.0)  # type: ignore[arg-type]


D, L = 16, 8  # small latents and windows: a few seconds per fit on one core


def small_dataset(n_runs: int = 5, seed: int = 1) -> DecisionDataset:
    """A few synthetic runs for the training child and the training worker."""
    cfg = SyntheticConfig(latent_dim=D, max_duration_s=60.0, threshold_median=20_000.0)
    return DecisionDataset(synthetic_run_data(n_runs, cfg, seed), window=L)


def small_config(**kw) -> TrainConfig:
    """A tiny, fast, reproducible training config for `small_dataset`."""
    qnet = QNetConfig(latent_dim=D, seq_len=L, hidden=16, num_layers=1, attn_dim=16, head_dim=32)
    base = dict(epochs=2, batch_size=64, device="cpu", precision="fp32", qnet=qnet, window=L, num_threads=1)
    return TrainConfig(**{**base, **kw})  # type: ignore[arg-type]
