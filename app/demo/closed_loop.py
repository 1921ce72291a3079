"""Follow the advice live in the simulator: the closed loop, with common random numbers.

Each raid (one seed) is played once by the autopilot (the player's habit) as a frame
source of the **real engine**: every frame is rendered, preprocessed, encoded into the
ring, and every 0.5 s of game time the engine's Q-net and `Adviser` give the advice the
overlay would show. The moment a policy first says EXTRACT, the raid is **forked**: a copy
of the game (its random generator included) walks out from that exact state, so every
policy meets the same raid and the same dice up to the moment it leaves (common random
numbers), and the habit's own raid goes on unchanged. Policies:

- the habit: the raid as the autopilot plays it;
- each ArcX profile: its own `Adviser` over the tick's predicted quantiles (the engine's
  own adviser is the neutral one, checked against it at every tick);
- the loot rule: leaves once the HUD's loot reaches a threshold;
- optionally the oracle: Monte-Carlo greedy from the hidden state (`truth.evaluate_many`
  over the raid's ticks, in one batch after the raid).

What a fork banks is its realised outcome (not an expectation), so the closed loop also
catches anything the recorded-path score (`app.demo.advice`) would miss about timing.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from app.core.capture.preprocess import Preprocessor
from app.core.engine import Engine, EngineConfig
from app.core.model.ev import RISK_ORDER, Adviser, Hysteresis
from app.core.model.fast import EncoderBackend
from app.demo.advice import HABIT, ORACLE, Table, outcome_table
from app.demo.pipeline import GenConfig
from app.demo.sim import GameState, Phase, SimRaidSource
from app.demo.sim.game import Game
from app.demo.sim.truth import evaluate_many


class _GameClock:
    """The engine's clock and timer: game time, 1/fps per frame (no wall time involved)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Outcomes:
    """Realised value and death per policy, one entry per raid."""

    value: dict[str, list[float]] = field(default_factory=dict)
    died: dict[str, list[bool]] = field(default_factory=dict)

    def add(self, name: str, value: float, died: bool) -> None:
        self.value.setdefault(name, []).append(value)
        self.died.setdefault(name, []).append(died)


def _walk_out(game: Game) -> tuple[float, bool]:
    """Extract now on a copy of `game` and play it to the end: (banked, died)."""
    fork = copy.deepcopy(game)
    fork.step("extract")
    while not fork.done:
        fork.step("stay")
    return float(fork.state.final_value or 0.0), fork.state.outcome == "died"


