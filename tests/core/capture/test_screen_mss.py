"""mss against a real X server (Xvfb), and its failure handling with a fake mss.

The Xvfb tests start their own server (scripts/xvfb.py, on a free display), paint known
rectangles on the root window through Xlib (ctypes), and check what mss captures. They
skip when Xvfb or libX11 is missing; CI installs both (`.ci/run`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from app.core.capture.base import CaptureLost, FrameSource, Rect
from app.core.capture.screen import MssSource
from app.core.errors import CaptureError
from scripts.xvfb import XvfbError, xvfb

SCREEN_W, SCREEN_H = 640, 480


@pytest.fixture(scope="module")
def xvfb_display() -> Iterator[str]:
    if ctypes.util.find_library("X11") is None:
        pytest.skip("libX11 is not installed (apt-get install xvfb)")
    try:
        with xvfb(SCREEN_W, SCREEN_H) as display:
            yield display
    except XvfbError as exc:
        pytest.skip(str(exc))


class XPainter:
    """Fill rectangles of the root window with solid colours through Xlib."""

    def __init__(self, display: str) -> None:
        x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultRootWindow.restype = ctypes.c_ulong
        x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x11.XCreateGC.restype = ctypes.c_void_p
        x11.XCreateGC.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_void_p]
        x11.XSetForeground.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong]
        x11.XFillRectangle.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p] + [ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
        x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x11.XFreeGC.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.x11 = x11
        self.dpy = x11.XOpenDisplay(display.encode())
        if not self.dpy:
            pytest.skip(f"cannot open X display {display}")
        self.root = x11.XDefaultRootWindow(self.dpy)
        self.gc = x11.XCreateGC(self.dpy, self.root, 0, None)

    def fill(self, rect: Rect, rgb: tuple[int, int, int]) -> None:
        pixel = (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]  # 24-bit TrueColor
        self.x11.XSetForeground(self.dpy, self.gc, pixel)
        self.x11.XFillRectangle(self.dpy, self.root, self.gc, rect.left, rect.top, rect.width, rect.height)
        self.x11.XSync(self.dpy, 0)

    def close(self) -> None:
        self.x11.XFreeGC(self.dpy, self.gc)
        self.x11.XCloseDisplay(self.dpy)


@pytest.fixture()
def painter(xvfb_display: str) -> Iterator[XPainter]:
    p = XPainter(xvfb_display)
    p.fill(Rect(0, 0, SCREEN_W, SCREEN_H), (0, 0, 0))
    yield p
    p.close()


@pytest.mark.xvfb
def test_mss_captures_the_whole_xvfb_screen(xvfb_display: str, painter: XPainter) -> None:
    painter.fill(Rect(0, 0, 320, 480), (255, 0, 0))  # left half red
    painter.fill(Rect(320, 0, 320, 480), (0, 0, 255))  # right half blue
    src = MssSource(0, display=xvfb_display)
    assert isinstance(src, FrameSource)
    src.open()
    try:
        frame = src.grab()
    finally:
        src.close()
    assert frame is not None
    assert frame.shape == (SCREEN_H, SCREEN_W, 3) and frame.dtype == np.uint8
    assert (frame[:, :320] == [255, 0, 0]).all()  # RGB order, not mss's BGRA
    assert (frame[:, 320:] == [0, 0, 255]).all()


@pytest.mark.xvfb
def test_mss_region_is_relative_to_the_monitor_and_tracks_changes(
    xvfb_display: str, painter: XPainter
) -> None:
    painter.fill(Rect(100, 50, 200, 100), (10, 200, 30))
    src = MssSource(0, Rect(100, 50, 200, 100), display=xvfb_display)
    src.open()
    try:
        assert src.box == Rect(100, 50, 200, 100)
        frame = src.grab()
        assert frame is not None and frame.shape == (100, 200, 3)
        assert (frame == [10, 200, 30]).all()
        painter.fill(Rect(100, 50, 100, 100), (250, 250, 0))
        frame = src.grab()
        assert frame is not None
        assert (frame[:, :100] == [250, 250, 0]).all() and (frame[:, 100:] == [10, 200, 30]).all()
    finally:
        src.close()


@pytest.mark.xvfb
def test_mss_region_is_clipped_and_bad_monitors_are_refused(xvfb_display: str) -> None:
    src = MssSource(0, Rect(600, 400, 200, 200), display=xvfb_display)
    src.open()
    assert src.box == Rect(600, 400, 40, 80)
    src.close()
    with pytest.raises(CaptureError, match="outside"):
        MssSource(0, Rect(1000, 1000, 50, 50), display=xvfb_display).open()
    with pytest.raises(CaptureError, match="monitor 3"):
        MssSource(3, display=xvfb_display).open()


class _FlakyMss:
    monitors = [{"left": 0, "top": 0, "width": 64, "height": 32}] * 2

    def __init__(self, plan: list[bool]) -> None:
        self.plan = plan

    def grab(self, box: dict[str, int]) -> Any:
        ok = self.plan.pop(0) if self.plan else True
        if not ok:
            raise OSError("XGetImage failed")

        class Shot:
            size = (box["width"], box["height"])
            raw = bytearray(b"\x10\x20\x30\xff" * box["width"] * box["height"])

        return Shot()

    def close(self) -> None:
        pass


def test_failed_grabs_reopen_then_give_up() -> None:
    opened = []
    plan = [False, True, False, False, False]

    def factory(display: str | None) -> _FlakyMss:
        opened.append(display)
        return _FlakyMss(plan)

    src = MssSource(0, factory=factory, max_failures=3)
    src.open()
    assert src.grab() is None  # failure 1 → reopen at the next grab
    frame = src.grab()
    assert frame is not None and (frame == [0x30, 0x20, 0x10]).all()  # BGRA → RGB
    assert src.grab() is None and src.grab() is None
    with pytest.raises(CaptureLost, match="3 times"):
        src.grab()
    assert len(opened) == 4


def test_open_failure_is_a_capture_error() -> None:
    def factory(display: str | None) -> Any:
        raise OSError("no DISPLAY")

    with pytest.raises(CaptureError, match="cannot open"):
        MssSource(0, factory=factory).open()
    with pytest.raises(ValueError):
        MssSource(-1)
