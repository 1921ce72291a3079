"""Known values of the demo's metrics (app/demo/evaluation.py)."""

from __future__ import annotations

import numpy as np
import pytest

from app.demo.evaluation import agreement, calibration, rankdata, spearman


def test_rankdata_averages_ties() -> None:
    assert rankdata(np.array([10.0, 20.0, 20.0, 5.0])).tolist() == [2.0, 3.5, 3.5, 1.0]


def test_spearman_known_values() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    # scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).statistic
    assert spearman(x, np.array([5.0, 6.0, 7.0, 8.0, 7.0])) == pytest.approx(0.8207826816681233)
    assert spearman(x, np.ones(5)) == 0.0


@pytest.mark.parametrize(
    ("a", "b"),
    [(np.ones(3), np.ones(4)), (np.ones((2, 2)), np.ones((2, 2))), (np.ones(1), np.ones(1))],
)
def test_spearman_rejects_bad_input(a: np.ndarray, b: np.ndarray) -> None:
    with pytest.raises(ValueError):
        spearman(a, b)


def test_agreement_known_values() -> None:
    assert agreement(np.array([1.0, -1.0, 2.0, -3.0]), np.array([0.5, 1.0, 3.0, -0.1])) == 0.75
    with pytest.raises(ValueError):
        agreement(np.ones(2), np.ones(3))
    with pytest.raises(ValueError):
        agreement(np.ones(0), np.ones(0))


def test_calibration_of_uniform_outcomes() -> None:
    taus = np.array([0.25, 0.5, 0.75])
    draws = np.tile((np.arange(100) + 0.5) / 100, (3, 1))  # (N=3, d=100) uniform on [0, 1)
    q = np.tile(taus, (3, 1))  # the true quantiles
    below, at_or_below, err = calibration(q, draws, taus)
    assert below.tolist() == pytest.approx([0.25, 0.5, 0.75])
    assert err.tolist() == pytest.approx([0.0, 0.0, 0.0])
    _, _, err_off = calibration(q + 0.1, draws, taus)  # every quantile 0.1 too high
    assert err_off.tolist() == pytest.approx([0.1, 0.1, 0.1])


def test_calibration_at_an_atom() -> None:
    # 40 % of outcomes are exactly 0: q = 0 is the right quantile for every τ ≤ 0.4
    taus = np.array([0.1, 0.3])
    draws = np.array([[0.0] * 4 + [1.0] * 6])
    below, at_or_below, err = calibration(np.zeros((1, 2)), draws, taus, tol=1e-6)
    assert below.tolist() == [0.0, 0.0]
    assert at_or_below.tolist() == [0.4, 0.4]
    assert err.tolist() == [0.0, 0.0]


def test_calibration_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        calibration(np.zeros((2, 3)), np.zeros((3, 5)), np.array([0.1, 0.5, 0.9]))
    with pytest.raises(ValueError):
        calibration(np.zeros((2, 2)), np.zeros((2, 5)), np.array([0.1, 0.5, 0.9]))
