"""`arcx doctor`: which device ArcX will compute on, why, and what the machine has.

The first thing to run when the app is slow or a GPU is not used. `--json` prints the
same facts for bug reports and scripts: `{"arcx_version": ..., "settings_file": ...,
"device": DeviceReport.to_dict()}`. Warnings (a repaired settings file, an override
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

    loaded = load_settings()
    if loaded.message:
        log.warning("%s", loaded.message)
    report = select_device(loaded.settings.device)
    settings_file = str(paths.settings_file())
    if args.json:
        data = {
            "arcx_version": __version__,
            "settings_file": settings_file,
            "device": report.to_dict(),
        }
        print(json.dumps(data, indent=2))
    else:
        print(f"ArcX {__version__}")
        print(f"Settings:     {settings_file}")
        print(report.format())
    return 0
