"""The real-time pipeline as plain objects: source → preprocess → encoder → ring → Q-net → EV.

Two loops share one `Engine`: the **capture loop** (paced to `fps`, default 8) grabs,
preprocesses and encodes a frame and pushes its latent into the `LatentRing` and the
recorder; the **inference loop** (every `interval_s`, default 0.5 s) runs the Q-net on
the ring's window and produces an `EVTick`. The loops run on threads the caller owns
(the Qt workers, `EngineThreads` for the CLI and benchmarks); the engine never starts
Qt and never touches a widget.

Modules: `types` (config, step results, events, status: plain frozen data), `pipeline`
(`Engine`), `rate` (the affordable frame rate), `latency` (per-stage samples),
`threads` (`EngineThreads`).

API (callable from any thread unless noted)::

    engine = Engine(source, config=EngineConfig.from_settings(settings), recorder=RunRecorder(root))
    engine.subscribe(on_tick=..., on_notice=...)  # callbacks run on the loop threads;
                                                  # unsubscribe(...) removes them
    engine.warm_up(progress=print)                # device, encoder path self-check, first
                                                  # forward passes; seconds (minutes the
                                                  # first time: building INT8 models)
    engine.load_model(path) -> CheckpointMeta     # hot-swap the Q-net; capture keeps going
    engine.unload_model()
    engine.run_capture(stop_event, on_frame=None) # capture-thread body: opens the source
                                                  # there, loops until stop_event is set
    engine.run_inference(stop_event, on_tick=None)# inference-thread body
    engine.start_run() -> run_id                  # clears the window, starts recording
    engine.mark_extract()                         # "I am extracting now"
    engine.end_run(outcome, loot) -> RunInfo      # "extracted"/"died"/None; slow: compacts
                                                  # the run, call off the GUI thread
    engine.set_risk("safe" | "neutral" | "aggressive" | τ)
    engine.set_masks([Rect, ...])                 # overlay rectangle(s) in captured pixels
    engine.status() -> EngineStatus               # a frozen snapshot, cheap

    capture_once() -> FrameResult / inference_once() -> EVTick   one step of each loop

Events: every inference step calls `on_tick(EVTick)`; `on_notice(Notice)` reports what
the player should know (capture black/frozen/stalled/lost and back, dxcam → mss
fallback, FPS lowered, model loaded). Unrecoverable errors (`CaptureLost`, a broken
source) are raised from the loop; the caller turns them into its own error signal.

Honest EVs only: `EVTick.ev` is None — never invented — when no model is loaded, no
frame has arrived, or capture has a problem (`reason` says which). Decisions are still
recorded without EV, so runs recorded before any training are usable later.

Timing: frames are stamped with the engine clock at grab time; `frame_age_ms` of a tick
is the capture-to-EV age of the newest frame in its window (grab → encode → ring →
Q-net → EV). Per-stage latencies (grab, preprocess, encode, qnet, age) are kept for the
last `latency_window` samples. A frame identical to the previous one is not encoded:
its predecessor's latent is reused. When encoding cannot keep up with the frame rate,
the rate is lowered (never below `min_fps`) and a notice says so.
"""

from app.core.engine.latency import STAGES, LatencyStats
from app.core.engine.pipeline import Engine
from app.core.engine.rate import FrameRate, half_steps
from app.core.engine.threads import EngineThreads
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

__all__ = [
    "STAGES",
    "Engine",
    "EngineConfig",
    "EngineStatus",
    "EngineThreads",
    "EVTick",
    "FrameRate",
    "FrameResult",
    "LatencyStats",
    "ModelInfo",
    "Notice",
    "NoticeKind",
    "Recorder",
    "half_steps",
]
