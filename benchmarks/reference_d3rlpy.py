"""A reference from the field beside ArcX (issue 12): d3rlpy's discrete CQL with a quantile
Q-function, trained on the same recorded latents, scored on the same held-out raids.

    pip install d3rlpy        # benchmark only, never an ArcX dependency (2.8.1 keeps torch)
    python benchmarks/reference_d3rlpy.py [--root /tmp/l12/data] [--points 10 50 200]
                                          [--steps 10000] [--fqe-steps 5000]

The decision problem handed to d3rlpy (its MDPDataset wants flat observations):

- **observation** [2·D = 1024]: the window's newest latent and the mean of its L = 32
  latents, each standardised per dimension with the mean/std of the n training raids'
  frames (the whole window flattened, 16 384 floats per decision, would take 1.6 GB for
  the 200 raids' 25 000 decisions, and an MLP on it would not be a fairer reference);
- **action**: the recorded one (stay before the player's extract mark, extract from it);
- **episodes end at the mark**: the mark's decision (extract) is the terminal step with
  reward = the raid's final value / value scale; the decisions after it (the walk out, all
  "extract", no choice left) are dropped. That is the optimal-stopping problem ArcX's own
  targets solve (`app.core.training.targets`: extract keeps the final value, stay
  bootstraps on the next decision). A raid that died while looting ends on its last stay
  with reward 0. Every other reward is 0; γ = 1 (undiscounted, so Q is in loot units);
- **value scale**: mean |final value| over the n training raids (per raid).

DiscreteCQL(α = 1) with `QRQFunctionFactory(n_quantiles=16)` learns Q; its quantiles
(sorted, times the value scale) are the `Prediction` scored by `advice_table`, hysteresis
as the app's. DiscreteFQE (same Q-function family) then evaluates CQL's greedy policy;
its estimate of V(first looting decision) per held-out raid is printed next to what the
table measures for CQL's advice (the table follows the advice through hysteresis, FQE
evaluates the greedy policy without it: close, not identical). Defaults: 10 000 CQL and
5 000 FQE steps, batch 256, Adam 1e-4, target sync every 100 steps, γ = 1.

What it printed on 199 + 200 raids (2 shared cores, ~21 min): CQL neutral banks 587 / 600 /
603 per raid at 10 / 50 / 200 raids (habit 576, oracle 592) while saying extract at 0.3 %
of decisions; CQL's extract means fall to −10 000 loot (the logsumexp penalty on an action
taken once a raid). FQE's V(first decision) came out 23–64 loot: CQL's greedy policy stays
at the mark, where the data show only "extract", so FQE bootstraps from a value no
transition trains; it cannot value this policy from these data.

CPU, 1 torch thread (the benchmark machine is shared). Data are read, never written.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import machine_line  # noqa: E402

from app.core.data.dataset import DecisionDataset, load_labelled  # noqa: E402
from app.core.model.ev import Hysteresis  # noqa: E402
from app.demo.advice import HABIT, ORACLE  # noqa: E402
from app.demo.evaluation import HeldOut, Prediction, advice_table, load_heldout  # noqa: E402

N_QUANTILES = 16
"""K: quantiles of the Q-function (the table's Prediction is [N, 2, K])"""
_CHUNK = 2048  # decisions per feature / prediction chunk
_STD_FLOOR = 1e-6  # dimensions the encoder leaves constant are centred, not blown up
ROW = "d3rlpy CQL (QR) neutral"


@dataclass(frozen=True)
class Features:
    """Per-dimension standardisation of the latents, fitted on the training frames."""

    mean: NDArray[np.float32]
    """[D] frame mean"""
    std: NDArray[np.float32]
    """[D] frame std, floored at _STD_FLOOR"""

    @classmethod
    def fit(cls, frames: NDArray[np.float16]) -> Features:
        f = frames.astype(np.float32)
        return cls(f.mean(axis=0), np.maximum(f.std(axis=0), _STD_FLOOR).astype(np.float32))

    def __call__(self, windows: NDArray[np.floating]) -> NDArray[np.float32]:
        """[N, L, D] windows → [N, 2·D]: standardised newest latent ‖ standardised window mean."""
        if windows.ndim != 3 or windows.shape[2] != len(self.mean):
            raise ValueError(f"need windows [N, L, D={len(self.mean)}], got {list(windows.shape)}")
        newest = (windows[:, -1, :].astype(np.float32) - self.mean) / self.std  # (N, D)
        avg = (windows.astype(np.float32).mean(axis=1) - self.mean) / self.std  # (N, D)
        return np.concatenate([newest, avg], axis=1).astype(np.float32)  # (N, 2D)


def mdp_arrays(ds: DecisionDataset, feats: Features, scale: float) -> tuple[NDArray, ...]:
    """(observations [T, 2D], actions [T], rewards [T, 1], terminals [T]) with each raid cut
    at its first extract decision (the terminal step; reward = final value / scale)."""
    keep, term = [], []
    for r in range(ds.n_runs):
        idx = np.flatnonzero(ds.run_index == r)  # recorded decisions of raid r, in order
        ext = np.flatnonzero(ds.actions[idx] == 1)
        idx = idx[: ext[0] + 1] if ext.size else idx  # up to and including the mark
        keep.append(idx)
        t = np.zeros(len(idx), dtype=np.float32)
        t[-1] = 1.0
        term.append(t)
    rows = np.concatenate(keep)
    terminals = np.concatenate(term)
    obs = np.concatenate([feats(ds.windows(rows[i : i + _CHUNK])) for i in range(0, len(rows), _CHUNK)])
    rewards = np.where(terminals > 0, ds.targets[rows] / scale, 0.0).astype(np.float32)[:, None]  # (T, 1)
    return obs, ds.actions[rows].astype(np.int64), rewards, terminals


@torch.no_grad()
def quantiles(algo: object, obs: NDArray[np.float32], scale: float) -> NDArray[np.float64]:
    """[N, 2, K] sorted quantiles in loot units from a d3rlpy QR Q-function (critic 0)."""
    q_func = algo.impl.modules.q_funcs[0]  # type: ignore[attr-defined]
    q_func.eval()
    out = [q_func(torch.from_numpy(obs[i : i + _CHUNK])).quantiles.numpy() for i in range(0, len(obs), _CHUNK)]
    return np.sort(np.concatenate(out).astype(np.float64) * scale, axis=2)  # (N, A, K)


def first_decisions(held: HeldOut) -> NDArray[np.int64]:
    """[R] index of each held-out raid's first looting decision."""
    return np.array([np.flatnonzero(held.run_index == r)[0] for r in range(len(held.run_value))])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=Path("/tmp/l12/data"), help="holds train/ and heldout/")
    p.add_argument("--points", type=int, nargs="+", default=[10, 50, 200], help="training raids per point")
    p.add_argument("--steps", type=int, default=10_000, help="CQL gradient steps per point")
    p.add_argument("--fqe-steps", type=int, default=5_000, help="FQE gradient steps per point (0: skip)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--alpha", type=float, default=1.0, help="CQL's conservative weight")
    p.add_argument("--target-update", type=int, default=100, help="steps between target-network syncs")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(machine_line())

    import d3rlpy
    import structlog
    from d3rlpy.algos import DiscreteCQLConfig
    from d3rlpy.dataset import MDPDataset
    from d3rlpy.logging import NoopAdapterFactory
    from d3rlpy.models import QRQFunctionFactory
    from d3rlpy.ope import DiscreteFQE, FQEConfig

    # d3rlpy logs every fit at info level; keep its warnings only
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    print(f"d3rlpy {d3rlpy.__version__}, torch {torch.__version__}")
    runs = load_labelled(args.root / "train")
    held = load_heldout(args.root / "heldout")
    first = first_decisions(held)
    hyst = Hysteresis()
    print(f"{len(runs)} training raids, {len(held.run_value)} held-out raids ({len(held.delta)} looting decisions)")
    summary = []
    for n in sorted(args.points):
        t0 = time.perf_counter()
        d3rlpy.seed(args.seed)
        ds = DecisionDataset(runs[:n])
        feats = Features.fit(ds.frames)
        scale = float(np.mean([abs(r.target) for r in runs[:n]])) or 1.0
        obs, act, rew, term = mdp_arrays(ds, feats, scale)
        data = MDPDataset(obs, act, rew, term, action_space=d3rlpy.ActionSpace.DISCRETE, action_size=2)
        cql = DiscreteCQLConfig(
            learning_rate=args.lr, batch_size=args.batch, gamma=1.0, alpha=args.alpha,
            target_update_interval=args.target_update,
            q_func_factory=QRQFunctionFactory(n_quantiles=N_QUANTILES),
        ).create(device="cpu:0")
        cql.fit(data, n_steps=args.steps, n_steps_per_epoch=args.steps, show_progress=False,
                logger_adapter=NoopAdapterFactory(), save_interval=args.steps + 1)
        held_obs = np.concatenate([feats(held.windows[i : i + _CHUNK]) for i in range(0, len(held.windows), _CHUNK)])
        pred = Prediction(quantiles(cql, held_obs, scale))
        table = advice_table(held, None, hysteresis=hyst, extra={ROW: pred},
                             note=f"{n} training raids; hysteresis {hyst.hold_s:g} s / {100 * hyst.margin:.0f} %")
        fqe_v = float("nan")
        if args.fqe_steps > 0:
            fqe = DiscreteFQE(algo=cql, config=FQEConfig(
                learning_rate=args.lr, batch_size=args.batch, gamma=1.0,
                target_update_interval=args.target_update,
                q_func_factory=QRQFunctionFactory(n_quantiles=N_QUANTILES),
            ), device="cpu:0")
            fqe.fit(data, n_steps=args.fqe_steps, n_steps_per_epoch=args.fqe_steps, show_progress=False,
                    logger_adapter=NoopAdapterFactory(), save_interval=args.fqe_steps + 1)
            s0 = held_obs[first]
            fqe_v = float(np.mean(fqe.predict_value(s0, cql.predict(s0)))) * scale  # V^π(first decision)
        row, habit, oracle = table.row(ROW), table.row(HABIT), table.row(ORACLE)
        secs = time.perf_counter() - t0
        summary.append((n, len(obs), secs, row, habit, oracle, fqe_v, float(pred.ev.mean(axis=0)[0]),
                        float(pred.ev.mean(axis=0)[1])))
        print(f"\n{n} raids: {len(obs)} transitions to the mark, value scale {scale:.0f}, "
              f"{args.steps} CQL + {args.fqe_steps} FQE steps, {secs:.0f} s")
        if n == max(args.points):
            print(table.render())
        print(f"  {ROW}: loot/raid {row.loot.fmt(0)} (habit {habit.loot.mean:.0f}, oracle {oracle.loot.mean:.0f}); "
              f"share of oracle gain {row.gain_share.fmt(0, pct=True)}; regret/decision {row.regret.fmt(1)}; "
              f"says extract at {100 * row.extract_share:.1f}% of decisions")
        if args.fqe_steps > 0:
            print(f"  FQE of CQL's greedy policy: V(first looting decision) {fqe_v:.0f} loot/raid "
                  f"(the table measures {row.loot.mean:.0f} for its advice)", flush=True)
    print("\nraids  transitions  seconds   CQL neutral loot/raid [95%]   habit  oracle   share of oracle gain [95%]"
          "   regret  says extract   FQE V(s0)   mean Q stay / extract")
    for n, t, secs, row, habit, oracle, fqe_v, qs, qe in summary:
        print(f"{n:5d}  {t:11d}  {secs:7.0f}   {row.loot.fmt(0):>27}   {habit.loot.mean:5.0f}  {oracle.loot.mean:6.0f}"
              f"   {row.gain_share.fmt(0, pct=True):>26}   {row.regret.mean:6.1f}  {100 * row.extract_share:11.1f}%"
              f"   {fqe_v:9.0f}   {qs:6.0f} / {qe:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
