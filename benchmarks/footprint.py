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
   and the parent's RSS beside it;
5. the desktop app (`arcx` with no arguments: `app.ui.app.start`, offscreen, the fake
   hotkey backend, the real engine on the synthetic source at 8 FPS, the model from 3.
   installed as the player's): a cold start (empty caches) and then a warm one, each in
   a fresh process: time from process start to the first EV (a run started the moment
   the app is ready), RSS and whole-process CPU idle in the tray (engine warm, no run:
   frames grabbed at the idle rate and not encoded, `app.ui.wiring.IDLE_FPS`) and live
   (a run recording), whether torch is loaded. The player's settings say `--desktop-encoder-path` (default ort-int8: on
   `auto` the self-check picks ort-int8 or ao-int8 by a few percent, and only an ONNX
   Runtime path can start lean). `--before COMMIT` measures the same on that commit's
   code (a temporary `git worktree`, its own home, so neither version reads the other's
   caches) in the same run, so the two stand side by side; `--also DIR` adds another
   checkout (e.g. this code with a patch applied).
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


def part_desktop(code: Path, seconds: float) -> None:
    """The desktop app of the code at `code` (a checkout) on ARCX_HOME, as a player starts it."""
    sys.path.insert(0, str(code))  # before anything imports app
    from PyQt6.QtCore import QEventLoop, QTimer

    from app.ui.actions import Action
    from app.ui.app import start
    from app.ui.hotkeys import FakeHotkeyBackend

    r = start([], hotkey_backend=FakeHotkeyBackend(), use_pystray=False, show_dialogs=False, welcome=False,
              instance_key=f"arcx-footprint-{os.getpid()}")
    assert r is not None, "another instance holds the key"
    engine: Any = r.parts.engine

    def pump(ms: int) -> None:
        """Run the app's own event loop for `ms` milliseconds."""
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    first: list[float] = []
    engine.subscribe(on_tick=lambda t: first.append(_since_start()) if t.ev is not None and not first else None)
    deadline = time.monotonic() + 1800.0  # a hang guard: a cold start takes about a minute here
    # the first EV as a player gets it: the run started (F8) the moment the app is ready.
    # Code from before the idle rate made EVs between runs too; this counts the same.
    while not first and time.monotonic() < deadline:
        if engine.is_warm and not r.controller.recording:
            r.controller.handle(Action.START_RUN)
        pump(20)
    r.controller.end_run()  # back to the tray, the run left unlabelled
    for _ in range(500):
        if not r.controller.recording and not r.controller.ending:
            break
        pump(20)
    pump(2000)  # settle

    def measure() -> tuple[float, float, float]:
        proc = psutil.Process()
        c0, t0, top = proc.cpu_times(), time.monotonic(), 0.0
        while time.monotonic() - t0 < seconds:
            pump(500)
            top = max(top, _rss())
        c1, t1 = proc.cpu_times(), time.monotonic()
        return _rss(), top, ((c1.user - c0.user) + (c1.system - c0.system)) / (t1 - t0)

    idle = measure()
    r.controller.handle(Action.START_RUN)
    pump(2000)
    live = measure()
    st = engine.status()
    age = st.latency_ms.get("age")
    _emit(first_ev_s=first[0] if first else None, idle=idle, live=live, lean=getattr(engine, "lean", None),
          torch="torch" in sys.modules, fps=st.fps, path=engine.encoder_path, recording=r.controller.recording,
          device=f"{r.device.kind} ({r.device.device})", age_p95=age[1] if age else None,
          model=st.model is not None)
    r.clean_up()


def _worktree(commit: str, where: Path) -> Path:
    """A checkout of `commit` of this repository at `where` (removed by `_drop_worktree`)."""
    repo = Path(__file__).resolve().parents[1]
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "-q", str(where), commit], check=True)
    return where


def _drop_worktree(where: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(where)], check=False)


def _desktop(
    label: str, code: Path, home: Path, model: Path, seconds: float, env: dict[str, str], encoder_path: str
) -> None:
    """Cold then warm start of the desktop app of `code` in `home`, the model installed."""
    target = home / "data" / "models" / "qnet.safetensors"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(model.read_bytes())
    settings = home / "config" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"inference": {"encoder_path": encoder_path}, "welcomed": True}), encoding="utf-8")
    env = {**env, "ARCX_HOME": str(home), "ARCX_SOURCE": "synthetic", "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(code)}
    for when in ("cold", "warm"):
        r = _run_part(["desktop", str(code), str(seconds)], env)
        idle_rss, idle_max, idle_cores = r["idle"]
        live_rss, live_max, live_cores = r["live"]
        print(
            f"desktop app [{label}, {when}] {r['device']}, {r['path']} at {r['fps']:g} FPS, lean {r['lean']}, "
            f"torch loaded {r['torch']}: first EV {r['first_ev_s']:.1f} s after process start; idle in the tray "
            f"RSS {idle_rss:.0f} MB (max {idle_max:.0f}), {idle_cores:.2f} cores; live (recording {r['recording']}) "
            f"RSS {live_rss:.0f} MB (max {live_max:.0f}), {live_cores:.2f} cores; capture-to-EV p95 "
            f"{_ms(r['age_p95'])} ms"
        )


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
    parser.add_argument("--before", metavar="COMMIT",
                        help="also measure the desktop app of this commit (a temporary git worktree)")
    parser.add_argument("--also", metavar="DIR", action="append", default=[],
                        help="also measure the desktop app of the checkout at DIR")
    parser.add_argument("--desktop-encoder-path", default="ort-int8", help="the desktop app's encoder-path setting")
    parser.add_argument("--only-desktop", action="store_true", help="skip parts 2-4 (the model is still made)")
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
        elif name == "desktop":
            part_desktop(Path(rest[0]), float(rest[1]))
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
        if args.only_desktop:  # one short live run makes the model for this encoder
            _run_part(["live", "1", str(out), "auto"], env)
            _desktops(args, out)
            return
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
        _desktops(args, out)


def _desktops(args: argparse.Namespace, out: Path) -> None:
    """Part 5: the desktop app of this code, and of `--before` in the same run."""
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    here = Path(__file__).resolve().parents[1]
    model = out / "qnet.safetensors"
    setting = args.desktop_encoder_path
    if args.before:
        before = _worktree(args.before, out / "before")
        try:
            _desktop(f"before: {args.before}", before, out / "home-before", model, args.seconds, env, setting)
        finally:
            _drop_worktree(before)
    _desktop("this code", here, out / "home-desktop", model, args.seconds, env, setting)
    for i, other in enumerate(args.also):
        _desktop(other, Path(other).resolve(), out / f"home-also-{i}", model, args.seconds, env, setting)


if __name__ == "__main__":
    main()
