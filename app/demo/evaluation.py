"""How well a Q-net's EV matches the truth, on held-out demo runs with a truth sidecar.

Metrics (over every looting decision of the held-out runs, where stay-or-extract is a
real choice):

- **ΔEV rank correlation**: Spearman's ρ between the predicted ΔEV and the true ΔEV.
  Predicted EVs are the means of the predicted quantiles (the expectation of the
  predicted distribution, comparable with the truth's Monte-Carlo mean; not the
  overlay's risk-profile quantile), in loot units; ρ, advice and EV error all use it.
- **Advice agreement**: the fraction of decisions where the sign of the predicted ΔEV
  picks the truly better action. Staying is truly better at most looting decisions, so
  the "always stay" baseline's agreement (the share where staying is truly better) is
  reported next to it, and so is the balanced agreement (the mean of the agreement on
  truly-stay and on truly-extract decisions; 50% for any constant advice).
- **Quantile calibration**, per τ_i and action: over independent outcome draws from each
  decision's state, the fraction of outcomes below the predicted quantile. Outcomes have
  an atom at 0 (death), so a quantile is right when
  P(Y < q) ≤ τ ≤ P(Y ≤ q); both fractions are reported (they differ only at atoms, with
  `tie_tol` of the value scale as "equal"), and the error at τ is τ's distance to that
  interval. The mean calibration error averages over τ and both actions.
- **EV error**: mean |EV_pred − EV_true| over both actions (what the shuffled and
  constant baselines are compared on as well).

`calibration_plot` (matplotlib, optional) draws the per-τ fractions against τ.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from numpy.typing import NDArray

from app.core.data import store
from app.core.data.dataset import load_run
from app.core.errors import DataError
from app.core.model.checkpoint import load_checkpoint
from app.core.model.dims import WINDOW
from app.core.model.ev import Adviser, Hysteresis
from app.core.model.qnet import TemporalQNet
from app.demo.advice import Raid, Table, adviser_says, policy_table, standard_policies
from app.demo.sim import TAUS

log = logging.getLogger(__name__)

TRUTH_FILE = "truth.parquet"
"""The truth sidecar in a held-out demo run's folder (written by `app.demo.pipeline`)."""
TIE_TOL = 0.01
"""Outcomes within this fraction of the value scale of a predicted quantile count as equal to it."""
_BATCH = 512  # windows per forward pass


@dataclass(frozen=True)
class HeldOut:
    """Every looting decision of the held-out runs with its truth. N decisions, K quantiles."""

    windows: NDArray[np.float32]
    """[N, L, D] latent windows"""
    ev_stay: NDArray[np.float64]
    """[N] true EV of staying"""
    ev_extract: NDArray[np.float64]
    """[N] true EV of extracting now"""
    delta: NDArray[np.float64]
    """[N] true ΔEV = ev_stay − ev_extract"""
    draws: NDArray[np.float64]
    """[N, A=2, d] independent outcome draws per action"""
    run_index: NDArray[np.int64]
    """[N] which held-out run"""
    encoder_id: str
    """the encoder of the runs' latents"""
    t_sec: NDArray[np.float64]
    """[N] run-clock time of the decision"""
    p_died_extract: NDArray[np.float64]
    """[N] true chance that extracting now still ends dead"""
    loot: NDArray[np.float64]
    """[N] loot carried at the decision (NaN in sidecars written before it was kept)"""
    run_value: NDArray[np.float64]
    """[R] each run's recorded outcome: loot banked, 0 when died"""
    run_died: NDArray[np.bool_]
    """[R] each run ended dead"""
    ev_stay_own: NDArray[np.float64]
    """[N] true EV of playing on as this run's own player does (the mixture's in older sidecars)"""


@dataclass(frozen=True)
class Prediction:
    """Predicted quantiles in loot units: q [N, A=2, K]."""

    q: NDArray[np.float64]

    @property
    def ev(self) -> NDArray[np.float64]:
        """[N, 2] mean of the quantiles per action."""
        return self.q.mean(axis=2)

    @property
    def delta(self) -> NDArray[np.float64]:
        ev = self.ev
        return ev[:, 0] - ev[:, 1]


