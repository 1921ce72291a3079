"""Plain data of the engine: its config, what each step returns, events and status.

Everything here is immutable (frozen dataclasses), so it can cross from the loop threads
to the UI thread as is. `app.core.engine` re-exports all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np

from app.core.config import Settings
from app.core.model.dims import WINDOW
from app.core.model.ev import EVEstimate, Hysteresis

NoticeKind = Literal[
    "capture_problem", "capture_ok", "capture_lost", "capture_fallback", "fps_lowered",
    "model_loaded", "encoder_path",
]


class Recorder(Protocol):
    """What the engine needs of `app.core.data.recorder.RunRecorder`."""

    @property
    def active_run_id(self) -> str | None: ...

    def start_run(self, *, encoder_id: str, fps: float, game_profile: str = ..., encoder_path: str = ...) -> str: ...

    def add_frame(self, latent: np.ndarray, t_sec: float) -> int: ...

    def add_decision(self, t_sec: float, frame_idx: int, ev: EVEstimate | None) -> int: ...

    def mark_extract(self, t_sec: float | None = None) -> None: ...

    def end_run(self, outcome: str | None, final_loot_value: float | None = None) -> Any: ...


@dataclass(frozen=True)
class EngineConfig:
    """How the engine runs. `from_settings` maps the player's settings onto it."""

    fps: float = 8.0
    """frames captured and encoded per second (lowered automatically if the CPU cannot keep up)"""
    interval_s: float = 0.5
    """seconds between inference ticks (EV updates and recorded decisions)"""
    window: int = WINDOW
    """L: latents in the Q-net's window (4 s at 8 FPS)"""
    risk: str | float = "neutral"
    """risk profile at start: safe, neutral, aggressive, or a custom η (app.core.model.ev)"""
    hysteresis: Hysteresis = Hysteresis()
    """when the shown advice may change (hold time, margin)"""
    device: str = "auto"
    """compute device preference (see app.core.device.select_device)"""
    encoder_path: str = "auto"
    """encoder implementation: auto (self-check) or a name from app.core.model.fast.PATH_NAMES"""
    threads: int | None = None
    """CPU threads for the encoder and the Q-net; None = runtime.default_threads()"""
    game_profile: str = "default"
    """map/game name stored with each run"""
    min_fps: float = 2.0
    """the frame rate is never lowered below this"""
    budget_fraction: float = 0.9
    """a frame may take this fraction of its period before the frame rate is lowered"""
    slow_frames: int = 8
    """consecutive over-budget frames before the frame rate is lowered"""
    black_after_s: float = 5.0
    """black frames for this long are a capture problem"""
    frozen_after_s: float = 5.0
    """unchanged frames for this long are a capture problem"""
    stalled_after_s: float = 5.0
    """no frames at all for this long is a capture problem"""
    latency_window: int = 256
    """samples kept per latency stage"""
    idle_fps: float | None = None
    """between runs, grab only this many frames per second and check them for capture
    problems without encoding them: a run starts with an empty window, so nothing reads a
    latent made outside one (the desktop app: `IDLE_FPS`, so the tray costs next to no
    CPU). None encodes every frame at `fps` all the time (`arcx run`, tests, benchmarks)"""

    def __post_init__(self) -> None:
        if self.idle_fps is not None and not (0.0 < self.idle_fps <= self.fps):
            raise ValueError(f"idle_fps must be in (0, fps={self.fps:g}], got {self.idle_fps}")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EngineConfig:
        base = cls(
            fps=settings.capture.fps,
            interval_s=settings.inference.interval_s,
            risk=settings.inference.risk,
            hysteresis=Hysteresis(settings.inference.hold_s, settings.inference.margin),
            device=settings.device,
            encoder_path=settings.inference.encoder_path,
            game_profile=settings.game_profile,
        )
        return replace(base, **overrides)


@dataclass(frozen=True)
class FrameResult:
    """One capture step (the capture worker's `progress` payload)."""

    t: float
    """engine-clock time of the grab"""
    got_frame: bool
    """the source returned a frame"""
    encoded: bool
    """the encoder ran (False: no frame, identical frame reused, or not fed)"""
    fed: bool
    """a latent went into the ring (and the recorder during a run)"""
    frame_idx: int | None
    """index in the recorded run, None outside a run"""
    problem: str | None
    """capture problem in force: black, frozen, stalled, or None"""
    grab_ms: float
    """time in source.grab()"""
    preprocess_ms: float | None
    """crop + resize + mask; None without a frame"""
    encode_ms: float | None
    """encoder time; None when it did not run"""


