"""The dxcam source's logic with a fake camera: None frames, access lost, back-off."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from app.core.capture.base import CaptureLost, Rect
from app.core.capture.dxgi import BACKOFF_FIRST_S, BACKOFF_MAX_S, DEFAULT_BUFFER_LEN, DxcamSource
from app.core.capture.factory import FallbackSource
from app.core.capture.synthetic import SyntheticSource
from app.core.errors import CaptureError

FRAME = np.full((90, 160, 3), 77, dtype=np.uint8)


class AccessLost(OSError):
    """Stands in for comtypes' COMError with DXGI_ERROR_ACCESS_LOST."""


class FakeCamera:
    """Plays a script: a frame, None, an exception, or "stop" (the capture thread died)."""

    def __init__(self, script: list[object], log: list[str]) -> None:
        self.script = list(script)
        self.log = log
        self.is_capturing = False
        self.started_with: dict[str, object] = {}

    def start(self, *, target_fps: int, video_mode: bool) -> None:
        self.started_with = {"target_fps": target_fps, "video_mode": video_mode}
        self.is_capturing = True
        self.log.append("start")

    def get_latest_frame(self) -> object:
        item = self.script.pop(0) if self.script else FRAME
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, str) and item == "stop":
            self.is_capturing = False
            return None
        return item

    def stop(self) -> None:
        self.is_capturing = False

    def release(self) -> None:
        self.is_capturing = False
        self.log.append("release")


class Factory:
    def __init__(self, scripts: list[list[object] | BaseException]) -> None:
        self.scripts = list(scripts)
        self.calls: list[tuple[int, object, int]] = []
        self.log: list[str] = []
        self.cameras: list[FakeCamera] = []

    def __call__(self, output_idx: int, region: object, max_buffer_len: int) -> FakeCamera:
        self.calls.append((output_idx, region, max_buffer_len))
        self.log.append("create")
        script = self.scripts.pop(0) if self.scripts else []
        if isinstance(script, BaseException):
            raise script
        cam = FakeCamera(script, self.log)
        self.cameras.append(cam)
        return cam


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _source(factory: Factory, clock: Callable[[], float] | None = None, **kw: object) -> DxcamSource:
    return DxcamSource(1, Rect(10, 20, 160, 90), factory=factory, clock=clock or Clock(), **kw)  # type: ignore[arg-type]


def test_camera_is_created_small_in_video_mode_for_the_region() -> None:
    factory = Factory([[FRAME]])
    src = _source(factory)
    src.open()
    assert factory.calls == [(1, (10, 20, 170, 110), DEFAULT_BUFFER_LEN)]
    assert DEFAULT_BUFFER_LEN <= 4
    assert factory.cameras[0].started_with["video_mode"] is True
    frame = src.grab()
    assert frame is not None and frame.shape == (90, 160, 3)
    src.close()
    assert factory.log == ["create", "start", "release"]


def test_none_means_no_new_frame_and_keeps_the_camera() -> None:
    factory = Factory([[None, None, FRAME]])
    src = _source(factory)
    src.open()
    assert src.grab() is None
    assert src.grab() is None
    assert src.grab() is not None
    assert len(factory.cameras) == 1 and src.rebuilds == 0


def test_access_lost_releases_then_rebuilds_with_backoff() -> None:
    clock = Clock()
    factory = Factory([[FRAME, AccessLost("DXGI_ERROR_ACCESS_LOST")], [FRAME]])
    src = _source(factory, clock)
    src.open()
    assert src.grab() is not None
    assert src.grab() is None  # lost
    assert factory.log[-1] == "release"  # released before anything is re-created
    assert src.grab() is None  # back-off: not yet
    assert len(factory.cameras) == 1
    clock.t += BACKOFF_FIRST_S
    frame = src.grab()  # rebuilt and delivering again
    assert frame is not None
    assert factory.log == ["create", "start", "release", "create", "start"]
    assert src.rebuilds == 1


def test_a_stopped_capture_thread_counts_as_lost() -> None:
    clock = Clock()
    factory = Factory([["stop"], [FRAME]])
    src = _source(factory, clock)
    src.open()
    assert src.grab() is None
    assert "release" in factory.log
    clock.t += BACKOFF_FIRST_S
    assert src.grab() is not None


def test_backoff_doubles_up_to_the_cap_while_rebuilds_fail() -> None:
    clock = Clock()
    fail = CaptureError("no output")
    factory = Factory([[AccessLost("lost")], fail, fail, fail, fail, fail, fail, [FRAME]])
    src = _source(factory, clock, give_up_after_s=1000.0)
    src.open()
    assert src.grab() is None
    waits = []
    while True:
        # advance to exactly the next retry time
        before = len(factory.calls)
        step = 0.0
        while len(factory.calls) == before:
            clock.t += 0.125  # exact in binary: no rounding drift
            step += 0.125
            frame = src.grab()
        waits.append(step)
        if frame is not None:
            break
    assert waits[:4] == [BACKOFF_FIRST_S, 2 * BACKOFF_FIRST_S, 4 * BACKOFF_FIRST_S, 8 * BACKOFF_FIRST_S]
    assert max(waits) == BACKOFF_MAX_S


def test_gives_up_with_capture_lost_after_the_limit() -> None:
    clock = Clock()
    factory = Factory([[AccessLost("lost")]] + [CaptureError("gone")] * 50)
    src = _source(factory, clock, give_up_after_s=10.0)
    src.open()
    assert src.grab() is None
    with pytest.raises(CaptureLost, match="no frame for 1[0-9] s"):
        for _ in range(100):
            clock.t += 0.5
            src.grab()


def test_black_frames_are_passed_through_for_the_health_check() -> None:
    black = np.zeros_like(FRAME)
    src = _source(Factory([[black]]))
    src.open()
    frame = src.grab()
    assert frame is not None and frame.max() == 0


def test_open_failure_is_a_capture_error() -> None:
    src = _source(Factory([RuntimeError("hybrid GPU: no duplication")]))
    with pytest.raises(CaptureError, match="cannot start"):
        src.open()


def test_default_factory_refuses_off_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.core.capture.dxgi as dxgi

    monkeypatch.setattr(dxgi.sys, "platform", "linux")
    with pytest.raises(CaptureError, match="only on Windows"):
        dxgi.default_camera_factory(0, None, 2)
    assert dxgi.enable_dpi_awareness() is False


def test_fallback_to_mss_when_dxcam_cannot_start() -> None:
    dx = _source(Factory([RuntimeError("remote desktop")]))
    src = FallbackSource(dx, lambda: SyntheticSource(64, 36))
    src.open()
    assert src.name == "synthetic"
    assert src.notice is not None and "dxcam cannot capture" in src.notice
    assert src.grab() is not None
    src.close()


def test_no_fallback_when_dxcam_works() -> None:
    src = FallbackSource(_source(Factory([[FRAME]])), lambda: SyntheticSource(64, 36))
    src.open()
    assert src.name == "dxcam" and src.notice is None
