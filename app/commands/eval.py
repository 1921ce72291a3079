"""`arcx eval`: score a Q-net against the truth of held-out simulated runs.

    arcx eval [--data DIR] [--model PATH] [--plot PNG] [--json]

DIR holds held-out demo runs with truth sidecars (default: the demo folder's heldout/);
PATH is a checkpoint (default: the demo's model). Prints the ΔEV rank correlation, the
advice agreement with the truly better action, the quantile calibration per τ, and the
table of loot per raid following the advice (each risk profile, with the overlay's
hysteresis from the settings) beside the habit, the baselines and the oracle.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the `eval` subcommand to the `arcx` subparsers."""
    parser = sub.add_parser(
        "eval",
        help="score a model against the known truth of held-out demo runs",
        description="Score a Q-net on held-out simulated runs with known true EV.",
    )
    parser.add_argument("--data", type=Path, default=None, help="held-out runs (default: the demo's)")
    parser.add_argument("--model", type=Path, default=None, help="checkpoint (default: the demo's model)")
    parser.add_argument("--plot", type=Path, default=None, help="save a calibration plot PNG here (needs matplotlib)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.set_defaults(handler=run)


def print_metrics(m: Any) -> None:
    """The metrics as the demo and `arcx eval` print them."""
    from app.demo.sim import TAUS

    print(f"held-out: {m.n_runs} runs, {m.n_decisions} looting decisions "
          f"(extract truly better at {100 * m.true_extract_share:.0f}%)")
    print(f"ΔEV rank correlation (Spearman): {m.spearman:.3f}")
    print(f"advice agreement with the true best action: {100 * m.agreement:.1f}%  "
          f"(always stay: {100 * m.stay_baseline_agreement:.1f}%; balanced: {100 * m.balanced_agreement:.1f}%)")
    print(f"mean calibration error: {m.calibration_error:.3f}   (EV error {m.ev_mae:.1f})")
    print("calibration, fraction of outcomes below the predicted quantile (stay | extract):")
    for i, tau in enumerate(TAUS):
        s = (m.frac_below[0][i], m.frac_at_or_below[0][i])
        e = (m.frac_below[1][i], m.frac_at_or_below[1][i])
        fmt = lambda p: f"{p[0]:.2f}" if abs(p[1] - p[0]) < 0.005 else f"{p[0]:.2f}–{p[1]:.2f}"  # noqa: E731
        print(f"  τ={tau:.3f}  {fmt(s):>10} | {fmt(e):>10}")


def print_advice(table: Any) -> None:
    """The loot-per-raid table and its headline, as the demo and `arcx eval` print them."""
    from app.demo.advice import HABIT

    print(table.render())
    try:
        neutral, habit = table.row("ArcX neutral"), table.row(HABIT)
    except KeyError:
        return
    print(f"\nheadline (trained only on what a player records): following ArcX neutral banks "
          f"{neutral.loot.mean:.0f} loot per raid against the habit's {habit.loot.mean:.0f}; "
          f"share of the oracle's gain {neutral.gain_share.fmt(0, pct=True)}")


def run(args: argparse.Namespace) -> int:
    from app.core import paths
    from app.core.config import load_settings
    from app.core.model.ev import Hysteresis
    from app.demo.evaluation import calibration_plot, evaluate_all
    from app.demo.pipeline import ASSISTED_MODEL_FILE, MODEL_FILE, fixed_rule

    data = args.data or paths.demo_dir() / "heldout"
    model = args.model or paths.demo_dir() / MODEL_FILE
    inference = load_settings().settings.inference
    assisted = Path(model).with_name(ASSISTED_MODEL_FILE)
    metrics, table = evaluate_all(
        data, model, hysteresis=Hysteresis(inference.hold_s, inference.margin),
        loot_threshold=fixed_rule(Path(data).parent),
        assisted_model=assisted if assisted.is_file() else None,
    )
    if args.json:
        print(json.dumps({"metrics": metrics.to_dict(), "advice": table.to_dict()}, indent=1))
    else:
        print_metrics(metrics)
        print()
        print_advice(table)
    if args.plot:
        print(f"calibration plot: {calibration_plot(metrics, args.plot)}")
    return 0
