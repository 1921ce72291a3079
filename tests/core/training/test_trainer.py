"""Trainer: it learns, it is reproducible, it never leaves the player without a model."""

from __future__ import annotations

import ast
import inspect
import logging
import threading
from dataclasses import FrozenInstanceError, fields

import numpy as np
import pytest
import torch

from app.core.data.dataset import DecisionDataset, RunData
from app.core.errors import CheckpointError, DataError
from app.core.model.checkpoint import load_checkpoint, read_metadata
from app.core.model.ev import quantile_midpoints
from app.core.model.qnet import QNetConfig
from app.core.training import install as install_module
from app.core.training import trainer as trainer_module
from app.core.training.trainer import (
    TrainConfig,
    Trainer,
    TrainProgress,
    fit_value_scale,
)

D, L, K = 8, 4, 8
TINY = QNetConfig(
    latent_dim=D, seq_len=L, hidden=16, num_layers=1, attn_dim=16, head_dim=32, num_quantiles=K, dropout=0.0
)


def two_group_runs(n_runs: int, seed: int = 0) -> list[RunData]:
    """Runs of one decision each. Group g (its latents sit near ±1) has loot ~ U(100g, 100g + 100)."""
    rng = np.random.default_rng(seed)
    runs = []
    for i in range(n_runs):
        g = i % 2
        lat = (rng.standard_normal((L, D)) * 0.3 + (1.0 if g else -1.0)).astype(np.float16)
        loot = rng.uniform(0.0, 100.0) + 100.0 * g
        runs.append(RunData(f"run-{i}", "enc", lat, np.array([L - 1]), np.array([0], dtype=np.int8), loot))
    return runs


def config(**kw) -> TrainConfig:
    # the quantile regression itself, on final-value targets (the stopping targets and the
    # extract bound are tested in test_targets.py and by the demo)
    base = dict(epochs=3, batch_size=64, lr=3e-3, qnet=TINY, num_threads=1, precision="fp32", device="cpu",
                targets="final", extract_bound_weight=0.0, conservative_weight=0.0, val_fraction=0.2)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def small_ds() -> DecisionDataset:
    return DecisionDataset(two_group_runs(60), window=L)


def test_learns_conditional_quantiles(tmp_path):
    """Learned quantiles come within 10% of the distribution's scale of the true ones.

    Targets depend on the latents: group 0 ~ U(0, 100), group 1 ~ U(100, 200). The scale
    of U(a, a + s) is s = 100; the true quantile at τ is a + τ·s.
    """
    ds = DecisionDataset(two_group_runs(1000), window=L)
    result = Trainer(config(epochs=20, patience=100)).fit(ds, tmp_path / "q.safetensors")
    assert result.stopped == "completed"
    model, meta = load_checkpoint(tmp_path / "q.safetensors", expected_encoder_id="enc")
    taus = quantile_midpoints(K)
    for g in (0, 1):
        idx = np.arange(g, len(ds), 2)[:300]
        with torch.no_grad():
            q = model(torch.from_numpy(ds.windows(idx)))[:, 0, :].numpy() * meta.value_scale  # (B, K)
        learned = np.sort(q, axis=1).mean(axis=0)
        true = 100.0 * g + 100.0 * taus
        assert np.abs(learned - true).max() <= 0.1 * 100.0, (g, learned.round(1))
        # on average within 10% of the standard deviation too (σ = 100/√12)
        assert np.abs(learned - true).mean() <= 0.1 * 100.0 / np.sqrt(12), (g, learned.round(1))


def test_reproducible_with_a_seed(tmp_path, small_ds):
    a = Trainer(config()).fit(small_ds, tmp_path / "a.safetensors")
    b = Trainer(config()).fit(small_ds, tmp_path / "b.safetensors")
    assert [h.val_loss for h in a.history] == [h.val_loss for h in b.history]
    assert read_metadata(a.checkpoint_path)["content_sha256"] == read_metadata(b.checkpoint_path)["content_sha256"]
    c = Trainer(config(seed=1)).fit(small_ds, tmp_path / "c.safetensors")
    assert [h.val_loss for h in c.history] != [h.val_loss for h in a.history]


def test_checkpoint_carries_scale_encoder_and_split(tmp_path, small_ds):
    result = Trainer(config(val_fraction=0.25)).fit(small_ds, tmp_path / "q.safetensors")
    train_idx, val_idx = small_ds.split_by_run(0.25, 0)
    assert (result.n_train, result.n_val) == (len(train_idx), len(val_idx))
    assert (result.n_train_runs, result.n_val_runs) == (45, 15)
    assert result.value_scale == pytest.approx(np.abs(small_ds.targets[train_idx]).mean(), rel=1e-6)
    _, meta = load_checkpoint(result.checkpoint_path)
    assert meta.encoder_id == "enc" and meta.value_scale == pytest.approx(result.value_scale)
    assert meta.epoch == result.best_epoch and meta.val_loss == pytest.approx(result.best_val_loss)
    assert meta.extra["train_decisions"] == str(len(train_idx))
    assert meta.extra["precision"] == "fp32"
    assert result.metrics["best_epoch"] == result.best_epoch


