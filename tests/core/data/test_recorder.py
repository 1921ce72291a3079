"""RunRecorder: what it writes, when, from two threads, and after a crash."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from app.core.data import store
from app.core.data.recorder import RunRecorder, delete_run, label_run, list_runs
from app.core.errors import DataError
from app.core.model.ev import compute_ev

D = 8


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def latent(i: int) -> np.ndarray:
    return np.arange(D, dtype=np.float32) * 0.25 + i


def record(rec: RunRecorder, n_frames: int, *, every: int = 4, fps: float = 8.0) -> list[int]:
    """Add n_frames frames and a decision every `every` frames; returns the decision frames."""
    frames = []
    for i in range(n_frames):
        f = rec.add_frame(latent(i), i / fps)
        if i % every == every - 1:
            rec.add_decision(i / fps, f, None)
            frames.append(f)
    return frames


def wait_for(cond, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_round_trip_read_back_with_plain_pyarrow(tmp_path):
    rec = RunRecorder(tmp_path, flush_interval_s=1e6)
    run_id = rec.start_run(encoder_id="enc-a", fps=8.0, game_profile="dam", encoder_path="fp16")
    assert rec.active_run_id == run_id
    ev = compute_ev(np.array([[1.0] * 16, [2.0] * 16]), "safe", value_scale=10.0)
    for i in range(6):
        f = rec.add_frame(latent(i), i * 0.125)
        assert f == i
    assert rec.add_decision(0.625, 5, ev) == 0
    assert rec.add_decision(0.7, 5, None) == 1
    info = rec.end_run("extracted", 250.0)
    assert rec.active_run_id is None

    folder = tmp_path / run_id
    assert sorted(p.name for p in folder.iterdir()) == ["decisions.parquet", "frames.parquet", "run.parquet"]
    frames = pq.read_table(folder / "frames.parquet")
    assert frames.column("frame_idx").to_pylist() == list(range(6))
    assert frames.column("t_sec").to_pylist() == [i * 0.125 for i in range(6)]
    lat = frames.column("latent").combine_chunks().flatten().to_numpy().reshape(6, D)
    np.testing.assert_array_equal(lat, np.stack([latent(i) for i in range(6)]).astype(np.float16))

    dec = pq.read_table(folder / "decisions.parquet").to_pylist()
    assert [d["decision_idx"] for d in dec] == [0, 1]
    assert [d["frame_idx"] for d in dec] == [5, 5]
    assert [d["action"] for d in dec] == ["stay", "stay"]  # no mark: no extract label on the last frame
    assert dec[0]["ev_stay"] == pytest.approx(10.0) and dec[0]["ev_extract"] == pytest.approx(20.0)
    assert dec[0]["ev_risk"] == "safe" and dec[0]["ev_tau"] is None  # no τ: profiles are risk measures
    assert dec[1]["ev_stay"] is None and dec[1]["ev_warming"] is None

    run = pq.read_table(folder / "run.parquet").to_pylist()[0]
    assert run["run_id"] == run_id and run["encoder_id"] == "enc-a" and run["game_profile"] == "dam"
    assert run["outcome"] == "extracted" and run["final_loot_value"] == 250.0
    assert run["latent_dim"] == D and run["fps"] == 8.0 and run["encoder_path"] == "fp16"
    assert run["ended_at"] >= run["started_at"] and not run["recovered"]

    assert (info.n_frames, info.n_decisions, info.outcome) == (6, 2, "extracted")
    assert info.bytes_on_disk == store.folder_bytes(folder) and not info.recording


def test_parts_appear_each_flush_interval_and_open(tmp_path):
    clock = FakeClock()
    rec = RunRecorder(tmp_path, flush_interval_s=2.0, clock=clock)
    run_id = rec.start_run(encoder_id="e", fps=8.0)
    folder = tmp_path / run_id
    record(rec, 8)
    time.sleep(0.05)
    assert store.part_files(folder, "frames") == []  # interval not over yet
    clock.t += 2.0
    rec.add_frame(latent(8), 1.0)  # sees the interval is over and wakes the writer
    assert wait_for(lambda: rec._run is not None and rec._run.flushes == 1)
    assert len(store.part_files(folder, "frames")) == 1
    assert len(store.part_files(folder, "decisions")) == 1
    part = pq.read_table(store.part_files(folder, "frames")[0])
    assert part.column("frame_idx").to_pylist() == list(range(9))
    assert pq.read_table(store.part_files(folder, "decisions")[0]).num_rows == 2
    assert not list(folder.glob("*.tmp"))
    info = rec.end_run(None)
    assert info.n_frames == 9 and info.outcome is None and store.part_files(folder, "frames") == []


def test_mark_and_label_rules(tmp_path):
    clock = FakeClock()
    rec = RunRecorder(tmp_path, flush_interval_s=1e6, clock=clock)
    run_id = rec.start_run(encoder_id="e", fps=8.0)
    record(rec, 16)  # decisions at t = 0.375, 0.875, 1.375, 1.875
    clock.t += 1.0
    assert rec.elapsed() == pytest.approx(1.0)
    rec.mark_extract()  # at run-clock 1.0
    rec.mark_extract(0.1)  # a second mark is ignored
    info = rec.end_run("extracted", 10.0)
    assert info.extract_mark_t == pytest.approx(1.0)
    actions = pq.read_table(info.path / "decisions.parquet").column("action").to_pylist()
    assert actions == ["stay", "stay", "extract", "extract"]

    died = label_run(tmp_path, run_id, "died")
    assert (died.outcome, died.final_loot_value) == ("died", 0.0)
    # the mark still holds: the player died while extracting
    assert pq.read_table(info.path / "decisions.parquet").column("action").to_pylist() == actions
    unlabelled = label_run(tmp_path, run_id[:8], None)  # a unique prefix is enough
    assert unlabelled.outcome is None and unlabelled.final_loot_value is None


def test_relabel_rederives_the_actions_from_the_mark_alone(tmp_path):
    rec = RunRecorder(tmp_path, flush_interval_s=1e6)
    run_id = rec.start_run(encoder_id="e", fps=8.0)
    record(rec, 12)
    info = rec.end_run("died")
    path = info.path / "decisions.parquet"
    assert pq.read_table(path).column("action").to_pylist() == ["stay"] * 3
    # no mark: an extracted label no longer turns the last decision (maybe a lobby frame)
    # into an extract label
    label_run(tmp_path, run_id, "extracted", 99.5)
    assert pq.read_table(path).column("action").to_pylist() == ["stay"] * 3
    assert list_runs(tmp_path)[0].final_loot_value == 99.5

    marked = rec.start_run(encoder_id="e", fps=8.0)
    record(rec, 12)
    rec.mark_extract(7 / 8)  # at the second decision (frame 7)
    info = rec.end_run("died")
    path = info.path / "decisions.parquet"
    assert pq.read_table(path).column("action").to_pylist() == ["stay", "extract", "extract"]
    label_run(tmp_path, marked, "extracted", 12.0)
    assert pq.read_table(path).column("action").to_pylist() == ["stay", "extract", "extract"]


def test_bad_calls(tmp_path):
    rec = RunRecorder(tmp_path, flush_interval_s=1e6)
    assert rec.add_frame(latent(0), 0.0) == -1  # between runs: ignored
    assert rec.add_decision(0.0, 0, None) == -1
    with pytest.raises(DataError, match="no run"):
        rec.end_run(None)
    with pytest.raises(ValueError, match="encoder_id"):
        rec.start_run(encoder_id="", fps=8.0)
    rec.start_run(encoder_id="e", fps=8.0)
    with pytest.raises(DataError, match="still being recorded"):
        rec.start_run(encoder_id="e", fps=8.0)
    with pytest.raises(ValueError, match=r"vector \[D\]"):
        rec.add_frame(np.zeros((2, D)), 0.0)
    rec.add_frame(latent(0), 0.0)
    with pytest.raises(ValueError, match="D=4"):
        rec.add_frame(np.zeros(4), 0.1)
    with pytest.raises(ValueError, match="frame 3"):
        rec.add_decision(0.1, 3, None)
    with pytest.raises(DataError, match="needs its final loot value"):
        rec.end_run("extracted")
    assert rec.active_run_id is not None  # a bad label does not end the run
    rec.close()
    assert rec.active_run_id is None
    assert list_runs(tmp_path)[0].outcome is None


def test_two_threads(tmp_path):
    rec = RunRecorder(tmp_path, flush_interval_s=0.01)
    rec.start_run(encoder_id="e", fps=8.0)
    n = 400
    first = threading.Event()

    def capture() -> None:
        for i in range(n):
            rec.add_frame(latent(i), i / 8)
            first.set()

    decided: list[int] = []

    def inference() -> None:
        first.wait()
        for k in range(n // 4):
            decided.append(rec.add_decision(k / 2, 0, None))

    threads = [threading.Thread(target=capture), threading.Thread(target=inference)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    info = rec.end_run("died")
    assert decided == list(range(n // 4))
    assert (info.n_frames, info.n_decisions) == (n, n // 4)
    frames = pq.read_table(info.path / "frames.parquet")
    assert frames.column("frame_idx").to_pylist() == list(range(n))
    lat = frames.column("latent").combine_chunks().flatten().to_numpy().reshape(n, D)
    np.testing.assert_array_equal(lat[:, 0], np.arange(n, dtype=np.float16))


def test_add_frame_does_not_wait_for_a_slow_write(tmp_path):
    rec = RunRecorder(tmp_path, flush_interval_s=1e6)
    rec.start_run(encoder_id="e", fps=8.0)
    added: list[int] = []
    with rec._io_lock:  # as if the writer were stuck in a long write
        t = threading.Thread(target=lambda: added.extend(rec.add_frame(latent(i), i) for i in range(50)))
        t.start()
        t.join(timeout=30)
        assert added == list(range(50))
    rec.end_run(None)


def test_label_and_delete(tmp_path, caplog):
    rec = RunRecorder(tmp_path, flush_interval_s=1e6)
    run_id = rec.start_run(encoder_id="e", fps=8.0)
    record(rec, 4)
    with pytest.raises(DataError, match="being recorded"):
        label_run(tmp_path, run_id, "died")
    with pytest.raises(DataError, match="being recorded"):
        delete_run(tmp_path, run_id)
    assert list_runs(tmp_path)[0].recording
    rec.end_run(None)
    other = rec.start_run(encoder_id="e", fps=8.0)
    rec.end_run(None)
    with pytest.raises(DataError, match="no run"):
        label_run(tmp_path, "nope", "died")
    with pytest.raises(DataError, match="no run"):
        label_run(tmp_path, "", "died")
    for name in ("dup-1", "dup-2"):
        shutil.copytree(tmp_path / other, tmp_path / "elsewhere" / name)
    with pytest.raises(DataError, match="ambiguous"):
        store.find_run(tmp_path / "elsewhere", "dup")
    delete_run(tmp_path, run_id)
    assert [r.run_id for r in list_runs(tmp_path)] == [other]
    assert not (tmp_path / run_id).exists()
    # a folder that is not a run is skipped with a warning naming it
    bad = tmp_path / "junk"
    bad.mkdir()
    (bad / "run.parquet").write_bytes(b"not parquet at all")
    assert [r.run_id for r in list_runs(tmp_path)] == [other]
    assert any("junk" in r.getMessage() for r in caplog.records)


def test_recovery_keeps_parts_drops_temp_files_and_quarantines_corrupt_parts(tmp_path, caplog):
    clock = FakeClock()
    rec = RunRecorder(tmp_path, flush_interval_s=1.0, clock=clock)
    run_id = rec.start_run(encoder_id="e", fps=8.0)
    record(rec, 8)
    rec.flush()
    record(rec, 4)  # still in memory: lost in the "crash" below
    folder = tmp_path / run_id
    # Simulate the crash: drop the recorder without ending; free its lock as the OS would.
    run = rec._run
    assert run is not None
    run.stop = True
    rec._wake.set()
    run.writer.join()
    run.lock.release()
    (folder / ".frames-000002-abc.tmp").write_bytes(b"half a write")
    (folder / "decisions-000007.parquet").write_bytes(b"PAR1 garbage")

    rec2 = RunRecorder(tmp_path)
    assert [r.run_id for r in rec2.recovered] == [run_id]
    info = rec2.recovered[0]
    assert info.recovered and info.outcome is None and info.n_frames == 8 and info.n_decisions == 2
    assert info.duration_s == pytest.approx(7 / 8)
    assert (folder / "decisions-000007.parquet.corrupt").exists()  # kept, never deleted
    assert not list(folder.glob("*.tmp")) and store.part_files(folder, "frames") == []
    assert any("decisions-000007.parquet" in r.getMessage() for r in caplog.records)
    assert label_run(tmp_path, run_id, "extracted", 5.0).outcome == "extracted"
    assert RunRecorder(tmp_path).recovered == ()  # nothing left to recover


def test_recovery_leaves_a_run_being_recorded_alone(tmp_path):
    rec = RunRecorder(tmp_path, flush_interval_s=1e6)
    run_id = rec.start_run(encoder_id="e", fps=8.0)
    record(rec, 4)
    rec.flush()
    assert RunRecorder(tmp_path).recovered == ()
    assert store.part_files(tmp_path / run_id, "frames")  # untouched
    assert rec.end_run("died").n_frames == 4


CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from app.core.data.recorder import RunRecorder

    rec = RunRecorder(sys.argv[1], flush_interval_s=float(sys.argv[2]))
    run_id = rec.start_run(encoder_id="enc-crash", fps=50.0)
    print("run", run_id, flush=True)
    rng = np.random.default_rng(0)
    i = 0
    while True:
        t = rec.elapsed()
        f = rec.add_frame(np.maximum(rng.standard_normal(16), 0), t)
        if i % 4 == 3:
            rec.add_decision(t, f, None)
        print("frame", f, t, flush=True)
        i += 1
        time.sleep(0.02)
    """
)


