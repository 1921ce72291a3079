"""Quantile Huber loss (QR-DQN, Dabney et al. 2018), for scalar Monte-Carlo targets.

For the K predicted quantiles θ_i at levels τ_i and a target y, with u_i = y − θ_i:

    ρ_τ^κ(u) = |τ − 1{u < 0}| · Huber_κ(u) / κ
    Huber_κ(u) = u²/2 if |u| ≤ κ, else κ(|u| − κ/2)

The loss is **summed over the K quantiles and averaged over the batch** (the
sb3-contrib `quantile_huber_loss` convention, `sum_over_quantiles=True`), so
`quantile_huber_loss(zeros(1, 10), ones(1), midpoints(10)) == 2.5`; pass
`sum_over_quantiles=False` to average over quantiles too (then 0.25).

κ → 0 gives the pinball (quantile regression) loss |τ − 1{u<0}|·|u|; `kappa=0` computes
exactly that. Note that when |u| stays below κ the loss is an asymmetric squared error,
whose minimiser is an *expectile*, not a quantile: κ must be small next to the spread
of the (scaled) targets for the outputs to be quantiles.
"""

from __future__ import annotations

import torch

from app.core.model.ev import quantile_midpoints


def quantile_huber_loss(
    quantiles: torch.Tensor,
    target: torch.Tensor,
    taus: torch.Tensor,
    kappa: float = 1.0,
    *,
    sum_over_quantiles: bool = True,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scalar loss.

    quantiles: [B, K] predicted quantiles (of the action taken).
    target:    [B] scalar returns, or [B, M] samples of each return's distribution
               (QR-DQN's pairwise loss, e.g. a target network's quantiles).
    taus:      [K] quantile levels in (0, 1).
    kappa:     Huber threshold κ ≥ 0 (0: pure quantile loss).
    weights:   [B, M] probability of each target sample (rows sum to 1); None: 1/M each.
    """
    if quantiles.ndim != 2:
        raise ValueError(f"quantiles must be [B, K], got {list(quantiles.shape)}")
    B, K = quantiles.shape
    if target.ndim == 1:
        target = target.unsqueeze(1)  # (B, 1)
    if target.ndim != 2 or target.shape[0] != B:
        raise ValueError(f"target must be [B]=[{B}] or [B, M], got {list(target.shape)}")
    M = target.shape[1]
    if weights is None:
        weights = torch.full((B, M), 1.0 / M, dtype=quantiles.dtype, device=quantiles.device)
    elif weights.shape != (B, M):
        raise ValueError(f"weights must be [B, M]=[{B}, {M}], got {list(weights.shape)}")
    if taus.shape != (K,):
        raise ValueError(f"taus must be [K]=[{K}], got {list(taus.shape)}")
    if kappa < 0:
        raise ValueError(f"kappa must be ≥ 0, got {kappa}")
    u = target.unsqueeze(1) - quantiles.unsqueeze(2)  # (B, K, M): > 0 where the quantile is too low
    abs_u = u.abs()
    if kappa == 0:
        scaled = abs_u
    else:
        huber = torch.where(abs_u <= kappa, 0.5 * u.pow(2), kappa * (abs_u - 0.5 * kappa))
        scaled = huber / kappa  # (B, K, M)
    asym = (taus.view(1, K, 1) - (u.detach() < 0).to(quantiles.dtype)).abs()  # (B, K, M)
    loss = (asym * scaled * weights.unsqueeze(1)).sum(dim=2)  # (B, K): expectation over the target
    if sum_over_quantiles:
        return loss.sum(dim=1).mean()
    return loss.mean()


def taken_quantiles(q: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """q [B, A, K], actions [B] (long) → the taken action's quantiles [B, K]."""
    if q.ndim != 3:
        raise ValueError(f"q must be [B, A, K], got {list(q.shape)}")
    B, A, K = q.shape
    if actions.shape != (B,):
        raise ValueError(f"actions must be [B]=[{B}], got {list(actions.shape)}")
    index = actions.long().view(B, 1, 1).expand(B, 1, K)  # (B, 1, K)
    return q.gather(1, index).squeeze(1)  # (B, K)


def midpoint_taus(k: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The quantile levels τ_i = (2i + 1) / 2K as a float32 tensor [K] on `device`.

    The one definition is `app.core.model.ev.quantile_midpoints` (ValueError for K < 1).
    """
    return torch.as_tensor(quantile_midpoints(k), dtype=torch.float32, device=device)
