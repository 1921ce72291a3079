"""Is the new model any good? A verdict in plain words, from the player's own held-out runs.

What a player records has no ground truth about the right moment to leave, only what
happened: each decision's action and the run's final value. So the verdict scores what
the model predicts against that, on the validation runs the trainer held out (the model
never trained on them):

    loss      the mean quantile (pinball) loss of the taken action's predicted quantiles
              against the run's final value, in loot units (lower is better)
    baseline  the same loss for a constant predictor: for each action, the quantiles of
              the training runs' final values. It knows nothing about the screen, so its
              advice never changes (always stay, or always extract): the trivial policy
    previous  the model the new one replaced, on the same held-out decisions (it may have
              trained on some of them, which flatters it)

    skill = 1 − loss / baseline loss     (0: no better than constant numbers)

`judge` turns those numbers and the run counts into a `Verdict`; `score_checkpoints`
computes them from the files; `verdict_for` redoes the trainer's split for a finished
`TrainResult`. Plain numpy; torch loads only to run a checkpoint (`predict_quantiles`); no Qt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from app.core.data.dataset import DecisionDataset
from app.core.data.pool import is_pool, load_pool, player_mask
from app.core.errors import ArcXError
from app.core.training.types import TrainConfig, TrainResult

log = logging.getLogger(__name__)

Level = Literal["good", "weak", "useless", "untested"]

MIN_VAL_RUNS = 3
"""fewer held-out runs than this and a score says little: the verdict says "too few runs" """
RECOMMENDED_RUNS = 30
"""labelled runs at which the verdict stops asking for more (benchmarks/learning.py: the
default Q-net's gain over the player's habit is clear at 30–50 recorded raids)"""
GOOD_SKILL = 0.05
"""skill at or above this (5 % lower loss than constant numbers) is "better than guessing" """
EVAL_BATCH = 512
"""decisions per forward pass when scoring"""


@dataclass(frozen=True)
class Verdict:
    """The new model's quality, in numbers and in words."""

    level: Level
    """good (clearly better than constant numbers), weak (barely better, or too few runs to
    tell), useless (no better than constant numbers), untested (no held-out runs)"""
    headline: str
    """one plain sentence for the dialog's title line and the CLI"""
    lines: tuple[str, ...]
    """the details, one sentence each"""
    new_loss: float | None
    """the new model's held-out loss, loot units (None when untested)"""
    baseline_loss: float | None
    """the constant predictor's held-out loss"""
    previous_loss: float | None
    """the replaced model's held-out loss (None without one, or when it could not be read)"""
    n_train_runs: int
    n_val_runs: int
    runs_needed: int
    """how many more labelled runs would help (0: enough for now)"""

    @property
    def skill(self) -> float | None:
        """1 − loss / baseline loss; None when untested."""
        if self.new_loss is None or not self.baseline_loss:
            return None
        return 1.0 - self.new_loss / self.baseline_loss

    @property
    def warn(self) -> bool:
        """the player should not trust this model's advice (yet)"""
        return self.level != "good"

    def text(self) -> str:
        """headline and details, one per line (what `arcx train` prints)"""
        return "\n".join((self.headline, *(f"  {line}" for line in self.lines)))


def pinball_loss(quantiles: np.ndarray, targets: np.ndarray, taus: np.ndarray) -> float:
    """Mean quantile (pinball) loss: quantiles [N, K], targets [N], taus [K].

    ρ_τ(u) = u · (τ − 1[u < 0]) with u = target − quantile, averaged over N and K.
    """
    quantiles, targets, taus = np.asarray(quantiles), np.asarray(targets), np.asarray(taus)
    if quantiles.ndim != 2:
        raise ValueError(f"quantiles must be [N, K], got shape {quantiles.shape}")
    N, K = quantiles.shape
    if targets.shape != (N,):
        raise ValueError(f"targets must be [N]=[{N}], got shape {targets.shape}")
    if taus.shape != (K,):
        raise ValueError(f"taus must be [K]=[{K}], got shape {taus.shape}")
    if N == 0:
        raise ValueError("no decisions to score")
    u = targets[:, None] - quantiles  # (N, K)
    return float(np.mean(u * (taus[None, :] - (u < 0))))


def midpoints(k: int) -> np.ndarray:
    """The K quantile levels the Q-net predicts: (2i + 1) / 2K."""
    return (np.arange(k) + 0.5) / k


