"""The in-game overlay: a small click-through panel with the EV numbers and the advice.

What it shows is decided by `overlay_view`, a pure function of the overlay's state (mode,
latest `EVEstimate`, risk, recording) → `OverlayView` (texts and colours), so every state
is tested without painting. `OverlayWindow` only paints an `OverlayView` and handles
window flags, placement and the unlock (drag) mode.

Window behaviour: frameless, translucent, always on top, a tool window (no taskbar or
Alt-Tab entry), never takes focus, and click-through (`WindowTransparentForInput`). On
Windows `app.ui.win32` adds WS_EX_TRANSPARENT | WS_EX_LAYERED | WS_EX_NOACTIVATE,
re-asserts topmost every `TOPMOST_INTERVAL_MS` (games steal it) and excludes the window
from screen capture so the encoder never sees the overlay. In unlock mode the window
takes mouse input so the player can drag it; dropping it near a corner snaps there.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from PyQt6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QScreen,
    QShowEvent,
)
from PyQt6.QtWidgets import QApplication, QWidget

from app.core.config import OverlayPlacement, OverlaySettings
from app.core.model.ev import EVEstimate, risk_tau
from app.ui import geometry, win32

log = logging.getLogger(__name__)

# Panel size at scale 1.0, logical pixels.
BASE_WIDTH = 270
BASE_HEIGHT = 142
# Games re-assert their own topmost state; ours is re-asserted this often (Windows only).
TOPMOST_INTERVAL_MS = 2000
# A drop closer than this to a corner (logical px, at the margin) snaps to the corner.
SNAP_DISTANCE = 48

# Colours: chosen for contrast on a dark panel over bright or busy game scenes.
STAY_COLOUR = "#3ddc84"
EXTRACT_COLOUR = "#ff7a45"
CLOSE_CALL_COLOUR = "#ffd24d"
WARMING_COLOUR = "#9fb6cf"
NO_MODEL_COLOUR = "#73a7ff"
CAPTURE_LOST_COLOUR = "#ff4d5e"
IDLE_COLOUR = "#c9d1dc"
TEXT_COLOUR = "#f4f6f8"
MUTED_COLOUR = "#a3adba"
PANEL_COLOUR = QColor(11, 14, 19, 236)
PANEL_BORDER = QColor(255, 255, 255, 40)
REC_COLOUR = "#ff4d4d"


class OverlayMode(Enum):
    """Which kind of message the overlay shows."""

    IDLE = "idle"
    """no run in progress (shown only while positioning the overlay)"""
    NO_MODEL = "no_model"
    """a run is being recorded but there is no trained model yet"""
    WARMING = "warming"
    """a run started; the 4 s history window is filling"""
    LIVE = "live"
    """estimates are coming in"""
    CAPTURE_LOST = "capture_lost"
    """frames stopped arriving (game minimised, monitor changed, device lost)"""


@dataclass(frozen=True)
class SpreadBar:
    """One action's distribution on the band: 10 %–90 % range and the value at τ."""

    label: str
    low: float
    high: float
    value: float
    colour: str


@dataclass(frozen=True)
class OverlayView:
    """Everything the overlay paints, as plain data."""

    headline: str
    """big line: the advice ("STAY", "EXTRACT") or the state ("WARMING UP")"""
    headline_colour: str
    detail: str
    """small line under or beside the headline"""
    risk: str
    """risk chip text, e.g. "NEUTRAL τ0.50" """
    recording: bool
    """show the red REC dot"""
    rows: tuple[tuple[str, str], ...] = ()
    """(label, value) lines: EV stay, EV extract, ΔEV"""
    bars: tuple[SpreadBar, ...] = ()
    """the spread band, one bar per action"""
    dimmed: bool = False
    """values are provisional (warming up): drawn muted"""
    hint: str = ""
    """what the player can do about a state without numbers"""


def format_value(v: float) -> str:
    """Loot value for a glance: 940, 12,450, 124.5k, 1.25M (U+2212 for minus)."""
    if not math.isfinite(v):
        return "—"
    sign = "−" if v < 0 else ""
    a = abs(v)
    if a < 100_000:
        text = f"{a:,.0f}"
    elif a < 1_000_000:
        text = f"{a / 1000:.1f}k"
    else:
        text = f"{a / 1_000_000:.2f}M"
    return sign + text


