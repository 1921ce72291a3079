"""The demo loop: simulated raids → recorded runs (+ truth) → a trained Q-net → its score.

    gen = generate_runs(root / "train", n_runs=14, seed=0, encoder=backend, ...)
    ds = training_set(root / "train")                   # recorded runs + branch samples
    Trainer(cfg).fit(ds, root / "qnet.safetensors")
    evaluation.evaluate_dir(root / "heldout", root / "qnet.safetensors")

**Generation.** Each raid is played by the autopilot (`SimRaidSource`, seeded), every
frame is rendered at the encoder's input size, and frames are encoded in batches with
whichever encoder path the caller chose (the run records its name as `encoder_path`).
The real `RunRecorder` writes the run: every frame latent, a decision every
`decision_every` frames (0.5 s at 8 FPS), `mark_extract` at the step the autopilot
started the walk out, and `end_run` with the outcome and the banked value. Run clocks
are game time (frame i at i / fps), not wall time: generation runs as fast as the
encoder allows.

**Truth sidecar** (`truth.parquet` in a held-out run's folder): for every decision
taken while still looting, the Monte-Carlo truth of that state (`sim.evaluate_many`):
EVs, ΔEV, the best action, the 16 true quantiles per action, and a few independent
outcome draws per action (for calibration). `arcx eval` scores a model against it.

**Branch samples** (`branches.parquet` in a training run's folder). A recorded run gives
one realised outcome for all of its decisions, and `extract` targets only after the
mark; with the dozen raids an encoder on a 2-core CPU can encode in minutes, that is
too little to learn ΔEV from. So at every looting decision of a training run the
simulator also plays the raid on from that exact (true) state, `branch_samples` times per
action ("stay": the autopilot keeps playing; "extract": walk out now), without
rendering. Each branch's final value is one more (window, action, target) sample for
the same recorded frames: like a player who, at that moment, had extracted (or not).
The network still has to read the state from the pixels' latents: the branches add
targets (outcome samples of the true state, the same kind of thing a recorded run's
outcome is), never state; nothing of the truth reaches the model's input.
`training_set(root)` loads the recorded runs with the real dataset loader and appends
the branch rows in place (their windows index the run's own frames, nothing is copied,
and they count as their run for the trainer's split by run); `arcx train` on the same
folder sees only the recorded runs. 16 per action (the default) is cheap (~0.5 s of
simulation per raid) and took ΔEV ρ from ~0.5 (2 per action) to ~0.9.

**EV.** The Q-net predicts K quantiles per action; its EV is their mean (the expectation
of the predicted distribution), and that is what `evaluation` compares with the truth's
Monte-Carlo mean (ρ, advice, EV error). The overlay's number is a risk profile's quantile
(`model.ev`: neutral is the median), a different statistic that is not scored here:
`benchmarks/demo.py` prints the neutral overlay's advice (median ΔEV) against the true
best action beside the scored one, for information. The stay distribution has an atom
at 0 (death), so its median sits above its mean and the median's advice says "extract"
less often than the EV's (measured: never, where the EV's advice was right at 92%).

`train_and_evaluate(root)` is the second half alone, on raids generated before: the
benchmark's `--reuse` retrains and rescores in minutes without regenerating.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from app.core.atomic import atomic_path
from app.core.data import store
from app.core.data.dataset import DecisionDataset, RunData, load_run, window_rows
from app.core.data.recorder import RunRecorder
from app.core.errors import DataError
from app.core.model.dims import WINDOW
from app.core.model.encoder import EncoderConfig, load_encoder
from app.core.model.ev import Hysteresis
from app.core.model.fast import EncoderBackend
from app.core.model.qnet import QNetConfig
from app.core.model.ring import time_window_rows
from app.core.model.runtime import select_encoder
from app.core.training.trainer import TrainConfig, Trainer, TrainProgress, TrainResult
from app.demo.advice import LiveRaid, Table, tune_loot_rule
from app.demo.evaluation import TRUTH_FILE, Metrics, evaluate_all
from app.demo.hooks import sim_frames
from app.demo.sim import (
    TAUS,
    AutopilotConfig,
    AutopilotParams,
    GameState,
    Phase,
    SimConfig,
    SimRaidSource,
    evaluate_many,
)
from app.demo.sim.render import DEFAULT_SIZE

log = logging.getLogger(__name__)

BRANCHES_FILE = "branches.parquet"
GAME_PROFILE = "sim-demo"
MODEL_FILE = "qnet.safetensors"
ASSISTED_MODEL_FILE = "qnet.assisted.safetensors"
N_QUANTILES = len(TAUS)  # K
STAY, EXTRACT = 0, 1

# progress(phase, done, total): called after every raid (and every truth batch)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class GenConfig:
    """How the demo's raids are generated and recorded."""

    size: tuple[int, int] = DEFAULT_SIZE
    """(height, width) of the rendered frames: the encoder's input size"""
    decision_every: int = 4
    """frames between decisions (4 at 8 FPS = the engine's 0.5 s tick)"""
    batch_frames: int = 32
    """frames per encoder call"""
    capture_every: int = 1
    """record every n-th rendered frame (2: a machine that captures at 4 FPS of the sim's
    8, as the live engine does when the encoder cannot keep up); windows are then built
    by time (`time_window_rows`), as the recorder's frame times make them in training"""
    truth_n: int = 512
    """Monte-Carlo rollouts per action for the truth of a held-out decision"""
    outcome_draws: int = 16
    """independent outcome draws per action kept in the truth sidecar (calibration)"""
    branch_samples: int = 16
    """simulated play-ons per action from every looting decision of a training run (0: none)"""
    sim: SimConfig = field(default_factory=SimConfig)
    """the raid's rules"""
    autopilot: AutopilotConfig = field(default_factory=AutopilotConfig)
    """the distribution of player behaviours (recorded runs and truth's "stay" share it)"""


