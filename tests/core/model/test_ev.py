import numpy as np
import pytest

from app.core.model.ev import (
    EXTRACT,
    STAY,
    compute_ev,
    next_risk,
    quantile_at,
    quantile_midpoints,
    risk_tau,
)


def test_midpoints_known_values():
    np.testing.assert_allclose(quantile_midpoints(4), [0.125, 0.375, 0.625, 0.875])
    taus = quantile_midpoints(16)
    assert taus[0] == pytest.approx(1 / 32) and taus[-1] == pytest.approx(31 / 32)


def test_risk_profiles_and_custom_tau():
    assert risk_tau("safe") == 0.2
    assert risk_tau("neutral") == 0.5
    assert risk_tau("aggressive") == 0.8
    assert risk_tau(0.33) == 0.33
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            risk_tau(bad)
    with pytest.raises(ValueError, match="unknown risk profile"):
        risk_tau("yolo")


def test_risk_cycle():
    assert [next_risk(r) for r in ("safe", "neutral", "aggressive")] == ["neutral", "aggressive", "safe"]


def test_interpolation_between_midpoints_by_hand():
    # K=4 midpoints 0.125, 0.375, 0.625, 0.875 with values 10, 20, 40, 80
    q = np.array([10.0, 20.0, 40.0, 80.0])
    assert quantile_at(q, 0.5) == pytest.approx(30.0)  # halfway between 0.375 and 0.625
    assert quantile_at(q, 0.2) == pytest.approx(10 + (0.2 - 0.125) / 0.25 * 10)  # 13.0
    assert quantile_at(q, 0.8) == pytest.approx(40 + (0.8 - 0.625) / 0.25 * 40)  # 68.0
    assert quantile_at(q, 0.375) == pytest.approx(20.0)  # exactly on a midpoint
    # outside the outer midpoints: the end quantile, no extrapolation
    assert quantile_at(q, 0.05) == pytest.approx(10.0)
    assert quantile_at(q, 0.95) == pytest.approx(80.0)


def test_interpolation_sorts_crossed_quantiles():
    assert quantile_at(np.array([40.0, 10.0, 80.0, 20.0]), 0.5) == pytest.approx(30.0)


def test_quantile_at_batched():
    q = np.stack([np.arange(16.0), np.arange(16.0) * 2])
    np.testing.assert_allclose(quantile_at(q, 0.5), [7.5, 15.0])


def test_compute_ev_hand_computed():
    k = 16
    q = np.zeros((2, k))
    q[STAY] = np.linspace(0, 150, k)  # stay: wide, median 75
    q[EXTRACT] = np.full(k, 60.0)  # extract: certain 60
    ev = compute_ev(q, "neutral", value_scale=2.0)
    # median of linspace(0,150,16) is 75 → scaled ×2 = 150
    assert ev.ev_stay == pytest.approx(150.0)
    assert ev.ev_extract == pytest.approx(120.0)
    assert ev.delta == pytest.approx(30.0)
    assert ev.advice == "stay" and not ev.close_call
    # safe τ=0.2: between τ_2=5/32 (value 20) and τ_3=7/32 (value 30): 20 + (0.2-0.15625)/0.0625*10 = 27 → ×2
    safe = compute_ev(q, "safe", value_scale=2.0)
    assert safe.ev_stay == pytest.approx(54.0)
    assert safe.advice == "extract"
    assert safe.spread_extract == (pytest.approx(120.0), pytest.approx(120.0))
    lo, hi = safe.spread_stay
    assert lo == pytest.approx(2 * quantile_at(q[STAY], 0.1)) and hi > lo
    assert safe.to_dict()["risk"] == "safe"


def test_compute_ev_close_call_and_warming():
    q = np.array([np.full(16, 100.0), np.full(16, 99.0)])
    ev = compute_ev(q, 0.5, warming=True)
    assert ev.close_call and ev.warming and ev.risk == "custom"


def test_compute_ev_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"\[2, K\]"):
        compute_ev(np.zeros((3, 16)))
    with pytest.raises(ValueError):
        compute_ev(np.zeros(16))
