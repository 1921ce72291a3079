"""Frames of the simulated raid (app/demo/sim/render.py)."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from app.demo.sim.game import Game, GameState, Phase
from app.demo.sim.render import DEFAULT_SIZE, Renderer, render, threat_color


def _calm() -> GameState:
    return replace(Game(seed=0).state, loot=0.0, threat=0.05, enemies=0, caches=0)


def _hot() -> GameState:
    return replace(_calm(), step=100 * 8, loot=1400.0, threat=0.95, enemies=6, caches=2)


def _count(frame: np.ndarray, rgb: tuple[int, int, int], tol: int = 12) -> int:
    """Pixels within `tol` of colour `rgb`."""
    diff = np.abs(frame.astype(np.int16) - np.asarray(rgb, dtype=np.int16)).max(axis=-1)
    return int(np.count_nonzero(diff <= tol))


def test_shape_dtype_and_other_sizes() -> None:
    s = _calm()
    f = render(s)
    assert f.shape == (*DEFAULT_SIZE, 3) == (225, 400, 3) and f.dtype == np.uint8
    assert f.flags.c_contiguous
    assert render(s, size=(720, 1280)).shape == (720, 1280, 3)
    assert render(s, size=(48, 64)).shape == (48, 64, 3)
    with pytest.raises(ValueError):
        Renderer((20, 20))


def test_same_state_and_seed_render_identically() -> None:
    s = _hot()
    assert np.array_equal(render(s), render(s))
    assert np.array_equal(Renderer(seed=4).render(s), Renderer(seed=4).render(s))
    assert not np.array_equal(Renderer(seed=4).render(s), Renderer(seed=5).render(s))


def test_hud_bars_show_loot_and_threat_as_large_shapes() -> None:
    calm, hot = render(_calm()), render(_hot())
    r = Renderer()
    panel = np.s_[: r.panel_h, : r.panel_w]
    gold = (255, 196, 0)
    # The loot bar fills with gold (plus the crates in the scene).
    assert _count(hot[panel], gold) > _count(calm[panel], gold) + 1000
    # Threat: a red bar and a thick red border instead of a thin green one.
    red = threat_color(0.95)
    assert _count(hot, red) > 8000 and _count(calm, red) == 0
    # Enemies are solid red blobs in the scene.
    scene = np.s_[:, r.panel_w :]
    assert _count(hot[scene], (230, 20, 30)) > 1500 and _count(calm[scene], (230, 20, 30)) == 0
    # The whole frame differs a lot, not just a few text pixels.
    assert np.mean(np.abs(hot.astype(int) - calm.astype(int)).max(axis=-1) > 40) > 0.1


def test_more_enemies_more_red() -> None:
    base = replace(_calm(), threat=0.6)
    counts = [_count(render(replace(base, enemies=k)), (230, 20, 30)) for k in range(5)]
    assert counts == sorted(counts) and counts[4] > counts[1] > counts[0] == 0


def test_map_scrolls_as_the_player_moves() -> None:
    s = _calm()
    a, b = render(s), render(replace(s, x=s.x + 10.0))
    r = Renderer()
    scene = np.s_[r.panel_h :, r.panel_w :]
    assert np.mean(a[scene] != b[scene]) > 0.3


def test_phase_banners() -> None:
    s = replace(_calm(), loot=500.0, step=400)
    green = (0, 200, 70)
    assert _count(render(s), green, tol=4) == 0
    assert _count(render(replace(s, phase=Phase.EXTRACTING, extract_step=390)), green, 4) > 2000
    assert _count(render(replace(s, phase=Phase.EXTRACTED)), green, 4) > 4000
    dead = render(replace(s, phase=Phase.DEAD))
    assert _count(dead, (150, 0, 0), tol=4) > 4000
    assert dead.mean() < render(s).mean()


def test_threat_color_runs_green_to_red() -> None:
    assert threat_color(0.0) == (0, 220, 40)
    assert threat_color(0.5) == (255, 220, 40)
    assert threat_color(1.0) == (255, 0, 40)
    assert threat_color(2.0) == threat_color(1.0)


def test_render_is_fast() -> None:
    """Budget 3 ms per 400×225 frame; asserted loosely so a busy CI machine passes."""
    r = Renderer()
    states = [_calm(), _hot()] * 20
    r.render(states[0])
    t0 = time.perf_counter()
    for s in states:
        r.render(s)
    per_frame = (time.perf_counter() - t0) / len(states)
    assert per_frame < 0.02
