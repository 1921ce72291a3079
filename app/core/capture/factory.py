"""Build a FrameSource from a spec string or the capture settings.

    synthetic       the moving HUD-like scene (demo, benchmarks)
    screen          the monitor/region of the settings: dxcam on Windows (falling back to
                    mss when dxcam cannot start, and saying so), mss elsewhere
    replay:PATH     a folder of images or an .npz (see replay.py)

Callers may add kinds of their own with `extra`: the app's entry points pass the demo's
`sim` (`app.demo.hooks.SOURCES`); core itself knows no simulator.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from app.core.capture.base import Frame, FrameSource, Rect
from app.core.capture.dxgi import DxcamSource
from app.core.capture.replay import ReplaySource
from app.core.capture.screen import MssSource
from app.core.capture.synthetic import SyntheticSource
from app.core.config import CaptureSettings
from app.core.errors import CaptureError

log = logging.getLogger(__name__)

SOURCE_KINDS = ("synthetic", "screen", "replay:PATH")
"""The kinds core builds itself."""

SourceBuilder = Callable[[], FrameSource]
"""Builds one extra source kind (not yet opened), e.g. the demo's `sim`."""


class FallbackSource:
    """Opens `primary`; when that raises CaptureError, uses `fallback` and says why.

    `notice` holds the sentence for the player after a fallback, else None.
    """

    def __init__(self, primary: FrameSource, fallback: Callable[[], FrameSource]) -> None:
        self._primary = primary
        self._fallback = fallback
        self._active: FrameSource = primary
        self.notice: str | None = None

    @property
    def name(self) -> str:
        return self._active.name

    @property
    def active(self) -> FrameSource:
        return self._active

    def open(self) -> None:
        try:
            self._primary.open()
            self._active = self._primary
            return
        except CaptureError as exc:
            fallback = self._fallback()
            self.notice = (
                f"{self._primary.name} cannot capture ({exc}); using {fallback.name} instead, "
                "which is slower but works everywhere"
            )
            log.warning("%s", self.notice)
        fallback.open()
        self._active = fallback

    def grab(self) -> Frame | None:
        return self._active.grab()

    def close(self) -> None:
        self._active.close()


def _region(settings: CaptureSettings) -> Rect | None:
    r = settings.region
    return None if r is None else Rect(r.left, r.top, r.width, r.height)


def screen_source(settings: CaptureSettings, *, platform: str = sys.platform) -> FrameSource:
    """The screen source the settings ask for (`backend`: auto, dxcam or mss)."""
    region = _region(settings)

    def mss() -> FrameSource:
        return MssSource(settings.monitor, region)

    backend = settings.backend
    if backend == "auto":
        backend = "dxcam" if platform == "win32" else "mss"
    if backend == "mss":
        return mss()
    return FallbackSource(DxcamSource(settings.monitor, region), mss)


def source_from_spec(
    spec: str,
    settings: CaptureSettings | None = None,
    *,
    extra: Mapping[str, SourceBuilder] | None = None,
) -> FrameSource:
    """`synthetic`, `screen`, `replay:PATH` or a kind of `extra` → a FrameSource (not yet opened).

    extra: more kinds (lowercase names without `:`) and their builders, e.g.
        `{"sim": make_sim_source}`; they cannot replace the kinds above.
    """
    settings = settings or CaptureSettings()
    extra = extra or {}
    kind, sep, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "synthetic" and not sep:
        return SyntheticSource()
    if kind == "screen" and not sep:
        return screen_source(settings)
    if kind == "replay":
        if not arg:
            raise CaptureError("replay needs a path: replay:PATH (a folder of images or an .npz)")
        return ReplaySource(Path(arg).expanduser(), loop=False)
    if kind in extra and not sep:
        return extra[kind]()
    kinds = (*SOURCE_KINDS, *(k for k in extra if k not in SOURCE_KINDS))
    raise CaptureError(f"unknown source '{spec}'; use one of {', '.join(kinds)}")