@pytest.mark.slow
def test_sigkill_mid_run_loses_at_most_the_flush_interval(tmp_path):
    interval = 0.5
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(interval)],
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().split()[1]
    last_frame, last_t = -1, 0.0
    try:
        for line in proc.stdout:
            _, f, t = line.split()
            last_frame, last_t = int(f), float(t)
            if last_t >= 6 * interval:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    folder = tmp_path / run_id
    # Before any recovery, every Parquet file left behind opens with plain pyarrow.
    files = sorted(folder.glob("*.parquet"))
    assert store.part_files(folder, "frames"), "no part reached the disk"
    for p in files:
        pq.read_table(p)

    rec = RunRecorder(tmp_path)
    assert [r.run_id for r in rec.recovered] == [run_id]
    info = list_runs(tmp_path)[0]
    assert info.recovered and info.outcome is None and not info.recording
    frames = pq.read_table(folder / "frames.parquet")
    idx = frames.column("frame_idx").to_pylist()
    assert idx == list(range(len(idx)))  # a gap-free prefix of what was added
    assert len(idx) <= last_frame + 1
    kept_t = frames.column("t_sec").to_pylist()[-1]
    # The flush interval, plus slack for a writer delayed by a busy CI machine.
    assert last_t - kept_t <= interval + 1.5, (last_t, kept_t)
    decisions = pq.read_table(folder / "decisions.parquet")
    assert max(decisions.column("frame_idx").to_pylist()) <= idx[-1]
    assert set(decisions.column("action").to_pylist()) == {"stay"}


