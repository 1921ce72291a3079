"""The affordable capture rate (app/core/engine/rate.py): known values."""

import pytest

from app.core.engine import EngineConfig, FrameRate, LatencyStats, half_steps


@pytest.mark.parametrize(("fps", "expected"), [(8.0, 8.0), (7.99, 7.5), (7.4999999999, 7.5), (2.2, 2.0), (0.4, 0.0)])
def test_half_steps_rounds_down_to_half_fps(fps, expected):
    assert half_steps(fps) == expected


def test_affordable_keeps_the_rate_that_fits_and_lowers_one_that_does_not():
    rate = FrameRate(EngineConfig(fps=8.0, budget_fraction=0.9, min_fps=2.0))
    assert rate.affordable(112.5) == 8.0  # exactly 0.9 of 125 ms
    assert rate.affordable(300.0) == 3.0  # 0.9 · 1000 / 300 = 3
    assert rate.affordable(2000.0) == 2.0  # never below min_fps


def test_after_frame_lowers_only_after_a_streak_of_slow_frames():
    rate = FrameRate(EngineConfig(fps=8.0, budget_fraction=0.9, min_fps=2.0, slow_frames=3))
    latency = LatencyStats(16)
    for _ in range(3):
        latency.add("encode", 200.0)
    latency.add("grab", 10.0)
    latency.add("preprocess", 15.0)
    assert rate.after_frame(8.0, 225.0, latency) is None
    assert rate.after_frame(8.0, 50.0, latency) is None  # a fast frame ends the streak
    assert rate.after_frame(8.0, 225.0, latency) is None
    assert rate.after_frame(8.0, 225.0, latency) is None
    assert rate.after_frame(8.0, 225.0, latency) == (4.0, 225.0)  # 0.9 · 1000 / 225 = 4


def test_after_frame_lowers_by_at_least_half_an_fps_and_never_below_the_minimum():
    rate = FrameRate(EngineConfig(fps=8.0, budget_fraction=0.9, min_fps=2.0, slow_frames=1))
    latency = LatencyStats(16)
    latency.add("encode", 115.0)  # 0.9 · 1000 / 115 = 7.8 → 7.5, just below 8
    assert rate.after_frame(8.0, 130.0, latency) == (7.5, 115.0)
    latency.add("encode", 5000.0)
    assert rate.after_frame(2.0, 5000.0, latency) is None  # already at min_fps
