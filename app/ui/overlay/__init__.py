"""The in-game overlay: a small click-through panel with the EV numbers and the advice.

Three parts, one concept each:

- `view`: the view model, no Qt. `OverlayState` (mode, latest `EVEstimate`, risk,
  recording) → `overlay_view` → `OverlayView`, every text and colour the panel shows,
  so every state is tested without painting.
- `painter`: paints an `OverlayView`; every size is a field of `Layout`.
- `window`: `OverlayWindow`, the frameless, click-through, always-on-top window, its
  placement per monitor, the unlock (drag) mode and the Win32 styles.

The names other code uses are re-exported here.
"""

from app.ui.overlay.painter import (
    BASE_HEIGHT,
    BASE_WIDTH,
    LAYOUT,
    PANEL_BORDER,
    PANEL_COLOUR,
    Layout,
    paint_view,
    render_view_image,
)
from app.ui.overlay.view import (
    CAPTURE_LOST_COLOUR,
    CLOSE_CALL_COLOUR,
    EXTRACT_COLOUR,
    IDLE_COLOUR,
    MUTED_COLOUR,
    NO_MODEL_COLOUR,
    REC_COLOUR,
    STAY_COLOUR,
    TEXT_COLOUR,
    WARMING_COLOUR,
    BandAxis,
    OverlayMode,
    OverlayState,
    OverlayView,
    SpreadBar,
    format_amount,
    format_delta,
    format_value,
    overlay_view,
    risk_text,
)
from app.ui.overlay.window import SNAP_DISTANCE, TOPMOST_INTERVAL_MS, OverlayWindow

__all__ = [
    "BASE_HEIGHT",
    "BASE_WIDTH",
    "CAPTURE_LOST_COLOUR",
    "CLOSE_CALL_COLOUR",
    "EXTRACT_COLOUR",
    "IDLE_COLOUR",
    "LAYOUT",
    "MUTED_COLOUR",
    "NO_MODEL_COLOUR",
    "PANEL_BORDER",
    "PANEL_COLOUR",
    "REC_COLOUR",
    "SNAP_DISTANCE",
    "STAY_COLOUR",
    "TEXT_COLOUR",
    "TOPMOST_INTERVAL_MS",
    "WARMING_COLOUR",
    "BandAxis",
    "Layout",
    "OverlayMode",
    "OverlayState",
    "OverlayView",
    "OverlayWindow",
    "SpreadBar",
    "format_amount",
    "format_delta",
    "format_value",
    "overlay_view",
    "paint_view",
    "render_view_image",
    "risk_text",
]
