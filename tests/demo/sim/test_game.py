"""The simulated raid: dynamics (app/demo/sim/game.py), autopilot and SimRaidSource."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from app.core.capture.base import FrameSource
from app.demo.sim import SimRaidSource
from app.demo.sim.autopilot import Autopilot, AutopilotConfig, AutopilotParams
from app.demo.sim.game import Game, GameState, Phase, RaidArrays, SimConfig, step_arrays

SAFE = SimConfig(hazard_base=0.0, hazard_threat=0.0, hazard_enemy=0.0)  # nobody dies of hazard
DEADLY = SimConfig(hazard_base=1e4)  # everybody dies at the first step


def _play(game: Game, actions: dict[int, str] | None = None) -> list[GameState]:
    """Step until the raid ends; `actions` maps step → action (default "stay")."""
    actions = actions or {}
    states = [game.state]
    while not game.done:
        states.append(game.step(actions.get(game.state.step, "stay")))  # type: ignore[arg-type]
    return states


# -- config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"fps": 0},
        {"max_raid_s": 0.0},
        {"start_distance_min": 60.0, "start_distance_max": 50.0},
        {"start_distance_max": 200.0},
        {"walk_speed": 0.0},
        {"hazard_base": -0.1},
        {"event_surge_min": 0.6, "event_surge_max": 0.5},
        {"heat_min": 1.5, "heat_max": 1.0},
        {"enemy_stay_s": 0.0},
        {"cache_max": -1},
        {"event_rate": -0.1},
        {"cache_rate": 100.0},
    ],
)
def test_config_rejects_bad_values(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SimConfig(**bad)  # type: ignore[arg-type]


def test_config_derived_values() -> None:
    c = SimConfig()
    assert c.fps == 8 and c.dt == 0.125
    assert c.max_steps == round(c.max_raid_s * 8)
    assert float(c.base_threat(0.0, 1.0)) == pytest.approx(c.threat_start)
    assert float(c.base_threat(c.threat_ramp_s, 1.0)) == pytest.approx(1.0)
    assert float(c.base_threat(c.threat_ramp_s, 0.5)) == pytest.approx(
        c.threat_start + 0.5 * (1 - c.threat_start)
    )


# -- dynamics --------------------------------------------------------------------------


def test_same_seed_same_raid_and_other_seed_differs() -> None:
    a = _play(Game(seed=7))
    b = _play(Game(seed=7))
    c = _play(Game(seed=8))
    assert a == b
    assert a != c


def test_fresh_raid() -> None:
    s = Game(seed=3).state
    assert s.step == 0 and s.phase == Phase.LOOTING and s.loot == 0.0
    assert s.enemies == 0 and s.caches == 0 and s.outcome is None and s.final_value is None
    c = s.config
    assert c.start_distance_min <= s.distance <= c.start_distance_max
    assert c.heat_min <= s.heat <= c.heat_max
    assert s.threat == pytest.approx(c.threat_start)


def test_without_hazard_extracting_banks_the_loot_after_a_walk_proportional_to_distance() -> None:
    for seed in range(5):
        game = Game(SAFE, seed=seed)
        states = _play(game, {200: "extract"})
        at_decision = states[200]
        end = states[-1]
        assert end.outcome == "extracted"
        assert end.final_value == pytest.approx(at_decision.loot)  # nothing looted on the way
        assert end.extract_step == 200
        step_len = SAFE.walk_speed / SAFE.fps
        assert end.step - 200 == math.ceil(at_decision.distance / step_len)
        assert end.distance == 0.0


def test_without_hazard_staying_forever_ends_missing_in_action() -> None:
    end = _play(Game(SAFE, seed=1))[-1]
    assert end.step == SAFE.max_steps
    assert end.outcome == "died" and end.final_value == 0.0
    assert end.loot > 0  # the carried loot is still shown, but it is lost


def test_dying_loses_the_loot() -> None:
    start = replace(Game(DEADLY, seed=0).state, loot=500.0)
    game = Game(DEADLY, seed=0, state=start)
    end = game.step("stay")
    assert end.phase == Phase.DEAD and end.outcome == "died"
    assert end.final_value == 0.0 and end.loot == 500.0
    assert game.step("extract") == end  # a finished raid stays put


def test_no_going_back_once_extracting() -> None:
    game = Game(SAFE, seed=2)
    for _ in range(40):
        game.step("stay")
    game.step("extract")
    loot = game.state.loot
    assert game.state.phase == Phase.EXTRACTING
    while not game.done:
        s = game.step("stay")
        assert s.phase in (Phase.EXTRACTING, Phase.EXTRACTED)
        assert s.loot == loot


def test_state_stays_in_range_and_loot_only_grows() -> None:
    c = SimConfig()
    for seed in range(10):
        states = _play(Game(c, seed=seed))
        loot = [s.loot for s in states]
        assert all(b >= a for a, b in zip(loot[:-1], loot[1:], strict=True))
        assert all(0.0 <= s.threat <= 1.0 for s in states)
        assert all(0 <= s.enemies <= c.enemy_max for s in states)
        assert all(0 <= s.caches <= c.cache_max for s in states)
        assert all(s.distance <= c.max_distance + c.wander_speed for s in states)
        assert [s.step for s in states] == list(range(len(states)))


def test_threat_rises_and_brings_enemies() -> None:
    """Averaged over raids, threat and enemies climb with time and loot comes in."""
    c = SimConfig(hazard_base=0.0, hazard_threat=0.0, hazard_enemy=0.0)
    early, late = [], []
    for seed in range(20):
        states = _play(Game(c, seed=seed))
        early.append((states[80].threat, states[80].enemies))
        late.append((states[800].threat, states[800].enemies))
        assert states[800].loot > states[80].loot
    e, la = np.mean(early, axis=0), np.mean(late, axis=0)
    assert la[0] > e[0] + 0.2 and la[1] > e[1] + 1.0


def test_without_events_threat_is_the_base_climb() -> None:
    c = SimConfig(event_rate=0.0)
    for s in _play(Game(c, seed=6))[1:]:
        assert s.surge == 0.0
        assert s.threat == pytest.approx(float(c.base_threat(s.time_s, s.heat)))


def test_hazard_known_values() -> None:
    c = SimConfig()
    s = replace(Game(c, seed=0).state, threat=0.5, enemies=2, loot=c.hazard_loot_scale)
    expected = (c.hazard_base + c.hazard_threat * 0.25 + c.hazard_enemy * 2) * 2.0
    assert s.hazard == pytest.approx(expected)
    walking = replace(s, phase=Phase.EXTRACTING)
    assert walking.hazard == pytest.approx(expected * c.extract_hazard_factor)


def test_copy_has_the_same_future_and_is_independent() -> None:
    game = Game(seed=4)
    for _ in range(50):
        game.step()
    twin = game.copy()
    a = [game.step() for _ in range(100)]
    b = [twin.step() for _ in range(100)]
    assert a == b


def test_rejects_bad_actions_and_shapes() -> None:
    game = Game(seed=0)
    with pytest.raises(ValueError):
        game.step("run")  # type: ignore[arg-type]
    a = RaidArrays.from_states([game.state], repeats=3)
    with pytest.raises(ValueError):
        step_arrays(a, np.zeros(2, dtype=bool), game.config, np.random.default_rng(0))
    with pytest.raises(ValueError):
        RaidArrays.from_states([game.state], repeats=0)


def test_arrays_round_trip_a_state() -> None:
    game = Game(seed=5)
    for k in range(30):
        game.step("extract" if k == 20 else "stay")
    s = game.state
    assert RaidArrays.from_states([s], repeats=2).state(1, s.config) == s


# -- autopilot -------------------------------------------------------------------------


def test_autopilot_is_deterministic_and_varies_between_runs() -> None:
    def extract_time(seed: int) -> float | None:
        game, pilot = Game(SAFE, seed=seed), Autopilot(seed=seed)
        while not game.done:
            game.step(pilot(game.state))
        return game.state.extract_step

    assert extract_time(3) == extract_time(3)
    times = {extract_time(seed) for seed in range(12)}
    assert None not in times  # without hazard the autopilot always gets out
    assert len(times) > 6


def test_autopilot_decides_only_on_ticks_and_respects_its_limits() -> None:
    cfg = AutopilotConfig()
    pilot = Autopilot(cfg, seed=0, params=AutopilotParams(threshold=1e9, max_time_s=30.0))
    game = Game(SAFE, seed=0)
    while not game.done:
        action = pilot(game.state)
        if action == "extract":
            assert game.state.step % cfg.decision_every == 0
        game.step(action)
    assert game.state.extract_step == 30 * SAFE.fps  # the time limit, at the first tick
    with pytest.raises(ValueError):
        AutopilotConfig(decision_every=0)


# -- frame source ----------------------------------------------------------------------


def test_source_serves_a_whole_raid() -> None:
    src = SimRaidSource(seed=11)
    assert isinstance(src, FrameSource) and src.name == "sim"
    with pytest.raises(RuntimeError):
        src.grab()
    src.open()
    frames = []
    while (frame := src.grab()) is not None:
        frames.append(frame)
    assert src.finished and src.done
    assert len(frames) == src.state.step + 1
    assert frames[0].shape == (225, 400, 3) and frames[0].dtype == np.uint8
    assert frames[-1].flags.c_contiguous
    assert src.outcome in ("extracted", "died")
    if src.outcome == "extracted":
        assert src.final_value == src.state.loot > 0
        assert src.extract_step is not None
        assert src.extract_time_s == pytest.approx(src.extract_step / 8)
    else:
        assert src.final_value == 0.0
    assert src.grab() is None
    src.close()
    src.close()  # safe twice


def test_source_is_reproducible() -> None:
    def run(seed: int) -> tuple[int, str | None, bytes]:
        src = SimRaidSource(seed=seed, size=(64, 96))
        src.open()
        last = b""
        while (frame := src.grab()) is not None:
            last = frame.tobytes()
        return src.state.step, src.outcome, last

    assert run(5) == run(5)


def test_source_external_actions() -> None:
    src = SimRaidSource(seed=2, config=SAFE, policy=lambda s: "stay")
    src.open()
    for _ in range(10):
        assert src.grab() is not None
    src.request_extract()
    while src.grab() is not None:
        pass
    assert src.extract_step == 9 and src.extract_time_s == pytest.approx(9 / 8)
    assert src.outcome == "extracted"
    src.open()  # restarts the same raid
    assert src.state.step == 0 and src.outcome is None
    src.close()
    assert src.grab() is None