@dataclass(frozen=True)
class EVTick:
    """One inference step: the EV (or why there is none) and how fresh it is."""

    t: float
    """engine-clock time of the tick"""
    ev: EVEstimate | None
    """None when there is no honest EV to show (see reason)"""
    reason: str | None
    """why ev is None: "no_model", "no_frames", "capture_<problem>"; None when ev is set"""
    frame_age_ms: float | None
    """capture-to-EV age of the newest frame in the window"""
    qnet_ms: float | None
    """Q-net forward time of this tick"""
    stages_ms: dict[str, float | None]
    """latest grab, preprocess and encode times of the capture loop"""
    filled: int
    """real latents in the window (< window length: warming up)"""
    run_id: str | None
    """the run being recorded, if any"""
    decision_idx: int | None
    """index of the recorded decision, None outside a run"""

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-serialisable form (one line of `arcx run --headless`)."""
        ev = self.ev
        return {
            "t": round(self.t, 3),
            "run_id": self.run_id,
            "ev_stay": ev.ev_stay if ev else None,
            "ev_extract": ev.ev_extract if ev else None,
            "delta": ev.delta if ev else None,
            "advice": ev.advice if ev else None,
            "close_call": ev.close_call if ev else None,
            "risk": ev.risk if ev else None,
            "eta": ev.eta if ev else None,
            "risk_delta": ev.risk_delta if ev else None,
            "instant_advice": ev.instant_advice if ev else None,
            "p_loss_stay": ev.p_loss_stay if ev else None,
            "warming": ev.warming if ev else None,
            "reason": self.reason,
            "frame_age_ms": _r(self.frame_age_ms),
            "stages_ms": {**{k: _r(v) for k, v in self.stages_ms.items()}, "qnet": _r(self.qnet_ms)},
            "filled": self.filled,
            "decision_idx": self.decision_idx,
        }


@dataclass(frozen=True)
class Notice:
    """Something the player should be told (the UI shows it; the CLI logs it)."""

    kind: NoticeKind
    """what happened (capture_problem, capture_ok, capture_lost, fps_lowered, …)"""
    message: str
    """one sentence for the player"""
    t: float
    """engine-clock time"""


@dataclass(frozen=True)
class ModelInfo:
    """The Q-net in use."""

    path: str
    """checkpoint file"""
    epoch: int
    """training epoch it was saved at"""
    val_loss: float
    """validation loss at that epoch"""
    encoder_id: str
    """encoder whose latents it was trained on"""
    value_scale: float
    """loot units per network output unit"""


@dataclass(frozen=True)
class EngineStatus:
    """A snapshot for the UI and `arcx run`. Latencies: {stage: (p50, p95)} in ms."""

    warm: bool
    """warm_up has finished"""
    fps: float
    """capture rate in use (may be below the configured one)"""
    configured_fps: float
    """capture rate asked for"""
    interval_s: float
    """seconds between inference ticks"""
    encoder_path: str | None
    """encoder implementation in use (recorded with runs)"""
    encoder_id: str | None
    """hash of the encoder's weights"""
    device: str | None
    """torch device of the models"""
    model: ModelInfo | None
    """the Q-net in use, None without one"""
    risk: str | float
    """risk profile of the next ticks"""
    run_id: str | None
    """run being recorded, None between runs"""
    extract_marked: bool
    """the player marked "extracting" in this run"""
    frames_seen: int
    """frames grabbed since creation"""
    frames_encoded: int
    """frames the encoder ran on"""
    frames_reused: int
    """frames identical to their predecessor (latent reused, encoder skipped)"""
    frames_skipped: int
    """capture deadlines missed because a step overran (current capture loop)"""
    ticks: int
    """inference ticks since creation"""
    capture_problem: str | None
    """black, frozen, stalled, lost, or None"""
    latency_ms: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    """{stage: (p50, p95)} over the recent window; None for a stage without samples"""
    frames_idle: int = 0
    """frames grabbed between runs and only checked, not encoded (`EngineConfig.idle_fps`)"""


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)
