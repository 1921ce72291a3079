"""The live path on this machine: encoder paths side by side, Q-net, latency, CPU use.

    python benchmarks/engine.py [--seconds 20] [--threads N] [--rounds 6] [--compile]
                                [--compare-fp32]

Prints, in one run:
1. the machine and how busy it is (load average, CPU used by other processes), because
   timings on a shared machine are only comparable within one run;
2. encoder ms/frame of every path, timed in interleaved rounds (each round times every
   path on the same frames, so a burst of outside load hits all of them), with the CPU
   time per frame and the worst cosine to fp32 on held-out game-like frames; the ratio
   to the fp32 eager baseline at the same thread count; what the start-up self-check
   chose;
3. preprocessing (crop/resize/mask) from 1080p and 1440p;
4. Q-net ms per tick (batch 1, one L×D window: 32×512);
5. the engine running at 8 FPS on the synthetic 1280×720 source with the chosen path, a
   Q-net loaded and the run recorded: capture-to-EV latency p50/p95, per-stage
   latency, deadlines skipped, and the whole process's CPU use (psutil) over the run —
   with `--compare-fp32`, the same with the fp32 eager encoder. The frame rate is held
   at 8 FPS here (the app would lower it when the CPU cannot keep up).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from _common import machine_line, percentile, time_calls  # noqa: E402

from app.core.capture.preprocess import Preprocessor  # noqa: E402
from app.core.capture.synthetic import HudScene, SyntheticSource  # noqa: E402
from app.core.data.recorder import RunRecorder  # noqa: E402
from app.core.engine import Engine, EngineConfig, EngineThreads  # noqa: E402
from app.core.model.checkpoint import save_checkpoint  # noqa: E402
from app.core.model.encoder import FrameEncoder, load_encoder  # noqa: E402
from app.core.model.fast import (  # noqa: E402
    CompiledBackend,
    EncoderBackend,
    TorchBackend,
)
from app.core.model.qnet import QNetConfig, TemporalQNet  # noqa: E402
from app.core.model.runtime import (  # noqa: E402
    _build,
    cosine_rows,
    default_threads,
    encoder_cache_dir,
    game_like_frames,
    select_encoder,
)
from app.demo.hooks import sim_frames  # noqa: E402

HELD_OUT_SEED = 123  # frames neither calibrated on nor used by the self-check


def load_line() -> str:
    la = os.getloadavg()
    me = psutil.Process()
    others = 0.0
    procs = [p for p in psutil.process_iter(["pid"]) if p.pid != me.pid]
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)
    time.sleep(1.0)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            others += p.cpu_percent(None)
    return (
        f"load: loadavg {la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f} on {os.cpu_count()} cores; "
        f"other processes using {others / 100:.2f} cores right now"
    )


class Threads:
    """Run a backend's calls with a given torch thread count (restored afterwards)."""

    def __init__(self, backend: EncoderBackend, threads: int, label: str) -> None:
        self.backend, self.threads, self.label = backend, threads, label

    def encode(self, frames: np.ndarray) -> np.ndarray:
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self.backend.encode(frames)
        finally:
            torch.set_num_threads(before)


def encoder_paths(model: FrameEncoder, threads: int, with_compile: bool) -> dict[str, Threads]:
    cache = encoder_cache_dir(model)
    say = lambda m: print(f"  ({m})", flush=True)  # noqa: E731
    out: dict[str, Threads] = {
        f"fp32 eager, {threads} thr": Threads(TorchBackend(model), threads, "fp32"),
    }
    if (os.cpu_count() or 1) > threads:
        out[f"fp32 eager, {threads + 1} thr"] = Threads(TorchBackend(model), threads + 1, "fp32")
    out["channels-last"] = Threads(TorchBackend(model, channels_last=True), threads, "channels-last")
    for name in ("ort-fp32", "ort-int8", "ao-int8"):
        try:
            backend, _ = _build(name, model, cache, threads, say, sim_frames)
            out[name] = Threads(backend, threads, name)
        except Exception as exc:
            print(f"  {name}: unavailable ({type(exc).__name__}: {exc})")
    if with_compile:
        t0 = time.perf_counter()
        compiled = CompiledBackend(model)
        compiled.encode(game_like_frames(1, seed=HELD_OUT_SEED, game=sim_frames))
        print(f"  (torch.compile took {time.perf_counter() - t0:.0f} s)")
        out["compile"] = Threads(compiled, threads, "compile")
    return out


