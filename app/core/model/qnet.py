"""TemporalQNet: a window of frame latents → quantiles of the final value per action.

    z [B, L, D] → standardise per dimension ((z − input_mean) / input_std)
      → BiGRU (1 layer, H = 64 per direction by default) → [B, L, 2H]
      → attention pooling (Linear(2H, attn) → Tanh → Linear(attn, 1) → softmax over L)
      → [B, 2H] → LayerNorm → Linear(2H, head) + ReLU + Dropout → Linear(head, A·K)
      → [B, A, K]

A Transformer encoder can replace the BiGRU (`arch="transformer"`); everything after
the sequence model is shared.

The standardisation is part of the model: `input_mean` and `input_std` are buffers saved
with the weights, fitted by the trainer on its training frames (`set_input_stats`). The
encoder's latents are small and uneven (a random-init ResNet-34's pooled features have
per-dimension spreads from 1e-6 to 0.03; ImageNet weights give other scales); fed raw,
the GRU's gates barely move and the net learns the average outcome instead of the state.
A fresh net has the identity (mean 0, std 1).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from app.core.model.qnet_config import QNetConfig


class AttentionPool(nn.Module):
    """Softmax-weighted sum over time: [B, L, F] → [B, F]."""

    def __init__(self, features: int, attn_dim: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(features, attn_dim), nn.Tanh(), nn.Linear(attn_dim, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        w = torch.softmax(self.score(h), dim=1)  # (B, L, 1), sums to 1 over L
        return (w * h).sum(dim=1)  # (B, F)


class TemporalQNet(nn.Module):
    """Distributional Q-network over a latent window. Output [B, A, K]."""

    def __init__(self, config: QNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or QNetConfig()
        feat = 2 * cfg.hidden  # both GRU directions, concatenated
        self.seq: nn.Module
        if cfg.arch == "bigru":
            self.seq = nn.GRU(
                input_size=cfg.latent_dim,
                hidden_size=cfg.hidden,
                num_layers=cfg.num_layers,
                batch_first=True,
                bidirectional=True,
                dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
            )
        elif cfg.arch == "transformer":
            self.seq = _TransformerSeq(cfg, feat)
        else:
            raise ValueError(f"unknown Q-net arch '{cfg.arch}' (bigru or transformer)")
        self.pool = AttentionPool(feat, cfg.attn_dim)
        self.norm = nn.LayerNorm(feat)
        self.head = nn.Sequential(
            nn.Linear(feat, cfg.head_dim),
            nn.ReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.head_dim, cfg.num_actions * cfg.num_quantiles),
        )
        self.register_buffer("input_mean", torch.zeros(cfg.latent_dim))
        self.register_buffer("input_std", torch.ones(cfg.latent_dim))

    input_mean: torch.Tensor
    input_std: torch.Tensor

    def set_input_stats(self, frames: torch.Tensor, floor: float = 0.1) -> None:
        """Fit the input standardisation on training latents `frames` [N, D].

        A dimension's std is floored at `floor` × the median std, so a (nearly) constant
        dimension is not blown up into noise at inference."""
        if frames.ndim != 2 or frames.shape[1] != self.config.latent_dim or len(frames) < 2:
            raise ValueError(f"need latents [N ≥ 2, {self.config.latent_dim}], got {list(frames.shape)}")
        x = frames.detach().to(torch.float64)
        self.set_input_moments(x.mean(dim=0), x.std(dim=0), floor)

    def set_input_moments(self, mean: torch.Tensor, std: torch.Tensor, floor: float = 0.1) -> None:
        """Set the standardisation from per-dimension mean and (unbiased) std [D], with
        `set_input_stats`'s floor (the torchrun ranks agree on the moments, then call this)."""
        std = torch.as_tensor(std, dtype=torch.float64)
        std = torch.clamp(std, min=max(float(std.median()) * floor, 1e-12))
        with torch.no_grad():
            self.input_mean.copy_(torch.as_tensor(mean).to(self.input_mean))
            self.input_std.copy_(std.to(self.input_std))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: [B, L, D] float → quantiles [B, A, K]."""
        if z.ndim != 3 or z.shape[-1] != self.config.latent_dim:
            raise ValueError(
                f"expected latents [B, L, {self.config.latent_dim}], got {list(z.shape)}"
            )
        B, L, D = z.shape
        if L < 1:
            raise ValueError("the latent window is empty (L = 0)")
        z = (z - self.input_mean) / self.input_std
        if isinstance(self.seq, nn.GRU):
            h, _ = self.seq(z)  # (B, L, 2H)
        else:
            h = self.seq(z)  # (B, L, 2H)
        pooled = self.norm(self.pool(h))  # (B, 2H)
        q = self.head(pooled)  # (B, A·K)
        return q.view(B, self.config.num_actions, self.config.num_quantiles)  # (B, A, K)


class _TransformerSeq(nn.Module):
    """Linear(D, F) + sinusoidal positions + TransformerEncoder: [B, L, D] → [B, L, F]."""

    pe: torch.Tensor

    def __init__(self, cfg: QNetConfig, feat: int) -> None:
        super().__init__()
        self.proj = nn.Linear(cfg.latent_dim, feat)
        layer = nn.TransformerEncoderLayer(
            d_model=feat, nhead=cfg.heads, dim_feedforward=2 * feat,
            dropout=cfg.dropout, batch_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=cfg.num_layers)
        pos = torch.arange(cfg.seq_len * 4).unsqueeze(1)
        div = torch.exp(torch.arange(0, feat, 2) * (-math.log(10000.0) / feat))
        pe = torch.zeros(cfg.seq_len * 4, feat)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        L = z.shape[1]
        if self.pe.shape[0] < L:
            raise ValueError(f"window of {L} frames is longer than this net supports ({self.pe.shape[0]})")
        return self.encoder(self.proj(z) + self.pe[:L])  # (B, L, F)