def format_delta(v: float) -> str:
    """ΔEV with an explicit sign: +310, −1,240."""
    text = format_value(v)
    return text if text.startswith(("−", "—")) else "+" + text


def risk_text(risk: str) -> str:
    try:
        return f"{risk.upper()} τ{risk_tau(risk):.2f}"
    except ValueError:
        return risk.upper()


def overlay_view(
    mode: OverlayMode,
    estimate: EVEstimate | None = None,
    *,
    risk: str = "neutral",
    recording: bool = False,
    message: str = "",
    start_key: str = "F8",
) -> OverlayView:
    """The texts and colours for one state of the overlay.

    estimate: the latest EV tick; used in LIVE (and in WARMING when one is available,
        drawn dimmed). Its own `risk` wins over `risk` when present.
    message: detail for CAPTURE_LOST (the reason the engine gave).
    """
    chip = risk_text(estimate.risk if estimate is not None else risk)
    if mode is OverlayMode.IDLE:
        return OverlayView(
            "ARCX READY",
            IDLE_COLOUR,
            f"press {start_key} to start a run",
            chip,
            recording,
            hint="the overlay shows EV stay / extract during runs",
        )
    if mode is OverlayMode.NO_MODEL:
        return OverlayView(
            "NO MODEL YET",
            NO_MODEL_COLOUR,
            "no model yet — recording",
            chip,
            recording,
            hint="label runs as they end, then Train model…",
        )
    if mode is OverlayMode.CAPTURE_LOST:
        return OverlayView(
            "CAPTURE LOST",
            CAPTURE_LOST_COLOUR,
            message or "no frames from the game — retrying",
            chip,
            recording,
            hint="check Settings ▸ Capture (monitor, region)",
        )
    if estimate is None:  # WARMING, or LIVE before the first tick
        return OverlayView(
            "WARMING UP",
            WARMING_COLOUR,
            "warming up — filling 4 s of history",
            chip,
            recording,
            hint="numbers appear in a few seconds",
        )

    warming = mode is OverlayMode.WARMING or estimate.warming
    rows = (
        ("EV stay", format_value(estimate.ev_stay)),
        ("EV extract", format_value(estimate.ev_extract)),
        ("ΔEV", format_delta(estimate.delta)),
    )
    bars = (
        SpreadBar("stay", *estimate.spread_stay, estimate.ev_stay, STAY_COLOUR),
        SpreadBar("extract", *estimate.spread_extract, estimate.ev_extract, EXTRACT_COLOUR),
    )
    if warming:
        return OverlayView(
            "WARMING UP",
            WARMING_COLOUR,
            f"warming up — leaning {estimate.advice}",
            chip,
            recording,
            rows,
            bars,
            dimmed=True,
        )
    headline = estimate.advice.upper()
    if estimate.close_call:
        colour, detail = CLOSE_CALL_COLOUR, "close call — either is fine"
    elif estimate.advice == "stay":
        colour, detail = STAY_COLOUR, "keep looting"
    else:
        colour, detail = EXTRACT_COLOUR, "head for extraction"
    return OverlayView(headline, colour, detail, chip, recording, rows, bars)


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
        self._mode = OverlayMode.IDLE
        self._estimate: EVEstimate | None = None
        self._risk = "neutral"
        self._recording = False
        self._message = ""
        self._start_key = "F8"
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
    def mode(self) -> OverlayMode:
        return self._mode

    @property
    def unlocked(self) -> bool:
        return self._unlocked

    def view(self) -> OverlayView:
        """What the overlay shows now."""
        return overlay_view(
            self._mode,
            self._estimate,
            risk=self._risk,
            recording=self._recording,
            message=self._message,
            start_key=self._start_key,
        )

    def show_estimate(self, estimate: EVEstimate) -> None:
        """A new EV tick: LIVE (or WARMING while the history window fills)."""
        self._estimate = estimate
        self._risk = estimate.risk
        self._mode = OverlayMode.WARMING if estimate.warming else OverlayMode.LIVE
        self.update()

    def set_mode(self, mode: OverlayMode, message: str = "") -> None:
        """A state without numbers (or WARMING before the first tick)."""
        self._mode = mode
        self._message = message
        if mode in (OverlayMode.IDLE, OverlayMode.NO_MODEL, OverlayMode.CAPTURE_LOST):
            self._estimate = None if mode is not OverlayMode.CAPTURE_LOST else self._estimate
        if mode is OverlayMode.WARMING:
            self._estimate = None
        self.update()

    def set_risk(self, risk: str) -> None:
        self._risk = risk
        self.update()

    def set_recording(self, recording: bool) -> None:
        self._recording = recording
        self.update()

    def set_start_key(self, key: str) -> None:
        self._start_key = key.upper()
        self.update()

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
        self.setWindowOpacity(settings.opacity)
        self.setFixedSize(round(BASE_WIDTH * settings.scale), round(BASE_HEIGHT * settings.scale))
        self.reposition()

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

    def moveEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().moveEvent(event)
        self.geometryChanged.emit(self.window_rect())

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.geometryChanged.emit(self.window_rect())

    def hideEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
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


