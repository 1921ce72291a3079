"""The quality verdict: known-value losses, the judgement in words, and a real model that
learned something beating constant numbers on held-out runs (and one that did not)."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.data.dataset import DecisionDataset, RunData
from app.core.model.qnet import QNetConfig
from app.core.training.trainer import TrainConfig, Trainer
from app.core.training.verdict import (
    RECOMMENDED_RUNS,
    constant_quantiles,
    judge,
    midpoints,
    pinball_loss,
    verdict_for,
)

D, L, K = 8, 4, 8
TINY = QNetConfig(
    latent_dim=D, seq_len=L, hidden=16, num_layers=1, attn_dim=16, head_dim=32, num_quantiles=K
)


def test_pinball_loss_known_values():
    taus = np.array([0.5])
    # |u| / 2 at the median: targets 0 and 4 against a prediction of 2 → 1.
    assert pinball_loss(np.array([[2.0], [2.0]]), np.array([0.0, 4.0]), taus) == pytest.approx(1.0)
    # τ = 0.9, target above by 10 → 9; below by 10 → 1.
    taus = np.array([0.9])
    assert pinball_loss(np.array([[0.0]]), np.array([10.0]), taus) == pytest.approx(9.0)
    assert pinball_loss(np.array([[10.0]]), np.array([0.0]), taus) == pytest.approx(1.0)


def test_pinball_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\[N, K\]"):
        pinball_loss(np.zeros(3), np.zeros(3), np.array([0.5]))
    with pytest.raises(ValueError, match="targets"):
        pinball_loss(np.zeros((3, 1)), np.zeros(2), np.array([0.5]))
    with pytest.raises(ValueError, match="taus"):
        pinball_loss(np.zeros((3, 2)), np.zeros(3), np.array([0.5]))
    with pytest.raises(ValueError, match="no decisions"):
        pinball_loss(np.zeros((0, 1)), np.zeros(0), np.array([0.5]))


def test_constant_quantiles_per_action_and_fallback():
    actions = np.array([0, 0, 0, 0])
    targets = np.array([0.0, 100.0, 200.0, 300.0])
    q = constant_quantiles(actions, targets, np.array([0.5]))
    assert q[0, 0] == pytest.approx(150.0)
    assert q[1, 0] == pytest.approx(150.0)  # never extracted: both actions' values
    assert midpoints(4).tolist() == [0.125, 0.375, 0.625, 0.875]


def test_judge_in_words():
    good = judge(80.0, 100.0, 90.0, n_train_runs=40, n_val_runs=8)
    assert good.level == "good" and not good.warn
    assert "20 % better" in good.headline and good.runs_needed == 0
    assert any("Better than the previous model" in line for line in good.lines)

    useless = judge(101.0, 100.0, None, n_train_runs=2, n_val_runs=1)
    assert useless.level == "useless" and useless.warn
    assert "No better than guessing" in useless.headline
    assert useless.runs_needed == RECOMMENDED_RUNS - 3
    assert f"about {RECOMMENDED_RUNS - 3} more runs" in useless.text()

    few = judge(50.0, 100.0, 40.0, n_train_runs=5, n_val_runs=1)
    assert few.level == "weak" and "too few held-out runs" in few.headline
    assert any("Not better than the previous model" in line for line in few.lines)

    untested = judge(None, None, None, n_train_runs=1, n_val_runs=0)
    assert untested.level == "untested" and untested.warn and untested.runs_needed > 0
    assert untested.skill is None


def runs(n: int, informative: bool, seed: int = 0) -> list[RunData]:
    """One decision per run. Informative: the latents (near ±1) tell the loot group
    (0–100 or 100–200); otherwise the latents are noise."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        g = i % 2
        centre = (1.0 if g else -1.0) if informative else 0.0
        lat = (rng.standard_normal((L, D)) * 0.3 + centre).astype(np.float16)
        loot = rng.uniform(0.0, 100.0) + 100.0 * g
        out.append(RunData(f"run-{i}", "enc", lat, np.array([L - 1]), np.array([0], np.int8), loot))
    return out


def train(ds: DecisionDataset, path, epochs: int) -> tuple:
    cfg = TrainConfig(
        epochs=epochs, patience=100, batch_size=64, lr=3e-3, qnet=TINY, num_threads=1,
        precision="fp32", device="cpu", targets="final", extract_bound_weight=0.0,
        conservative_weight=0.0, val_fraction=0.25,
    )
    return Trainer(cfg).fit(ds, path), cfg


def test_a_model_that_learned_beats_constant_numbers_and_its_predecessor(tmp_path):
    ds = DecisionDataset(runs(400, informative=True), window=L)
    path = tmp_path / "q.safetensors"
    train(ds, path, epochs=1)  # a first, barely trained model
    result, cfg = train(ds, path, epochs=15)
    assert result.previous_path is not None
    v = verdict_for(ds, result, cfg)
    assert v.n_val_runs == 100 and v.n_train_runs == 300
    assert v.level == "good", v.text()
    assert v.new_loss < v.baseline_loss and v.previous_loss is not None
    assert v.new_loss < v.previous_loss


def test_a_model_of_noise_is_no_better_than_guessing(tmp_path):
    ds = DecisionDataset(runs(200, informative=False), window=L)
    result, cfg = train(ds, tmp_path / "q.safetensors", epochs=4)
    v = verdict_for(ds, result, cfg)
    assert v.level in ("useless", "weak") and v.warn, v.text()
    assert v.skill is not None and v.skill < 0.05
