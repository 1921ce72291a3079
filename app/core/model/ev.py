"""From quantiles to the numbers and the advice the overlay shows.

The Q-net predicts K quantiles per action at the midpoints τ_i = (2i+1)/2K (QR-DQN).
Quantiles are sorted before use (monotone rearrangement), so a net whose quantiles cross
still gives a valid distribution.

- **EV** of an action is the expectation of its distribution: the mean of its K quantiles
  (each quantile stands for 1/K of the probability), in loot units. ΔEV = EV stay − EV extract.
- **A risk profile is a distortion risk measure** over the sorted quantiles,
  ρ_g(Z) = Σ_i [g((i+1)/K) − g(i/K)] · q_(i), with Wang's transform
  g_η(u) = Φ(Φ⁻¹(u) + η). η = 0 is the identity (the mean: *neutral*, advice = sign of ΔEV);
  η > 0 is concave and leans on the low outcomes, deaths included (*safe*); η < 0 leans on
  the high outcomes but never gives the low ones zero weight, so it never ignores death
  (*aggressive*). The advice is the sign of ρ(stay) − ρ(extract). The presets were chosen by
  measuring on the demo game's true quantiles (`benchmarks/risk_profiles.py`).
- **Hysteresis**: one false EXTRACT ends a raid, so the shown advice changes only once the
  new answer has held for `hold_s` seconds, or at once when it wins by `margin` (a
  fraction of the larger risk-adjusted value). `Adviser` is the one place that turns
  quantiles into advice: the engine and the evaluation both call `Adviser.tick`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

ACTIONS: tuple[str, str] = ("stay", "extract")
STAY, EXTRACT = 0, 1

# η of Wang's transform for each preset (measured: benchmarks/risk_profiles.py)
RISK_PROFILES: dict[str, float] = {"safe": 0.25, "neutral": 0.0, "aggressive": -0.25}
RISK_ORDER: tuple[str, ...] = ("safe", "neutral", "aggressive")
# |η| above this weights essentially one end quantile: not a useful profile
MAX_ETA = 3.0

# Spread reported for each action: the 10%–90% range of its distribution.
SPREAD_LOW, SPREAD_HIGH = 0.1, 0.9
# |Δ| below this fraction of the larger |value| is a close call (advice still given).
CLOSE_CALL_FRACTION = 0.05
# A stay quantile at or below this fraction of the extract EV counts as "lost the haul".
LOSS_FRACTION = 0.02


def quantile_midpoints(k: int) -> NDArray[np.float64]:
    """τ_i = (2i + 1) / 2K for i = 0..K-1, float64 [K]."""
    if k < 1:
        raise ValueError(f"need at least one quantile, got K={k}")
    return (2.0 * np.arange(k, dtype=np.float64) + 1.0) / (2.0 * k)


def risk_eta(risk: str | float) -> float:
    """A profile name or an η (a number in [-MAX_ETA, MAX_ETA]) → η."""
    if isinstance(risk, str):
        try:
            return RISK_PROFILES[risk]
        except KeyError:
            raise ValueError(
                f"unknown risk profile '{risk}'; use one of {', '.join(RISK_ORDER)} "
                f"or a number between {-MAX_ETA:g} and {MAX_ETA:g}"
            ) from None
    eta = float(risk)
    if not math.isfinite(eta) or abs(eta) > MAX_ETA:
        raise ValueError(f"risk η must be between {-MAX_ETA:g} and {MAX_ETA:g}, got {eta}")
    return eta


def risk_name(risk: str | float) -> str:
    """The profile's name, or "custom" for an η that is not a preset."""
    if isinstance(risk, str):
        risk_eta(risk)
        return risk
    eta = risk_eta(risk)
    return next((n for n, v in RISK_PROFILES.items() if v == eta), "custom")


def next_risk(name: str) -> str:
    """safe → neutral → aggressive → safe (the cycle hotkey)."""
    i = RISK_ORDER.index(name) if name in RISK_ORDER else -1
    return RISK_ORDER[(i + 1) % len(RISK_ORDER)]


def wang(u: NDArray[np.float64] | float, eta: float) -> NDArray[np.float64]:
    """Wang's distortion g_η(u) = Φ(Φ⁻¹(u) + η) on [0, 1] (g(0) = 0, g(1) = 1)."""
    u = np.asarray(u, dtype=np.float64)
    if eta == 0.0:
        return u.copy()
    nd = NormalDist()
    out = np.empty_like(u)
    flat, res = u.reshape(-1), out.reshape(-1)
    for j, x in enumerate(flat):
        res[j] = 0.0 if x <= 0.0 else 1.0 if x >= 1.0 else nd.cdf(nd.inv_cdf(float(x)) + eta)
    return out


@lru_cache(maxsize=64)
def _weights(k: int, eta: float) -> NDArray[np.float64]:
    g = wang(np.arange(k + 1, dtype=np.float64) / k, eta)
    w = np.diff(g)  # (K,) probability weight of the i-th lowest quantile
    w.setflags(write=False)
    return w


