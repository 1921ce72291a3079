"""Versioned Arrow schemas of the recorded data, and the labelling rule.

One folder per run holds three Parquet (zstd) tables:

    run.parquet        one row: who/when/which encoder, and the label once given
    frames.parquet     one row per captured frame: its latent, stored once, in float16
    decisions.parquet  one row per inference tick (0.5 s): newest frame, action, shown EV

While a run is being recorded the frames and decisions arrive as small numbered parts
(`frames-000001.parquet`, …) that `recorder.py` compacts into one file per table when
the run ends (Parquet cannot be appended to).

Every table carries `arcx.table` and `arcx.schema_version` in its Arrow schema metadata;
`check_table` uses them to tell our files from foreign ones and newer formats from
older. Columns may only be added in a later version, never renamed or retyped.

A decision's **action** follows one rule (`assign_actions`): `stay` before the extract
mark, `extract` from the mark on; with no mark every decision is `stay` (the moment of
leaving is unknown, and the last frames of a run are often the lobby or the summary
screen, which must not teach what extracting is worth). Its training **target** is the
run's final loot value (0 when the player died).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from app.core.errors import DataError

SCHEMA_VERSION = 1
"""Version written into every table; readers accept this and older."""

TableKind = Literal["runs", "frames", "decisions"]
Outcome = Literal["extracted", "died"]
OUTCOMES: tuple[str, ...] = ("extracted", "died")
ACTIONS: tuple[str, str] = ("stay", "extract")  # index = action id, as in app.core.model.ev
STAY, EXTRACT = 0, 1
MAX_LOOT_VALUE = 1e9
"""The largest loot value a label may carry. Raid loot is in the thousands to millions;
1e308 passed every check and made the training loss non-finite."""

_TABLE_KEY = b"arcx.table"
_VERSION_KEY = b"arcx.schema_version"
_LATENT_DIM_KEY = b"arcx.latent_dim"


def _meta(kind: TableKind, extra: dict[bytes, bytes] | None = None) -> dict[bytes, bytes]:
    return {_TABLE_KEY: kind.encode(), _VERSION_KEY: str(SCHEMA_VERSION).encode(), **(extra or {})}


RUNS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),  # UUID4 text
        pa.field("started_at", pa.timestamp("us", tz="UTC"), nullable=False),  # wall clock
        pa.field("ended_at", pa.timestamp("us", tz="UTC")),  # null while recording
        pa.field("duration_s", pa.float64()),  # seconds on the run clock; null while recording
        pa.field("game_profile", pa.string(), nullable=False),  # free text: map / game
        pa.field("encoder_id", pa.string(), nullable=False),  # hash of the encoder's weights
        pa.field("encoder_path", pa.string(), nullable=False),  # encoder implementation (fp32, …)
        pa.field("fps", pa.float64(), nullable=False),  # capture frame rate
        pa.field("latent_dim", pa.int32()),  # D; null until the first frame
        pa.field("outcome", pa.string()),  # "extracted" | "died" | null (unlabelled)
        pa.field("final_loot_value", pa.float64()),  # loot banked; 0 when died; null unlabelled
        pa.field("extract_mark_t", pa.float64()),  # run-clock seconds of the extract mark
        pa.field("recovered", pa.bool_(), nullable=False),  # ended by crash recovery
        pa.field("app_version", pa.string(), nullable=False),  # ArcX version that recorded it
    ],
    metadata=_meta("runs"),
)

DECISIONS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("decision_idx", pa.int32(), nullable=False),  # 0, 1, 2, … within the run
        pa.field("t_sec", pa.float64(), nullable=False),  # run-clock seconds
        pa.field("frame_idx", pa.int32(), nullable=False),  # newest frame in the window
        pa.field("action", pa.string(), nullable=False),  # "stay" | "extract" (assign_actions)
        # What the overlay showed (null when no model was loaded), in loot units (EVs are means):
        pa.field("ev_stay", pa.float32()),
        pa.field("ev_extract", pa.float32()),
        pa.field("ev_tau", pa.float32()),  # the profile's quantile level; null since profiles are risk measures
        pa.field("ev_risk", pa.string()),  # "safe" | "neutral" | "aggressive" | "custom"
        pa.field("ev_stay_p10", pa.float32()),
        pa.field("ev_stay_p90", pa.float32()),
        pa.field("ev_extract_p10", pa.float32()),
        pa.field("ev_extract_p90", pa.float32()),
        pa.field("ev_warming", pa.bool_()),  # the window was not yet full
    ],
    metadata=_meta("decisions"),
)

EV_COLUMNS: tuple[str, ...] = tuple(n for n in DECISIONS_SCHEMA.names if n.startswith("ev_"))


def frames_schema(latent_dim: int) -> pa.Schema:
    """frames: run_id, frame_idx, t_sec, latent (fixed-size list of float16, length D)."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be ≥ 1, got {latent_dim}")
    return pa.schema(
        [
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("frame_idx", pa.int32(), nullable=False),  # 0, 1, 2, … within the run
            pa.field("t_sec", pa.float64(), nullable=False),  # run-clock seconds
            pa.field("latent", pa.list_(pa.float16(), latent_dim), nullable=False),
        ],
        metadata=_meta("frames", {_LATENT_DIM_KEY: str(latent_dim).encode()}),
    )


