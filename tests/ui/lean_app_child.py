"""Child of tests/ui/test_app_lean.py: the real desktop app, offscreen, from warm caches.

    python tests/ui/lean_app_child.py OUT.json PLAIN_MODEL

`ARCX_HOME` holds what a torch start would have left (the lean record, the model and its
ONNX export, labelled runs); `ARCX_SOURCE=synthetic`. The app starts with the fake hotkey
backend; this waits for an EV, trains a model through the app's own training worker and
swaps it in (the training child exports it), then swaps in PLAIN_MODEL, a checkpoint with
no export. After each step it notes whether torch is loaded, which torch-side functions
ran in this process, and what computed the EV; OUT.json gets the notes.
"""

from __future__ import annotations

import importlib.abc
import json
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# Hang guard only: each wait normally ends in seconds.
_WAIT_S = 600.0


class _TorchWatch(importlib.abc.MetaPathFinder):
    """Notes the ArcX frames of the first real `import torch` (lets it proceed)."""

    def __init__(self) -> None:
        self.first: list[str] | None = None

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "torch" and self.first is None:
            stack = traceback.extract_stack()
            if not any("importlib/util" in f.filename or "importlib.util" in f.filename for f in stack):  # probes
                self.first = [f"{Path(f.filename).name}:{f.lineno}" for f in stack if "/app/" in f.filename]
        return None


def main(out: Path, plain_model: Path) -> None:
    watch = _TorchWatch()
    sys.meta_path.insert(0, watch)
    from app.ui.app import start
    from app.ui.hotkeys import FakeHotkeyBackend

    after_import = "torch" in sys.modules
    calls: list[str] = []
    _spy(calls)
    notes: dict[str, Any] = {"torch_after_import": after_import}
    r = start([], hotkey_backend=FakeHotkeyBackend(), use_pystray=False, show_dialogs=False, welcome=False,
              instance_key=f"arcx-lean-test-{time.time_ns()}")
    assert r is not None
    engine = r.parts.engine
    _wait(r.app, lambda: engine.is_warm)
    notes["idle_encoded"] = engine.status().frames_encoded  # between runs: grabbed, not encoded
    r.controller.start_run()  # EVs are made in a run (between runs nothing is encoded)
    ticks: list[Any] = []
    engine.subscribe(on_tick=lambda t: ticks.append(t) if t.ev is not None else None)

    def note(step: str) -> None:
        ticks.clear()
        _wait(r.app, lambda: bool(ticks))
        loaded = engine._qnet
        notes[step] = {
            "torch": "torch" in sys.modules, "torch_calls": list(calls), "lean": engine.lean,
            "model": type(loaded.model).__name__ if loaded else None, "model_path": str(loaded.path) if loaded else None,
            "status_device": engine.status().device,
        }

    note("warm")
    notes["report"] = {"lean": r.device.lean, "kind": r.device.kind, "device": str(r.device.device),
                       "tooltip": r.tray.backend.icon.toolTip()}
    results: list[Any] = []
    worker = r.parts.training_worker(replace(r.parts.train_defaults, epochs=1, device="cpu", precision="fp32",
                                             num_threads=1))
    worker.result.connect(results.append)
    worker.errored.connect(lambda m: results.append(m))
    worker.run()  # the QThread's body on this thread: train_in_child, the app's device
    notes["trained"] = {"result": str(results[0].checkpoint_path) if results and not isinstance(results[0], str)
                        else results}
    notes["swap"] = r.controller.swap_model(results[0])
    note("swapped")
    plain = SimpleNamespace(checkpoint_path=plain_model, previous_path=None, stopped="completed")
    notes["plain_swap"] = r.controller.swap_model(plain)  # type: ignore[arg-type]
    note("plain")
    notes["torch_first_import"] = watch.first
    r.clean_up()
    out.write_text(json.dumps(notes), encoding="utf-8")


def _spy(calls: list[str]) -> None:
    """Record calls of the functions that need torch on the live path (whether or not torch
    is already loaded, e.g. by an import elsewhere)."""
    import app.core.device as device
    import app.core.engine.pipeline as pipeline

    real = device.select_device

    def select_device(*a: Any, **kw: Any) -> Any:
        calls.append("select_device")
        return real(*a, **kw)

    device.select_device = select_device  # type: ignore[assignment]
    import app.ui.app as ui_app

    ui_app.select_device = select_device  # type: ignore[attr-defined]
    real_export = pipeline.Engine._export_for_lean

    def export_for_lean(self: Any, *a: Any) -> Any:
        calls.append("torch load_model")  # only the torch branch of load_model exports
        return real_export(self, *a)

    pipeline.Engine._export_for_lean = export_for_lean  # type: ignore[method-assign]
    real_warm = pipeline.Engine.warm_up

    def warm_up(self: Any, *a: Any, **kw: Any) -> Any:
        before = self.lean
        out = real_warm(self, *a, **kw)
        if not self.lean and not before:
            calls.append("torch warm_up")
        return out

    pipeline.Engine.warm_up = warm_up  # type: ignore[method-assign]


def _wait(app: Any, done: Any) -> None:
    deadline = time.monotonic() + _WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("no EV tick")
        app.processEvents()
        time.sleep(0.02)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
