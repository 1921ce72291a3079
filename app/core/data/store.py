"""The runs folder: one sub-folder per run, read, labelled, deleted, recovered.

    <root>/<run_id>/run.parquet            the run's one-row table (schema.RUNS_SCHEMA)
                    frames.parquet         compacted frames   (after the run ended)
                    decisions.parquet      compacted decisions
                    frames-000001.parquet  parts written while recording, by atomic rename
                    decisions-000001.parquet
                    .recording.lock        held (OS file lock) by the process recording it

Parquet I/O (atomic zstd writes, checked reads, part names) is in `parquet.py`, the
recording lock in `lock.py`; this module holds the run operations and re-exports both,
so `store.<name>` keeps working for every name. Every file is written to a temporary
name, fsynced and renamed over the target, so a reader sees the old file or the new one,
never half of one. A run whose lock is held is
being recorded (by this or another process) and is not touched. A run that has parts
left over, or was never ended, and whose lock is free was left by a crash: `recover_run`
compacts what reached the disk and marks it unlabelled. Nothing here ever deletes
recorded data except `delete_run`.

`list_runs`, `label_run` and `delete_run` are what the runs view and `arcx data` use.
A folder that holds recorded tables but whose run row is missing or unreadable cannot
be trained on (its encoder is unknown); `list_damaged` lists it, with what it holds, so
it is never silently invisible. A run whose tables cannot all be read lists them in
`RunInfo.problems`.

Writing needs free space: `check_can_record` refuses to start a run with less than
`MIN_FREE_BYTES` free, and a write the file system refuses raises `WriteError`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.core.atomic import check_free_space, describe_os_error, fsync_dir, write_error
from app.core.data.lock import LOCK_FILE, RunLock, exclusive, is_recording
from app.core.data.parquet import (
    DECISIONS_FILE,
    FRAMES_FILE,
    RUN_FILE,
    check_file,
    folder_bytes,
    num_rows,
    part_files,
    part_path,
    read_table,
    write_parquet_atomic,
)
from app.core.data.schema import (
    ACTIONS,
    DECISIONS_SCHEMA,
    RUNS_SCHEMA,
    TableKind,
    assign_actions,
    check_label,
)
from app.core.errors import ArcXError, DataError

log = logging.getLogger(__name__)

MIN_FREE_BYTES = 100 * 2**20
"""Free space below which no run starts: an hour of frames is about 30 MB, and ending a
run writes its tables once more before the parts are removed."""

__all__ = [
    # run operations (this module)
    "MIN_FREE_BYTES",
    "DamagedRun",
    "RunInfo",
    "check_can_record",
    "compact_run",
    "delete_run",
    "find_run",
    "label_run",
    "last_saved_t",
    "list_damaged",
    "list_runs",
    "needs_recovery",
    "new_run_id",
    "read_run_row",
    "recover_run",
    "recover_runs",
    "run_info",
    "utc_now",
    "write_run_row",
    # re-exported from parquet.py and lock.py
    "DECISIONS_FILE",
    "FRAMES_FILE",
    "LOCK_FILE",
    "RUN_FILE",
    "RunLock",
    "check_file",
    "folder_bytes",
    "is_recording",
    "num_rows",
    "part_files",
    "part_path",
    "read_table",
    "write_parquet_atomic",
]


@dataclass(frozen=True)
class RunInfo:
    """One recorded run, as the runs view and `arcx data` show it."""

    run_id: str
    """UUID of the run (also its folder name)"""
    started_at: datetime
    """wall-clock start, timezone-aware (UTC)"""
    ended_at: datetime | None
    """wall-clock end; None while recording"""
    duration_s: float | None
    """length on the run clock; None while recording"""
    game_profile: str
    """free-text map / game name"""
    encoder_id: str
    """id of the encoder whose latents were recorded"""
    encoder_path: str
    """encoder implementation (fp32, fp16, …)"""
    fps: float
    """capture frame rate"""
    outcome: str | None
    """"extracted", "died", or None while unlabelled"""
    final_loot_value: float | None
    """loot banked (0 when died); None while unlabelled"""
    extract_mark_t: float | None
    """run-clock seconds of the extract mark, if the player gave one"""
    n_frames: int
    """frames on disk"""
    n_decisions: int
    """decisions on disk"""
    bytes_on_disk: int
    """size of the run's folder"""
    path: Path
    """the run's folder"""
    app_version: str
    """ArcX version that recorded it"""
    recovered: bool = False
    """ended by crash recovery (it may miss its last seconds)"""
    recording: bool = False
    """a recorder holds it right now (this or another process)"""
    latent_dim: int | None = None
    """D of its latents; None before the first frame"""
    problems: tuple[str, ...] = ()
    """files of the run that cannot be read (their rows are not counted)"""

    @property
    def labelled(self) -> bool:
        return self.outcome is not None

    @property
    def bytes_per_decision(self) -> float | None:
        return self.bytes_on_disk / self.n_decisions if self.n_decisions else None