def _font(px: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(max(6, round(px)))
    f.setBold(bold)
    f.setStyleHint(QFont.StyleHint.SansSerif)
    return f


def _shadow_text(
    p: QPainter, rect: QRectF, flags: Qt.AlignmentFlag, text: str, colour: str
) -> None:
    """Text with a 1 px dark shadow: readable over bright snow or muzzle flashes."""
    p.setPen(QColor(0, 0, 0, 200))
    p.drawText(rect.translated(1, 1), flags, text)
    p.setPen(QColor(colour))
    p.drawText(rect, flags, text)


def paint_view(
    p: QPainter, rect: QRectF, view: OverlayView, scale: float, unlocked: bool = False
) -> None:
    """Paint `view` into `rect` (the whole panel). Shared by the window and the screenshots."""
    s = scale
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    panel = rect.adjusted(1, 1, -1, -1)
    p.setPen(QPen(PANEL_BORDER, 1))
    p.setBrush(QBrush(PANEL_COLOUR))
    p.drawRoundedRect(panel, 10 * s, 10 * s)
    # Accent strip on the left in the headline colour: the advice is readable from the
    # corner of the eye even before the text is.
    accent = QColor(view.headline_colour)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(accent))
    p.drawRoundedRect(
        QRectF(panel.left() + 5 * s, panel.top() + 10 * s, 4 * s, panel.height() - 20 * s),
        2 * s,
        2 * s,
    )

    pad = 16 * s
    left = panel.left() + pad
    width = panel.width() - pad - 12 * s
    top = panel.top() + 8 * s

    # Header: REC dot + risk chip.
    header_h = 16 * s
    p.setFont(_font(11 * s, bold=True))
    if view.recording:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(REC_COLOUR)))
        p.drawEllipse(QPointF(left + 4 * s, top + header_h / 2), 4 * s, 4 * s)
        _shadow_text(
            p,
            QRectF(left + 12 * s, top, 60 * s, header_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            "REC",
            REC_COLOUR,
        )
    fm = QFontMetricsF(p.font())
    chip_w = fm.horizontalAdvance(view.risk) + 12 * s
    chip = QRectF(left + width - chip_w, top, chip_w, header_h)
    p.setPen(QPen(QColor(MUTED_COLOUR), 1))
    p.setBrush(QBrush(QColor(255, 255, 255, 22)))
    p.drawRoundedRect(chip, header_h / 2, header_h / 2)
    _shadow_text(p, chip, Qt.AlignmentFlag.AlignCenter, view.risk, TEXT_COLOUR)
    top += header_h + 3 * s

    # Headline (advice or state) and, right of it, ΔEV. The headline shrinks (never the
    # delta) if the two would touch: long numbers, or a wider font on another system.
    head_h = 30 * s
    delta_text = f"Δ {view.rows[-1][1]}" if view.rows else ""
    delta_font = _font(17 * s, bold=True)
    delta_w = (
        QFontMetricsF(delta_font).horizontalAdvance(delta_text) + 10 * s if delta_text else 0.0
    )
    head_px = 26 * s
    head_w = QFontMetricsF(_font(head_px, bold=True)).horizontalAdvance(view.headline)
    if head_w > width - delta_w:
        head_px = max(12 * s, head_px * (width - delta_w) / head_w)
    p.setFont(_font(head_px, bold=True))
    _shadow_text(
        p,
        QRectF(left, top, width, head_h),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        view.headline,
        view.headline_colour,
    )
    if delta_text:
        p.setFont(delta_font)
        _shadow_text(
            p,
            QRectF(left, top, width, head_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            delta_text,
            view.headline_colour if not view.dimmed else MUTED_COLOUR,
        )
    top += head_h
    p.setFont(_font(12 * s))
    detail_h = 16 * s
    _shadow_text(
        p,
        QRectF(left, top, width, detail_h),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        view.detail,
        MUTED_COLOUR if view.rows else TEXT_COLOUR,
    )
    top += detail_h + 6 * s

    if view.rows:
        _paint_rows(p, view, left, top, width, s)
    elif view.hint:
        p.setFont(_font(11 * s))
        _shadow_text(
            p,
            QRectF(left, top, width, 32 * s),
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
            view.hint,
            MUTED_COLOUR,
        )
    if unlocked:
        p.setPen(QPen(QColor(CLOSE_CALL_COLOUR), max(1.0, 1.5 * s), Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(panel.adjusted(2, 2, -2, -2), 9 * s, 9 * s)
        p.setFont(_font(10 * s))
        _shadow_text(
            p,
            panel.adjusted(0, 0, -10 * s, -4 * s),
            Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight,
            "drag · double-click to lock",
            CLOSE_CALL_COLOUR,
        )


def _paint_rows(
    p: QPainter, view: OverlayView, left: float, top: float, width: float, s: float
) -> None:
    """EV stay / EV extract lines, each with its 10–90 % band on one shared axis."""
    row_h = 19 * s
    label_w = 74 * s
    value_w = 62 * s
    band_left = left + label_w + value_w + 8 * s
    band_w = max(10.0, left + width - band_left)
    lo = min(min(b.low, b.value) for b in view.bars)
    hi = max(max(b.high, b.value) for b in view.bars)
    span = hi - lo if hi > lo else 1.0

    def x_of(v: float) -> float:
        return band_left + (v - lo) / span * band_w

    for i, bar in enumerate(view.bars):
        y = top + i * row_h
        label, value = view.rows[i]
        colour = MUTED_COLOUR if view.dimmed else bar.colour
        p.setFont(_font(12 * s))
        _shadow_text(
            p,
            QRectF(left, y, label_w, row_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            label,
            MUTED_COLOUR,
        )
        p.setFont(_font(15 * s, bold=True))
        _shadow_text(
            p,
            QRectF(left + label_w, y, value_w, row_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            value,
            TEXT_COLOUR if not view.dimmed else MUTED_COLOUR,
        )
        # Band: track, 10–90 % range, tick at the value used for the advice.
        cy = y + row_h / 2
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(255, 255, 255, 28)))
        p.drawRoundedRect(QRectF(band_left, cy - 2 * s, band_w, 4 * s), 2 * s, 2 * s)
        band_colour = QColor(colour)
        band_colour.setAlpha(170)
        p.setBrush(QBrush(band_colour))
        x0, x1 = x_of(bar.low), x_of(bar.high)
        p.drawRoundedRect(QRectF(x0, cy - 5 * s, max(3 * s, x1 - x0), 10 * s), 3 * s, 3 * s)
        p.setPen(QPen(QColor(TEXT_COLOUR if not view.dimmed else MUTED_COLOUR), max(1.5, 2.5 * s)))
        xv = x_of(bar.value)
        p.drawLine(QPointF(xv, cy - 8 * s), QPointF(xv, cy + 8 * s))
    # The band's ends in numbers: the 10 % and 90 % values across both actions.
    y = top + len(view.bars) * row_h
    p.setFont(_font(9 * s))
    axis = QRectF(band_left, y, band_w, 12 * s)
    _shadow_text(
        p,
        axis,
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
        format_value(lo),
        MUTED_COLOUR,
    )
    _shadow_text(
        p,
        axis,
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
        format_value(hi),
        MUTED_COLOUR,
    )
    _shadow_text(
        p,
        QRectF(left, y, label_w + value_w, 12 * s),
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
        "10–90 % range",
        MUTED_COLOUR,
    )


def render_view_image(view: OverlayView, scale: float = 1.0, unlocked: bool = False) -> Any:
    """The overlay panel as a QImage (transparent around the rounded panel)."""
    from PyQt6.QtGui import QImage

    w, h = round(BASE_WIDTH * scale), round(BASE_HEIGHT * scale)
    img = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    paint_view(p, QRectF(QRect(0, 0, w, h)), view, scale, unlocked)
    p.end()
    return img
