"""The region picker: freeze one screen and let the player drag the capture rectangle.

A full-screen frameless window on the chosen monitor shows a screenshot taken when it
opened (so the game's motion does not get in the way), dimmed except for the selection.
Drag to select, drag again to redo, Enter or double-click to accept, W for the whole
monitor, Esc to cancel. The maths (drag → physical-pixel region, clipped, min size) is in
`app.ui.geometry`; the result is an `app.core.config.Region` or None (whole monitor).
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import QPoint, QRect, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QScreen,
)
from PyQt6.QtWidgets import QWidget

from app.core.config import Region
from app.ui import geometry

log = logging.getLogger(__name__)

HINT = "Drag the game area · Enter or double-click to accept · W whole monitor · Esc cancel"


class RegionPicker(QWidget):
    """Full-screen rectangle picker over a frozen screenshot.

    Signals:
        picked(object): the chosen `Region` (physical pixels, relative to the monitor),
            or None for the whole monitor.
        cancelled(): the player pressed Esc or closed the picker.
    """

    picked = pyqtSignal(object)
    cancelled = pyqtSignal()

    def __init__(self, screen: QScreen | None = None, initial: Region | None = None) -> None:
        super().__init__(None)
        screen = screen or QGuiApplication.primaryScreen()
        assert screen is not None
        self._screen = screen
        self._shot: QPixmap = screen.grabWindow(0)  # type: ignore[arg-type]  # 0: the whole screen
        self._start: QPoint | None = None
        self._end: QPoint | None = None
        self._done = False
        dpr = self.dpr
        if initial is not None:
            r = geometry.to_logical(
                geometry.Rect(initial.left, initial.top, initial.width, initial.height), dpr
            )
            self._start, self._end = QPoint(r.left, r.top), QPoint(r.right, r.bottom)
        self.setWindowTitle("ArcX — pick the capture region")
        self.setWindowFlags(
            Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.Tool
        )
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMouseTracking(True)
        self.setGeometry(screen.geometry())

    @property
    def dpr(self) -> float:
        return float(self._screen.devicePixelRatio())

    def selection(self) -> geometry.Rect | None:
        """The current selection in logical pixels relative to the screen."""
        if self._start is None or self._end is None:
            return None
        return geometry.rect_from_points(
            (self._start.x(), self._start.y()), (self._end.x(), self._end.y())
        )

    def region(self) -> Region | None:
        """The selection as a capture region (physical pixels); None when too small."""
        if self._start is None or self._end is None:
            return None
        size = self._screen.geometry().size()
        r = geometry.selection_to_region(
            (self._start.x(), self._start.y()),
            (self._end.x(), self._end.y()),
            (size.width(), size.height()),
            self.dpr,
        )
        if r is None:
            return None
        return Region(left=r.left, top=r.top, width=r.width, height=r.height)

    # ---------------------------------------------------------------- results
    def accept(self) -> None:
        region = self.region()
        if region is None:
            return  # nothing (or a click) selected: keep picking
        self._finish()
        self.picked.emit(region)

    def accept_whole_monitor(self) -> None:
        self._finish()
        self.picked.emit(None)

    def cancel(self) -> None:
        if not self._done:
            self._finish()
            self.cancelled.emit()

    def _finish(self) -> None:
        self._done = True
        self.close()

    def closeEvent(self, event: object) -> None:  # noqa: N802 (Qt override)
        if not self._done:
            self._done = True
            self.cancelled.emit()

    # ---------------------------------------------------------------- input
    def mousePressEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if event is not None and event.button() == Qt.MouseButton.LeftButton:
            self._start = self._end = event.position().toPoint()
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if (
            event is not None
            and self._start is not None
            and event.buttons() & Qt.MouseButton.LeftButton
        ):
            self._end = event.position().toPoint()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if event is not None and self._start is not None:
            self._end = event.position().toPoint()
            self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        self.accept()

    def keyPressEvent(self, event: QKeyEvent | None) -> None:  # noqa: N802
        if event is None:
            return
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
        elif key == Qt.Key.Key_Escape:
            self.cancel()
        elif key == Qt.Key.Key_W:
            self.accept_whole_monitor()

    # ---------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent | None) -> None:  # noqa: N802
        p = QPainter(self)
        full = self.rect()
        p.drawPixmap(full, self._shot)
        p.fillRect(full, QColor(0, 0, 0, 130))
        sel = self.selection()
        if sel is not None and not sel.empty:
            rect = QRect(sel.left, sel.top, sel.width, sel.height)
            # The selected area undimmed: redraw that part of the screenshot.
            dpr = self._shot.devicePixelRatio() or 1.0
            src = QRectF(rect.x() * dpr, rect.y() * dpr, rect.width() * dpr, rect.height() * dpr)
            p.drawPixmap(QRectF(rect), self._shot, src)
            p.setPen(QPen(QColor("#f2a93b"), 2))
            p.drawRect(rect.adjusted(0, 0, -1, -1))
            region = self.region()
            label = f"{region.width} × {region.height} px" if region else "too small"
            self._label(p, rect.bottomLeft() + QPoint(0, 6), label)
        self._label(p, QPoint(full.width() // 2 - 300, 24), HINT)
        p.end()

    def _label(self, p: QPainter, at: QPoint, text: str) -> None:
        font = QFont()
        font.setPixelSize(15)
        p.setFont(font)
        metrics = p.fontMetrics()
        box = metrics.boundingRect(text).adjusted(-8, -5, 8, 5)
        box.moveTopLeft(at)
        p.fillRect(box, QColor(15, 18, 24, 220))
        p.setPen(QColor("white"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
