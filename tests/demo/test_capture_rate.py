"""Raids recorded at a lower capture rate (`GenConfig.capture_every`): what a machine
that captures 4 of the sim's 8 FPS records, with windows built by time on both sides."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.core.data.dataset import load_labelled
from app.demo.pipeline import GenConfig, captured_frames, generate_runs, play_live_raids, play_raid
from app.demo.sim import SimConfig
from tests.demo.tiny import ENCODER_ID, SIZE, PixelEncoder

WINDOW = 8
GEN = GenConfig(size=SIZE, branch_samples=0, sim=SimConfig(max_raid_s=30.0))


def test_captured_frames_take_every_nth_from_the_first():
    assert captured_frames(7, 1).tolist() == list(range(7))
    assert captured_frames(7, 2).tolist() == [0, 2, 4, 6]
    with pytest.raises(ValueError, match="capture_every"):
        captured_frames(7, 0)


@pytest.mark.parametrize("every", [1, 2])
def test_held_out_windows_equal_the_windows_training_builds_from_the_record(tmp_path, every):
    """The same raid recorded (then loaded as training loads it) and played for scoring
    gives each looting decision the same window, frame for frame."""
    gen = replace(GEN, capture_every=every)
    seed = next(s for s in range(40, 80) if len(play_raid(s, gen)[0]) > 4 * WINDOW)
    result = generate_runs(tmp_path, 1, seed=seed, encoder=PixelEncoder(), encoder_id=ENCODER_ID,
                           truth=False, config=gen)
    n_rendered = len(play_raid(seed, gen)[0])
    assert result.runs[0].n_frames == len(captured_frames(n_rendered, every))
    (run,) = load_labelled(tmp_path)
    assert run.frame_t is not None
    np.testing.assert_allclose(np.diff(run.frame_t), every / gen.sim.fps)
    windows, raids = play_live_raids(1, seed=seed, encoder=PixelEncoder(), config=gen, window=WINDOW)
    (held,) = windows
    n = len(held)  # the looting decisions: the first ones of the run
    assert n > 0 and run.n_decisions >= n
    recorded = run.latents[run.window_rows(WINDOW)[:n]]
    np.testing.assert_allclose(held, recorded, rtol=1e-3, atol=1e-4)  # the record keeps float16
    # at 4 FPS each frame fills two of the window's 0.125 s slots
    if every == 2:
        full = held[-1]
        assert np.array_equal(full[0], full[1]) or np.array_equal(full[1], full[2])
