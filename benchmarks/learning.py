"""The learning curve: how much following ArcX banks after 10 … 200 recorded raids.

    python benchmarks/learning.py [--points 10 25 50 100 200] [--heldout 200] [--size 72 128]
                                  [--root DIR] [--targets stopping] [--png curve.png]

Branch-free, from pixels: the training raids are recorded as a player records them
(frames through the real encoder, the extract mark, the outcome), and each point trains
with the real `Trainer` (what `arcx train` runs) on the first n of them. Every point is
scored on the same `--heldout` raids with truth, on the recorded path
(`app.demo.advice`): loot per raid following ArcX neutral against the habit (95 %
intervals), the share of the oracle's gain, regret per decision, and safe's death rate
against the habit's. Raids are cached under --root (rerun with other settings in minutes).
Render size 72×128 instead of the app's 400×225 (the encoder pools globally), so 400 raids
take tens of minutes on a CPU, not hours.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import machine_line  # noqa: E402

from app.core.data import store  # noqa: E402
from app.core.data.dataset import DecisionDataset, load_labelled  # noqa: E402
from app.core.model.checkpoint import load_checkpoint  # noqa: E402
from app.core.model.ev import Hysteresis  # noqa: E402
from app.core.training.trainer import Trainer  # noqa: E402
from app.demo.advice import HABIT  # noqa: E402
from app.demo.evaluation import advice_table, load_heldout, predict  # noqa: E402
from app.demo.pipeline import (  # noqa: E402
    DemoConfig,
    GenConfig,
    demo_train_config,
    fixed_rule,
    generate_runs,
    prepare_encoder,
    write_demo_info,
)


def ensure_raids(root: Path, sub: str, n: int, seed: int, truth: bool, gen: GenConfig, enc: tuple) -> None:
    """Record raids seed … seed+n−1 under root/sub unless they are there already."""
    have = [r for r in store.list_runs(root / sub) if r.outcome is not None] if (root / sub).exists() else []
    if len(have) >= n:
        return
    t0 = time.perf_counter()
    backend, encoder_id, _ = enc
    generate_runs(root / sub, n - len(have), seed=seed + len(have), encoder=backend, encoder_id=encoder_id,
                  truth=truth, config=gen)
    print(f"recorded {n - len(have)} {sub} raids in {time.perf_counter() - t0:.0f} s", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    p.add_argument("--heldout", type=int, default=200)
    p.add_argument("--size", type=int, nargs=2, default=(72, 128), metavar=("H", "W"))
    p.add_argument("--root", type=Path, default=Path("learning-raids"))
    p.add_argument("--targets", choices=("final", "stopping"), default=None, help="default: the trainer's")
    p.add_argument("--epochs", type=int, default=None, help="default: the trainer's")
    p.add_argument("--png", type=Path, default=None, help="save the curve here")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(machine_line())
    size = (int(args.size[0]), int(args.size[1]))
    gen = GenConfig(size=size, branch_samples=0, truth_n=256)
    enc = prepare_encoder(size)
    print(f"encoder: {enc[2]}")
    n_max = max(args.points)
    ensure_raids(args.root, "train", n_max, 0, False, gen, enc)
    ensure_raids(args.root, "heldout", args.heldout, 100_000, True, gen, enc)
    write_demo_info(args.root, DemoConfig(seed=0, n_train_runs=n_max, n_heldout_runs=args.heldout))
    held = load_heldout(args.root / "heldout")
    runs = load_labelled(args.root / "train")[:n_max]  # recording order; raids without a decision skipped
    hyst = Hysteresis()
    curve = []
    for n in sorted(args.points):
        cfg = demo_train_config(**({"epochs": args.epochs} if args.epochs else {}))  # arcx train's defaults
        if args.targets:
            from dataclasses import replace

            cfg = replace(cfg, targets=args.targets)
        t0 = time.perf_counter()
        out = args.root / f"qnet-{n}.safetensors"
        Trainer(cfg).fit(DecisionDataset(runs[:n]), out)
        model, meta = load_checkpoint(out)
        pred = predict(model, held.windows, meta.value_scale)
        # the loot rule is tuned on the same n training raids the model saw
        threshold = fixed_rule(args.root) if n == n_max else None
        table = advice_table(held, pred, hysteresis=hyst, loot_threshold=threshold)
        neutral, habit, safe = table.row("ArcX neutral"), table.row(HABIT), table.row("ArcX safe")
        point = {
            "raids": n, "seconds": round(time.perf_counter() - t0, 1),
            "neutral": neutral.loot.__dict__, "habit": habit.loot.__dict__,
            "share": neutral.gain_share.__dict__, "regret": neutral.regret.__dict__,
            "safe_deaths": safe.death_rate, "habit_deaths": habit.death_rate,
            "neutral_says_extract": neutral.extract_share,
        }
        curve.append(point)
        print(f"\n{n} raids ({point['seconds']:.0f} s):")
        print(table.render(), flush=True)
    print("\nraids  neutral loot/raid [95%]   habit   share of oracle gain [95%]   regret   safe deaths (habit)")
    for c in curve:
        print(f"{c['raids']:5d}  {c['neutral']['mean']:6.0f} [{c['neutral']['lo']:.0f}, {c['neutral']['hi']:.0f}]"
              f"   {c['habit']['mean']:5.0f}   {100 * c['share']['mean']:6.0f}% [{100 * c['share']['lo']:.0f}, "
              f"{100 * c['share']['hi']:.0f}]   {c['regret']['mean']:6.1f}   {100 * c['safe_deaths']:.1f}% "
              f"({100 * c['habit_deaths']:.1f}%)")
    if args.json:
        args.json.write_text(json.dumps(curve, indent=1))
    if args.png:
        plot(curve, args.png)
        print(f"curve: {args.png}")
    return 0


def plot(curve: list[dict], path: Path) -> None:
    """Two panels: loot per raid (absolute intervals) and the share of the oracle's gain,
    whose interval is paired with the habit per resample (the one that tells a gain)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [c["raids"] for c in curve]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    ax.fill_between(n, [c["neutral"]["lo"] for c in curve], [c["neutral"]["hi"] for c in curve], alpha=0.2)
    ax.plot(n, [c["neutral"]["mean"] for c in curve], marker="o", label="following ArcX neutral")
    ax.plot(n, [c["habit"]["mean"] for c in curve], ls="--", color="grey", label="the player's habit")
    ax.set_ylabel("loot banked per raid (95 % interval)")
    s = [100 * c["share"]["mean"] for c in curve]
    bx.fill_between(n, [100 * c["share"]["lo"] for c in curve], [100 * c["share"]["hi"] for c in curve], alpha=0.2)
    bx.plot(n, s, marker="o", label="ArcX neutral (paired 95 % interval)")
    bx.axhline(100, color="green", ls=":", label="oracle (MC greedy)")
    bx.axhline(0, color="grey", ls="--", label="the player's habit")
    bx.set_ylabel("share of the oracle's gain over the habit (%)")
    for a in (ax, bx):
        a.set_xscale("log")
        a.set_xlabel("recorded raids trained on")
        a.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
