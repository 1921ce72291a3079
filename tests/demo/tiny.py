"""A tiny demo for the builder and session tests: short raids, a pixel-statistics
encoder and a small Q-net, so a whole build (record, train, score) takes seconds.

`encoder` is named "tests.demo.tiny:encoder" in a build job: the spawned build process
imports it by that name (`builder.resolve_encoder_factory`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.core.model.qnet import QNetConfig
from app.core.training.trainer import TrainConfig
from app.demo.pipeline import DemoConfig, GenConfig
from app.demo.sim import SimConfig

D, L = 16, 8
"""latent size and window of the tiny Q-net"""
SIZE = (72, 128)
"""frame size (the smallest the tests of the renderer use)"""
ENCODER = "tests.demo.tiny:encoder"
ENCODER_ID = "tiny-pixel-enc"


class PixelEncoder:
    """Frames → the mean of each channel in a 2 × ... grid of cells ([B, D] float32)."""

    name = "fp32"

    def encode(self, frames: np.ndarray) -> np.ndarray:
        x = np.asarray(frames, np.float32) / 255.0  # (B, H, W, 3)
        b, h, w, _ = x.shape
        cells = x[:, : h // 2 * 2, : w // 3 * 3].reshape(b, 2, h // 2, 3, w // 3, 3).mean(axis=(2, 4))
        z = cells.reshape(b, -1)  # (B, 18)
        return np.ascontiguousarray(z[:, :D])


def encoder(size: tuple[int, int], preference: str = "auto", threads: int | None = None):
    return PixelEncoder(), ENCODER_ID, "tiny pixel encoder (tests)"


def config(**kw) -> DemoConfig:
    """3 training raids of at most 30 s, 1 held-out raid, 2 epochs of a small Q-net."""
    gen = GenConfig(size=SIZE, truth_n=16, outcome_draws=4, branch_samples=0, sim=SimConfig(max_raid_s=30.0))
    qnet = QNetConfig(latent_dim=D, seq_len=L, hidden=16, num_layers=1, attn_dim=16, head_dim=32)
    train = TrainConfig(qnet=qnet, window=L, epochs=2, batch_size=64, device="cpu", precision="fp32",
                        num_threads=1, patience=5)
    return replace(DemoConfig(n_train_runs=3, n_heldout_runs=1, seed=40, gen=gen, train=train, threads=1), **kw)
