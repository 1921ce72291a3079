"""The demo's game window: the simulated raid the engine is capturing, scaled up.

The engine's capture thread grabs frames from `LiveRaids`; this window, on the GUI
thread, polls `LiveRaids.latest()` (a copied numpy array) on a timer and paints it, so
nothing crosses threads but plain data. Raid starts and ends go through a `RunDirector`
(plain code in `app.demo.sim.live`) that says when to start a run and how to end and
label it; `DemoRuns` carries those commands out on the `AppController`, so the demo
records labelled runs with no hotkeys. The overlay is kept over the window's top-right
corner (`overlay_corner`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PyQt6.QtCore import QPoint, QRect, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PyQt6.QtWidgets import QWidget

from app.core.data.store import RunInfo
from app.core.errors import ArcXError
from app.demo.sim.live import LiveRaids, RunCommand, RunDirector

log = logging.getLogger(__name__)

# Window size in logical pixels (16:9 like the sim's 400×225 frames).
WINDOW_SIZE = (960, 540)
# How often the window looks for a new frame and raid events (the sim runs at 8 FPS).
POLL_MS = 40
# Gap between the overlay and the game window's edges, logical pixels.
OVERLAY_MARGIN = 12
# Height of the caption strip under the frame, logical pixels.
CAPTION_PX = 28


def overlay_corner(window: QRect, overlay_size: tuple[int, int], margin: int) -> QPoint:
    """Top-left of the overlay when it sits in `window`'s top-right corner."""
    w, _ = overlay_size
    return QPoint(window.x() + window.width() - w - margin, window.y() + margin)


def frame_image(frame: NDArray[np.uint8]) -> QImage:
    """(H, W, 3) uint8 RGB → a QImage that owns its pixels."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
    h, w, _ = frame.shape
    data = np.ascontiguousarray(frame).tobytes()  # QImage borrows the buffer: copy() below owns it
    return QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class DemoRuns:
    """Carries `RunCommand`s out on the app controller (start, mark extracting as F9
    does, end, then label)."""

    def __init__(self, controller: Any) -> None:
        self.controller = controller
        self._label: RunCommand | None = None
        controller.runEnded.connect(self._on_run_ended)

    @property
    def recording(self) -> bool:
        return bool(self.controller.recording)

    @property
    def busy(self) -> bool:
        return bool(getattr(self.controller, "ending", False))

    def apply(self, command: RunCommand) -> bool:
        """Do `command`; False when the app cannot yet (still getting ready)."""
        if command.kind == "start":
            try:
                self.controller.start_run()
            except ArcXError as exc:
                log.info("demo run start deferred: %s", exc)
                return False
            return True
        if command.kind == "mark":
            self.controller.mark_extract()  # the overlay shows "EXTRACTING marked", as for F9
            return True
        self._label = command if command.outcome is not None else None
        self.controller.end_run(outcome=None)  # labelled once the recorder has closed it
        return True

    def _on_run_ended(self, info: RunInfo) -> None:
        command, self._label = self._label, None
        if command is not None and command.outcome is not None:
            self.controller.label_run(info.run_id, command.outcome, float(command.value or 0.0))


class GameWindow(QWidget):
    """Shows the simulated raid and keeps the demo's runs going.

    Signals:
        frameShown(int): a new frame was painted; its serial number in `LiveRaids`.
        raidStarted(int): a raid began (its index).
        raidEnded(int, str, float): a raid ended: index, outcome, banked value.
        closed(): the player closed the window (the demo then ends: `app.ui.demo`).
    """

    frameShown = pyqtSignal(int)
    raidStarted = pyqtSignal(int)
    raidEnded = pyqtSignal(int, str, float)
    closed = pyqtSignal()

    def __init__(
        self,
        live: LiveRaids,
        runs: DemoRuns | None = None,
        overlay: QWidget | None = None,
        *,
        poll_ms: int = POLL_MS,
    ) -> None:
        super().__init__(None)
        self.live = live
        self.runs = runs
        self.overlay = overlay
        self.director = RunDirector()
        self._image: QImage | None = None
        self._serial = 0
        self.activity = "ArcX advising"
        """what ArcX is doing, for the caption ("ArcX learning: …" while the demo trains)"""
        self.setWindowTitle("ArcX demo: simulated raid")
        self.resize(*WINDOW_SIZE)
        self.setMinimumSize(320, 180 + CAPTION_PX)
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    # ------------------------------------------------------------------ polling
    def poll(self) -> None:
        """Raid events, then the newest frame (repaint), then run commands; overlay → corner."""
        events = self.live.drain_events()
        self.director.feed(events)
        for e in events:
            if e.kind == "started":
                self.raidStarted.emit(e.index)
            elif e.kind == "ended":
                self.raidEnded.emit(e.index, e.outcome or "", float(e.value or 0.0))
        frame, serial = self.live.latest()
        if frame is not None and serial != self._serial:
            self._image = frame_image(frame)
            self._serial = serial
            self.update()
            self.frameShown.emit(serial)
        self._run_commands()
        self.place_overlay()

    def _run_commands(self) -> None:
        if self.runs is None:
            return
        while True:
            command = self.director.next_command(self.runs.recording, self.runs.busy)
            if command is None:
                return
            if not self.runs.apply(command):
                self.director.requeue_start(command)
                return

    def place_overlay(self) -> None:
        overlay = self.overlay
        if overlay is None or not overlay.isVisible() or not self.isVisible():
            return
        g = self.geometry()  # client area, global logical pixels
        target = overlay_corner(g, (overlay.width(), overlay.height()), OVERLAY_MARGIN)
        if overlay.pos() != target:
            overlay.move(target)
            overlay.raise_()

    # ------------------------------------------------------------------ painting
    def caption(self) -> str:
        current = self.director.current
        text = f"Raid {current.index + 1} (seed {current.seed})" if current else "Starting…"
        text += f"  ·  autopilot playing, {self.activity}"
        last = self.director.last_ended
        if last is not None:
            text += f"  ·  last raid: {last.outcome}, {last.value or 0:,.0f}"
        return text

    def set_activity(self, text: str) -> None:
        """What ArcX is doing, shown in the caption."""
        if text != self.activity:
            self.activity = text
            self.update()

    def paintEvent(self, event: QPaintEvent | None) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(12, 12, 14))
        area = QRect(0, 0, self.width(), max(1, self.height() - CAPTION_PX))
        if self._image is not None:
            img = self._image.scaled(
                area.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            x = (area.width() - img.width()) // 2
            y = (area.height() - img.height()) // 2
            p.drawImage(x, y, img)
        else:
            p.setPen(QColor(200, 200, 200))
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "Preparing the encoder…")
        font = QFont()
        font.setPixelSize(14)
        p.setFont(font)
        p.setPen(QColor(220, 220, 220))
        strip = QRect(10, self.height() - CAPTION_PX, self.width() - 20, CAPTION_PX)
        p.drawText(strip, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.caption())
        p.end()

    def moveEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().moveEvent(event)
        self.place_overlay()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.place_overlay()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        self._timer.stop()
        super().closeEvent(event)
        self.closed.emit()
