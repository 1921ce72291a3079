"""`arcx train`: fit the Q-net to the labelled runs, with a progress bar and a summary.

    arcx train [--data DIR] [--epochs N] [--out PATH] [--device D] [--batch-size B]
               [--lr LR] [--encoder-id ID] [--threads N] [--precision P] [--seed S] [--json]

The progress bar (steps, ETA, losses, samples/s) goes to stderr; the summary (or, with
`--json`, the `TrainResult` as JSON) to stdout. The model goes to `--out` (default: the
user's models folder) only once it is complete and verified; the one it replaces is kept
as `<name>.prev.safetensors`. Ctrl+C stops without touching the installed model.
Training runs in a child process (`app/core/training/child.py`), as in the app.
Under torchrun (`torchrun --nproc_per_node N -m app train ...`) this process is one rank
of a DDP job (`app/core/training/distributed.py`); rank 0 prints and installs the model.
`--data` may be a pool (`arcx data export`/`import`) and may be given several times.
Before training, a labelled run whose loot value is outside 0..`schema.MAX_LOOT_VALUE`
(labelled by an older ArcX) is refused by name, instead of a non-finite loss later.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the `train` subcommand to the `arcx` subparsers."""
    parser = sub.add_parser(
        "train",
        help="train the model on your labelled runs",
        description="Train the Q-net on the labelled runs under --data and install it "
        "(the previous model is kept for roll-back).",
    )
    parser.add_argument(
        "--data", type=Path, action="append", default=None,
        help="runs folder or pool; repeat it for several (default: the user's runs)",
    )
    parser.add_argument("--out", type=Path, default=None, help="model file (default: the user's qnet.safetensors)")
    parser.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 30)")
    parser.add_argument("--batch-size", type=int, default=None, help="decisions per step (default 256)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, rocm, directml (default: auto)")
    parser.add_argument("--encoder-id", default=None, help="train on this encoder's runs only")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument(
        "--precision", choices=("auto", "fp32", "bf16"), default=None,
        help="auto: bfloat16 on CPUs with native bf16, else float32",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    parser.add_argument("--val-fraction", type=float, default=None, help="share of runs held out (default 0.2)")
    parser.add_argument("--patience", type=int, default=None, help="early-stopping patience in epochs (default 5)")
    parser.add_argument(
        "--val-player", dest="val_players", action="append", default=None, metavar="PLAYER",
        help="validate on this player's runs of a pool instead of a split by run (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _config(args: argparse.Namespace) -> Any:
    from app.core.training.trainer import TrainConfig

    chosen = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "device": args.device,
        "encoder_id": args.encoder_id,
        "num_threads": args.threads,
        "precision": args.precision,
        "seed": args.seed,
        "val_fraction": args.val_fraction,
        "patience": args.patience,
        "val_players": tuple(args.val_players) if args.val_players else None,
    }
    try:
        return TrainConfig(**{k: v for k, v in chosen.items() if v is not None})
    except ValueError as exc:
        from app.core.errors import ArcXError

        raise ArcXError(str(exc)) from exc


def check_labels(root: Path) -> None:
    """ArcXError naming the first labelled run with a loot value training cannot use."""
    import math

    from app.core.data.schema import MAX_LOOT_VALUE
    from app.core.data.store import list_runs
    from app.core.errors import DataError

    for r in list_runs(root):
        v = r.final_loot_value
        if r.labelled and (v is None or not math.isfinite(v) or not 0 <= v <= MAX_LOOT_VALUE):
            raise DataError(
                f"run {r.run_id[:8]} is labelled with loot value {v}, outside 0 to {MAX_LOOT_VALUE:g}; "
                f"relabel it: arcx data label {r.run_id[:8]} --extracted VALUE (or --died)"
            )


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{seconds:.1f} s"


def _fit_here(config: Any, folders: list[Path], out: Path, on_step: Any, cancel: threading.Event) -> Any:
    """Train in this process: one rank of a torchrun job (DDP), or on several folders."""
    from app.core.training import distributed
    from app.core.training.trainer import Trainer

    if not distributed.launched():
        return Trainer(config, on_step=on_step, cancel=cancel).fit(folders, out)
    world = distributed.init(config.device)
    try:
        return Trainer(config, on_step=on_step, cancel=cancel, device=world.device, world=world).fit(folders, out)
    finally:
        distributed.shutdown()


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.cli import log_above_bars
    from app.core import paths
    from app.core.data.pool import RUNS_DIR, is_pool
    from app.core.training import distributed
    from app.core.training.child import train_in_child
    from app.core.training.trainer import TrainProgress

    config = _config(args)
    folders: list[Path] = args.data or [paths.runs_dir()]
    for folder in folders:
        if Path(folder).is_dir():
            check_labels(Path(folder) / RUNS_DIR if is_pool(folder) else folder)
    data = folders[0]
    rank0 = not distributed.launched() or os.environ.get("RANK") == "0"
    out = args.out if args.out is not None else paths.user_models_dir() / "qnet.safetensors"
    bar: Any = None
    cancel = threading.Event()

    def on_step(p: TrainProgress) -> None:
        nonlocal bar
        if args.no_progress or not rank0:
            return
        if bar is None:
            bar = tqdm(total=p.total_steps, unit="step", file=sys.stderr, dynamic_ncols=True)
        bar.set_description(f"epoch {p.epoch}/{p.epochs}")
        post = {"loss": f"{p.train_loss:.4f}", "samples/s": f"{p.samples_per_s:.0f}"}
        if p.val_loss is not None:
            post["val"] = f"{p.val_loss:.4f}"
        bar.set_postfix(post, refresh=False)
        bar.update(p.step - bar.n)

    try:
        with log_above_bars():  # log lines go above the bar, not through it
            if distributed.launched() or len(folders) > 1:  # a torchrun rank, or several folders: here
                result = _fit_here(config, folders, out, on_step, cancel)
            else:
                # in a child process, as the training dialog does (app/core/training/child.py)
                result = train_in_child(config, data, out, on_step=on_step, cancel=cancel, judge=True)
    except KeyboardInterrupt:
        print("arcx: training interrupted; the installed model is unchanged", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    if not rank0:
        return 0  # rank 0 reports for the job

    if args.json:
        d = asdict(result)
        d["metrics"] = result.metrics
        print(json.dumps(d, indent=2, default=str))
        return 0
    stopped = {
        "completed": f"all {result.epochs_run} epochs",
        "early_stopped": f"stopped early after {result.epochs_run} epochs (no improvement for "
        f"{config.patience})",
        "cancelled": "cancelled",
    }[result.stopped]
    print(
        f"Trained on {result.n_train:,} decisions from {result.n_train_runs} runs "
        f"(validation: {result.n_val:,} decisions from {result.n_val_runs} runs), encoder {result.encoder_id}."
    )
    val = f", validation loss {result.best_val_loss:.4f}" if result.best_val_loss is not None else ""
    print(f"{stopped.capitalize()}; best epoch {result.best_epoch}{val}.")
    print(
        f"Device {result.device} ({result.precision}), {result.samples_per_s:.0f} samples/s, "
        f"{_duration(result.seconds)}; value scale {result.value_scale:.4g}."
    )
    if result.checkpoint_path is not None:
        kept = f" (previous kept as {result.previous_path.name})" if result.previous_path else ""
        print(f"Model: {result.checkpoint_path}{kept}")
        _print_verdict(folders, result, config)
    return 0


def _print_verdict(folders: list[Path], result: Any, config: Any) -> None:
    """The new model scored on the held-out runs, in words (app/core/training/verdict.py)."""
    from app.core.errors import ArcXError
    from app.core.training.verdict import verdict_for

    if len(folders) > 1:
        return
    if result.verdict_error is not None:
        print(f"Quality: not checked ({result.verdict_error}).")
        return
    try:
        verdict = result.verdict or verdict_for(folders[0], result, config)  # judged in the child
    except (ArcXError, OSError, ValueError) as exc:
        print(f"Quality: not checked ({exc}).")
        return
    print(("\nWARNING: " if verdict.warn else "\nQuality: ") + verdict.text())
