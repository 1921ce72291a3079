"""DecisionDataset: window reconstruction, split by run, encoders, bad files."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.core.data.dataset import DecisionDataset, RunData
from app.core.data.recorder import RunRecorder, label_run
from app.core.errors import DataError

D = 4


def write_run(rec: RunRecorder, n_frames: int, decision_frames: list[int], *, encoder: str = "enc",
              outcome: str | None = "extracted", value: float = 10.0, base: float = 0.0) -> str:
    """Frame i's latent is [base + i] * D, so a window shows which frames it holds."""
    run_id = rec.start_run(encoder_id=encoder, fps=8.0)
    for i in range(n_frames):
        rec.add_frame(np.full(D, base + i, dtype=np.float32), i / 8)
        if i in decision_frames:
            rec.add_decision(i / 8, i, None)
    rec.end_run(outcome, value if outcome == "extracted" else None)
    return run_id


@pytest.fixture
def rec(tmp_path):
    return RunRecorder(tmp_path, flush_interval_s=1e6)


def test_windows_match_a_hand_built_example(tmp_path, rec):
    write_run(rec, 5, [1, 4], value=7.0, base=0)  # frames 0..4
    write_run(rec, 3, [0, 2], outcome="died", base=100)  # frames 100..102
    ds = DecisionDataset.from_root(tmp_path, window=3)
    assert len(ds) == 4 and ds.n_runs == 2 and ds.latent_dim == D and ds.encoder_id == "enc"
    assert ds.frames.dtype == np.float16 and ds.frames.shape == (8, D)

    got = ds.windows(np.arange(4))[:, :, 0]  # (N, L): the frame value of each window slot
    expected = np.array(
        [
            [0, 0, 1],  # newest frame 1: left-padded with the first frame
            [2, 3, 4],
            [100, 100, 100],  # never reaches back into the previous run
            [100, 101, 102],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(got, expected)
    assert ds.actions.tolist() == [0, 0, 0, 0]  # no mark: stay throughout (no extract label on a last frame)
    assert ds.targets.tolist() == [7.0, 7.0, 0.0, 0.0]

    window, action, target = ds[1]
    assert window.dtype == np.float32 and window.shape == (3, D)
    np.testing.assert_array_equal(window, np.repeat(np.array([[2.0], [3.0], [4.0]]), D, axis=1))
    assert (action, target) == (0, 7.0)
    with pytest.raises(IndexError):
        ds[4]


def test_in_memory_runs_give_the_same_windows():
    lat = np.arange(6, dtype=np.float16)[:, None].repeat(D, axis=1)
    run = RunData("r", "enc", lat, np.array([0, 5]), np.array([0, 1], dtype=np.int8), 3.0)
    ds = DecisionDataset([run], window=4)
    np.testing.assert_array_equal(ds.window_index, [[0, 0, 0, 0], [2, 3, 4, 5]])
    with pytest.raises(ValueError, match="does not have"):
        RunData("r", "enc", lat, np.array([6]), np.array([0], dtype=np.int8), 3.0)
    with pytest.raises(ValueError, match="window"):
        DecisionDataset([run], window=0)


def test_split_is_by_run(tmp_path, rec):
    for k in range(10):
        write_run(rec, 8, [3, 7], base=10 * k)
    ds = DecisionDataset.from_root(tmp_path, window=2)
    train, val = ds.split_by_run(0.3, seed=1)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(ds)))
    train_runs, val_runs = set(ds.run_index[train]), set(ds.run_index[val])
    assert not train_runs & val_runs
    assert len(val_runs) == 3
    again = ds.split_by_run(0.3, seed=1)
    assert again[1].tolist() == val.tolist()  # reproducible
    assert len(ds.split_by_run(0.0)[1]) == 0
    with pytest.raises(ValueError, match="val_fraction"):
        ds.split_by_run(1.0)


