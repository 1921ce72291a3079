"""A recorded run as a timeline: the EV of staying and of extracting over time, where the
advice said EXTRACT, the player's extraction mark and the outcome. No Qt: the runs view
draws it (`app.ui.timeline`), tests read it.

The advice drawn is the one the recorded numbers imply at neutral (extract where EV
extract > EV stay); the overlay's own advice also had the risk profile and the hysteresis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.data.parquet import DECISIONS_FILE, part_files, read_table
from app.core.data.recorder import RunInfo

COLUMNS = ["t_sec", "ev_stay", "ev_extract"]


@dataclass(frozen=True)
class Timeline:
    """One run's decisions over time (arrays of one row per decision, sorted by time)."""

    t: np.ndarray
    """(N,) seconds since the run started"""
    ev_stay: np.ndarray
    """(N,) EV of staying shown at that decision, NaN where there was none (no model)"""
    ev_extract: np.ndarray
    """(N,) EV of extracting, NaN where there was none"""
    mark_t: float | None
    """when the player marked extracting (s), None if never"""
    outcome: str | None
    """extracted, died, or None (unlabelled)"""
    final_value: float | None
    """what the player took home"""
    duration_s: float
    """the run's length (s)"""

    def __post_init__(self) -> None:
        n = len(self.t)
        if self.ev_stay.shape != (n,) or self.ev_extract.shape != (n,):
            raise ValueError(
                f"t, ev_stay and ev_extract must all be [N]=[{n}], got "
                f"{self.ev_stay.shape} and {self.ev_extract.shape}"
            )

    @property
    def has_ev(self) -> bool:
        return bool(np.isfinite(self.ev_stay).any())

    @property
    def extract_advised(self) -> np.ndarray:
        """(N,) bool: the numbers said extract (EV extract > EV stay)"""
        with np.errstate(invalid="ignore"):
            return np.asarray(self.ev_extract > self.ev_stay)

    @property
    def first_extract_t(self) -> float | None:
        """when the numbers first said extract (s), None if never"""
        idx = np.flatnonzero(self.extract_advised)
        return float(self.t[idx[0]]) if len(idx) else None

    def summary(self) -> str:
        """One sentence: when the advice said extract, when the player left, how it ended."""
        if not self.has_ev:
            return "No advice was shown in this run (no model yet): only the outcome is known."
        first = self.first_extract_t
        parts = [
            f"the advice said EXTRACT first at {clock(first)}"
            if first is not None
            else "the advice never said EXTRACT"
        ]
        parts.append(
            f"you marked extracting at {clock(self.mark_t)}"
            if self.mark_t is not None
            else "you never marked extracting"
        )
        if self.outcome == "died":
            parts.append("and died")
        elif self.outcome == "extracted" and self.final_value is not None:
            parts.append(f"and took home {self.final_value:,.0f}")
        text = ", ".join(parts[:-1]) + " " + parts[-1] if len(parts) > 2 else " and ".join(parts)
        return text[0].upper() + text[1:] + "."


def clock(seconds: float | None) -> str:
    """m:ss"""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}"


def load_timeline(info: RunInfo) -> Timeline:
    """The timeline of the run `info` describes (its compacted decisions, else its parts)."""
    run_dir = Path(info.path)
    final = run_dir / DECISIONS_FILE
    sources = [final] if final.exists() else part_files(run_dir, "decisions")
    tables = [read_table(p, "decisions", columns=COLUMNS) for p in sources]
    if tables:
        cols = {
            c: np.concatenate([t.column(c).to_numpy(zero_copy_only=False) for t in tables])
            for c in COLUMNS
        }
    else:
        cols = {c: np.zeros(0) for c in COLUMNS}
    order = np.argsort(cols["t_sec"], kind="stable")

    def floats(name: str) -> np.ndarray:
        a = np.asarray(cols[name], dtype=object)[order]
        return np.array([np.nan if v is None else float(v) for v in a], dtype=np.float64)

    t = floats("t_sec")
    duration = info.duration_s if info.duration_s is not None else (float(t[-1]) if len(t) else 0.0)
    return Timeline(
        t=t,
        ev_stay=floats("ev_stay"),
        ev_extract=floats("ev_extract"),
        mark_t=info.extract_mark_t,
        outcome=info.outcome,
        final_value=info.final_loot_value,
        duration_s=float(duration),
    )
