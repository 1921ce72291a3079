"""Frame preprocessing: crop → resize to the encoder's 400×225 → mask the overlay.

The resize is Pillow's bilinear filter with `reducing_gap=1`: Pillow first box-reduces by
the largest integer factor (cheap, and it averages, so small HUD text does not alias)
and then filters the rest bilinearly. From 1920×1080 that took ~7 ms on one core of
the (loaded) development machine, against ~9 ms with `reducing_gap=2` and ~20 ms for
a plain bilinear resize; see `benchmarks/engine.py`.

ArcX must never see its own EV: `set_masks` takes the overlay's rectangle(s) in source
pixels (`overlay_in_capture` converts from screen coordinates) and they are blacked
out after the resize, grown by one output pixel so the bilinear filter's fringe is
covered too. Masks can change at any time from another thread (the overlay moves):
the tuple is replaced atomically and read once per frame.

A region whose aspect ratio is not 16:9 is stretched to 400×225, not letter-boxed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from PIL import Image

from app.core.capture.base import Frame, Rect

# Pillow's reducing_gap: box-reduce by floor(scale / gap) first, then filter the rest.
# 1.0 reduces as far as an integer factor goes (1080p: ÷4 to 480×270, then bilinear),
# 25 % faster than 2.0 (÷2, then a wide bilinear) and just as free of aliasing.
_REDUCING_GAP = 1.0
# Output pixels added on every side of a mask (bilinear fringe).
_MASK_GROW_PX = 1


def overlay_in_capture(overlay: Rect, capture_box: Rect) -> Rect | None:
    """The overlay's rectangle in the captured image's pixels, or None when it is outside.

    Both rectangles are in the same (virtual-screen, physical-pixel) coordinates.
    """
    inside = overlay.intersect(capture_box)
    if inside.empty:
        return None
    return inside.translate(-capture_box.left, -capture_box.top)


class Preprocessor:
    """uint8 RGB [H, W, 3] of any size → uint8 RGB [height, width, 3] for the encoder."""

    def __init__(
        self,
        width: int = 400,
        height: int = 225,
        *,
        crop: Rect | None = None,
        masks: Iterable[Rect] = (),
    ) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"output size must be positive, got {width}×{height}")
        self.width, self.height = width, height
        self.crop = crop
        self._masks: tuple[Rect, ...] = tuple(masks)

    @property
    def masks(self) -> tuple[Rect, ...]:
        return self._masks

    def set_masks(self, masks: Iterable[Rect]) -> None:
        """Rectangles (source pixels, after the crop) to black out; replaces the old ones."""
        self._masks = tuple(m for m in masks if not m.empty)

    def __call__(self, frame: Frame) -> Frame:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected uint8 [H, W, 3], got {frame.dtype} {list(frame.shape)}")
        if self.crop is not None:
            full = Rect(0, 0, frame.shape[1], frame.shape[0])
            c = self.crop.intersect(full)
            if c.empty:
                raise ValueError(f"crop {self.crop} is outside the {full.width}×{full.height} frame")
            frame = frame[c.top : c.bottom, c.left : c.right]
        src_h, src_w = frame.shape[:2]
        out: np.ndarray
        if (src_w, src_h) == (self.width, self.height):
            out = np.array(frame, copy=True)  # a private, writable copy
        else:
            img = Image.fromarray(np.ascontiguousarray(frame))
            gap = _REDUCING_GAP if src_w >= 2 * self.width and src_h >= 2 * self.height else None
            small = img.resize(
                (self.width, self.height), Image.Resampling.BILINEAR, reducing_gap=gap
            )
            out = np.array(small)  # writable copy owned by numpy
        masks = self._masks  # read once: another thread may replace it
        if masks:
            sx, sy = self.width / src_w, self.height / src_h
            for m in masks:
                x0 = max(0, math.floor(m.left * sx) - _MASK_GROW_PX)
                y0 = max(0, math.floor(m.top * sy) - _MASK_GROW_PX)
                x1 = min(self.width, math.ceil(m.right * sx) + _MASK_GROW_PX)
                y1 = min(self.height, math.ceil(m.bottom * sy) + _MASK_GROW_PX)
                if x1 > x0 and y1 > y0:
                    out[y0:y1, x0:x1] = 0
        return out
