"""The encoder's CPU cost: every path, INT8 layout and ONNX Runtime option side by side.

    python benchmarks/encoders.py [--rounds 5] [--frames 4] [--work DIR]
                                  [--openvino-python /tmp/ovenv/bin/python] [--no-subprocess]

Prints, in one run (issue 14, item 3):
1. the machine line (CPU flags: this matters more than anything else here) and the load;
2. per-frame wall latency (median, p90) at batch 1 with 1 thread, CPU ms per frame
   (process CPU time: what "cores at 8 FPS" means; cores = CPU ms × 8 / 1000), the
   ratio to fp32 eager and to the shipped ort-int8, and the worst cosine to fp32 on
   held-out game-like frames, for: the app's paths (fp32, channels-last, ort-fp32,
   ort-int8, ao-int8, ov-int8, and the graphs of the export before the per-row pixel
   normalisation); INT8 layouts (`fast.Int8Recipe`: QDQ / QOperator, per-channel /
   per-tensor, u8·s8 / s8·s8 / u8·u8, reduce_range); ONNX Runtime options (graph
   optimisation level, denormals as zero, prepacking off, 2 threads with and without
   spinning). All candidates are timed in interleaved rounds on the same frames, so a
   burst of outside load hits all of them;
3. session start-up: opening the INT8 graph as it is vs from ONNX Runtime's saved
   optimised graph;
4. (subprocesses, alternated) torch's fp32 eager and ao-int8 with its kernels held to
   AVX2 (`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`) against the same process
   without the limit: the closest this AVX-512 machine gets to the issue's AVX2 box.
   ONNX Runtime's MLAS has no such switch (it dispatches on CPUID at load time);
5. (with --openvino-python) OpenVINO: its ONNX Runtime execution provider and its own
   runtime on the same fp32 and INT8 graphs, in a separate venv (onnxruntime-openvino
   replaces the onnxruntime package), beside that venv's CPU provider;
6. (with --sizes) the same AVX2-limited subprocess for smaller encoder inputs (`HxW`):
   what a frame would cost on an AVX2 box if the encoder saw fewer pixels. These are
   other encoders (their latents differ from the 225×400 one's); cosine is to fp32 at
   the same size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Enc = Callable[[Any], Any]  # uint8 [1, H, W, 3] → float32 [1, D]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FPS = 8.0  # the live engine's frame rate: cores = CPU s per frame × FPS
HELD_OUT_SEED = 123  # frames neither calibrated on nor used by the self-check
AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    num = (a64 * b64).sum(axis=1)
    den = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    return float((num / np.maximum(den, 1e-12)).min())


def _p90(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(0.9 * len(s)))]


def time_interleaved(
    cands: dict[str, Enc], frames: np.ndarray, ref: np.ndarray, rounds: int
) -> dict[str, dict[str, float]]:
    """Worst cosine on all frames, then `rounds` rounds timing every candidate on each frame."""
    cos = {}
    for name, enc in cands.items():
        z = np.concatenate([enc(f[None]) for f in frames])  # also the warm-up
        cos[name] = _cos(z, ref)
    wall: dict[str, list[float]] = {k: [] for k in cands}
    cpu: dict[str, list[float]] = {k: [] for k in cands}
    names = list(cands)
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]  # rotate: no fixed neighbours
        for name in order:
            for f in frames:
                c0, t0 = time.process_time(), time.perf_counter()
                cands[name](f[None])
                wall[name].append((time.perf_counter() - t0) * 1000)
                cpu[name].append((time.process_time() - c0) * 1000)
    return {
        k: {"wall": statistics.median(wall[k]), "p90": _p90(wall[k]), "cpu": statistics.median(cpu[k]), "cos": cos[k]}
        for k in cands
    }


def print_table(res: dict[str, dict[str, float]], base: str, shipped: str | None) -> None:
    print(f"  {'candidate':52s} {'wall ms':>8s} {'p90':>7s} {'CPU ms':>7s} {'cores@8':>8s} "
          f"{'×fp32 cpu':>9s} {'×int8 cpu':>9s} {'min cos':>8s}")
    b = res[base]["cpu"]
    s = res[shipped]["cpu"] if shipped in res else float("nan")
    for name, r in res.items():
        ok = "" if r["cos"] >= 0.99 else "  FAILS cosine ≥ 0.99"
        print(f"  {name:52s} {r['wall']:8.1f} {r['p90']:7.1f} {r['cpu']:7.1f} {r['cpu'] * FPS / 1000:8.2f} "
              f"{b / r['cpu']:9.2f} {s / r['cpu']:9.2f} {r['cos']:8.5f}{ok}")


def paced_cores(cands: dict[str, Enc], frame: np.ndarray, seconds: float) -> dict[str, float]:
    """Process CPU seconds per wall second while encoding one frame every 1/FPS s, per candidate.

    Unlike the per-call CPU time, this also counts what a runtime's threads burn between
    frames (spinning, housekeeping): what the live engine's encoder costs at 8 FPS."""
    out = {}
    for name, enc in cands.items():
        enc(frame)
        c0, t0 = time.process_time(), time.perf_counter()
        tick = t0
        while time.perf_counter() - t0 < seconds:
            enc(frame)
            tick += 1 / FPS
            time.sleep(max(0.0, tick - time.perf_counter()))
        out[name] = (time.process_time() - c0) / (time.perf_counter() - t0)
    return out


