"""Icons: the files in `resources/icons/` when they exist, a drawn fallback otherwise.

The tray icon has three states (idle, recording, no model yet). The fallback draws each
with QPainter so the app never shows a blank tray slot, whatever the packaging shipped.
"""

from __future__ import annotations

import logging
from enum import Enum

from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QIcon, QImage, QPainter, QPainterPath, QPen, QPixmap

from app.core import paths

log = logging.getLogger(__name__)

# Sizes drawn for the fallback icon (the tray picks the one it needs).
_SIZES = (16, 20, 24, 32, 48, 64, 128, 256)

ACCENT = QColor("#f2a93b")  # ArcX amber
DARK = QColor("#15181d")
RECORDING_RED = QColor("#ff4d4d")
NO_MODEL_GREY = QColor("#8b93a1")


class TrayState(Enum):
    """What the tray icon tells at a glance."""

    IDLE = "idle"
    RECORDING = "recording"
    NO_MODEL = "nomodel"


def _icon_file(name: str) -> QIcon | None:
    folder = paths.resources_dir() / "icons"
    for ext in (".svg", ".png"):
        path = folder / f"{name}{ext}"
        if path.is_file():
            icon = QIcon(str(path))
            if not icon.isNull():
                return icon
    return None


def draw_icon_image(state: TrayState | None, size: int) -> QImage:
    """The fallback icon: an amber X on a dark rounded square, with a state badge."""
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(DARK))
    p.drawRoundedRect(QRectF(0, 0, s, s), s * 0.22, s * 0.22)
    colour = NO_MODEL_GREY if state is TrayState.NO_MODEL else ACCENT
    pen = QPen(colour, max(1.5, s * 0.14), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    m = s * 0.27
    p.drawLine(QPointF(m, m), QPointF(s - m, s - m))
    p.drawLine(QPointF(s - m, m), QPointF(m, s - m))
    if state is TrayState.RECORDING:
        r = s * 0.2
        p.setPen(QPen(DARK, max(1.0, s * 0.05)))
        p.setBrush(QBrush(RECORDING_RED))
        p.drawEllipse(QPointF(s - r - s * 0.04, s - r - s * 0.04), r, r)
    elif state is TrayState.NO_MODEL and size >= 20:
        p.setPen(QPen(QColor("white")))
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(8, int(s * 0.38)))
        p.setFont(font)
        badge = QRectF(s * 0.5, s * 0.5, s * 0.5, s * 0.5)
        path = QPainterPath()
        path.addEllipse(badge.adjusted(s * 0.02, s * 0.02, -s * 0.02, -s * 0.02))
        p.fillPath(path, QBrush(QColor("#3b6fd8")))
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, "?")
    p.end()
    return img


def drawn_icon(state: TrayState | None) -> QIcon:
    icon = QIcon()
    for size in _SIZES:
        icon.addPixmap(QPixmap.fromImage(draw_icon_image(state, size)))
    return icon


def tray_icon(state: TrayState) -> QIcon:
    """`resources/icons/tray-<state>.png`, or the drawn fallback."""
    icon = _icon_file(f"tray-{state.value}")
    if icon is None:
        log.debug("tray icon file for %s missing; drawing one", state.value)
        return drawn_icon(state)
    return icon


def app_icon() -> QIcon:
    """`resources/icons/arcx.svg` (or .png), or the drawn fallback."""
    return _icon_file("arcx") or drawn_icon(None)


def icon_image(icon: QIcon, size: int = 64) -> QImage:
    """One size of an icon as an image (pystray needs a PIL image made from this)."""
    return icon.pixmap(size, size).toImage()
