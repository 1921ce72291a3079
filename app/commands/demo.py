"""`arcx demo`: the whole loop on a simulated raid with known true EV.

    arcx demo [--headless] [--train-raids N] [--heldout-raids N] [--epochs N] [--seed S] [--assisted] [--plot PNG]

(a) plays N raids with the autopilot and records them (headless, as fast as the encoder
allows, progress bar with ETA), plus held-out raids with their Monte-Carlo truth;
(b) trains the Q-net with the real trainer on what a player can record (frames, the
extract mark, the outcome); then prints how well the model's EV matches the truth on the
held-out raids and the table of loot per raid following each policy (`app.demo.advice`). Without --headless, and where a display is available,
(c) opens the desktop app (tray + overlay) on a live simulated raid shown in a window.
Everything lives in the demo folder (`paths.demo_dir()`), never with the player's runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the `demo` subcommand to the `arcx` subparsers."""
    parser = sub.add_parser(
        "demo",
        help="generate simulated raids, train on them and show the overlay advising live",
        description="The whole loop on a simulated extraction raid whose true EV is known.",
    )
    parser.add_argument("--headless", action="store_true", help="no window: generate, train, print the scores")
    parser.add_argument("--train-raids", "--runs", dest="runs", type=int, default=None,
                        help="training raids, recorded as a player would (default 13)")
    parser.add_argument("--heldout-raids", "--heldout", dest="heldout", type=int, default=None,
                        help="held-out raids with truth to score on (default 5)")
    parser.add_argument("--assisted", action="store_true",
                        help="also train on the simulator's branch samples and show that model as one "
                        "labelled 'simulator-assisted' row (never the headline)")
    parser.add_argument("--epochs", type=int, default=None, help="most training epochs (default 12, early stop after 3 without improvement)")
    parser.add_argument("--seed", type=int, default=0, help="first raid seed")
    parser.add_argument("--root", type=Path, default=None, help="demo folder (default: the user's demo dir)")
    parser.add_argument("--plot", type=Path, default=None, help="save a calibration plot PNG here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run)


def display_available() -> bool:
    """True when a Qt window can be shown here."""
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.cli import log_above_bars
    from app.commands.eval import print_advice, print_metrics
    from app.core import paths
    from app.demo.evaluation import calibration_plot
    from app.demo.pipeline import DemoConfig, run_headless

    headless = args.headless
    if not headless and not display_available():
        print("arcx demo: no display here: running headless (generate, train, score).", file=sys.stderr)
        headless = True
    cfg = DemoConfig(seed=args.seed, branches=args.assisted)
    if args.runs is not None:
        cfg = replace(cfg, n_train_runs=args.runs)
    if args.heldout is not None:
        cfg = replace(cfg, n_heldout_runs=args.heldout)
    if args.epochs is not None:
        cfg = replace(cfg, train=replace(cfg.train, epochs=args.epochs))
    root = args.root or paths.demo_dir()
    bars: dict[str, Any] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if args.no_progress:
            return
        bar = bars.get(phase)
        if bar is None:
            desc = "recording raids" if phase == "generate" else "held-out raids + truth"
            bar = bars[phase] = tqdm(total=total, desc=desc, unit="raid", file=sys.stderr, dynamic_ncols=True)
        bar.update(done - bar.n)
        if done == total:
            bar.close()

    def epoch(p: Any) -> None:
        if not args.no_progress:
            val = f"{p.val_loss:.4f}" if p.val_loss is not None else "-"
            tqdm.write(f"training: epoch {p.epoch}/{p.epochs}  train {p.train_loss:.4f}  val {val}  "
                       f"ETA {p.eta_s:.0f} s", file=sys.stderr)

    print(f"arcx demo: {cfg.n_train_runs} training + {cfg.n_heldout_runs} held-out raids in {root}",
          file=sys.stderr)
    with log_above_bars():  # log lines go above the bars, not through them
        result = run_headless(root, cfg, progress=progress, on_epoch_end=epoch)
    g, h, t = result.train_gen, result.heldout_gen, result.training
    print(f"encoder: {result.encoder_reason}")
    print(f"generated: {len(g.runs) + len(h.runs)} raids, {g.n_decisions + h.n_decisions} decisions, "
          f"{g.n_frames + h.n_frames} frames")
    print(f"trained: {t.n_train} samples, {t.epochs_run} epochs (best {t.best_epoch}) -> {result.model_path}")
    print("wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items()))
    print_metrics(result.metrics)
    print()
    print_advice(result.advice)
    if args.plot:
        print(f"calibration plot: {calibration_plot(result.metrics, args.plot)}")
    if headless:
        return 0
    from app.ui.demo import run_gui

    return int(run_gui(result.model_path, seed=cfg.seed + cfg.n_train_runs + cfg.n_heldout_runs))
