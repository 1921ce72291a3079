"""Training on several processes under torchrun: PyTorch's own DDP, nothing home-made.

    torchrun --nproc_per_node 2 -m app train --data POOL ...

`launched()` tells whether this process was started by torchrun with more than one
process in the job; only then does `arcx train` call `init` (outside torchrun nothing
changes). `init` picks the rank's device with the app's one device decider
(`resolve_device`; a bare "cuda" becomes cuda:LOCAL_RANK), joins the process group
(nccl on GPUs, gloo on CPUs) through torchrun's environment, and returns a `World`.

How the trainer uses it (`trainer.py`), so that N processes train the same model one
process would, on the same data and seed:

- every rank lists the same runs (`pool.pool_entries`, cheap: run rows only) and loads
  only its shard (`Shard.load`: run j goes to rank j mod N); the ranks all-reduce the
  runs' decision counts, so every rank knows the global decision numbering;
- the split by run (or by held-out player) is made on the global run list, the value
  scale and the input standardisation from all-reduced sums (`value_scale`,
  `input_stats`);
- each step's global batch is the one a single process would draw; each rank computes
  the loss of its part, weighted by its share (`Shard.step_weight`), and DDP's gradient
  average then equals the single process's gradient;
- validation sums, the per-step cancel / non-finite flags and the early-stop decision are
  agreed (`all_sum`, `any`, `broadcast_flag`); only rank 0 installs the checkpoint.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from app.core.data.dataset import DecisionDataset, RunData
from app.core.data.pool import PoolRun, load_entries, pool_entries
from app.core.device import resolve_device
from app.core.errors import DataError
from app.core.model.qnet import TemporalQNet

log = logging.getLogger(__name__)

__all__ = ["Shard", "World", "init", "input_stats", "launched", "shutdown", "value_scale"]

# torchrun sets these in every process it starts.
_TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launched(env: Mapping[str, str] | None = None) -> bool:
    """True when torchrun started this process as one of two or more."""
    env = os.environ if env is None else env
    return all(k in env for k in _TORCHRUN_ENV) and int(env["WORLD_SIZE"]) > 1


@dataclass(frozen=True)
class World:
    """This process's place in the job, and the few collectives training needs."""

    rank: int
    """0 … size − 1; rank 0 writes the checkpoint and prints"""
    size: int
    """processes in the job (all nodes)"""
    local_rank: int
    """rank on this node (picks the GPU)"""
    device: torch.device
    """where this rank trains"""
    backend: str
    """nccl (GPUs) or gloo (CPUs)"""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def _tensor(self, values: np.ndarray | Sequence[float]) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values, dtype=np.float64), device=self._comm_device())

    def _comm_device(self) -> torch.device:
        return self.device if self.backend == "nccl" else torch.device("cpu")

    def all_sum(self, values: np.ndarray | Sequence[float]) -> np.ndarray:
        """Element-wise sum over the ranks (float64)."""
        t = self._tensor(values)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.to("cpu").numpy()

    def all_max(self, values: np.ndarray | Sequence[float]) -> np.ndarray:
        t = self._tensor(values)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t.to("cpu").numpy()

    def any(self, *flags: bool) -> list[bool]:
        """For each flag: is it set on any rank?"""
        return [bool(v > 0) for v in self.all_max([float(f) for f in flags])]

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's `flag`, on every rank."""
        t = self._tensor([float(flag)])
        dist.broadcast(t, src=0)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        dist.barrier()


def init(device_spec: str | None = None, env: Mapping[str, str] | None = None) -> World:
    """Join torchrun's process group; the device comes from `resolve_device(device_spec)`."""
    env = os.environ if env is None else env
    rank, size, local_rank = int(env["RANK"]), int(env["WORLD_SIZE"]), int(env["LOCAL_RANK"])
    device = resolve_device(device_spec)
    if device.type == "cuda" and (device_spec is None or ":" not in device_spec):
        device = torch.device("cuda", local_rank)  # one GPU per process on a node
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    log.info("rank %d of %d (local %d) on %s, backend %s", rank, size, local_rank, device, backend)
    return World(rank=rank, size=size, local_rank=local_rank, device=device, backend=backend)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


