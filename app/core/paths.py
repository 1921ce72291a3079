"""Where ArcX keeps its files.

Per-user directories come from `platformdirs` (the right places on Windows, macOS and
Linux without hand-written rules). `ARCX_HOME` moves all of them under one folder, which
tests, benchmarks and portable installs use. Bundled read-only files (`resources/`,
`models/`) are found both from a source checkout and inside a PyInstaller bundle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "ArcX"
APP_AUTHOR = "ArcX"


def _home_override() -> Path | None:
    home = os.environ.get("ARCX_HOME")
    return Path(home).expanduser() if home else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Recorded runs and the user's trained models live below this."""
    home = _home_override()
    if home is not None:
        return _ensure(home / "data")
    return _ensure(Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)))


def runs_dir() -> Path:
    """One folder per recorded run."""
    return _ensure(data_dir() / "runs")


def demo_dir() -> Path:
    """The demo's own runs and model, never mixed with the player's."""
    return _ensure(data_dir() / "demo")


def user_models_dir() -> Path:
    """The player's trained Q-nets (current and previous, for roll-back)."""
    return _ensure(data_dir() / "models")


def config_dir() -> Path:
    home = _home_override()
    if home is not None:
        return _ensure(home / "config")
    return _ensure(Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)))


def settings_file() -> Path:
    return config_dir() / "settings.json"


def log_dir() -> Path:
    home = _home_override()
    if home is not None:
        return _ensure(home / "logs")
    return _ensure(Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)))


def cache_dir() -> Path:
    """Files ArcX can rebuild (exported and quantized encoders): safe to delete."""
    home = _home_override()
    if home is not None:
        return _ensure(home / "cache")
    return _ensure(Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR)))


def bundle_root() -> Path:
    """The folder that holds `resources/` and `models/`.

    From source that is the repository root; in a PyInstaller bundle it is
    `sys._MEIPASS` (the `_internal` folder of a one-folder build).
    """
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        return Path(meipass)
    return Path(__file__).resolve().parents[2]


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def resources_dir() -> Path:
    return bundle_root() / "resources"


def bundled_models_dir() -> Path:
    """Read-only weights shipped with the app (the pretrained encoder)."""
    return bundle_root() / "models"
