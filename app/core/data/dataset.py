"""DecisionDataset: labelled runs → (window [L, D], action, target) per decision.

All frames of all runs sit in memory as one float16 array `frames` [F, D] (an hour of
play at 8 FPS with D=512 is 30 MB). Each decision's window is L row indices into it,
built once: L slots `FRAME_STEP_S` apart ending at the decision's newest frame, each the
latest recorded frame at its time (`ring.time_window_rows`, the live ring's own rule), so a
window spans 4 s of play whatever rate the engine captured at; left-padded by repeating
the run's first frame when the run is younger than the window (as the live ring pads).
Runs built in memory without frame times use the last L frames. A batch is one fancy-index `frames[window_index[batch]]`, so a
training step never reads files or loops in Python per item.

Loading (`from_root`) reads each labelled run's run and decisions tables with Polars
(lazy scans, only the columns used) and its frames with pyarrow, which turns the
float16 latent column into a numpy array without a copy per row. Unlabelled runs, and
runs still being recorded, are skipped. A corrupt or foreign file is skipped with a
warning naming it; the rest still loads. Runs of different encoders are never mixed:
that is a DataError, unless `encoder_id` picks one.

Actions come from the labelling rule (`schema.assign_actions`) applied to the run's
current label and mark; the target of every decision is the run's final loot value.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from app.core.data import store
from app.core.data.schema import assign_actions
from app.core.errors import DataError
from app.core.model.dims import WINDOW
from app.core.model.ring import time_window_rows

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class RunData:
    """One labelled run in memory."""

    run_id: str
    """the run's UUID"""
    encoder_id: str
    """encoder whose latents these are"""
    latents: np.ndarray
    """[F, D] float16, in frame order"""
    decision_rows: np.ndarray
    """[N] int64: row of `latents` holding each decision's newest frame"""
    actions: np.ndarray
    """[N] int8: 0 stay, 1 extract"""
    target: float
    """the run's final loot value: every decision's training target"""
    died: bool = False
    """the run ended dead (its last decision is followed by nothing: value 0)"""
    player: str = ""
    """who recorded it, for runs pooled from several players (`pool.py`); "" for one's own"""
    frame_t: np.ndarray | None = None
    """[F] float64 run-clock seconds of each frame (None: windows are the last L frames)"""

    def __post_init__(self) -> None:
        if self.latents.ndim != 2:
            raise ValueError(f"latents must be [F, D], got {list(self.latents.shape)}")
        n = len(self.decision_rows)
        if len(self.actions) != n:
            raise ValueError("decision_rows and actions must have the same length")
        if n and (self.decision_rows.min() < 0 or self.decision_rows.max() >= len(self.latents)):
            raise ValueError(f"run {self.run_id}: a decision refers to a frame it does not have")
        if self.frame_t is not None and len(self.frame_t) != len(self.latents):
            raise ValueError(f"run {self.run_id}: {len(self.frame_t)} frame times for {len(self.latents)} frames")

    def window_rows(self, window: int, newest: np.ndarray | None = None) -> np.ndarray:
        """[N, L] rows of `latents` the window ending at each `newest` row shows (default:
        each decision's; see the module docstring)."""
        rows = self.decision_rows if newest is None else np.asarray(newest, dtype=np.int64)
        if self.frame_t is None or not np.all(np.diff(self.frame_t) >= 0):
            return window_rows(rows, 0, window)
        return time_window_rows(self.frame_t, rows, 0, window)

    @property
    def n_decisions(self) -> int:
        return len(self.decision_rows)


def window_rows(newest: np.ndarray, start: np.ndarray | int, window: int) -> np.ndarray:
    """[N, L] row indices of the L frames ending at each `newest` row, left-padded by
    repeating row `start` (the run's first frame) as the live `LatentRing` pads."""
    newest = np.asarray(newest, dtype=np.int64)
    lags = np.arange(window - 1, -1, -1, dtype=np.int64)[None, :]  # (1, L): oldest first
    return np.maximum(newest[:, None] - lags, np.asarray(start, dtype=np.int64).reshape(-1, 1))


def _scan(path: Path, columns: list[str]) -> pl.DataFrame:
    try:
        return pl.scan_parquet(path).select(columns).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path} is not readable ({exc})") from exc


