import numpy as np
import pytest

from app.core.model.ev import (
    EXTRACT,
    NO_HYSTERESIS,
    RISK_PROFILES,
    STAY,
    Adviser,
    Hysteresis,
    compute_ev,
    distortion_weights,
    loss_probability,
    next_risk,
    quantile_at,
    quantile_midpoints,
    risk_eta,
    risk_name,
    risk_value,
    shown_advice,
    wang,
)

K = 16


def test_midpoints_known_values():
    np.testing.assert_allclose(quantile_midpoints(4), [0.125, 0.375, 0.625, 0.875])
    taus = quantile_midpoints(16)
    assert taus[0] == pytest.approx(1 / 32) and taus[-1] == pytest.approx(31 / 32)


def test_risk_presets_and_custom_eta():
    assert risk_eta("neutral") == 0.0
    assert risk_eta("safe") > 0 > risk_eta("aggressive")
    assert risk_eta(0.33) == 0.33 and risk_name(0.33) == "custom"
    assert risk_name(RISK_PROFILES["safe"]) == "safe"
    for bad in (float("nan"), float("inf"), 3.5, -10):
        with pytest.raises(ValueError):
            risk_eta(bad)
    with pytest.raises(ValueError, match="unknown risk profile"):
        risk_eta("yolo")


def test_risk_cycle():
    assert [next_risk(r) for r in ("safe", "neutral", "aggressive")] == ["neutral", "aggressive", "safe"]


def test_wang_known_values():
    u = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(wang(u, 0.0), u)
    # Φ(Φ⁻¹(0.5) + 1) = Φ(1) = 0.841345
    assert wang(0.5, 1.0) == pytest.approx(0.8413447, abs=1e-6)
    assert wang(0.5, -1.0) == pytest.approx(0.1586553, abs=1e-6)
    assert wang(0.0, 2.0) == 0.0 and wang(1.0, -2.0) == 1.0


@pytest.mark.parametrize("eta", [-2.0, -0.25, 0.0, 0.25, 2.0])
def test_weights_are_a_probability(eta):
    w = distortion_weights(K, eta)
    assert w.shape == (K,) and np.all(w > 0) and w.sum() == pytest.approx(1.0)
    # safe (η>0) puts more weight on the low quantiles, aggressive on the high ones
    if eta > 0:
        assert np.all(np.diff(w) < 0)
    elif eta < 0:
        assert np.all(np.diff(w) > 0)
    else:
        np.testing.assert_allclose(w, 1 / K)


def test_neutral_is_the_mean_of_a_two_outcome_distribution_with_an_atom_at_zero():
    # death with p = 0.25 → 0, else 400: 4 of 16 quantiles at 0; the mean is 300
    q = np.array([0.0] * 4 + [400.0] * 12)
    assert risk_value(q, 0.0) == pytest.approx(300.0)
    # the median (the old neutral) would say 400 and ignore the death
    assert quantile_at(q, 0.5) == pytest.approx(400.0)
    # Wang with η: the 4 zero quantiles get g(4/16) of the probability
    eta = 0.5
    assert risk_value(q, eta) == pytest.approx(400.0 * (1 - wang(0.25, eta)))
    assert risk_value(q, eta) < 300.0 < risk_value(q, -eta) < 400.0
    assert loss_probability(q, reference=250.0) == pytest.approx(0.25)
    assert loss_probability(np.full(K, 300.0), reference=250.0) == 0.0


def test_risk_value_sorts_and_batches():
    q = np.stack([np.arange(16.0)[::-1], np.arange(16.0) * 2])
    np.testing.assert_allclose(risk_value(q, 0.0), [7.5, 15.0])


def test_profiles_over_a_population_of_atom_distributions():
    """Over many stay-vs-extract choices (stay: death p, else a haul; extract: a sure
    value), safe says extract more often than neutral, aggressive less, none is constant,
    and neutral's answer is the sign of the mean difference."""
    rng = np.random.default_rng(0)
    n = 2000
    p = rng.integers(0, 9, n) / K  # P(death | stay) in steps of 1/K, 0..0.5
    haul = rng.uniform(200, 600, n)
    sure = rng.uniform(100, 600, n)
    taus = quantile_midpoints(K)
    ext_rates = {}
    for name in ("safe", "neutral", "aggressive"):
        says = []
        for i in range(n):
            stay = np.where(taus < p[i], 0.0, haul[i])
            est = compute_ev(np.stack([stay, np.full(K, sure[i])]), name)
            says.append(est.advice == "extract")
            if name == "neutral":
                assert (est.advice == "extract") == ((1 - p[i]) * haul[i] < sure[i])
                assert est.ev_stay == pytest.approx((1 - p[i]) * haul[i])
        ext_rates[name] = float(np.mean(says))
    assert 0.05 < ext_rates["aggressive"] < ext_rates["neutral"] < ext_rates["safe"] < 0.95
    assert ext_rates["safe"] > ext_rates["neutral"] + 0.05
    assert ext_rates["aggressive"] < ext_rates["neutral"] - 0.05