def constant_quantiles(actions: np.ndarray, targets: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """[A=2, K] quantiles of the final values, per action taken (both actions' values where
    an action was never taken): the constant predictor."""
    actions, targets = np.asarray(actions), np.asarray(targets)
    if len(targets) == 0:
        raise ValueError("no training decisions for the constant predictor")
    out = np.empty((2, len(taus)))
    for a in (0, 1):
        values = targets[actions == a]
        out[a] = np.quantile(values if len(values) else targets, taus)
    return out


def judge(
    new_loss: float | None,
    baseline_loss: float | None,
    previous_loss: float | None,
    *,
    n_train_runs: int,
    n_val_runs: int,
    unit: str = "loot",
) -> Verdict:
    """The verdict for these held-out losses (loot units) and run counts."""
    n_runs = n_train_runs + n_val_runs
    runs_needed = max(0, RECOMMENDED_RUNS - n_runs)
    more = (
        f"Record and label about {runs_needed} more runs, then train again." if runs_needed else ""
    )
    counts = f"Trained on {n_train_runs} runs, tested on {n_val_runs} held-out runs."
    if new_loss is None or baseline_loss is None or n_val_runs == 0:
        lines = [counts, "No run was held out, so nothing shows whether its advice is any good."]
        return Verdict(
            "untested",
            "Not checked: too few runs to test the new model. Do not trust its advice yet.",
            tuple(line for line in (*lines, more or _more_default()) if line),
            new_loss,
            baseline_loss,
            previous_loss,
            n_train_runs,
            n_val_runs,
            max(runs_needed, 1),
        )
    skill = 1.0 - new_loss / baseline_loss if baseline_loss > 0 else 0.0
    pct = abs(skill) * 100
    compare = (
        f"On your held-out runs its predictions miss the final value by {new_loss:,.0f} {unit} "
        f"(a score, lower is better); constant numbers miss by {baseline_loss:,.0f}."
    )
    lines = [counts, compare]
    if previous_loss is not None:
        if new_loss < previous_loss:
            lines.append(f"Better than the previous model ({previous_loss:,.0f}).")
        else:
            lines.append(
                f"Not better than the previous model ({previous_loss:,.0f}): you can roll back."
            )
    few = n_val_runs < MIN_VAL_RUNS
    if skill <= 0:
        level: Level = "useless"
        headline = (
            "No better than guessing: this model predicts no better than constant numbers, "
            "so its advice would be the same at every moment. Do not rely on it."
        )
    elif skill < GOOD_SKILL or few:
        level = "weak"
        why = "too few held-out runs to be sure" if few else "only a little"
        headline = (
            f"Barely better than guessing ({pct:.0f} % better, {why}). Treat its advice as a hint."
        )
    else:
        level = "good"
        headline = (
            f"Better than guessing: {pct:.0f} % better than constant numbers on runs it never saw."
        )
    if more:
        lines.append(more)
    return Verdict(
        level,
        headline,
        tuple(lines),
        new_loss,
        baseline_loss,
        previous_loss,
        n_train_runs,
        n_val_runs,
        runs_needed,
    )


def _more_default() -> str:
    return "Record and label a few more runs, then train again."


def predict_quantiles(path: Path, ds: DecisionDataset, idx: np.ndarray) -> np.ndarray:
    """[N, A, K] quantiles in loot units of decisions `idx`, from the checkpoint at `path`."""
    import torch  # here, not at import: the widgets import this module and must not load torch

    from app.core.model.checkpoint import load_checkpoint

    model, meta = load_checkpoint(path, expected_encoder_id=ds.encoder_id)
    out = []
    with torch.no_grad():
        for start in range(0, len(idx), EVAL_BATCH):
            z = torch.from_numpy(ds.windows(idx[start : start + EVAL_BATCH]))  # (B, L, D)
            out.append(model(z).float().numpy() * meta.value_scale)  # (B, A, K) loot units
    return np.concatenate(out) if out else np.zeros((0, 2, meta.config.num_quantiles))


def _taken(q: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """q [N, A, K], actions [N] → [N, K] the taken action's quantiles."""
    return q[np.arange(len(actions)), actions]


def score_checkpoints(
    new_path: Path,
    ds: DecisionDataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    previous_path: Path | None = None,
    *,
    unit: str = "loot",
) -> Verdict:
    """Score the model at `new_path` (and `previous_path`) on decisions `val_idx` of `ds`,
    against constant numbers fitted on `train_idx`."""
    n_train_runs = len(set(ds.run_index[train_idx].tolist()))
    n_val_runs = len(set(ds.run_index[val_idx].tolist()))
    if len(val_idx) == 0:
        return judge(None, None, None, n_train_runs=n_train_runs, n_val_runs=0, unit=unit)
    actions, targets = ds.actions[val_idx], ds.targets[val_idx].astype(np.float64)
    q_new = predict_quantiles(new_path, ds, val_idx)  # (N, A, K)
    taus = midpoints(q_new.shape[2])
    new_loss = pinball_loss(_taken(q_new, actions), targets, taus)
    const = constant_quantiles(ds.actions[train_idx], ds.targets[train_idx], taus)  # (A, K)
    base_loss = pinball_loss(const[actions], targets, taus)
    prev_loss = None
    if previous_path is not None and Path(previous_path).exists():
        try:
            q_prev = predict_quantiles(Path(previous_path), ds, val_idx)
            if q_prev.shape[2] == q_new.shape[2]:
                prev_loss = pinball_loss(_taken(q_prev, actions), targets, taus)
        except (ArcXError, OSError, ValueError, RuntimeError) as exc:
            log.info("the previous model could not be scored: %s", exc)
    return judge(
        new_loss, base_loss, prev_loss, n_train_runs=n_train_runs, n_val_runs=n_val_runs, unit=unit
    )


def verdict_for(
    data: Path | DecisionDataset, result: TrainResult, config: TrainConfig, *, unit: str = "loot"
) -> Verdict:
    """The verdict for the model a `Trainer` (with `config`) just fitted on `data` (a runs
    folder, a pool or a dataset), scored on the same held-out runs: the trainer's split,
    by run with `config.val_fraction` and `config.seed`, or the runs of `val_players`."""
    if result.checkpoint_path is None:
        raise ArcXError("training was cancelled: there is no new model to judge")
    if isinstance(data, DecisionDataset):
        ds = data
    elif is_pool(Path(data)):
        ds = load_pool([Path(data)], window=config.window, encoder_id=result.encoder_id)
    else:
        ds = DecisionDataset.from_root(
            Path(data), window=config.window, encoder_id=result.encoder_id
        )
    if config.val_players:
        is_val = player_mask(ds.run_players, list(config.val_players))[ds.run_index]
        train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    else:
        train_idx, val_idx = ds.split_by_run(config.val_fraction, config.seed)
    return score_checkpoints(
        result.checkpoint_path, ds, train_idx, val_idx, result.previous_path, unit=unit
    )
