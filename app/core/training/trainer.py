"""Trainer: labelled runs → a verified Q-net checkpoint. A plain class with callbacks.

    trainer = Trainer(TrainConfig(epochs=30), on_step=..., on_epoch_end=..., cancel=event)
    result = trainer.fit(paths.runs_dir(), paths.user_models_dir() / "qnet.safetensors")

What `fit` does:

1. Loads a `DecisionDataset` (or takes one) and splits it **by run** into train and
   validation decisions.
2. Fits the value scale on the training targets (mean |target|), so the network sees
   numbers near 1; the scale goes into the checkpoint and `compute_ev` multiplies it back.
3. Trains on the device the caller decided (`device`, the app's), else on
   `app.core.device.resolve_device(config.device)`; runs one forward + backward on it; if that fails or gives non-finite gradients (DirectML's
   backward breaks on some AMD cards) it logs a warning and trains on the CPU.
4. Trains with AdamW, gradient clipping and the quantile Huber loss on the taken
   action's quantiles; validates after every epoch and stops early after `patience`
   epochs without improvement. Callbacks get a `TrainProgress` after every step and
   every epoch; `cancel.is_set()` is checked after every step.
5. Installs the best epoch's weights (`install.py`): a temporary file next to `out_path`,
   loaded back and checked to reproduce the in-memory model, and only then renamed over
   `out_path` (the model that was there is kept as `<name>.prev.safetensors`). A
   cancelled or failed run leaves the player's model untouched.

On the CPU the thread count of the steps adapts to the machine's load (`threads.py`).

Under torchrun (`distributed.py`, a `World` passed in) every rank loads its shard of the
runs; the split, value scale, input standardisation, each step's global batch, the
validation loss and the early-stop decision are the single process's, agreed across
ranks; DDP averages the gradients, and only rank 0 installs the model.

Speed: on a CPU with native bfloat16 (AVX512-BF16 / AMX) `precision="auto"` runs the
forward pass under bfloat16 autocast, which is several times faster than float32 on
the same cores; the loss, optimiser and stored weights stay float32. Elsewhere it
trains in float32. Batches are gathered from the in-memory frames with one numpy
fancy-index (no per-item Python, no DataLoader workers).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from app.core import paths
from app.core.data.dataset import DecisionDataset
from app.core.data.pool import is_pool, load_pool, player_mask, run_split_mask
from app.core.device import resolve_device
from app.core.errors import DataError
from app.core.model.qnet import QNetConfig, TemporalQNet
from app.core.training import distributed
from app.core.training.distributed import Shard, World
from app.core.training.install import install_model
from app.core.training.loss import midpoint_taus, quantile_huber_loss, taken_quantiles
from app.core.training.targets import Transitions, extract_bounds, mixed_targets, transitions
from app.core.training.threads import ThreadTuner
from app.core.training.types import (  # noqa: F401  (re-exported: the trainer's public types)
    DEFAULT_MODEL_NAME,
    EpochStats,
    Precision,
    StopReason,
    TrainConfig,
    TrainProgress,
    TrainResult,
)

log = logging.getLogger(__name__)

# Windows per forward pass when validating (no activations kept, so larger is fine).
_EVAL_BATCH = 512
# Samples in the device probe (one forward + backward before training).
_PROBE_BATCH = 4


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


ProgressCallback = Callable[[TrainProgress], None]


class _DeviceFailed(Exception):
    """Training on a non-CPU device failed; retry on the CPU."""


def fit_value_scale(targets: np.ndarray) -> float:
    """Mean |target| of the training set (1.0 when every target is 0, e.g. all deaths)."""
    t = np.abs(np.asarray(targets, dtype=np.float64))
    scale = float(t.mean()) if len(t) else 0.0
    return scale if math.isfinite(scale) and scale > 1e-8 else 1.0


def cpu_has_bf16() -> bool:
    """True when this CPU runs bfloat16 matrix maths natively (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class Trainer:
    """Fits a TemporalQNet to labelled runs. See the module docstring."""

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        on_step: ProgressCallback | None = None,
        on_epoch_end: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        device: torch.device | None = None,
        world: World | None = None,
    ) -> None:
        """device: where to train, already decided (the app's device, from the player's
        setting); None: `resolve_device(config.device)` decides. world: this process's
        place in a torchrun job (`distributed.init`); None: one process."""
        self.config = config or TrainConfig()
        self.on_step = on_step
        self.on_epoch_end = on_epoch_end
        self.cancel: CancelToken = cancel if cancel is not None else threading.Event()
        self.device = device
        self.world = world

    # ------------------------------------------------------------------------ public

    def fit(
        self, data: Path | str | DecisionDataset | Sequence[Path], out_path: Path | str | None = None
    ) -> TrainResult:
        """Train on `data` (a runs folder, a pool, several of them, or a dataset); install
        the model at `out_path`.

        out_path defaults to the user models dir / qnet.safetensors. Raises DataError
        when there is nothing to train on. Under torchrun (`world`) `data` must be folders.
        """
        cfg = self.config
        started = time.perf_counter()
        shard = None
        if self.world is not None:
            if isinstance(data, DecisionDataset):
                raise DataError("distributed training reads runs folders or pools, not a dataset in memory")
            shard = Shard.load(self.world, _sources(data), window=cfg.window, encoder_id=cfg.encoder_id)
            ds = shard.ds
        elif isinstance(data, DecisionDataset):
            ds = data
        elif len(sources := _sources(data)) > 1 or is_pool(sources[0]):
            ds = load_pool(sources, window=cfg.window, encoder_id=cfg.encoder_id)
        else:
            ds = DecisionDataset.from_root(sources[0], window=cfg.window, encoder_id=cfg.encoder_id)
        out = Path(out_path) if out_path is not None else paths.user_models_dir() / DEFAULT_MODEL_NAME
        train_idx, val_idx = self._split(ds, shard)
        n_runs = shard.n_runs if shard is not None else ds.n_runs
        run_of = shard.run_of_global if shard is not None else ds.run_index
        n_val_runs = len(set(run_of[val_idx].tolist()))
        if len(train_idx) == 0:
            raise DataError("no training decisions after the validation split")
        if len(val_idx) == 0:
            log.warning("only %d run(s): no validation split; the last epoch's model is kept", n_runs)
        if cfg.value_scale:
            scale = cfg.value_scale
        elif self.world is not None and shard is not None:
            scale = distributed.value_scale(self.world, ds.targets[shard.local(train_idx)])
        else:
            scale = fit_value_scale(ds.targets[train_idx])
        qcfg = cfg.qnet or QNetConfig(latent_dim=ds.latent_dim)
        if qcfg.latent_dim != ds.latent_dim:
            raise DataError(f"the Q-net expects D={qcfg.latent_dim}, the runs have D={ds.latent_dim}")

        old_threads = torch.get_num_threads()
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        try:
            device = self.device if self.device is not None else resolve_device(cfg.device)
            try:
                state = self._fit_on(device, ds, train_idx, val_idx, scale, qcfg, shard)
            except _DeviceFailed as exc:
                if self.world is not None:  # the ranks cannot fall back one by one
                    raise DataError(f"training on {device} failed on rank {self.world.rank} ({exc}); "
                                    "train every rank on the CPU (--device cpu)") from exc
                log.warning("training on %s failed (%s); training on the CPU instead", device, exc)
                device = torch.device("cpu")
                state = self._fit_on(device, ds, train_idx, val_idx, scale, qcfg)
        finally:
            torch.set_num_threads(old_threads)

        installed = previous = None
        if state.stopped != "cancelled":
            installed, previous = self._install_agreed(
                state.best_model, out, ds, scale, state, train_idx, val_idx, n_runs - n_val_runs)
        return TrainResult(
            stopped=state.stopped,
            checkpoint_path=installed,
            previous_path=previous,
            best_epoch=state.best_epoch,
            best_val_loss=state.best_val if len(val_idx) else None,
            epochs_run=len(state.history),
            value_scale=scale,
            device=str(device),
            precision=state.precision,
            n_train=len(train_idx),
            n_val=len(val_idx),
            n_train_runs=n_runs - n_val_runs,
            n_val_runs=n_val_runs,
            encoder_id=ds.encoder_id,
            seconds=time.perf_counter() - started,
            samples_per_s=state.samples_per_s,
            history=tuple(state.history),
        )

    # ------------------------------------------------------------------------ internals

    def _split(self, ds: DecisionDataset, shard: Shard | None) -> tuple[np.ndarray, np.ndarray]:
        """(train, validation) decisions (global ones under torchrun): by run, or the runs
        of `val_players` held out."""
        cfg = self.config
        if shard is None:
            if not cfg.val_players:
                return ds.split_by_run(cfg.val_fraction, cfg.seed)
            is_val = player_mask(ds.run_players, cfg.val_players)[ds.run_index]
        else:
            runs = (player_mask(shard.run_players, cfg.val_players) if cfg.val_players
                    else run_split_mask(shard.n_runs, cfg.val_fraction, cfg.seed))
            is_val = runs[shard.run_of_global]
        return np.flatnonzero(~is_val), np.flatnonzero(is_val)

    def _precision(self, device: torch.device) -> str:
        p = self.config.precision
        if p == "auto":
            return "bf16" if device.type == "cpu" and cpu_has_bf16() else "fp32"
        return p

    def _batch(
        self, ds: DecisionDataset, idx: np.ndarray, scale: float, device: torch.device,
        goals: _Goals | None = None,
    ) -> _Batch:
        """Windows, actions and targets of decisions `idx`; without `goals`, each target is
        the run's final value (what validation always scores)."""
        z = torch.from_numpy(ds.windows(idx)).to(device)  # (B, L, D) float32
        a = torch.from_numpy(ds.actions[idx]).to(device)  # (B,)
        if goals is None:
            y = torch.from_numpy(ds.targets[idx] / np.float32(scale)).to(device)  # (B,) scaled
            return _Batch(z, a, y, None, None)
        w = torch.from_numpy(goals.weights[idx]).to(device)  # (B, M)
        y = torch.from_numpy(goals.targets[idx]).to(device)  # (B, M) scaled
        bound = torch.from_numpy(goals.bounds[idx]).to(device) if goals.bounds is not None else None
        return _Batch(z, a, y, w, bound)

    def _loss(self, model: nn.Module, batch: _Batch, taus: torch.Tensor, precision: str) -> torch.Tensor:
        if precision == "bf16":
            with torch.autocast(device_type=batch.z.device.type, dtype=torch.bfloat16):
                q = model(batch.z)  # (B, A, K)
        else:
            q = model(batch.z)  # (B, A, K)
        q = q.float()
        loss = quantile_huber_loss(taken_quantiles(q, batch.a), batch.y, taus, self.config.kappa,
                                   weights=batch.w)
        if batch.bound is not None and self.config.extract_bound_weight > 0:
            over = torch.relu(q[:, 1, :].mean(dim=1) - batch.bound)  # (B,): inf bounds give 0
            loss = loss + self.config.extract_bound_weight * over.pow(2).mean()
        if self.config.conservative_weight > 0 and batch.w is not None:  # training batches only
            means = q.mean(dim=2)  # (B, A)
            taken = means.gather(1, batch.a.long().view(-1, 1)).squeeze(1)  # (B,)
            loss = loss + self.config.conservative_weight * (torch.logsumexp(means, dim=1) - taken).mean()
        return loss

    def _goals(
        self, model: nn.Module, ds: DecisionDataset, scale: float, device: torch.device,
        precision: str, epoch: int, tr: Transitions | None,
    ) -> _Goals | None:
        """This epoch's targets: None (final values) unless the config asks for more."""
        cfg = self.config
        if cfg.targets == "final" and cfg.extract_bound_weight == 0 and cfg.conservative_weight == 0:
            return None
        q_next = None
        if tr is not None and epoch > cfg.bootstrap_after:
            q_next = self._predict_all(model, ds, device, precision)  # the target network
        y, w = mixed_targets(ds, tr, q_next, scale, cfg.td_lambda) if tr is not None else (
            (ds.targets / np.float32(scale))[:, None].astype(np.float32), np.ones((len(ds), 1), np.float32)
        )
        bounds = extract_bounds(ds, scale) if cfg.extract_bound_weight > 0 else None
        return _Goals(y, w, bounds)

    def _predict_all(
        self, model: nn.Module, ds: DecisionDataset, device: torch.device, precision: str
    ) -> np.ndarray:
        """[N, 2, K] quantiles (scaled) of every decision from a frozen copy of `model`."""
        model.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(ds), _EVAL_BATCH):
                z = torch.from_numpy(ds.windows(np.arange(start, min(start + _EVAL_BATCH, len(ds))))).to(device)
                if precision == "bf16":
                    with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                        q = model(z)
                else:
                    q = model(z)
                out.append(q.float().to("cpu").numpy())
        model.train()
        return np.concatenate(out)

    def _probe(
        self, model: nn.Module, ds: DecisionDataset, idx: np.ndarray, scale: float,
        device: torch.device, taus: torch.Tensor, precision: str,
    ) -> None:
        """One forward + backward on a copy of the model; raise _DeviceFailed if it breaks."""
        try:
            probe = copy.deepcopy(model).to(device)
            self._loss(probe, self._batch(ds, idx[:_PROBE_BATCH], scale, device), taus, precision).backward()
            grads = [p.grad for p in probe.parameters() if p.grad is not None]
            if not grads:
                raise RuntimeError("the backward pass produced no gradients")
            if not all(bool(torch.isfinite(g).all().to("cpu")) for g in grads):
                raise RuntimeError("the backward pass produced non-finite gradients")
        except Exception as exc:
            raise _DeviceFailed(f"{type(exc).__name__}: {exc}") from exc

    def _fit_on(
        self,
        device: torch.device,
        ds: DecisionDataset,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        scale: float,
        qcfg: QNetConfig,
        shard: Shard | None = None,
    ) -> _FitState:
        """Train; under torchrun `train_idx` and `val_idx` are global and `ds` is the shard's."""
        cfg = self.config
        world = self.world if shard is not None else None
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        model = TemporalQNet(qcfg)
        if cfg.standardize_inputs and world is not None and shard is not None:
            distributed.input_stats(world, model, ds.frames[ds.frame_rows(shard.local(train_idx))])
        elif cfg.standardize_inputs:
            model.set_input_stats(torch.from_numpy(ds.frames[ds.frame_rows(train_idx)].astype(np.float32)))
        precision = self._precision(device)
        taus_cpu = midpoint_taus(qcfg.num_quantiles)
        if device.type != "cpu":
            self._probe(model, ds, train_idx, scale, device, taus_cpu.to(device), precision)
        taus = taus_cpu.to(device)
        model.to(device)
        # the steps run through DDP (it averages the gradients); everything else uses `model`
        step_model: nn.Module = model if world is None else DistributedDataParallel(
            model, device_ids=[device] if device.type == "cuda" else None, broadcast_buffers=False)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps_per_epoch = math.ceil(len(train_idx) / cfg.batch_size)
        total_steps = steps_per_epoch * cfg.epochs
        state = _FitState(precision=precision)
        log.info(
            "training on %s (%s): %d train / %d val decisions, value scale %.4g, %d steps/epoch",
            device, precision, len(train_idx), len(val_idx), scale, steps_per_epoch,
        )
        tuner = ThreadTuner(torch.get_num_threads() if device.type == "cpu" and not cfg.num_threads else 1)
        fit_start = time.perf_counter()
        train_seconds = 0.0
        samples = 0
        bad_epochs = 0
        tr = transitions(ds) if cfg.targets == "stopping" else None
        for epoch in range(1, cfg.epochs + 1):
            epoch_start = time.perf_counter()
            goals = self._goals(model, ds, scale, device, precision, epoch, tr)
            model.train()
            order = rng.permutation(train_idx)
            loss_sum, loss_n = 0.0, 0
            for b in range(steps_per_epoch):
                threads = tuner.threads()
                if tuner.active and torch.get_num_threads() != threads:
                    torch.set_num_threads(threads)
                t0 = time.perf_counter()
                idx = step_idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                weight = 1.0
                if shard is not None and world is not None:  # this rank's part of the global batch
                    idx = shard.local(step_idx)
                    weight = Shard.step_weight(world, len(idx), len(step_idx))
                batch = self._batch(ds, idx if len(idx) else np.zeros(1, np.int64), scale, device, goals)
                for group in opt.param_groups:
                    group["lr"] = self._lr_at(state.step, total_steps)
                try:
                    opt.zero_grad(set_to_none=True)
                    loss = self._loss(step_model, batch, taus, precision)
                    if world is None:
                        loss.backward()
                    else:  # a rank without samples in this step adds zero gradients
                        (loss * weight).backward()
                    if cfg.grad_clip > 0:
                        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    opt.step()
                    value = float(loss.detach().to("cpu")) if len(idx) else 0.0
                except RuntimeError as exc:
                    if device.type != "cpu":
                        raise _DeviceFailed(f"{type(exc).__name__}: {exc}") from exc
                    raise
                cancelled = False
                if world is not None:  # every rank stops, or none
                    cancelled, bad = world.any(self.cancel.is_set(), not math.isfinite(value))
                    value = value if not bad else math.nan
                if not math.isfinite(value):
                    if device.type != "cpu":
                        raise _DeviceFailed("the training loss became non-finite")
                    raise DataError("the training loss became non-finite (check the labels' loot values)")
                loss_sum += value * len(idx)
                loss_n += len(idx)
                samples += len(step_idx)
                seconds = time.perf_counter() - t0
                train_seconds += seconds
                tuner.record(threads, seconds, full_batch=len(step_idx) == cfg.batch_size)
                state.step += 1
                if self.on_step is not None:
                    self.on_step(self._progress(state, epoch, total_steps, loss_sum / loss_n,
                                                samples / max(train_seconds, 1e-9), fit_start, str(device)))
                if cancelled or (world is None and self.cancel.is_set()):
                    log.info("training cancelled at epoch %d, step %d", epoch, state.step)
                    state.stopped = "cancelled"
                    state.samples_per_s = samples / max(train_seconds, 1e-9)
                    return state
            if world is not None and shard is not None:
                loss_sum, loss_n = world.all_sum([loss_sum, loss_n])
                val_loss = self._evaluate_shard(world, shard, model, val_idx, scale, device, taus, precision)
            else:
                val_loss = self._evaluate(model, ds, val_idx, scale, device, taus, precision) if len(val_idx) else None
            train_loss = loss_sum / max(loss_n, 1)
            state.history.append(EpochStats(epoch, train_loss, val_loss, time.perf_counter() - epoch_start))
            score = val_loss if val_loss is not None else train_loss
            if state.best_val is None or score < state.best_val - cfg.min_delta or val_loss is None:
                state.best_val, state.best_epoch, bad_epochs = score, epoch, 0
                state.best_model = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
            state.samples_per_s = samples / max(train_seconds, 1e-9)
            log.info("epoch %d/%d: train %.4f, val %s", epoch, cfg.epochs, train_loss,
                     f"{val_loss:.4f}" if val_loss is not None else "—")
            if self.on_epoch_end is not None:
                self.on_epoch_end(self._progress(state, epoch, total_steps, train_loss,
                                                 state.samples_per_s, fit_start, str(device), val_loss))
            stop = bad_epochs >= cfg.patience and epoch < cfg.epochs
            if world is not None:
                stop = world.broadcast_flag(stop)  # rank 0 decides (all computed the same)
            if stop:
                log.info("no improvement for %d epochs: stopping early", bad_epochs)
                state.stopped = "early_stopped"
                break
        return state

    def _lr_at(self, step: int, total_steps: int) -> float:
        cfg = self.config
        if cfg.lr_schedule == "constant" or total_steps <= 1:
            return cfg.lr
        low = cfg.lr * cfg.lr_final_fraction
        return low + (cfg.lr - low) * 0.5 * (1.0 + math.cos(math.pi * step / (total_steps - 1)))

    def _evaluate(
        self, model: nn.Module, ds: DecisionDataset, idx: np.ndarray, scale: float,
        device: torch.device, taus: torch.Tensor, precision: str,
    ) -> float:
        model.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(idx), _EVAL_BATCH):
                chunk = idx[start : start + _EVAL_BATCH]
                total += float(self._loss(model, self._batch(ds, chunk, scale, device), taus, precision).to("cpu")) * len(chunk)
        return total / len(idx)

    def _evaluate_shard(
        self, world: World, shard: Shard, model: nn.Module, val_idx: np.ndarray, scale: float,
        device: torch.device, taus: torch.Tensor, precision: str,
    ) -> float | None:
        """The validation loss over every rank's part of the (global) `val_idx`."""
        local = shard.local(val_idx)
        mean = self._evaluate(model, shard.ds, local, scale, device, taus, precision) if len(local) else 0.0
        total, n = world.all_sum([mean * len(local), len(local)])
        return float(total / n) if n else None

    def _progress(
        self, state: _FitState, epoch: int, total_steps: int, train_loss: float,
        samples_per_s: float, fit_start: float, device: str, val_loss: float | None = None,
    ) -> TrainProgress:
        elapsed = time.perf_counter() - fit_start
        eta = elapsed / state.step * (total_steps - state.step) if state.step else float("nan")
        last_val = val_loss if val_loss is not None else (
            state.history[-1].val_loss if state.history else None
        )
        return TrainProgress(
            epoch=epoch,
            epochs=self.config.epochs,
            step=state.step,
            total_steps=total_steps,
            train_loss=train_loss,
            val_loss=last_val,
            best_val_loss=state.best_val if any(h.val_loss is not None for h in state.history) else None,
            samples_per_s=samples_per_s,
            eta_s=max(eta, 0.0),
            device=device,
        )

    def _install_agreed(
        self,
        weights: dict[str, torch.Tensor] | None,
        out: Path,
        ds: DecisionDataset,
        scale: float,
        state: _FitState,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        n_train_runs: int,
    ) -> tuple[Path, Path | None]:
        """`_install`; under torchrun only rank 0 installs, and the others learn whether it did."""
        if self.world is None:
            return self._install(weights, out, ds, scale, state, train_idx, val_idx, n_train_runs)
        failure: Exception | None = None
        result: tuple[Path, Path | None] = (out, None)
        if self.world.is_main:
            try:
                result = self._install(weights, out, ds, scale, state, train_idx, val_idx, n_train_runs)
            except Exception as exc:  # re-raised below, once the other ranks know
                failure = exc
        if not self.world.broadcast_flag(failure is None):
            if failure is not None:
                raise failure
            raise DataError(f"rank 0 could not install the model at {out} (see its log)")
        return result

    def _install(
        self,
        weights: dict[str, torch.Tensor] | None,
        out: Path,
        ds: DecisionDataset,
        scale: float,
        state: _FitState,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        n_train_runs: int,
    ) -> tuple[Path, Path | None]:
        """Rebuild the best epoch's model and install it at `out` (see install.py)."""
        if weights is None:
            raise DataError("training finished no epoch; nothing to save")
        qcfg = self.config.qnet or QNetConfig(latent_dim=ds.latent_dim)
        model = TemporalQNet(qcfg)
        model.load_state_dict(weights)
        model.eval()
        extra = {
            "train_config": json.dumps(self.config.to_dict(), sort_keys=True),
            "train_decisions": str(len(train_idx)),
            "val_decisions": str(len(val_idx)),
            "train_runs": str(n_train_runs),
            "precision": state.precision,
        }
        return install_model(
            model, out, ds, value_scale=scale, epoch=state.best_epoch,
            val_loss=state.best_val if state.best_val is not None else float("nan"), extra=extra,
        )


