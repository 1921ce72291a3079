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

The run ends after `--seconds`, at Ctrl+C, when a replay runs out of frames, or when the
simulated raid is over; it is labelled with `--outcome` (or, for `sim`, with the raid's
own outcome), else left unlabelled for the runs view.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# How often the main thread checks for the end of a simulated raid.
_POLL_S = 0.2


def parse_outcome(text: str) -> tuple[str, float]:
    """`extracted:1234` → ("extracted", 1234.0); `died` → ("died", 0.0)."""
    kind, sep, value = text.strip().lower().partition(":")
    if kind == "died" and not sep:
        return "died", 0.0
    if kind == "extracted" and sep:
        try:
            loot = float(value)
        except ValueError:
            loot = -1.0
        if loot >= 0:
            return "extracted", loot
    raise argparse.ArgumentTypeError(f"'{text}': use extracted:VALUE (VALUE ≥ 0) or died")


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
    parser.add_argument("--seconds", type=float, default=None, help="stop after N seconds (default: until Ctrl+C)")
    parser.add_argument("--fps", type=float, default=None, help="capture frame rate (default: the settings', 8)")
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
    """The player's model in the user's models folder, else the newest checkpoint there."""
    from app.core import paths

    folder = paths.user_models_dir()
    if (folder / MODEL_NAME).is_file():
        return folder / MODEL_NAME
    found = sorted(folder.glob("*.safetensors"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def _err(message: str) -> None:
    print(f"arcx run: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if not args.headless:
        _err("the windowed app is plain `arcx`; add --headless to run without a window")
        return 2
    if args.seconds is not None and args.seconds <= 0:
        _err("--seconds must be positive")
        return 2
    # Imported here, not at parse time: torch takes a while to import.
    from app.core import paths
    from app.core.capture.base import CaptureLost
    from app.core.capture.factory import source_from_spec
    from app.core.config import load_settings
    from app.core.data.recorder import RunRecorder
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
    config = EngineConfig.from_settings(settings, **overrides)
    source = source_from_spec(args.source, settings.capture, extra=demo.SOURCES)
    data_dir = args.data if args.data is not None else paths.runs_dir()
    recorder = RunRecorder(data_dir)
    engine = Engine(source, config=config, recorder=recorder, game_frames=demo.sim_frames)

    def on_tick(tick: EVTick) -> None:
        print(json.dumps(tick.to_dict()), flush=True)

    engine.warm_up(progress=_err)
    model = args.model or default_model()
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
    info = engine.end_run(*outcome)
    recorder.close()
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
    return 130 if interrupted else 0