@dataclass(frozen=True)
class Metrics:
    """The scores of one model on held-out decisions."""

    n_runs: int
    """held-out runs"""
    n_decisions: int
    """looting decisions scored"""
    spearman: float
    """rank correlation of predicted and true ΔEV"""
    agreement: float
    """fraction of decisions where the advice is the truly better action"""
    calibration_error: float
    """mean over τ and actions of τ's distance to [P(Y<q), P(Y≤q)]"""
    ev_mae: float
    """mean |EV_pred − EV_true| over both actions, loot units"""
    frac_below: tuple[tuple[float, ...], tuple[float, ...]]
    """per action (stay, extract), per τ: fraction of outcomes below the predicted quantile"""
    frac_at_or_below: tuple[tuple[float, ...], tuple[float, ...]]
    """per action, per τ: fraction of outcomes at or below it"""
    true_extract_share: float
    """fraction of decisions where extracting is truly better"""
    stay_baseline_agreement: float = float("nan")
    """agreement of the constant advice "always stay" (= 1 − true_extract_share)"""
    balanced_agreement: float = float("nan")
    """mean of the agreement on truly-stay and on truly-extract decisions (constant advice: 0.5)"""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"ΔEV rank correlation {self.spearman:.3f} · advice agreement {100 * self.agreement:.1f}% "
            f"(always stay {100 * self.stay_baseline_agreement:.1f}%, balanced "
            f"{100 * self.balanced_agreement:.1f}%) · "
            f"mean calibration error {self.calibration_error:.3f} · EV error {self.ev_mae:.1f} "
            f"({self.n_decisions} decisions in {self.n_runs} held-out runs; extract truly better at "
            f"{100 * self.true_extract_share:.0f}%)"
        )


# ---------------------------------------------------------------------------- math


def rankdata(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks 1..n, ties get their average rank (as scipy.stats.rankdata)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    # group equal values: start index of each run of ties
    boundaries = np.flatnonzero(np.diff(sorted_x)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(x)]])
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e + 1) / 2.0  # mean of ranks s+1 … e
    return ranks


