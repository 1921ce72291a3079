"""Learning the extract decision from what a player records, end to end and branch-free.

Training raids are recorded as a player records them (frames through the real encoder,
the extract mark, the outcome) and trained on with `arcx train`'s defaults. Held-out
raids are scored on the recorded path (`app.demo.advice`) in loot per raid, with the
truth rolled out on demand where a policy first departs from the habit. The model must
bank more than the player's habit, and more than two controls trained alike:

- **blind**: every window made of random frames of other moments and runs (targets,
  actions and marks unchanged), so it cannot see the state;
- **other outcome**: each training run carries another run's labels: its outcome (value,
  death) and its extract mark, so what the frames show has nothing to do with the labels
  (against memorising). With only the outcome swapped, the run's own mark still told when
  looting stopped: that control gained +15.5 loot per raid against the model's +15.0
  (seed 200, AVX2 kernels, fp32).

The player's habit is the demo's default mixture. Its oracle gains only ~16 loot per
raid, so the test needs many held-out raids: truth on demand makes 120 of them cheap (one
rollout batch per raid where a policy leaves early, no sidecar). A greedy habit (leaves
late, often dies with a big haul) was tried first and rejected: there, leaving earlier is
good almost anywhere, and the other-outcome control gained +79 to +95 loot per raid too.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.core.data.dataset import DecisionDataset, RunData, load_labelled
from app.core.model.checkpoint import load_checkpoint
from app.core.model.ev import Adviser, Hysteresis
from app.core.training.trainer import Trainer
from app.demo.advice import adviser_says, departure_gains
from app.demo.evaluation import predict
from app.demo.pipeline import (
    GenConfig,
    demo_train_config,
    generate_runs,
    play_live_raids,
    prepare_encoder,
)

pytestmark = pytest.mark.slow

SIZE = (72, 128)
SEED = int(os.environ.get("ARCX_LOOP_SEED", "100"))
THREADS = int(os.environ.get("ARCX_LOOP_THREADS", "1"))  # training's
CAPTURE_EVERY = int(os.environ.get("ARCX_LOOP_CAPTURE_EVERY", "2"))
"""4 FPS of the sim's 8, as a machine whose encoder cannot keep up records (the engine
lowers its rate): it halves the encoder's work, ~85,000 ResNet-34 passes at 8 FPS, about
an hour of this test on a 2-core AVX2 box"""
ENCODER_THREADS = min(2, os.cpu_count() or 1)
"""the encoder's threads only change how fast the latents come (and their last bits)"""
PRECISION = os.environ.get("ARCX_LOOP_PRECISION", "auto")  # fp32: what a CPU without bf16 trains in
N_TRAIN, N_HELD = 50, 120


def with_labels_of(run: RunData, donor: RunData) -> RunData:
    """`run`'s frames with `donor`'s labels: its outcome (value, death) and its extract mark,
    at the same decision index (beyond the run's end: no mark). Keeping the run's own mark
    would leak when this run stopped looting, which a model can use without any outcome."""
    actions = np.zeros(run.n_decisions, dtype=np.int8)
    marked = np.flatnonzero(donor.actions == 1)
    if marked.size and marked[0] < run.n_decisions:
        actions[marked[0]:] = 1
    return replace(run, actions=actions, target=donor.target, died=donor.died)


def _fit(runs: list[RunData], out: Path, frames_perm: np.ndarray | None = None) -> object:
    ds = DecisionDataset(runs)
    if frames_perm is not None:
        ds.frames = ds.frames[frames_perm[: len(ds.frames)] % len(ds.frames)]
    Trainer(demo_train_config(num_threads=THREADS, precision=PRECISION)).fit(ds, out)
    return load_checkpoint(out)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    root = tmp_path_factory.mktemp("learning")
    gen = GenConfig(size=SIZE, branch_samples=0, capture_every=CAPTURE_EVERY)
    backend, encoder_id, _ = prepare_encoder(SIZE, threads=ENCODER_THREADS)
    generate_runs(root / "train", N_TRAIN, seed=SEED, encoder=backend, encoder_id=encoder_id, truth=False, config=gen)
    windows, raids = play_live_raids(N_HELD, seed=SEED + N_TRAIN, encoder=backend, config=gen)
    runs = load_labelled(root / "train")
    perm = np.random.default_rng(1).permutation(len(runs))
    other = [with_labels_of(r, runs[p]) for r, p in zip(runs, perm, strict=True)]
    frames = sum(len(r.latents) for r in runs)
    models = {
        "model": _fit(runs, root / "model.safetensors"),
        "blind": _fit(runs, root / "blind.safetensors", np.random.default_rng(0).permutation(frames)),
        "other outcome": _fit(other, root / "other.safetensors"),
    }
    gains = {}
    for name, (model, meta) in models.items():
        q = [predict(model, w, meta.value_scale).q for w in windows]
        says = adviser_says(raids, q, Adviser("neutral", Hysteresis()))
        gains[name] = departure_gains(raids, says, autopilot=gen.autopilot, seed=SEED)
    gains["habit value"] = np.array([r.value for r in raids])
    return gains


def _boot_lo(x: np.ndarray, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(2000, len(x)))].mean(axis=1)
    return float(np.percentile(means, 2.5))


def test_the_model_banks_more_than_the_habit_and_both_controls(loop: dict[str, np.ndarray]) -> None:
    habit = float(loop["habit value"].mean())
    for k in ("model", "blind", "other outcome"):
        g = loop[k]
        print(f"{k:14s} gain {g.mean():+7.1f} lo {_boot_lo(g):+7.1f} leaves in {int((g != 0).sum())} raids (habit {habit:.0f})")
    model = loop["model"]
    # measured (model / blind / other outcome, loot per raid over the habit):
    #   seed 100, 1 thread, AVX512 + bf16 autocast      +31.2 / +5.3 / (own mark kept: +7.3)
    #   seed 100, torch 2.4.1                           +31.5 / +5.3 / (own mark kept: +8.1)
    #   seed 200, 1 thread, AVX2 kernels, fp32          +15.0 / -3.5 / -34.0
    #   seed 300, 2 threads, AVX512 + bf16 autocast      +9.1 / -7.8 / -97.2
    # the above at 8 FPS capture; at 4 FPS (CAPTURE_EVERY 2, encoder on 2 threads):
    #   seed 100, 1 thread, a real AVX2-only box, fp32  +29.7 (lo +13.7) / -4.5 / -73.7
    #   seed 200, 2 threads, the same box, fp32         +22.5 (lo +9.5) / -137.0 / -42.2
    #   (22.9 min there; the 8 FPS version had not finished after 60 min)
    assert model.mean() > 0.0
    for control in ("blind", "other outcome"):
        assert model.mean() >= loop[control].mean() + 5.0
