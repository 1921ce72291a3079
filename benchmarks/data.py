"""Recorded data on disk: bytes per decision, and what recording costs per second.

    python benchmarks/data.py [--minutes 60] [--live-seconds 20] [--encoder-frames 0]

1. Records `--minutes` of synthetic play (8 FPS, a decision every 0.5 s, D=512 latents
   after LayerNorm + ReLU, like the encoder's) through the real RunRecorder, flushing a
   part every 2 s of run time exactly as the writer thread does, and reports: bytes per
   decision on disk (target ≤ 4 KB; the seed design stored 32×512 float32 = 64 KB), the
   time each flush takes, the write cost per second of recording, and end_run's
   compaction time.
2. Records `--live-seconds` in real time from two threads (capture at 8 FPS, inference
   every 0.5 s) with the background writer on, and reports add_frame's latency: what
   the capture thread pays while parts are being written.
3. With `--encoder-frames N`, also encodes N frames of the simulated game with the real
   FrameEncoder and reports their bytes per frame (real latents compress differently
   from synthetic ones).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, percentile  # noqa: E402

from app.core.data import store  # noqa: E402
from app.core.data.recorder import RunRecorder  # noqa: E402
from app.core.data.schema import frames_table  # noqa: E402
from app.core.data.synthetic import SyntheticConfig, generate_runs  # noqa: E402

FPS = 8.0
FLUSH_S = 2.0
DECISION_EVERY = 4  # frames (0.5 s at 8 FPS)


def _synthetic_latents(n_frames: int, d: int, seed: int) -> np.ndarray:
    """Enough synthetic runs, back to back, for n_frames latents [n, D] float32."""
    cfg = SyntheticConfig(latent_dim=d)
    rng_seed = seed
    parts, total = [], 0
    while total < n_frames:
        for run in generate_runs(8, cfg, seed=rng_seed):
            parts.append(run.latents)
            total += len(run.latents)
        rng_seed += 1
    return np.concatenate(parts)[:n_frames]


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def bench_sizes(root: Path, minutes: float, d: int) -> None:
    n_frames = int(minutes * 60 * FPS)
    print(f"generating {n_frames:,} synthetic latents (D={d}) …", flush=True)
    latents = _synthetic_latents(n_frames, d, seed=0)
    print(f"  zeros: {(latents == 0).mean():.0%} of entries")
    clock = _Clock()
    # A huge interval: this loop flushes itself, every FLUSH_S of run time, and times it.
    rec = RunRecorder(root, flush_interval_s=1e9, clock=clock)
    rec.start_run(encoder_id="bench", fps=FPS, latent_dim=d)
    flush_wall: list[float] = []
    flush_cpu: list[float] = []
    add_us: list[float] = []
    frames_per_flush = int(FLUSH_S * FPS)
    for i in range(n_frames):
        t = i / FPS
        clock.t = t
        t0 = time.perf_counter()
        f = rec.add_frame(latents[i], t)
        add_us.append((time.perf_counter() - t0) * 1e6)
        if i % DECISION_EVERY == DECISION_EVERY - 1:
            rec.add_decision(t, f, None)
        if i % frames_per_flush == frames_per_flush - 1:
            w0, c0 = time.perf_counter(), time.thread_time()
            rec.flush()
            flush_wall.append(time.perf_counter() - w0)
            flush_cpu.append(time.thread_time() - c0)
    run_dir = root / str(rec.active_run_id)
    parts_bytes = store.folder_bytes(run_dir)
    n_dec = n_frames // DECISION_EVERY
    t0 = time.perf_counter()
    info = rec.end_run("extracted", 1000.0)
    compact_s = time.perf_counter() - t0
    seconds = n_frames / FPS
    print(f"recorded {seconds / 60:.0f} min: {info.n_frames:,} frames, {info.n_decisions:,} decisions")
    print(
        f"on disk after compaction: {info.bytes_on_disk / 1e6:.1f} MB = "
        f"{info.bytes_on_disk / info.n_decisions:,.0f} bytes per decision "
        f"({info.bytes_on_disk / info.n_frames:,.0f} per frame)   target ≤ 4,096"
    )
    print(
        f"on disk while recording (parts of {FLUSH_S:g} s): {parts_bytes / n_dec:,.0f} bytes per decision"
    )
    print(
        f"flush every {FLUSH_S:g} s: median {statistics.median(flush_wall) * 1e3:.1f} ms wall, "
        f"p90 {percentile(flush_wall, 0.9) * 1e3:.1f} ms, max {max(flush_wall) * 1e3:.1f} ms "
        f"(n={len(flush_wall)})"
    )
    print(
        f"write cost per second of recording: {sum(flush_wall) / seconds * 1e3:.2f} ms wall, "
        f"{sum(flush_cpu) / seconds * 1e3:.2f} ms CPU "
        f"({sum(flush_cpu) / seconds:.2%} of one core)"
    )
    print(
        f"add_frame (no flush running): median {statistics.median(add_us):.1f} µs, "
        f"p99 {percentile(add_us, 0.99):.1f} µs"
    )
    print(f"end_run compaction of the whole run: {compact_s:.2f} s")


def bench_live(root: Path, seconds: float, d: int) -> None:
    latents = _synthetic_latents(int(seconds * FPS) + 1, d, seed=1)
    rec = RunRecorder(root, flush_interval_s=FLUSH_S)
    rec.start_run(encoder_id="bench-live", fps=FPS, latent_dim=d)
    add_us: list[float] = []
    last_frame = [-1]
    stop = threading.Event()

    def inference() -> None:
        while not stop.wait(0.5):
            if last_frame[0] >= 0:
                rec.add_decision(rec.elapsed(), last_frame[0], None)

    th = threading.Thread(target=inference)
    th.start()
    start = time.perf_counter()
    for i in range(len(latents)):
        target = start + i / FPS
        time.sleep(max(0.0, target - time.perf_counter()))
        t0 = time.perf_counter()
        last_frame[0] = rec.add_frame(latents[i], rec.elapsed())
        add_us.append((time.perf_counter() - t0) * 1e6)
    stop.set()
    th.join()
    info = rec.end_run(None)
    print(
        f"live {seconds:g} s at {FPS:g} FPS with the writer thread flushing every {FLUSH_S:g} s "
        f"({info.n_frames} frames, {info.n_decisions} decisions):"
    )
    print(
        f"  add_frame median {statistics.median(add_us):.1f} µs, p99 {percentile(add_us, 0.99):.1f} µs, "
        f"max {max(add_us):.1f} µs"
    )


def bench_encoder(n: int) -> None:
    import torch

    from app.core.model.encoder import load_encoder
    from app.demo.sim.game import Game
    from app.demo.sim.render import render

    encoder, info = load_encoder()
    encoder.eval()
    game = Game(seed=0)
    frames = []
    while len(frames) < n:
        state = game.step("stay")
        frames.append(render(state))
        if game.done:
            game = Game(seed=len(frames))
    x = torch.from_numpy(np.stack(frames))
    with torch.no_grad():
        z = torch.cat([encoder(x[i : i + 16]) for i in range(0, n, 16)]).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.parquet"
        store.write_parquet_atomic(frames_table("r", np.arange(n), np.arange(n) / FPS, z), path)
        size = path.stat().st_size
    print(
        f"real encoder ({info.source} weights, id {info.encoder_id}) on {n} simulated frames: "
        f"{(z == 0).mean():.0%} zeros, {size / n:,.0f} bytes per frame → "
        f"≈ {size / n * DECISION_EVERY:,.0f} bytes of frames per decision"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0, help="synthetic play to record")
    ap.add_argument("--live-seconds", type=float, default=20.0, help="real-time recording (0: skip)")
    ap.add_argument("--encoder-frames", type=int, default=0, help="also encode N simulated frames")
    ap.add_argument("--dim", type=int, default=512, help="latent size D")
    args = ap.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        bench_sizes(Path(tmp) / "sizes", args.minutes, args.dim)
        if args.live_seconds > 0:
            bench_live(Path(tmp) / "live", args.live_seconds, args.dim)
    if args.encoder_frames > 0:
        bench_encoder(args.encoder_frames)


if __name__ == "__main__":
    main()