def test_replaces_the_model_only_when_verified_and_keeps_the_previous(tmp_path, small_ds, monkeypatch):
    out = tmp_path / "models" / "qnet.safetensors"
    first = Trainer(config()).fit(small_ds, out)
    assert first.previous_path is None and out.is_file()
    first_hash = read_metadata(out)["content_sha256"]

    second = Trainer(config(seed=5)).fit(small_ds, out)
    assert second.previous_path == tmp_path / "models" / "qnet.prev.safetensors"
    assert read_metadata(second.previous_path)["content_sha256"] == first_hash
    second_hash = read_metadata(out)["content_sha256"]
    assert second_hash != first_hash

    def broken(path, model, ds, scale):
        raise CheckpointError("does not reproduce the trained model")

    monkeypatch.setattr(install_module, "verify_checkpoint", broken)
    with pytest.raises(CheckpointError):
        Trainer(config(seed=6)).fit(small_ds, out)
    assert read_metadata(out)["content_sha256"] == second_hash  # untouched
    assert sorted(p.name for p in out.parent.iterdir()) == ["qnet.prev.safetensors", "qnet.safetensors"]


def test_callbacks_report_progress(tmp_path, small_ds):
    steps: list[TrainProgress] = []
    epochs: list[TrainProgress] = []
    result = Trainer(config(), on_step=steps.append, on_epoch_end=epochs.append).fit(
        small_ds, tmp_path / "q.safetensors"
    )
    per_epoch = -(-result.n_train // 64)
    assert [p.step for p in steps] == list(range(1, 3 * per_epoch + 1))
    assert all(p.total_steps == 3 * per_epoch and p.epochs == 3 for p in steps)
    assert steps[-1].eta_s == 0.0 and all(p.eta_s >= 0 and p.samples_per_s > 0 for p in steps)
    assert steps[0].val_loss is None  # no epoch has finished yet
    assert [p.epoch for p in epochs] == [1, 2, 3]
    assert [p.val_loss for p in epochs] == [h.val_loss for h in result.history]
    assert epochs[-1].best_val_loss == result.best_val_loss == min(h.val_loss for h in result.history)
    with pytest.raises(FrozenInstanceError):
        steps[0].step = 0  # type: ignore[misc]


def test_cancel_writes_nothing(tmp_path, small_ds):
    cancel = threading.Event()
    out = tmp_path / "q.safetensors"
    seen: list[int] = []

    def on_step(p: TrainProgress) -> None:
        seen.append(p.step)
        if p.step == 2:
            cancel.set()

    result = Trainer(config(), on_step=on_step, cancel=cancel).fit(small_ds, out)
    assert result.stopped == "cancelled" and result.checkpoint_path is None
    assert seen == [1, 2] and not out.exists() and list(tmp_path.iterdir()) == []


def test_early_stopping(tmp_path, small_ds):
    # A learning rate too small to move the loss by min_delta: epoch 1 stays the best.
    result = Trainer(config(epochs=10, lr=1e-9, patience=2, min_delta=1.0)).fit(
        small_ds, tmp_path / "q.safetensors"
    )
    assert result.stopped == "early_stopped" and result.epochs_run == 3 and result.best_epoch == 1


def test_backward_failure_falls_back_to_the_cpu(tmp_path, small_ds, caplog):
    # The meta device runs forward and backward but has no values: the probe fails.
    with caplog.at_level(logging.WARNING):
        result = Trainer(config(device="meta", epochs=1)).fit(small_ds, tmp_path / "q.safetensors")
    assert result.device == "cpu" and result.checkpoint_path is not None
    assert any("training on the CPU instead" in r.getMessage() for r in caplog.records)


def test_single_run_trains_without_validation(tmp_path, caplog):
    lat = np.random.default_rng(0).standard_normal((20, D)).astype(np.float16)
    run = RunData("only", "enc", lat, np.arange(3, 20, 4), np.zeros(5, dtype=np.int8), 50.0)
    result = Trainer(config(epochs=2)).fit(DecisionDataset([run], window=L), tmp_path / "q.safetensors")
    assert result.n_val == 0 and result.best_val_loss is None and result.best_epoch == 2
    assert any("no validation split" in r.getMessage() for r in caplog.records)


def test_trains_from_a_runs_folder(tmp_path):
    from app.core.data.synthetic import SyntheticConfig, record_runs

    cfg = SyntheticConfig(latent_dim=D, max_duration_s=20.0, threshold_median=3000.0)
    record_runs(tmp_path / "runs", 4, cfg, seed=0)
    qnet = QNetConfig(latent_dim=D, hidden=8, num_layers=1, attn_dim=8, head_dim=8)
    result = Trainer(config(epochs=1, qnet=qnet, window=8)).fit(tmp_path / "runs", tmp_path / "q.safetensors")
    assert result.encoder_id == cfg.encoder_id and result.n_train_runs + result.n_val_runs == 4
    with pytest.raises(DataError, match="no labelled runs"):
        Trainer(config()).fit(tmp_path / "empty", tmp_path / "q2.safetensors")


def test_latent_size_must_match(tmp_path, small_ds):
    with pytest.raises(DataError, match="D=16"):
        Trainer(config(qnet=QNetConfig(latent_dim=16))).fit(small_ds, tmp_path / "q.safetensors")


def test_bf16_precision_trains(tmp_path, small_ds):
    result = Trainer(config(precision="bf16", epochs=1)).fit(small_ds, tmp_path / "q.safetensors")
    assert result.precision == "bf16" and np.isfinite(result.history[0].train_loss)
    _, meta = load_checkpoint(result.checkpoint_path)
    assert meta.extra["precision"] == "bf16"


def test_fit_value_scale():
    assert fit_value_scale(np.array([0.0, 100.0, 300.0])) == pytest.approx(400 / 3)
    assert fit_value_scale(np.zeros(5)) == 1.0  # everyone died
    assert fit_value_scale(np.array([])) == 1.0


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"patience": 0}, "patience"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"kappa": -1.0}, "kappa"),
        ({"value_scale": 0.0}, "value_scale"),
        ({"precision": "fp8"}, "precision"),
        ({"lr_schedule": "step"}, "lr_schedule"),
    ],
)
def test_config_rejects(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


def test_every_config_field_is_documented():
    """Each field of the training types carries a docstring where it is defined
    (``app.core.training.types``, re-exported by the trainer)."""
    for cls in ("TrainConfig", "TrainProgress", "EpochStats", "TrainResult"):
        klass = getattr(trainer_module, cls)
        tree = ast.parse(inspect.getsource(inspect.getmodule(klass)))
        node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
        body = node.body
        documented = {
            a.target.id
            for a, nxt in zip(body, body[1:], strict=False)
            if isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name)
            and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
        }
        names = {f.name for f in fields(klass)}
        assert names <= documented, (cls, names - documented)


