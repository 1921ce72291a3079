"""LatentRing: the recent latents, preallocated, O(1) push; windows that span fixed time.

The capture loop pushes one latent per frame; the inference loop takes a chronological
copy of the window every tick. One short lock guards both (a 512-float copy in, a
32×512 copy out), which is all the hand-off between the two threads needs.

A window is L slots `FRAME_STEP_S` apart (4 s at the nominal 8 FPS), not "the last L
frames": the engine lowers its frame rate when the CPU is busy, and a model trained on
4-s windows must not be shown 8-s ones. Slot k holds the latest frame at or before its
time (`time_window_rows`, within half a step, so at exactly 8 FPS it is the last L
frames). The training windows (`app.core.data.dataset`) are built by the same function
from the recorded frame times. Pushes without a stamp fall back to the last L frames.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.core.model.dims import FRAME_STEP_S, WINDOW


def time_window_rows(
    t: np.ndarray, newest: np.ndarray, start: np.ndarray | int, length: int, step: float = FRAME_STEP_S
) -> np.ndarray:
    """[N, L] rows of the frames a window shows, oldest first, for windows ending at
    each `newest` row of one run's frame times `t` [F] (non-decreasing): slot k (of L)
    holds the latest frame at or before newest's time − (L−1−k)·step, within ~step/2;
    slots before the run's first frame repeat row `start`, as the ring pads."""
    t = np.asarray(t, dtype=np.float64)
    newest = np.asarray(newest, dtype=np.int64)
    lags = np.arange(length - 1, -1, -1, dtype=np.float64)[None, :] * step  # (1, L)
    target = t[newest][:, None] - lags + 0.49 * step  # (N, L); just under half: no ties at 2× the rate
    rows = np.searchsorted(t, target, side="right") - 1
    lo = np.broadcast_to(np.asarray(start, dtype=np.int64).reshape(-1, 1), rows.shape)
    return np.clip(rows, lo, newest[:, None]).astype(np.int64)


@dataclass(frozen=True)
class RingSnapshot:
    """A consistent view of the ring taken under its lock."""

    window: np.ndarray
    """[L, D] float32, oldest first; left-padded by repeating the oldest latent"""
    filled: int
    """how many real latents are in the window (≤ L)"""
    newest_stamp: float | None
    """the stamp pushed with the newest latent (capture time), None when empty"""
    pushed: int
    """latents pushed since creation or the last clear"""

    @property
    def full(self) -> bool:
        return self.filled == self.window.shape[0]


class LatentRing:
    """Fixed-size ring of [D] latents. Thread-safe."""

    def __init__(self, length: int = WINDOW, dim: int = 512, step: float = FRAME_STEP_S) -> None:
        if length < 1 or dim < 1 or not step > 0:
            raise ValueError(f"ring needs length ≥ 1, dim ≥ 1 and step > 0, got {length}×{dim}, {step}")
        self.length = length
        self.dim = dim
        self.step = step
        self._cap = 2 * length  # room for a window's span at up to twice the nominal rate
        self._buf = np.zeros((self._cap, dim), dtype=np.float32)
        self._stamps = np.full(self._cap, np.nan)
        self._next = 0  # slot the next push writes
        self._count = 0  # real latents held (≤ length)
        self._pushed = 0
        self._newest_stamp: float | None = None
        self._lock = threading.Lock()

    def push(self, z: np.ndarray, stamp: float | None = None) -> None:
        """Add one latent [D] (any float dtype); O(1)."""
        z = np.asarray(z)
        if z.shape != (self.dim,):
            raise ValueError(f"latent must have shape [{self.dim}], got {list(z.shape)}")
        with self._lock:
            self._buf[self._next] = z
            self._stamps[self._next] = np.nan if stamp is None else float(stamp)
            self._next = (self._next + 1) % self._cap
            self._count = min(self._count + 1, self._cap)
            self._pushed += 1
            self._newest_stamp = stamp

    def clear(self) -> None:
        with self._lock:
            self._next = 0
            self._count = 0
            self._pushed = 0
            self._newest_stamp = None

    def __len__(self) -> int:
        return min(self._count, self.length)

    @property
    def full(self) -> bool:
        return self.snapshot().full

    def snapshot(self) -> RingSnapshot:
        """Chronological window [L, D] (see the module docstring); before the ring holds a
        window's worth, the oldest latent is repeated."""
        with self._lock:
            count, nxt = self._count, self._next
            if count == 0:
                window = np.zeros((self.length, self.dim), dtype=np.float32)
                return RingSnapshot(window, 0, self._newest_stamp, self._pushed)
            order = (np.arange(count) + (nxt - count)) % self._cap  # slots, oldest first
            stamps = self._stamps[order]
            if np.isfinite(stamps).all() and bool(np.all(np.diff(stamps) >= 0)):
                rows = time_window_rows(stamps, np.array([count - 1]), 0, self.length, self.step)[0]
                # slots whose time falls before the oldest frame held are padding
                span = stamps[-1] - stamps[0] + 0.5 * self.step
                filled = min(self.length, int(span // self.step) + 1)
            else:  # no capture times: the last L frames
                rows = np.maximum(np.arange(count - self.length, count), 0)
                filled = min(count, self.length)
            window = self._buf[order[rows]]  # fancy index: a copy
            return RingSnapshot(window, filled, self._newest_stamp, self._pushed)

    def window(self) -> np.ndarray:
        return self.snapshot().window
