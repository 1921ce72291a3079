"""Training under torchrun: 2 gloo ranks on the CPU train the model 1 process trains.

The end-to-end test starts `python -m torch.distributed.run --standalone` (rendezvous on
localhost, gloo's sockets on the loopback interface) with `arcx train` unchanged, on a
pool of two players' exported runs.

Tolerance of the validation-loss match: relative 1e-4. The 2 ranks draw the same global
batches, start from the same weights, value scale and input statistics, and DDP's average
of the ranks' weighted gradients is the single process's gradient, so what differs is
only the order of float32 sums (each rank's partial batch, then gloo's all-reduce; the
validation loss summed per rank). Measured: identical float32 losses on this pool, and
1.8e-7 relative on 8 runs of one player (seed 3), float32's rounding; 1e-4 leaves room for that to grow over the steps of 2 epochs, while a real
mistake (a rank's shard trained alone, unweighted gradients, per-rank input statistics)
moves it by percents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from app.core.data.pool import export_runs, import_pools
from app.core.data.synthetic import SyntheticConfig, record_runs, synthetic_run_data
from app.core.errors import DataError
from app.core.model.checkpoint import load_checkpoint
from app.core.model.qnet import QNetConfig, TemporalQNet
from app.core.training import distributed
from app.core.training.distributed import Shard, World
from app.core.training.trainer import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[3]
CFG = SyntheticConfig(latent_dim=16, max_duration_s=20.0, threshold_median=3000.0)
REL_TOL = 1e-4


class _Solo(World):
    """A World whose collectives are the identity: rank `rank` of `size` with no peers."""

    def all_sum(self, values):  # type: ignore[no-untyped-def]
        return np.asarray(values, dtype=np.float64)

    def all_max(self, values):  # type: ignore[no-untyped-def]
        return np.asarray(values, dtype=np.float64)

    def broadcast_flag(self, flag):  # type: ignore[no-untyped-def]
        return bool(flag)


def _world(rank: int = 0, size: int = 1) -> World:
    return _Solo(rank=rank, size=size, local_rank=rank, device=torch.device("cpu"), backend="gloo")


def _pool(tmp_path: Path) -> Path:
    """A pool of two players' exported runs (8 runs)."""
    for who, seed in (("alice", 3), ("bob", 4)):
        record_runs(tmp_path / who, 4, CFG, seed=seed)
        export_runs(tmp_path / who, tmp_path / f"x-{who}", player=who)
    import_pools([tmp_path / "x-alice", tmp_path / "x-bob"], tmp_path / "pool")
    return tmp_path / "pool"


def test_two_gloo_ranks_under_torchrun_match_one_process(tmp_path):
    data = _pool(tmp_path)
    args = ["--data", str(data), "--epochs", "2", "--device", "cpu", "--batch-size", "32",
            "--threads", "1", "--precision", "fp32", "--seed", "0", "--json", "--no-progress"]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1", "ARCX_HOME": str(tmp_path / "home")}
    out = tmp_path / "ddp" / "qnet.safetensors"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "app", "train", *args, "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = json.loads(proc.stdout)  # rank 0 alone prints
    model, meta = load_checkpoint(out, expected_encoder_id=CFG.encoder_id)
    assert isinstance(model, TemporalQNet) and meta.value_scale == pytest.approx(ddp["value_scale"])

    config = TrainConfig(epochs=2, device="cpu", batch_size=32, num_threads=1, precision="fp32", seed=0)
    one = Trainer(config).fit(data, tmp_path / "one" / "qnet.safetensors")
    assert (ddp["n_train"], ddp["n_val"], ddp["n_val_runs"]) == (one.n_train, one.n_val, one.n_val_runs)
    assert ddp["value_scale"] == pytest.approx(one.value_scale, rel=1e-12)
    assert ddp["best_epoch"] == one.best_epoch
    assert ddp["best_val_loss"] == pytest.approx(one.best_val_loss, rel=REL_TOL)
    for h, g in zip(ddp["history"], one.history, strict=True):
        assert h["val_loss"] == pytest.approx(g.val_loss, rel=REL_TOL)
        assert h["train_loss"] == pytest.approx(g.train_loss, rel=REL_TOL)
    # the installed weights are the same model: same advice on the same windows
    single, _ = load_checkpoint(tmp_path / "one" / "qnet.safetensors", expected_encoder_id=CFG.encoder_id)
    z = torch.randn(4, 32, CFG.latent_dim, generator=torch.Generator().manual_seed(0)).abs()
    with torch.no_grad():
        torch.testing.assert_close(model(z), single(z), rtol=1e-3, atol=1e-4)


def test_launched_only_under_torchrun_with_two_or_more_processes():
    env = {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}
    assert distributed.launched(env)
    assert not distributed.launched({**env, "WORLD_SIZE": "1"})
    assert not distributed.launched({})
    assert not distributed.launched({k: v for k, v in env.items() if k != "MASTER_ADDR"})