def spearman(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Spearman's rank correlation; 0.0 when either side is constant. Needs ≥ 2 equal-length values."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"need two 1-D arrays of one length, got {a.shape} and {b.shape}")
    if len(a) < 2:
        raise ValueError("need at least 2 values for a rank correlation")
    ra, rb = rankdata(a), rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0


def _advice(
    pred_delta: NDArray[np.float64], true_delta: NDArray[np.float64]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(predicted stay?, truly stay?) per decision; stay iff ΔEV ≥ 0. Checks the inputs."""
    p = np.asarray(pred_delta) >= 0
    t = np.asarray(true_delta) >= 0
    if p.shape != t.shape:
        raise ValueError(f"shapes differ: {p.shape} vs {t.shape}")
    if p.size == 0:
        raise ValueError("no decisions to score")
    return p, t


def agreement(pred_delta: NDArray[np.float64], true_delta: NDArray[np.float64]) -> float:
    """Fraction where the predicted advice (stay iff ΔEV ≥ 0) is the truly better action."""
    p, t = _advice(pred_delta, true_delta)
    return float((p == t).mean())


def balanced_agreement(pred_delta: NDArray[np.float64], true_delta: NDArray[np.float64]) -> float:
    """Mean over the true best action (stay, extract) of the agreement on its decisions.

    A class with no decisions is left out; constant advice scores 0.5 when both occur.
    """
    p, t = _advice(pred_delta, true_delta)
    return float(np.mean([(p[t == c] == c).mean() for c in (True, False) if (t == c).any()]))


def calibration(
    q: NDArray[np.float64], draws: NDArray[np.float64], taus: NDArray[np.float64], tol: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Quantile calibration of one action.

    q: [N, K] predicted quantiles at `taus` [K]; draws: [N, d] outcomes from the same
    states. Returns (P(Y < q − tol) [K], P(Y ≤ q + tol) [K], error [K]) where error is
    τ's distance to the interval between the two.
    """
    q = np.asarray(q, dtype=np.float64)
    draws = np.asarray(draws, dtype=np.float64)
    if q.ndim != 2 or draws.ndim != 2 or q.shape[0] != draws.shape[0] or q.shape[1] != len(taus):
        raise ValueError(f"need q [N, K={len(taus)}] and draws [N, d], got {q.shape} and {draws.shape}")
    y = draws[:, None, :]  # (N, 1, d)
    qq = q[:, :, None]  # (N, K, 1)
    below = (y < qq - tol).mean(axis=(0, 2))  # (K,)
    at_or_below = (y <= qq + tol).mean(axis=(0, 2))  # (K,)
    err = np.maximum(0.0, np.maximum(below - taus, taus - at_or_below))
    return below, at_or_below, err


def score(pred: Prediction, data: HeldOut, value_scale: float) -> Metrics:
    """All metrics of `pred` against the truth in `data`."""
    taus = np.asarray(TAUS, dtype=np.float64)
    tol = TIE_TOL * value_scale
    lo, hi, errs = [], [], []
    for a in range(2):
        b, h, e = calibration(pred.q[:, a, :], data.draws[:, a, :], taus, tol)
        lo.append(tuple(float(v) for v in b))
        hi.append(tuple(float(v) for v in h))
        errs.append(e)
    ev = pred.ev
    ev_mae = float(np.mean(np.abs(ev[:, 0] - data.ev_stay)) + np.mean(np.abs(ev[:, 1] - data.ev_extract))) / 2
    return Metrics(
        n_runs=len(np.unique(data.run_index)),
        n_decisions=len(data.delta),
        spearman=spearman(pred.delta, data.delta),
        agreement=agreement(pred.delta, data.delta),
        calibration_error=float(np.mean(errs)),
        ev_mae=ev_mae,
        frac_below=(lo[0], lo[1]),
        frac_at_or_below=(hi[0], hi[1]),
        true_extract_share=float((data.delta < 0).mean()),
        stay_baseline_agreement=agreement(np.zeros_like(data.delta), data.delta),
        balanced_agreement=balanced_agreement(pred.delta, data.delta),
    )


# ---------------------------------------------------------------------------- data and model


def read_truth(run_dir: Path) -> dict[str, NDArray[np.float64]]:
    """The truth sidecar as numpy arrays: frame_idx [N], ev_*/delta [N], q_* [N, K], draws_* [N, d]."""
    path = Path(run_dir) / TRUTH_FILE
    if not path.is_file():
        raise DataError(f"run {Path(run_dir).name} has no {TRUTH_FILE} (not a held-out demo run)")
    t = pq.read_table(path)
    out: dict[str, NDArray[np.float64]] = {}
    for name in t.column_names:
        col = t.column(name).combine_chunks()
        if isinstance(col, pa.FixedSizeListArray):
            out[name] = col.flatten().to_numpy().reshape(len(col), col.type.list_size).astype(np.float64)
        else:
            out[name] = col.to_numpy().astype(np.float64)
    return out



def load_heldout(root: Path, window: int = WINDOW) -> HeldOut:
    """Every held-out run under `root` with a truth sidecar, as windows + truth."""
    wins, evs, eve, dl, dr, ri = [], [], [], [], [], []
    ts, pde, loot, own = [], [], [], []
    values: list[float] = []
    died: list[bool] = []
    encoders = set()
    runs = [r for r in store.list_runs(Path(root)) if not r.recording and r.outcome is not None]
    for info in runs:
        try:
            truth = read_truth(info.path)
        except DataError as exc:
            log.warning("%s", exc)
            continue
        f = truth["frame_idx"].astype(np.int64)
        if len(f) == 0:  # the raid ended before its first decision: no advice could change it
            continue
        run = load_run(info.path, info)
        encoders.add(run.encoder_id)
        if f.max() >= len(run.latents):
            raise DataError(f"run {info.run_id}: the truth refers to frames the run does not have")
        idx = run.window_rows(window, f)  # (N, L), as the dataset builds them
        wins.append(run.latents[idx].astype(np.float32))
        evs.append(truth["ev_stay"])
        eve.append(truth["ev_extract"])
        dl.append(truth["delta"])
        dr.append(np.stack([truth["draws_stay"], truth["draws_extract"]], axis=1))  # (N, 2, d)
        ri.append(np.full(len(f), len(values), dtype=np.int64))
        ts.append(f / float(info.fps))
        own.append(truth.get("ev_stay_own", truth["ev_stay"]))
        # older sidecars lack these: estimate from the outcome draws / leave unknown
        pde.append(truth["p_died_extract"] if "p_died_extract" in truth else (truth["draws_extract"] <= 0).mean(axis=1))
        loot.append(truth.get("loot", np.full(len(f), np.nan)))
        values.append(float(info.final_loot_value or 0.0))
        died.append(info.outcome == "died")
    if not wins:
        raise DataError(f"no held-out runs with truth under {root} (generate them with `arcx demo`)")
    if len(encoders) > 1:
        raise DataError(f"held-out runs of several encoders under {root}: {sorted(encoders)}")
    return HeldOut(
        np.concatenate(wins), np.concatenate(evs), np.concatenate(eve), np.concatenate(dl),
        np.concatenate(dr), np.concatenate(ri), encoders.pop(),
        np.concatenate(ts), np.concatenate(pde), np.concatenate(loot),
        np.array(values, dtype=np.float64), np.array(died, dtype=bool), np.concatenate(own),
    )


@torch.no_grad()
def predict(model: TemporalQNet, windows: NDArray[np.float32], value_scale: float) -> Prediction:
    """Quantiles [N, 2, K] in loot units for windows [N, L, D]."""
    model.eval()
    out = [
        model(torch.from_numpy(np.ascontiguousarray(windows[i : i + _BATCH]))).float().numpy()
        for i in range(0, len(windows), _BATCH)
    ]
    q = np.concatenate(out).astype(np.float64) * value_scale  # (N, A, K)
    return Prediction(np.sort(q, axis=2))  # quantiles may cross slightly; sort per action


def evaluate_dir(data: Path, model_path: Path, window: int | None = None) -> Metrics:
    """Load the held-out runs and the checkpoint, predict, score."""
    model, meta = load_checkpoint(Path(model_path))
    held = load_heldout(data, window or model.config.seq_len)
    if meta.encoder_id != held.encoder_id:
        raise DataError(
            f"the model was trained on encoder {meta.encoder_id}, the held-out runs use {held.encoder_id}"
        )
    return score(predict(model, held.windows, meta.value_scale), held, meta.value_scale)


def heldout_raids(held: HeldOut) -> list[Raid]:
    """The held-out decisions grouped per run, for scoring what the advice banks."""
    out = []
    for r in range(len(held.run_value)):
        m = held.run_index == r
        out.append(Raid(held.t_sec[m], held.ev_stay_own[m], held.ev_extract[m], held.p_died_extract[m],
                        held.loot[m], float(held.run_value[r]), bool(held.run_died[r])))
    return out


def per_run(pred: Prediction, held: HeldOut) -> list[NDArray[np.float64]]:
    """Predicted quantiles [n, 2, K] of each held-out run, in loot units."""
    return [pred.q[held.run_index == r] for r in range(len(held.run_value))]


def advice_table(
    held: HeldOut,
    pred: Prediction | None,
    *,
    hysteresis: Hysteresis,
    loot_threshold: float | None = None,
    extra: dict[str, Prediction] | None = None,
    note: str = "",
) -> Table:
    """The loot-per-raid table (`app.demo.advice`) of a model's predictions on `held`:
    the habit, the baselines, the fixed rule, each ArcX profile and the oracle. `extra`
    adds the neutral profile of other models (e.g. the simulator-assisted one)."""
    raids = heldout_raids(held)
    policies = standard_policies(
        raids, per_run(pred, held) if pred is not None else None,
        loot_threshold=loot_threshold, hysteresis=hysteresis,
    )
    for name, p in (extra or {}).items():
        policies[name] = adviser_says(raids, per_run(p, held), Adviser("neutral", hysteresis))
    return policy_table(raids, policies, note=note)


def evaluate_all(
    data: Path,
    model_path: Path,
    *,
    hysteresis: Hysteresis,
    loot_threshold: float | None = None,
    assisted_model: Path | None = None,
) -> tuple[Metrics, Table]:
    """`evaluate_dir`'s metrics and the loot-per-raid table of one model (plus, as one
    labelled row, the neutral advice of a simulator-assisted model)."""
    model, meta = load_checkpoint(Path(model_path))
    held = load_heldout(data, model.config.seq_len)
    if meta.encoder_id != held.encoder_id:
        raise DataError(
            f"the model was trained on encoder {meta.encoder_id}, the held-out runs use {held.encoder_id}"
        )
    pred = predict(model, held.windows, meta.value_scale)
    extra = {}
    if assisted_model is not None:
        amodel, ameta = load_checkpoint(Path(assisted_model))
        extra[ASSISTED_ROW] = predict(amodel, held.windows, ameta.value_scale)
    table = advice_table(held, pred, hysteresis=hysteresis, loot_threshold=loot_threshold, extra=extra,
                         note=f"hysteresis {hysteresis.hold_s:g} s / {100 * hysteresis.margin:.0f} %")
    return score(pred, held, meta.value_scale), table


ASSISTED_ROW = "simulator-assisted: ArcX neutral"
"""The row of a model trained with branch samples (counterfactuals no player can record)."""


def constant_prediction(q: NDArray[np.float64], n: int) -> Prediction:
    """The same quantiles [2, K] for every decision: the no-pixels baseline."""
    return Prediction(np.broadcast_to(np.asarray(q, dtype=np.float64), (n, *np.shape(q))).copy())


def calibration_plot(metrics: Metrics, path: Path) -> Path:
    """Save the per-τ calibration as a PNG (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise DataError("the calibration plot needs matplotlib (pip install matplotlib)") from exc
    taus = np.asarray(TAUS)
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="ideal")
    for a, (name, color) in enumerate((("stay", "tab:blue"), ("extract", "tab:orange"))):
        lo, hi = np.array(metrics.frac_below[a]), np.array(metrics.frac_at_or_below[a])
        ax.fill_between(taus, lo, hi, color=color, alpha=0.25)
        ax.plot(taus, (lo + hi) / 2, color=color, marker="o", ms=3, label=name)
    ax.set_xlabel("τ")
    ax.set_ylabel("fraction of outcomes below the predicted quantile")
    ax.set_title(f"calibration (mean error {metrics.calibration_error:.3f})")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
