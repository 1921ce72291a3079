"""Monte-Carlo ground truth (app/demo/sim/truth.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.demo.sim import SimRaidSource
from app.demo.sim.autopilot import Autopilot, AutopilotConfig, AutopilotParams
from app.demo.sim.game import Game, GameState, Phase, SimConfig
from app.demo.sim.truth import N_QUANTILES, TAUS, evaluate, evaluate_many

SAFE = SimConfig(hazard_base=0.0, hazard_threat=0.0, hazard_enemy=0.0)
# A short raid keeps the scalar-versus-vectorised check fast.
SHORT = SimConfig(max_raid_s=45.0, threat_ramp_s=45.0, loot_decay_s=30.0)
SHORT_PILOT = AutopilotConfig(min_time_s=5.0, max_time_min_s=20.0, max_time_max_s=40.0)


def _state_at(config: SimConfig, seed: int, seconds: float) -> GameState:
    """A state of a raid still looting at `seconds` (played without hazard to get there)."""
    safe = replace(config, hazard_base=0.0, hazard_threat=0.0, hazard_enemy=0.0)
    game = Game(safe, seed=seed)
    while game.state.time_s < seconds:
        game.step("stay")
    return replace(game.state, config=config)


def test_taus_are_the_quantile_midpoints() -> None:
    assert TAUS.shape == (N_QUANTILES,) == (16,)
    assert TAUS[0] == 1 / 32 and TAUS[-1] == 31 / 32
    assert np.allclose(np.diff(TAUS), 1 / 16)


def test_result_shapes_and_order() -> None:
    t = evaluate(_state_at(SimConfig(), 0, 30.0), n=128, seed=0, keep_samples=True)
    assert t.q_stay.shape == t.q_extract.shape == (16,)
    assert np.all(np.diff(t.q_stay) >= 0) and np.all(np.diff(t.q_extract) >= 0)
    assert t.samples_stay is not None and t.samples_stay.shape == (128,)
    assert t.ev_stay == pytest.approx(t.samples_stay.mean())
    assert t.delta == pytest.approx(t.ev_stay - t.ev_extract)
    assert t.best == ("stay" if t.delta >= 0 else "extract")
    assert 0.0 <= t.p_died_stay <= 1.0 and t.se_delta > 0
    assert not t.q_stay.flags.writeable


def test_deterministic_for_a_seed() -> None:
    s = _state_at(SimConfig(), 1, 40.0)
    a, b = evaluate(s, n=64, seed=9), evaluate(s, n=64, seed=9)
    assert np.array_equal(a.q_stay, b.q_stay) and np.array_equal(a.q_extract, b.q_extract)
    assert a.delta == b.delta
    assert evaluate(s, n=64, seed=10).delta != a.delta


def test_without_hazard_extracting_is_worth_exactly_the_loot() -> None:
    s = _state_at(SAFE, 2, 40.0)
    assert s.loot > 0
    t = evaluate(s, n=64, seed=0)
    assert t.ev_extract == pytest.approx(s.loot)
    assert np.allclose(t.q_extract, s.loot) and t.p_died_extract == 0.0
    # Loot never shrinks and the autopilot leaves in time: staying cannot be worse.
    assert t.p_died_stay == 0.0 and t.ev_stay >= s.loot and t.best == "stay"


def test_certain_death_is_worth_nothing() -> None:
    s = replace(_state_at(SimConfig(), 0, 10.0), config=SimConfig(hazard_base=1e4), loot=300.0)
    t = evaluate(s, n=32, seed=0)
    assert t.ev_stay == t.ev_extract == 0.0 and np.all(t.q_stay == 0.0)
    assert t.p_died_stay == t.p_died_extract == 1.0


def test_finished_raid_is_worth_its_final_value() -> None:
    s = replace(_state_at(SimConfig(), 0, 10.0), phase=Phase.EXTRACTED, loot=321.0)
    t = evaluate(s, n=16, seed=0)
    assert t.ev_stay == t.ev_extract == 321.0 and t.delta == 0.0
    dead = evaluate(replace(s, phase=Phase.DEAD), n=16, seed=0)
    assert dead.ev_stay == dead.ev_extract == 0.0


def test_early_stay_is_better_and_late_danger_says_extract() -> None:
    start = Game(seed=0).state
    assert evaluate(start, n=256, seed=0).delta > 100.0  # nothing to lose, everything to find
    # A good haul under heavy threat, with a player greedy enough to stay on.
    late = replace(start, step=80 * 8, loot=900.0, threat=0.95, surge=0.3, enemies=5, heat=1.0)
    t = evaluate(late, n=256, seed=0)
    assert t.delta < -100.0 and t.best == "extract"
    # The same haul with the autopilot certain to leave at its next tick: nearly a tie.
    leaving = evaluate(replace(late, loot=5000.0), n=256, seed=0)
    assert abs(leaving.delta) < abs(t.delta)


@pytest.mark.parametrize("action", ["stay", "extract"])
def test_vectorised_rollouts_match_scalar_play(action: str) -> None:
    """The mean final value of scalar raids played on from a state matches the MC estimate."""
    state = _state_at(SHORT, 3, 15.0)
    params = AutopilotParams(threshold=0.8, max_time_s=21.0)
    t = evaluate(state, n=2000, seed=0, autopilot=SHORT_PILOT, policy=params, keep_samples=True)
    mc = t.samples_stay if action == "stay" else t.samples_extract
    assert mc is not None
    values = []
    for seed in range(150):
        game = Game(SHORT, seed=seed, state=state)
        pilot = Autopilot(SHORT_PILOT, seed=seed, params=params)
        game.step(action)  # type: ignore[arg-type]
        while not game.done:
            game.step(pilot(game.state))
        values.append(game.state.final_value)
    scalar = np.asarray(values, dtype=float)
    se = np.sqrt(scalar.var(ddof=1) / scalar.size + mc.var(ddof=1) / mc.size)
    assert se > 0
    assert abs(scalar.mean() - mc.mean()) < 4.0 * se
    assert abs(np.mean(scalar == 0) - np.mean(mc == 0)) < 0.15


def test_evaluate_many_matches_one_by_one_in_distribution_and_checks_inputs() -> None:
    states = [_state_at(SimConfig(), 4, s) for s in (20.0, 60.0)]
    many = evaluate_many(states, n=256, seed=1)
    assert len(many) == 2
    for s, t in zip(states, many, strict=True):
        one = evaluate(s, n=256, seed=2)
        assert abs(one.delta - t.delta) < 5.0 * np.hypot(one.se_delta, t.se_delta)
    small = evaluate_many(states, n=256, seed=1, max_rows=100)  # one state per batch
    assert len(small) == 2
    assert [t.delta for t in small] == [t.delta for t in evaluate_many(states, 256, 1, max_rows=100)]
    assert evaluate_many([], n=8) == []
    with pytest.raises(ValueError):
        evaluate(states[0], n=1)
    with pytest.raises(ValueError):
        evaluate_many([states[0], replace(states[1], config=SAFE)], n=8)


def test_source_truth_is_reproducible() -> None:
    src = SimRaidSource(seed=3, size=(64, 96))
    src.open()
    for _ in range(200):
        src.grab()
    a, b = src.truth(n=64), src.truth(n=64)
    assert a.delta == b.delta
    own = src.truth(n=64, own_policy=True)
    assert own.ev_extract == pytest.approx(a.ev_extract, rel=0.5)