def test_input_stats_from_sums_are_set_input_stats():
    rng = np.random.default_rng(0)
    frames = (rng.standard_normal((500, 6)) * [1, 2, 3, 0.001, 5, 6] + 4).astype(np.float32)  # one ~constant dim
    cfg = QNetConfig(latent_dim=6, seq_len=4, hidden=8, attn_dim=8, head_dim=8, num_quantiles=4)
    direct, summed = TemporalQNet(cfg), TemporalQNet(cfg)
    direct.set_input_stats(torch.from_numpy(frames))
    distributed.input_stats(_world(), summed, frames)
    torch.testing.assert_close(summed.input_mean, direct.input_mean, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(summed.input_std, direct.input_std, rtol=1e-5, atol=1e-7)
    assert float(summed.input_std[3]) == pytest.approx(0.1 * float(direct.input_std.median()), rel=1e-5)
    with pytest.raises(DataError):
        distributed.input_stats(_world(), summed, frames[:1])


def test_value_scale_is_the_mean_absolute_target():
    assert distributed.value_scale(_world(), np.array([-2.0, 4.0, 6.0])) == pytest.approx(4.0)
    assert distributed.value_scale(_world(), np.zeros(3)) == 1.0


def test_step_weight_makes_the_rank_average_a_batch_mean():
    assert Shard.step_weight(_world(0, 2), 3, 8) == pytest.approx(0.75)
    # two ranks with 3 and 5 of 8 samples: the mean over ranks of weight × local mean = global mean
    losses = np.arange(8.0)
    a, b = losses[:3], losses[3:]
    w = [Shard.step_weight(_world(0, 2), 3, 8), Shard.step_weight(_world(1, 2), 5, 8)]
    assert (w[0] * a.mean() + w[1] * b.mean()) / 2 == pytest.approx(losses.mean())


def _entries(n: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(player=f"p{j % 2}", info=SimpleNamespace(run_id=f"r{j}")) for j in range(n)]


def test_a_shard_numbers_decisions_as_one_process_would():
    runs = synthetic_run_data(5, CFG, seed=4)
    counts = np.array([r.n_decisions for r in runs])
    counts[2] = 0  # unreadable on its rank: left out everywhere
    world = _world(rank=1, size=2)
    mine = {j: runs[j] for j in (1, 3)}  # rank 1 of 2 owns entries 1 and 3
    shard = Shard.from_counts(world, _entries(5), counts, mine, window=4)  # type: ignore[arg-type]
    assert shard.run_ids == ["r0", "r1", "r3", "r4"] and shard.run_players == ["p0", "p1", "p1", "p0"]
    assert len(shard) == counts.sum()
    owned = np.flatnonzero(shard.local_of_global >= 0)
    assert set(shard.run_of_global[owned].tolist()) == {1, 2}  # global runs 1 and 2 are r1 and r3
    np.testing.assert_array_equal(shard.local(owned), np.arange(len(shard.ds)))
    want = np.repeat([runs[1].target, runs[3].target], counts[[1, 3]]).astype(np.float32)
    np.testing.assert_array_equal(shard.ds.targets, want)
    assert len(shard.local(np.flatnonzero(shard.local_of_global < 0))) == 0


def test_fewer_readable_runs_than_ranks_is_refused():
    runs = synthetic_run_data(2, CFG, seed=4)
    counts = np.array([runs[0].n_decisions, 0])
    with pytest.raises(DataError, match="every process needs"):
        Shard.from_counts(_world(0, 2), _entries(2), counts, {0: runs[0]}, window=4)  # type: ignore[arg-type]


def test_a_dataset_in_memory_is_refused_under_torchrun():
    from app.core.data.dataset import DecisionDataset

    ds = DecisionDataset(synthetic_run_data(2, CFG, seed=4), window=4)
    with pytest.raises(DataError, match="not a dataset in memory"):
        Trainer(TrainConfig(epochs=1), world=_world(0, 2)).fit(ds)


def test_the_split_is_made_on_the_global_runs_by_run_or_by_player():
    runs = synthetic_run_data(6, CFG, seed=5)
    counts = np.array([r.n_decisions for r in runs])
    shard = Shard.from_counts(_world(), _entries(6), counts, dict(enumerate(runs)), window=4)  # type: ignore[arg-type]
    train, val = Trainer(TrainConfig(val_fraction=0.34, seed=2), world=_world())._split(shard.ds, shard)
    want_train, want_val = shard.ds.split_by_run(0.34, 2)  # one rank holds every run: the same split
    np.testing.assert_array_equal(train, want_train)
    np.testing.assert_array_equal(val, want_val)
    train, val = Trainer(TrainConfig(val_players=("p1",)), world=_world())._split(shard.ds, shard)
    assert set(shard.run_of_global[val].tolist()) == {1, 3, 5}  # the runs of player p1
    assert set(shard.run_of_global[train].tolist()) == {0, 2, 4}