def test_parts_are_merged_into_segments(tmp_path):
    from app.core.data.recorder import _SEGMENT_FLUSHES

    rec = RunRecorder(tmp_path, flush_interval_s=1e6)
    run_id = rec.start_run(encoder_id="e", fps=8.0)
    folder = tmp_path / run_id
    n = 0
    for _ in range(_SEGMENT_FLUSHES + 1):
        for _ in range(4):
            f = rec.add_frame(latent(n), n / 8)
            n += 1
        rec.add_decision(n / 8, f, None)
        rec.flush()
    names = sorted(p.name for p in folder.glob("frames-*.parquet"))
    last = _SEGMENT_FLUSHES
    assert names == [f"frames-000001-{last:06d}.parquet", f"frames-{last + 1:06d}.parquet"]
    segment = pq.read_table(folder / names[0])
    assert segment.column("frame_idx").to_pylist() == list(range(4 * last))
    assert len(store.part_files(folder, "decisions")) == 2

    # A crash between writing a segment and removing its parts leaves both: no repeats.
    shutil.copy(folder / names[1], folder / "frames-000002.parquet")
    run = rec._run
    run.stop = True
    rec._wake.set()
    run.writer.join()
    run.lock.release()
    info = RunRecorder(tmp_path).recovered[0]
    assert info.n_frames == n and info.n_decisions == last + 1
    frames = pq.read_table(folder / "frames.parquet").column("frame_idx").to_pylist()
    assert frames == list(range(n))


def test_end_run_writes_everything_without_the_parts(tmp_path):
    rec = RunRecorder(tmp_path, flush_interval_s=1e6)
    run_id = rec.start_run(encoder_id="e", fps=8.0)
    record(rec, 8)
    rec.flush()
    record(rec, 8)  # frames 8..15 re-use latents 0..7: fine, idx differ
    (tmp_path / run_id / "frames-000001.parquet").unlink()  # the parts are not read back
    info = rec.end_run("died")
    assert info.n_frames == 16 and info.n_decisions == 4
    assert pq.read_table(info.path / "frames.parquet").column("frame_idx").to_pylist() == list(range(16))
