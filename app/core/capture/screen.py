"""Screen capture with mss: any OS, a region of one monitor.

mss lists monitors as `monitors[0]` = all of them together and `monitors[1..N]` = each
one; ArcX's monitor index 0 is mss's `monitors[1]` (the primary on Windows and most X
setups). The region is relative to the monitor's top-left corner, in physical pixels,
and is clipped to the monitor.

mss returns BGRA; Pillow's raw decoder turns it into RGB in one C pass
(`frombuffer(..., "BGRX")`), without an intermediate copy.

An mss instance holds per-thread handles (an X connection on Linux, a device context on
Windows): `open()`, `grab()` and `close()` must run on the same thread. A failing grab
(X server gone, display reconfigured) is retried by reopening; after
`max_failures` in a row the source raises `CaptureLost`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from app.core.capture.base import CaptureLost, Frame, Rect
from app.core.errors import CaptureError

log = logging.getLogger(__name__)

# Consecutive failed grabs (each followed by a reopen) before giving up.
DEFAULT_MAX_FAILURES = 5


def _default_factory(display: str | None) -> Any:
    import mss

    kwargs: dict[str, Any] = {}
    if display is not None:
        kwargs["display"] = display
    # mss ≥ 10.2 has the class `MSS` and deprecates the factory `mss.mss`; 9.x has only the latter.
    cls = getattr(mss, "MSS", None) or mss.mss
    return cls(**kwargs)


class MssSource:
    """FrameSource for one monitor (or a region of it) through mss."""

    name = "mss"

    def __init__(
        self,
        monitor: int = 0,
        region: Rect | None = None,
        *,
        display: str | None = None,
        max_failures: int = DEFAULT_MAX_FAILURES,
        factory: Callable[[str | None], Any] = _default_factory,
    ) -> None:
        if monitor < 0:
            raise ValueError(f"monitor index must be ≥ 0, got {monitor}")
        self.monitor = monitor
        self.region = region
        self.display = display
        self.max_failures = max_failures
        self._factory = factory
        self._sct: Any = None
        self._box: dict[str, int] | None = None
        self._failures = 0

    @property
    def box(self) -> Rect | None:
        """The captured rectangle in virtual-screen coordinates (after `open`)."""
        if self._box is None:
            return None
        b = self._box
        return Rect(b["left"], b["top"], b["width"], b["height"])

    def open(self) -> None:
        self.close()
        try:
            self._sct = self._factory(self.display)
            monitors = self._sct.monitors
        except Exception as exc:  # mss raises ScreenShotError, or OSError/ctypes errors
            self.close()
            raise CaptureError(f"mss cannot open the screen: {exc}") from exc
        if self.monitor + 1 >= len(monitors):
            count = len(monitors) - 1
            self.close()
            raise CaptureError(f"monitor {self.monitor} asked for, but mss sees {count}")
        mon = monitors[self.monitor + 1]
        whole = Rect(int(mon["left"]), int(mon["top"]), int(mon["width"]), int(mon["height"]))
        box = whole
        if self.region is not None:
            box = self.region.translate(whole.left, whole.top).intersect(whole)
            if box.empty:
                self.close()
                raise CaptureError(
                    f"region {self.region} lies outside monitor {self.monitor} "
                    f"({whole.width}×{whole.height})"
                )
        self._box = {"left": box.left, "top": box.top, "width": box.width, "height": box.height}
        log.info("mss capturing %s of monitor %d", box, self.monitor)

    def grab(self) -> Frame | None:
        try:
            if self._sct is None or self._box is None:
                self.open()
            shot = self._sct.grab(self._box)
            img = Image.frombuffer("RGB", shot.size, shot.raw, "raw", "BGRX", 0, 1)
            frame = np.asarray(img)
        except Exception as exc:
            self._failures += 1
            if self._failures >= self.max_failures:
                raise CaptureLost(f"mss failed {self._failures} times in a row: {exc}") from exc
            log.warning(
                "mss grab failed (%s); reopening at the next grab (%d/%d)",
                exc, self._failures, self.max_failures,
            )
            self.close()
            return None
        self._failures = 0
        return frame

    def close(self) -> None:
        sct, self._sct = self._sct, None
        self._box = None
        if sct is not None:
            try:
                sct.close()
            except Exception as exc:  # closing is best effort
                log.debug("mss close failed: %s", exc)