def test_compute_ev_hand_computed():
    q = np.zeros((2, K))
    q[STAY] = np.linspace(0, 150, K)  # mean 75
    q[EXTRACT] = np.full(K, 60.0)
    ev = compute_ev(q, "neutral", value_scale=2.0)
    assert ev.ev_stay == pytest.approx(150.0) and ev.ev_extract == pytest.approx(120.0)
    assert ev.delta == pytest.approx(30.0) and ev.risk_delta == pytest.approx(30.0)
    assert ev.value_stay == pytest.approx(ev.ev_stay)
    assert ev.advice == ev.instant_advice == "stay" and not ev.close_call
    safe = compute_ev(q, 2.0, value_scale=2.0)
    # a sure value is the same under every distortion; a wide one is worth less when safe
    assert safe.value_extract == pytest.approx(120.0)
    assert safe.value_stay < 120.0 and safe.advice == "extract"
    assert safe.ev_stay == pytest.approx(150.0)  # the EVs are expectations whatever the profile
    lo, hi = safe.spread_stay
    assert lo == pytest.approx(2 * quantile_at(q[STAY], 0.1)) and hi > lo
    assert safe.to_dict()["risk"] == "custom"


def test_compute_ev_close_call_and_warming():
    ev = compute_ev(np.array([np.full(16, 100.0), np.full(16, 99.0)]), 0.0, warming=True)
    assert ev.close_call and ev.warming and ev.risk == "neutral"


def test_compute_ev_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[2, K\]"):
        compute_ev(np.zeros((3, 16)))
    with pytest.raises(ValueError):
        compute_ev(np.zeros(16))
    with pytest.raises(ValueError, match="NaN"):
        compute_ev(np.full((2, 16), np.nan))


def _q(stay: float, extract: float) -> np.ndarray:
    return np.stack([np.full(K, stay), np.full(K, extract)])


def test_adviser_without_hysteresis_follows_every_tick():
    adv = Adviser("neutral", NO_HYSTERESIS)
    assert [adv.tick(_q(s, 100), t).advice for t, s in enumerate([110, 90, 110])] == ["stay", "extract", "stay"]


def test_hysteresis_holds_a_small_change_until_it_lasts():
    adv = Adviser("neutral", Hysteresis(hold_s=1.0, margin=0.5))
    shown = [adv.tick(_q(s, 100), t).advice for t, s in zip([0, 0.5, 1.0, 1.5, 2.0], [101, 95, 101, 95, 95], strict=True)]
    # a one-tick flip to extract (95 vs 100 is within the margin) is not shown; two ticks
    # 0.5 s apart are not 1 s either; the third consecutive one is
    assert shown == ["stay", "stay", "stay", "stay", "stay"]
    assert adv.tick(_q(95, 100), 2.5).advice == "extract"
    est = adv.tick(_q(101, 100), 3.0)
    assert est.instant_advice == "stay" and est.advice == "extract"


def test_hysteresis_margin_switches_at_once():
    adv = Adviser("neutral", Hysteresis(hold_s=5.0, margin=0.2))
    assert adv.tick(_q(50, 100), 0.0).advice == "extract"  # wins by 50 % of 100
    adv.reset()
    assert adv.shown == "stay"
    with pytest.raises(ValueError):
        Hysteresis(hold_s=-1)
    with pytest.raises(ValueError):
        Hysteresis(margin=float("nan"))


def test_shown_advice_on_a_run():
    q = np.stack([_q(s, 100) for s in [120, 110, 90, 85, 80]])
    t = np.arange(5) * 0.5

    def first(says: np.ndarray) -> int | None:
        hits = np.flatnonzero(says)
        return int(hits[0]) if hits.size else None

    assert first(shown_advice(q, t, Adviser("neutral", NO_HYSTERESIS))) == 2
    assert first(shown_advice(q, t, Adviser("neutral", Hysteresis(hold_s=1.0, margin=1.0)))) == 4
    assert first(shown_advice(q[:2], t[:2], Adviser("neutral"))) is None
    with pytest.raises(ValueError):
        shown_advice(q, t[:3], Adviser())