def distortion_weights(k: int, eta: float) -> NDArray[np.float64]:
    """(K,) weights g((i+1)/K) − g(i/K) of the sorted quantiles under g_η; they sum to 1."""
    if k < 1:
        raise ValueError(f"need at least one quantile, got K={k}")
    return _weights(int(k), float(risk_eta(eta)))


def risk_value(quantiles: NDArray[np.float64], eta: float) -> NDArray[np.float64]:
    """ρ_η of distributions given by K quantiles on the last axis: [..., K] → [...]."""
    q = np.sort(np.asarray(quantiles, dtype=np.float64), axis=-1)
    return q @ distortion_weights(q.shape[-1], eta)


def quantile_at(quantiles: NDArray[np.float64], tau: float) -> NDArray[np.float64]:
    """Value at τ of distributions given by K sorted-or-not quantiles on the last axis,
    interpolated linearly between midpoints (the nearest end quantile outside them).

    quantiles: [..., K] → [...] (a 0-d array for a single distribution).
    """
    q = np.sort(np.asarray(quantiles, dtype=np.float64), axis=-1)
    taus = quantile_midpoints(q.shape[-1])
    if tau <= taus[0]:
        return q[..., 0]
    if tau >= taus[-1]:
        return q[..., -1]
    hi = int(np.searchsorted(taus, tau, side="right"))
    lo = hi - 1
    w = (tau - taus[lo]) / (taus[hi] - taus[lo])
    return q[..., lo] * (1.0 - w) + q[..., hi] * w


def loss_probability(stay: NDArray[np.float64], reference: float) -> float:
    """Chance that staying ends with (almost) nothing, read off K quantiles: the share of
    the probability whose quantile is at or below LOSS_FRACTION × `reference` (the value
    extracting would bank). Resolution 1/K; 0 when no quantile is that low."""
    q = np.asarray(stay, dtype=np.float64)
    cut = LOSS_FRACTION * max(float(reference), 0.0)
    return float(np.count_nonzero(q <= cut)) / q.shape[-1]


@dataclass(frozen=True)
class EVEstimate:
    """What the overlay shows for one inference tick. Values are in loot units."""

    ev_stay: float
    """expected value of staying: the mean of the stay distribution"""
    ev_extract: float
    """expected value of extracting now: the mean of the extract distribution"""
    delta: float
    """ev_stay − ev_extract: positive means staying is worth more on average"""
    risk: str
    """profile name ("safe", "neutral", "aggressive") or "custom" """
    eta: float
    """the profile's η in Wang's transform (0 = neutral)"""
    value_stay: float
    """risk-adjusted value of staying, ρ_η(stay) (= ev_stay at neutral)"""
    value_extract: float
    """risk-adjusted value of extracting, ρ_η(extract)"""
    risk_delta: float
    """value_stay − value_extract: its sign is this tick's answer"""
    instant_advice: str
    """this tick's answer, "stay" or "extract", before hysteresis"""
    advice: str
    """what the overlay says: the instant answer once it has held (see `Adviser`)"""
    close_call: bool
    """|risk_delta| is small next to the values: either choice is about as good"""
    p_loss_stay: float
    """chance that staying ends with nothing (death), as the quantiles tell it"""
    spread_stay: tuple[float, float]
    """10% and 90% values of the stay distribution"""
    spread_extract: tuple[float, float]
    """10% and 90% values of the extract distribution"""
    warming: bool
    """the window was not yet full (early, padded estimate)"""
    quantiles: NDArray[np.float64] | None = field(default=None, compare=False, repr=False)
    """[2, K] the predicted sorted quantiles (stay, extract) in loot units, for callers that
    weigh them otherwise (e.g. every profile at once in the closed-loop benchmark)"""

    def to_dict(self) -> dict[str, object]:
        return {
            "ev_stay": self.ev_stay,
            "ev_extract": self.ev_extract,
            "delta": self.delta,
            "risk": self.risk,
            "eta": self.eta,
            "value_stay": self.value_stay,
            "value_extract": self.value_extract,
            "risk_delta": self.risk_delta,
            "instant_advice": self.instant_advice,
            "advice": self.advice,
            "close_call": self.close_call,
            "p_loss_stay": self.p_loss_stay,
            "spread_stay": list(self.spread_stay),
            "spread_extract": list(self.spread_extract),
            "warming": self.warming,
        }


