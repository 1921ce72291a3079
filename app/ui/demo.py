"""`arcx demo` step (c): the real desktop app on a live simulated raid with the demo's model.

The app runs exactly as for a player (tray, overlay, engine, hotkeys) with two
differences, both set before it starts: its home is the demo folder's `app/`
(`ARCX_HOME`), so its runs, settings and model never mix with the player's, and its
capture source is the simulated raid (`ARCX_SOURCE=sim`, the `sim` kind of `app.demo.hooks`).
The model trained by the demo is installed there as the app's model.

On top of the app, a game window (`app.ui.game_window`) shows the raid the engine is
capturing, with the overlay in its corner. The source is `LiveRaids`: raid after raid,
each a new seed, and the runs are started and labelled automatically, so the demo plays
on its own. Closing the game window ends the demo (the app quits as with Quit).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from app.core import paths

log = logging.getLogger(__name__)

HOME_ENV = "ARCX_HOME"
SOURCE_ENV = "ARCX_SOURCE"


def run_gui(model_path: Path, seed: int = 0) -> int:
    """Start the desktop app on live simulated raids with `model_path`; returns its exit
    status. seed: the first live raid's seed (then seed + 1, …): pick one the model was
    not trained on."""
    home = paths.demo_dir() / "app"
    home.mkdir(parents=True, exist_ok=True)
    os.environ[HOME_ENV] = str(home)
    os.environ[SOURCE_ENV] = "sim"
    target = paths.user_models_dir() / "qnet.safetensors"
    shutil.copyfile(model_path, target)
    log.info("demo app: home %s, model %s, source: simulated raid", home, target)
    running = start_gui(seed)
    if running is None:
        return 0
    app, window = running
    code = app.app.exec()
    window.close()
    app.reporter.uninstall()
    return int(code)


def start_gui(seed: int = 0, **start_kwargs: Any) -> tuple[Any, Any] | None:
    """The app (`app.ui.app.start`) on `LiveRaids` from `seed`, plus its game window shown;
    None when another ArcX instance runs. Keyword arguments go to `start` (tests)."""
    from app.demo.sim.live import LiveRaids
    from app.ui import wiring
    from app.ui.app import start
    from app.ui.game_window import DemoRuns, GameWindow

    live = LiveRaids(seed)
    factory = start_kwargs.pop(
        "engine_factory", lambda s, r, b: wiring.build(s, r, b, source=live)
    )
    start_kwargs.setdefault("welcome", False)  # the demo explains itself
    running = start([], engine_factory=factory, **start_kwargs)
    if running is None:
        return None
    controller = running.controller
    window = GameWindow(live, DemoRuns(controller), controller.overlay)
    # Closing the game window ends the demo: the app quits the way Quit does (an active
    # run is ended unlabelled, the engine stops), so no overlay advises on a hidden raid.
    window.closed.connect(controller.quitRequested.emit)
    window.show()
    window.raise_()
    return running, window
