"""`arcx run --headless`: the real-time engine without a window.

    arcx run --headless --source synthetic|screen|replay:PATH|sim [--seconds N] [--fps F]
             [--data DIR] [--model PATH] [--outcome extracted:VALUE|died] [--risk R]
             [--encoder-path P] [--device D]

Prints one JSON line per EV tick on stdout (ev_stay, ev_extract, delta, advice, risk,
warming, frame_age_ms, stages_ms, …; see `EVTick.to_dict`) and records the run under
`--data` (default: the user's runs folder). Everything else — warm-up steps, the
engine's notices (through logging), the summary — goes to stderr, so stdout stays clean
JSON lines.

Without a trained model (none given, none in the user's models folder) the run is still
recorded, the command says so on stderr, and the JSON lines carry `"reason": "no_model"`
with null EV fields: no EV is ever invented.

The run ends after `--seconds`, at Ctrl+C, SIGTERM or SIGHUP (a logoff or shutdown),
when a replay runs out of frames, or when the simulated raid is over; it is labelled
with `--outcome` (or, for `sim`, with the raid's own outcome), else left unlabelled for
the runs view.

Bad arguments are refused before the (slow) warm-up with status 2; so are a runs
folder that cannot be written or has too little free space (status 1). A source that
fails before its first frame leaves no empty run behind. If the disk fills up, the rows
not yet on disk are kept and retried for `SAVE_GRACE_S`; the last line then says how
many seconds could not be saved.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

# How often the main thread checks for the end of a simulated raid (and for a signal).
_POLL_S = 0.2
MAX_FPS = 30.0
"""The highest capture rate (as `CaptureSettings.fps` allows)."""
SAVE_GRACE_S = 20.0
"""How long a run that the full disk refused is retried before the command gives up."""
_SAVE_RETRY_S = 2.0
# Signals that end the run as Ctrl+C does: a logoff, a shutdown, `kill`.
_STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def parse_outcome(text: str) -> tuple[str, float]:
    """`extracted:1234` → ("extracted", 1234.0); `died` → ("died", 0.0)."""
    from app.core.data.schema import MAX_LOOT_VALUE

    kind, sep, value = text.strip().lower().partition(":")
    if kind == "died" and not sep:
        return "died", 0.0
    if kind == "extracted" and sep:
        try:
            loot = float(value)
        except ValueError:
            loot = -1.0
        if 0 <= loot <= MAX_LOOT_VALUE:
            return "extracted", loot
    raise argparse.ArgumentTypeError(f"'{text}': use extracted:VALUE (0 ≤ VALUE ≤ {MAX_LOOT_VALUE:g}) or died")


def _number(text: str, what: str, low: float, high: float, *, low_open: bool = True) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and v <= high
    if not ok:
        bound = f"> {low:g}" if low_open else f"≥ {low:g}"
        raise argparse.ArgumentTypeError(f"'{text}': {what} must be a number {bound} and ≤ {high:g}")
    return v


def parse_fps(text: str) -> float:
    """Frames per second: a finite number in (0, MAX_FPS]."""
    return _number(text, "the frame rate", 0.0, MAX_FPS)


def parse_seconds(text: str) -> float:
    """A run length: a finite number of seconds > 0 (at most a day)."""
    return _number(text, "the run length", 0.0, 86_400.0)


def register(sub: Any) -> None:
    """Add the `run` subcommand to the `arcx` subparsers."""
    parser = sub.add_parser(
        "run",
        help="run the live engine headless: JSON EV lines on stdout, the run recorded",
        description="Capture, encode and estimate EV without a window; one JSON line per "
        "EV tick on stdout, the run recorded like in the app.",
    )
    parser.add_argument("--headless", action="store_true", help="required: no window (the GUI is plain `arcx`)")
    parser.add_argument(
        "--source", default="synthetic",
        help="synthetic | screen | replay:PATH (folder of images or .npz) | sim (default: synthetic)",
    )
    parser.add_argument("--seconds", type=parse_seconds, default=None, help="stop after N seconds (default: until Ctrl+C)")
    parser.add_argument("--fps", type=parse_fps, default=None, help="capture frame rate (default: the settings', 8)")
    parser.add_argument("--data", type=Path, default=None, help="folder for recorded runs (default: the user's)")
    parser.add_argument("--model", type=Path, default=None, help="Q-net checkpoint (default: newest in the user's models)")
    parser.add_argument("--outcome", type=parse_outcome, default=None, help="label the run: extracted:VALUE or died")
    parser.add_argument("--risk", default=None, help="safe | neutral | aggressive (default: the settings')")
    parser.add_argument("--encoder-path", default=None, help="auto (default), fp32, ort-int8, ao-int8, ort-fp32, …")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda, … (default: the settings')")
    parser.set_defaults(handler=run)


# The trainer installs the player's model under this name (app.core.training.trainer).
MODEL_NAME = "qnet.safetensors"


def default_model() -> Path | None:
    """The player's model in the user's models folder, else the newest checkpoint there.

    Hidden files (the temp files of a save a crash interrupted) are never models; stale
    ones are removed here.
    """
    from app.core import paths
    from app.core.atomic import is_hidden, remove_stale_temps

    folder = paths.user_models_dir()
    for p in remove_stale_temps(folder):
        log.info("removed %s, left by an interrupted save", p.name)
    if (folder / MODEL_NAME).is_file():
        return folder / MODEL_NAME
    found = sorted(
        (p for p in folder.glob("*.safetensors") if not is_hidden(p) and p.is_file()),
        key=lambda p: p.stat().st_mtime,
    )
    return found[-1] if found else None


class _StopSignals:
    """SIGTERM / SIGHUP set `event` (the run then ends as at Ctrl+C); restored on exit."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def _on(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        self.event.set()

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in _STOP_SIGNALS:
                self._old[s] = signal.signal(s, self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""


def _check_source(spec: str) -> None:
    """Refuse a replay path that does not exist before the warm-up (CaptureError)."""
    from app.core.errors import CaptureError

    kind, _, rest = spec.partition(":")
    if kind == "replay" and rest and not Path(rest).expanduser().exists():
        raise CaptureError(f"replay source not found: {rest}")


def _save_with_retries(recorder: Any, first: Exception, stop: threading.Event) -> Any:
    """The disk refused the ended run: retry for SAVE_GRACE_S; RunInfo or None."""
    _err(f"{first}; retrying for {SAVE_GRACE_S:.0f} s: free some space")
    deadline = time.monotonic() + SAVE_GRACE_S
    while time.monotonic() < deadline and not stop.is_set():
        stop.wait(_SAVE_RETRY_S)
        saved = recorder.retry_unsaved()
        if saved:
            return saved[0]
    return None


def _err(message: str) -> None:
    print(f"arcx run: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if not args.headless:
        _err("the windowed app is plain `arcx`; add --headless to run without a window")
        return 2
    if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds > 0):
        _err("--seconds must be a positive number")
        return 2
    with _StopSignals() as stop:
        return _run(args, stop)


def _run(args: argparse.Namespace, stop: _StopSignals) -> int:
    # Imported here, not at parse time: torch takes a while to import.
    from app.core import paths
    from app.core.capture.base import CaptureLost
    from app.core.capture.factory import source_from_spec
    from app.core.config import load_settings
    from app.core.data.recorder import RunNotSavedError, RunRecorder
    from app.core.data.store import check_can_record, delete_run
    from app.core.engine import Engine, EngineConfig, EngineThreads, EVTick
    from app.demo import hooks as demo

    loaded = load_settings()
    if loaded.message:
        log.warning("%s", loaded.message)
    settings = loaded.settings
    overrides: dict[str, Any] = {}
    for name, value in (("fps", args.fps), ("risk", args.risk), ("encoder_path", args.encoder_path),
                        ("device", args.device)):
        if value is not None:
            overrides[name] = value
    try:
        config = EngineConfig.from_settings(settings, **overrides)
    except ValueError as exc:  # an unknown risk profile, encoder path, …
        _err(str(exc))
        return 2
    _check_source(args.source)
    source = source_from_spec(args.source, settings.capture, extra=demo.SOURCES)
    model = args.model or default_model()
    if model is not None and not Path(model).is_file():
        _err(f"no model file {model}")
        return 2
    data_dir = args.data if args.data is not None else paths.runs_dir()
    check_can_record(data_dir)  # WriteError (read-only, full): one line, before the warm-up
    recorder = RunRecorder(data_dir)
    engine = Engine(source, config=config, recorder=recorder, game_frames=demo.sim_frames)

    def on_tick(tick: EVTick) -> None:
        print(json.dumps(tick.to_dict()), flush=True)

    engine.warm_up(progress=_err)
    if stop.event.is_set():
        _err(f"stopped by {stop.name} during the warm-up; nothing was recorded")
        return 128 + (stop.signum or 0)
    if model is None:
        _err(
            "no trained model: the run is recorded, but no EV is shown (EV fields are null). "
            "Label a few runs and train one in the app."
        )
    else:
        engine.load_model(model)  # a bad file is an ArcXError: one line, status 2

    threads = EngineThreads(engine, on_tick=on_tick)
    run_id = engine.start_run()
    _err(f"recording run {run_id} in {data_dir} ({args.source}, {engine.fps:g} FPS, {engine.encoder_path} encoder)")
    started = time.monotonic()
    threads.start()
    interrupted = False
    try:
        while not threads.wait(_POLL_S):
            if args.seconds is not None and time.monotonic() - started >= args.seconds:
                break
            if getattr(source, "done", False):  # the simulated raid is over
                break
            if stop.event.is_set():  # SIGTERM / SIGHUP: end the run cleanly
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        threads.stop()

    error = threads.error
    if isinstance(error, CaptureLost) and args.source.startswith("replay:"):
        _err(str(error))
        error = None  # the replay simply ran out of frames
    outcome: tuple[str | None, float | None] = args.outcome or (None, None)
    if args.outcome is None and getattr(source, "done", False):
        outcome = (getattr(source, "outcome", None), getattr(source, "final_value", None))
    if error is not None:
        outcome = (None, None)  # a run cut short by an error is left unlabelled
    try:
        info = engine.end_run(*outcome)
    except RunNotSavedError as exc:
        info = _save_with_retries(recorder, exc, stop.event)
        if info is None:
            lost = recorder.unsaved_seconds
            recorder.close()  # gives the unsaved rows up, logged
            _err(
                f"{lost:.0f} s of run {exc.run_id} could not be saved ({exc.saved_s:.0f} s are on disk "
                f"and readable; the next start recovers them): {str(exc).split(':')[0]}"
            )
            return 1
    recorder.close()
    if error is not None and info.n_frames == 0:
        delete_run(data_dir, info.run_id)  # nothing was captured: no empty run in the list
        _err(f"stopped by an error before the first frame: {error}; no run was recorded")
        return 2
    status = engine.status()
    lat = {k: (None if v is None else [round(v[0], 1), round(v[1], 1)]) for k, v in status.latency_ms.items()}
    _err(
        f"run {info.run_id}: {info.n_frames} frames, {info.n_decisions} decisions, "
        f"{info.outcome or 'unlabelled'}; {status.frames_encoded} encoded, {status.frames_reused} "
        f"identical frames skipped; latency p50/p95 ms {json.dumps(lat)}"
    )
    if error is not None:
        _err(f"stopped by an error: {error}")
        return 2
    if stop.signum is not None:
        _err(f"stopped by {stop.name}; the run is saved")
        return 128 + stop.signum
    return 130 if interrupted else 0
