"""Pure rectangle maths for the region picker and the overlay placement.

No Qt here: the functions take and return plain tuples and `Rect`s, so they are tested
without a display. Coordinates are integers; a `Rect` is half-open like Qt's `QRect`
with `width`/`height` (right edge = left + width).

Two coordinate systems meet in the region picker: Qt widgets work in *logical* pixels
(device-independent), while the capture region is stored in *physical* pixels relative
to the monitor's top-left corner (what dxcam and mss grab). `to_physical` converts with
the screen's device pixel ratio.
"""

from __future__ import annotations

import math

from app.core.capture.base import Rect
from app.core.config import Corner

# Smallest capture region the settings accept (matches `Region` in app.core.config).
MIN_REGION_PX = 16


def rect_from_points(a: tuple[int, int], b: tuple[int, int]) -> Rect:
    """The rectangle spanned by two drag points, whichever way the drag went."""
    (x0, y0), (x1, y1) = a, b
    return Rect(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))


def intersect(a: Rect, b: Rect) -> Rect:
    """The overlap of two rectangles (empty when they do not overlap)."""
    return a.intersect(b)


def to_physical(rect: Rect, dpr: float) -> Rect:
    """Logical → physical pixels with device pixel ratio `dpr` (e.g. 1.5 at 150 %).

    Edges are rounded outward so the physical rectangle covers every pixel the player
    selected: the left/top edges floor, the right/bottom edges ceil.
    """
    if not dpr > 0:
        raise ValueError(f"device pixel ratio must be positive, got {dpr}")
    left = math.floor(rect.left * dpr + 1e-9)
    top = math.floor(rect.top * dpr + 1e-9)
    right = math.ceil(rect.right * dpr - 1e-9)
    bottom = math.ceil(rect.bottom * dpr - 1e-9)
    return Rect(left, top, right - left, bottom - top)


def to_logical(rect: Rect, dpr: float) -> Rect:
    """Physical → logical pixels (rounded to the nearest pixel), for drawing a stored region."""
    if not dpr > 0:
        raise ValueError(f"device pixel ratio must be positive, got {dpr}")
    left, top = round(rect.left / dpr), round(rect.top / dpr)
    right, bottom = round(rect.right / dpr), round(rect.bottom / dpr)
    return Rect(left, top, right - left, bottom - top)


def selection_to_region(
    a: tuple[int, int], b: tuple[int, int], screen_size: tuple[int, int], dpr: float
) -> Rect | None:
    """A drag on the frozen screen → the capture region in physical pixels.

    a, b: drag start and end, logical pixels relative to the screen's top-left corner.
    screen_size: the screen's logical (width, height).
    Returns None when the selection, clipped to the screen, is smaller than
    `MIN_REGION_PX` physical pixels on a side (a click, not a drag).
    """
    w, h = screen_size
    clipped = intersect(rect_from_points(a, b), Rect(0, 0, w, h))
    if clipped.empty:
        return None
    phys = to_physical(clipped, dpr)
    # Rounding outward may step one pixel past the screen's physical edge: clip again.
    bounds = Rect(0, 0, math.floor(w * dpr + 1e-9), math.floor(h * dpr + 1e-9))
    phys = intersect(phys, bounds)
    if phys.width < MIN_REGION_PX or phys.height < MIN_REGION_PX:
        return None
    return phys


def clamp_into(rect: Rect, bounds: Rect) -> Rect:
    """Move `rect` (size unchanged) so it lies inside `bounds` where it fits.

    When it is larger than `bounds` it is aligned with the top-left corner.
    """
    left = min(max(rect.left, bounds.left), max(bounds.right - rect.width, bounds.left))
    top = min(max(rect.top, bounds.top), max(bounds.bottom - rect.height, bounds.top))
    return Rect(left, top, rect.width, rect.height)


def overlay_position(
    corner: Corner,
    screen: Rect,
    size: tuple[int, int],
    margin: int,
    custom: tuple[int, int] = (0, 0),
) -> tuple[int, int]:
    """Top-left corner (logical, global) of an overlay of `size` on `screen`.

    corner: a snap corner, or "custom" to use `custom` (relative to the screen's top-left).
    screen: the screen's available geometry (global logical pixels).
    The result is always kept inside the screen, so a placement saved on a larger monitor
    cannot put the overlay off-screen.
    """
    w, h = size
    if corner == "top-left":
        x, y = screen.left + margin, screen.top + margin
    elif corner == "top-right":
        x, y = screen.right - w - margin, screen.top + margin
    elif corner == "bottom-left":
        x, y = screen.left + margin, screen.bottom - h - margin
    elif corner == "bottom-right":
        x, y = screen.right - w - margin, screen.bottom - h - margin
    elif corner == "custom":
        x, y = screen.left + custom[0], screen.top + custom[1]
    else:
        raise ValueError(f"unknown overlay corner {corner!r}")
    placed = clamp_into(Rect(x, y, w, h), screen)
    return placed.left, placed.top


def nearest_corner(pos: tuple[int, int], size: tuple[int, int], screen: Rect) -> Corner:
    """The snap corner closest to an overlay dropped at `pos` (global logical pixels)."""
    cx = pos[0] + size[0] / 2 - screen.left
    cy = pos[1] + size[1] / 2 - screen.top
    horizontal = "left" if cx < screen.width / 2 else "right"
    vertical = "top" if cy < screen.height / 2 else "bottom"
    corner: Corner = f"{vertical}-{horizontal}"  # type: ignore[assignment]
    return corner


def overlay_capture_mask(
    overlay: Rect, screen: Rect, dpr: float, region: Rect | None = None
) -> Rect | None:
    """Where the overlay lies in the captured image, so the engine can black it out.

    overlay: the overlay window, global logical pixels.
    screen: the captured monitor's geometry, global logical pixels.
    dpr: that monitor's device pixel ratio.
    region: the capture region (physical pixels, relative to the monitor), None = all.
    Returns the rectangle in captured-image pixels (relative to the region's top-left),
    or None when the overlay is not inside what is captured.
    """
    phys = to_physical(overlay.translate(-screen.left, -screen.top), dpr)
    box = region or Rect(
        0, 0, math.ceil(screen.width * dpr - 1e-9), math.ceil(screen.height * dpr - 1e-9)
    )
    inside = intersect(phys, box)
    if inside.empty:
        return None
    return inside.translate(-box.left, -box.top)