def test_single_run_has_no_validation(tmp_path, rec):
    write_run(rec, 4, [3])
    train, val = DecisionDataset.from_root(tmp_path, window=2).split_by_run(0.5)
    assert train.tolist() == [0] and val.tolist() == []


def test_mixing_encoders_is_refused(tmp_path, rec):
    write_run(rec, 4, [3], encoder="enc-a")
    write_run(rec, 4, [1, 3], encoder="enc-b")
    write_run(rec, 4, [3], encoder="enc-b")
    with pytest.raises(DataError, match=r"2 different encoders \(enc-b: 2 runs, enc-a: 1 runs\)"):
        DecisionDataset.from_root(tmp_path)
    ds = DecisionDataset.from_root(tmp_path, encoder_id="enc-b")
    assert ds.encoder_id == "enc-b" and ds.n_runs == 2 and len(ds) == 3
    lat = np.zeros((2, D), dtype=np.float16)
    runs = [RunData(n, n, lat, np.array([1]), np.array([0], dtype=np.int8), 1.0) for n in ("x", "y")]
    with pytest.raises(DataError, match="cannot be mixed"):
        DecisionDataset(runs)


def test_corrupt_and_foreign_files_are_skipped_with_a_warning(tmp_path, rec, caplog):
    good = write_run(rec, 4, [3])
    corrupt = write_run(rec, 4, [3])
    foreign = write_run(rec, 4, [3])
    (tmp_path / corrupt / "frames.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / foreign / "decisions.parquet")
    ds = DecisionDataset.from_root(tmp_path)
    assert ds.run_ids == [good]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert f"{corrupt}/frames.parquet" in messages
    assert f"{foreign}/decisions.parquet" in messages and "foreign" in messages


def test_unlabelled_runs_are_skipped_and_labels_are_current(tmp_path, rec):
    unlabelled = write_run(rec, 4, [1, 3], outcome=None)
    with pytest.raises(DataError, match="no labelled runs"):
        DecisionDataset.from_root(tmp_path)
    label_run(tmp_path, unlabelled, "extracted", 4.0)
    ds = DecisionDataset.from_root(tmp_path)
    assert ds.actions.tolist() == [0, 0] and ds.targets.tolist() == [4.0, 4.0]
    label_run(tmp_path, unlabelled, "died")
    ds = DecisionDataset.from_root(tmp_path)
    assert ds.actions.tolist() == [0, 0] and ds.targets.tolist() == [0.0, 0.0]


def test_runs_being_recorded_are_skipped(tmp_path, rec):
    done = write_run(rec, 4, [3])
    rec.start_run(encoder_id="enc", fps=8.0)
    rec.add_frame(np.zeros(D), 0.0)
    rec.flush()
    assert DecisionDataset.from_root(tmp_path).run_ids == [done]
    rec.end_run(None)


def test_a_window_spans_the_same_time_when_the_engine_lowered_its_rate(tmp_path, rec):
    """Frames 0–5 at 8 FPS, then the engine drops to 4 FPS: a 4-slot window (0.5 s) shows
    each slow frame twice, exactly as the live ring shows it."""
    from app.core.model.ring import LatentRing

    times = [0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.875, 1.125, 1.375, 1.625]
    run_id = rec.start_run(encoder_id="enc", fps=8.0)
    ring = LatentRing(4, D)
    live = []
    for i, t in enumerate(times):
        rec.add_frame(np.full(D, i, dtype=np.float32), t)
        ring.push(np.full(D, i, dtype=np.float32), stamp=t)
        rec.add_decision(t, i, None)
        live.append(ring.snapshot().window[:, 0].tolist())
    rec.end_run("died", None)
    ds = DecisionDataset.from_root(tmp_path, window=4)
    got = ds.windows(np.arange(len(times)))[:, :, 0].tolist()
    assert got[5] == [2, 3, 4, 5]  # 8 FPS: the last 4 frames
    assert got[9] == [7, 8, 8, 9]  # 4 FPS: 0.5 s is two frames, each twice
    assert got == live and run_id in ds.run_ids
