"""Win32 calls the overlay needs beyond what Qt offers, behind `sys.platform` checks.

Qt's `WindowTransparentForInput` makes the overlay click-through on every platform, but
on Windows a game in the foreground still gets in the way in three ways Qt does not cover:

* Extended styles: `WS_EX_TRANSPARENT | WS_EX_LAYERED` make the window invisible to
  hit-testing at the OS level (clicks fall through to the game even when Qt's own flag
  is lost on a re-create), `WS_EX_NOACTIVATE` keeps a click from ever activating it.
* Topmost: full-screen games call `SetWindowPos(HWND_TOPMOST)` themselves and push the
  overlay behind; `assert_topmost` puts it back without activating it (called on a timer).
* Capture: `SetWindowDisplayAffinity(WDA_EXCLUDEFROMCAPTURE)` hides the overlay from
  screen capture (Windows 10 2004+), so the encoder never sees our own numbers. Older
  Windows rejects that value; `WDA_MONITOR` is the fallback (the overlay shows black in
  captures, which the encoder tolerates better than our text).

`Win32Window` takes the `user32` object as a parameter so the bit arithmetic is tested on
Linux with a fake. Every function is a no-op returning False off Windows.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger(__name__)

GWL_EXSTYLE = -20
WS_EX_TRANSPARENT = 0x00000020
WS_EX_TOOLWINDOW = 0x00000080
WS_EX_LAYERED = 0x00080000
WS_EX_NOACTIVATE = 0x08000000
CLICK_THROUGH_STYLES = WS_EX_TRANSPARENT | WS_EX_LAYERED | WS_EX_NOACTIVATE

HWND_TOPMOST = -1
SWP_NOSIZE = 0x0001
SWP_NOMOVE = 0x0002
SWP_NOACTIVATE = 0x0010
SWP_NOOWNERZORDER = 0x0200
TOPMOST_FLAGS = SWP_NOSIZE | SWP_NOMOVE | SWP_NOACTIVATE | SWP_NOOWNERZORDER

WDA_NONE = 0x00
WDA_MONITOR = 0x01
WDA_EXCLUDEFROMCAPTURE = 0x11

IS_WINDOWS = sys.platform == "win32"


def _load_user32() -> Any | None:
    if not IS_WINDOWS:
        return None
    import ctypes
    from ctypes import wintypes

    user32 = getattr(ctypes, "WinDLL")("user32", use_last_error=True)  # noqa: B009 (Windows only)
    # 64-bit Windows needs the *Ptr variants; their argtypes keep handles full width.
    user32.GetWindowLongPtrW.restype = ctypes.c_ssize_t
    user32.GetWindowLongPtrW.argtypes = [wintypes.HWND, ctypes.c_int]
    user32.SetWindowLongPtrW.restype = ctypes.c_ssize_t
    user32.SetWindowLongPtrW.argtypes = [wintypes.HWND, ctypes.c_int, ctypes.c_ssize_t]
    user32.SetWindowPos.argtypes = [
        wintypes.HWND,
        wintypes.HWND,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        wintypes.UINT,
    ]
    user32.SetWindowDisplayAffinity.argtypes = [wintypes.HWND, wintypes.DWORD]
    return user32


class Win32Window:
    """The Win32 side of one top-level window, identified by its HWND (`int(widget.winId())`)."""

    def __init__(self, hwnd: int, user32: Any | None = None) -> None:
        self.hwnd = int(hwnd)
        self.user32: Any = user32 if user32 is not None else _load_user32()

    @property
    def available(self) -> bool:
        return self.user32 is not None and self.hwnd != 0

    def ex_style(self) -> int:
        if not self.available:
            return 0
        return int(self.user32.GetWindowLongPtrW(self.hwnd, GWL_EXSTYLE))

    def set_click_through(self, enabled: bool) -> bool:
        """Add (or remove) WS_EX_TRANSPARENT | WS_EX_LAYERED | WS_EX_NOACTIVATE.

        WS_EX_LAYERED stays set when disabling: Qt uses it for the translucent window.
        """
        if not self.available:
            return False
        style = self.ex_style()
        if enabled:
            new = style | CLICK_THROUGH_STYLES
        else:
            new = (style & ~(WS_EX_TRANSPARENT | WS_EX_NOACTIVATE)) | WS_EX_LAYERED
        if new != style:
            self.user32.SetWindowLongPtrW(self.hwnd, GWL_EXSTYLE, new)
        return True

    def assert_topmost(self) -> bool:
        """Put the window back on top of the topmost band without activating it."""
        if not self.available:
            return False
        return bool(self.user32.SetWindowPos(self.hwnd, HWND_TOPMOST, 0, 0, 0, 0, TOPMOST_FLAGS))

    def exclude_from_capture(self) -> bool:
        """Hide the window from screen capture; WDA_MONITOR where the OS lacks exclusion."""
        if not self.available:
            return False
        if self.user32.SetWindowDisplayAffinity(self.hwnd, WDA_EXCLUDEFROMCAPTURE):
            return True
        log.info("WDA_EXCLUDEFROMCAPTURE refused (Windows older than 10 2004?); using WDA_MONITOR")
        return bool(self.user32.SetWindowDisplayAffinity(self.hwnd, WDA_MONITOR))
