"""Schemas, the labelling rule and label validation (app/core/data/schema.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.core.data.schema import (
    DECISIONS_SCHEMA,
    EXTRACT,
    RUNS_SCHEMA,
    STAY,
    assign_actions,
    check_label,
    check_table,
    decisions_table,
    frames_schema,
    frames_table,
)
from app.core.errors import DataError


def test_frames_table_round_trips_through_plain_pyarrow(tmp_path):
    lat = np.array([[0.0, 1.5, -2.25], [3.0, 0.0, 65504.0]], dtype=np.float32)
    table = frames_table("r1", np.array([0, 1]), np.array([0.0, 0.125]), lat)
    pq.write_table(table, tmp_path / "f.parquet", compression="zstd")

    back = pq.read_table(tmp_path / "f.parquet")
    assert back.schema.field("latent").type == pa.list_(pa.float16(), 3)
    assert back.schema.metadata[b"arcx.table"] == b"frames"
    assert back.schema.metadata[b"arcx.schema_version"] == b"1"
    assert back.column("run_id").to_pylist() == ["r1", "r1"]
    assert back.column("frame_idx").to_pylist() == [0, 1]
    latents = back.column("latent").combine_chunks().flatten().to_numpy().reshape(2, 3)
    assert latents.dtype == np.float16
    np.testing.assert_array_equal(latents, lat.astype(np.float16))
    check_table(back.schema, "frames", "f.parquet")


def test_decisions_table_fills_missing_ev_with_nulls():
    table = decisions_table(
        "r1", {"decision_idx": [0], "t_sec": [0.5], "frame_idx": [3], "action": ["stay"]}
    )
    assert table.schema == DECISIONS_SCHEMA
    row = table.to_pylist()[0]
    assert row["ev_stay"] is None and row["ev_risk"] is None and row["action"] == "stay"


@pytest.mark.parametrize(
    ("mark", "outcome", "expected"),
    [
        (None, "extracted", [STAY, STAY, STAY, STAY]),  # no mark: the last frame may be the lobby
        (None, "died", [STAY, STAY, STAY, STAY]),
        (None, None, [STAY, STAY, STAY, STAY]),  # unlabelled
        (1.0, "extracted", [STAY, STAY, EXTRACT, EXTRACT]),  # at the mark counts as extract
        (1.2, "died", [STAY, STAY, STAY, EXTRACT]),  # died while extracting
        (9.0, "extracted", [STAY, STAY, STAY, STAY]),  # mark after the last decision
    ],
)
def test_assign_actions(mark, outcome, expected):
    t = np.array([0.0, 0.5, 1.0, 1.5])
    assert assign_actions(t, mark, outcome).tolist() == expected


def test_assign_actions_empty():
    assert assign_actions(np.array([]), None, "extracted").tolist() == []


def test_check_label_normalises():
    assert check_label("extracted", 12) == ("extracted", 12.0)
    assert check_label("died", None) == ("died", 0.0)
    assert check_label("died", 0) == ("died", 0.0)
    assert check_label(None, None) == (None, None)


@pytest.mark.parametrize(
    ("outcome", "value", "match"),
    [
        ("extracted", None, "needs its final loot value"),
        ("extracted", -1.0, "≥ 0"),
        ("extracted", float("nan"), "≥ 0"),
        ("died", 5.0, "loot value 0"),
        ("won", 1.0, "outcome must be one of"),
        (None, 3.0, "unlabelled run has no loot"),
    ],
)
def test_check_label_rejects(outcome, value, match):
    with pytest.raises(DataError, match=match):
        check_label(outcome, value)


def test_check_table_rejects_foreign_and_wrong_tables():
    with pytest.raises(DataError, match="foreign"):
        check_table(pa.schema([("x", pa.int32())]), "runs", "x.parquet")
    with pytest.raises(DataError, match="expected 'frames'"):
        check_table(RUNS_SCHEMA, "frames", "run.parquet")
    newer = RUNS_SCHEMA.with_metadata({b"arcx.table": b"runs", b"arcx.schema_version": b"99"})
    with pytest.raises(DataError, match="newer ArcX"):
        check_table(newer, "runs", "run.parquet")
    missing = pa.schema(list(RUNS_SCHEMA)[:-1], metadata=RUNS_SCHEMA.metadata)
    with pytest.raises(DataError, match="lacks the column 'app_version'"):
        check_table(missing, "runs", "run.parquet")
    wrong = pa.schema(
        [pa.field("latent", pa.list_(pa.float32(), 4)) if f.name == "latent" else f for f in frames_schema(4)],
        metadata=frames_schema(4).metadata,
    )
    with pytest.raises(DataError, match="column 'latent'"):
        check_table(wrong, "frames", "frames.parquet")


def test_frames_schema_rejects_bad_dim():
    with pytest.raises(ValueError, match="latent_dim"):
        frames_schema(0)
