"""What the demo plugs into the live app (app/demo/hooks.py): the `sim` source and sim frames."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.capture.factory import source_from_spec
from app.core.model.runtime import game_like_frames
from app.demo.hooks import SOURCES, make_sim_source, sim_frames
from app.demo.sim import DEFAULT_SIZE, SimRaidSource


def test_sim_source_kind() -> None:
    src = source_from_spec("sim", extra=SOURCES)
    assert isinstance(src, SimRaidSource) and src.seed == 0 and src.size == DEFAULT_SIZE
    assert isinstance(make_sim_source(), SimRaidSource)
    with pytest.raises(TypeError):
        SOURCES["other"] = make_sim_source  # type: ignore[index]  # read-only


def test_sim_frames_are_game_frames_of_the_asked_size() -> None:
    h, w = DEFAULT_SIZE
    frames = sim_frames(5, height=h, width=w, seed=3)
    assert len(frames) == 5
    assert all(f.shape == (h, w, 3) and f.dtype == np.uint8 for f in frames)
    assert len({f.tobytes() for f in frames}) == 5
    again = sim_frames(5, height=h, width=w, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))  # reproducible
    assert sim_frames(0, height=h, width=w, seed=3) == []


def test_self_check_frames_with_the_sim() -> None:
    """Half simulated, half synthetic: what the app's self-check encodes."""
    h, w = DEFAULT_SIZE
    frames = game_like_frames(6, height=h, width=w, seed=1, game=sim_frames)
    assert frames.shape == (6, h, w, 3)
    np.testing.assert_array_equal(frames[:3], np.stack(sim_frames(3, height=h, width=w, seed=1)))
    np.testing.assert_array_equal(frames[3:], game_like_frames(3, height=h, width=w, seed=1))
