"""Per-stage latency samples of the engine, shared by its two loop threads."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

STAGES = ("grab", "preprocess", "encode", "qnet", "age")
"""Latency stages: grab, preprocess, encode (capture loop), qnet, capture-to-EV age."""


class LatencyStats:
    """Recent samples per stage; written by the loops, read by `status()`. Thread-safe."""

    def __init__(self, window: int) -> None:
        self._samples: dict[str, deque[float]] = {s: deque(maxlen=window) for s in STAGES}
        self._last: dict[str, float | None] = dict.fromkeys(STAGES)
        self._lock = threading.Lock()

    def add(self, stage: str, ms: float) -> None:
        with self._lock:
            self._samples[stage].append(ms)
            self._last[stage] = ms

    def last(self, stage: str) -> float | None:
        return self._last[stage]

    def samples(self, stage: str) -> list[float]:
        with self._lock:
            return list(self._samples[stage])

    def summary(self) -> dict[str, tuple[float, float] | None]:
        out: dict[str, tuple[float, float] | None] = {}
        for stage in STAGES:
            s = self.samples(stage)
            out[stage] = (float(np.percentile(s, 50)), float(np.percentile(s, 95))) if s else None
        return out
