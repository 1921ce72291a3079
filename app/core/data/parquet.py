"""Parquet I/O of the runs folder: zstd files written atomically, read and checked.

A run folder's files (see `store`):

    run.parquet            the run's one-row table (schema.RUNS_SCHEMA)
    frames.parquet         compacted frames   (after the run ended)
    decisions.parquet      compacted decisions
    frames-000001.parquet  parts written while recording (or segments of several parts)

Every file is written to a temporary name, fsynced and renamed over the target, so a
reader sees the old file or the new one, never half of one. Reads check the schema and
raise DataError naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from app.core.atomic import atomic_path
from app.core.data.schema import TableKind, check_table
from app.core.errors import DataError

__all__ = [
    "DECISIONS_FILE",
    "FRAMES_FILE",
    "RUN_FILE",
    "check_file",
    "folder_bytes",
    "num_rows",
    "part_files",
    "part_path",
    "read_table",
    "write_parquet_atomic",
]

RUN_FILE = "run.parquet"
FRAMES_FILE = "frames.parquet"
DECISIONS_FILE = "decisions.parquet"
# A part: `frames-000007.parquet` (one flush) or `frames-000001-000030.parquet` (a
# segment: flushes 1..30 merged by the recorder, which then removes those small parts).
_PART_RE = re.compile(r"^(frames|decisions)-(\d{6})(?:-(\d{6}))?\.parquet$")
# Columns whose values repeat: dictionary-encoded. Latents are not (they never repeat).
_DICTIONARY_COLUMNS = ["run_id", "action", "ev_risk", "game_profile", "encoder_id", "encoder_path"]


def write_parquet_atomic(table: pa.Table, path: Path) -> Path:
    """Write `table` as zstd Parquet: temp file in the same folder, fsync, rename."""
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(
            table,
            str(tmp),
            compression="zstd",
            use_dictionary=[c for c in _DICTIONARY_COLUMNS if c in table.column_names],
        )
    return path


def check_file(path: Path, kind: TableKind) -> None:
    """Check a file's footer and schema only (no data read); DataError names the file."""
    try:
        check_table(pq.read_schema(path), kind, path)
    except DataError:
        raise
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise DataError(f"{path} is not a readable Parquet file ({exc})") from exc


def read_table(path: Path, kind: TableKind, columns: list[str] | None = None) -> pa.Table:
    """Read and check one of our tables with pyarrow; DataError names the file if bad."""
    try:
        pf = pq.ParquetFile(path)
        check_table(pf.schema_arrow, kind, path)
        return pf.read(columns=columns)
    except DataError:
        raise
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise DataError(f"{path} is not a readable Parquet file ({exc})") from exc


def num_rows(path: Path) -> int | None:
    """Rows of a Parquet file from its footer; None when unreadable."""
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, pa.ArrowException, ValueError):
        return None


def part_files(run_dir: Path, kind: str) -> list[Path]:
    """`kind` parts and segments, in write order (a segment before the parts it covers)."""
    found = []
    for p in run_dir.iterdir():
        m = _PART_RE.match(p.name)
        if m and m.group(1) == kind:
            first = int(m.group(2))
            last = int(m.group(3)) if m.group(3) else first
            found.append((first, -last, p))
    return [p for *_, p in sorted(found)]


def part_path(run_dir: Path, kind: str, seq: int, last: int | None = None) -> Path:
    """The part of flush `seq`, or with `last` the segment of flushes seq..last."""
    if last is None:
        return run_dir / f"{kind}-{seq:06d}.parquet"
    return run_dir / f"{kind}-{seq:06d}-{last:06d}.parquet"


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