def bench_encoders(paths: dict[str, Threads], rounds: int, baseline: str) -> dict[str, dict[str, float]]:
    frames = game_like_frames(16, seed=HELD_OUT_SEED, game=sim_frames)
    ref = TorchBackend(paths[baseline].backend.model).encode(frames)  # type: ignore[attr-defined]
    stats: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in paths}
    cos: dict[str, float] = {}
    for name, p in paths.items():
        z = np.concatenate([p.encode(f[None]) for f in frames])  # also warms every path up
        cos[name] = float(cosine_rows(z, ref).min())
    for r in range(rounds):
        for name, p in paths.items():
            for j in range(3):
                f = frames[(3 * r + j) % len(frames)][None]
                c0, t0 = time.process_time(), time.perf_counter()
                p.encode(f)
                stats[name]["wall"].append((time.perf_counter() - t0) * 1000)
                stats[name]["cpu"].append((time.process_time() - c0) * 1000)
    return {
        k: {"wall": statistics.median(v["wall"]), "cpu": statistics.median(v["cpu"]), "cos": cos[k]}
        for k, v in stats.items()
    }


def bench_preprocess() -> list[str]:
    lines = []
    pre = Preprocessor(masks=[])
    for w, h in ((1920, 1080), (2560, 1440)):
        frame = HudScene(w, h, seed=1).render(10)
        ms = time_calls(lambda f=frame: pre(f), runs=20)
        lines.append(f"preprocess {w}×{h} → 400×225: median {statistics.median(ms):.1f} ms, p90 {percentile(ms, 0.9):.1f} ms")
    return lines


