"""Score what the overlay shows, in loot per raid, on held-out demo raids with truth.

A player judges ArcX by one number: do I bank more loot per raid when I follow it? Each
policy below is a rule that, at every looting decision of a recorded held-out raid, says
stay or extract. Following it on the **recorded path** means playing the raid as the player
did (their habit), except leaving at the policy's first EXTRACT:

- leaving at decision i banks, in expectation, the truth's EV of extracting there, and
  dies with the truth's P(death | extract) there (the walk out can still go wrong);
- a policy that never says extract before the player left gets the raid's recorded
  outcome.

A raid's score for leaving at i is the recorded outcome plus (EV extract − EV stay) at i,
the same expectation as EV extract at i (given the path to i, the recorded outcome's
expectation is EV stay at i), but paired with the habit: the difference from the habit
carries only the truth's Monte-Carlo noise, not the luck of one raid. A single raid's
score can therefore be below 0; means and intervals are what is reported.

This is exact in expectation from the recorded raids plus the truth sidecar, with no
extra simulation, because the sidecar's `ev_stay_own` is "keep playing as this player
does" (rolled out with the run's own hidden autopilot parameters). The oracle is
Monte-Carlo greedy against that: it knows the hidden state and the player's habit.

Scores, each with a run-bootstrap 95 % interval:
- **loot per raid** following the policy;
- **share of the oracle's gain**: (loot − habit) / (oracle − habit), paired per resample;
- **regret per decision**: max(EV stay, EV extract) − EV of the advised action, over every
  looting decision (the advice as shown at that moment, whether or not the player left);
- **death rate**: expected share of raids that end dead.

Rows (`policy_table`): the habit; always extract; random (leaves at the habit's rate);
the best fixed rule on carried loot, tuned on the training raids by playing them in the
simulator (`tune_loot_rule`); each ArcX profile through `Adviser.tick` (the engine's own
function, hysteresis included); and the oracle: Monte-Carlo greedy from the hidden state
(extract where the truth's EV of extracting beats staying).

**Truth on demand** (`departure_gains`): only the decision where a policy first departs
from the habit changes a raid's score, so a held-out raid played without a sidecar
(`LiveRaid`: its looting states and the player's hidden parameters) is scored by rolling
out just that state. Hundreds of held-out raids then cost a few thousand rollouts instead
of a sidecar for every decision (what makes the whole-loop test affordable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.core.model.ev import RISK_ORDER, Adviser, Hysteresis, shown_advice
from app.demo.sim.autopilot import Autopilot, AutopilotConfig, AutopilotParams
from app.demo.sim.game import Game, GameState, Phase, SimConfig
from app.demo.sim.truth import evaluate_many

HABIT, ORACLE = "habit (the player)", "oracle (MC greedy, hidden state)"
N_BOOT = 2000  # bootstrap resamples of the runs


@dataclass(frozen=True)
class Raid:
    """One held-out raid's looting decisions (n of them) with their truth."""

    t_sec: NDArray[np.float64]
    """[n] run-clock time of each decision"""
    ev_stay: NDArray[np.float64]
    """[n] true EV of staying: playing on as this player does (their own hidden habit)"""
    ev_extract: NDArray[np.float64]
    """[n] true EV of extracting now"""
    p_died_extract: NDArray[np.float64]
    """[n] true chance that extracting now still ends dead"""
    loot: NDArray[np.float64]
    """[n] loot carried (what the HUD shows)"""
    value: float
    """the recorded outcome: loot banked (0 when died)"""
    died: bool
    """the recorded raid ended dead"""

    def __post_init__(self) -> None:
        n = len(self.t_sec)
        for name in ("ev_stay", "ev_extract", "p_died_extract", "loot"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"raid field {name} has {len(getattr(self, name))} values, expected {n}")


@dataclass(frozen=True)
class Interval:
    """A mean with its 95 % bootstrap interval."""

    mean: float
    lo: float
    hi: float

    def fmt(self, digits: int = 1, pct: bool = False) -> str:
        k = 100.0 if pct else 1.0
        unit = "%" if pct else ""
        if not np.isfinite(self.mean):
            return "—"
        return f"{k * self.mean:.{digits}f}{unit} [{k * self.lo:.{digits}f}, {k * self.hi:.{digits}f}]"


