"""The overlay window: frameless, translucent, always on top, click-through.

A tool window (no taskbar or Alt-Tab entry) that never takes focus and lets clicks through
(`WindowTransparentForInput`). On Windows `app.ui.win32` adds WS_EX_TRANSPARENT |
WS_EX_LAYERED | WS_EX_NOACTIVATE, re-asserts topmost every `TOPMOST_INTERVAL_MS` (games
steal it) and excludes the window from screen capture so the encoder never sees the
overlay. In unlock mode the window takes mouse input so the player can drag it; dropping
it near a corner snaps there. What it shows is its `OverlayState`'s view, painted by
`painter.paint_view`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import Any

from PyQt6.QtCore import QPoint, QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import (
    QHideEvent,
    QMouseEvent,
    QMoveEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QScreen,
    QShowEvent,
)
from PyQt6.QtWidgets import QApplication, QWidget

from app.core.config import OverlayPlacement, OverlaySettings
from app.core.model.ev import EVEstimate
from app.ui import geometry, win32
from app.ui.overlay.painter import paint_view, panel_size
from app.ui.overlay.view import OverlayMode, OverlayState, OverlayView, min_readable_opacity

READABLE_OPACITY = min_readable_opacity()
"""the window never draws fainter than this: every text keeps 4.5:1 contrast over white"""

log = logging.getLogger(__name__)

# Games re-assert their own topmost state; ours is re-asserted this often (Windows only).
TOPMOST_INTERVAL_MS = 2000
# A drop closer than this to a corner (logical px, at the margin) snaps to the corner.
SNAP_DISTANCE = 48


class OverlayWindow(QWidget):
    """The click-through overlay.

    Signals:
        placementChanged(str, object): the player dropped the overlay in unlock mode;
            the screen's name and the new `OverlayPlacement` (to save per monitor).
        geometryChanged(object): the window moved or resized; its `geometry.Rect` in
            global logical pixels (the engine masks that area out of the capture).
    """

    placementChanged = pyqtSignal(str, object)
    geometryChanged = pyqtSignal(object)

    def __init__(
        self, settings: OverlaySettings | None = None, *, user32: Any | None = None
    ) -> None:
        super().__init__(None)
        self._settings = settings or OverlaySettings()
        self._state = OverlayState()
        self._unlocked = False
        self._drag_offset: QPoint | None = None
        self._screen: QScreen | None = None
        self._user32 = user32
        self._native: win32.Win32Window | None = None
        self.setWindowTitle("ArcX overlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground, True)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._apply_flags()
        self._topmost_timer = QTimer(self)
        self._topmost_timer.setInterval(TOPMOST_INTERVAL_MS)
        self._topmost_timer.timeout.connect(self._reassert_topmost)
        self.apply_settings(self._settings)

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> OverlayState:
        """What the overlay knows now (mode, latest estimate, risk, recording, …)."""
        return self._state

    @property
    def mode(self) -> OverlayMode:
        return self._state.mode

    @property
    def unlocked(self) -> bool:
        return self._unlocked

    def view(self) -> OverlayView:
        """What the overlay shows now."""
        return self._state.view()

    def _set_state(self, state: OverlayState) -> None:
        self._state = state
        self.update()

    def show_estimate(self, estimate: EVEstimate) -> None:
        """A new EV tick: LIVE (or WARMING while the history window fills)."""
        self._set_state(self._state.with_estimate(estimate))

    def set_mode(self, mode: OverlayMode, message: str = "") -> None:
        """A state without numbers (or WARMING before the first tick)."""
        self._set_state(self._state.with_mode(mode, message))

    def set_risk(self, risk: str) -> None:
        self._set_state(replace(self._state, risk=risk))

    def set_recording(self, recording: bool) -> None:
        self._set_state(replace(self._state, recording=recording))

    def set_banner(self, text: str) -> None:
        """Short feedback instead of the detail line ("" clears it)."""
        self._set_state(replace(self._state, banner=text))

    def set_learning(self, text: str, headline: str = "LEARNING…") -> None:
        """How far the model being trained has got, under `headline`; "" when none is
        (the demo: `app.ui.demo`)."""
        self._set_state(replace(self._state, learning=text, learning_headline=headline))

    def set_mark_key(self, key: str) -> None:
        self._set_state(replace(self._state, mark_key=key.upper()))

    def set_start_key(self, key: str) -> None:
        self._set_state(replace(self._state, start_key=key.upper()))

    # ------------------------------------------------------------------ window
    def window_flags_for(self, unlocked: bool) -> Qt.WindowType:
        flags = (
            Qt.WindowType.Tool
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowDoesNotAcceptFocus
            | Qt.WindowType.NoDropShadowWindowHint
        )
        if not unlocked:
            flags |= Qt.WindowType.WindowTransparentForInput
        return flags

    def _apply_flags(self) -> None:
        visible = self.isVisible()
        self.setWindowFlags(self.window_flags_for(self._unlocked))
        if visible:  # setWindowFlags hides the window
            self.show()

    def set_unlocked(self, unlocked: bool) -> None:
        """Unlock: the overlay takes the mouse so it can be dragged. Lock: click-through again."""
        if unlocked == self._unlocked:
            return
        self._unlocked = unlocked
        self._apply_flags()
        if self._native is not None:
            self._native.set_click_through(not unlocked)
        self.update()

    def apply_settings(self, settings: OverlaySettings, screen: QScreen | None = None) -> None:
        """Opacity, scale and placement (for `screen`, default: the current one)."""
        self._settings = settings
        if screen is not None:
            self._screen = screen
        self.setWindowOpacity(max(settings.opacity, READABLE_OPACITY))
        self._state = replace(
            self._state, compact=settings.layout == "compact", unit=settings.unit.strip()
        )
        self.setFixedSize(*panel_size(self._state.compact, settings.scale))
        self.reposition()
        self.update()

    def target_screen(self) -> QScreen | None:
        return self._screen or self.screen() or QApplication.primaryScreen()

    def placement(self) -> OverlayPlacement:
        screen = self.target_screen()
        name = screen.name() if screen is not None else ""
        return self._settings.placements.get(name, OverlayPlacement())

    def reposition(self) -> None:
        screen = self.target_screen()
        if screen is None:
            return
        avail = screen.availableGeometry()
        place = self.placement()
        x, y = geometry.overlay_position(
            place.corner,
            geometry.Rect(avail.x(), avail.y(), avail.width(), avail.height()),
            (self.width(), self.height()),
            self._settings.margin,
            (place.x, place.y),
        )
        self.move(x, y)

    def showEvent(self, event: QShowEvent | None) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if win32.IS_WINDOWS or self._user32 is not None:
            self._native = win32.Win32Window(int(self.winId()), self._user32)
            self._native.set_click_through(not self._unlocked)
            self._native.exclude_from_capture()
            self._native.assert_topmost()
            self._topmost_timer.start()

    def window_rect(self) -> geometry.Rect:
        g = self.frameGeometry()
        return geometry.Rect(g.x(), g.y(), g.width(), g.height())

    def moveEvent(self, event: QMoveEvent | None) -> None:  # noqa: N802 (Qt override)
        super().moveEvent(event)
        self.geometryChanged.emit(self.window_rect())

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.geometryChanged.emit(self.window_rect())

    def hideEvent(self, event: QHideEvent | None) -> None:  # noqa: N802 (Qt override)
        self._topmost_timer.stop()
        super().hideEvent(event)

    def _reassert_topmost(self) -> None:
        if self._native is not None and self.isVisible():
            self._native.assert_topmost()

    # ------------------------------------------------------------------ dragging (unlock mode)
    def mousePressEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if event is not None and self._unlocked and event.button() == Qt.MouseButton.LeftButton:
            self._drag_offset = event.globalPosition().toPoint() - self.frameGeometry().topLeft()
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if event is not None and self._drag_offset is not None:
            self.move(event.globalPosition().toPoint() - self._drag_offset)
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if self._drag_offset is None:
            return
        self._drag_offset = None
        self.drop_at(self.pos())

    def mouseDoubleClickEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if self._unlocked:
            self.set_unlocked(False)

    def drop_at(self, pos: QPoint) -> OverlayPlacement:
        """Placement for an overlay dropped at `pos` (global): snap near a corner, else custom."""
        screen = QApplication.screenAt(pos + QPoint(self.width() // 2, self.height() // 2))
        screen = screen or self.target_screen()
        assert screen is not None
        self._screen = screen
        avail = screen.availableGeometry()
        rect = geometry.Rect(avail.x(), avail.y(), avail.width(), avail.height())
        size = (self.width(), self.height())
        corner = geometry.nearest_corner((pos.x(), pos.y()), size, rect)
        snap = geometry.overlay_position(corner, rect, size, self._settings.margin)
        if math.dist(snap, (pos.x(), pos.y())) <= SNAP_DISTANCE:
            place = OverlayPlacement(corner=corner)
        else:
            clamped = geometry.clamp_into(geometry.Rect(pos.x(), pos.y(), *size), rect)
            place = OverlayPlacement(
                corner="custom", x=clamped.left - rect.left, y=clamped.top - rect.top
            )
        placements = dict(self._settings.placements)
        placements[screen.name()] = place
        self._settings = self._settings.model_copy(update={"placements": placements})
        self.reposition()
        self.placementChanged.emit(screen.name(), place)
        return place

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent | None) -> None:  # noqa: N802
        p = QPainter(self)
        try:
            paint_view(p, QRectF(self.rect()), self.view(), self._settings.scale, self._unlocked)
        finally:
            p.end()