def schema_for(kind: TableKind, latent_dim: int | None = None) -> pa.Schema:
    if kind == "runs":
        return RUNS_SCHEMA
    if kind == "decisions":
        return DECISIONS_SCHEMA
    if latent_dim is None:
        raise ValueError("the frames schema needs latent_dim")
    return frames_schema(latent_dim)


def latent_dim_of(schema: pa.Schema) -> int:
    """D of a frames schema (from its latent column type)."""
    t = schema.field("latent").type
    if not pa.types.is_fixed_size_list(t):
        raise DataError(f"latent column is {t}, not a fixed-size list")
    return int(t.list_size)


def check_table(table_schema: pa.Schema, kind: TableKind, name: str | Path) -> None:
    """Raise DataError unless `table_schema` is an ArcX `kind` table this version can read.

    Checks the `arcx.table` tag, the version, and that every column of the current schema
    is present with its type (extra columns from a newer minor writer are tolerated).
    """
    meta = table_schema.metadata or {}
    tag = meta.get(_TABLE_KEY)
    if tag is None:
        raise DataError(f"{name} is not an ArcX table (no arcx.table tag): foreign file")
    if tag.decode() != kind:
        raise DataError(f"{name} is an ArcX '{tag.decode()}' table, expected '{kind}'")
    try:
        version = int(meta.get(_VERSION_KEY, b"0"))
    except ValueError:
        raise DataError(f"{name} has an unreadable schema version") from None
    if version > SCHEMA_VERSION:
        raise DataError(
            f"{name} was written by a newer ArcX (schema {version}; this one reads ≤ {SCHEMA_VERSION})"
        )
    expected = (
        frames_schema(latent_dim_of(table_schema)) if kind == "frames" else schema_for(kind)
    )
    for field in expected:
        if field.name not in table_schema.names:
            raise DataError(f"{name} lacks the column '{field.name}'")
        got = table_schema.field(field.name).type
        if got != field.type:
            raise DataError(f"{name}: column '{field.name}' is {got}, expected {field.type}")


# ------------------------------------------------------------------------ table builders


def frames_table(
    run_id: str, frame_idx: np.ndarray, t_sec: np.ndarray, latents: np.ndarray
) -> pa.Table:
    """Build a frames table. latents: [N, D] (any float dtype; stored as float16)."""
    lat = np.ascontiguousarray(latents, dtype=np.float16)
    if lat.ndim != 2:
        raise ValueError(f"latents must be [N, D], got {list(lat.shape)}")
    n, d = lat.shape
    if len(frame_idx) != n or len(t_sec) != n:
        raise ValueError("frame_idx, t_sec and latents must have the same length")
    schema = frames_schema(d)
    latent = pa.FixedSizeListArray.from_arrays(pa.array(lat.reshape(-1), pa.float16()), d)
    return pa.table(
        [
            pa.array([run_id] * n, pa.string()),
            pa.array(np.asarray(frame_idx, dtype=np.int32)),
            pa.array(np.asarray(t_sec, dtype=np.float64)),
            latent,
        ],
        schema=schema,
    )


def decisions_table(run_id: str, columns: Mapping[str, Sequence[object] | np.ndarray]) -> pa.Table:
    """Build a decisions table from column lists; missing EV columns become nulls."""
    n = len(columns["decision_idx"])
    arrays = []
    for field in DECISIONS_SCHEMA:
        if field.name == "run_id":
            arrays.append(pa.array([run_id] * n, pa.string()))
            continue
        values = columns.get(field.name)
        arrays.append(pa.nulls(n, field.type) if values is None else pa.array(values, field.type))
    return pa.table(arrays, schema=DECISIONS_SCHEMA)


# ----------------------------------------------------------------------------- labels


def assign_actions(
    t_sec: np.ndarray, extract_mark_t: float | None, outcome: str | None
) -> np.ndarray:
    """Action per decision (STAY=0 / EXTRACT=1), int8 [N]; decisions in time order.

    `stay` before the extract mark, `extract` at and after it. Without a mark, `stay`
    throughout, whatever the outcome: labelling the last decision `extract` (the rule
    before) put an extract label on the run's last frame, often a lobby or summary screen.
    `outcome` is kept for callers; the rule no longer depends on it.
    """
    t = np.asarray(t_sec, dtype=np.float64)
    actions = np.zeros(len(t), dtype=np.int8)
    if extract_mark_t is not None:
        actions[t >= extract_mark_t] = EXTRACT
    return actions


def check_label(outcome: str | None, final_loot_value: float | None) -> tuple[str | None, float | None]:
    """Validate an (outcome, loot) pair; returns the normalised pair. Raises DataError.

    extracted: loot must be a finite number in [0, MAX_LOOT_VALUE]. died: loot is 0 (None or 0 accepted).
    None: unlabelled (loot must be None too).
    """
    if outcome is None:
        if final_loot_value is not None:
            raise DataError("an unlabelled run has no loot value")
        return None, None
    if outcome not in OUTCOMES:
        raise DataError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    if outcome == "died":
        if final_loot_value not in (None, 0, 0.0):
            raise DataError(f"a run that ended in death has loot value 0, not {final_loot_value}")
        return "died", 0.0
    if final_loot_value is None:
        raise DataError("an extracted run needs its final loot value")
    value = float(final_loot_value)
    if not np.isfinite(value) or not 0 <= value <= MAX_LOOT_VALUE:
        raise DataError(
            f"the final loot value must be a number ≥ 0 and ≤ {MAX_LOOT_VALUE:g}, not {final_loot_value}"
        )
    return "extracted", value
