"""Qt widgets of the desktop app: tray, overlay, dialogs.

On Windows torch must be imported before PyQt6 if it is imported at all: with torch ≥ 2.9
the reverse order fails with WinError 1114 on c10.dll (Qt puts its own copies of the MSVC
runtime and OpenMP on the search path first; pytorch/pytorch#166628; a child process can
still import it). Every `app.ui.*` import runs this file first, so it decides:

* Windows, a start that will need torch (`start_needs_torch`): torch is imported here,
  before any module of this package can import PyQt6.
* Windows, a lean start (`app.core.model.lean.plan_start`: the encoder record holds and
  the model has a checked ONNX export): torch is not imported, and the engine is told not
  to import it later (`Engine(torch_in_process=False)`); what would still need torch runs
  in a child process or is refused with a message.
* Elsewhere there is no ordering problem: torch is never imported eagerly.
"""

from __future__ import annotations

import sys


def start_needs_torch() -> bool:
    """Will the desktop app's start (`app.ui.app.start`) import torch? Reads files, never torch.

    Conservative: any doubt (settings that do not read, a changed cache) says yes. This
    relies on importing the widgets not importing torch (`tests/ui/test_app_lean.py`)."""
    try:
        from app.core import paths
        from app.core.config import Settings
        from app.core.model.lean import plan_start
        from app.core.model.slot import model_path

        file = paths.settings_file()
        settings = Settings.model_validate_json(file.read_bytes()) if file.exists() else Settings()
        return not plan_start(settings.device, settings.inference.encoder_path, model_path()).lean
    except Exception:  # app.ui.app.start repairs and reports a bad settings file
        return True


if sys.platform == "win32" and "torch" not in sys.modules and start_needs_torch():
    import torch  # noqa: F401  (import order matters, see above)