def _sources(data: Path | str | Sequence[Path]) -> list[Path]:
    """The folders `data` names: one (a path) or several (a list or tuple of paths)."""
    if isinstance(data, (str, Path)):
        return [Path(data)]
    if not data:
        raise DataError("no runs folders or pools to train on")
    return [Path(p) for p in data]


@dataclass(frozen=True)
class _Batch:
    z: torch.Tensor
    """[B, L, D] windows"""
    a: torch.Tensor
    """[B] actions taken"""
    y: torch.Tensor
    """[B] or [B, M] targets, scaled"""
    w: torch.Tensor | None
    """[B, M] target sample weights (None: [B] targets)"""
    bound: torch.Tensor | None
    """[B] upper bound of the extract mean (inf: none), or None"""


@dataclass(frozen=True)
class _Goals:
    """One epoch's targets for every decision of the dataset."""

    targets: np.ndarray
    """[N, M] scaled"""
    weights: np.ndarray
    """[N, M] rows sum to 1"""
    bounds: np.ndarray | None
    """[N] extract-mean upper bounds (scaled, inf where none)"""


@dataclass
class _FitState:
    precision: str
    step: int = 0
    best_val: float | None = None
    best_epoch: int = 0
    best_model: dict[str, torch.Tensor] | None = None
    stopped: StopReason = "completed"
    samples_per_s: float = 0.0
    history: list[EpochStats] = field(default_factory=list)


__all__ = [
    "EpochStats",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
    "Trainer",
    "cpu_has_bf16",
    "fit_value_scale",
]