@dataclass
class Shard:
    """This rank's runs of the pool, and the map between its and the global decisions.

    Global decisions are numbered as one process's `DecisionDataset` would number them:
    the runs in `pool_entries` order, unreadable or empty runs left out.
    """

    ds: DecisionDataset
    """this rank's runs (decisions numbered locally)"""
    local_of_global: np.ndarray
    """[N] int64: local index of each global decision, −1 where another rank has it"""
    run_of_global: np.ndarray
    """[N] int64: global run of each global decision"""
    run_players: list[str]
    """[R] player of each global run"""
    run_ids: list[str]
    """[R] id of each global run"""

    @property
    def n_runs(self) -> int:
        return len(self.run_ids)

    def __len__(self) -> int:
        return len(self.run_of_global)

    @classmethod
    def load(
        cls, world: World, sources: Sequence[Path], *, window: int, encoder_id: str | None
    ) -> Shard:
        entries = pool_entries(sources, encoder_id=encoder_id)
        mine = [j for j in range(len(entries)) if j % world.size == world.rank]
        loaded = load_entries([entries[j] for j in mine])
        counts = np.zeros(len(entries))
        for j, run in zip(mine, loaded, strict=True):
            counts[j] = run.n_decisions if run is not None else 0
        counts = world.all_sum(counts).astype(np.int64)
        return cls.from_counts(world, entries, counts, dict(zip(mine, loaded, strict=True)), window)

    @classmethod
    def from_counts(
        cls, world: World, entries: Sequence[PoolRun], counts: np.ndarray,
        mine: dict[int, RunData | None], window: int,
    ) -> Shard:
        """The shard, given every entry's decision count (0: left out) and this rank's runs."""
        kept = np.flatnonzero(counts > 0)  # (R,) entries that are global runs
        per_rank = np.bincount(kept % world.size, minlength=world.size)
        if per_rank.min() == 0:
            raise DataError(
                f"{len(kept)} readable labelled runs for {world.size} processes: every process needs "
                "at least one (train on fewer processes)"
            )
        run_of_global = np.repeat(np.arange(len(kept)), counts[kept])
        owned = [g for g, j in enumerate(kept) if j in mine]  # global runs of this rank, in order
        ds = DecisionDataset([r for j in kept if (r := mine.get(int(j))) is not None], window=window)
        local_of_global = np.full(len(run_of_global), -1, dtype=np.int64)
        local_of_global[np.isin(run_of_global, owned)] = np.arange(len(ds))
        return cls(
            ds=ds,
            local_of_global=local_of_global,
            run_of_global=run_of_global,
            run_players=[entries[int(j)].player for j in kept],
            run_ids=[entries[int(j)].info.run_id for j in kept],
        )

    def local(self, global_idx: np.ndarray) -> np.ndarray:
        """The local indices of those of `global_idx` this rank holds (in their order)."""
        idx = self.local_of_global[global_idx]
        return idx[idx >= 0]

    @staticmethod
    def step_weight(world: World, n_local: int, n_global: int) -> float:
        """Weight of a rank's mean loss over its `n_local` of a step's `n_global` samples so
        that DDP's gradient average (a mean over ranks) is the gradient of the mean over all
        `n_global`: size · n_local / n_global."""
        return world.size * n_local / n_global


def value_scale(world: World, local_targets: np.ndarray) -> float:
    """`trainer.fit_value_scale` over every rank's training targets (mean |target|)."""
    t = np.abs(np.asarray(local_targets, dtype=np.float64))
    total, n = world.all_sum([t.sum(), len(t)])
    scale = float(total / n) if n else 0.0
    return scale if np.isfinite(scale) and scale > 1e-8 else 1.0


def input_stats(world: World, model: TemporalQNet, local_frames: np.ndarray) -> None:
    """`model.set_input_stats` over every rank's training frames [n_r, D], from all-reduced
    counts, sums and sums of squares (float64), with the same std floor."""
    x = np.asarray(local_frames, dtype=np.float64)
    d = x.shape[1]
    sums = world.all_sum(np.concatenate([[len(x)], x.sum(axis=0), (x * x).sum(axis=0)]))
    n, s, ss = sums[0], sums[1 : d + 1], sums[d + 1 :]
    if n < 2:
        raise DataError("fewer than 2 training frames: cannot fit the input standardisation")
    mean = s / n
    std = np.sqrt(np.maximum(ss - n * mean * mean, 0.0) / (n - 1))  # unbiased, as torch.std
    model.set_input_moments(torch.from_numpy(mean), torch.from_numpy(std))
