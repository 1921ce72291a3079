"""Pools: export → import round trip, hashes that refuse a changed folder, origins kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from app.core.data import pool
from app.core.data.dataset import DecisionDataset
from app.core.data.synthetic import SyntheticConfig, record_runs
from app.core.errors import DataError

CFG = SyntheticConfig(latent_dim=8, max_duration_s=8.0, threshold_median=1500.0)


@pytest.fixture
def alice(tmp_path):
    record_runs(tmp_path / "alice", 4, CFG, seed=1, unlabelled=1)
    return tmp_path / "alice"


@pytest.fixture
def bob(tmp_path):
    record_runs(tmp_path / "bob", 3, CFG, seed=2)
    return tmp_path / "bob"


def test_export_then_import_reads_back_the_same_decisions_with_their_player(alice, tmp_path):
    manifest = pool.export_runs(alice, tmp_path / "exp", player="alice")
    assert manifest["encoder_id"] == CFG.encoder_id and manifest["players"] == ["alice"]
    assert manifest["counts"]["runs"] == 3  # the unlabelled run is not exported
    assert all(set(e["sha256"]) == set(pool.RUN_FILES) for e in manifest["runs"])
    assert json.loads((tmp_path / "exp" / pool.MANIFEST).read_text())["counts"] == manifest["counts"]

    merged = pool.import_pools([tmp_path / "exp"], tmp_path / "pool")
    assert merged["counts"] == manifest["counts"]
    original = DecisionDataset.from_root(alice, window=4)
    back = pool.load_pool([tmp_path / "pool"], window=4)
    assert back.run_ids == original.run_ids
    np.testing.assert_array_equal(back.frames, original.frames)
    np.testing.assert_array_equal(back.actions, original.actions)
    np.testing.assert_array_equal(back.targets, original.targets)
    assert back.run_players == ["alice"] * 3 and original.run_players == [""] * 3


def test_a_folder_whose_files_do_not_match_the_manifest_is_refused(alice, tmp_path):
    pool.export_runs(alice, tmp_path / "exp", player="alice")
    entry = json.loads((tmp_path / "exp" / pool.MANIFEST).read_text())["runs"][1]
    frames = tmp_path / "exp" / pool.RUNS_DIR / entry["run_id"] / "frames.parquet"
    data = bytearray(frames.read_bytes())
    data[len(data) // 2] ^= 0xFF
    frames.write_bytes(bytes(data))
    with pytest.raises(DataError, match="does not match its manifest hash"):
        pool.verify_pool(tmp_path / "exp")
    with pytest.raises(DataError, match="frames.parquet"):
        pool.import_pools([tmp_path / "exp"], tmp_path / "pool")
    assert not (tmp_path / "pool").exists()
    with pytest.raises(DataError, match="manifest hash"):
        pool.load_pool([tmp_path / "exp"], window=4)

    frames.unlink()
    with pytest.raises(DataError, match="missing"):
        pool.verify_pool(tmp_path / "exp")


def test_importing_two_players_keeps_each_runs_origin_and_holds_out_a_player(alice, bob, tmp_path):
    pool.export_runs(alice, tmp_path / "a", player="alice")
    pool.export_runs(bob, tmp_path / "b", player="bob")
    merged = pool.import_pools([tmp_path / "a", tmp_path / "b"], tmp_path / "pool")
    assert merged["players"] == ["alice", "bob"] and merged["counts"]["runs"] == 6
    again = pool.import_pools([tmp_path / "b"], tmp_path / "pool")  # already there: skipped
    assert again["counts"] == merged["counts"]

    ds = pool.load_pool([tmp_path / "pool"], window=4)
    assert sorted(ds.run_players) == ["alice"] * 3 + ["bob"] * 3
    held = pool.player_mask(ds.run_players, ["bob"])
    assert [p for p, h in zip(ds.run_players, held, strict=True) if h] == ["bob"] * 3
    with pytest.raises(DataError, match="carol"):
        pool.player_mask(ds.run_players, ["carol"])
    with pytest.raises(DataError, match="every player"):
        pool.player_mask(ds.run_players, ["alice", "bob"])

    both = pool.load_pool([tmp_path / "a", tmp_path / "b"], window=4)  # several folders, no merge
    assert both.n_runs == 6
    with pytest.raises(DataError, match="more than one"):
        pool.pool_entries([tmp_path / "a", tmp_path / "pool"])


def test_export_filters_by_encoder_and_date_and_wants_a_new_folder(alice, tmp_path):
    other = SyntheticConfig(latent_dim=8, max_duration_s=8.0, threshold_median=1500.0, world_seed=7)
    record_runs(alice, 2, other, seed=3)
    with pytest.raises(DataError, match="2 different encoders"):
        pool.export_runs(alice, tmp_path / "x")
    m = pool.export_runs(alice, tmp_path / "x", encoder_id=other.encoder_id, player="alice")
    assert m["encoder_id"] == other.encoder_id and m["counts"]["runs"] == 2
    with pytest.raises(DataError, match="not empty"):
        pool.export_runs(alice, tmp_path / "x", encoder_id=other.encoder_id)
    future = datetime.now(timezone.utc) + timedelta(days=1)
    with pytest.raises(DataError, match="no labelled runs"):
        pool.export_runs(alice, tmp_path / "y", encoder_id=CFG.encoder_id, since=future)
    m = pool.export_runs(alice, tmp_path / "y", encoder_id=CFG.encoder_id, until=future)
    assert m["counts"]["runs"] == 3
    with pytest.raises(DataError, match="different encoders"):
        pool.import_pools([tmp_path / "x", tmp_path / "y"], tmp_path / "pool")


@pytest.mark.parametrize("n_runs", [1, 2, 5, 13])
def test_run_split_mask_is_split_by_run(alice, n_runs):
    ds = DecisionDataset.from_root(alice, window=4)
    for seed in range(3):
        train, val = ds.split_by_run(0.3, seed)
        is_val = pool.run_split_mask(ds.n_runs, 0.3, seed)
        assert set(np.flatnonzero(is_val[ds.run_index])) == set(val.tolist())
    mask = pool.run_split_mask(n_runs, 0.2, 0)
    assert mask.sum() == (0 if n_runs < 2 else max(1, round(0.2 * n_runs)))
    with pytest.raises(ValueError):
        pool.run_split_mask(n_runs, 1.0)
