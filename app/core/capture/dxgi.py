"""Windows screen capture with dxcam (DXGI Desktop Duplication).

dxcam is imported only inside `default_camera_factory`, so this module imports on every
OS; the logic around the camera (start options, recovery, back-off) is plain Python and
is tested with a fake camera.

How the camera is used:
- `dxcam.create(output_idx=…, region=(l, t, r, b), output_color="RGB",
  max_buffer_len=DEFAULT_BUFFER_LEN)`: a small ring buffer, because dxcam's default of 64
  full frames costs hundreds of MB at 1440p;
- `start(target_fps=…, video_mode=True)`: dxcam's own thread copies frames at
  `target_fps` and repeats the last one when the desktop did not change, so the stream
  has no gaps; `get_latest_frame()` then returns the newest. (It blocks until dxcam has
  its first frame after `start`; in a game that is immediate.)
- Access lost (alt-tab into exclusive full screen, a resolution or monitor change, the
  secure desktop): dxcam either raises from `get_latest_frame` or its thread stops and
  it returns None with `is_capturing` False. Both mean "lost": the camera is
  `release()`d — dxcam keeps one camera per output and hands the old one back unless it
  is released — and re-created with exponential back-off; `grab()` returns None
  meanwhile. After `give_up_after_s` without a frame it raises `CaptureLost`.

dxcam needs a per-monitor DPI-aware process, or regions are in scaled (logical)
pixels: `enable_dpi_awareness()` does that, once, before the first camera.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from app.core.capture.base import CaptureLost, Frame, Rect, check_frame
from app.core.errors import CaptureError

log = logging.getLogger(__name__)

# Frames in dxcam's ring buffer: 2 is its minimum for concurrent capture.
DEFAULT_BUFFER_LEN = 2
# dxcam's own capture rate. Higher than the engine's 8 FPS so `get_latest_frame` waits at
# most ~33 ms for a fresh frame; the copy costs ~1–2 % of a core at 1080p.
DEFAULT_CAMERA_FPS = 30
# Back-off between camera rebuilds after access is lost: first delay, cap.
BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 4.0
# Without a single frame for this long, the source gives up (CaptureLost).
DEFAULT_GIVE_UP_S = 30.0


class Camera(Protocol):
    """The part of `dxcam.DXCamera` this module uses."""

    is_capturing: bool

    def start(self, *, target_fps: int, video_mode: bool) -> None: ...

    def get_latest_frame(self) -> Any: ...

    def stop(self) -> None: ...

    def release(self) -> None: ...


# (output_idx, region as (left, top, right, bottom) or None, max_buffer_len) → camera
CameraFactory = Callable[[int, "tuple[int, int, int, int] | None", int], Camera]


def default_camera_factory(
    output_idx: int, region: tuple[int, int, int, int] | None, max_buffer_len: int
) -> Camera:
    """Create a real dxcam camera (Windows only; imported lazily)."""
    if sys.platform != "win32":
        raise CaptureError("dxcam works only on Windows")
    try:
        import dxcam
    except Exception as exc:  # ImportError, or a DLL/COM failure at import time
        raise CaptureError(f"dxcam cannot be imported: {exc}") from exc
    camera = dxcam.create(
        output_idx=output_idx, region=region, output_color="RGB", max_buffer_len=max_buffer_len
    )
    if camera is None:
        raise CaptureError(f"dxcam found no output {output_idx}")
    return camera  # type: ignore[no-any-return]


_dpi_done = False


def enable_dpi_awareness() -> bool:
    """Make the process per-monitor DPI aware (Windows); True when it is now aware.

    Tries Per-Monitor v2 (Windows 10 1703+), then shcore's per-monitor awareness. A
    process that is already aware (Qt 6 sets v2 itself) keeps its setting.
    """
    global _dpi_done
    if sys.platform != "win32":
        return False
    if _dpi_done:
        return True
    import ctypes

    try:
        # DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2 == (HANDLE)-4
        if ctypes.windll.user32.SetProcessDpiAwarenessContext(ctypes.c_void_p(-4)):
            _dpi_done = True
            return True
    except (AttributeError, OSError):
        pass
    try:
        # PROCESS_PER_MONITOR_DPI_AWARE == 2; E_ACCESSDENIED means it was already set
        hr = ctypes.windll.shcore.SetProcessDpiAwareness(2)
        _dpi_done = hr in (0, -2147024891)
    except (AttributeError, OSError) as exc:
        log.warning("could not make the process DPI aware: %s", exc)
    return _dpi_done


class DxcamSource:
    """FrameSource over a dxcam camera, with access-lost recovery (see module docstring)."""

    name = "dxcam"

    def __init__(
        self,
        output_idx: int = 0,
        region: Rect | None = None,
        *,
        camera_fps: int = DEFAULT_CAMERA_FPS,
        max_buffer_len: int = DEFAULT_BUFFER_LEN,
        give_up_after_s: float = DEFAULT_GIVE_UP_S,
        factory: CameraFactory = default_camera_factory,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.output_idx = output_idx
        self.region = region
        self.camera_fps = camera_fps
        self.max_buffer_len = max_buffer_len
        self.give_up_after_s = give_up_after_s
        self._factory = factory
        self._clock = clock
        self._camera: Camera | None = None
        self._lost_since: float | None = None  # clock time access was lost; None = fine
        self._retry_at = 0.0
        self._backoff = BACKOFF_FIRST_S
        self.rebuilds = 0
        """How many times the camera was re-created after a loss."""

    def _create(self) -> Camera:
        region = self.region.as_ltrb() if self.region is not None else None
        camera = self._factory(self.output_idx, region, self.max_buffer_len)
        camera.start(target_fps=self.camera_fps, video_mode=True)
        return camera

    def open(self) -> None:
        """Create and start the camera; raises CaptureError when dxcam cannot start."""
        enable_dpi_awareness()
        self.close()
        try:
            self._camera = self._create()
        except CaptureError:
            raise
        except Exception as exc:  # COMError, ValueError (bad region), RuntimeError…
            raise CaptureError(f"dxcam cannot start on output {self.output_idx}: {exc}") from exc
        self._lost_since = None
        self._backoff = BACKOFF_FIRST_S
        log.info("dxcam capturing output %d region %s", self.output_idx, self.region)

    def _release(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            try:
                camera.release()  # also stops its thread
            except Exception as exc:  # the device may already be gone
                log.debug("dxcam release failed: %s", exc)

    def _lost(self, why: str) -> None:
        now = self._clock()
        if self._lost_since is None:
            self._lost_since = now
            self._backoff = BACKOFF_FIRST_S
            log.warning("dxcam lost access (%s); rebuilding the camera", why)
        self._release()
        self._retry_at = now + self._backoff
        self._backoff = min(self._backoff * 2.0, BACKOFF_MAX_S)

    def _check_give_up(self) -> None:
        if self._lost_since is not None:
            waited = self._clock() - self._lost_since
            if waited >= self.give_up_after_s:
                raise CaptureLost(
                    f"dxcam delivered no frame for {waited:.0f} s after losing access "
                    f"({self.rebuilds} rebuilds); capture stopped"
                )

    def grab(self) -> Frame | None:
        self._check_give_up()
        if self._camera is None:
            if self._clock() < self._retry_at:
                return None
            try:
                self._camera = self._create()
                self.rebuilds += 1
            except Exception as exc:
                self._lost(f"rebuild failed: {exc}")
                return None
        camera = self._camera
        try:
            frame = camera.get_latest_frame()
        except Exception as exc:  # COMError / OSError from DXGI: access lost
            self._lost(f"{type(exc).__name__}: {exc}")
            return None
        if frame is None:
            if not getattr(camera, "is_capturing", True):
                self._lost("the capture thread stopped")
            return None
        if self._lost_since is not None:
            log.info("dxcam recovered after %.1f s", self._clock() - self._lost_since)
            self._lost_since = None
            self._backoff = BACKOFF_FIRST_S
        return check_frame(np.ascontiguousarray(frame), self.name)

    def close(self) -> None:
        self._release()
        self._lost_since = None