def play_raid(
    seed: int,
    engine_factory: Callable[[SimRaidSource], Engine],
    cfg: GenConfig,
    *,
    hysteresis: Hysteresis,
    loot_threshold: float | None = None,
    oracle_rollouts: int = 0,
    extra: Mapping[str, tuple[str | float, Hysteresis]] | None = None,
) -> dict[str, tuple[float, bool]]:
    """One raid in closed loop: {policy: (banked, died)}. Rows "ArcX <profile>" for each
    profile with `hysteresis`; `extra` adds {row: (profile, hysteresis)} (e.g. none)."""
    src = SimRaidSource(seed=seed, config=cfg.sim, autopilot=cfg.autopilot, size=cfg.size)
    engine = engine_factory(src)
    clock: _GameClock = engine.clock  # type: ignore[assignment]
    advisers = {f"ArcX {p}": Adviser(p, hysteresis) for p in RISK_ORDER}
    advisers.update({k: Adviser(r, h) for k, (r, h) in (extra or {}).items()})
    rule = f"fixed rule: loot ≥ {loot_threshold:.0f}" if loot_threshold is not None else None
    out: dict[str, tuple[float, bool]] = {}
    snapshots: list[Game] = []
    engine.open_source()
    frame = 0
    try:
        while True:
            res = engine.capture_once()
            if src.finished or not res.got_frame:
                break
            state: GameState = src.state
            looting = state.phase == Phase.LOOTING
            if frame and frame % cfg.decision_every == 0 and looting:
                tick = engine.inference_once()
                game = src.game
                if tick.ev is not None and tick.ev.quantiles is not None:
                    for key, adv in advisers.items():
                        shown = adv.tick(tick.ev.quantiles, clock.t).advice
                        if key == "ArcX neutral" and shown != tick.ev.advice:
                            raise AssertionError("the engine's adviser and the neutral adviser disagree")
                        if key not in out and shown == "extract":
                            out[key] = _walk_out(game)
                if rule is not None and rule not in out and state.loot >= float(loot_threshold or 0):
                    out[rule] = _walk_out(game)
                if oracle_rollouts:
                    snapshots.append(copy.deepcopy(game))  # the oracle decides after the raid, in one batch
            frame += 1
            clock.t += 1.0 / cfg.sim.fps
    finally:
        engine.close_source()
    if snapshots:
        # MC greedy from the hidden state at every tick, rolled out together (same answers as
        # deciding tick by tick: each state's truth does not depend on the others)
        truths = evaluate_many([g.state for g in snapshots], n=oracle_rollouts, seed=seed, autopilot=cfg.autopilot,
                               policy=src.autopilot.params)  # staying on = this player's own habit
        first = next((i for i, t in enumerate(truths) if t.ev_extract > t.ev_stay), None)
        if first is not None:
            out[ORACLE] = _walk_out(snapshots[first])
    habit = (float(src.final_value or 0.0) if src.outcome == "extracted" else 0.0, src.outcome == "died")
    out[HABIT] = habit
    names = [*advisers, *([rule] if rule else []), *([ORACLE] if oracle_rollouts else [])]
    for name in names:
        out.setdefault(name, habit)  # never said extract before the player left: the habit's raid
    return out


def engine_factory(
    encoder: EncoderBackend, encoder_id: str, model_path: Path, size: tuple[int, int], hysteresis: Hysteresis
) -> Callable[[SimRaidSource], Engine]:
    """Builds one real engine per raid on the given encoder and model, driven by game time."""

    def make(src: SimRaidSource) -> Engine:
        clock = _GameClock()
        engine = Engine(
            src,
            config=EngineConfig(risk="neutral", hysteresis=hysteresis, fps=float(src.fps)),
            encoder=encoder,
            encoder_id=encoder_id,
            preprocessor=Preprocessor(width=size[1], height=size[0]),
            device=torch.device("cpu"),
            clock=clock,
            timer=clock,  # stage times are 0 of game time: the frame rate is never lowered
        )
        engine.warm_up(progress=lambda _msg: None)
        engine.load_model(model_path)
        return engine

    return make


def closed_loop(
    seeds: Sequence[int],
    make_engine: Callable[[SimRaidSource], Engine],
    cfg: GenConfig,
    *,
    hysteresis: Hysteresis,
    loot_threshold: float | None = None,
    oracle_rollouts: int = 0,
    extra: Mapping[str, tuple[str | float, Hysteresis]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Table, float]:
    """Every seed in closed loop → (the loot-per-raid table, seconds taken)."""
    t0 = time.perf_counter()
    outcomes = Outcomes()
    for i, seed in enumerate(seeds):
        for name, (value, dead) in play_raid(
            int(seed), make_engine, cfg, hysteresis=hysteresis,
            loot_threshold=loot_threshold, oracle_rollouts=oracle_rollouts, extra=extra,
        ).items():
            outcomes.add(name, value, dead)
        if progress is not None:
            progress(i + 1, len(seeds))
    values = {k: np.asarray(v, dtype=np.float64) for k, v in outcomes.value.items()}
    deaths: dict[str, NDArray[np.float64]] = {k: np.asarray(v, dtype=np.float64) for k, v in outcomes.died.items()}
    note = f"closed loop in the simulator, hysteresis {hysteresis.hold_s:g} s / {100 * hysteresis.margin:.0f} %"
    return outcome_table(values, deaths, note=note), time.perf_counter() - t0
