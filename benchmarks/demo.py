"""The full-size headless demo, timed: generate → train → evaluate on held-out raids.

    python benchmarks/demo.py [--train-runs 13] [--heldout-runs 5] [--epochs N] [--lr X] [--assisted] [--size H W] [--root DIR]
    python benchmarks/demo.py --root DIR --reuse [--epochs N] [--lr X] [--hidden H]   # train + evaluate only

Prints the runs and decisions generated, the wall time of each phase, the held-out
scores (ΔEV rank correlation, advice agreement with the "always stay" baseline's and the
balanced agreement, mean calibration error) and the table that matters: loot per raid
following each policy (the habit, always extract, random, the tuned fixed rule, each
ArcX profile, the oracle; with --assisted one simulator-assisted row), with the load
average before and after (others sharing the CPU slow the encoder). The headline model
is trained only on what a player records. Time target on a 2-core CPU: total ≤ 15 min.
The data goes to a temporary folder unless --root is given (never the player's runs).
With --reuse the raids already under --root (train/, heldout/ of an earlier run) are kept
and only the training and the evaluation run: a few minutes instead of the generation's ~8.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import machine_line  # noqa: E402

from app.commands.eval import print_advice  # noqa: E402
from app.core.training.trainer import TrainResult  # noqa: E402
from app.demo.advice import Table  # noqa: E402
from app.demo.evaluation import Metrics  # noqa: E402
from app.demo.pipeline import DemoConfig, run_headless, train_and_evaluate  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-runs", type=int, default=DemoConfig.n_train_runs)
    p.add_argument("--heldout-runs", type=int, default=DemoConfig.n_heldout_runs)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--hidden", type=int, default=None, help="Q-net GRU hidden size per direction")
    p.add_argument("--branch-samples", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--assisted", action="store_true", help="also train on branch samples: one labelled row")
    p.add_argument("--size", type=int, nargs=2, default=None, metavar=("H", "W"), help="render size (default 225 400)")
    p.add_argument("--root", type=Path, default=None)
    p.add_argument("--reuse", action="store_true", help="train + evaluate on the raids under --root (no generation)")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(machine_line())
    print(f"load average: {os.getloadavg()}")
    cfg = DemoConfig(n_train_runs=args.train_runs, n_heldout_runs=args.heldout_runs, seed=args.seed,
                     branches=args.assisted)
    if args.size:
        cfg = replace(cfg, gen=replace(cfg.gen, size=tuple(args.size)))
    if args.epochs:
        cfg = replace(cfg, train=replace(cfg.train, epochs=args.epochs))
    if args.lr:
        cfg = replace(cfg, train=replace(cfg.train, lr=args.lr))
    if args.hidden:
        assert cfg.train.qnet is not None
        cfg = replace(cfg, train=replace(cfg.train, qnet=replace(cfg.train.qnet, hidden=args.hidden)))
    if args.branch_samples is not None:
        cfg = replace(cfg, gen=replace(cfg.gen, branch_samples=args.branch_samples))

    def progress(phase: str, done: int, total: int) -> None:
        print(f"  {phase}: raid {done}/{total}", flush=True)

    def epoch(pr: object) -> None:
        print(f"  train: epoch {pr.epoch}/{pr.epochs} train {pr.train_loss:.4f} val {pr.val_loss}", flush=True)  # type: ignore[attr-defined]

    if args.reuse:
        if args.root is None:
            p.error("--reuse needs --root (the folder of an earlier run)")
        training, m, table, path, s = train_and_evaluate(
            args.root, cfg.train, on_epoch_end=epoch, branches=args.assisted, hysteresis=cfg.hysteresis
        )
        print(f"reused the raids under {args.root} (no generation)")
        _report(training, m, table, {**s, "total": s["train"] + s["eval"]}, args.json, full=False)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        r = run_headless(args.root or Path(tmp), cfg, progress=progress, on_epoch_end=epoch)
    print(f"encoder: {r.encoder_reason}")
    for name, g in (("train", r.train_gen), ("held-out", r.heldout_gen)):
        print(
            f"{name}: {len(g.runs)} runs, {g.n_frames} frames, {g.n_decisions} decisions "
            f"({sum(x.outcome == 'died' for x in g.runs)} died); play {g.seconds_play:.0f} s, "
            f"encode {g.seconds_encode:.0f} s ({1000 * g.seconds_encode / max(g.n_frames, 1):.0f} ms/frame), "
            f"record {g.seconds_record:.0f} s, {'truth' if name == 'held-out' else 'branches'} {g.seconds_truth:.0f} s"
        )
    _report(r.training, r.metrics, r.advice, r.seconds, args.json, full=True)
    return 0


def _report(
    t: TrainResult, m: Metrics, table: Table, s: dict[str, float], json_path: Path | None, *, full: bool
) -> None:
    print(
        f"training: {t.n_train} samples (recorded decisions of {t.n_train_runs} runs), {t.epochs_run} epochs, "
        f"best {t.best_epoch}, {t.samples_per_s:.0f} samples/s, value scale {t.value_scale:.0f}, {t.precision}"
    )
    print("wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in s.items()))
    print(m.summary())
    print()
    print_advice(table)
    print(f"load average after: {os.getloadavg()}")
    if full:
        print(f"time target (≤ 900 s): {'met' if s['total'] <= 900 else 'NOT met'} ({s['total']:.0f} s)")
    if json_path:
        json_path.write_text(json.dumps({"seconds": s, "metrics": m.to_dict(), "advice": table.to_dict()}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
