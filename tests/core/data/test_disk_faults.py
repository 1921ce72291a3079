"""The runs folder on a full disk and on a read-only mount (real tmpfs / bind mounts).

Run as root on Linux; skipped where mounting is not allowed.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.core.atomic import WriteError
from app.core.data import store
from app.core.data.recorder import RunNotSavedError, RunRecorder, label_run, list_runs
from app.core.data.schema import frames_table
from tests.mounts import fill, read_only, tmpfs

D = 64
FPS = 8.0


def record(rec: RunRecorder, first: int, n: int) -> None:
    rng = np.random.default_rng(first)
    for i in range(first, first + n):
        f = rec.add_frame(rng.standard_normal(D).astype(np.float32), i / FPS)
        if i % 4 == 3:
            rec.add_decision(i / FPS, f, None)


def test_full_disk_at_the_end_of_a_run_keeps_what_is_on_disk_and_retries_the_rest(tmp_path):
    with tmpfs(tmp_path, "2m") as disk:
        rec = RunRecorder(disk / "runs", flush_interval_s=1e6, min_free_bytes=0)
        rec.start_run(encoder_id="enc", fps=FPS, latent_dim=D)
        record(rec, 0, 48)
        rec.flush()  # 6 s reach the disk as a part
        filler = fill(disk)
        record(rec, 48, 312)  # 39 s more, only in memory
        with pytest.raises(RunNotSavedError) as caught:
            rec.end_run("extracted", 1200.0)
        err = caught.value
        assert err.disk_full
        assert err.saved_s == pytest.approx(47 / FPS)
        assert err.lost_s == pytest.approx(360 / FPS - 47 / FPS, abs=1.0)
        assert "not saved" in str(err) and "disk is full" in str(err)
        assert rec.unsaved_seconds == pytest.approx(err.lost_s)
        # what reached the disk opens
        run_dir = next((disk / "runs").iterdir())
        parts = store.part_files(run_dir, "frames")
        assert parts and store.read_table(parts[0], "frames").num_rows == 48
        assert rec.retry_unsaved() == []  # still full: kept
        filler.unlink()
        (info,) = rec.retry_unsaved()
        assert (info.n_frames, info.n_decisions, info.outcome) == (360, 90, "extracted")
        assert rec.unsaved_seconds == 0
        assert store.part_files(run_dir, "frames") == []
        rec.close()


def test_the_rest_goes_to_disk_as_parts_when_only_compaction_does_not_fit(tmp_path, monkeypatch):
    rec = RunRecorder(tmp_path, flush_interval_s=1e6, min_free_bytes=0)
    rec.start_run(encoder_id="enc", fps=FPS, latent_dim=D)
    record(rec, 0, 40)

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "compact_run", full)
    info = rec.end_run("died")
    monkeypatch.undo()
    assert (info.n_frames, info.outcome) == (40, "died")
    assert store.needs_recovery(info.path)
    (again,) = RunRecorder(tmp_path).recovered
    assert (again.n_frames, again.n_decisions, again.outcome, again.recovered) == (40, 10, "died", False)


def test_close_gives_up_an_unsaved_run_and_the_next_start_recovers_what_is_on_disk(tmp_path):
    with tmpfs(tmp_path, "2m") as disk:
        rec = RunRecorder(disk / "runs", flush_interval_s=1e6, min_free_bytes=0)
        rec.start_run(encoder_id="enc", fps=FPS, latent_dim=D)
        record(rec, 0, 48)
        rec.flush()
        filler = fill(disk)
        record(rec, 48, 100)
        with pytest.raises(RunNotSavedError):
            rec.end_run(None)
        rec.close()
        filler.unlink()
        (info,) = RunRecorder(disk / "runs").recovered
        assert info.n_frames == 48 and info.recovered


def test_a_run_does_not_start_without_free_space(tmp_path):
    with tmpfs(tmp_path, "2m") as disk:
        with pytest.raises(WriteError, match=r"cannot start a run: only 2\.0 MB free .* 100 MB") as caught:
            RunRecorder(disk / "runs").start_run(encoder_id="enc", fps=FPS)
        assert caught.value.disk_full
        assert list((disk / "runs").iterdir()) == []
        with pytest.raises(WriteError, match="start a run"):
            store.check_can_record(disk / "runs", 10 * 2**20)
        store.check_can_record(disk / "runs", 2**20)


def _recorded(root, n=40):
    rec = RunRecorder(root, flush_interval_s=1e6)
    run_id = rec.start_run(encoder_id="enc", fps=FPS, latent_dim=D)
    record(rec, 0, n)
    rec.end_run(None)
    return run_id


def test_a_read_only_runs_folder_reads_and_refuses_writes_in_words(tmp_path):
    root = tmp_path / "runs"
    run_id = _recorded(root)
    (root / run_id / store.LOCK_FILE).write_bytes(b"")  # left over by a crash
    with read_only(root):
        (info,) = list_runs(root)  # no EROFS from the lock file
        assert info.n_frames == 40 and not info.recording
        with pytest.raises(WriteError, match="could not label run .*read-only file system"):
            label_run(root, run_id, "died")
        with pytest.raises(WriteError, match="read-only"):
            RunRecorder(root).start_run(encoder_id="enc", fps=FPS)
        with pytest.raises(WriteError, match="read-only"):
            store.delete_run(root, run_id)
    assert label_run(root, run_id, "died").outcome == "died"  # writable again


def test_a_read_only_folder_with_a_crashed_run_still_lists_it(tmp_path):
    root = tmp_path / "runs"
    run_id = _recorded(root)
    run_dir = root / run_id
    # as if killed mid-run: a part, a lock file, no end
    row = store.read_run_row(run_dir)
    row.update(ended_at=None, duration_s=None)
    store.write_run_row(run_dir, row)
    t = np.arange(40, 48) / FPS
    store.write_parquet_atomic(
        frames_table(run_id, np.arange(40, 48), t, np.zeros((8, D))), store.part_path(run_dir, "frames", 9)
    )
    (run_dir / store.LOCK_FILE).write_bytes(b"")
    with read_only(root):
        rec = RunRecorder(root)  # recovery cannot write: a warning, not a crash
        assert rec.recovered == ()
        (info,) = list_runs(root)
        assert info.n_frames == 48 and info.ended_at is None


def test_copying_a_run_onto_a_full_disk_fails_cleanly(tmp_path):
    """Labelling on a full disk: the error says so and the old files are intact."""
    with tmpfs(tmp_path, "2m") as disk:
        root = disk / "runs"
        run_id = _recorded_small(root)
        fill(disk)
        with pytest.raises(WriteError, match="disk is full"):
            label_run(root, run_id, "died")
        (info,) = list_runs(root)
        assert info.outcome is None and info.n_frames == 40


def _recorded_small(root):
    rec = RunRecorder(root, flush_interval_s=1e6, min_free_bytes=0)
    run_id = rec.start_run(encoder_id="enc", fps=FPS, latent_dim=D)
    record(rec, 0, 40)
    rec.end_run(None)
    return run_id


