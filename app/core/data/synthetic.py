"""Synthetic runs: data without a game, for tests and benchmarks.

A run is a hidden process stepped at the frame rate:

    loot    grows in random bursts (compound Poisson)
    danger  mean-reverting random walk (Ornstein-Uhlenbeck) with occasional spikes
    death   hazard per second = base · exp(sensitivity · danger) · (1 + loot / loot_scale)
    policy  the player extracts once loot passes a per-run threshold (or time runs out),
            then walks out for a few seconds under a lower hazard; arriving banks the loot

Each frame's latent is what a frozen encoder might make of the screen: a fixed random
projection (seeded by `world_seed`, so it plays the part of one encoder id) of
(danger, log loot, time, extracting) plus a slowly drifting "scenery" component and
noise, through LayerNorm + ReLU like the real encoder's head. The outcome therefore
depends on what the latents show (danger and loot), which is what a Q-net can learn.

`generate_run` makes one run in memory; `as_run_data` turns it into a `RunData` for a
`DecisionDataset` without touching the disk; `record_runs` writes runs through the real
`RunRecorder`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.data.dataset import RunData
from app.core.data.recorder import RunRecorder
from app.core.data.schema import assign_actions
from app.core.data.store import RunInfo

_N_FEATURES = 4  # danger, log1p(loot / 1000), t / 600, extracting
_N_SCENERY = 16  # slowly drifting nuisance dimensions


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the synthetic raid process."""

    latent_dim: int = 512
    """D: size of each frame latent"""
    fps: float = 8.0
    """frames per second"""
    decision_interval_s: float = 0.5
    """seconds between decisions"""
    max_duration_s: float = 900.0
    """the raid timer: the player starts extracting by then"""
    loot_rate_per_s: float = 0.25
    """expected loot bursts per second"""
    loot_burst_mean: float = 1500.0
    """mean value of one burst (exponential)"""
    threshold_median: float = 120_000.0
    """median loot at which the player heads out (log-normal per run)"""
    danger_theta: float = 0.05
    """mean reversion of danger per second"""
    danger_sigma: float = 0.25
    """volatility of danger per √second"""
    spike_rate_per_s: float = 0.01
    """rate of sudden danger spikes"""
    base_hazard_per_s: float = 1.0 / 3000.0
    """death hazard at danger 0 with no loot"""
    danger_sensitivity: float = 1.5
    """hazard multiplier per unit of danger, as exp(sensitivity · danger)"""
    loot_scale: float = 150_000.0
    """carried loot at which the hazard doubles (a rich player is a target)"""
    extract_walk_s: tuple[float, float] = (5.0, 25.0)
    """uniform range of the walk to the extraction point"""
    extract_hazard_factor: float = 0.5
    """hazard multiplier while extracting"""
    noise: float = 0.3
    """per-frame latent noise (before the normalisation)"""
    world_seed: int = 0
    """seeds the projection: same seed, same "encoder" """

    @property
    def encoder_id(self) -> str:
        return f"synthetic-{self.world_seed}-d{self.latent_dim}"


@dataclass(frozen=True)
class SyntheticRun:
    """One synthetic run: what the recorder would see, plus the hidden truth."""

    latents: np.ndarray
    """[F, D] float32"""
    t_sec: np.ndarray
    """[F] run-clock seconds of each frame"""
    decision_frames: np.ndarray
    """[N] int64: newest frame of each decision"""
    decision_t: np.ndarray
    """[N] seconds"""
    extract_mark_t: float | None
    """when the player started extracting (None if they died before)"""
    outcome: str
    """"extracted" or "died" """
    final_loot_value: float
    """loot banked (0 when died)"""
    danger: np.ndarray
    """[F] hidden danger"""
    loot: np.ndarray
    """[F] hidden carried loot"""


class _World:
    """The fixed projection: hidden features → latent (plays the frozen encoder)."""

    def __init__(self, cfg: SyntheticConfig) -> None:
        rng = np.random.default_rng(cfg.world_seed)
        d = cfg.latent_dim
        self.w_feat = rng.standard_normal((_N_FEATURES, d)).astype(np.float32)
        self.w_scene = (rng.standard_normal((_N_SCENERY, d)) * 0.5).astype(np.float32)
        self.bias = (rng.standard_normal(d) * 0.2).astype(np.float32)


