"""`EngineThreads`: both engine loops on plain threads (the headless CLI and benchmarks).

The GUI runs the same loop bodies on QThreads (`app.workers`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from app.core.engine.pipeline import Engine
from app.core.engine.types import EVTick, FrameResult

__all__ = ["EngineThreads"]


class EngineThreads:
    """Run both loops on plain threads (the headless CLI and benchmarks; the GUI uses QThreads).

    The first exception of either loop stops both and is kept in `error`.
    """

    def __init__(
        self,
        engine: Engine,
        on_frame: Callable[[FrameResult], None] | None = None,
        on_tick: Callable[[EVTick], None] | None = None,
    ) -> None:
        self.engine = engine
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._guard, args=(engine.run_capture, on_frame), name="arcx-capture", daemon=True),
            threading.Thread(target=self._guard, args=(engine.run_inference, on_tick), name="arcx-inference", daemon=True),
        ]

    def _guard(self, body: Callable[[threading.Event, Any], None], callback: Any) -> None:
        try:
            body(self.stop_event, callback)
        except BaseException as exc:
            if self.error is None:
                self.error = exc
            self.stop_event.set()

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self.stop_event.set()
        for t in self._threads:
            t.join()

    def wait(self, seconds: float | None = None) -> bool:
        """Wait until `seconds` pass or a loop stops by itself; True if it stopped."""
        return self.stop_event.wait(seconds)
