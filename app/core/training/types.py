"""What a training run takes and gives, as plain data: importable without torch.

`TrainConfig` (hyper-parameters), `TrainProgress` (after every step and epoch) and
`TrainResult` (what `Trainer.fit` produced) cross process boundaries (the training child
sends them as JSON, `child.py`) and reach the desktop app's widgets, which must not load
torch: the lean live app never imports it (`app/core/model/lean.py`). `trainer.py`
re-exports them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app.core.model.dims import WINDOW
from app.core.model.qnet_config import QNetConfig

if TYPE_CHECKING:
    from app.core.training.verdict import Verdict

__all__ = [
    "DEFAULT_MODEL_NAME",
    "EpochStats",
    "Precision",
    "StopReason",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
]

DEFAULT_MODEL_NAME = "qnet.safetensors"
Precision = Literal["auto", "fp32", "bf16"]
StopReason = Literal["completed", "early_stopped", "cancelled"]



@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run."""

    epochs: int = 12
    """maximum passes over the training decisions (with early stopping the best epoch on
    10–200 demo raids was the 2nd to the 7th)"""
    batch_size: int = 256
    """decisions per optimiser step"""
    lr: float = 1e-3
    """AdamW learning rate"""
    weight_decay: float = 1e-4
    """AdamW decoupled weight decay"""
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    """cosine: decay from lr to lr·lr_final_fraction over all epochs' steps; constant: lr"""
    lr_final_fraction: float = 0.1
    """the cosine schedule's last learning rate, as a fraction of lr"""
    grad_clip: float = 1.0
    """maximum global gradient norm (0 disables clipping)"""
    patience: int = 4
    """epochs without a validation improvement before stopping early"""
    min_delta: float = 0.0
    """a validation loss must drop by more than this to count as an improvement"""
    val_fraction: float = 0.15
    """share of runs (not decisions) held out for validation"""
    seed: int = 0
    """seeds the weights, the split, the shuffling and dropout"""
    device: str | None = None
    """None: `select_device` decides (honours ARCX_DEVICE); else e.g. "cpu", "cuda:1", "directml" """
    precision: Precision = "auto"
    """auto: bfloat16 autocast on CPUs with native bf16, float32 elsewhere"""
    num_threads: int | None = None
    """CPU threads for torch during training. None: torch's setting, but steps are timed
    with it and with 1 thread now and then, and the faster is kept: on a CPU that other
    programs keep busy, one thread can be several times faster than waiting for a
    descheduled second one. Set it for bit-exact reproducibility across runs"""
    kappa: float = 0.01
    """Huber threshold κ in scaled units. QR-DQN uses 1, but with targets scaled to ≈1 a κ
    that large makes most residuals quadratic and the outputs expectiles, not quantiles
    (measured: 0.55σ off at the tails); 0.01 keeps them within a few % of σ"""
    value_scale: float | None = None
    """None: fit on the training targets (mean |target|); else use this"""
    window: int = WINDOW
    """L: frames per decision window when loading runs from a folder"""
    encoder_id: str | None = None
    """when a folder holds runs of several encoders: train on this one's"""
    qnet: QNetConfig | None = None
    """architecture; None: the default with latent_dim taken from the data"""
    targets: Literal["final", "stopping"] = "stopping"
    """final: every decision's target is the run's final value (the seed's rule); stopping:
    stay decisions bootstrap from the next decision's better action (Q-learning for optimal
    stopping, `targets.py`). Measured on 60 demo raids from pixels: with final values the
    advice said extract at 100 % of looting decisions (6 loot per raid against the habit's
    626); with stopping targets and the extract bound, never (= the habit)"""
    td_lambda: float = 0.5
    """stopping: weight of the recorded final value in each bootstrapped target (1 = final)"""
    bootstrap_after: int = 0
    """stopping: epochs trained on final values before the first bootstrapped targets. With
    early stopping the best epoch is often the 2nd or 3rd, so waiting 2 epochs meant the
    installed model had never seen a bootstrapped target: on 200 held-out demo raids, 50
    recorded raids gave 121 % of the oracle's gain with 2 and 175 % [109, 251] with 0 (seeds
    1, 2: 172 %, 106 %); 100 raids 126 % and 182 %"""
    extract_bound_weight: float = 1.0
    """weight of the penalty on extract means above the final value of an extracted run's
    looting decisions (the loot carried never exceeds what was banked); 0: off"""

    conservative_weight: float = 1.0
    """CQL-style pessimism: weight of logsumexp over the actions' means minus the taken
    action's mean, which keeps an action the data rarely took (extract, while looting)
    below the one it took unless outcomes support it; 0: off. Measured on the full-size
    demo's 13 raids: without it the advice said extract at 98 % of looting decisions (18
    loot per raid against the habit's 548), with 0.3 or 1.0 never (= the habit)"""

    standardize_inputs: bool = True
    """fit the Q-net's input standardisation on the training frames (see `qnet.py`);
    False keeps the identity (raw latents), as before format 2"""

    val_players: tuple[str, ...] = ()
    """validate on these players' runs (of a pool, `pool.py`) instead of a split by run:
    does a pooled model transfer to someone new? Empty: the split by run"""

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "epochs must be ≥ 1"),
            (self.batch_size >= 1, "batch_size must be ≥ 1"),
            (self.lr > 0, "lr must be > 0"),
            (self.lr_schedule in ("cosine", "constant"), "lr_schedule must be cosine or constant"),
            (0.0 <= self.lr_final_fraction <= 1.0, "lr_final_fraction must be in [0, 1]"),
            (self.weight_decay >= 0, "weight_decay must be ≥ 0"),
            (self.grad_clip >= 0, "grad_clip must be ≥ 0"),
            (self.patience >= 1, "patience must be ≥ 1"),
            (0.0 <= self.val_fraction < 1.0, "val_fraction must be in [0, 1)"),
            (self.kappa >= 0, "kappa must be ≥ 0"),
            (self.value_scale is None or self.value_scale > 0, "value_scale must be > 0"),
            (self.precision in ("auto", "fp32", "bf16"), "precision must be auto, fp32 or bf16"),
            (self.targets in ("final", "stopping"), "targets must be final or stopping"),
            (0.0 <= self.td_lambda <= 1.0, "td_lambda must be in [0, 1]"),
            (self.bootstrap_after >= 0, "bootstrap_after must be ≥ 0"),
            (self.extract_bound_weight >= 0, "extract_bound_weight must be ≥ 0"),
            (self.conservative_weight >= 0, "conservative_weight must be ≥ 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["qnet"] = self.qnet.to_dict() if self.qnet else None
        return d


@dataclass(frozen=True)
class TrainProgress:
    """Where training is; passed to `on_step` and `on_epoch_end`. Plain data."""

    epoch: int
    """current epoch, 1-based"""
    epochs: int
    """maximum epochs"""
    step: int
    """optimiser steps done so far, over all epochs"""
    total_steps: int
    """steps if no early stop happens"""
    train_loss: float
    """mean training loss of the current epoch so far"""
    val_loss: float | None
    """validation loss of the latest finished epoch (None before the first)"""
    best_val_loss: float | None
    """best validation loss so far"""
    samples_per_s: float
    """training throughput so far (validation time excluded)"""
    eta_s: float
    """estimated seconds left, assuming no early stop"""
    device: str = "cpu"
    """device training runs on"""


@dataclass(frozen=True)
class EpochStats:
    """One finished epoch, as the loss chart and the CLI show it."""

    epoch: int
    """1-based"""
    train_loss: float
    """mean training loss over the epoch's batches (the objective `fit` minimises)"""
    val_loss: float | None
    """loss on the held-out runs (None without a validation split)"""
    seconds: float
    """wall time of the epoch, validation included"""


@dataclass(frozen=True)
class TrainResult:
    """What `fit` produced."""

    stopped: StopReason
    """completed all epochs, stopped early, or cancelled (nothing written)"""
    checkpoint_path: Path | None
    """the installed model; None when cancelled"""
    previous_path: Path | None
    """where the model it replaced was kept, if there was one"""
    best_epoch: int
    """epoch whose weights were saved (1-based; 0 if none finished)"""
    best_val_loss: float | None
    """its validation loss (None without a validation split)"""
    epochs_run: int
    """epochs finished"""
    value_scale: float
    """loot units per network unit"""
    device: str
    """device trained on (after any fallback)"""
    precision: str
    """fp32 or bf16"""
    n_train: int
    """training decisions"""
    n_val: int
    """validation decisions"""
    n_train_runs: int
    """runs the training decisions came from"""
    n_val_runs: int
    """held-out runs (whole runs: no run is split between the two)"""
    encoder_id: str
    """the encoder whose latents the model reads (`arcx data summary` lists it per run)"""
    seconds: float
    """wall time of fit"""
    samples_per_s: float
    """training throughput"""
    history: tuple[EpochStats, ...] = field(default_factory=tuple)
    """every finished epoch, in order"""
    verdict: Verdict | None = None
    """the new model scored on the held-out runs (`verdict.py`), when the training child
    was asked to judge it (`train_in_child(judge=True)`); None otherwise"""
    verdict_error: str | None = None
    """why the judging failed, in words (the model is installed all the same)"""

    @property
    def metrics(self) -> dict[str, float | int | str]:
        """The numbers a dialog or the CLI shows."""
        out: dict[str, float | int | str] = {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "train_decisions": self.n_train,
            "val_decisions": self.n_val,
            "value_scale": self.value_scale,
            "samples_per_s": self.samples_per_s,
            "seconds": self.seconds,
        }
        if self.best_val_loss is not None:
            out["best_val_loss"] = self.best_val_loss
        if self.history:
            out["final_train_loss"] = self.history[-1].train_loss
        return out