def compute_ev(
    quantiles: NDArray[np.float64],
    risk: str | float = "neutral",
    *,
    value_scale: float = 1.0,
    warming: bool = False,
) -> EVEstimate:
    """quantiles: [A=2, K] from the Q-net (in scaled units) → this tick's EVEstimate in loot
    units, without hysteresis (`advice` = `instant_advice`). Use `Adviser` for a run."""
    q = np.asarray(quantiles, dtype=np.float64)
    if q.ndim != 2 or q.shape[0] != len(ACTIONS) or q.shape[1] < 1:
        raise ValueError(f"expected quantiles of shape [2, K], got {list(q.shape)}")
    if not np.all(np.isfinite(q)):
        raise ValueError("quantiles contain NaN or infinity")
    q = np.sort(q * float(value_scale), axis=-1)  # (A, K) ascending, loot units
    eta = risk_eta(risk)
    ev_stay, ev_extract = (float(v) for v in q.mean(axis=-1))
    value_stay, value_extract = (float(v) for v in risk_value(q, eta))
    risk_delta = value_stay - value_extract
    scale = max(abs(value_stay), abs(value_extract), 1e-9)
    answer = "stay" if risk_delta >= 0 else "extract"
    return EVEstimate(
        ev_stay=ev_stay,
        ev_extract=ev_extract,
        delta=ev_stay - ev_extract,
        risk=risk_name(risk),
        eta=eta,
        value_stay=value_stay,
        value_extract=value_extract,
        risk_delta=risk_delta,
        instant_advice=answer,
        advice=answer,
        close_call=abs(risk_delta) < CLOSE_CALL_FRACTION * scale,
        p_loss_stay=loss_probability(q[STAY], ev_extract),
        spread_stay=(float(quantile_at(q[STAY], SPREAD_LOW)), float(quantile_at(q[STAY], SPREAD_HIGH))),
        spread_extract=(
            float(quantile_at(q[EXTRACT], SPREAD_LOW)),
            float(quantile_at(q[EXTRACT], SPREAD_HIGH)),
        ),
        warming=warming,
        quantiles=q,
    )


@dataclass(frozen=True)
class Hysteresis:
    """When the shown advice may change (both 0: it follows every tick)."""

    hold_s: float = 1.0
    """seconds a new answer must hold, tick after tick, before it is shown"""
    margin: float = 0.15
    """a new answer that wins by this fraction of the larger risk-adjusted value is shown at once"""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.hold_s) and self.hold_s >= 0):
            raise ValueError(f"hold_s must be >= 0 seconds, got {self.hold_s}")
        if not (math.isfinite(self.margin) and self.margin >= 0):
            raise ValueError(f"margin must be >= 0, got {self.margin}")


NO_HYSTERESIS = Hysteresis(hold_s=0.0, margin=0.0)


class Adviser:
    """Turns each tick's quantiles into what the overlay shows, for one run at a time.

    The engine and the evaluation both call `tick`, so what is scored is what is shown.
    A run starts on "stay"; `reset()` at each run start. Not thread-safe (one caller).
    """

    def __init__(self, risk: str | float = "neutral", hysteresis: Hysteresis = NO_HYSTERESIS) -> None:
        risk_eta(risk)  # validate early
        self.risk: str | float = risk
        self.hysteresis = hysteresis
        self._shown = "stay"
        self._since: float | None = None  # when the pending (unshown) answer first appeared

    def reset(self) -> None:
        """A new run: back to "stay" with nothing pending."""
        self._shown, self._since = "stay", None

    def set_risk(self, risk: str | float) -> None:
        """Change the profile; what is shown stays until the new profile's answer holds."""
        risk_eta(risk)
        self.risk = risk

    @property
    def shown(self) -> str:
        return self._shown

    def tick(
        self,
        quantiles: NDArray[np.float64],
        t_sec: float,
        *,
        value_scale: float = 1.0,
        warming: bool = False,
    ) -> EVEstimate:
        """quantiles [2, K] (scaled units) at time `t_sec` of the run → the EVEstimate shown."""
        est = compute_ev(quantiles, self.risk, value_scale=value_scale, warming=warming)
        answer = est.instant_advice
        if answer == self._shown:
            self._since = None
        else:
            if self._since is None:
                self._since = float(t_sec)
            scale = max(abs(est.value_stay), abs(est.value_extract), 1e-9)
            held = float(t_sec) - self._since >= self.hysteresis.hold_s - 1e-9
            if held or abs(est.risk_delta) >= self.hysteresis.margin * scale > 0:
                self._shown, self._since = answer, None
        if est.advice == self._shown:
            return est
        return replace(est, advice=self._shown)


def shown_advice(
    quantiles: NDArray[np.float64],
    t_sec: NDArray[np.float64],
    adviser: Adviser,
    *,
    value_scale: float = 1.0,
) -> NDArray[np.bool_]:
    """Does `adviser` show EXTRACT at each tick of one run? quantiles [T, 2, K], times [T]
    → bool [T]. Resets the adviser first (a run starts on "stay")."""
    q = np.asarray(quantiles, dtype=np.float64)
    if q.ndim != 3 or q.shape[1] != len(ACTIONS):
        raise ValueError(f"expected quantiles of shape [T, 2, K], got {list(q.shape)}")
    if len(t_sec) != q.shape[0]:
        raise ValueError(f"{q.shape[0]} ticks of quantiles but {len(t_sec)} times")
    adviser.reset()
    return np.array(
        [adviser.tick(q[i], float(t_sec[i]), value_scale=value_scale).advice == "extract" for i in range(len(q))],
        dtype=bool,
    )