def test_pessimism_term_known_value_and_direction():
    """The conservative term is logsumexp over the actions' means minus the taken one's:
    ln 2 when they are equal; its gradient lowers the action the data did not take."""
    from app.core.training.trainer import _Batch

    class Fixed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q = torch.nn.Parameter(torch.ones(1, 2, K))

        def forward(self, z):  # noqa: ANN001
            return self.q.expand(z.shape[0], 2, K)

    taus = torch.as_tensor(quantile_midpoints(K), dtype=torch.float32)
    batch = _Batch(torch.zeros(1, L, D), torch.zeros(1, dtype=torch.long), torch.ones(1, 1),
                   torch.ones(1, 1), None)
    base = Trainer(config(conservative_weight=0.0))._loss(Fixed(), batch, taus, "fp32")
    model = Fixed()
    loss = Trainer(config(conservative_weight=2.0))._loss(model, batch, taus, "fp32")
    assert float((loss - base).detach()) == pytest.approx(2.0 * np.log(2.0), rel=1e-5)
    loss.backward()
    assert (model.q.grad[0, 1] > 0).all()  # descent lowers extract, the action not taken
    with pytest.raises(ValueError, match="conservative_weight"):
        TrainConfig(conservative_weight=-1.0)


def test_standardised_inputs_make_training_blind_to_the_latents_scale(tmp_path):
    """The encoder's latents are tiny and offset (a random-init ResNet's spread ~0.01 per
    dimension). With the standardisation the trainer fits, the net learns from them as
    from unit-scale latents; fed raw, it learns far less in the same epochs."""
    runs = two_group_runs(400)
    tiny = [RunData(r.run_id, r.encoder_id, (r.latents.astype(np.float32) * 0.01 + 0.5).astype(np.float16),
                    r.decision_rows, r.actions, r.target) for r in runs]
    cfg = config(epochs=10, patience=100)
    unit = Trainer(cfg).fit(DecisionDataset(runs, window=L), tmp_path / "unit.safetensors")
    scaled = Trainer(cfg).fit(DecisionDataset(tiny, window=L), tmp_path / "tiny.safetensors")
    raw = Trainer(config(epochs=10, patience=100, standardize_inputs=False)).fit(
        DecisionDataset(tiny, window=L), tmp_path / "raw.safetensors")
    assert scaled.best_val_loss == pytest.approx(unit.best_val_loss, rel=0.05)
    assert raw.best_val_loss > 1.5 * scaled.best_val_loss  # measured ×1.96–2.10 over seeds 0–3
    model, _ = load_checkpoint(tmp_path / "tiny.safetensors")
    assert float(model.input_mean.mean()) == pytest.approx(0.5, abs=0.01)