@dataclass(frozen=True)
class GeneratedRun:
    """One recorded raid."""

    run_id: str
    """the recorder's run id"""
    path: Path
    """its folder"""
    n_frames: int
    """frames recorded"""
    n_decisions: int
    """decisions recorded"""
    n_looting_decisions: int
    """decisions taken before the walk out (the ones truth and branches cover)"""
    outcome: str
    """extracted or died"""
    value: float
    """banked loot (0 when died)"""


@dataclass(frozen=True)
class GenResult:
    """What `generate_runs` did."""

    runs: tuple[GeneratedRun, ...]
    """the recorded raids, in order"""
    encoder_path: str
    """the encoder path the latents came from"""
    seconds_play: float
    """rendering + simulation"""
    seconds_encode: float
    """encoder time"""
    seconds_record: float
    """recorder time (start_run … end_run)"""
    seconds_truth: float
    """truth or branch roll-outs"""

    @property
    def n_frames(self) -> int:
        return sum(r.n_frames for r in self.runs)

    @property
    def n_decisions(self) -> int:
        return sum(r.n_decisions for r in self.runs)


def play_raid(seed: int, cfg: GenConfig) -> tuple[list[NDArray[np.uint8]], list[GameState], SimRaidSource]:
    """Play one autopilot raid to the end: its frames and the state shown in each."""
    src = SimRaidSource(seed=seed, config=cfg.sim, autopilot=cfg.autopilot, size=cfg.size)
    src.open()
    frames: list[NDArray[np.uint8]] = []
    states: list[GameState] = []
    try:
        while True:
            frame = src.grab()
            if frame is None:
                break
            frames.append(frame)
            states.append(src.state)
    finally:
        src.close()
    return frames, states, src


