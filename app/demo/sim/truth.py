"""Monte-Carlo ground truth of the simulated raid: the real value distribution of each action.

From a state, "extract" starts the walk out now; "stay" keeps looting for this step and
then plays on with the autopilot (the policy that recorded the runs), which extracts when
its rule says so. Each action is rolled out `n` times to the end of the raid with the
vectorised dynamics of `game.py` (all rollouts of all requested states in one array batch),
and the final values give the quantiles at τ_i = (2i+1)/2K, the EVs and ΔEV.

The stay rollouts draw the autopilot's per-run parameters from its prior, truncated to
what a player still looting here can have (threshold above the current score, time limit
after the current time): that is the policy mixture the recorded data come from, as far
as the state shows it. Pass `policy` to roll out one run's own parameters instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.core.model.dims import NUM_QUANTILES as N_QUANTILES  # K, as in the Q-network head
from app.core.model.ev import quantile_midpoints
from app.demo.sim.autopilot import (
    AutopilotConfig,
    AutopilotParams,
    PolicyArrays,
    draw_params,
    score,
    wants_extract,
)
from app.demo.sim.game import Action, GameState, RaidArrays, SimConfig, step_arrays

# (K,) quantile levels τ_i = (2i+1)/2K, the midpoints the Q-network's quantiles estimate
TAUS: NDArray[np.float64] = quantile_midpoints(N_QUANTILES)
TAUS.setflags(write=False)

_COMPACT_FRACTION = 0.25  # drop finished rows once this fraction of the batch has finished
MAX_ROWS = 1 << 17  # rollouts stepped together at most (about 15 MB of state)


@dataclass(frozen=True, eq=False)
class Truth:
    """The true value distributions of staying and extracting from one state.

    Arrays are read-only. `samples_*` are None unless asked for.
    """

    taus: NDArray[np.float64]  # (K,) quantile levels (2i+1)/2K
    q_stay: NDArray[np.float64]  # (K,) quantiles of the final value under "stay"
    q_extract: NDArray[np.float64]  # (K,) quantiles of the final value under "extract"
    ev_stay: float  # mean final value under "stay"
    ev_extract: float  # mean final value under "extract"
    delta: float  # ev_stay - ev_extract
    se_delta: float  # Monte-Carlo standard error of delta
    p_died_stay: float  # fraction of "stay" rollouts that end with nothing
    p_died_extract: float  # fraction of "extract" rollouts that end with nothing
    n: int  # rollouts per action
    samples_stay: NDArray[np.float64] | None = None  # (n,) final values, if kept
    samples_extract: NDArray[np.float64] | None = None  # (n,)

    @property
    def best(self) -> Action:
        """The action with the higher expected value (ties go to "stay")."""
        return "stay" if self.delta >= 0 else "extract"


def _frozen(x: NDArray[np.float64]) -> NDArray[np.float64]:
    x.setflags(write=False)
    return x


def _summarise(stay: NDArray[np.float64], ext: NDArray[np.float64], keep: bool) -> Truth:
    n = stay.shape[0]
    ev_s, ev_e = float(stay.mean()), float(ext.mean())
    var = (stay.var(ddof=1) + ext.var(ddof=1)) / n if n > 1 else float("nan")
    return Truth(
        taus=TAUS,
        q_stay=_frozen(np.quantile(stay, TAUS)),
        q_extract=_frozen(np.quantile(ext, TAUS)),
        ev_stay=ev_s,
        ev_extract=ev_e,
        delta=ev_s - ev_e,
        se_delta=float(math.sqrt(var)),
        p_died_stay=float(np.mean(stay <= 0.0)),
        p_died_extract=float(np.mean(ext <= 0.0)),
        n=n,
        samples_stay=_frozen(stay.copy()) if keep else None,
        samples_extract=_frozen(ext.copy()) if keep else None,
    )


def rollout(
    a: RaidArrays,
    first_extract: NDArray[np.bool_],
    params: PolicyArrays,
    sim: SimConfig,
    autopilot: AutopilotConfig,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Play every row to the end of its raid and return its final value, shape (n,).

    The first step takes `first_extract`; later steps take the autopilot's action with
    the row's `params`. `a` is consumed (modified in place or dropped).
    """
    n = len(a)
    values = np.zeros(n)
    rows = np.arange(n)  # original row of each current row
    extract = first_extract
    finished_since_compact = 0
    while len(a):
        before = int(np.count_nonzero(a.active()))
        step_arrays(a, extract, sim, rng)
        active = a.active()
        finished_since_compact += before - int(np.count_nonzero(active))
        if not active.any() or finished_since_compact > _COMPACT_FRACTION * len(a):
            done = ~active
            values[rows[done]] = a.final_values()[done]
            keep = np.flatnonzero(active)
            a, params, rows = a.take(keep), params.take(keep), rows[keep]
            finished_since_compact = 0
            if not len(a):
                break
        extract = wants_extract(a, params, autopilot, sim, rng)
    return values


def evaluate_many(
    states: Sequence[GameState],
    n: int = 512,
    seed: int = 0,
    autopilot: AutopilotConfig | None = None,
    policy: AutopilotParams | None = None,
    keep_samples: bool = False,
    max_rows: int = MAX_ROWS,
) -> list[Truth]:
    """Ground truth for each of `states`, rolled out together (n rollouts per action each).

    States go in batches of at most `max_rows` rollouts (at least one state per batch),
    which bounds memory. Deterministic for given arguments. States may be finished (both
    actions then give the final value) or extracting (both walk on).
    """
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    if not states:
        return []
    sim = states[0].config
    if any(s.config != sim for s in states):
        raise ValueError("all states must share one SimConfig")
    ap = autopilot if autopilot is not None else AutopilotConfig()
    rng = np.random.default_rng(seed)
    per_batch = max(1, max_rows // (2 * n))
    out: list[Truth] = []
    for i in range(0, len(states), per_batch):
        batch = list(states[i : i + per_batch])
        m = len(batch)
        a = RaidArrays.from_states(batch, repeats=2 * n)  # (m·2n,): per state n stay, n extract
        first_extract = np.tile(np.repeat([False, True], n), m)
        if policy is None:
            params = draw_params(ap, rng, len(a), min_score=score(a, ap, sim), min_time_s=a.step / sim.fps)
        else:
            params = PolicyArrays(np.full(len(a), policy.threshold), np.full(len(a), policy.max_time_s))
        values = rollout(a, first_extract, params, sim, ap, rng).reshape(m, 2, n)  # (m, action, n)
        out.extend(_summarise(v[0], v[1], keep_samples) for v in values)
    return out


def evaluate(
    state: GameState,
    n: int = 512,
    seed: int = 0,
    autopilot: AutopilotConfig | None = None,
    policy: AutopilotParams | None = None,
    keep_samples: bool = False,
) -> Truth:
    """Ground truth for one state (see `evaluate_many`)."""
    return evaluate_many([state], n, seed, autopilot, policy, keep_samples)[0]
