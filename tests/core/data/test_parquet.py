"""Parquet I/O of the runs folder (app/core/data/parquet.py)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from app.core.data.parquet import (
    check_file,
    folder_bytes,
    num_rows,
    part_files,
    part_path,
    read_table,
    write_parquet_atomic,
)
from app.core.data.schema import DECISIONS_SCHEMA
from app.core.errors import DataError


def test_atomic_zstd_write_reads_back_checked(tmp_path):
    path = write_parquet_atomic(DECISIONS_SCHEMA.empty_table(), tmp_path / "decisions.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["decisions.parquet"]  # no temp file left
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert read_table(path, "decisions").schema.names == DECISIONS_SCHEMA.names
    check_file(path, "decisions")
    assert num_rows(path) == 0 and folder_bytes(tmp_path) == path.stat().st_size
    with pytest.raises(DataError, match="decisions.parquet"):
        read_table(path, "runs")  # the wrong table kind


def test_an_unreadable_file_is_a_data_error_naming_it(tmp_path):
    bad = tmp_path / "frames.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="frames.parquet is not a readable Parquet file"):
        read_table(bad, "frames")
    with pytest.raises(DataError, match="frames.parquet"):
        check_file(bad, "frames")
    assert num_rows(bad) is None


def test_parts_in_write_order_a_segment_before_its_parts(tmp_path):
    names = [part_path(tmp_path, "frames", 2), part_path(tmp_path, "frames", 1, 3),
             part_path(tmp_path, "frames", 1), part_path(tmp_path, "decisions", 1)]
    for p in names:
        p.touch()
    (tmp_path / "frames-7.parquet").touch()  # not a part name
    assert [p.name for p in part_files(tmp_path, "frames")] == [
        "frames-000001-000003.parquet", "frames-000001.parquet", "frames-000002.parquet",
    ]
    assert [p.name for p in part_files(tmp_path, "decisions")] == ["decisions-000001.parquet"]