def encode_frames(encoder: EncoderBackend, frames: Sequence[NDArray[np.uint8]], batch: int) -> NDArray[np.float32]:
    """[F, H, W, 3] uint8 frames → [F, D] float32 latents, `batch` frames per call."""
    out = [encoder.encode(np.stack(frames[i : i + batch])) for i in range(0, len(frames), batch)]
    return np.concatenate(out).astype(np.float32, copy=False)


def captured_frames(n_frames: int, every: int) -> NDArray[np.int64]:
    """Rendered-frame indices a capture at every `every`-th frame records (the first on)."""
    if every < 1:
        raise ValueError(f"capture_every must be ≥ 1, got {every}")
    return np.arange(0, n_frames, every, dtype=np.int64)


def decision_frames(n_frames: int, every: int) -> NDArray[np.int64]:
    """Frame indices at which decisions are taken: every `every`-th frame after the first."""
    return np.arange(every, n_frames, every, dtype=np.int64)


def generate_runs(
    root: Path,
    n_runs: int,
    *,
    seed: int,
    encoder: EncoderBackend,
    encoder_id: str,
    truth: bool,
    config: GenConfig | None = None,
    progress: Progress | None = None,
) -> GenResult:
    """Play, encode and record `n_runs` raids under `root` (seeds seed … seed+n_runs-1).

    truth: write the truth sidecar (held-out runs); otherwise write the branch samples.
    """
    cfg = config or GenConfig()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    fps = float(cfg.sim.fps)
    recorder = RunRecorder(root)
    runs: list[GeneratedRun] = []
    t_play = t_enc = t_rec = t_truth = 0.0
    for i in range(n_runs):
        raid_seed = seed + i
        t0 = time.perf_counter()
        frames, states, src = play_raid(raid_seed, cfg)
        t1 = time.perf_counter()
        shot = captured_frames(len(frames), cfg.capture_every)
        latents = encode_frames(encoder, [frames[f] for f in shot], cfg.batch_frames)
        t2 = time.perf_counter()
        dec = decision_frames(len(frames), cfg.decision_every)
        mark = src.extract_time_s
        recorder.start_run(
            encoder_id=encoder_id, fps=fps, game_profile=GAME_PROFILE,
            encoder_path=encoder.name, latent_dim=int(latents.shape[1]),
        )
        for f, z in zip(shot, latents, strict=True):
            recorder.add_frame(z, f / fps)
        for f in dec:
            recorder.add_decision(f / fps, int(f) // cfg.capture_every, None)
        if mark is not None:
            recorder.mark_extract(mark)
        outcome = src.outcome or "died"
        value = float(src.final_value or 0.0) if outcome == "extracted" else 0.0
        info = recorder.end_run(outcome, value)
        t3 = time.perf_counter()
        looting = np.array([f for f in dec if states[f].phase == Phase.LOOTING], dtype=np.int64)
        looting_states = [states[f] for f in looting]
        rows = looting // cfg.capture_every  # the decisions' recorded frame rows
        if truth:
            write_truth(info.path / TRUTH_FILE, rows, looting_states, cfg, seed=raid_seed,
                        player=src.autopilot.params)
        elif cfg.branch_samples > 0:
            write_branches(info.path / BRANCHES_FILE, rows, looting_states, cfg, seed=raid_seed)
        t4 = time.perf_counter()
        t_play += t1 - t0
        t_enc += t2 - t1
        t_rec += t3 - t2
        t_truth += t4 - t3
        runs.append(
            GeneratedRun(info.run_id, info.path, len(shot), len(dec), len(looting), outcome, value)
        )
        log.debug("raid %d: %d frames, %s %.0f", raid_seed, len(frames), outcome, value)
        if progress is not None:
            progress("generate", i + 1, n_runs)
    return GenResult(tuple(runs), encoder.name, t_play, t_enc, t_rec, t_truth)


def play_live_raids(
    n_runs: int, *, seed: int, encoder: EncoderBackend, config: GenConfig | None = None, window: int = WINDOW,
) -> tuple[list[NDArray[np.float32]], list[LiveRaid]]:
    """Held-out raids (seeds seed … seed+n_runs−1) played and encoded as `generate_runs`
    does but kept in memory, for scoring with truth on demand (`advice.departure_gains`):
    per raid, its looting decisions' windows [n, L, D] and a `LiveRaid`. A raid that ended
    before its first decision is left out (no advice could change it)."""
    cfg = config or GenConfig()
    windows: list[NDArray[np.float32]] = []
    raids: list[LiveRaid] = []
    for i in range(n_runs):
        frames, states, src = play_raid(seed + i, cfg)
        shot = captured_frames(len(frames), cfg.capture_every)
        dec = decision_frames(len(frames), cfg.decision_every)
        looting = np.array([f for f in dec if states[f].phase == Phase.LOOTING], dtype=np.int64)
        if looting.size == 0:
            continue
        shot = shot[shot <= looting[-1]]  # frames after the last looting decision feed no window
        latents = encode_frames(encoder, [frames[f] for f in shot], cfg.batch_frames)
        rows = looting // cfg.capture_every
        if cfg.capture_every == 1:
            windows.append(latents[window_rows(rows, 0, window)])
        else:  # by time, as training builds them from the recorded frame times
            windows.append(latents[time_window_rows(shot / float(cfg.sim.fps), rows, 0, window)])
        value = float(src.final_value or 0.0) if src.outcome == "extracted" else 0.0
        raids.append(LiveRaid(looting / float(cfg.sim.fps), tuple(states[f] for f in looting), value,
                              src.autopilot.params))
    return windows, raids


def write_truth(
    path: Path, frame_idx: NDArray[np.int64], states: Sequence[GameState], cfg: GenConfig, *, seed: int,
    player: AutopilotParams | None = None,
) -> Path:
    """The truth sidecar of one run's looting decisions (see the module docstring).

    `player`: this run's own autopilot parameters. Besides the truth of the player mixture
    (what the frames can tell, for calibration), the sidecar then holds `ev_stay_own`: the
    EV of playing on as *this* player does, which is what following advice on the
    recorded path is scored against (`app.demo.advice`)."""
    truths = evaluate_many(list(states), n=cfg.truth_n, seed=seed, autopilot=cfg.autopilot, keep_samples=True)
    own = (evaluate_many(list(states), n=cfg.truth_n, seed=seed + 1, autopilot=cfg.autopilot, policy=player)
           if player is not None else None)
    rng = np.random.default_rng(seed)
    d = cfg.outcome_draws

    def draws(samples: NDArray[np.float64] | None) -> list[float]:
        assert samples is not None
        return rng.choice(samples, size=d, replace=False).tolist()

    q_type = pa.list_(pa.float32(), N_QUANTILES)
    table = pa.table(
        {
            "frame_idx": pa.array(frame_idx, pa.int64()),
            "ev_stay": pa.array([t.ev_stay for t in truths], pa.float64()),
            "ev_extract": pa.array([t.ev_extract for t in truths], pa.float64()),
            "delta": pa.array([t.delta for t in truths], pa.float64()),
            "se_delta": pa.array([t.se_delta for t in truths], pa.float64()),
            "p_died_stay": pa.array([t.p_died_stay for t in truths], pa.float64()),
            **({"ev_stay_own": pa.array([t.ev_stay for t in own], pa.float64())} if own is not None else {}),
            "p_died_extract": pa.array([t.p_died_extract for t in truths], pa.float64()),
            # what the HUD shows (the fixed rules' inputs), not given to any model
            "loot": pa.array([s.loot for s in states], pa.float64()),
            "time_s": pa.array([s.time_s for s in states], pa.float64()),
            "q_stay": pa.array([t.q_stay.tolist() for t in truths], q_type),
            "q_extract": pa.array([t.q_extract.tolist() for t in truths], q_type),
            "draws_stay": pa.array([draws(t.samples_stay) for t in truths], pa.list_(pa.float32(), d)),
            "draws_extract": pa.array([draws(t.samples_extract) for t in truths], pa.list_(pa.float32(), d)),
        }
    )
    return store.write_parquet_atomic(table, path)


def write_branches(
    path: Path, frame_idx: NDArray[np.int64], states: Sequence[GameState], cfg: GenConfig, *, seed: int
) -> Path:
    """Branch samples of one run's looting decisions: frame_idx, action, target rows."""
    n = max(2, cfg.branch_samples)  # evaluate_many needs n ≥ 2; keep the first branch_samples
    truths = evaluate_many(list(states), n=n, seed=seed + 1_000_003, autopilot=cfg.autopilot, keep_samples=True)
    k = cfg.branch_samples
    rows_f: list[int] = []
    rows_a: list[int] = []
    rows_y: list[float] = []
    for f, t in zip(frame_idx.tolist(), truths, strict=True):
        assert t.samples_stay is not None and t.samples_extract is not None
        for action, samples in ((STAY, t.samples_stay), (EXTRACT, t.samples_extract)):
            for y in samples[:k]:
                rows_f.append(f)
                rows_a.append(action)
                rows_y.append(float(y))
    table = pa.table(
        {
            "frame_idx": pa.array(rows_f, pa.int64()),
            "action": pa.array(rows_a, pa.int8()),
            "target": pa.array(rows_y, pa.float32()),
        }
    )
    return store.write_parquet_atomic(table, path)


def read_branches(run_dir: Path) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """The branch samples of one training run: (frame_idx, action, target), empty when none."""
    path = Path(run_dir) / BRANCHES_FILE
    if not path.is_file():
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    t = pq.read_table(path)
    return (
        t.column("frame_idx").to_numpy().astype(np.int64),
        t.column("action").to_numpy().astype(np.int64),
        t.column("target").to_numpy().astype(np.float32),
    )


def add_branches(ds: DecisionDataset, runs: Sequence[RunData], run_dirs: Sequence[Path]) -> int:
    """Append every run's branch samples to `ds` (built from `runs`, in order); returns how many.

    A branch row reuses its run's recorded frames (its window indexes the same rows of
    `ds.frames`, nothing is copied) and counts as that run in `ds.run_index`, so the
    trainer's split by run keeps a run and its branches on one side.
    """
    kept = [(r, d) for r, d in zip(runs, run_dirs, strict=True) if r.n_decisions]  # as DecisionDataset
    offsets = np.cumsum([0] + [len(r.latents) for r, _ in kept[:-1]])
    wi, ac, tg, ri = [], [], [], []
    for i, ((run, run_dir), off) in enumerate(zip(kept, offsets, strict=True)):
        f, a, y = read_branches(run_dir)
        if len(f) == 0:
            continue
        if f.max() >= len(run.latents):
            raise DataError(f"run {run.run_id}: branch samples refer to frames the run does not have")
        wi.append(window_rows(off + f, off, ds.window))
        ac.append(a)
        tg.append(y)
        ri.append(np.full(len(f), i, dtype=np.int64))
    if not wi:
        return 0
    ds.window_index = np.concatenate([ds.window_index, *wi])
    ds.actions = np.concatenate([ds.actions, *ac])
    ds.targets = np.concatenate([ds.targets, *tg]).astype(np.float32)
    ds.run_index = np.concatenate([ds.run_index, *ri])
    return int(sum(len(x) for x in ac))


def training_set(root: Path, window: int = WINDOW, branches: bool = True) -> DecisionDataset:
    """The recorded runs under `root` (real loader) plus, in place, their branch samples."""
    runs: list[RunData] = []
    dirs: list[Path] = []
    for info in store.list_runs(Path(root)):
        if info.recording or info.outcome is None:
            continue
        runs.append(load_run(info.path, info))
        dirs.append(info.path)
    if not runs:
        raise DataError(f"no labelled runs under {root}")
    ds = DecisionDataset(runs, window=window)
    if branches:
        add_branches(ds, runs, dirs)
    return ds


# ---------------------------------------------------------------------------- the headless demo


def demo_train_config(latent_dim: int = 512, **overrides: object) -> TrainConfig:
    """The demo's training: `arcx train`'s defaults (`TrainConfig`), for latents of size
    `latent_dim`, with `overrides`. The defaults are what `benchmarks/learning.py` measured."""
    return TrainConfig(**{"qnet": QNetConfig(latent_dim=latent_dim), **overrides})  # type: ignore[arg-type]


@dataclass(frozen=True)
class DemoConfig:
    """The whole headless demo: how many raids, how they are made, how the Q-net is trained."""

    n_train_runs: int = 13
    """recorded raids to train on (seeds seed …)"""
    n_heldout_runs: int = 5
    """recorded raids with truth to score on (seeds after the training ones)"""
    seed: int = 0
    """first raid seed"""
    gen: GenConfig = field(default_factory=GenConfig)
    """raid generation"""
    train: TrainConfig = field(default_factory=demo_train_config)
    """Q-net training (the Q-net's latent_dim must be the encoder's: 512 for the ResNet-34)"""
    encoder_preference: str = "auto"
    """encoder path (`runtime.select_encoder`): auto picks the fastest faithful one"""
    threads: int | None = None
    """encoder threads (None: all logical CPUs: nothing else is running in the demo)"""
    branches: bool = False
    """also train a simulator-assisted model on the branch samples (counterfactual outcomes
    no player can record) and show it as one labelled row; the headline never uses them"""
    hysteresis: Hysteresis = field(default_factory=Hysteresis)
    """the overlay's hysteresis, as scored"""


@dataclass(frozen=True)
class DemoResult:
    """What one headless demo did and how well the model scored."""

    train_gen: GenResult
    """generation of the training raids"""
    heldout_gen: GenResult
    """generation of the held-out raids"""
    training: TrainResult
    """the trainer's result"""
    metrics: Metrics
    """the model on the held-out runs"""
    advice: Table
    """loot per raid following each policy on the held-out runs"""
    model_path: Path
    """the trained checkpoint"""
    encoder_reason: str
    """why this encoder path"""
    seconds: dict[str, float]
    """wall time per phase: encoder, generate, train, eval, total"""


def prepare_encoder(
    size: tuple[int, int], preference: str = "auto", threads: int | None = None
) -> tuple[EncoderBackend, str, str]:
    """The encoder for frames of `size`: (backend, encoder id, why this path)."""
    model, _info = load_encoder(config=EncoderConfig(height=size[0], width=size[1]))
    backend, selection = select_encoder(
        model, preference=preference, threads=threads or os.cpu_count() or 1, game_frames=sim_frames
    )
    return backend, model.encoder_id(), selection.reason


def run_headless(
    root: Path,
    config: DemoConfig | None = None,
    *,
    encoder: tuple[EncoderBackend, str, str] | None = None,
    progress: Progress | None = None,
    on_epoch_end: Callable[[TrainProgress], None] | None = None,
) -> DemoResult:
    """Generate, train and evaluate under `root` (its train/ and heldout/ are replaced)."""
    cfg = config or DemoConfig()
    root = Path(root)
    started = time.perf_counter()
    t0 = time.perf_counter()
    backend, encoder_id, reason = encoder or prepare_encoder(cfg.gen.size, cfg.encoder_preference, cfg.threads)
    log.info("demo encoder: %s", reason)
    t_enc = time.perf_counter() - t0
    for sub in ("train", "heldout"):
        if (root / sub).exists():
            shutil.rmtree(root / sub)
    t0 = time.perf_counter()
    train_gen = generate_runs(
        root / "train", cfg.n_train_runs, seed=cfg.seed, encoder=backend, encoder_id=encoder_id,
        truth=False, config=cfg.gen, progress=progress,
    )
    heldout_gen = generate_runs(
        root / "heldout", cfg.n_heldout_runs, seed=cfg.seed + cfg.n_train_runs, encoder=backend,
        encoder_id=encoder_id, truth=True, config=cfg.gen,
        progress=(lambda _p, d, t: progress("held-out", d, t)) if progress else None,
    )
    t_gen = time.perf_counter() - t0
    write_demo_info(root, cfg)
    training, metrics, table, model_path, t = train_and_evaluate(
        root, cfg.train, on_epoch_end=on_epoch_end, branches=cfg.branches, hysteresis=cfg.hysteresis
    )
    seconds = {"encoder": t_enc, "generate": t_gen, **t, "total": time.perf_counter() - started}
    return DemoResult(train_gen, heldout_gen, training, metrics, table, model_path, reason, seconds)


DEMO_INFO = "demo.json"
"""Which seeds the demo folder's raids came from (so `arcx eval` can tune the fixed rule)."""


def write_demo_info(root: Path, cfg: DemoConfig) -> None:
    info = {"seed": cfg.seed, "train_raids": cfg.n_train_runs, "heldout_raids": cfg.n_heldout_runs}
    with atomic_path(Path(root) / DEMO_INFO) as tmp:
        tmp.write_text(json.dumps(info), encoding="utf-8")


def training_seeds(root: Path) -> list[int] | None:
    """The training raids' seeds of a demo folder, or None when it does not say."""
    try:
        info = json.loads((Path(root) / DEMO_INFO).read_text(encoding="utf-8"))
        return list(range(int(info["seed"]), int(info["seed"]) + int(info["train_raids"])))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def fixed_rule(root: Path, cfg: GenConfig | None = None) -> float | None:
    """The loot threshold tuned on the demo folder's training raids (None if unknown)."""
    seeds = training_seeds(root)
    if not seeds:
        return None
    g = cfg or GenConfig()
    best, _ = tune_loot_rule(seeds, sim=g.sim, autopilot=g.autopilot)
    return best


def train_and_evaluate(
    root: Path,
    train: TrainConfig | None = None,
    *,
    on_epoch_end: Callable[[TrainProgress], None] | None = None,
    model_path: Path | None = None,
    branches: bool = False,
    hysteresis: Hysteresis | None = None,
) -> tuple[TrainResult, Metrics, Table, Path, dict[str, float]]:
    """Train on `root`/train (the recorded runs only: what a player can record) and score
    on `root`/heldout; with `branches`, also train a simulator-assisted model on the branch
    samples, scored as one labelled row.

    The second half of `run_headless`, on raids generated before (no generation: the
    data is kept and reused). Returns (training result, held-out metrics, loot-per-raid
    table, checkpoint, seconds {"train", "eval"}).
    """
    root = Path(root)
    train = train or demo_train_config()
    for sub in ("train", "heldout"):
        if not (root / sub).is_dir():
            raise DataError(f"no {sub}/ under {root}: generate the demo's raids first")
    t0 = time.perf_counter()
    ds = training_set(root / "train", window=train.window, branches=False)
    path = Path(model_path) if model_path is not None else root / MODEL_FILE
    training = Trainer(train, on_epoch_end=on_epoch_end).fit(ds, path)
    assisted = None
    if branches:
        assisted = path.with_name(ASSISTED_MODEL_FILE)
        Trainer(train).fit(training_set(root / "train", window=train.window, branches=True), assisted)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics, table = evaluate_all(
        root / "heldout", path, hysteresis=hysteresis or Hysteresis(),
        loot_threshold=fixed_rule(root), assisted_model=assisted,
    )
    return training, metrics, table, path, {"train": t_train, "eval": time.perf_counter() - t0}
