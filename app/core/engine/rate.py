"""The capture frame rate the machine can afford, and when to lower it.

At warm-up the configured rate is kept if one frame (grab + preprocess + encode) fits in
`budget_fraction` of its period, else it is lowered to what fits. While capturing, after
`slow_frames` over-budget frames in a row the rate drops to what the recent encode times
afford, by at least 0.5 FPS and never below `min_fps`. Rates are multiples of 0.5.
"""

from __future__ import annotations

import math

import numpy as np

from app.core.engine.latency import LatencyStats
from app.core.engine.types import EngineConfig


def half_steps(fps: float) -> float:
    """Round down to a multiple of 0.5 (tolerating float noise just below one)."""
    return math.floor(2.0 * fps + 1e-6) / 2.0


class FrameRate:
    """Decides the capture rate from frame times; the engine applies it and says so."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self._slow_streak = 0

    def affordable(self, frame_ms: float) -> float:
        """The configured FPS, or lower (in 0.5 steps, ≥ min_fps) if frame_ms does not fit."""
        cfg = self.config
        budget_ms = cfg.budget_fraction * 1000.0 / cfg.fps
        if frame_ms <= budget_ms:
            return float(cfg.fps)
        fps = half_steps(cfg.budget_fraction * 1000.0 / frame_ms)
        return max(cfg.min_fps, fps)

    def after_frame(self, fps: float, step_ms: float, latency: LatencyStats) -> tuple[float, float] | None:
        """Count an encoded frame that took `step_ms` at `fps`.

        Returns (lower fps, frame ms that calls for it) once the streak of slow frames is
        long enough and a lower rate helps; None otherwise.
        """
        cfg = self.config
        budget_ms = cfg.budget_fraction * 1000.0 / fps
        self._slow_streak = self._slow_streak + 1 if step_ms > budget_ms else 0
        if self._slow_streak < cfg.slow_frames:
            return None
        self._slow_streak = 0
        recent = latency.samples("encode")[-cfg.slow_frames :]
        frame_ms = float(np.median(recent)) + (latency.last("grab") or 0.0) + (latency.last("preprocess") or 0.0)
        lower = half_steps(cfg.budget_fraction * 1000.0 / frame_ms)
        lower = max(cfg.min_fps, min(lower, fps - 0.5))
        return (lower, frame_ms) if lower < fps else None
