"""How each risk measure advises when fed the demo game's *true* quantiles.

    python benchmarks/risk_profiles.py [--raids 60] [--seed 1000] [--rollouts 512] [--cache NPZ]

Plays `--raids` autopilot raids (no rendering), takes the Monte-Carlo truth of every
looting decision (16 true quantiles per action over the player mixture: what a perfect
model could predict from the screen; and the EV of playing on as this run's own player
does, which the scores are measured against), and for each risk measure and parameter
prints how often it says extract, its agreement with the truly better action (by EV), its
regret per decision, and the loot per raid and death rate of a player who follows it on
the recorded path (leaves at its first EXTRACT; `app.demo.advice`). Then the hysteresis
grid for the chosen presets. This is how the presets in `app/core/model/ev.py` were
chosen: no model is involved, so any failure here is the measure's, not the learning's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import machine_line  # noqa: E402

from app.core.model.ev import RISK_PROFILES, Adviser, Hysteresis, quantile_at, risk_value  # noqa: E402
from app.demo.advice import Raid, adviser_says, policy_table  # noqa: E402
from app.demo.sim.autopilot import Autopilot, AutopilotConfig  # noqa: E402
from app.demo.sim.game import Game, Phase, SimConfig  # noqa: E402
from app.demo.sim.truth import evaluate_many  # noqa: E402


def play(n_raids: int, seed: int, rollouts: int) -> tuple[list[Raid], list[np.ndarray]]:
    """Raids with truth, and the true quantiles [n, 2, K] of each."""
    sim, ap = SimConfig(), AutopilotConfig()
    raids, quantiles = [], []
    for r in range(n_raids):
        game_seq, pilot_seq = np.random.SeedSequence(seed + r).spawn(2)
        game = Game(sim, seed=np.random.default_rng(game_seq))
        pilot = Autopilot(ap, seed=np.random.default_rng(pilot_seq))
        states = []
        while not game.done:
            s = game.state
            if s.step and s.step % ap.decision_every == 0 and s.phase == Phase.LOOTING:
                states.append(s)
            game.step(pilot(s))
        truth = evaluate_many(states, n=rollouts, seed=seed + r)  # what a perfect model would predict
        own = evaluate_many(states, n=rollouts, seed=seed + r + 1, policy=pilot.params)  # this player's habit
        raids.append(Raid(
            t_sec=np.array([s.time_s for s in states]),
            ev_stay=np.array([t.ev_stay for t in own]),
            ev_extract=np.array([t.ev_extract for t in truth]),
            p_died_extract=np.array([t.p_died_extract for t in truth]),
            loot=np.array([s.loot for s in states]),
            value=float(game.state.final_value or 0.0),
            died=game.state.outcome == "died",
        ))
        quantiles.append(np.stack([[t.q_stay, t.q_extract] for t in truth]).reshape(len(truth), 2, -1))
    return raids, quantiles


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--raids", type=int, default=60)
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--rollouts", type=int, default=512)
    p.add_argument("--cache", type=Path, default=None, help="keep the truth here (npz) and reuse it")
    args = p.parse_args()
    print(machine_line())
    t0 = time.perf_counter()
    if args.cache and args.cache.is_file():
        z = np.load(args.cache, allow_pickle=False)
        n = int(z["n"])
        raids = [Raid(*(z[f"{k}{i}"] for k in ("t", "s", "e", "p", "l")), float(z["v"][i]), bool(z["d"][i]))
                 for i in range(n)]
        quantiles = [z[f"q{i}"] for i in range(n)]
    else:
        raids, quantiles = play(args.raids, args.seed, args.rollouts)
        if args.cache:
            arrays = {f"{k}{i}": getattr(r, f) for i, r in enumerate(raids)
                      for k, f in zip("tsepl", ("t_sec", "ev_stay", "ev_extract", "p_died_extract", "loot"), strict=True)}
            arrays.update({f"q{i}": q for i, q in enumerate(quantiles)})
            np.savez(args.cache, n=len(raids), v=[r.value for r in raids], d=[r.died for r in raids], **arrays)
    print(f"{len(raids)} raids, {sum(len(r.t_sec) for r in raids)} looting decisions "
          f"(truth {time.perf_counter() - t0:.0f} s)")

    q_all = np.concatenate(quantiles)  # (N, 2, K)
    ev_s, ev_e = np.concatenate([r.ev_stay for r in raids]), np.concatenate([r.ev_extract for r in raids])
    print(f"extract truly better at {100 * np.mean(ev_e > ev_s):.1f}% of decisions")

    def dual_power(q: np.ndarray, a: float) -> np.ndarray:  # g(u) = 1 − (1 − u)^a
        k = q.shape[-1]
        u = np.arange(k + 1) / k
        return np.sort(q, axis=-1) @ np.diff(1 - (1 - u) ** a)

    families = {
        "wang η": (risk_value, [-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0]),
        "dual power a": (dual_power, [0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0]),
        "one quantile τ (before)": (quantile_at, [0.2, 0.5, 0.8]),
    }
    policies = {}
    for fam, (fn, grid) in families.items():
        for x in grid:
            v = fn(q_all, x)  # (N, 2)
            says = v[:, 0] < v[:, 1]
            policies[f"{fam}={x:g}"] = np.split(says, np.cumsum([len(r.t_sec) for r in raids])[:-1])
    print("\nno hysteresis, true quantiles:")
    print(policy_table(raids, policies, n_boot=500).render())

    print("\nhysteresis (hold s / margin) for the presets, true quantiles:")
    hyst = {}
    for name in ("safe", "neutral", "aggressive"):
        for hold, margin in ((0.0, 0.0), (0.5, 0.1), (1.0, 0.15), (1.5, 0.2), (2.0, 0.3)):
            hyst[f"{name} (η {RISK_PROFILES[name]:+g}) {hold:g} s / {margin:.0%}"] = adviser_says(
                raids, quantiles, Adviser(name, Hysteresis(hold, margin))
            )
    print(policy_table(raids, hyst, n_boot=500).render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
