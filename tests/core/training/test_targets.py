"""Optimal-stopping targets, by hand on two tiny runs."""

import numpy as np
import pytest

from app.core.data.dataset import DecisionDataset, RunData
from app.core.training.targets import (
    BEST_NEXT,
    DIED,
    EXTRACT_NEXT,
    MC,
    extract_bounds,
    mixed_targets,
    transitions,
)


def dataset() -> DecisionDataset:
    lat = np.zeros((6, 4), np.float16)
    a = RunData("a", "enc", lat, np.array([1, 2, 3, 4]), np.array([0, 0, 1, 1], np.int8), 100.0, died=False)
    b = RunData("b", "enc", lat, np.array([1, 2, 3]), np.array([0, 0, 0], np.int8), 0.0, died=True)
    return DecisionDataset([a, b], window=2)


def test_transitions_by_hand():
    tr = transitions(dataset())
    # run a: stay→stay, stay→the mark, then extract decisions keep their final value;
    # run b: stay→stay, stay→stay, and the last stay died
    assert tr.kind.tolist() == [BEST_NEXT, EXTRACT_NEXT, MC, MC, BEST_NEXT, BEST_NEXT, DIED]
    assert tr.next_idx.tolist() == [1, 2, -1, -1, 5, 6, -1]


def test_mixed_targets_by_hand():
    ds = dataset()
    tr = transitions(ds)
    k = 4
    q = np.zeros((len(ds), 2, k), np.float32)
    q[1] = [[3.0] * k, [1.0] * k]  # decision 1: staying looks better
    q[2] = [[9.0] * k, [2.0] * k]  # decision 2 (the mark): the player stopped → extract
    q[5] = [[1.0] * k, [4.0] * k]  # decision 5: extracting looks better
    q[6] = [[5.0] * k, [6.0] * k]
    y, w = mixed_targets(ds, tr, q, scale=10.0, lam=0.25)
    assert y.shape == (7, k + 1) and np.allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(y[0, :k], 3.0)  # best of decision 1: stay
    np.testing.assert_allclose(y[1, :k], 2.0)  # the mark: extract, not the bigger stay (9)
    np.testing.assert_allclose(y[4, :k], 4.0)  # best of decision 5: extract
    assert y[0, k] == pytest.approx(10.0) and w[0, k] == pytest.approx(0.25)  # final 100 / scale
    np.testing.assert_allclose(w[0, :k], 0.75 / k)
    assert w[2].tolist() == [0.0] * k + [1.0] and y[2, k] == pytest.approx(10.0)  # extract rows: final
    np.testing.assert_allclose(y[6], 0.0)  # staying there died
    # before a target network exists every target is the final value
    y0, w0 = mixed_targets(ds, tr, None, scale=10.0, lam=0.25)
    np.testing.assert_allclose((y0 * w0).sum(axis=1), ds.targets / 10.0)
    with pytest.raises(ValueError):
        mixed_targets(ds, tr, q[:3], scale=10.0, lam=0.5)
    with pytest.raises(ValueError):
        mixed_targets(ds, tr, q, scale=10.0, lam=1.5)


def test_extract_bounds_only_on_looting_decisions_of_extracted_runs():
    b = extract_bounds(dataset(), scale=10.0)
    assert b[:2].tolist() == [10.0, 10.0]
    assert np.isinf(b[2:]).all()
