"""Source specs and settings → FrameSource."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.capture.dxgi import DxcamSource
from app.core.capture.factory import FallbackSource, screen_source, source_from_spec
from app.core.capture.replay import ReplaySource
from app.core.capture.screen import MssSource
from app.core.capture.synthetic import SyntheticSource
from app.core.config import CaptureSettings, Region
from app.core.errors import CaptureError


def test_specs() -> None:
    assert isinstance(source_from_spec("synthetic"), SyntheticSource)
    assert isinstance(source_from_spec(" Synthetic"), SyntheticSource)
    assert isinstance(source_from_spec("screen"), (MssSource, FallbackSource))


def test_replay_spec(tmp_path: Path) -> None:
    path = tmp_path / "r.npz"
    np.savez(path, frames=np.zeros((1, 8, 8, 3), np.uint8))
    src = source_from_spec(f"replay:{path}")
    assert isinstance(src, ReplaySource) and src.path == path and src.loop is False


@pytest.mark.parametrize("spec", ["", "webcam", "replay:", "synthetic:3"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(CaptureError):
        source_from_spec(spec)


def test_extra_kinds_come_from_the_caller() -> None:
    with pytest.raises(CaptureError, match="unknown source 'sim'"):
        source_from_spec("sim")  # core knows no simulator of its own
    made: list[SyntheticSource] = []

    def build() -> SyntheticSource:
        made.append(SyntheticSource(32, 18))
        return made[-1]

    extra = {"sim": build}
    assert source_from_spec(" SIM", extra=extra) is made[0]
    with pytest.raises(CaptureError, match="synthetic, screen, replay:PATH, sim"):
        source_from_spec("sim:3", extra=extra)  # no argument for an extra kind
    # an extra kind cannot replace one of core's
    assert isinstance(source_from_spec("synthetic", extra={"synthetic": build}), SyntheticSource)
    assert len(made) == 1


def test_screen_backend_choice_per_platform() -> None:
    settings = CaptureSettings(monitor=1, region=Region(left=10, top=20, width=300, height=200))
    linux = screen_source(settings, platform="linux")
    assert isinstance(linux, MssSource) and linux.monitor == 1
    assert linux.region is not None and linux.region.as_ltrb() == (10, 20, 310, 220)
    win = screen_source(settings, platform="win32")
    assert isinstance(win, FallbackSource) and isinstance(win.active, DxcamSource)
    forced = screen_source(CaptureSettings(backend="mss"), platform="win32")
    assert isinstance(forced, MssSource)
    dx_on_linux = screen_source(CaptureSettings(backend="dxcam"), platform="linux")
    assert isinstance(dx_on_linux, FallbackSource)
