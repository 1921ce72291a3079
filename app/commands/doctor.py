"""`arcx doctor`: which device ArcX will compute on, why, and what the machine has.

The first thing to run when the app is slow or a GPU is not used. It also says how the
desktop app would start now: *lean* (the encoder and the model in ONNX Runtime on the
CPU, from the caches a torch start left; torch is not loaded) or *with torch*, and why
(`app.core.model.lean.plan_start`). `--json` prints the same facts for bug reports and
scripts: `{"arcx_version": ..., "settings_file": ..., "device": DeviceReport.to_dict(),
"desktop_start": {"lean": ..., "reason": ..., "encoder_path": ...}}`. Warnings (a repaired settings file, an override
that is not used) go to the log on stderr, so stdout stays clean JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from app import __version__

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add the `doctor` subcommand to the `arcx` subparsers."""
    parser = sub.add_parser(
        "doctor",
        help="show the compute device ArcX will use and why",
        description="Detect the compute device (CUDA, ROCm, DirectML or CPU), smoke-test "
        "it, and print what was found. Honours the device setting and ARCX_DEVICE.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the device report; exit status 0 (a CPU fallback is a result, not an error)."""
    # Imported here, not at parse time: torch takes a while to import.
    from app.core import paths
    from app.core.config import load_settings
    from app.core.device import select_device
    from app.core.model.lean import plan_start
    from app.core.model.slot import model_path

    loaded = load_settings()
    if loaded.message:
        log.warning("%s", loaded.message)
    settings = loaded.settings
    plan = plan_start(settings.device, settings.inference.encoder_path, model_path())
    report = select_device(settings.device)
    settings_file = str(paths.settings_file())
    encoder_path = plan.record.path_name if plan.record is not None else None
    start = {"lean": plan.lean, "reason": plan.reason, "encoder_path": encoder_path}
    if args.json:
        data = {
            "arcx_version": __version__,
            "settings_file": settings_file,
            "device": report.to_dict(),
            "desktop_start": start,
        }
        print(json.dumps(data, indent=2))
    else:
        print(f"ArcX {__version__}")
        print(f"Settings:     {settings_file}")
        print(report.format())
        print(f"Desktop app:  {describe_start(plan.lean, plan.reason, encoder_path)}")
    return 0


def describe_start(lean: bool, reason: str, encoder_path: str | None) -> str:
    """How the desktop app starts now, in words."""
    if lean:
        return (f"lean start: computes on the CPU, {encoder_path} encoder and the model in ONNX Runtime "
                "(from the cache), torch not loaded")
    return f"starts with torch on the device above ({reason})"