# ----------------------------------------------------------------------------- run rows


def new_run_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def read_run_row(run_dir: Path) -> dict[str, Any]:
    """The run's one row as a dict (schema.RUNS_SCHEMA names)."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise DataError(f"{run_dir} has no {RUN_FILE}: not a run folder")
    table = read_table(path, "runs")
    if table.num_rows != 1:
        raise DataError(f"{path} has {table.num_rows} rows, expected 1")
    row: dict[str, Any] = table.to_pylist()[0]
    return row


def write_run_row(run_dir: Path, row: dict[str, Any]) -> None:
    write_parquet_atomic(pa.Table.from_pylist([row], schema=RUNS_SCHEMA), Path(run_dir) / RUN_FILE)


@dataclass(frozen=True)
class DamagedRun:
    """A run folder that holds recorded tables but cannot be used as a run."""

    path: Path
    """the folder"""
    reason: str
    """why it cannot be used, in words"""
    n_frames: int
    """frames in its readable tables"""
    n_decisions: int
    """decisions in its readable tables"""


_KEYS: dict[str, tuple[TableKind, str]] = {
    "frames": ("frames", "frame_idx"),
    "decisions": ("decisions", "decision_idx"),
}


def _count(run_dir: Path, final: str, kind: str, problems: list[str]) -> int:
    """Rows of `kind` in the run; each row once, also where a crash mid-compaction left
    the compacted file and the parts it was made from side by side."""
    sources = []
    total = 0
    for p in [run_dir / final, *part_files(run_dir, kind)]:
        if not p.exists():
            continue
        n = num_rows(p)
        if n is None:
            problems.append(f"{p.name} cannot be read")
            continue
        sources.append(p)
        total += n
    if len(sources) < 2:
        return total
    table_kind, key = _KEYS[kind]
    keys = []
    for p in sources:
        try:
            keys.append(read_table(p, table_kind, columns=[key]).column(key).to_numpy())
        except DataError:
            problems.append(f"{p.name} cannot be read")
    return int(len(np.unique(np.concatenate(keys)))) if keys else 0


def run_info(run_dir: Path, *, row: dict[str, Any] | None = None) -> RunInfo:
    """Describe the run in `run_dir` (reads its run row and the tables' footers)."""
    run_dir = Path(run_dir)
    row = read_run_row(run_dir) if row is None else row
    problems: list[str] = []
    n_frames = _count(run_dir, FRAMES_FILE, "frames", problems)
    n_decisions = _count(run_dir, DECISIONS_FILE, "decisions", problems)
    return RunInfo(
        run_id=row["run_id"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        duration_s=row["duration_s"],
        game_profile=row["game_profile"],
        encoder_id=row["encoder_id"],
        encoder_path=row["encoder_path"],
        fps=row["fps"],
        outcome=row["outcome"],
        final_loot_value=row["final_loot_value"],
        extract_mark_t=row["extract_mark_t"],
        n_frames=n_frames,
        n_decisions=n_decisions,
        bytes_on_disk=folder_bytes(run_dir),
        path=run_dir,
        app_version=row["app_version"],
        recovered=bool(row["recovered"]),
        recording=is_recording(run_dir),
        latent_dim=row["latent_dim"],
        problems=tuple(problems),
    )


def _run_dirs(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_runs(root: Path) -> list[RunInfo]:
    """Every run under `root`, oldest first. Unreadable folders are skipped with a warning."""
    runs = []
    for d in _run_dirs(root):
        if not (d / RUN_FILE).exists():
            if any(d.iterdir()):
                log.warning("skipping %s: no %s (not a run folder)", d, RUN_FILE)
            continue
        try:
            runs.append(run_info(d))
        except DataError as exc:
            log.warning("skipping run folder %s: %s", d, exc)
    return sorted(runs, key=lambda r: (r.started_at, r.run_id))


def list_damaged(root: Path) -> list[DamagedRun]:
    """Folders under `root` that hold recorded tables but no readable run row.

    Their frames and decisions are kept (nothing here deletes), but without the run row
    the encoder that made the latents is unknown, so they cannot be trained on.
    """
    damaged = []
    for d in _run_dirs(root):
        try:
            read_run_row(d)
            continue
        except DataError as exc:
            reason = str(exc)
        problems: list[str] = []
        n_frames = _count(d, FRAMES_FILE, "frames", problems)
        n_decisions = _count(d, DECISIONS_FILE, "decisions", problems)
        if not (d / RUN_FILE).exists() and not n_frames and not n_decisions and not problems:
            continue  # not a run folder at all
        if not (d / RUN_FILE).exists():
            reason = f"its {RUN_FILE} is missing, so its encoder is unknown"
        damaged.append(DamagedRun(d, reason, n_frames, n_decisions))
    return damaged


def check_can_record(root: Path, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """WriteError unless a run can be recorded under `root`: writable, with free space.

    The tray and `arcx run` call this before they start a run (and the recorder does).
    """
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test-{uuid.uuid4().hex[:8]}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise write_error(exc, f"record runs in {root}") from exc
    check_free_space(root, min_free_bytes, "start a run")


def find_run(root: Path, run_id: str) -> Path:
    """The folder of `run_id` (a unique prefix of it is accepted, as in git)."""
    root = Path(root)
    exact = root / run_id
    if run_id and (exact / RUN_FILE).is_file():
        return exact
    matches = [d for d in _run_dirs(root) if d.name.startswith(run_id) and (d / RUN_FILE).is_file()]
    if len(matches) == 1 and run_id:
        return matches[0]
    if not matches or not run_id:
        raise DataError(f"no run {run_id!r} under {root}")
    raise DataError(f"run id {run_id!r} is ambiguous: {', '.join(m.name for m in matches[:5])}")


# --------------------------------------------------------------------------- compaction


def _read_sources(paths: list[Path], kind: TableKind) -> list[pa.Table]:
    """Read every readable source; a bad part is renamed *.corrupt (kept) with a warning."""
    tables = []
    for p in paths:
        try:
            tables.append(read_table(p, kind))
        except DataError as exc:
            bad = p.with_name(p.name + ".corrupt")
            log.warning("%s; kept as %s and left out of the run", exc, bad.name)
            with contextlib.suppress(OSError):
                os.replace(p, bad)
    return tables


def _merge(tables: list[pa.Table], key: str) -> pa.Table | None:
    """Concatenate, sort by `key`, drop repeated keys (a crash mid-compaction can repeat)."""
    if not tables:
        return None
    table = pa.concat_tables(tables).combine_chunks()
    table = table.sort_by(key)
    keys = table.column(key).to_numpy()
    keep = np.ones(len(keys), dtype=bool)
    keep[1:] = keys[1:] != keys[:-1]
    if not keep.all():
        table = table.filter(pa.array(keep))
    return table


def _with_actions(decisions: pa.Table, mark: float | None, outcome: str | None) -> pa.Table:
    t = decisions.column("t_sec").to_numpy()
    actions = assign_actions(t, mark, outcome)
    col = pa.array([ACTIONS[a] for a in actions], pa.string())
    return decisions.set_column(decisions.schema.get_field_index("action"), "action", col)


def compact_run(
    run_dir: Path,
    row: dict[str, Any],
    extra_frames: pa.Table | None = None,
    extra_decisions: pa.Table | None = None,
    *,
    complete: bool = False,
) -> RunInfo:
    """Merge parts (and tables still in memory) into one file per table; write `row`.

    `row` is the final run row (label, end time). With `complete`, the extra tables are
    the whole run (the recorder keeps everything it wrote) and the parts are not read.
    Order matters for crash safety: the merged tables first, then the run row, then the
    parts are removed; a crash anywhere leaves a folder that the next recovery compacts
    again without loss or repetition.
    """
    run_dir = Path(run_dir)
    frames_parts = part_files(run_dir, "frames")
    decision_parts = part_files(run_dir, "decisions")
    frames_src = [p for p in [run_dir / FRAMES_FILE] if p.exists()] + frames_parts
    dec_src = [p for p in [run_dir / DECISIONS_FILE] if p.exists()] + decision_parts
    if complete:
        frames_src, dec_src = [], []

    frames_tables = _read_sources(frames_src, "frames")
    if extra_frames is not None and extra_frames.num_rows:
        frames_tables.append(extra_frames)
    dims = {t.schema.field("latent").type.list_size for t in frames_tables}
    if len(dims) > 1:
        raise DataError(f"{run_dir} holds latents of different sizes {sorted(dims)}")
    frames = _merge(frames_tables, "frame_idx")

    dec_tables = _read_sources(dec_src, "decisions")
    if extra_decisions is not None and extra_decisions.num_rows:
        dec_tables.append(extra_decisions)
    decisions = _merge([t.select(DECISIONS_SCHEMA.names).cast(DECISIONS_SCHEMA) for t in dec_tables], "decision_idx")
    if decisions is not None:
        decisions = _with_actions(decisions, row["extract_mark_t"], row["outcome"])

    if frames is not None and (frames_parts or extra_frames is not None or complete):
        write_parquet_atomic(frames, run_dir / FRAMES_FILE)
    if decisions is not None:
        write_parquet_atomic(decisions, run_dir / DECISIONS_FILE)
    if row.get("latent_dim") is None and dims:
        row = {**row, "latent_dim": int(next(iter(dims)))}
    write_run_row(run_dir, row)
    for p in frames_parts + decision_parts:
        p.unlink(missing_ok=True)
    for p in run_dir.glob(".*.tmp"):  # temp files of writes a crash interrupted
        p.unlink(missing_ok=True)
    fsync_dir(run_dir)
    return run_info(run_dir)


def last_saved_t(run_dir: Path) -> float:
    """The latest run-clock time that reached the disk (0 when none): how much is saved."""
    return _last_t(Path(run_dir))


def _last_t(run_dir: Path) -> float:
    """The latest run-clock time in any frames / decisions source (0 when none)."""
    latest = 0.0
    sources: tuple[tuple[TableKind, str], ...] = (("frames", FRAMES_FILE), ("decisions", DECISIONS_FILE))
    for kind, final in sources:
        for p in [run_dir / final, *part_files(run_dir, kind)]:
            if not p.exists():
                continue
            with contextlib.suppress(DataError):
                t = read_table(p, kind, columns=["t_sec"]).column("t_sec")
                if len(t):
                    latest = max(latest, float(pc.max(t).as_py()))
    return latest


def needs_recovery(run_dir: Path) -> bool:
    """A run left by a crash: never ended, or parts / temp files left over."""
    try:
        row = read_run_row(run_dir)
    except DataError:
        return False
    leftovers = part_files(run_dir, "frames") or part_files(run_dir, "decisions")
    return row["ended_at"] is None or bool(leftovers) or any(run_dir.glob(".*.tmp"))


def recover_run(run_dir: Path) -> RunInfo | None:
    """Compact a crashed run and mark it ended (unlabelled if it was never ended).

    Returns None when the run is being recorded (its lock is held) or needs nothing.
    """
    run_dir = Path(run_dir)
    lock = RunLock(run_dir / LOCK_FILE)
    if not lock.acquire():
        return None
    try:
        if not needs_recovery(run_dir):
            return None
        row = read_run_row(run_dir)
        if row["ended_at"] is None:
            duration = _last_t(run_dir)
            row.update(
                ended_at=row["started_at"] + timedelta(seconds=duration),
                duration_s=duration,
                outcome=None,
                final_loot_value=None,
                recovered=True,
            )
        info = compact_run(run_dir, row)
        log.warning(
            "recovered run %s left by a crash: %d frames, %d decisions kept%s",
            info.run_id, info.n_frames, info.n_decisions,
            "; it is unlabelled" if info.outcome is None else "",
        )
        return info
    finally:
        lock.release(remove=True)


def recover_runs(root: Path) -> list[RunInfo]:
    """Recover every crashed run under `root` that no recorder holds."""
    recovered = []
    for d in _run_dirs(root):
        try:
            if needs_recovery(d):
                info = recover_run(d)
                if info is not None:
                    recovered.append(info)
        except OSError as exc:
            log.warning("could not recover run folder %s: %s", d, describe_os_error(exc))
        except ArcXError as exc:  # unreadable, or a read-only folder (WriteError)
            log.warning("could not recover run folder %s: %s", d, exc)
    return recovered


# ------------------------------------------------------------------- label and delete


def label_run(
    root: Path, run_id: str, outcome: str | None, final_loot_value: float | None = None
) -> RunInfo:
    """Set (or clear, with outcome None) a run's label; its actions are re-derived.

    outcome "extracted" needs final_loot_value ≥ 0; "died" means value 0. Raises
    DataError for a bad label, an unknown run, or a run being recorded.
    """
    outcome, value = check_label(outcome, final_loot_value)
    run_dir = find_run(root, run_id)
    with exclusive(run_dir, "label"):
        row = read_run_row(run_dir)
        if row["ended_at"] is None:  # crashed and not yet recovered: recover in place
            row.update(ended_at=utc_now(), duration_s=_last_t(run_dir), recovered=True)
        row.update(outcome=outcome, final_loot_value=value)
        try:
            info = compact_run(run_dir, row)
        except OSError as exc:  # the old files are intact: every write is atomic
            raise write_error(exc, f"label run {run_dir.name}") from exc
    log.info("run %s labelled %s (%s)", info.run_id, outcome or "unlabelled", value)
    return replace(info, recording=False)


def delete_run(root: Path, run_id: str) -> None:
    """Delete a run's folder. Raises DataError for an unknown run or one being recorded."""
    run_dir = find_run(root, run_id)
    with exclusive(run_dir, "delete"):
        pass  # only checks that no recorder holds it (recorders never reopen an old run)
    # Rename first: a crash mid-delete leaves a hidden folder, not half a run. (The lock is
    # released before: Windows cannot rename a folder with an open file inside.)
    trash = run_dir.with_name(f".deleting-{run_dir.name}")
    try:
        os.replace(run_dir, trash)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise write_error(exc, f"delete run {run_dir.name}") from exc
        # Windows: a file in it is open elsewhere
        raise DataError(f"run {run_dir.name} cannot be deleted now ({exc}); close what uses it") from exc
    shutil.rmtree(trash, ignore_errors=True)
    for leftover in Path(root).glob(".deleting-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    log.info("run %s deleted", run_dir.name)
