"""Training targets for "stay" that look one decision ahead: Q-learning for optimal stopping.

The seed's rule gives every decision the run's final value as its target. That teaches
"stay" the value of playing on *as the player did*, and leaves "extract" unsupervised at
every looting state (it extrapolates from the few frames after the mark). Here, from
what a player records (the windows, the extract mark, the outcome):

- **extract** decisions (at and after the mark) keep the final value: what walking out
  from there banked (0 if the walk out died);
- a **stay** decision followed by another looting decision of the same run gets, as its
  target distribution, the quantiles of the better action at the next decision (by mean)
  from a frozen copy of the model (the target network): the continue value of optimal
  stopping, V(s') = max(Q_stay(s'), Q_extract(s')). Looting goes on the same way whoever
  decides when to stop, so the recorded looting transitions are the right ones;
- a stay decision followed by the player's mark gets the next decision's *extract*
  quantiles: the player stopped there, and nothing was recorded about staying on
  (pessimism where the data ends);
- the last decision of a run that died while looting gets 0: staying there died.

Targets mix the bootstrap with the recorded final value: weight λ on the Monte-Carlo
return, 1 − λ on the K bootstrapped quantiles (a λ-return of one step), which keeps the
first epochs, when the target network knows nothing yet, anchored to real outcomes.

`extract_bounds` gives one more dense label: in an extracted run the loot carried never
exceeds what was banked, so the value of extracting at any of its looting decisions is at
most the run's final value (the trainer penalises extract means above it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.data.dataset import DecisionDataset

MC, BEST_NEXT, EXTRACT_NEXT, DIED = 0, 1, 2, 3
"""How a decision's target is made (see the module docstring)."""


@dataclass(frozen=True)
class Transitions:
    """For each decision of a dataset: how its target is made and from which decision."""

    kind: NDArray[np.int8]
    """[N] MC, BEST_NEXT, EXTRACT_NEXT or DIED"""
    next_idx: NDArray[np.int64]
    """[N] the next decision of the same run (−1 where there is none)"""


def transitions(ds: DecisionDataset) -> Transitions:
    """The one-step structure of every recorded decision of `ds` (later rows: MC)."""
    n = len(ds)
    kind = np.full(n, MC, dtype=np.int8)
    nxt = np.full(n, -1, dtype=np.int64)
    m = len(ds.position)  # recorded decisions come first, in run order
    pos, run, act = ds.position, ds.run_index[:m], ds.actions[:m]
    same_next = np.zeros(m, dtype=bool)
    same_next[:-1] = (run[1:] == run[:-1]) & (pos[1:] == pos[:-1] + 1)
    stay = act == 0
    has_next = stay & same_next
    idx = np.flatnonzero(has_next)
    nxt[idx] = idx + 1
    kind[idx] = np.where(act[idx + 1] == 0, BEST_NEXT, EXTRACT_NEXT)
    last = stay & ~same_next  # a stay with nothing after it: the run ended while looting
    kind[np.flatnonzero(last & ds.run_died[run])] = DIED
    # an extracted run ending on a stay (no mark, a decision dropped): keep its MC target
    return Transitions(kind, nxt)


def mixed_targets(
    ds: DecisionDataset,
    tr: Transitions,
    q_next: NDArray[np.float32] | None,
    scale: float,
    lam: float,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(targets [N, K+1], weights [N, K+1]) in scaled units.

    q_next: [N, 2, K] the target network's quantiles at every decision (scaled), or None
    before there is one (then every target is the recorded final value). Column K is the
    final value; columns 0..K−1 the bootstrapped quantiles. Weights of a row sum to 1.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"λ must be in [0, 1], got {lam}")
    n = len(ds)
    final = (ds.targets / np.float32(scale)).astype(np.float32)
    if q_next is None:
        y = np.repeat(final[:, None], 2, axis=1)
        w = np.zeros((n, 2), np.float32)
        w[:, -1] = 1.0
        return y, w
    if q_next.ndim != 3 or q_next.shape[0] != n or q_next.shape[1] != 2:
        raise ValueError(f"q_next must be [N={n}, 2, K], got {list(q_next.shape)}")
    k = q_next.shape[2]
    y = np.zeros((n, k + 1), np.float32)
    w = np.zeros((n, k + 1), np.float32)
    y[:, k] = final
    w[:, k] = 1.0  # MC rows (extract decisions and anything without a next decision)
    boot = np.flatnonzero((tr.kind == BEST_NEXT) | (tr.kind == EXTRACT_NEXT))
    if boot.size:
        q = np.sort(q_next[tr.next_idx[boot]], axis=-1)  # (b, 2, K) at the next decision
        better = np.where(q[:, 1].mean(axis=1) > q[:, 0].mean(axis=1), 1, 0)
        take = np.where(tr.kind[boot] == EXTRACT_NEXT, 1, better)
        y[boot, :k] = q[np.arange(len(boot)), take]
        w[boot, :k] = (1.0 - lam) / k
        w[boot, k] = lam
    died = np.flatnonzero(tr.kind == DIED)
    y[died] = 0.0  # staying there died: every sample 0, whatever the label says
    return y, w


def extract_bounds(ds: DecisionDataset, scale: float) -> NDArray[np.float32]:
    """[N] upper bound of the extract value (scaled) at each decision: the final value at
    the looting decisions of extracted runs, +inf elsewhere."""
    m = len(ds.position)
    bound = np.full(len(ds), np.inf, dtype=np.float32)
    looting = ds.actions[:m] == 0
    extracted = ~ds.run_died[ds.run_index[:m]]
    rows = np.flatnonzero(looting & extracted)
    bound[rows] = ds.targets[rows] / np.float32(scale)
    return bound
