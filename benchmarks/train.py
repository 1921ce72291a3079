"""Training speed of the default Q-net on this machine, and 30 epochs over an hour of play.

    python benchmarks/train.py [--steps 6] [--batch-size 256] [--threads N] [--full]

One hour of play is 7,200 decisions (a decision every 0.5 s). The script builds that
many synthetic decisions (D=512 latents, 32-frame windows) in memory and measures:

1. samples/s of a plain eager float32 training step (forward, quantile Huber loss,
   backward, AdamW) of the default TemporalQNet: the reference figure;
2. samples/s of the same step as the Trainer runs it (`precision="auto"`: bfloat16
   autocast on CPUs with native bf16), and of validation (no gradients);
3. the time 30 epochs would take (80% of the decisions trained, 20% validated per epoch),
   against the target of 10 minutes.

`--ddp N` instead writes about an hour of play as synthetic runs to a temporary folder
and runs the real `arcx train` on it under torchrun (`python -m torch.distributed.run
--standalone`, gloo, localhost) with 1, 2, … N processes, each with cores / n torch
threads, and prints the training samples/s of each (all ranks together: the global
batches per second of training time on rank 0) and the wall time.

`--full` then runs the real `Trainer.fit` for 30 epochs (no early stop) with a progress
line and ETA, and reports the wall time. Other processes on the machine make every figure
slower: the load average is printed next to them.

OMP_WAIT_POLICY defaults to PASSIVE here (set before torch loads its OpenMP runtime; an
explicit value in the environment wins). With the runtime's default busy-waiting, a
2-thread step on a CPU that other programs also use was measured up to 15× slower than a
1-thread one (idle OpenMP threads spin on the core the main thread needs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line  # noqa: E402

from app.core.data.dataset import DecisionDataset  # noqa: E402
from app.core.data.synthetic import SyntheticConfig, record_runs, synthetic_run_data  # noqa: E402
from app.core.model.qnet import QNetConfig, TemporalQNet  # noqa: E402
from app.core.training.loss import midpoint_taus, quantile_huber_loss, taken_quantiles  # noqa: E402
from app.core.training.trainer import TrainConfig, Trainer, TrainProgress, cpu_has_bf16  # noqa: E402

DECISIONS_PER_HOUR = 7200
EPOCHS = 30
TARGET_S = 600.0
VAL_FRACTION = 0.2


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
    except OSError:
        return "load average unknown"


def hour_of_play(seed: int = 0) -> DecisionDataset:
    """Exactly 7,200 decisions of synthetic runs (the last run cut short)."""
    cfg = SyntheticConfig(latent_dim=512)
    runs, total, s = [], 0, seed
    while total < DECISIONS_PER_HOUR:
        for r in synthetic_run_data(4, cfg, seed=s):
            keep = min(r.n_decisions, DECISIONS_PER_HOUR - total)
            if keep:
                runs.append(replace(r, decision_rows=r.decision_rows[:keep], actions=r.actions[:keep]))
            total += keep
        s += 1
    return DecisionDataset(runs)


def step_rate(ds: DecisionDataset, batch: int, steps: int, precision: str, train: bool) -> tuple[float, float]:
    """(samples per wall second, per CPU second of this process) over `steps` timed steps."""
    torch.manual_seed(0)
    model = TemporalQNet(QNetConfig())
    model.train(train)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    taus = midpoint_taus(16)
    rng = np.random.default_rng(0)

    def one() -> None:
        idx = rng.choice(len(ds), batch, replace=False)
        z = torch.from_numpy(ds.windows(idx))
        a = torch.from_numpy(ds.actions[idx])
        y = torch.from_numpy(ds.targets[idx] / 20_000.0)
        with torch.set_grad_enabled(train), torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
            q = model(z)
        loss = quantile_huber_loss(taken_quantiles(q.float(), a), y, taus, 0.01)
        if train:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    one()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        one()
    n = steps * batch
    return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)


def ddp_rates(max_procs: int, epochs: int, batch: int) -> None:
    """`arcx train` under torchrun with 1 … max_procs processes on the same runs."""
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="arcx-ddp-bench-") as tmp:
        runs, n, seed = Path(tmp) / "runs", 0, 0
        while n < DECISIONS_PER_HOUR:
            n += sum(i.n_decisions for i in record_runs(runs, 2, SyntheticConfig(latent_dim=512), seed=seed))
            seed += 1
        print(f"{n:,} decisions of synthetic runs (D=512) on disk; {epochs} epochs, batch {batch}, "
              f"fp32, default Q-net; {load()}", flush=True)
        # (processes, threads each): cores / n threads each, and 1 process × 1 thread, the
        # figure to scale from (what one core gives while the others share the rest)
        plan = [(n, max(1, cores // n)) for n in range(1, max_procs + 1)]
        plan += [(1, 1)] if cores > 1 else []
        rates: dict[tuple[int, int], float] = {}
        for procs, threads in plan:
            env = {**os.environ, "OMP_NUM_THREADS": str(threads), "GLOO_SOCKET_IFNAME": "lo",
                   "ARCX_HOME": str(Path(tmp) / "home")}
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs),
                   "-m", "app", "train", "--data", str(runs), "--out", str(Path(tmp) / f"q{procs}.safetensors"),
                   "--epochs", str(epochs), "--patience", str(epochs), "--device", "cpu", "--precision", "fp32",
                   "--batch-size", str(batch), "--threads", str(threads), "--json", "--no-progress"]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=Path(__file__).resolve().parents[1], env=env,
                                  capture_output=True, text=True, check=False)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                print(f"{procs} process(es): failed ({proc.stderr.strip().splitlines()[-1:]})")
                continue
            r = json.loads(proc.stdout)
            rates[procs, threads] = r["samples_per_s"]
            print(f"{procs} process(es) × {threads} thread(s): {r['samples_per_s']:6.0f} training samples/s, "
                  f"fit {r['seconds']:.1f} s, wall {wall:.1f} s with start-up; val loss {r['best_val_loss']:.4f}; "
                  f"{load()}", flush=True)
        if (1, 1) in rates:
            for (procs, _threads), rate in rates.items():
                if procs > 1:
                    print(f"{procs} processes: {rate / (procs * rates[1, 1]):.0%} of {procs} × the 1-process, "
                          "1-thread rate")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=6, help="timed steps per measurement")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--full", action="store_true", help="also run the real 30-epoch training")
    ap.add_argument("--ddp", type=int, default=0, metavar="N",
                    help="instead: arcx train under torchrun with 1 … N processes")
    ap.add_argument("--ddp-epochs", type=int, default=2, help="epochs of each --ddp run")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine_line())
    print(
        f"CPU bfloat16 support: {'yes' if cpu_has_bf16() else 'no'}; "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; {load()}"
    )
    if args.ddp:
        ddp_rates(args.ddp, args.ddp_epochs, args.batch_size)
        return
    ds = hour_of_play()
    n_train = round(len(ds) * (1 - VAL_FRACTION))
    n_val = len(ds) - n_train
    print(f"one hour of play: {len(ds):,} decisions from {ds.n_runs} synthetic runs, windows 32×512")

    b = args.batch_size
    print(f"torch threads: {torch.get_num_threads()}; per-CPU-second figures show the work itself "
          "(with 1 thread they are what an idle core would give)")
    totals = {}
    for p in ["fp32", *(["bf16"] if cpu_has_bf16() else [])]:
        what = "plain eager fp32" if p == "fp32" else "bf16 autocast   "
        train, train_cpu = step_rate(ds, b, args.steps, p, train=True)
        ev, ev_cpu = step_rate(ds, 512, max(2, args.steps // 2), p, train=False)
        print(f"{what} training step, batch {b}: {train:6.0f} samples/s  ({train_cpu:6.0f} per CPU-s)")
        print(f"{what} validation, batch 512:    {ev:6.0f} samples/s  ({ev_cpu:6.0f} per CPU-s)")
        totals[p] = EPOCHS * (n_train / train + n_val / ev)
    best_p = min(totals, key=lambda k: totals[k])
    total = totals[best_p]
    print(
        f"30 epochs over one hour of play ({n_train:,} train + {n_val:,} val decisions per epoch), "
        f"from these rates: " + ", ".join(f"{p} ≈ {t / 60:.1f} min" for p, t in totals.items())
        + f" (target ≤ {TARGET_S / 60:.0f} min: {'met' if total <= TARGET_S else 'NOT met'} with {best_p})"
    )
    print(f"({load()})")

    if args.full:
        print("running Trainer.fit for 30 epochs …", flush=True)
        last = [0.0]

        def on_step(p: TrainProgress) -> None:
            now = time.perf_counter()
            if now - last[0] >= 10 or p.step == p.total_steps:
                last[0] = now
                print(
                    f"  epoch {p.epoch}/{p.epochs} step {p.step}/{p.total_steps} loss {p.train_loss:.4f} "
                    f"val {p.val_loss if p.val_loss is None else round(p.val_loss, 4)} "
                    f"{p.samples_per_s:.0f} samples/s, ETA {p.eta_s / 60:.1f} min",
                    flush=True,
                )

        config = TrainConfig(
            epochs=EPOCHS, patience=EPOCHS, device="cpu", batch_size=b, num_threads=args.threads,
            val_fraction=VAL_FRACTION,
        )
        with tempfile.TemporaryDirectory() as tmp:
            result = Trainer(config, on_step=on_step).fit(ds, Path(tmp) / "q.safetensors")
        print(
            f"Trainer.fit: {result.epochs_run} epochs in {result.seconds / 60:.1f} min "
            f"({result.precision}, {result.samples_per_s:.0f} training samples/s), best epoch "
            f"{result.best_epoch}, val loss {result.best_val_loss:.4f}; target ≤ {TARGET_S / 60:.0f} min: "
            f"{'met' if result.seconds <= TARGET_S else 'NOT met'}"
        )
        print(f"({load()})")
    if not math.isfinite(total):
        sys.exit(1)


if __name__ == "__main__":
    main()