def run_engine(
    backend: EncoderBackend, encoder_id: str, model_path: Path, seconds: float, threads: int, label: str
) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="arcx-bench-") as tmp:
        recorder = RunRecorder(Path(tmp) / "runs")
        engine = Engine(
            SyntheticSource(1280, 720),
            # min_fps=8: hold 8 FPS (the app would lower it on an overloaded CPU); a path
            # that cannot keep up shows as skipped deadlines instead.
            config=EngineConfig(fps=8.0, min_fps=8.0, threads=threads),
            recorder=recorder, encoder=backend, encoder_id=encoder_id,
        )
        engine.warm_up(progress=lambda m: None)
        engine.load_model(model_path)
        runner = EngineThreads(engine)
        engine.start_run()
        proc = psutil.Process()
        runner.start()
        time.sleep(2.0)  # settle: first frames, first ticks
        c0, t0 = proc.cpu_times(), time.monotonic()
        frames0 = engine.status().frames_seen
        time.sleep(seconds)
        c1, t1 = proc.cpu_times(), time.monotonic()
        st = engine.status()
        runner.stop()
        info = engine.end_run(None)
        recorder.close()
    if runner.error is not None:
        return [f"engine ({label}) stopped by an error: {runner.error}"]
    cores = ((c1.user - c0.user) + (c1.system - c0.system)) / (t1 - t0)
    fps = (st.frames_seen - frames0) / (t1 - t0)
    lat = st.latency_ms

    def pp(stage: str) -> str:
        v = lat.get(stage)
        return "n/a" if v is None else f"{v[0]:.1f} / {v[1]:.1f}"

    return [
        f"engine [{label}] at {st.fps:g} FPS for {t1 - t0:.0f} s: "
        f"{fps:.2f} frames/s delivered, {st.frames_skipped} deadlines skipped, {info.n_decisions} decisions recorded",
        f"  whole-process CPU: {cores:.2f} cores ({100 * cores / (os.cpu_count() or 1):.0f} % of the machine)",
        f"  capture-to-EV age p50 / p95: {pp('age')} ms",
        f"  stages p50 / p95 ms: grab {pp('grab')}, preprocess {pp('preprocess')}, encode {pp('encode')}, qnet {pp('qnet')}",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="engine run length (default 20)")
    ap.add_argument("--threads", type=int, default=None, help="encoder threads (default: the app's choice)")
    ap.add_argument("--rounds", type=int, default=6, help="interleaved timing rounds (3 frames each)")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (about a minute to compile)")
    ap.add_argument("--compare-fp32", action="store_true", help="also run the engine with the fp32 eager encoder")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    threads = args.threads or default_threads()
    torch.set_num_threads(threads)

    print(machine_line())
    print(load_line())
    model, info = load_encoder()
    print(f"encoder: weights {info.source} (id {info.encoder_id}), {threads} encoder thread(s)")

    print("\n[1] start-up self-check (what the app would choose)")
    t0 = time.perf_counter()
    chosen, sel = select_encoder(
        model, threads=threads, progress=lambda m: print(f"  ({m})", flush=True), game_frames=sim_frames
    )
    print(f"  took {time.perf_counter() - t0:.1f} s → {sel.reason}")

    print(f"\n[2] encoder paths side by side, 1×225×400, {args.rounds} interleaved rounds")
    paths = encoder_paths(model, threads, args.compile)
    baseline = f"fp32 eager, {threads} thr"
    res = bench_encoders(paths, args.rounds, baseline)
    base = res[baseline]["wall"]
    base_cpu = res[baseline]["cpu"]
    print(f"  {'path':22s} {'wall ms':>9s} {'cpu ms':>8s} {'× fp32 (wall)':>14s} {'× fp32 (cpu)':>13s} {'min cosine':>11s}")
    for name, r in res.items():
        mark = "  ← chosen" if paths[name].label == sel.chosen and name != f"fp32 eager, {threads + 1} thr" else ""
        print(f"  {name:22s} {r['wall']:9.1f} {r['cpu']:8.1f} {base / r['wall']:14.2f} {base_cpu / r['cpu']:13.2f} {r['cos']:11.5f}{mark}")
    ch = next((r for n, r in res.items() if paths[n].label == sel.chosen), None)
    if ch is not None:
        print(f"  chosen {sel.chosen}: {base / ch['wall']:.2f}× faster than fp32 eager (wall), "
              f"{base_cpu / ch['cpu']:.2f}× less CPU, min cosine {ch['cos']:.5f} on 16 held-out frames")

    print("\n[3] preprocessing")
    for line in bench_preprocess():
        print("  " + line)

    print("\n[4] Q-net")
    qcfg = QNetConfig()
    qnet = TemporalQNet(qcfg).eval()
    window = torch.randn(1, qcfg.seq_len, qcfg.latent_dim)  # (1, L, D)
    with torch.no_grad():
        q_ms = time_calls(lambda: qnet(window), runs=30)
    print(f"  BiGRU Q-net, 1×{qcfg.seq_len}×{qcfg.latent_dim}: median {statistics.median(q_ms):.1f} ms, p90 {percentile(q_ms, 0.9):.1f} ms per tick")

    print(f"\n[5] engine at 8 FPS, synthetic 1280×720, recording, Q-net loaded ({args.seconds:g} s)")
    with tempfile.TemporaryDirectory(prefix="arcx-bench-model-") as tmp:
        model_path = save_checkpoint(Path(tmp) / "q.safetensors", qnet, encoder_id=info.encoder_id,
                                     value_scale=1000.0, epoch=0, val_loss=0.0)
        for line in run_engine(chosen, info.encoder_id, model_path, args.seconds, threads, sel.chosen):
            print(line)
        if args.compare_fp32 and sel.chosen != "fp32":
            for line in run_engine(TorchBackend(model), info.encoder_id, model_path, args.seconds, threads, "fp32"):
                print(line)
    print("\n" + load_line())


if __name__ == "__main__":
    main()