@dataclass(frozen=True)
class Row:
    """One policy's scores."""

    name: str
    loot: Interval
    """loot banked per raid following it"""
    gain_share: Interval
    """share of the oracle's gain over the habit"""
    regret: Interval
    """regret per looting decision, loot units"""
    death_rate: float
    """expected share of raids ending dead"""
    extract_share: float
    """share of looting decisions at which it says extract"""


@dataclass(frozen=True)
class Table:
    """Every policy on the same held-out raids."""

    rows: tuple[Row, ...]
    n_raids: int
    n_decisions: int
    note: str = ""

    def row(self, name: str) -> Row:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        """The table as `arcx eval`, `arcx demo --headless` and the benchmark print it."""
        head = (f"{'policy':<34} {'loot / raid [95% CI]':>24} {'share of oracle gain':>24} "
                f"{'regret / decision':>22} {'deaths':>7} {'says extract':>12}")
        decisions = f" ({self.n_decisions} looting decisions)" if self.n_decisions else ""
        lines = [
            f"following the advice on {self.n_raids} held-out raids{decisions}"
            + (f"; {self.note}" if self.note else ""),
            head,
            "-" * len(head),
        ]
        for r in self.rows:
            lines.append(
                f"{r.name:<34} {r.loot.fmt(0):>24} {r.gain_share.fmt(0, pct=True):>24} "
                f"{r.regret.fmt(1):>22} {100 * r.death_rate:6.1f}% "
                + (f"{100 * r.extract_share:11.1f}%" if np.isfinite(r.extract_share) else f"{'—':>12}")
            )
        return "\n".join(lines)


# ---------------------------------------------------------------------------- policies


def adviser_says(
    raids: Sequence[Raid | LiveRaid], quantiles: Sequence[NDArray[np.float64]], adviser: Adviser
) -> list[NDArray[np.bool_]]:
    """What `adviser` shows (EXTRACT?) at every decision of each raid, from predicted
    quantiles [n, 2, K] in loot units per raid; the adviser is reset at each raid start."""
    return [shown_advice(q, raid.t_sec, adviser) for raid, q in zip(raids, quantiles, strict=True)]


def oracle_says(raids: Sequence[Raid]) -> list[NDArray[np.bool_]]:
    """Monte-Carlo greedy from the hidden state: extract where its true EV is higher."""
    return [r.ev_extract > r.ev_stay for r in raids]


def random_says(raids: Sequence[Raid], rate: float, seed: int = 0) -> list[NDArray[np.bool_]]:
    """Says extract at each decision with probability `rate` (seeded)."""
    rng = np.random.default_rng(seed)
    return [rng.random(len(r.t_sec)) < rate for r in raids]


def loot_rule_says(raids: Sequence[Raid], threshold: float) -> list[NDArray[np.bool_]]:
    """The fixed rule: extract once the loot carried reaches `threshold`."""
    return [r.loot >= threshold for r in raids]


def tune_loot_rule(
    seeds: Sequence[int],
    thresholds: Sequence[float] | None = None,
    sim: SimConfig | None = None,
    autopilot: AutopilotConfig | None = None,
) -> tuple[float, dict[float, float]]:
    """The loot threshold that banks the most on the training raids, played in the
    simulator (no rendering) with the autopilot, which leaves early at the threshold.

    Every threshold plays the same seeds (common random numbers). Returns (best
    threshold, {threshold: mean banked}).
    """
    sim = sim or SimConfig()
    ap = autopilot or AutopilotConfig()
    grid = list(thresholds) if thresholds is not None else [float(x) for x in range(100, 1501, 50)]
    if not seeds or not grid:
        raise ValueError("need training seeds and thresholds to tune the fixed rule")
    banked: dict[float, float] = {}
    for x in grid:
        total = 0.0
        for seed in seeds:
            game_seq, pilot_seq = np.random.SeedSequence(int(seed)).spawn(2)
            game = Game(sim, seed=np.random.default_rng(game_seq))
            pilot = Autopilot(ap, seed=np.random.default_rng(pilot_seq))
            while not game.done:
                s = game.state
                action = pilot(s)
                if s.phase == Phase.LOOTING and s.step % ap.decision_every == 0 and s.loot >= x:
                    action = "extract"
                game.step(action)
            total += float(game.state.final_value or 0.0)
        banked[x] = total / len(seeds)
    best = max(grid, key=lambda x: (banked[x], -x))
    return best, banked


# ---------------------------------------------------------------------------- scoring


