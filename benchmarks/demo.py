"""The full-size headless demo, timed: generate → train → evaluate on held-out raids.

    python benchmarks/demo.py [--train-runs 13] [--heldout-runs 5] [--epochs 5] [--branch-samples 16] [--root DIR]

Prints the runs and decisions generated, the wall time of each phase and the held-out
scores: ΔEV rank correlation, advice agreement (with the "always stay" baseline's and the
balanced agreement), mean calibration error, and the load average before and after
(others sharing the CPU slow the encoder). Targets on a
2-core CPU: total ≤ 15 min; ρ ≥ 0.7, agreement ≥ 80 %, calibration error ≤ 0.1.
The data goes to a temporary folder unless --root is given (never the player's runs).
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

from app.core.demo import DemoConfig, run_headless  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-runs", type=int, default=DemoConfig.n_train_runs)
    p.add_argument("--heldout-runs", type=int, default=DemoConfig.n_heldout_runs)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--branch-samples", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--root", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(machine_line())
    print(f"load average: {os.getloadavg()}")
    cfg = DemoConfig(n_train_runs=args.train_runs, n_heldout_runs=args.heldout_runs, seed=args.seed)
    if args.epochs:
        cfg = replace(cfg, train=replace(cfg.train, epochs=args.epochs))
    if args.branch_samples is not None:
        cfg = replace(cfg, gen=replace(cfg.gen, branch_samples=args.branch_samples))

    def progress(phase: str, done: int, total: int) -> None:
        print(f"  {phase}: raid {done}/{total}", flush=True)

    def epoch(pr: object) -> None:
        print(f"  train: epoch {pr.epoch}/{pr.epochs} train {pr.train_loss:.4f} val {pr.val_loss}", flush=True)  # type: ignore[attr-defined]

    with tempfile.TemporaryDirectory() as tmp:
        r = run_headless(args.root or Path(tmp), cfg, progress=progress, on_epoch_end=epoch)
    m, s = r.metrics, r.seconds
    print(f"encoder: {r.encoder_reason}")
    for name, g in (("train", r.train_gen), ("held-out", r.heldout_gen)):
        print(
            f"{name}: {len(g.runs)} runs, {g.n_frames} frames, {g.n_decisions} decisions "
            f"({sum(x.outcome == 'died' for x in g.runs)} died); play {g.seconds_play:.0f} s, "
            f"encode {g.seconds_encode:.0f} s ({1000 * g.seconds_encode / max(g.n_frames, 1):.0f} ms/frame), "
            f"record {g.seconds_record:.0f} s, {'truth' if name == 'held-out' else 'branches'} {g.seconds_truth:.0f} s"
        )
    t = r.training
    print(
        f"training: {t.n_train} samples (recorded decisions + branch samples of {t.n_train_runs} runs), {t.epochs_run} epochs, "
        f"best {t.best_epoch}, {t.samples_per_s:.0f} samples/s, value scale {t.value_scale:.0f}, {t.precision}"
    )
    print("wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in s.items()))
    print(m.summary())
    print(f"load average after: {os.getloadavg()}")
    ok = s["total"] <= 900 and m.spearman >= 0.7 and m.agreement >= 0.8 and m.calibration_error <= 0.1
    print(f"targets (≤ 900 s, ρ ≥ 0.7, agreement ≥ 80%, calibration ≤ 0.1): {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps({"seconds": s, "metrics": m.to_dict()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