# ------------------------------------------------------------------ subprocess workers


def torch_worker(args: argparse.Namespace) -> None:
    """fp32 eager and ao-int8 in this process (its env decides the kernels); one JSON line."""
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT))
    from app.core.model.encoder import EncoderConfig, load_encoder
    from app.core.model.fast import (
        AoInt8Backend,
        OpenVinoBackend,
        OrtBackend,
        TorchBackend,
        calibrate_ao_int8,
    )

    data = np.load(args.worker_frames)
    frames, calib, ref = data["frames"], data["calib"], data["ref"]
    h, w = (int(v) for v in args.worker_size.split("x"))
    model, _ = load_encoder(config=EncoderConfig(height=h, width=w), search_bundled=False)
    cands: dict[str, Enc] = {"fp32 eager": TorchBackend(model).encode,
                             "ao-int8": AoInt8Backend(model, calibrate_ao_int8(model, calib)).encode,
                             "ort-int8": OrtBackend(Path(args.torch_worker), name="ort-int8").encode}
    with contextlib.suppress(ImportError):
        cands["ov-int8"] = OpenVinoBackend(Path(args.torch_worker)).encode
    res = time_interleaved(cands, frames, ref, args.rounds)
    print(json.dumps({"capability": torch.backends.cpu.get_cpu_capability(), "res": res}))


def ov_worker(args: argparse.Namespace) -> None:
    """In the OpenVINO venv: its ORT CPU provider, its OpenVINO EP, OpenVINO itself. One JSON line."""
    import onnxruntime as ort

    data = np.load(args.worker_frames)
    frames, ref = data["frames"], data["ref"]
    graphs = json.loads(args.ov_worker)
    cands: dict[str, Enc] = {}
    notes: list[str] = []

    def session(path: str, providers: list[Any]) -> Any:
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        return ort.InferenceSession(path, so, providers=providers)

    for label, path in graphs.items():
        s = session(path, ["CPUExecutionProvider"])
        cands[f"ORT {ort.__version__} CPU EP, {label}"] = _runner(s)
        try:
            ov = [("OpenVINOExecutionProvider", {"device_type": "CPU", "num_of_threads": "1"}), "CPUExecutionProvider"]
            s2 = session(path, ov)
            if s2.get_providers()[0] != "OpenVINOExecutionProvider":
                notes.append(f"OpenVINO EP not used for {label}: {s2.get_providers()}")
            else:
                cands[f"ORT OpenVINO EP, {label}"] = _runner(s2)
        except Exception as exc:
            notes.append(f"OpenVINO EP failed on {label}: {type(exc).__name__}: {exc}"[:300])
        try:
            import openvino as ov_rt

            core = ov_rt.Core()
            compiled = core.compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1,
                                                        "PERFORMANCE_HINT": "LATENCY"})
            req = compiled.create_infer_request()
            prec = compiled.get_property("INFERENCE_PRECISION_HINT")
            cands[f"OpenVINO {ov_rt.__version__.split('-')[0]} ({prec}), {label}"] = _ov_runner(req)
        except Exception as exc:
            notes.append(f"OpenVINO runtime failed on {label}: {type(exc).__name__}: {exc}"[:300])
    res = time_interleaved(cands, frames, ref, args.rounds)
    print(json.dumps({"res": res, "notes": notes}))


