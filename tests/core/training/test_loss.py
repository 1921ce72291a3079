"""Quantile Huber loss: known values, shapes, gradient direction, minimiser."""

from __future__ import annotations

import pytest
import torch

from app.core.training.loss import midpoint_taus, quantile_huber_loss, taken_quantiles


def test_known_values_sb3_convention():
    taus = midpoint_taus(10)
    # u = 1 everywhere: Huber = 0.5, weights τ_i, Σ τ_i = 5 → 2.5 summed, 0.25 averaged
    assert quantile_huber_loss(torch.zeros(1, 10), torch.ones(1), taus).item() == pytest.approx(2.5)
    assert quantile_huber_loss(
        torch.zeros(1, 10), torch.ones(1), taus, sum_over_quantiles=False
    ).item() == pytest.approx(0.25)
    # batch mean: the same rows give the same value
    assert quantile_huber_loss(torch.zeros(4, 10), torch.ones(4), taus).item() == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("q", "y", "tau", "kappa", "expected"),
    [
        (0.0, 3.0, 0.25, 1.0, 0.25 * (3.0 - 0.5)),  # linear zone, quantile too low: weight τ
        (0.0, -3.0, 0.25, 1.0, 0.75 * (3.0 - 0.5)),  # quantile too high: weight 1 − τ
        (0.0, 0.5, 0.25, 1.0, 0.25 * 0.125),  # quadratic zone: u²/2
        (0.0, 1.0, 0.5, 2.0, 0.5 * 0.5 / 2.0),  # κ = 2: u²/2 / κ
        (0.0, 4.0, 0.5, 2.0, 0.5 * 2.0 * (4.0 - 1.0) / 2.0),  # κ(|u| − κ/2) / κ
        (1.0, -1.0, 0.9, 0.0, 0.1 * 2.0),  # κ = 0: pinball loss
        (2.0, 2.0, 0.3, 1.0, 0.0),  # exact
    ],
)
def test_single_quantile_values(q, y, tau, kappa, expected):
    loss = quantile_huber_loss(torch.tensor([[q]]), torch.tensor([y]), torch.tensor([tau]), kappa)
    assert loss.item() == pytest.approx(expected)


def test_gradient_pushes_quantiles_towards_the_target():
    q = torch.tensor([[-1.0, 0.0, 5.0]], requires_grad=True)
    quantile_huber_loss(q, torch.tensor([1.0]), midpoint_taus(3)).backward()
    assert q.grad is not None
    g = q.grad[0]
    assert g[0] < 0 and g[1] < 0  # below the target: descending the gradient raises them
    assert g[2] > 0  # above: lowers it
    # the upward pull is τ-weighted: in the linear zone it is exactly −τ, the downward 1 − τ
    assert g[0].item() == pytest.approx(-1 / 6)
    assert g[2].item() == pytest.approx(1 - 5 / 6)


def test_minimiser_is_the_quantile_for_small_kappa():
    torch.manual_seed(0)
    y = torch.rand(2000)  # uniform(0, 1): true quantile at τ is τ
    taus = midpoint_taus(8)
    q = torch.full((1, 8), 0.5, requires_grad=True)
    opt = torch.optim.Adam([q], lr=0.02)
    for _ in range(400):
        opt.zero_grad()
        quantile_huber_loss(q.expand(len(y), 8), y, taus, kappa=0.01).backward()
        opt.step()
    assert torch.allclose(q.detach()[0], taus, atol=0.03)


@pytest.mark.parametrize(
    ("shape_q", "shape_y", "shape_t", "match"),
    [
        ((4,), (4,), (4,), r"quantiles must be \[B, K\]"),
        ((2, 4), (3,), (4,), r"target must be \[B\]=\[2\]"),
        ((2, 4), (2, 1, 1), (4,), r"target must be \[B\]"),
        ((2, 4), (2,), (5,), r"taus must be \[K\]=\[4\]"),
    ],
)
def test_rejects_wrong_shapes(shape_q, shape_y, shape_t, match):
    with pytest.raises(ValueError, match=match):
        quantile_huber_loss(torch.zeros(shape_q), torch.zeros(shape_y), torch.zeros(shape_t))


def test_rejects_negative_kappa():
    with pytest.raises(ValueError, match="kappa"):
        quantile_huber_loss(torch.zeros(1, 2), torch.zeros(1), midpoint_taus(2), kappa=-1.0)


def test_taken_quantiles():
    q = torch.arange(2 * 2 * 3, dtype=torch.float32).view(2, 2, 3)  # (B=2, A=2, K=3)
    got = taken_quantiles(q, torch.tensor([1, 0]))
    assert got.tolist() == [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]
    with pytest.raises(ValueError, match=r"\[B, A, K\]"):
        taken_quantiles(q[0], torch.tensor([0]))
    with pytest.raises(ValueError, match=r"actions must be \[B\]"):
        taken_quantiles(q, torch.tensor([0, 1, 1]))


def test_midpoint_taus():
    assert midpoint_taus(4).tolist() == [0.125, 0.375, 0.625, 0.875]
    with pytest.raises(ValueError):
        midpoint_taus(0)


def test_sample_targets_are_the_expectation_over_the_samples():
    """A [B, M] target is the weighted mean of the losses against each sample (QR-DQN)."""
    torch.manual_seed(0)
    q, taus = torch.randn(3, 4), midpoint_taus(4)
    y = torch.randn(3, 2)
    both = quantile_huber_loss(q, y, taus, 0.5)
    each = [quantile_huber_loss(q, y[:, m], taus, 0.5) for m in range(2)]
    assert both == pytest.approx(float(sum(each) / 2), rel=1e-6)
    w = torch.tensor([[1.0, 0.0]] * 3)
    assert quantile_huber_loss(q, y, taus, 0.5, weights=w) == pytest.approx(float(each[0]), rel=1e-6)
    with pytest.raises(ValueError, match="weights"):
        quantile_huber_loss(q, y, taus, weights=torch.ones(3, 3))