def load_run(run_dir: Path, info: store.RunInfo | None = None) -> RunData:
    """Read one labelled, ended run. Raises DataError naming the file that is bad."""
    run_dir = Path(run_dir)
    info = info or store.run_info(run_dir)
    if info.outcome is None or info.final_loot_value is None:
        raise DataError(f"run {info.run_id} is unlabelled")
    frames_path = run_dir / store.FRAMES_FILE
    decisions_path = run_dir / store.DECISIONS_FILE
    if not frames_path.exists() or not decisions_path.exists():
        raise DataError(f"run {info.run_id} has no frames or no decisions (empty run)")

    frames = store.read_table(frames_path, "frames", columns=["frame_idx", "t_sec", "latent"])
    frame_idx = frames.column("frame_idx").to_numpy()
    frame_t = frames.column("t_sec").to_numpy().astype(np.float64)
    dim = frames.schema.field("latent").type.list_size
    flat = frames.column("latent").combine_chunks()
    assert isinstance(flat, pa.FixedSizeListArray)
    latents = flat.flatten().to_numpy().reshape(len(frame_idx), dim)
    order = np.argsort(frame_idx, kind="stable")
    if not np.all(order == np.arange(len(order))):
        frame_idx, latents, frame_t = frame_idx[order], latents[order], frame_t[order]

    store.check_file(decisions_path, "decisions")
    dec = _scan(decisions_path, ["decision_idx", "t_sec", "frame_idx"]).sort("decision_idx")
    t_sec = dec["t_sec"].to_numpy()
    wanted = dec["frame_idx"].to_numpy().astype(np.int64)
    rows = np.searchsorted(frame_idx, wanted)
    rows = np.minimum(rows, len(frame_idx) - 1)
    ok = frame_idx[rows] == wanted
    if not ok.all():
        log.warning(
            "run %s: %d decisions refer to frames that are not on disk; they are left out",
            info.run_id, int((~ok).sum()),
        )
    actions = assign_actions(t_sec, info.extract_mark_t, info.outcome)
    return RunData(
        run_id=info.run_id,
        encoder_id=info.encoder_id,
        latents=np.ascontiguousarray(latents, dtype=np.float16),
        decision_rows=rows[ok].astype(np.int64),
        actions=actions[ok],
        target=float(info.final_loot_value),
        died=info.outcome == "died",
        frame_t=frame_t,
    )


def load_labelled(root: Path, *, encoder_id: str | None = None) -> list[RunData]:
    """Every labelled, ended run under `root`, in recording order (see the module
    docstring for what is skipped). Raises DataError when none is left, or when runs of
    several encoders are mixed and `encoder_id` picks none."""
    infos = store.list_runs(root)
    ended = [r for r in infos if not r.recording and r.ended_at is not None]
    labelled = [r for r in ended if r.outcome is not None]
    if len(labelled) < len(ended):
        log.info("%d unlabelled runs are kept but not trained on", len(ended) - len(labelled))
    if encoder_id is not None:
        others = [r for r in labelled if r.encoder_id != encoder_id]
        if others:
            log.info("%d labelled runs of other encoders are left out", len(others))
        labelled = [r for r in labelled if r.encoder_id == encoder_id]
    encoders = Counter(r.encoder_id for r in labelled)
    if len(encoders) > 1:
        raise DataError(_mixed_message(encoders, root))
    runs = []
    for info in labelled:
        try:
            runs.append(load_run(info.path, info))
        except DataError as exc:  # e.g. a raid that ended before its first decision
            log.warning("skipping run %s: %s", info.run_id, exc)
    if not runs:
        where = f" for encoder {encoder_id}" if encoder_id else ""
        raise DataError(f"no labelled runs{where} under {root} (label runs first)")
    return runs


