"""LatentRing: the last L latents, preallocated, O(1) push.

The capture loop pushes one latent per frame; the inference loop takes a chronological
copy of the window every tick. One short lock guards both (a 512-float copy in, a
32×512 copy out), which is all the hand-off between the two threads needs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.core.model.dims import WINDOW


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

    def __init__(self, length: int = WINDOW, dim: int = 512) -> None:
        if length < 1 or dim < 1:
            raise ValueError(f"ring needs length ≥ 1 and dim ≥ 1, got {length}×{dim}")
        self.length = length
        self.dim = dim
        self._buf = np.zeros((length, dim), dtype=np.float32)
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
            self._next = (self._next + 1) % self.length
            self._count = min(self._count + 1, self.length)
            self._pushed += 1
            self._newest_stamp = stamp

    def clear(self) -> None:
        with self._lock:
            self._next = 0
            self._count = 0
            self._pushed = 0
            self._newest_stamp = None

    def __len__(self) -> int:
        return self._count

    @property
    def full(self) -> bool:
        return self._count == self.length

    def snapshot(self) -> RingSnapshot:
        """Chronological window [L, D]; with fewer than L latents, the oldest is repeated."""
        with self._lock:
            count, nxt = self._count, self._next
            if count == 0:
                window = np.zeros((self.length, self.dim), dtype=np.float32)
            elif count < self.length:
                # Not wrapped yet: slots 0..count-1 hold the latents in order.
                window = np.empty((self.length, self.dim), dtype=np.float32)
                pad = self.length - count
                window[:pad] = self._buf[0]
                window[pad:] = self._buf[:count]
            else:
                # Wrapped: the oldest is at `nxt`.
                window = np.concatenate((self._buf[nxt:], self._buf[:nxt]), axis=0)
            return RingSnapshot(window, count, self._newest_stamp, self._pushed)

    def window(self) -> np.ndarray:
        return self.snapshot().window
