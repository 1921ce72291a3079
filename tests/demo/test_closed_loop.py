"""The closed loop: advice through the real engine makes the player leave, on forks of the
same raid (common random numbers)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.model.checkpoint import save_checkpoint
from app.core.model.ev import Hysteresis
from app.core.model.qnet import QNetConfig, TemporalQNet
from app.demo.advice import HABIT, ORACLE
from app.demo.closed_loop import closed_loop, engine_factory, play_raid
from app.demo.pipeline import GenConfig
from app.demo.sim import SimRaidSource

SIZE = (48, 64)
D = 16
CFG = GenConfig(size=SIZE)


class GridEncoder:
    """Latent = mean colour of a 4×4 grid: cheap and frame-dependent."""

    name = "grid"

    def encode(self, frames: np.ndarray) -> np.ndarray:
        b, h, w, _ = frames.shape
        g = frames[:, : h // 4 * 4, : w // 4 * 4].reshape(b, 4, h // 4, 4, w // 4, 3).mean(axis=(2, 4))
        return (g[..., 0].reshape(b, D) / 255.0).astype(np.float32)


def constant_model(path: Path, stay: float, extract: float) -> Path:
    """Every stay quantile `stay`, every extract quantile `extract` (scaled by 100)."""
    torch.manual_seed(0)
    cfg = QNetConfig(latent_dim=D, hidden=8, num_layers=1, attn_dim=8, head_dim=8, dropout=0.0)
    net = TemporalQNet(cfg)
    k = cfg.num_quantiles
    with torch.no_grad():
        net.head[-1].weight.zero_()
        net.head[-1].bias[:k].fill_(stay)  # (A, K) row-major: stay first
        net.head[-1].bias[k:].fill_(extract)
    return save_checkpoint(path, net, encoder_id="grid", value_scale=100.0, epoch=1, val_loss=0.0)


def factory(model: Path):
    return engine_factory(GridEncoder(), "grid", model, SIZE, Hysteresis())


def test_leaving_at_the_first_tick_is_the_same_raid_walked_out_there(tmp_path):
    """A model that always says extract leaves at the first decision (frame 4); the fork
    banks exactly what the same seed banks when the player walks out at that step."""
    out = play_raid(11, factory(constant_model(tmp_path / "m.safetensors", 1.0, 3.0)), CFG,
                    hysteresis=Hysteresis(), loot_threshold=0.0)
    ref = SimRaidSource(11, config=CFG.sim, autopilot=CFG.autopilot, size=SIZE,
                        policy=lambda s: "extract" if s.step == 4 else "stay")
    ref.open()
    while ref.grab() is not None:
        pass
    expected = (float(ref.final_value or 0.0) if ref.outcome == "extracted" else 0.0, ref.outcome == "died")
    for name in ("ArcX safe", "ArcX neutral", "ArcX aggressive", "fixed rule: loot ≥ 0"):
        assert out[name] == pytest.approx(expected)
    assert HABIT in out


def test_a_model_that_always_stays_is_the_habit(tmp_path):
    table, seconds = closed_loop([3, 4, 5], factory(constant_model(tmp_path / "m.safetensors", 5.0, 1.0)), CFG,
                                 hysteresis=Hysteresis(), oracle_rollouts=32)
    habit = table.row(HABIT)
    for p in ("safe", "neutral", "aggressive"):
        assert table.row(f"ArcX {p}").loot.mean == habit.loot.mean
    assert table.n_raids == 3 and seconds > 0
    # the oracle row is there, scored on the same raids (its value is the simulator's)
    assert [r.name for r in table.rows][:2] == [HABIT, ORACLE]
    assert "closed loop" in table.render()
