"""The whole loop, small: simulated raids → recorder → trainer → scores against the truth.

A few raids at a small frame size (the encoder pools globally, so any size works
end to end), the demo's small Q-net and 12 seeded epochs. On the held-out runs the
simulator-assisted model must beat a constant predictor (the training targets' quantiles:
ρ = 0, advice "always stay") and the same training on shuffled frames (every window made
of random frames of other moments and runs, targets unchanged, same seed and epochs) on
the ΔEV ranking, and the constant on the EV error. What it learned came from the pixels.

With 6 epochs the model was undertrained and its ρ hung on the arithmetic: 0.20 vs the
shuffled control's 0.36 on an AVX2-only CPU (torch 2.14, fp32: no native bf16); here,
seed 100, 1 thread, AVX512 + bf16 autocast: 0.73 vs 0.32; the same raids with
ATEN_CPU_CAPABILITY=avx2 and precision fp32 (what an AVX2 CPU trains in): 0.13 vs -0.08.
With 12 epochs (patience 12: no early stop), ρ model vs shuffled (EV error vs constant's):

    seed 100, 1 thread, AVX2 kernels, fp32           0.83 vs  0.04   (122 vs 249)
    seed 200, 1 thread, AVX512, bf16 autocast        0.90 vs -0.23   (220 vs 244)
    seed 300, 1 thread, AVX2 kernels, fp32           0.90 vs  0.24   (193 vs 249)
    seed 100, 2 threads, AVX512, bf16 autocast       0.82 vs  0.20   (119 vs 249)

The shuffled control's ρ is noise from a handful of correlated held-out raids (-0.23 to
0.36), so the ranking margin is asserted against it, trained alike. ~3.5 minutes on
2 busy cores (the shuffled control is a third training).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.core.data import store
from app.core.model.checkpoint import load_checkpoint
from app.core.training.trainer import Precision, Trainer
from app.demo.advice import HABIT, ORACLE
from app.demo.evaluation import (
    ASSISTED_ROW,
    TRUTH_FILE,
    Metrics,
    constant_prediction,
    evaluate_dir,
    load_heldout,
    predict,
    read_truth,
    score,
)
from app.demo.pipeline import (
    ASSISTED_MODEL_FILE,
    BRANCHES_FILE,
    DemoConfig,
    DemoResult,
    GenConfig,
    demo_train_config,
    prepare_encoder,
    run_headless,
    training_set,
)
from app.demo.sim import TAUS

pytestmark = pytest.mark.slow

SIZE = (72, 128)


EPOCHS = 12
"""Both trainings of the assisted model and its shuffled control: 6 epochs (patience 6)
left it undertrained and at the mercy of the arithmetic (see the module docstring)."""


def build_demo(
    root: Path, seed: int = 100, num_threads: int = 1, precision: Precision = "auto"
) -> tuple[DemoConfig, DemoResult]:
    """The fixture's demo under `root` (a plain function: /tmp drivers rerun it per seed)."""
    cfg = DemoConfig(
        n_train_runs=8,
        n_heldout_runs=5,
        seed=seed,
        branches=True,
        gen=GenConfig(size=SIZE, truth_n=256, branch_samples=4),
        # the learning assertions were swept (seeds, threads, AVX2 kernels) with final-value
        # targets: pin them, so a change of the trainer's defaults cannot loosen that margin
        train=demo_train_config(epochs=EPOCHS, patience=EPOCHS, num_threads=num_threads, precision=precision,
                                targets="final", extract_bound_weight=0.0, conservative_weight=0.0),
    )
    return cfg, run_headless(root, cfg, encoder=prepare_encoder(SIZE))


def learning_scores(root: Path, cfg: DemoConfig) -> dict[str, Metrics]:
    """The assisted model, the constant predictor and the shuffled-frames control on the
    held-out runs: {"model", "constant", "shuffled"}."""
    assisted = root / ASSISTED_MODEL_FILE
    metrics = evaluate_dir(root / "heldout", assisted)
    held = load_heldout(root / "heldout")

    # constant predictor: the training targets' quantiles per action, for every decision
    ds = training_set(root / "train")
    const_q = np.stack([np.quantile(ds.targets[ds.actions == a], TAUS) for a in (0, 1)])
    _, meta = load_checkpoint(assisted)
    const = score(constant_prediction(const_q, len(held.delta)), held, meta.value_scale)

    # shuffled-frames control: the same training (same seed, epochs, threads) with the frames permuted
    ds.frames = ds.frames[np.random.default_rng(0).permutation(len(ds.frames))]
    out = root / "shuffled.safetensors"
    Trainer(replace(cfg.train)).fit(ds, out)
    model, smeta = load_checkpoint(out)
    shuffled = score(predict(model, held.windows, smeta.value_scale), held, smeta.value_scale)
    return {"model": metrics, "constant": const, "shuffled": shuffled}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("demo")
    cfg, result = build_demo(root)
    return root, (cfg, result)


