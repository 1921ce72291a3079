"""RunRecorder: records a run's frame latents and decisions, crash-safe.

Two threads feed it: the capture thread calls `add_frame` (8 FPS) and the inference
thread `add_decision` (every 0.5 s). Both only append to in-memory buffers under a short
lock (microseconds); a background writer thread wakes every `flush_interval_s`, swaps
the buffers out and writes them as one small zstd Parquet part per table (temp file,
fsync, atomic rename). A crash (kill -9, power loss of the process) therefore loses at
most the last flush interval, and every file on disk opens. Every `_SEGMENT_FLUSHES`
flushes the writer merges the small parts into one segment file and removes them, so a
run never holds more than a few hundred files. The recorder also keeps every table it
wrote in memory (about 30 MB per hour of frames at D=512), so `end_run` writes the
final one-file-per-table run without reading the parts back (Parquet cannot be
appended to), then removes the parts.

Times: `t_sec` is seconds on the **run clock**: `clock()` (time.monotonic by default)
minus its value at `start_run`. `elapsed()` gives the current run-clock time, and
`mark_extract()` without an argument uses it, so callers that stamp frames with
`recorder.elapsed()` (or with their own clock offset by the same start) stay consistent.

Constructing a recorder recovers the runs a crash left under `root` (see `store.py`):
their data are kept and they are marked unlabelled, never deleted.

A full disk loses nothing that can be kept. `start_run` refuses to start with less than
`store.MIN_FREE_BYTES` free (or in a folder it cannot write). While recording, a failed
flush keeps its rows in memory and retries at the next interval. If `end_run` cannot
compact, it first tries to put the rest on disk as small parts (the next start then
compacts them); if even that fails, the whole run stays in memory, `end_run` raises
`RunNotSavedError` saying how many seconds are not on disk, and `retry_unsaved` (called
again by `start_run` and `close`) writes it once there is space. Only `close`, when the
process exits, gives such a run up, logging the seconds lost.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app import __version__
from app.core.atomic import WriteError, describe_os_error, os_errno, write_error
from app.core.data import store
from app.core.data.schema import check_label, decisions_table, frames_table
from app.core.data.store import RunInfo, delete_run, label_run, list_runs
from app.core.errors import DataError
from app.core.model.ev import EVEstimate

__all__ = ["RunInfo", "RunNotSavedError", "RunRecorder", "delete_run", "label_run", "list_runs"]

log = logging.getLogger(__name__)

# The writer thread re-checks the clock at least this often, so an injected clock that
# jumps ahead still triggers a flush promptly.
_MAX_WAIT_S = 0.5
# Flushes merged into one segment file (1 min at the default 2 s interval): deleting
# thousands of small files at the end of a run took seconds.
_SEGMENT_FLUSHES = 30


@dataclass
class _ActiveRun:
    """Everything about the run being recorded; guarded by RunRecorder._lock."""

    run_id: str
    run_dir: Path
    lock: store.RunLock
    row: dict[str, Any]
    t0: float  # clock() at start_run
    latent_dim: int | None = None
    n_frames: int = 0
    n_decisions: int = 0
    next_part: int = 1
    last_flush: float = 0.0
    row_dirty: bool = False
    flushes: int = 0
    write_errors: int = 0
    # pending rows, not yet on disk
    frame_idx: list[int] = field(default_factory=list)
    frame_t: list[float] = field(default_factory=list)
    frame_lat: list[np.ndarray] = field(default_factory=list)
    dec_cols: dict[str, list[Any]] = field(default_factory=dict)
    # everything already written, kept for end_run; and the small parts since the last segment
    written_frames: list[pa.Table] = field(default_factory=list)
    written_decisions: list[pa.Table] = field(default_factory=list)
    segment_parts: list[Path] = field(default_factory=list)
    segment_first: int | None = None  # seq of the first flush not yet in a segment
    segment_frames_from: int = 0  # index into written_frames where that flush starts
    segment_decisions_from: int = 0
    stop: bool = False
    writer: threading.Thread | None = None


class RunNotSavedError(WriteError):
    """A run ended but part of it is only in memory (the disk is full or read-only)."""

    def __init__(self, run_id: str, saved_s: float, lost_s: float, reason: str, errno_: int | None) -> None:
        super().__init__(
            f"{reason}: the last {lost_s:.0f} s of run {run_id[:8]} are not saved yet "
            f"({saved_s:.0f} s are on disk and readable)",
            errno_=errno_,
        )
        self.run_id = run_id
        """the run"""
        self.saved_s = saved_s
        """run-clock seconds that are on disk"""
        self.lost_s = lost_s
        """run-clock seconds that exist only in memory"""


@dataclass
class _Unsaved:
    """A run that ended but could not be written: everything to write it later."""

    run: _ActiveRun
    row: dict[str, Any]
    frames: pa.Table | None
    decisions: pa.Table | None
    saved_s: float
    lost_s: float


_DEC_COLUMNS = (
    "decision_idx", "t_sec", "frame_idx", "action", "ev_stay", "ev_extract", "ev_tau",
    "ev_risk", "ev_stay_p10", "ev_stay_p90", "ev_extract_p10", "ev_extract_p90", "ev_warming",
)


def _ev_values(ev: EVEstimate | None) -> tuple[Any, ...]:
    if ev is None:
        return (None,) * 9
    return (
        ev.ev_stay, ev.ev_extract, None, ev.risk,  # ev_tau: null since risk profiles are distortions
        ev.spread_stay[0], ev.spread_stay[1], ev.spread_extract[0], ev.spread_extract[1],
        ev.warming,
    )


def _concat(tables: list[pa.Table | None]) -> pa.Table | None:
    present = [t for t in tables if t is not None and t.num_rows]
    return pa.concat_tables(present) if present else None


class RunRecorder:
    """Records runs under `root` (one folder each). Thread-safe.

    Between runs `add_frame` and `add_decision` do nothing and return -1: the capture
    thread may deliver a last frame after `end_run`, which is not an error.
    """

    def __init__(
        self,
        root: Path,
        *,
        flush_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        min_free_bytes: int = store.MIN_FREE_BYTES,
    ) -> None:
        """min_free_bytes: no run starts with less free space than this under `root`."""
        if not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be > 0, got {flush_interval_s}")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.flush_interval_s = float(flush_interval_s)
        self._clock = clock
        self._lock = threading.Lock()  # guards _run and its buffers: held for microseconds
        self._io_lock = threading.Lock()  # one writer of parts at a time
        self._wake = threading.Event()
        self._run: _ActiveRun | None = None
        self._unsaved: list[_Unsaved] = []
        self.min_free_bytes = int(min_free_bytes)
        self.recovered: tuple[RunInfo, ...] = tuple(store.recover_runs(self.root))
        """Runs a crash had left under root, recovered (unlabelled) by this constructor."""

    # ---------------------------------------------------------------------- run control

    @property
    def active_run_id(self) -> str | None:
        run = self._run
        return run.run_id if run is not None else None

    def elapsed(self) -> float:
        """Run-clock seconds since start_run (0.0 between runs)."""
        run = self._run
        return self._clock() - run.t0 if run is not None else 0.0

    def start_run(
        self,
        *,
        encoder_id: str,
        fps: float,
        game_profile: str = "default",
        encoder_path: str = "fp32",
        latent_dim: int | None = None,
    ) -> str:
        """Begin a run; returns its id (a UUID string). Raises DataError if one is active.

        latent_dim: D, when known; otherwise taken from the first frame.
        """
        if not encoder_id:
            raise ValueError("encoder_id is required: latents of different encoders are never mixed")
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if self._unsaved:
            self.retry_unsaved()
        store.check_can_record(self.root, self.min_free_bytes)  # WriteError says why not
        with self._lock:
            if self._run is not None:
                raise DataError(f"run {self._run.run_id} is still being recorded; end it first")
            run_id = store.new_run_id()
            run_dir = self.root / run_id
            try:
                run_dir.mkdir(parents=True)
            except OSError as exc:
                raise write_error(exc, f"create the run folder {run_dir}") from exc
            lock = store.RunLock(run_dir / store.LOCK_FILE)
            if not lock.acquire():  # a fresh UUID folder: cannot be held by anyone else
                raise DataError(f"could not lock the new run folder {run_dir}")
            row: dict[str, Any] = {
                "run_id": run_id,
                "started_at": store.utc_now(),
                "ended_at": None,
                "duration_s": None,
                "game_profile": game_profile,
                "encoder_id": encoder_id,
                "encoder_path": encoder_path,
                "fps": float(fps),
                "latent_dim": latent_dim,
                "outcome": None,
                "final_loot_value": None,
                "extract_mark_t": None,
                "recovered": False,
                "app_version": __version__,
            }
            try:
                store.write_run_row(run_dir, row)  # first, so a crash leaves a run folder
            except BaseException as exc:
                lock.release(remove=True)
                with contextlib.suppress(OSError):
                    run_dir.rmdir()  # empty: nothing was recorded
                if isinstance(exc, OSError):
                    raise write_error(exc, f"start a run in {self.root}") from exc
                raise
            now = self._clock()
            run = _ActiveRun(
                run_id, run_dir, lock, row, t0=now, latent_dim=latent_dim, last_flush=now,
                dec_cols={c: [] for c in _DEC_COLUMNS},
            )
            run.writer = threading.Thread(
                target=self._writer_loop, args=(run,), name=f"arcx-recorder-{run_id[:8]}", daemon=True
            )
            self._run = run
        run.writer.start()
        log.info("recording run %s (%s, encoder %s) to %s", run_id, game_profile, encoder_id, run_dir)
        return run_id

    def add_frame(self, latent: np.ndarray, t_sec: float) -> int:
        """Queue one frame latent [D] (any float dtype, stored as float16); returns frame_idx."""
        z = np.asarray(latent)
        if z.ndim != 1 or z.shape[0] < 1:
            raise ValueError(f"a frame latent must be a vector [D], got shape {list(z.shape)}")
        z16 = z.astype(np.float16)  # a copy: the caller may reuse its buffer
        with self._lock:
            run = self._run
            if run is None:
                return -1
            if run.latent_dim is None:
                run.latent_dim = int(z.shape[0])
                run.row["latent_dim"] = run.latent_dim
                run.row_dirty = True
            elif z.shape[0] != run.latent_dim:
                raise ValueError(f"latent has D={z.shape[0]}, this run records D={run.latent_dim}")
            idx = run.n_frames
            run.n_frames += 1
            run.frame_idx.append(idx)
            run.frame_t.append(float(t_sec))
            run.frame_lat.append(z16)
            due = self._clock() - run.last_flush >= self.flush_interval_s
        if due:
            self._wake.set()
        return idx

    def add_decision(self, t_sec: float, frame_idx: int, ev: EVEstimate | None) -> int:
        """Queue one decision (its newest frame, what the overlay showed); returns decision_idx.

        frame_idx must be a frame already added to this run. ev is None when no model ran.
        """
        with self._lock:
            run = self._run
            if run is None:
                return -1
            if not 0 <= frame_idx < run.n_frames:
                raise ValueError(
                    f"decision refers to frame {frame_idx}, but the run has frames 0..{run.n_frames - 1}"
                )
            idx = run.n_decisions
            run.n_decisions += 1
            mark = run.row["extract_mark_t"]
            action = "extract" if mark is not None and t_sec >= mark else "stay"
            values = (idx, float(t_sec), int(frame_idx), action, *_ev_values(ev))
            for name, v in zip(_DEC_COLUMNS, values, strict=True):
                run.dec_cols[name].append(v)
        return idx

    def mark_extract(self, t_sec: float | None = None) -> None:
        """The player is extracting from now (or from t_sec): later decisions are `extract`.

        Only the first mark of a run counts. Written at the next flush (within the interval).
        """
        with self._lock:
            run = self._run
            if run is None:
                log.info("extract mark ignored: no run is being recorded")
                return
            if run.row["extract_mark_t"] is not None:
                log.info("extract mark ignored: run %s is already marked", run.run_id)
                return
            t = self._clock() - run.t0 if t_sec is None else float(t_sec)
            run.row["extract_mark_t"] = t
            run.row_dirty = True
        self._wake.set()
        log.info("run %s: extract marked at %.1f s", run.run_id, t)

    def end_run(self, outcome: str | None, final_loot_value: float | None = None) -> RunInfo:
        """Stop recording, write everything, compact the parts; returns the run's RunInfo.

        outcome: "extracted" (with final_loot_value ≥ 0), "died" (value 0) or None to
        label later. Compaction reads the run back (about a second for an hour's run):
        call it off the GUI thread. Raises DataError for a bad label (the run stays
        active) or when no run is active, and RunNotSavedError when the disk refused
        part of the run (it is kept in memory; see `retry_unsaved`).
        """
        outcome, value = check_label(outcome, final_loot_value)
        with self._lock:
            run = self._run
            if run is None:
                raise DataError("no run is being recorded")
            self._run = None
            run.stop = True
            duration = self._clock() - run.t0
        self._wake.set()
        if run.writer is not None:
            run.writer.join()
        with self._io_lock, self._lock:
            rest_frames, rest_decisions = self._take(run)
        frames = _concat([*run.written_frames, rest_frames])
        decisions = _concat([*run.written_decisions, rest_decisions])
        row = {
            **run.row,
            "ended_at": store.utc_now(),
            "duration_s": duration,
            "outcome": outcome,
            "final_loot_value": value,
        }
        try:
            store.compact_run(run.run_dir, row, frames, decisions, complete=True)
        except OSError as exc:
            return self._end_unsaved(run, row, frames, decisions, (rest_frames, rest_decisions), exc)
        except BaseException:
            run.lock.release(remove=True)
            raise
        run.lock.release(remove=True)
        info = store.run_info(run.run_dir)
        log.info(
            "run %s ended (%s): %d frames, %d decisions, %.0f KB",
            info.run_id, outcome or "unlabelled", info.n_frames, info.n_decisions,
            info.bytes_on_disk / 1024,
        )
        return info

    def _end_unsaved(
        self,
        run: _ActiveRun,
        row: dict[str, Any],
        frames: pa.Table | None,
        decisions: pa.Table | None,
        rest: tuple[pa.Table | None, pa.Table | None],
        exc: OSError,
    ) -> RunInfo:
        """Compaction failed: write the rest as parts if that fits, else keep it all in memory."""
        reason = describe_os_error(exc)
        log.error("run %s: writing the ended run failed (%s)", run.run_id, reason, exc_info=True)
        seq = run.next_part
        try:
            for kind, table in zip(("frames", "decisions"), rest, strict=True):
                if table is not None:
                    store.write_parquet_atomic(table, store.part_path(run.run_dir, kind, seq))
            store.write_run_row(run.run_dir, row)
        except OSError as exc2:
            saved = store.last_saved_t(run.run_dir)
            end = max([float(row["duration_s"])] + [
                float(pc.max(t.column("t_sec")).as_py()) for t in (frames, decisions) if t is not None
            ])
            lost = max(0.0, end - saved)
            self._unsaved.append(_Unsaved(run, row, frames, decisions, saved, lost))
            raise RunNotSavedError(run.run_id, saved, lost, describe_os_error(exc2), os_errno(exc2)) from exc2
        run.lock.release(remove=True)
        log.warning(
            "run %s: every row is on disk, in parts (%s); it is compacted at the next start",
            run.run_id, reason,
        )
        return store.run_info(run.run_dir)

    @property
    def unsaved_seconds(self) -> float:
        """Run-clock seconds of ended runs that are only in memory (0 when all is saved)."""
        return sum(u.lost_s for u in self._unsaved)

    def retry_unsaved(self) -> list[RunInfo]:
        """Try again to write the runs `end_run` could not; returns those now saved."""
        saved = []
        for u in list(self._unsaved):
            try:
                store.compact_run(u.run.run_dir, u.row, u.frames, u.decisions, complete=True)
            except OSError as exc:
                log.info("run %s still cannot be saved (%s)", u.run.run_id, describe_os_error(exc))
                continue
            u.run.lock.release(remove=True)
            self._unsaved.remove(u)
            info = store.run_info(u.run.run_dir)
            log.info("run %s saved after all: %d frames, %d decisions", info.run_id, info.n_frames, info.n_decisions)
            saved.append(info)
        return saved

    def flush(self) -> None:
        """Write what is buffered now (the writer thread does this every interval)."""
        run = self._run
        if run is not None:
            self._flush(run)

    def close(self) -> None:
        """End an active run unlabelled (it can be labelled later) and stop.

        Runs still unsaved get one last try; what still does not fit is given up (what
        reached the disk stays readable, and the next start recovers it) and logged.
        """
        try:
            if self._run is not None:
                self.end_run(None)
        except RunNotSavedError:
            pass  # kept in _unsaved: retried just below
        if self._unsaved:
            self.retry_unsaved()
        for u in self._unsaved:
            log.error(
                "run %s: %.0f s could not be saved and are lost; %.0f s are on disk",
                u.run.run_id, u.lost_s, u.saved_s,
            )
            u.run.lock.release()
        self._unsaved.clear()

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------------- writing

    def _take(self, run: _ActiveRun) -> tuple[Any, Any]:
        """Swap the pending rows out as Arrow tables (call with _lock held)."""
        frames = decisions = None
        if run.frame_idx:
            frames = frames_table(
                run.run_id, np.asarray(run.frame_idx), np.asarray(run.frame_t), np.stack(run.frame_lat)
            )
            run.frame_idx, run.frame_t, run.frame_lat = [], [], []
        if run.dec_cols["decision_idx"]:
            decisions = decisions_table(run.run_id, run.dec_cols)
            run.dec_cols = {c: [] for c in _DEC_COLUMNS}
        return frames, decisions

    def _flush(self, run: _ActiveRun) -> None:
        with self._io_lock:
            with self._lock:
                run.last_flush = self._clock()
                pending_frames = (run.frame_idx, run.frame_t, run.frame_lat)
                pending_dec = run.dec_cols
                row = dict(run.row) if run.row_dirty else None
                run.row_dirty = False
                if not run.frame_idx and not run.dec_cols["decision_idx"] and row is None:
                    return
                run.frame_idx, run.frame_t, run.frame_lat = [], [], []
                run.dec_cols = {c: [] for c in _DEC_COLUMNS}
                seq = run.next_part
            # Arrow conversion and I/O happen outside _lock: add_frame never waits for them.
            frames = decisions = None
            written: list[Path] = []
            try:
                if pending_frames[0]:
                    frames = frames_table(
                        run.run_id,
                        np.asarray(pending_frames[0]),
                        np.asarray(pending_frames[1]),
                        np.stack(pending_frames[2]),
                    )
                    written.append(store.part_path(run.run_dir, "frames", seq))
                    store.write_parquet_atomic(frames, written[-1])
                if pending_dec["decision_idx"]:
                    decisions = decisions_table(run.run_id, pending_dec)
                    written.append(store.part_path(run.run_dir, "decisions", seq))
                    store.write_parquet_atomic(decisions, written[-1])
                if row is not None:
                    store.write_run_row(run.run_dir, row)
            except Exception as exc:  # disk full, AV lock …: keep the rows, retry next time
                run.write_errors += 1
                log.error("run %s: writing part %d failed (%s); will retry", run.run_id, seq, exc)
                with self._lock:
                    run.frame_idx[:0] = pending_frames[0]
                    run.frame_t[:0] = pending_frames[1]
                    run.frame_lat[:0] = pending_frames[2]
                    for c in _DEC_COLUMNS:
                        run.dec_cols[c][:0] = pending_dec[c]
                    run.row_dirty = run.row_dirty or row is not None
                    # a frames part that did reach the disk is rewritten whole next time
                    store.part_path(run.run_dir, "frames", seq).unlink(missing_ok=True)
                return
            with self._lock:
                run.next_part = seq + 1
                run.flushes += 1
            if not written:
                return
            if run.segment_first is None:
                run.segment_first = seq
                run.segment_frames_from = len(run.written_frames)
                run.segment_decisions_from = len(run.written_decisions)
            if frames is not None:
                run.written_frames.append(frames)
            if decisions is not None:
                run.written_decisions.append(decisions)
            run.segment_parts += written
            if seq - run.segment_first + 1 >= _SEGMENT_FLUSHES:
                self._write_segment(run, seq)

    def _write_segment(self, run: _ActiveRun, last: int) -> None:
        """Merge the parts of flushes segment_first..last into one file each (io_lock held)."""
        first = run.segment_first
        assert first is not None
        try:
            for kind, tables in (
                ("frames", run.written_frames[run.segment_frames_from :]),
                ("decisions", run.written_decisions[run.segment_decisions_from :]),
            ):
                table = _concat(tables)
                if table is not None:
                    store.write_parquet_atomic(table, store.part_path(run.run_dir, kind, first, last))
        except Exception as exc:  # the small parts are still there: nothing is lost
            log.error("run %s: writing segment %d-%d failed (%s)", run.run_id, first, last, exc)
            return
        for p in run.segment_parts:
            p.unlink(missing_ok=True)
        run.segment_parts = []
        run.segment_first = None

    def _writer_loop(self, run: _ActiveRun) -> None:
        interval = self.flush_interval_s
        while True:
            self._wake.wait(timeout=min(interval, _MAX_WAIT_S))
            self._wake.clear()
            if run.stop:
                return
            with self._lock:
                due = self._clock() - run.last_flush >= interval or (
                    run.row_dirty and run.row["extract_mark_t"] is not None
                )
            if due:
                try:
                    self._flush(run)
                except Exception:  # never let the writer die silently
                    log.exception("run %s: flush failed", run.run_id)