def generate_run(cfg: SyntheticConfig, rng: np.random.Generator) -> SyntheticRun:
    """Simulate one run frame by frame (scalar state; latents made at the end, vectorised)."""
    dt = 1.0 / cfg.fps
    threshold = cfg.threshold_median * math.exp(0.6 * rng.standard_normal())
    n_max = int(cfg.max_duration_s * cfg.fps) + int(cfg.extract_walk_s[1] * cfg.fps) + 1
    danger = np.zeros(n_max)
    loot = np.zeros(n_max)
    extracting = np.zeros(n_max, dtype=bool)
    d, value = 0.0, 0.0
    mark_step: int | None = None
    arrive_step: int | None = None
    outcome = "died"
    last = n_max - 1
    for i in range(n_max):
        d += -cfg.danger_theta * d * dt + cfg.danger_sigma * math.sqrt(dt) * rng.standard_normal()
        if rng.random() < cfg.spike_rate_per_s * dt:
            d += rng.uniform(1.0, 3.0)
        if mark_step is None and rng.random() < cfg.loot_rate_per_s * dt:
            value += rng.exponential(cfg.loot_burst_mean)
        danger[i], loot[i] = d, value
        if mark_step is None and (value >= threshold or i * dt >= cfg.max_duration_s):
            mark_step = i
            arrive_step = i + int(rng.uniform(*cfg.extract_walk_s) * cfg.fps)
        extracting[i] = mark_step is not None
        hazard = cfg.base_hazard_per_s * math.exp(cfg.danger_sensitivity * d) * (1 + value / cfg.loot_scale)
        if extracting[i]:
            hazard *= cfg.extract_hazard_factor
        if rng.random() < hazard * dt:
            last = i
            break
        if arrive_step is not None and i >= arrive_step:
            outcome, last = "extracted", i
            break
    n = last + 1
    danger, loot, extracting = danger[:n], loot[:n], extracting[:n]
    t = np.arange(n) * dt
    latents = _latents(cfg, rng, danger, loot, t, extracting)
    step = max(1, round(cfg.decision_interval_s * cfg.fps))
    decision_frames = np.arange(step - 1, n, step, dtype=np.int64)
    if len(decision_frames) == 0 or decision_frames[-1] != n - 1:
        decision_frames = np.append(decision_frames, n - 1)  # a decision on the last frame
    return SyntheticRun(
        latents=latents,
        t_sec=t,
        decision_frames=decision_frames,
        decision_t=t[decision_frames],
        extract_mark_t=float(t[mark_step]) if mark_step is not None else None,
        outcome=outcome,
        final_loot_value=float(loot[-1]) if outcome == "extracted" else 0.0,
        danger=danger,
        loot=loot,
    )


def _latents(
    cfg: SyntheticConfig,
    rng: np.random.Generator,
    danger: np.ndarray,
    loot: np.ndarray,
    t: np.ndarray,
    extracting: np.ndarray,
) -> np.ndarray:
    world = _World(cfg)
    n = len(t)
    feats = np.stack(
        [danger, np.log1p(loot / 1000.0), t / 600.0, extracting.astype(np.float64)], axis=1
    ).astype(np.float32)  # (F, 4)
    # scenery: a slow random walk, renewed now and then (the player moves around the map)
    scene = np.cumsum(rng.standard_normal((n, _N_SCENERY)) * 0.05, axis=0).astype(np.float32)
    x = feats @ world.w_feat + scene @ world.w_scene + world.bias  # (F, D)
    x += rng.standard_normal(x.shape).astype(np.float32) * cfg.noise
    x -= x.mean(axis=1, keepdims=True)  # LayerNorm (no affine) …
    x /= x.std(axis=1, keepdims=True) + 1e-5
    return np.maximum(x, 0.0)  # … then ReLU, as the encoder's head


def generate_runs(n_runs: int, cfg: SyntheticConfig | None = None, seed: int = 0) -> list[SyntheticRun]:
    cfg = cfg or SyntheticConfig()
    rng = np.random.default_rng(seed)
    return [generate_run(cfg, rng) for _ in range(n_runs)]


def as_run_data(run: SyntheticRun, cfg: SyntheticConfig, run_id: str) -> RunData:
    """A synthetic run as the dataset would load it from disk (latents via float16)."""
    return RunData(
        run_id=run_id,
        encoder_id=cfg.encoder_id,
        latents=run.latents.astype(np.float16),
        decision_rows=run.decision_frames,
        actions=assign_actions(run.decision_t, run.extract_mark_t, run.outcome),
        target=run.final_loot_value,
    )


def synthetic_run_data(
    n_runs: int, cfg: SyntheticConfig | None = None, seed: int = 0
) -> list[RunData]:
    cfg = cfg or SyntheticConfig()
    return [as_run_data(r, cfg, f"synthetic-{seed}-{i}") for i, r in enumerate(generate_runs(n_runs, cfg, seed))]


def record_run(
    recorder: RunRecorder,
    run: SyntheticRun,
    cfg: SyntheticConfig,
    *,
    label: bool = True,
    game_profile: str = "synthetic",
) -> RunInfo:
    """Feed one synthetic run through a RunRecorder (as the engine would) and end it."""
    recorder.start_run(
        encoder_id=cfg.encoder_id, fps=cfg.fps, game_profile=game_profile, latent_dim=cfg.latent_dim
    )
    decisions = iter(run.decision_frames.tolist())
    next_decision = next(decisions, -1)
    for i in range(len(run.t_sec)):
        recorder.add_frame(run.latents[i], float(run.t_sec[i]))
        if run.extract_mark_t is not None and abs(run.t_sec[i] - run.extract_mark_t) < 1e-9:
            recorder.mark_extract(run.extract_mark_t)
        if i == next_decision:
            recorder.add_decision(float(run.t_sec[i]), i, None)
            next_decision = next(decisions, -1)
    if label:
        return recorder.end_run(run.outcome, run.final_loot_value)
    return recorder.end_run(None)


def record_runs(
    root: Path,
    n_runs: int,
    cfg: SyntheticConfig | None = None,
    *,
    seed: int = 0,
    unlabelled: int = 0,
    flush_interval_s: float = 1e9,
) -> list[RunInfo]:
    """Write `n_runs` synthetic runs under `root`; the last `unlabelled` of them unlabelled.

    The default flush interval keeps each run in memory until it ends (one write per
    table); pass a real interval to exercise the parts path.
    """
    cfg = cfg or SyntheticConfig()
    recorder = RunRecorder(root, flush_interval_s=flush_interval_s)
    infos = []
    for i, run in enumerate(generate_runs(n_runs, cfg, seed)):
        infos.append(record_run(recorder, run, cfg, label=i < n_runs - unlabelled))
    return infos