def _first_departures(raids: Sequence[Raid | LiveRaid], says: Sequence[NDArray[np.bool_]]) -> list[int | None]:
    """Per raid, the first decision at which `says` is EXTRACT (None: never); checks shapes."""
    if len(says) != len(raids):
        raise ValueError(f"advice for {len(says)} raids, {len(raids)} raids given")
    out: list[int | None] = []
    for j, (r, s) in enumerate(zip(raids, says, strict=True)):
        s = np.asarray(s, dtype=bool)
        if s.shape != r.t_sec.shape:
            raise ValueError(f"raid {j}: advice for {s.shape[0]} decisions, it has {len(r.t_sec)}")
        hit = np.flatnonzero(s)
        out.append(int(hit[0]) if hit.size else None)
    return out


def _per_raid(raids: Sequence[Raid], says: Sequence[NDArray[np.bool_]]) -> tuple[NDArray[np.float64], ...]:
    """(loot [R], died [R], regret sum [R], extract count [R]) of one policy."""
    loot, died, regret, n_ext = (np.zeros(len(raids)) for _ in range(4))
    first = _first_departures(raids, says)
    for j, (r, s, i) in enumerate(zip(raids, says, first, strict=True)):
        s = np.asarray(s, dtype=bool)
        if i is not None:
            # the habit's recorded outcome plus what leaving at i gains over playing on from
            # there: unbiased (E[outcome | s_i] = EV stay at i) and paired with the habit
            loot[j] = r.value + r.ev_extract[i] - r.ev_stay[i]
            died[j] = r.p_died_extract[i]
        else:
            loot[j], died[j] = r.value, float(r.died)
        best = np.maximum(r.ev_stay, r.ev_extract)
        regret[j] = float(np.sum(best - np.where(s, r.ev_extract, r.ev_stay)))
        n_ext[j] = float(s.sum())
    return loot, died, regret, n_ext


def _interval(samples: NDArray[np.float64], point: float) -> Interval:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0 or not np.isfinite(point):
        return Interval(float("nan"), float("nan"), float("nan"))
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return Interval(float(point), float(lo), float(hi))


def _share(loot: NDArray[np.float64], habit: NDArray[np.float64], oracle: NDArray[np.float64]) -> NDArray[np.float64]:
    gain = oracle - habit
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gain > 0, (loot - habit) / gain, np.nan)


def policy_table(
    raids: Sequence[Raid],
    policies: Mapping[str, Sequence[NDArray[np.bool_]]],
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    note: str = "",
) -> Table:
    """Score every policy on the same raids; the habit and the oracle are added first.

    Bootstrap: the raids are resampled with replacement `n_boot` times, the same draw for
    every policy, so differences and shares are paired.
    """
    if not raids:
        raise ValueError("no held-out raids to score")
    n_dec = np.array([len(r.t_sec) for r in raids], dtype=np.float64)
    if n_dec.sum() == 0:
        raise ValueError("the held-out raids have no looting decisions")
    allp: dict[str, Sequence[NDArray[np.bool_]]] = {
        HABIT: [np.zeros(len(r.t_sec), dtype=bool) for r in raids],
        ORACLE: oracle_says(raids),
        **policies,
    }
    per = {name: _per_raid(raids, s) for name, s in allp.items()}
    return Table(_rows(per, n_dec, n_boot, seed), len(raids), int(n_dec.sum()), note)


def outcome_table(
    values: Mapping[str, NDArray[np.float64]],
    died: Mapping[str, NDArray[np.float64]],
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    note: str = "",
) -> Table:
    """The same table from realised outcomes per raid (the closed loop): {policy: [R]}
    banked and died; HABIT is required, ORACLE is used for the shares when present.
    Regret and the extract share are not known there (NaN)."""
    if HABIT not in values:
        raise ValueError("the outcomes need the habit's row")
    n = len(values[HABIT])
    if n == 0 or any(len(v) != n for v in (*values.values(), *died.values())) or set(values) != set(died):
        raise ValueError("every policy needs one value and one death flag per raid")
    nan = np.full(n, np.nan)
    order = [HABIT, *([ORACLE] if ORACLE in values else []), *(k for k in values if k not in (HABIT, ORACLE))]
    per = {k: (np.asarray(values[k], np.float64), np.asarray(died[k], np.float64), nan, nan) for k in order}
    return Table(_rows(per, np.ones(n), n_boot, seed), n, 0, note)


