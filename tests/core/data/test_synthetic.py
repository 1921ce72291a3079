"""The synthetic run generator: deterministic, shaped like recorded data, and learnable."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from app.core.data.dataset import DecisionDataset
from app.core.data.recorder import list_runs
from app.core.data.synthetic import (
    SyntheticConfig,
    generate_runs,
    record_runs,
    synthetic_run_data,
)

CFG = SyntheticConfig(latent_dim=32, max_duration_s=120.0, threshold_median=20_000.0)


def test_deterministic_and_consistent():
    a, b = generate_runs(5, CFG, seed=3), generate_runs(5, CFG, seed=3)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.latents, y.latents)
        assert (x.outcome, x.final_loot_value) == (y.outcome, y.final_loot_value)
    c = generate_runs(1, CFG, seed=4)[0]
    assert c.latents.shape != a[0].latents.shape or not np.array_equal(c.latents, a[0].latents)
    for r in a:
        n = len(r.t_sec)
        assert r.latents.shape == (n, CFG.latent_dim) and r.latents.dtype == np.float32
        assert np.all(np.diff(r.decision_frames) <= 4) and r.decision_frames[-1] == n - 1
        np.testing.assert_allclose(np.diff(r.t_sec), 1 / CFG.fps)
        if r.outcome == "died":
            assert r.final_loot_value == 0.0
        else:
            assert r.extract_mark_t is not None and r.final_loot_value == r.loot[-1] > 0
        # LayerNorm + ReLU: about half the entries are exactly zero, as real latents
        assert 0.3 < (r.latents == 0).mean() < 0.7


def test_latents_show_the_hidden_danger():
    runs = generate_runs(20, CFG, seed=0)
    z = np.concatenate([r.latents for r in runs])
    danger = np.concatenate([r.danger for r in runs])
    x = np.hstack([z, np.ones((len(z), 1), dtype=np.float32)])
    coef, *_ = np.linalg.lstsq(x, danger, rcond=None)
    r2 = 1 - np.var(danger - x @ coef) / np.var(danger)
    assert r2 > 0.6  # the outcome's driver is readable from the latents


def test_outcomes_depend_on_danger():
    runs = generate_runs(200, CFG, seed=1)
    died = [r.danger.max() for r in runs if r.outcome == "died"]
    extracted = [r.danger.max() for r in runs if r.outcome == "extracted"]
    assert died and extracted
    assert np.mean(died) > np.mean(extracted)


def test_recorded_runs_load_back(tmp_path):
    infos = record_runs(tmp_path, 4, CFG, seed=2, unlabelled=1)
    assert [i.outcome is None for i in infos] == [False, False, False, True]
    assert len(list_runs(tmp_path)) == 4
    ds = DecisionDataset.from_root(tmp_path)
    mem = DecisionDataset(synthetic_run_data(3, CFG, seed=2))
    assert len(ds) == len(mem)
    np.testing.assert_array_equal(ds.frames, mem.frames)
    np.testing.assert_array_equal(ds.window_index, mem.window_index)
    np.testing.assert_array_equal(ds.actions, mem.actions)
    np.testing.assert_array_equal(ds.targets, mem.targets)
    marked = [i for i in infos[:3] if i.extract_mark_t is not None]
    for info in marked:
        actions = pq.read_table(info.path / "decisions.parquet").column("action").to_pylist()
        assert "extract" in actions and actions[0] == "stay"
