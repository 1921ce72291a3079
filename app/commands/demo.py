"""`arcx demo`: the whole loop on a simulated raid with known true EV.

    arcx demo [--headless] [--fresh] [--train-raids N] [--heldout-raids N] [--epochs N] [--seed S] [--assisted] [--plot PNG]

(a) plays N raids with the autopilot and records them (headless, as fast as the encoder
allows), plus held-out raids with their Monte-Carlo truth;
(b) trains the Q-net with the real trainer on what a player can record (frames, the
extract mark, the outcome); then prints how well the model's EV matches the truth on the
held-out raids and the table of loot per raid following each policy (`app.demo.advice`).

With --headless (or where no display is available) it does (a) and (b) in the
foreground, with progress bars, and exits. Otherwise (c) it opens the desktop app (tray +
overlay) on a live simulated raid shown in a window *at once*, the overlay saying it is
learning, and does (a) and (b) behind it in a lower-priority child process
(`app.demo.builder`): the trained model is hot-swapped in as soon as it is trained, and
the held-out scores are printed when they are ready. A second `arcx demo` reuses the demo
folder's raids and model when they were made with the same settings and encoder
(`--fresh` makes new ones); it says which on the terminal. Everything lives in the demo
folder (`paths.demo_dir()`), never with the player's runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.demo.pipeline import DemoConfig, DemoResult


def register(sub: Any) -> None:
    """Add the `demo` subcommand to the `arcx` subparsers."""
    parser = sub.add_parser(
        "demo",
        help="generate simulated raids, train on them and show the overlay advising live",
        description="The whole loop on a simulated extraction raid whose true EV is known.",
    )
    parser.add_argument("--headless", action="store_true", help="no window: generate, train, print the scores")
    parser.add_argument("--fresh", action="store_true",
                        help="make new raids and a new model even if the demo folder has matching ones "
                        "(--headless always makes new ones)")
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


def demo_config(args: argparse.Namespace) -> DemoConfig:
    """The demo's settings from the command line."""
    from app.demo.pipeline import DemoConfig

    cfg = DemoConfig(seed=args.seed, branches=args.assisted)
    if args.runs is not None:
        cfg = replace(cfg, n_train_runs=args.runs)
    if args.heldout is not None:
        cfg = replace(cfg, n_heldout_runs=args.heldout)
    if args.epochs is not None:
        cfg = replace(cfg, train=replace(cfg.train, epochs=args.epochs))
    return cfg


def report_text(result: DemoResult) -> str:
    """What the demo prints after scoring: encoder, raids, training, wall time, the
    held-out metrics and the loot-per-raid table (the headless output, and the windowed
    demo's once its background scoring is done)."""
    from app.commands.eval import print_advice, print_metrics

    g, h, t = result.train_gen, result.heldout_gen, result.training
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print(f"encoder: {result.encoder_reason}")
        print(f"generated: {len(g.runs) + len(h.runs)} raids, {g.n_decisions + h.n_decisions} decisions, "
              f"{g.n_frames + h.n_frames} frames")
        print(f"trained: {t.n_train} samples, {t.epochs_run} epochs (best {t.best_epoch}) -> {result.model_path}")
        print("wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items()))
        print_metrics(result.metrics)
        print()
        print_advice(result.advice)
    return out.getvalue().rstrip("\n")


def run(args: argparse.Namespace) -> int:
    from app.core import paths

    headless = args.headless
    if not headless and not display_available():
        print("arcx demo: no display here: running headless (generate, train, score).", file=sys.stderr)
        headless = True
    cfg = demo_config(args)
    root = args.root or paths.demo_dir()
    if headless:
        return run_headless_cli(args, cfg, root)
    return run_windowed(args, cfg, root)


def run_headless_cli(args: argparse.Namespace, cfg: DemoConfig, root: Path) -> int:
    """Generate, train and score in the foreground with progress bars; print the scores."""
    from tqdm import tqdm

    from app.cli import log_above_bars
    from app.core.training.child import result_to_dict
    from app.demo import builder
    from app.demo.evaluation import calibration_plot
    from app.demo.pipeline import run_headless

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
            tqdm.write(epoch_line(p), file=sys.stderr)

    print(f"arcx demo: {cfg.n_train_runs} training + {cfg.n_heldout_runs} held-out raids in {root}",
          file=sys.stderr)
    with log_above_bars():  # log lines go above the bars, not through them
        result = run_headless(root, cfg, progress=progress, on_epoch_end=epoch)
    text = report_text(result)
    print(text)
    if args.plot:
        line = f"calibration plot: {calibration_plot(result.metrics, args.plot)}"
        print(line)
        text += "\n" + line
    # a later windowed `arcx demo` with the same settings reuses these raids and this model
    builder.write_info(
        root, cfg, complete=True, encoder_id=result.training.encoder_id, model=result.model_path,
        result=result_to_dict(result.training), report=text,
        runs={"train": [r.path.name for r in result.train_gen.runs],
              "heldout": [r.path.name for r in result.heldout_gen.runs]},
    )
    return 0


def epoch_line(p: Any) -> str:
    """One training epoch for the terminal."""
    val = f"{p.val_loss:.4f}" if p.val_loss is not None else "-"
    return f"training: epoch {p.epoch}/{p.epochs}  train {p.train_loss:.4f}  val {val}  ETA {p.eta_s:.0f} s"


def run_windowed(args: argparse.Namespace, cfg: DemoConfig, root: Path) -> int:
    """The game window and the overlay at once; learn behind them unless the demo folder
    can be reused (`app.demo.builder.reuse_plan`)."""
    from app.demo import builder

    plan = builder.reuse_plan(root, cfg, fresh=args.fresh)
    if plan.saved is not None:
        print(f"arcx demo: reusing {plan.reason} in {root} (--fresh makes new ones)", file=sys.stderr)
        if plan.saved.report:
            print(plan.saved.report)
    else:
        print(f"arcx demo: {plan.reason}: opening the game now; recording {cfg.n_train_runs} training raids "
              f"and training behind it in {root} (then {cfg.n_heldout_runs} held-out raids to score it)",
              file=sys.stderr)
    from app.ui.demo import run_gui

    return int(run_gui(root, cfg, plan, seed=cfg.seed + cfg.n_train_runs + cfg.n_heldout_runs,
                       plot=args.plot, progress=not args.no_progress))
