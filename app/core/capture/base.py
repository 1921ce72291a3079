"""The FrameSource protocol and the small types every capture backend shares.

A source is opened, grabbed from and closed **on one thread** (the capture thread): mss
and dxcam hold per-thread handles (an X connection, COM objects), so the engine calls
`open()` from the loop that will call `grab()`.

    open()  → None             acquire the screen / file / generator; may raise CaptureError
    grab()  → uint8 [H, W, 3]  RGB, C-contiguous, or None when there is nothing new yet
    close() → None             release everything; safe to call twice

`grab()` returns None for "no new frame" (the screen did not change, a camera is being
rebuilt) and raises `CaptureError` (or `CaptureLost`) only when the source gave up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from app.core.errors import CaptureError

Frame = NDArray[np.uint8]
"""uint8 RGB image [H, W, 3]."""


class CaptureLost(CaptureError):
    """The source stopped delivering frames and could not be recovered."""


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields screen-like frames: see the module docstring."""

    @property
    def name(self) -> str:
        """Short label for logs and the run's metadata ("mss", "dxcam", "synthetic", …)."""
        ...

    def open(self) -> None: ...

    def grab(self) -> Frame | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in pixels: left/top inclusive, width/height ≥ 0."""

    left: int
    """x of the left edge"""
    top: int
    """y of the top edge"""
    width: int
    """width in pixels"""
    height: int
    """height in pixels"""

    @property
    def right(self) -> int:
        """x one past the right edge."""
        return self.left + self.width

    @property
    def bottom(self) -> int:
        """y one past the bottom edge."""
        return self.top + self.height

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def intersect(self, other: Rect) -> Rect:
        """The overlap of two rectangles (empty when they do not touch)."""
        left, top = max(self.left, other.left), max(self.top, other.top)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        return Rect(left, top, max(0, right - left), max(0, bottom - top))

    def translate(self, dx: int, dy: int) -> Rect:
        return Rect(self.left + dx, self.top + dy, self.width, self.height)

    def as_ltrb(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom): the box form dxcam and PIL use."""
        return (self.left, self.top, self.right, self.bottom)


def check_frame(frame: object, source: str) -> Frame:
    """Validate what a source returned: uint8 [H, W, 3]; raises CaptureError otherwise."""
    if not isinstance(frame, np.ndarray):
        raise CaptureError(f"{source} returned {type(frame).__name__}, not an image array")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise CaptureError(
            f"{source} returned a {frame.dtype} array of shape {list(frame.shape)}; "
            "expected uint8 [H, W, 3] RGB"
        )
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise CaptureError(f"{source} returned an empty frame {list(frame.shape)}")
    return frame
