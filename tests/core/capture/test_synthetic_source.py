"""The synthetic HUD-like scene and its FrameSource."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.capture.base import FrameSource
from app.core.capture.synthetic import HudScene, SyntheticSource, fractal_texture, hud_frames


def test_source_follows_the_protocol_and_moves() -> None:
    src = SyntheticSource(320, 180)
    assert isinstance(src, FrameSource)
    src.open()
    a, b = src.grab(), src.grab()
    assert a is not None and b is not None
    assert a.shape == (180, 320, 3) and a.dtype == np.uint8
    assert not np.array_equal(a, b)
    src.close()
    src.close()


def test_static_and_black_modes() -> None:
    src = SyntheticSource(320, 180, static=True)
    src.open()
    assert np.array_equal(src.grab(), src.grab())
    black = SyntheticSource(320, 180, black=True)
    black.open()
    frame = black.grab()
    assert frame is not None and frame.max() == 0


def test_scene_is_deterministic_for_a_seed() -> None:
    a = HudScene(200, 120, seed=3).render(7)
    b = HudScene(200, 120, seed=3).render(7)
    c = HudScene(200, 120, seed=4).render(7)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError):
        HudScene(10, 10)


def test_texture_has_a_natural_image_spread() -> None:
    tex = fractal_texture(64, 96, np.random.default_rng(0))
    assert tex.shape == (64, 96, 3) and tex.dtype == np.uint8
    assert 40 < tex.std() < 90  # neither flat nor saturated noise


def test_hud_frames_batch() -> None:
    frames = hud_frames(6, width=160, height=90, seed=1)
    assert frames.shape == (6, 90, 160, 3) and frames.dtype == np.uint8
    assert len({f.tobytes() for f in frames}) == 6
    with pytest.raises(ValueError):
        hud_frames(0)
