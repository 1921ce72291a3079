"""Follow ArcX's advice live in the simulator, through the real engine, on many raids.

    python benchmarks/closed_loop.py [--train-raids 20] [--raids 200] [--size 72 128]
                                     [--oracle-rollouts 128] [--epochs 12] [--seed 0] [--root DIR]

1. Records `--train-raids` autopilot raids with the real recorder and encoder (what a
   player records: frames, the extract mark, the outcome; no branch samples) and trains the
   demo's Q-net on them with the real trainer.
2. Tunes the fixed loot rule on the same training seeds.
3. Plays `--raids` new raids in closed loop (`app.demo.closed_loop`): every frame rendered
   and encoded by the engine, the advice from the engine's Adviser; each policy leaves on a
   fork of the same raid (common random numbers). Rows: the habit, each profile (with the
   overlay's hysteresis, and neutral without it), the loot rule, the MC-greedy oracle.

A smaller render size than the app's 400×225 keeps 200 raids within minutes on a CPU; the
encoder pools globally, so the whole path is the same. The machine line has the CPU flags.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import machine_line  # noqa: E402

from app.core.model.ev import NO_HYSTERESIS, Hysteresis  # noqa: E402
from app.core.training.trainer import Trainer  # noqa: E402
from app.demo.advice import tune_loot_rule  # noqa: E402
from app.demo.closed_loop import closed_loop, engine_factory  # noqa: E402
from app.demo.pipeline import (  # noqa: E402
    GenConfig,
    demo_train_config,
    generate_runs,
    prepare_encoder,
    training_set,
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-raids", type=int, default=20)
    p.add_argument("--raids", type=int, default=200)
    p.add_argument("--size", type=int, nargs=2, default=(72, 128), metavar=("H", "W"))
    p.add_argument("--oracle-rollouts", type=int, default=128, help="0: no oracle row")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--root", type=Path, default=None, help="keep the training raids and model here")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(machine_line())
    size = (int(args.size[0]), int(args.size[1]))
    gen = GenConfig(size=size, branch_samples=0)
    hyst = Hysteresis()
    root = args.root or Path(tempfile.mkdtemp(prefix="arcx-closed-loop-"))
    t0 = time.perf_counter()
    backend, encoder_id, reason = prepare_encoder(size)
    print(f"encoder: {reason} ({time.perf_counter() - t0:.0f} s)")
    t0 = time.perf_counter()
    if (root / "train").exists():
        shutil.rmtree(root / "train")
    g = generate_runs(root / "train", args.train_raids, seed=args.seed, encoder=backend,
                      encoder_id=encoder_id, truth=False, config=gen)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    train = demo_train_config(epochs=args.epochs)
    result = Trainer(replace(train)).fit(training_set(root / "train", branches=False), root / "qnet.safetensors")
    t_train = time.perf_counter() - t0
    print(f"train: {len(g.runs)} raids, {g.n_frames} frames, {g.n_decisions} decisions in {t_gen:.0f} s; "
          f"trained {result.epochs_run} epochs (best {result.best_epoch}) in {t_train:.0f} s, {result.precision}")
    t0 = time.perf_counter()
    seeds = list(range(args.seed, args.seed + args.train_raids))
    threshold, _ = tune_loot_rule(seeds, sim=gen.sim, autopilot=gen.autopilot)
    print(f"fixed rule tuned on the training seeds: loot ≥ {threshold:.0f} ({time.perf_counter() - t0:.0f} s)")
    held = list(range(args.seed + args.train_raids, args.seed + args.train_raids + args.raids))
    make = engine_factory(backend, encoder_id, root / "qnet.safetensors", size, hyst)

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            print(f"  closed loop: raid {done}/{total}", flush=True)

    table, seconds = closed_loop(
        held, make, gen, hysteresis=hyst, loot_threshold=threshold, oracle_rollouts=args.oracle_rollouts,
        extra={"ArcX neutral, no hysteresis": ("neutral", NO_HYSTERESIS)}, progress=progress,
    )
    print(f"closed loop: {len(held)} raids in {seconds:.0f} s ({seconds / max(len(held), 1):.1f} s per raid), "
          f"load average {os.getloadavg()[0]:.2f}")
    print(table.render())
    if args.root is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