def _rows(
    per: Mapping[str, tuple[NDArray[np.float64], ...]], n_dec: NDArray[np.float64], n_boot: int, seed: int
) -> tuple[Row, ...]:
    """Rows with paired run-bootstrap intervals; `per` maps a policy to (loot, died,
    regret sum, extract count) per raid; shares are measured from HABIT to ORACLE (if any)."""
    habit_loot = per[HABIT][0]
    oracle_loot = per[ORACLE][0] if ORACLE in per else None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(habit_loot), size=(n_boot, len(habit_loot)))  # (B, R)
    dec_b = n_dec[idx].sum(axis=1)  # (B,)
    habit_b = habit_loot[idx].mean(axis=1)
    oracle_b = oracle_loot[idx].mean(axis=1) if oracle_loot is not None else None
    rows = []
    for name, (loot, died, regret, n_ext) in per.items():
        loot_b = loot[idx].mean(axis=1)
        if oracle_loot is not None and oracle_b is not None:
            point = float(_share(np.array([loot.mean()]), np.array([habit_loot.mean()]),
                                 np.array([oracle_loot.mean()]))[0])
            share = _interval(_share(loot_b, habit_b, oracle_b), point)
        else:
            share = Interval(float("nan"), float("nan"), float("nan"))
        rows.append(
            Row(
                name=name,
                loot=_interval(loot_b, float(loot.mean())),
                gain_share=share,
                regret=_interval(regret[idx].sum(axis=1) / np.maximum(dec_b, 1), float(regret.sum() / n_dec.sum())),
                death_rate=float(died.mean()),
                extract_share=float(n_ext.sum() / n_dec.sum()),
            )
        )
    return tuple(rows)


def standard_policies(
    raids: Sequence[Raid],
    quantiles: Sequence[NDArray[np.float64]] | None,
    *,
    loot_threshold: float | None,
    hysteresis: Hysteresis,
    seed: int = 0,
) -> dict[str, list[NDArray[np.bool_]]]:
    """The baseline rows and, given predictions, one row per ArcX profile."""
    n_dec = sum(len(r.t_sec) for r in raids)
    out: dict[str, list[NDArray[np.bool_]]] = {
        "always extract": [np.ones(len(r.t_sec), dtype=bool) for r in raids],
        # leaves at the habit's own rate: one extract per raid's looting decisions
        "random (habit's rate)": random_says(raids, len(raids) / max(n_dec, 1), seed),
    }
    if loot_threshold is not None:
        out[f"fixed rule: loot ≥ {loot_threshold:.0f}"] = loot_rule_says(raids, loot_threshold)
    if quantiles is not None:
        for profile in RISK_ORDER:
            out[f"ArcX {profile}"] = adviser_says(raids, quantiles, Adviser(profile, hysteresis))
    return out


# ---------------------------------------------------------------------------- truth on demand


@dataclass(frozen=True)
class LiveRaid:
    """A held-out raid without a truth sidecar: what scoring on demand needs."""

    t_sec: NDArray[np.float64]
    """[n] run-clock time of each looting decision"""
    states: tuple[GameState, ...]
    """[n] the game state at each looting decision (the truth's input, never the model's)"""
    value: float
    """the recorded outcome: loot banked (0 when died)"""
    player: AutopilotParams
    """this run's hidden habit (what "playing on" means for it)"""

    def __post_init__(self) -> None:
        if len(self.states) != len(self.t_sec):
            raise ValueError(f"{len(self.states)} states for {len(self.t_sec)} decisions")


def departure_gains(
    raids: Sequence[LiveRaid],
    says: Sequence[NDArray[np.bool_]],
    *,
    autopilot: AutopilotConfig | None = None,
    n: int = 512,
    seed: int = 0,
) -> NDArray[np.float64]:
    """[R] loot per raid that following `says` gains over the habit on the recorded path:
    EV extract − EV stay (playing on as this player does) at the first EXTRACT, 0 where
    it never says extract before the player left. The truth of raid j's decision i is
    seeded by (seed, j, i), so two policies that leave at the same moment get the same
    number (paired, as the sidecar's)."""
    gains = np.zeros(len(raids))
    for j, (raid, i) in enumerate(zip(raids, _first_departures(raids, says), strict=True)):
        if i is not None:
            truth = evaluate_many([raid.states[i]], n=n, seed=int(np.random.SeedSequence([seed, j, i]).generate_state(1)[0]),
                                  autopilot=autopilot, policy=raid.player)[0]
            gains[j] = truth.ev_extract - truth.ev_stay
    return gains