class DecisionDataset:
    """Every decision of some runs, as (window float32 [L, D], action, target).

    Attributes (numpy, one row per decision unless said):
        frames        [F, D] float16, all runs' frames back to back
        window_index  [N, L] int64 rows of `frames`, oldest first
        actions       [N] int64 (0 stay, 1 extract)
        targets       [N] float32, loot units
        run_index     [N] int64, position of the decision's run in `run_ids`
    """

    def __init__(self, runs: Sequence[RunData], *, window: int = WINDOW) -> None:
        if window < 1:
            raise ValueError(f"window must be ≥ 1, got {window}")
        runs = [r for r in runs if r.n_decisions]
        if not runs:
            raise DataError("no labelled decisions to train on")
        encoders = Counter(r.encoder_id for r in runs)
        if len(encoders) > 1:
            raise DataError(_mixed_message(encoders))
        dims = {r.latents.shape[1] for r in runs}
        if len(dims) > 1:
            raise DataError(f"runs have latents of different sizes {sorted(dims)}")
        self.window = window
        self.encoder_id = runs[0].encoder_id
        self.latent_dim = int(runs[0].latents.shape[1])
        self.run_ids: list[str] = [r.run_id for r in runs]
        self.frames = np.concatenate([r.latents for r in runs]).astype(np.float16, copy=False)
        offsets = np.cumsum([0] + [len(r.latents) for r in runs[:-1]])
        self.window_index = np.concatenate(
            [r.window_rows(window) + off for r, off in zip(runs, offsets, strict=True)]
        )
        self.actions = np.concatenate([r.actions for r in runs]).astype(np.int64)
        self.targets = np.concatenate([np.full(r.n_decisions, r.target) for r in runs]).astype(np.float32)
        self.run_index = np.concatenate([np.full(r.n_decisions, i) for i, r in enumerate(runs)]).astype(np.int64)
        self.run_died = np.array([r.died for r in runs], dtype=bool)  # (R,) the run ended dead
        self.run_players: list[str] = [r.player for r in runs]  # (R,) who recorded each run
        # (N,) position of each recorded decision within its run (rows appended later, such as
        # the demo's branch samples, have none: they come after the first len(position) rows)
        self.position = np.concatenate([np.arange(r.n_decisions) for r in runs]).astype(np.int64)

    @classmethod
    def from_root(
        cls, root: Path, *, window: int = WINDOW, encoder_id: str | None = None
    ) -> DecisionDataset:
        """Load every labelled run under `root` (see the module docstring for what is skipped)."""
        return cls(load_labelled(root, encoder_id=encoder_id), window=window)

    # ------------------------------------------------------------------------- access

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def n_runs(self) -> int:
        return len(self.run_ids)

    def windows(self, indices: np.ndarray) -> np.ndarray:
        """[B, L, D] float32 windows of decisions `indices`."""
        return self.frames[self.window_index[np.asarray(indices)]].astype(np.float32)

    def frame_rows(self, indices: np.ndarray) -> np.ndarray:
        """Sorted rows of `frames` that the windows of decisions `indices` read."""
        return np.unique(self.window_index[np.asarray(indices)])

    def __getitem__(self, i: int) -> tuple[np.ndarray, int, float]:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self.windows(np.array([i]))[0], int(self.actions[i]), float(self.targets[i])

    def split_by_run(self, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(train, validation) decision indices; every run lands wholly on one side.

        At least one run is held out when there are two or more and val_fraction > 0;
        with a single run the validation side is empty.
        """
        val_mask = run_split_mask(self.n_runs, val_fraction, seed)[self.run_index]
        return np.flatnonzero(~val_mask), np.flatnonzero(val_mask)


def run_split_mask(n_runs: int, val_fraction: float, seed: int = 0) -> np.ndarray:
    """[R] bool: the runs `DecisionDataset.split_by_run` holds out, from the number of runs
    alone (so torchrun ranks that each hold some of the runs agree on it)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = 0 if n_runs < 2 or val_fraction == 0 else min(n_runs - 1, max(1, round(val_fraction * n_runs)))
    perm = np.random.default_rng(seed).permutation(n_runs)
    is_val = np.zeros(n_runs, dtype=bool)
    is_val[perm[:n_val]] = True
    return is_val


def _mixed_message(encoders: Counter[str], root: Path | None = None) -> str:
    parts = ", ".join(f"{e}: {n} runs" for e, n in encoders.most_common())
    where = f" under {root}" if root is not None else ""
    return (
        f"labelled runs{where} were recorded with {len(encoders)} different encoders ({parts}); "
        "their latents cannot be mixed. Train on one encoder's runs (arcx train --encoder-id ID)"
    )
