"""A noisy, human-like policy for the simulated raid.

The autopilot decides at every decision tick (every `decision_every` frames, the 0.5 s
inference interval). It extracts when its "greed-versus-danger" score,
loot / loot_ref × (threat + enemy_weight · enemies / enemy_max), plus Gaussian noise
passes a threshold drawn once per run, or when its per-run time limit is reached, or when
the raid timer leaves barely enough time to walk out. Different runs therefore extract at
very different times, some too early and some too late, so recorded runs cover both
actions and the true best action changes sign within runs.

The rule is written over arrays (`wants_extract`) so that the Monte-Carlo ground truth
rolls out "stay" with exactly the same policy as the scalar `Autopilot`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.demo.sim.game import Action, GameState, Phase, RaidArrays, SimConfig


@dataclass(frozen=True)
class AutopilotConfig:
    """The distribution of autopilot behaviours (per-run parameters are drawn from it)."""

    decision_every: int = 4  # frames between decisions (4 at 8 FPS = the 0.5 s inference tick)
    loot_ref: float = 300.0  # loot that counts as "a good haul" in the score
    enemy_weight: float = 0.5  # weight of visible enemies (as a fraction of enemy_max) in the score
    threshold_min: float = 0.7  # per-run threshold on the score, log-uniform between min
    threshold_max: float = 6.0  # and max: cautious players leave early, greedy ones late
    noise_sd: float = 0.12  # Gaussian noise on the score at each decision
    max_time_min_s: float = 70.0  # per-run time after which the player leaves anyway, uniform
    max_time_max_s: float = 140.0  # between min and max
    min_time_s: float = 20.0  # never extract before this (the player just got in)
    timer_margin: float = 1.3  # leave when time left < margin × walk time + timer_buffer_s
    timer_buffer_s: float = 4.0  # seconds of slack in that rule

    def __post_init__(self) -> None:
        if self.decision_every < 1:
            raise ValueError(f"decision_every must be >= 1, got {self.decision_every}")
        if not 0 < self.threshold_min <= self.threshold_max:
            raise ValueError("need 0 < threshold_min <= threshold_max")
        if not 0 <= self.max_time_min_s <= self.max_time_max_s:
            raise ValueError("need 0 <= max_time_min_s <= max_time_max_s")
        if self.noise_sd < 0 or self.loot_ref <= 0:
            raise ValueError("noise_sd must be >= 0 and loot_ref positive")


@dataclass(frozen=True)
class AutopilotParams:
    """One run's draw of the autopilot's behaviour."""

    threshold: float  # score at which this player leaves
    max_time_s: float  # time at which this player leaves anyway


@dataclass
class PolicyArrays:
    """Per-row autopilot parameters for a batch of raids (see `RaidArrays`)."""

    threshold: NDArray[np.float64]
    max_time_s: NDArray[np.float64]

    def take(self, idx: NDArray[np.intp]) -> PolicyArrays:
        return PolicyArrays(self.threshold[idx], self.max_time_s[idx])


def draw_params(
    config: AutopilotConfig,
    rng: np.random.Generator,
    n: int,
    min_score: NDArray[np.float64] | float = 0.0,
    min_time_s: NDArray[np.float64] | float = 0.0,
) -> PolicyArrays:
    """Draw `n` per-run parameter sets from the prior.

    `min_score` and `min_time_s` truncate the prior: a player who is still looting at
    time t with score s has (up to the decision noise) a threshold above s and a time limit
    above t, so rollouts from a state of a run in progress draw from that conditional.
    """
    lo, hi = math.log(config.threshold_min), math.log(config.threshold_max)
    lo_s = np.clip(np.log(np.maximum(min_score, 1e-12)), lo, hi)
    threshold = np.exp(lo_s + (hi - lo_s) * rng.random(n))
    t_lo = np.clip(min_time_s, config.max_time_min_s, config.max_time_max_s)
    max_time = t_lo + (config.max_time_max_s - t_lo) * rng.random(n)
    return PolicyArrays(threshold=threshold, max_time_s=max_time)


def score(a: RaidArrays, config: AutopilotConfig, sim: SimConfig) -> NDArray[np.float64]:
    """The autopilot's greed-versus-danger score of each row (without noise)."""
    danger = a.threat + config.enemy_weight * a.enemies / max(sim.enemy_max, 1)
    return a.loot / config.loot_ref * danger


def wants_extract(
    a: RaidArrays,
    params: PolicyArrays,
    config: AutopilotConfig,
    sim: SimConfig,
    rng: np.random.Generator,
) -> NDArray[np.bool_]:
    """The autopilot's action for every row: True = extract now.

    Rows that are not looting, or not at a decision tick, get False. When any row decides,
    draws one normal per row from `rng` (whatever the rows' phases), so a batch is
    reproducible from its seed.
    """
    n = len(a)
    decide = ((a.step % config.decision_every) == 0) & (a.phase == Phase.LOOTING.value)  # (n,)
    if not decide.any():
        return decide
    noise = rng.standard_normal(n) * config.noise_sd
    t = a.step / sim.fps
    dx = a.extract_x - a.x
    dy = a.extract_y - a.y
    walk_s = np.sqrt(dx * dx + dy * dy) / sim.walk_speed
    time_left = sim.max_raid_s - t
    leave = (score(a, config, sim) + noise > params.threshold) & (t >= config.min_time_s)
    leave |= t >= params.max_time_s
    leave |= time_left < config.timer_margin * walk_s + config.timer_buffer_s
    return leave & decide


class Autopilot:
    """The policy for one run: parameters drawn once from `seed`, noise from the same stream.

    Deterministic given the seed and the sequence of states it is shown.
    """

    def __init__(
        self,
        config: AutopilotConfig | None = None,
        seed: int | np.random.Generator = 0,
        params: AutopilotParams | None = None,
    ) -> None:
        self.config = config if config is not None else AutopilotConfig()
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if params is None:
            p = draw_params(self.config, self.rng, 1)
            params = AutopilotParams(float(p.threshold[0]), float(p.max_time_s[0]))
        self.params = params

    def arrays(self, n: int) -> PolicyArrays:
        """This run's parameters repeated over `n` rows."""
        return PolicyArrays(
            threshold=np.full(n, self.params.threshold),
            max_time_s=np.full(n, self.params.max_time_s),
        )

    def __call__(self, state: GameState) -> Action:
        """The action for `state`: "extract" or "stay"."""
        if state.step % self.config.decision_every or state.phase != Phase.LOOTING:
            return "stay"  # as `wants_extract` would say, without building arrays
        a = RaidArrays.from_states([state])
        go = wants_extract(a, self.arrays(1), self.config, state.config, self.rng)
        return "extract" if bool(go[0]) else "stay"