def _runner(session: Any) -> Enc:
    return lambda f: session.run(None, {"frames": f})[0]


def _ov_runner(request: Any) -> Enc:
    return lambda f: np.array(next(iter(request.infer({0: f}).values())), copy=True)


def _run_worker(cmd: list[str], env: dict[str, str]) -> dict[str, Any] | None:
    proc = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"  worker failed (rc {proc.returncode}): {proc.stderr.strip()[-400:]}")
        return None
    return json.loads(lines[-1])  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    ap.add_argument("--frames", type=int, default=4, help="held-out frames per round (all used for cosine)")
    ap.add_argument("--work", type=Path, default=None, help="where the graphs are built (kept; reused)")
    ap.add_argument("--openvino-python", default=None, help="a venv's python with onnxruntime-openvino + openvino")
    ap.add_argument("--no-subprocess", action="store_true", help="skip the AVX2-limited torch subprocesses")
    ap.add_argument("--paced-seconds", type=float, default=8.0, help="seconds per candidate at 8 FPS (0: skip)")
    ap.add_argument("--worker-frames", help=argparse.SUPPRESS)
    ap.add_argument("--worker-size", default="225x400", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="180x320,162x288",
                    help="other input sizes (HxW) to time under the AVX2 limit ('' to skip)")
    ap.add_argument("--torch-worker", help=argparse.SUPPRESS)
    ap.add_argument("--ov-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args)
    if args.ov_worker:
        return ov_worker(args)

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import logging

    import onnxruntime as ort
    import torch

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    from _common import machine_line

    from app.core.model.encoder import load_encoder
    from app.core.model.fast import (
        AoInt8Backend,
        Int8Recipe,
        TorchBackend,
        calibrate_ao_int8,
        export_onnx,
        quantize_onnx_int8,
    )
    from app.core.model.ortsession import open_session
    from app.core.model.runtime import CACHE_VERSION, N_CALIBRATION, game_like_frames
    from app.demo.hooks import sim_frames

    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    print(machine_line() + f", onnxruntime {ort.__version__}")
    print("NOTE: not the issue's AVX2-only box: this CPU has AVX-512, VNNI and bf16 (flags above).")
    model, info = load_encoder(search_bundled=False)
    cfg = model.config
    print(f"encoder: ResNet-34 {cfg.height}×{cfg.width} → {cfg.latent_dim}, weights {info.source}, id {info.encoder_id}")
    work = args.work or Path(tempfile.gettempdir()) / f"arcx-encoders-{info.encoder_id}-v{CACHE_VERSION}"
    work.mkdir(parents=True, exist_ok=True)
    calib = game_like_frames(N_CALIBRATION, height=cfg.height, width=cfg.width, seed=1, game=sim_frames)
    frames = game_like_frames(args.frames, height=cfg.height, width=cfg.width, seed=HELD_OUT_SEED, game=sim_frames)
    fp32_eager = TorchBackend(model)
    ref = fp32_eager.encode(frames)

    print(f"\n[1] building the graphs in {work} (kept for the next run)")
    fp32 = work / "fp32.onnx"
    if not fp32.is_file():
        export_onnx(model, fp32)
    recipes = [
        Int8Recipe(),  # shipped: QDQ, per-channel, u8 activations, s8 weights
        Int8Recipe(per_channel=False),
        Int8Recipe(reduce_range=True),
        Int8Recipe(activations="s8"),
        Int8Recipe(weights="u8"),
        Int8Recipe(quant_format="qoperator"),
        Int8Recipe(quant_format="qoperator", per_channel=False),
        Int8Recipe(quant_format="qoperator", reduce_range=True),
    ]
    prev32, prev8 = work / "fp32-prev.onnx", work / "int8-qdq-pc-u8s8-prev.onnx"
    if not prev8.is_file():  # the export before the per-row normalisation (CACHE_VERSION 1)
        export_onnx(model, prev32, row_normalise=False)
        quantize_onnx_int8(prev32, prev8, calib)
    graphs: dict[str, Path] = {}
    for r in recipes:
        out = work / f"int8-{r.tag}.onnx"
        if not out.is_file():
            t0 = time.perf_counter()
            try:
                quantize_onnx_int8(fp32, out, calib, r)
            except Exception as exc:
                print(f"  {r.tag}: quantization failed: {type(exc).__name__}: {exc}")
                continue
            print(f"  {r.tag}: quantized in {time.perf_counter() - t0:.0f} s, {out.stat().st_size / 1e6:.1f} MB")
        graphs[r.tag] = out
    shipped_tag = Int8Recipe().tag

    def ort_enc(path: Path, **kw: Any) -> Enc:
        s = open_session(path, kw.pop("threads", 1), **kw)
        return lambda f: s.run(None, {"frames": f})[0]

    cands: dict[str, Enc] = {
        "fp32 eager (torch)": fp32_eager.encode,
        "channels-last (torch)": TorchBackend(model, channels_last=True).encode,
        "ao-int8 (torch, x86 engine)": AoInt8Backend(model, calibrate_ao_int8(model, calib)).encode,
        "ort-fp32": ort_enc(fp32),
    }
    for tag, path in graphs.items():
        label = f"ort-int8 {tag}" + (" (shipped)" if tag == shipped_tag else "")
        try:
            cands[label] = ort_enc(path)
        except Exception as exc:
            print(f"  {tag}: session failed: {type(exc).__name__}: {exc}")
    cands["ort-int8 qdq-pc-u8s8, previous export (NCHW Sub/Div)"] = ort_enc(prev8)
    cands["ort-fp32, previous export"] = ort_enc(prev32)
    shipped = f"ort-int8 {shipped_tag} (shipped)"
    int8 = graphs[shipped_tag]
    try:
        from app.core.model.fast import OpenVinoBackend

        for label, path in (("ov-int8 (OpenVINO on the shipped graph)", int8), ("OpenVINO on the fp32 graph", fp32)):
            ovb = OpenVinoBackend(path)
            cands[f"{label}, {ovb.session.precision}"] = ovb.encode
    except ImportError as exc:
        print(f"  OpenVINO not installed here ({exc}): no ov-int8 row")
    options: dict[str, dict[str, Any]] = {
        "opt level EXTENDED (no NHWC)": {"optimization": "extended"},
        "opt level BASIC": {"optimization": "basic"},
        "denormal_as_zero": {"config": {"session.set_denormal_as_zero": "1"}},
        "prepacking off": {"config": {"session.disable_prepacking": "1"}},
        "2 threads, no spinning": {"threads": 2},
        "2 threads, spinning": {"threads": 2, "spinning": True},
    }
    for label, kw in options.items():
        try:
            cands[f"  int8 {shipped_tag} + {label}"] = ort_enc(int8, **kw)
        except Exception as exc:
            print(f"  {label}: session failed: {type(exc).__name__}: {exc}")
    cands["  ort-fp32 + 2 threads, no spinning"] = ort_enc(fp32, threads=2)

    print(f"\n[2] batch 1, 1 thread unless said, {args.rounds} interleaved rounds × {len(frames)} held-out frames")
    print("    " + load_line())
    res = time_interleaved(cands, frames, ref, args.rounds)
    print_table(res, "fp32 eager (torch)", shipped)
    print("    " + load_line())

    if args.paced_seconds > 0:
        keys = ("(shipped)", "previous export (", "ao-int8", "ov-int8", "denormal", "int8 qdq-pc-u8s8 + 2 threads")
        paced = [k for k in cands if any(w in k for w in keys)]
        print(f"\n[2b] whole-process CPU while encoding at {FPS:g} FPS for {args.paced_seconds:g} s each "
              f"(two passes, the second in reverse order)")
        print("    " + load_line())
        pass1 = paced_cores({k: cands[k] for k in paced}, frames[0][None], args.paced_seconds)
        pass2 = paced_cores({k: cands[k] for k in reversed(paced)}, frames[0][None], args.paced_seconds)
        for k in paced:
            print(f"  {k:52s} {pass1[k]:.3f} / {pass2[k]:.3f} cores")
        print("    " + load_line())

    print("\n[3] session start-up (INT8 graph), median of 3")
    opt = work / f"int8-{shipped_tag}.optimized.ort.onnx"
    open_session(int8, 1, optimized_model_path=opt)
    starts: tuple[tuple[str, dict[str, Any], Path], ...] = (
        ("as built", {}, int8), ("from the saved optimised graph", {"optimization": "disable"}, opt)
    )
    for label, kw, path in starts:
        ts = []
        for _ in range(3):
            t0 = time.perf_counter()
            s = open_session(path, 1, **kw)
            ts.append((time.perf_counter() - t0) * 1000)
        z = np.concatenate([s.run(None, {"frames": f[None]})[0] for f in frames])
        print(f"  {label:32s} {statistics.median(ts):7.0f} ms to open, min cosine {_cos(z, ref):.5f}")
    with contextlib.suppress(ImportError):
        from app.core.model.fast import OpenVinoBackend

        t0 = time.perf_counter()
        OpenVinoBackend(int8)
        print(f"  {'OpenVINO compile_model':32s} {(time.perf_counter() - t0) * 1000:7.0f} ms")

    np.savez(work / "frames.npz", frames=frames, calib=calib, ref=ref)
    if not args.no_subprocess:
        print("\n[4] kernels held to AVX2 (subprocesses, alternated twice; each times fp32 eager, ao-int8, "
              "ort-int8 and ov-int8 in interleaved rounds). ONNX Runtime's MLAS ignores the limit: its row is "
              "the control")
        cmd = [sys.executable, __file__, "--torch-worker", str(int8), "--worker-frames", str(work / "frames.npz"),
               "--rounds", str(args.rounds)]
        for rep in range(2):
            for label, env in (("default", {}), ("AVX2 only", AVX2_ENV)):
                out = _run_worker(cmd, {"OMP_WAIT_POLICY": "PASSIVE", **env})
                if out is None:
                    continue
                for name, r in out["res"].items():
                    print(f"  #{rep + 1} {label:10s} (aten {out['capability']:7s}) {name:11s} "
                          f"wall {r['wall']:6.1f} ms, CPU {r['cpu']:6.1f} ms, {r['cpu'] * FPS / 1000:.2f} cores@8, "
                          f"min cos {r['cos']:.5f}")
    if args.openvino_python:
        print(f"\n[5] OpenVINO ({args.openvino_python}), 1 thread")
        spec = json.dumps({"fp32": str(fp32), f"int8 {shipped_tag}": str(int8)})
        cmd = [args.openvino_python, __file__, "--ov-worker", spec, "--worker-frames", str(work / "frames.npz"),
               "--rounds", str(args.rounds)]
        out = _run_worker(cmd, {})
        if out is not None:
            for note in out["notes"]:
                print(f"  note: {note}")
            first = next(iter(out["res"]))
            print_table(out["res"], first, None)
    sizes = [tuple(int(v) for v in hw.split("x")) for hw in args.sizes.split(",") if hw.strip()]
    if sizes and not args.no_subprocess:
        from app.core.model.encoder import EncoderConfig

        print("\n[6] smaller encoder inputs, kernels held to AVX2 (one subprocess each; CPU ms per frame)")
        for h, w in [(cfg.height, cfg.width), *sizes]:
            sub = work / f"size-{h}x{w}"
            sub.mkdir(exist_ok=True)
            m_s, _ = load_encoder(config=EncoderConfig(height=h, width=w), search_bundled=False)
            g32, g8 = sub / "fp32.onnx", sub / "int8.onnx"
            cal_s = game_like_frames(N_CALIBRATION, height=h, width=w, seed=1, game=sim_frames)
            if not g8.is_file():
                export_onnx(m_s, g32)
                quantize_onnx_int8(g32, g8, cal_s)
            fr_s = game_like_frames(args.frames, height=h, width=w, seed=HELD_OUT_SEED, game=sim_frames)
            np.savez(sub / "frames.npz", frames=fr_s, calib=cal_s, ref=TorchBackend(m_s).encode(fr_s))
            out = _run_worker([sys.executable, __file__, "--torch-worker", str(g8), "--worker-frames",
                               str(sub / "frames.npz"), "--worker-size", f"{h}x{w}", "--rounds", str(args.rounds)],
                              {"OMP_WAIT_POLICY": "PASSIVE", **AVX2_ENV})
            if out is not None:
                row = ", ".join(f"{n} {r['cpu']:.1f} ({r['cpu'] * FPS / 1000:.2f} cores, cos {r['cos']:.4f})"
                                for n, r in out["res"].items() if n != "ort-int8")
                print(f"  {h}×{w} ({h * w / (cfg.height * cfg.width):.2f}× the pixels): {row}")
    print("\n" + load_line())


def load_line() -> str:
    with contextlib.suppress(OSError):
        la = os.getloadavg()
        return f"load average {la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f} on {os.cpu_count()} cores"
    return "load average unknown"


if __name__ == "__main__":
    main()
