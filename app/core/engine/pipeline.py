"""`Engine`: the real-time pipeline, source → preprocess → encoder → ring → Q-net → EV.

One object shared by the capture loop (`run_capture`, `capture_once`) and the inference
loop (`run_inference`, `inference_once`); the package docstring (`app.core.engine`)
describes its API, events and timing.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.capture.base import Frame, FrameSource, Rect, check_frame
from app.core.capture.health import FrameHealth
from app.core.capture.pacing import Pacer, run_paced
from app.core.capture.preprocess import Preprocessor
from app.core.engine.latency import LatencyStats
from app.core.engine.rate import FrameRate
from app.core.engine.types import (
    EngineConfig,
    EngineStatus,
    EVTick,
    FrameResult,
    ModelInfo,
    Notice,
    NoticeKind,
    Recorder,
)
from app.core.errors import ArcXError, CaptureError, CheckpointError, CheckpointMismatchError
from app.core.model.ev import Adviser, EVEstimate
from app.core.model.lean import (
    LeanEncoder,
    LeanMeta,
    check_live_record,
    effective_device,
    export_in_child,
    load_lean_qnet,
)
from app.core.model.onnx_qnet import OrtQNet
from app.core.model.ring import LatentRing

if TYPE_CHECKING:  # torch loads only on the torch paths (see app/core/model/lean.py)
    import torch

    from app.core.model.checkpoint import CheckpointMeta
    from app.core.model.fast import EncoderBackend
    from app.core.model.qnet import TemporalQNet
    from app.core.model.runtime import FrameMaker

__all__ = ["Engine"]

log = logging.getLogger(__name__)

# The encoder paths a lean start can run, and their graph file in the encoder's cache.
_LEAN_GRAPHS = {"ort-int8": "encoder_int8.onnx", "ort-fp32": "encoder_fp32.onnx"}

Clock = Callable[[], float]

@dataclass
class _Run:
    run_id: str
    t0: float
    extract_marked: bool = False


@dataclass(frozen=True)
class _LoadedModel:
    model: TemporalQNet | OrtQNet
    meta: CheckpointMeta | LeanMeta
    path: Path


def return_free_heap() -> None:
    """Give the heap the warm-up freed back to the OS (glibc's `malloc_trim`; it keeps freed
    pages otherwise: 37 MB of a lean desktop start's 327 MB measured here). A no-op where
    there is no glibc."""
    if not sys.platform.startswith("linux"):
        return
    try:
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # absent in musl
    except OSError:
        return
    if trim is not None:
        trim(0)


class Engine:
    """See the module docstring."""

    def __init__(
        self,
        source: FrameSource,
        *,
        config: EngineConfig | None = None,
        recorder: Recorder | None = None,
        encoder: EncoderBackend | None = None,
        encoder_id: str | None = None,
        preprocessor: Preprocessor | None = None,
        device: torch.device | None = None,
        game_frames: FrameMaker | None = None,
        torch_in_process: bool = True,
        clock: Clock = time.monotonic,
        timer: Clock = time.perf_counter,
    ) -> None:
        """`encoder` + `encoder_id`: an encoder to use as is (tests, benchmarks); without
        them `warm_up` loads the FrameEncoder and picks its fastest faithful path.
        `device`: one a caller already chose with `select_device` (the app does at start);
        without it `warm_up` runs device detection itself.
        `game_frames`: makes half of the encoder self-check's frames (the app passes the
        demo's simulated raid, `app.demo.hooks.sim_frames`); without it they are synthetic.
        `torch_in_process`: False where this process must not import torch (the desktop app
        on Windows once Qt has loaded, `app/ui/__init__.py`): a warm-up the lean record no
        longer serves raises an ArcXError asking for a restart instead. A lean engine
        exports a model without an ONNX export in a child process either way.
        `clock` stamps frames and ticks; `timer` measures stage latencies."""
        self.config = config or EngineConfig()
        if (encoder is None) != (encoder_id is None):
            raise ValueError("pass encoder and encoder_id together")
        self.source = source
        self.recorder = recorder
        self.clock = clock
        self.timer = timer
        self.preprocessor = preprocessor or Preprocessor()
        self.health = FrameHealth(
            black_after_s=self.config.black_after_s,
            frozen_after_s=self.config.frozen_after_s,
            stalled_after_s=self.config.stalled_after_s,
        )
        self.latency = LatencyStats(self.config.latency_window)
        self.rate = FrameRate(self.config)
        self.selection: Any = None  # runtime.EncoderSelection after warm_up (CPU auto)
        self._encoder = encoder
        self._encoder_id = encoder_id
        self._device: Any = device  # torch.device; None until warm_up decides (lean: stays None = CPU)
        self._device_given = device is not None
        self._torch_in_process = torch_in_process
        self.lean = False
        """True when warm_up started without torch (an ONNX Runtime encoder from the cache)"""
        self._game_frames = game_frames
        self._ring: LatentRing | None = None
        self._qnet: _LoadedModel | None = None
        self._pending_model: Path | None = None
        self._adviser = Adviser(self.config.risk, self.config.hysteresis)  # validates the profile
        self._fps = self._warm_fps = float(self.config.fps)
        self._capture_pacer: Pacer | None = None
        self._feed_lock = threading.Lock()  # ring push + frame index, read together by inference
        self._run_lock = threading.Lock()  # start/end of runs
        self._run: _Run | None = None
        self._last_frame_idx: int | None = None
        self._prev_frame: Frame | None = None
        self._prev_latent: np.ndarray | None = None
        self._frame_pushed = threading.Event()  # set by every ring push; inference aligns to it
        self._tick_listeners: list[Callable[[EVTick], None]] = []
        self._notice_listeners: list[Callable[[Notice], None]] = []
        self.notices: deque[Notice] = deque(maxlen=50)
        self.counts = {"seen": 0, "encoded": 0, "reused": 0, "idle": 0, "ticks": 0}
        self._capture_problem: str | None = None

    # --------------------------------------------------------------------- events

    def subscribe(
        self,
        on_tick: Callable[[EVTick], None] | None = None,
        on_notice: Callable[[Notice], None] | None = None,
    ) -> None:
        """Register callbacks; they run on the loop threads and must be quick."""
        if on_tick is not None:
            self._tick_listeners.append(on_tick)
        if on_notice is not None:
            self._notice_listeners.append(on_notice)

    def unsubscribe(
        self,
        on_tick: Callable[[EVTick], None] | None = None,
        on_notice: Callable[[Notice], None] | None = None,
    ) -> None:
        """Remove callbacks registered with `subscribe` (unknown ones are ignored)."""
        for fn, listeners in ((on_tick, self._tick_listeners), (on_notice, self._notice_listeners)):
            if fn is not None and fn in listeners:
                listeners.remove(fn)  # type: ignore[arg-type]

    def _notify(self, kind: NoticeKind, message: str) -> None:
        notice = Notice(kind, message, self.clock())
        self.notices.append(notice)
        log.log(logging.WARNING if kind in ("capture_problem", "capture_lost", "fps_lowered") else logging.INFO,
                "%s", message)
        for fn in list(self._notice_listeners):
            fn(notice)

    # --------------------------------------------------------------------- warm-up

    @property
    def is_warm(self) -> bool:
        return self._ring is not None

    @property
    def encoder_id(self) -> str | None:
        return self._encoder_id

    @property
    def encoder_path(self) -> str | None:
        return self._encoder.name if self._encoder is not None else None

    @property
    def fps(self) -> float:
        return self._fps

    def warm_up(self, progress: Callable[[str], None] | None = None) -> None:
        """Choose the device and encoder path, run every model once. Idempotent."""
        if self.is_warm:
            return
        say = progress or (lambda msg: log.info("%s", msg))
        threads = self.config.threads
        if self._encoder is None and not self._device_given:
            record, why = check_live_record(device=self.config.device, encoder_path=self.config.encoder_path)
            if record is not None:  # a previous start chose an ONNX Runtime path: no torch needed
                self._encoder, self._encoder_id, self.lean = LeanEncoder(record), record.encoder_id, True
                self._notify("encoder_path", f"encoder path: {record.reason} (from the cache; torch not loaded)")
            elif not self._torch_in_process and "torch" not in sys.modules:
                raise ArcXError(
                    f"ArcX started without torch, but its encoder cache no longer serves this start ({why}). "
                    "Restart ArcX: it rebuilds the cache (that start takes longer)."
                )
        if self._encoder is None:
            import torch

            from app.core.device import select_device
            from app.core.model.encoder import load_encoder
            from app.core.model.runtime import default_threads, select_encoder

            threads = threads or default_threads()
            if not self._device_given:
                self._device = select_device(self.config.device).device  # logs its choice
            if self._device.type == "cpu":
                torch.set_num_threads(threads)
            model, info = load_encoder(device=self._device)  # warns loudly without weights
            ort_device = None
            if self._device.type == "cpu":  # a GPU only ONNX Runtime can use (DirectML without torch-directml)?
                from app.core.model.providers import gpu_only_onnxruntime_has

                ort_device = gpu_only_onnxruntime_has(self.config.device)
            self._encoder, self.selection = select_encoder(
                model, preference=self.config.encoder_path, threads=threads, progress=say,
                game_frames=self._game_frames, ort_device=ort_device,
            )
            self._encoder_id = info.encoder_id
            self._notify("encoder_path", f"encoder path: {self.selection.reason}")
            self._record_for_lean(info.path, threads)
        elif threads and "torch" in sys.modules:  # a torch encoder passed in
            import torch

            torch.set_num_threads(threads)
        assert self._encoder is not None
        # First forward passes now, so the first real frame does not stutter.
        dummy = self.preprocessor(np.zeros((self.preprocessor.height, self.preprocessor.width, 3), np.uint8))
        t0 = self.timer()
        self._encoder.encode(dummy[None])
        z = self._encoder.encode(dummy[None])
        encode_ms = (self.timer() - t0) * 500.0  # mean of the two
        self._ring = LatentRing(self.config.window, int(z.shape[-1]))
        self._warm_fps = self._fps = self.rate.affordable(encode_ms)
        if self._fps < self.config.fps:
            self._notify(
                "fps_lowered",
                f"this machine needs ~{encode_ms:.0f} ms to encode a frame: capturing at "
                f"{self._fps:g} FPS instead of {self.config.fps:g}",
            )
        if self._pending_model is not None:
            path, self._pending_model = self._pending_model, None
            self.load_model(path)
        return_free_heap()
        say(f"engine ready: {self.encoder_path} encoder, {self._fps:g} FPS, EV every {self.config.interval_s:g} s")

    def _record_for_lean(self, weights: str | None, threads: int) -> None:
        """After a torch start that chose an ONNX Runtime path on the CPU: let the next start skip torch."""
        sel = self.selection
        if self._device.type != "cpu" or sel is None or sel.chosen not in _LEAN_GRAPHS or not sel.cache_dir:
            return
        from app.core.model.lean import write_live_record

        try:
            write_live_record(
                path_name=sel.chosen, onnx=Path(sel.cache_dir) / _LEAN_GRAPHS[sel.chosen], encoder_id=str(self._encoder_id),
                weights=weights, threads=threads, device=effective_device(self.config.device),
                encoder_path=self.config.encoder_path, reason=sel.reason,
            )
        except OSError as exc:  # a cache that cannot be written only costs the next start time
            log.debug("could not record the encoder choice for a lean start: %s", exc)

    def _require_warm(self) -> LatentRing:
        if self._ring is None:
            raise ArcXError("the engine is not warmed up yet (call warm_up first)")
        return self._ring

    # ---------------------------------------------------------------------- models

    def load_model(self, path: Path | str) -> CheckpointMeta | None:
        """Load a Q-net checkpoint and swap it in between two ticks; capture never stops.

        Raises CheckpointError (the old model stays in use). Before warm-up the path is
        remembered and loaded by `warm_up` (returns None then).
        """
        path = Path(path)
        if not self.is_warm:
            self._pending_model = path
            return None
        ring = self._require_warm()
        lean = self._load_lean_qnet(path) if self.lean else None
        if lean is not None:  # the checkpoint's checked ONNX export: no torch
            qnet, lmeta = lean
            if lmeta.latent_dim != ring.dim:
                raise CheckpointMismatchError(
                    f"{path.name} expects latents of size {lmeta.latent_dim}, the encoder makes {ring.dim}"
                )
            qnet(np.zeros((1, ring.length, ring.dim), np.float32))  # warm it before it goes live
            self._qnet = _LoadedModel(qnet, lmeta, path)  # one reference assignment: atomic
            self._notify("model_loaded", f"model {path.name} loaded (epoch {lmeta.epoch}, val loss {lmeta.val_loss:.4g})")
            return lmeta  # type: ignore[return-value]  # the same field names as CheckpointMeta's
        import torch

        from app.core.model.checkpoint import load_checkpoint

        if self._device is None:  # a lean engine (or an encoder passed in) falling back to torch
            self._device = torch.device("cpu")
        device = self._device
        model, meta = load_checkpoint(path, expected_encoder_id=self._encoder_id, device=device)
        if meta.config.latent_dim != ring.dim:
            raise CheckpointMismatchError(
                f"{path.name} expects latents of size {meta.config.latent_dim}, the encoder makes {ring.dim}"
            )
        with torch.no_grad():  # warm the new model before it goes live
            model(torch.zeros((1, ring.length, ring.dim), device=device))
        if self.lean or self._recorded_lean():
            self._export_for_lean(model, meta.content_sha256)
        self._qnet = _LoadedModel(model, meta, path)  # one reference assignment: atomic
        self._notify("model_loaded", f"model {path.name} loaded (epoch {meta.epoch}, val loss {meta.val_loss:.4g})")
        return meta

    def _load_lean_qnet(self, path: Path) -> tuple[OrtQNet, LeanMeta] | None:
        """The checkpoint's checked ONNX export; one that has none yet is exported in a child
        process first while this one has no torch loaded. None: load it with torch here."""
        lean = load_lean_qnet(path, self._encoder_id)
        if lean is not None or "torch" in sys.modules:
            return lean
        log.info("exporting %s to ONNX in a child process (this process does not load torch)", path.name)
        export, why = export_in_child(path, self._encoder_id)
        lean = load_lean_qnet(path, self._encoder_id) if export is not None else None
        if lean is None and not self._torch_in_process:
            raise CheckpointError(
                f"{path.name} could not be prepared for ONNX Runtime ({why or 'its export was not accepted'}); "
                "restart ArcX to load it with torch"
            )
        return lean

    def _recorded_lean(self) -> bool:
        sel = self.selection
        return sel is not None and sel.chosen in _LEAN_GRAPHS and self._device is not None and self._device.type == "cpu"

    def _export_for_lean(self, model: TemporalQNet, content_sha256: str) -> None:
        """Export the Q-net just loaded with torch, checked, so the next start runs it without torch."""
        from app.core.model.lean import export_qnet_for_lean

        try:
            export_qnet_for_lean(model, content_sha256)
        except Exception as exc:  # an exporter failure only costs the next start torch
            log.debug("could not export the Q-net for a lean start: %s", exc, exc_info=True)

    def unload_model(self) -> None:
        self._qnet = None
        self._pending_model = None

    # ------------------------------------------------------------------------ runs

    def start_run(self) -> str:
        """Start recording a run; the window starts empty. Needs a recorder."""
        ring = self._require_warm()
        if self.recorder is None:
            raise ArcXError("this engine has no recorder")
        with self._run_lock:
            if self._run is not None:
                raise ArcXError(f"run {self._run.run_id} is still being recorded; end it first")
            assert self._encoder_id is not None and self.encoder_path is not None
            self._set_fps(self._warm_fps)
            run_id = self.recorder.start_run(
                encoder_id=self._encoder_id, fps=self._fps,
                game_profile=self.config.game_profile, encoder_path=self.encoder_path,
            )
            with self._feed_lock:
                ring.clear()
                self._last_frame_idx = None
                self._run = _Run(run_id, self.clock())
                self._adviser.reset()
            self._pace()  # back from the idle rate
        return run_id

    def mark_extract(self, ago_s: float = 0.0) -> None:
        """The player started extracting `ago_s` seconds ago (the UI's undo window holds the
        mark back for a few seconds): decisions from then on are `extract`."""
        run = self._run
        if run is None or self.recorder is None:
            log.info("extract mark ignored: no run")
            return
        run.extract_marked = True
        self.recorder.mark_extract(max(0.0, self.clock() - run.t0 - max(0.0, ago_s)))

    def end_run(self, outcome: str | None, final_loot_value: float | None = None) -> Any:
        """Stop recording; returns the recorder's RunInfo. Slow (compaction): not on the GUI thread."""
        if self.recorder is None:
            raise ArcXError("this engine has no recorder")
        with self._run_lock:
            if self._run is None:
                raise ArcXError("no run is being recorded")
            with self._feed_lock:
                self._run = None  # no more frames or decisions go to the recorder
                if self.config.idle_fps is not None and self._ring is not None:
                    self._ring.clear()  # idle frames do not refresh it: no EV from a stale window
            self._pace()
            return self.recorder.end_run(outcome, final_loot_value)

    @property
    def run_id(self) -> str | None:
        run = self._run
        return run.run_id if run is not None else None

    # --------------------------------------------------------------- live settings

    def set_risk(self, risk: str | float) -> None:
        """Risk profile for the next ticks; ValueError for an unknown one."""
        self._adviser.set_risk(risk)

    def set_masks(self, rects: Iterable[Rect]) -> None:
        """Rectangles of the captured image to black out (the overlay); see preprocess."""
        self.preprocessor.set_masks(rects)

    def _set_fps(self, fps: float) -> None:
        self._fps = fps
        self._pace()

    @property
    def idle(self) -> bool:
        """Between runs with `config.idle_fps` set: frames are grabbed slowly and only checked."""
        return self.config.idle_fps is not None and self._run is None

    @property
    def capture_fps(self) -> float:
        """Frames grabbed per second now: `fps` in a run, the idle rate between runs."""
        idle_fps = self.config.idle_fps
        return min(idle_fps, self._fps) if idle_fps is not None and self.idle else self._fps

    def _pace(self) -> None:
        if self._capture_pacer is not None:
            self._capture_pacer.period = 1.0 / self.capture_fps

    # ---------------------------------------------------------------- capture loop

    def open_source(self) -> None:
        """Open the source (on the capture thread) and report a backend fallback."""
        self.source.open()
        self._prev_frame = None
        self.health.reset()
        notice = getattr(self.source, "notice", None)
        if notice:
            self._notify("capture_fallback", notice)

    def close_source(self) -> None:
        try:
            self.source.close()
        except Exception as exc:  # closing is best effort
            log.warning("closing the frame source failed: %s", exc)

    def capture_once(self) -> FrameResult:
        """Grab, preprocess, encode (unless identical), feed the ring and the recorder."""
        ring = self._require_warm()
        assert self._encoder is not None
        t = self.clock()
        p0 = self.timer()
        try:
            raw = self.source.grab()
        except CaptureError as exc:
            self._capture_problem = "lost"
            self._notify("capture_lost", f"screen capture stopped: {exc}")
            raise
        grab_ms = (self.timer() - p0) * 1000.0
        self.latency.add("grab", grab_ms)
        if raw is None:
            verdict = self.health.missing(t)
            self._report(verdict.problem, verdict.describe())
            return FrameResult(t, False, False, False, None, verdict.problem, grab_ms, None, None)
        self.counts["seen"] += 1
        p1 = self.timer()
        frame = self.preprocessor(check_frame(raw, getattr(self.source, "name", "source")))
        pre_ms = (self.timer() - p1) * 1000.0
        self.latency.add("preprocess", pre_ms)
        identical = self._prev_frame is not None and np.array_equal(frame, self._prev_frame)
        self._prev_frame = frame
        verdict = self.health.frame(frame, t, identical=identical)
        self._report(verdict.problem, verdict.describe())
        if not verdict.feed:
            return FrameResult(t, True, False, False, None, verdict.problem, grab_ms, pre_ms, None)
        if self.idle:  # checked for capture problems above; no run reads its latent
            self.counts["idle"] += 1
            self._prev_latent = None  # it no longer belongs to the previous frame
            return FrameResult(t, True, False, False, None, None, grab_ms, pre_ms, None)
        encode_ms: float | None = None
        if identical and self._prev_latent is not None:
            z = self._prev_latent
            self.counts["reused"] += 1
        else:
            p2 = self.timer()
            z = self._encoder.encode(frame[None])[0]
            encode_ms = (self.timer() - p2) * 1000.0
            self.latency.add("encode", encode_ms)
            self.counts["encoded"] += 1
            self._prev_latent = z
            self._adapt_fps(grab_ms + pre_ms + encode_ms)
        frame_idx = None
        with self._feed_lock:
            ring.push(z, stamp=t)
            run = self._run
            if run is not None and self.recorder is not None:
                idx = self.recorder.add_frame(z, t - run.t0)
                frame_idx = idx if idx >= 0 else None
                self._last_frame_idx = frame_idx
        self._frame_pushed.set()
        return FrameResult(t, True, encode_ms is not None, True, frame_idx, None, grab_ms, pre_ms, encode_ms)

    def _report(self, problem: str | None, message: str) -> None:
        """Notify when the capture problem changes (also back from "lost" after a restart)."""
        if problem != self._capture_problem:
            self._capture_problem = problem
            self._notify("capture_problem" if problem else "capture_ok", message)

    def _adapt_fps(self, step_ms: float) -> None:
        lowered = self.rate.after_frame(self._fps, step_ms, self.latency)
        if lowered is None:
            return
        fps, frame_ms = lowered
        old = self._fps
        self._set_fps(fps)
        self._notify(
            "fps_lowered",
            f"the CPU cannot keep up ({frame_ms:.0f} ms per frame at {old:g} FPS): "
            f"capturing at {fps:g} FPS",
        )

    def run_capture(self, stop: threading.Event, on_frame: Callable[[FrameResult], None] | None = None) -> None:
        """Capture-thread body: open the source here, loop at `fps` until `stop` is set."""
        self._require_warm()
        self.open_source()
        pacer = self._capture_pacer = Pacer(1.0 / self.capture_fps)

        def step() -> None:
            result = self.capture_once()
            if on_frame is not None:
                on_frame(result)

        try:
            run_paced(step, pacer, stop.is_set, stop.wait)
        finally:
            self._capture_pacer = None
            self.close_source()

    @property
    def frames_skipped(self) -> int:
        pacer = self._capture_pacer
        return pacer.skipped if pacer is not None else 0

    # -------------------------------------------------------------- inference loop

    def inference_once(self) -> EVTick:
        """Run the Q-net on the window (if there is a model and fresh frames); record a decision."""
        ring = self._require_warm()
        t = self.clock()
        with self._feed_lock:
            snap = ring.snapshot()
            frame_idx = self._last_frame_idx
            run = self._run
        loaded = self._qnet  # read once: a hot-swap takes effect at the next tick
        ev: EVEstimate | None = None
        reason: str | None = None
        qnet_ms: float | None = None
        problem = self._capture_problem
        if snap.filled == 0:
            reason = "no_frames"
        elif problem is not None:
            reason = f"capture_{problem}"
        elif loaded is None:
            reason = "no_model"
        else:
            p0 = self.timer()
            if isinstance(loaded.model, OrtQNet):
                q = loaded.model(snap.window[None])[0]  # (A, K)
            else:
                import torch

                with torch.no_grad():
                    window = torch.from_numpy(snap.window).unsqueeze(0).to(self._device)  # (1, L, D)
                    q = loaded.model(window)[0].float().cpu().numpy()  # (A, K)
            t_run = t - run.t0 if run is not None else t
            ev = self._adviser.tick(q, t_run, value_scale=loaded.meta.value_scale, warming=not snap.full)
            qnet_ms = (self.timer() - p0) * 1000.0
            self.latency.add("qnet", qnet_ms)
        age_ms = None
        if snap.newest_stamp is not None:
            age_ms = (self.clock() - snap.newest_stamp) * 1000.0
            if ev is not None:
                self.latency.add("age", age_ms)
        decision_idx = None
        if run is not None and self.recorder is not None and frame_idx is not None and problem is None:
            idx = self.recorder.add_decision(t - run.t0, frame_idx, ev)
            decision_idx = idx if idx >= 0 else None
        self.counts["ticks"] += 1
        stages = {s: self.latency.last(s) for s in ("grab", "preprocess", "encode")}
        tick = EVTick(t, ev, reason, age_ms, qnet_ms, stages, snap.filled,
                      run.run_id if run else None, decision_idx)
        for fn in list(self._tick_listeners):
            fn(tick)
        return tick

    def run_inference(self, stop: threading.Event, on_tick: Callable[[EVTick], None] | None = None) -> None:
        """Inference-thread body: one tick every `interval_s` until `stop` is set.

        Each tick waits for the next frame to land in the ring (at most one frame period),
        so the EV is computed on the freshest latent: the capture-to-EV age is then about
        encode + Q-net instead of that plus up to a frame period of waiting.
        """
        self._require_warm()

        def step() -> None:
            self._frame_pushed.clear()
            if not stop.is_set():
                self._frame_pushed.wait(1.0 / self._fps)
            tick = self.inference_once()
            if on_tick is not None:
                on_tick(tick)

        run_paced(step, Pacer(self.config.interval_s), stop.is_set, stop.wait)

    # ---------------------------------------------------------------------- status

    def status(self) -> EngineStatus:
        loaded = self._qnet
        model = None
        if loaded is not None:
            m = loaded.meta
            model = ModelInfo(str(loaded.path), m.epoch, m.val_loss, m.encoder_id, m.value_scale)
        run = self._run
        return EngineStatus(
            warm=self.is_warm, fps=self._fps, configured_fps=self.config.fps,
            interval_s=self.config.interval_s, encoder_path=self.encoder_path,
            encoder_id=self._encoder_id,
            device=(str(self._device) if self._device is not None else "cpu") if self.is_warm else None,
            model=model, risk=self._adviser.risk, run_id=run.run_id if run else None,
            extract_marked=run.extract_marked if run else False,
            frames_seen=self.counts["seen"], frames_encoded=self.counts["encoded"],
            frames_reused=self.counts["reused"], frames_skipped=self.frames_skipped,
            ticks=self.counts["ticks"], capture_problem=self._capture_problem,
            latency_ms=self.latency.summary(), frames_idle=self.counts["idle"],
        )
