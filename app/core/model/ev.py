"""From quantiles to the numbers the overlay shows.

The Q-net predicts K quantiles per action at the midpoints τ_i = (2i+1)/2K (QR-DQN). A
risk profile is one τ: safe 0.2, neutral 0.5, aggressive 0.8, or any τ in (0, 1). The
value at τ is interpolated linearly between neighbouring midpoints; outside
[τ_0, τ_{K-1}] it is the nearest end quantile (no extrapolation beyond what was learned).
Quantiles are sorted before use (monotone rearrangement), so a net whose quantiles cross
still gives a valid distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIONS: tuple[str, str] = ("stay", "extract")
STAY, EXTRACT = 0, 1

RISK_PROFILES: dict[str, float] = {"safe": 0.2, "neutral": 0.5, "aggressive": 0.8}
RISK_ORDER: tuple[str, ...] = ("safe", "neutral", "aggressive")

# Spread reported for each action: the 10%–90% range of its distribution.
SPREAD_LOW, SPREAD_HIGH = 0.1, 0.9
# |ΔEV| below this fraction of the larger |EV| is a close call (advice still given).
CLOSE_CALL_FRACTION = 0.05


def quantile_midpoints(k: int) -> np.ndarray:
    """τ_i = (2i + 1) / 2K for i = 0..K-1, float64 [K]."""
    if k < 1:
        raise ValueError(f"need at least one quantile, got K={k}")
    return (2.0 * np.arange(k) + 1.0) / (2.0 * k)


def risk_tau(risk: str | float) -> float:
    """A profile name or a τ in (0, 1) → τ."""
    if isinstance(risk, str):
        try:
            return RISK_PROFILES[risk]
        except KeyError:
            raise ValueError(
                f"unknown risk profile '{risk}'; use one of {', '.join(RISK_ORDER)} or a number in (0, 1)"
            ) from None
    tau = float(risk)
    if not 0.0 < tau < 1.0:
        raise ValueError(f"risk τ must be in (0, 1), got {tau}")
    return tau


def next_risk(name: str) -> str:
    """safe → neutral → aggressive → safe (the cycle hotkey)."""
    i = RISK_ORDER.index(name) if name in RISK_ORDER else -1
    return RISK_ORDER[(i + 1) % len(RISK_ORDER)]


def quantile_at(quantiles: np.ndarray, tau: float) -> np.ndarray:
    """Value at τ of distributions given by K sorted-or-not quantiles on the last axis.

    quantiles: [..., K] → [...] (a 0-d array for a single distribution).
    """
    q = np.sort(np.asarray(quantiles, dtype=np.float64), axis=-1)
    k = q.shape[-1]
    taus = quantile_midpoints(k)
    if tau <= taus[0]:
        return q[..., 0]
    if tau >= taus[-1]:
        return q[..., -1]
    hi = int(np.searchsorted(taus, tau, side="right"))
    lo = hi - 1
    w = (tau - taus[lo]) / (taus[hi] - taus[lo])
    return q[..., lo] * (1.0 - w) + q[..., hi] * w


@dataclass(frozen=True)
class EVEstimate:
    """What the overlay shows for one inference tick. Values are in loot units."""

    ev_stay: float
    """value of staying at the risk profile's τ"""
    ev_extract: float
    """value of extracting now at the risk profile's τ"""
    delta: float
    """ev_stay − ev_extract: positive means staying is worth more"""
    advice: str
    """"stay" or "extract" """
    close_call: bool
    """|delta| is small next to the values: either choice is about as good"""
    risk: str
    """profile name ("safe", "neutral", "aggressive") or "custom" """
    tau: float
    """the quantile level used"""
    spread_stay: tuple[float, float]
    """10% and 90% values of the stay distribution"""
    spread_extract: tuple[float, float]
    """10% and 90% values of the extract distribution"""
    warming: bool
    """the 32-frame window was not yet full (early, padded estimate)"""

    def to_dict(self) -> dict[str, object]:
        return {
            "ev_stay": self.ev_stay,
            "ev_extract": self.ev_extract,
            "delta": self.delta,
            "advice": self.advice,
            "close_call": self.close_call,
            "risk": self.risk,
            "tau": self.tau,
            "spread_stay": list(self.spread_stay),
            "spread_extract": list(self.spread_extract),
            "warming": self.warming,
        }


def compute_ev(
    quantiles: np.ndarray,
    risk: str | float = "neutral",
    *,
    value_scale: float = 1.0,
    warming: bool = False,
) -> EVEstimate:
    """quantiles: [A=2, K] from the Q-net (in scaled units) → EVEstimate in loot units."""
    q = np.asarray(quantiles, dtype=np.float64)
    if q.ndim != 2 or q.shape[0] != len(ACTIONS):
        raise ValueError(f"expected quantiles of shape [2, K], got {list(q.shape)}")
    q = q * float(value_scale)
    tau = risk_tau(risk)
    stay = float(quantile_at(q[STAY], tau))
    extract = float(quantile_at(q[EXTRACT], tau))
    delta = stay - extract
    scale = max(abs(stay), abs(extract), 1e-9)
    return EVEstimate(
        ev_stay=stay,
        ev_extract=extract,
        delta=delta,
        advice="stay" if delta >= 0 else "extract",
        close_call=abs(delta) < CLOSE_CALL_FRACTION * scale,
        risk=risk if isinstance(risk, str) else "custom",
        tau=tau,
        spread_stay=(float(quantile_at(q[STAY], SPREAD_LOW)), float(quantile_at(q[STAY], SPREAD_HIGH))),
        spread_extract=(
            float(quantile_at(q[EXTRACT], SPREAD_LOW)),
            float(quantile_at(q[EXTRACT], SPREAD_HIGH)),
        ),
        warming=warming,
    )
