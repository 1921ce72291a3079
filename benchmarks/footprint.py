"""What ArcX costs the machine beside the game: memory, CPU, start-up time, latency.

    python benchmarks/footprint.py [--seconds 20]

Prints, in one run (every measurement in a fresh process, so one's memory does not
count in another's):
1. the machine line (CPU instruction sets, cores, load);
2. RSS idle: `app.cli` and the engine imported (what a lean start loads before
   warm-up), and the same plus the torch-side modules (runtime, encoder) a torch start
   imports;
3. the live engine as `arcx run` builds it (auto encoder selection, a Q-net loaded) on
   the synthetic 1280×720 source at 8 FPS: cold (empty caches: a torch start that
   exports, quantizes, self-checks, records its choice and exports the Q-net), warm (a
   lean start from those caches, `app/core/model/lean.py`) and warm with torch (another
   encoder-path setting, so the record does not apply): time from process start to the
   first EV tick, RSS, whole-process CPU, capture-to-EV age p50 / p95; the encoder
   paths side by side as the cold self-check timed them; the Q-net export's fidelity;
4. training in the child process (`app/core/training/child.py`): the child's peak RSS
   and the parent's RSS beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import cpu_flags, cpu_name  # noqa: E402

MB = 2**20
FPS = 8.0


def _since_start() -> float:
    return time.time() - psutil.Process().create_time()


def _rss() -> float:
    return psutil.Process().memory_info().rss / MB


def _emit(**kw: Any) -> None:
    print("RESULT " + json.dumps(kw), flush=True)


# ---------------------------------------------------------------------------- parts


def part_idle_engine() -> None:
    import app.cli  # noqa: F401
    import app.core.engine  # noqa: F401
    import app.core.model.encoder  # noqa: F401
    import app.core.model.runtime  # noqa: F401

    _emit(rss=_rss(), torch="torch" in sys.modules)


def part_idle_lean() -> None:
    import onnxruntime  # noqa: F401

    import app.cli  # noqa: F401
    import app.core.engine  # noqa: F401

    _emit(rss=_rss(), torch="torch" in sys.modules)


def part_live(seconds: float, out_dir: Path, encoder_path: str) -> None:
    from app.core.capture.synthetic import SyntheticSource
    from app.core.engine import Engine, EngineConfig, EngineThreads, EVTick

    first: list[float] = []

    def on_tick(t: EVTick) -> None:
        if t.ev is not None and not first:
            first.append(_since_start())

    engine = Engine(SyntheticSource(1280, 720), config=EngineConfig(fps=FPS, min_fps=FPS, encoder_path=encoder_path))
    engine.warm_up(progress=lambda m: None)
    model_path = out_dir / "qnet.safetensors"
    if not model_path.exists():  # a default-size Q-net for this encoder (untrained: speed only)
        import torch

        from app.core.model.checkpoint import save_checkpoint
        from app.core.model.qnet import QNetConfig, TemporalQNet

        torch.manual_seed(0)
        net = TemporalQNet(QNetConfig(latent_dim=512))
        net.set_input_stats(torch.randn(256, 512))
        save_checkpoint(model_path, net, encoder_id=str(engine.encoder_id), value_scale=1000.0, epoch=1, val_loss=0.0)
    engine.load_model(model_path)
    runner = EngineThreads(engine, on_tick=on_tick)
    runner.start()
    while not first and runner.error is None:
        time.sleep(0.02)
    time.sleep(2.0)  # settle
    proc = psutil.Process()
    c0, t0 = proc.cpu_times(), time.monotonic()
    rss_max = 0.0
    while time.monotonic() - t0 < seconds:
        time.sleep(0.5)
        rss_max = max(rss_max, _rss())
    c1, t1 = proc.cpu_times(), time.monotonic()
    st = engine.status()
    runner.stop()
    sel = engine.selection
    checks = [
        {"name": c.name, "accepted": c.accepted, "cosine": c.cosine_min, "ms": c.ms_per_frame, "note": c.note}
        for c in (sel.checks if sel is not None else ())
    ]
    age = st.latency_ms.get("age")
    fidelity = [json.loads(p.read_text()) for p in (Path(os.environ["ARCX_HOME"]).rglob("qnet/*.json"))]
    _emit(
        first_ev_s=first[0] if first else None, rss=_rss(), rss_max=rss_max,
        cores=((c1.user - c0.user) + (c1.system - c0.system)) / (t1 - t0),
        age_p50=age[0] if age else None, age_p95=age[1] if age else None,
        fps=st.fps, path=engine.encoder_path, reason=sel.reason if sel is not None else None,
        checks=checks, lean=engine.lean, torch="torch" in sys.modules, fidelity=fidelity,
        error=str(runner.error) if runner.error else None,
    )


def part_train(out_dir: Path) -> None:
    from app.core.data.synthetic import SyntheticConfig, record_runs
    from app.core.training.child import train_in_child
    from app.core.training.trainer import TrainConfig

    root = out_dir / "runs"
    record_runs(root, 30, SyntheticConfig(latent_dim=512, max_duration_s=120.0), seed=1)
    peak = {"child": 0.0, "parent": 0.0}
    pid: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak["parent"] = max(peak["parent"], _rss())
            if pid:
                with contextlib.suppress(psutil.Error):  # not started yet, or just ended
                    peak["child"] = max(peak["child"], psutil.Process(pid[0]).memory_info().rss / MB)

    threading.Thread(target=sample, daemon=True).start()
    t0 = time.monotonic()
    result = train_in_child(TrainConfig(epochs=3, device="cpu"), root, out_dir / "trained.safetensors",
                            on_started=pid.append)
    done.set()
    _emit(child_peak=peak["child"], parent_peak=peak["parent"], seconds=time.monotonic() - t0,
          decisions=result.n_train, torch_in_parent="torch" in sys.modules)


# --------------------------------------------------------------------------- driver


def _run_part(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--part", *args], capture_output=True, text=True, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])  # type: ignore[no-any-return]
    raise RuntimeError(f"part {args[0]} failed:\n{done.stderr[-3000:]}")


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds of each live run")
    parser.add_argument("--part", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        name, rest = args.part[0], args.part[1:]
        if name == "idle-engine":
            part_idle_engine()
        elif name == "idle-lean":
            part_idle_lean()
        elif name == "live":
            part_live(float(rest[0]), Path(rest[1]), rest[2])
        elif name == "train":
            part_train(Path(rest[0]))
        return

    import onnxruntime
    import torch

    print(
        f"machine: {cpu_name()} [{cpu_flags()}], {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="arcx-footprint-") as tmp:
        env = {**os.environ, "ARCX_HOME": str(Path(tmp) / "home"), "OMP_WAIT_POLICY": "PASSIVE"}
        out = Path(tmp)
        idle = _run_part(["idle-engine"], env)
        lean_idle = _run_part(["idle-lean"], env)
        print(f"RSS idle, cli + engine + onnxruntime (torch loaded: {lean_idle['torch']}): {lean_idle['rss']:.0f} MB")
        print(f"RSS idle, those + runtime + encoder (torch loaded: {idle['torch']}): {idle['rss']:.0f} MB")
        runs = {}
        # cold: empty caches, a torch start (export, quantize, self-check; it records its
        # choice and exports the Q-net); warm: the same settings again, a lean start; torch:
        # the warm caches but another encoder-path setting, so the engine starts with torch
        for label, setting in (("cold", "auto"), ("warm", "auto"), ("warm, torch", "ort-int8")):
            runs[label] = r = _run_part(["live", str(args.seconds), str(out), setting], env)
            if r.get("error"):
                print(f"live [{label}] stopped by an error: {r['error']}")
            print(
                f"live engine [{label}] {r['path']} at {r['fps']:g} FPS, lean {r['lean']}, torch loaded {r['torch']}: "
                f"first EV {r['first_ev_s']:.1f} s after process start; RSS {r['rss']:.0f} MB (max {r['rss_max']:.0f}); "
                f"whole-process CPU {r['cores']:.2f} cores; capture-to-EV p50 / p95 "
                f"{_ms(r['age_p50'])} / {_ms(r['age_p95'])} ms"
            )
        print(f"  self-check chose: {runs['cold']['reason']}")
        for c in runs["cold"]["checks"]:
            cos = "n/a" if c["cosine"] is None else f"{c['cosine']:.4f}"
            print(f"  encoder path {c['name']:<8} {_ms(c['ms']):>5} ms/frame, cosine {cos}, "
                  f"{'accepted' if c['accepted'] else 'rejected'} ({c['note']})")
        for f in runs["warm"]["fidelity"]:
            print(f"  Q-net in ONNX Runtime vs torch: worst cosine {f['cosine']:.6f}, max |error| {f['max_abs_error']:.2e}")
        t = _run_part(["train", str(out)], env)
        print(
            f"training in the child ({t['decisions']:,} decisions, 3 epochs, {t['seconds']:.0f} s): child peak RSS "
            f"{t['child_peak']:.0f} MB; the parent beside it {t['parent_peak']:.0f} MB "
            f"(torch in the parent: {t['torch_in_parent']})"
        )


if __name__ == "__main__":
    main()