def test_runs_are_recorded_with_truth_and_branches(demo: tuple[Path, object]) -> None:
    root, (cfg, result) = demo  # type: ignore[misc]
    train = store.list_runs(root / "train")
    held = store.list_runs(root / "heldout")
    assert len(train) == 8 and len(held) == 5
    assert all(r.outcome in ("extracted", "died") and r.encoder_path == result.train_gen.encoder_path for r in train)
    assert all((r.path / BRANCHES_FILE).is_file() for r in train)
    assert all((r.path / TRUTH_FILE).is_file() for r in held)
    truth = read_truth(held[0].path)
    assert truth["q_stay"].shape[1] == len(TAUS)
    assert np.allclose(truth["delta"], truth["ev_stay"] - truth["ev_extract"])
    # branch rows: 2 actions × branch_samples per looting decision, windows into their run's frames
    ds, base = training_set(root / "train"), training_set(root / "train", branches=False)
    n_branch = sum(r.n_looting_decisions for r in result.train_gen.runs) * 2 * cfg.gen.branch_samples
    assert len(ds) == len(base) + n_branch and len(ds.frames) == len(base.frames)
    assert set(ds.run_index.tolist()) == set(range(base.n_runs))
    # a decision every 4 frames, with extract decisions only at and after the mark
    assert result.train_gen.n_decisions == sum(len(range(4, r.n_frames, 4)) for r in result.train_gen.runs)


def test_the_demo_scores_every_policy_on_loot_per_raid(demo: tuple[Path, object]) -> None:
    """The headline table: the habit, baselines, the tuned fixed rule, each profile, the
    oracle and one labelled simulator-assisted row, all on the same held-out raids."""
    root, (cfg, result) = demo  # type: ignore[misc]
    table = result.advice
    names = [r.name for r in table.rows]
    assert names[:2] == [HABIT, ORACLE] and ASSISTED_ROW in names
    assert {"ArcX safe", "ArcX neutral", "ArcX aggressive", "always extract"} <= set(names)
    assert any(n.startswith("fixed rule: loot") for n in names)
    assert table.n_raids == 5
    # the oracle has no regret by construction; leaving at once banks almost nothing
    assert table.row(ORACLE).regret.mean == 0.0
    # MC greedy against the player's own habit never loses to it (a gain ≥ 0 per raid);
    # leaving at once throws the haul away: far more regret than staying (truth only, no luck)
    assert table.row(ORACLE).loot.mean >= table.row(HABIT).loot.mean
    assert table.row("always extract").regret.mean > 5 * table.row(HABIT).regret.mean
    for r in table.rows:
        assert r.loot.lo <= r.loot.mean <= r.loot.hi and 0.0 <= r.death_rate <= 1.0
    assert (root / ASSISTED_MODEL_FILE).is_file() and result.model_path.name == "qnet.safetensors"


def test_model_beats_constant_and_shuffled_frames(demo: tuple[Path, object]) -> None:
    """Simulator-assisted learning (branch samples as extra targets): what was learned
    comes from the pixels."""
    root, (cfg, result) = demo  # type: ignore[misc]
    scores = learning_scores(root, cfg)
    metrics, const, shuffled = scores["model"], scores["constant"], scores["shuffled"]
    print("\n".join(f"{name} {m.summary()}" for name, m in scores.items()))

    # ΔEV ranking: a constant has none (ρ = 0); shuffled frames carry no state
    assert const.spearman == 0.0
    assert metrics.spearman > 0.25
    assert metrics.spearman > shuffled.spearman + 0.15
    # the EV level is closer to the truth than the constant's (measured 122–220 vs 244–249,
    # see the module docstring; the shuffled control's level is not asserted)
    assert metrics.ev_mae < 0.95 * const.ev_mae
    # the advice is no worse than "always stay" (what the constant advises)
    assert metrics.agreement >= metrics.stay_baseline_agreement - 0.02
