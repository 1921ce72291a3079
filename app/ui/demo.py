"""`arcx demo` step (c): the real desktop app on a live simulated raid with the demo's model.

The app runs exactly as for a player (tray, overlay, engine, hotkeys) with two
differences, both set before it starts: its home is the demo folder's `app/`
(`ARCX_HOME`), so its runs, settings and model never mix with the player's, and its
capture source is the simulated raid (`ARCX_SOURCE=sim`, see `app.core.capture.factory`).
The model trained by the demo is installed there as the app's model.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from app.core import paths

log = logging.getLogger(__name__)

HOME_ENV = "ARCX_HOME"
SOURCE_ENV = "ARCX_SOURCE"


def run_gui(model_path: Path, seed: int = 0) -> int:
    """Start the desktop app on the simulated raid with `model_path`; returns its exit status.

    seed: reserved for choosing the live raid (the sim source starts from its own seed).
    """
    home = paths.demo_dir() / "app"
    home.mkdir(parents=True, exist_ok=True)
    os.environ[HOME_ENV] = str(home)
    os.environ[SOURCE_ENV] = "sim"
    target = paths.user_models_dir() / "qnet.safetensors"
    shutil.copyfile(model_path, target)
    log.info("demo app: home %s, model %s, source: simulated raid", home, target)
    from app.ui.app import main

    return int(main([]))
