"""Painting one `OverlayView` onto a panel: the window and the screenshots share this.

Every size is a field of `Layout`, in logical pixels at scale 1.0; the painter multiplies
each by the overlay's scale, except the few marked "not scaled" (hairlines and minimums,
which stay crisp and readable when the panel is small). The panel, top to bottom:

    ┌──────────────────────────────────────────────┐
    │▌ ● REC                        (NEUTRAL τ0.50) │  header: REC dot, risk chip
    │▌ STAY                              Δ +5,500   │  headline, Δ right-aligned
    │▌ keep looting                                 │  detail
    │▌ EV stay        18,400   ───────────[==|=]──  │  one row per action: label,
    │▌ EV extract     12,900   [|]──────────────── │  value, band on a shared axis
    │▌ 10–90 % range           12,708      19,168  │  axis ends
    └──────────────────────────────────────────────┘
    (states without numbers draw `OverlayView.hint` where the rows go)
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import QPointF, QRect, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen

from app.ui.overlay.view import (
    AXIS_CAPTION,
    MUTED_COLOUR,
    REC_COLOUR,
    TEXT_COLOUR,
    UNLOCK_COLOUR,
    OverlayView,
)

# The panel's own chrome, painted the same in every state.
PANEL_COLOUR = QColor(11, 14, 19, 236)
PANEL_BORDER = QColor(255, 255, 255, 40)
SHADOW_COLOUR = QColor(0, 0, 0, 200)
"""the text shadow: readable over bright snow or muzzle flashes"""
CHIP_FILL = QColor(255, 255, 255, 22)
TRACK_COLOUR = QColor(255, 255, 255, 28)
"""a band's full-width track, behind its 10–90 % range"""
BAND_ALPHA = 170
"""opacity (0–255) of a band's 10–90 % range, drawn in the action's colour"""
UNLOCK_TEXT = "drag · double-click to lock"


@dataclass(frozen=True)
class Layout:
    """Sizes of the overlay panel, in logical px at scale 1.0 unless marked "not scaled"."""

    # Panel
    width: int = 270
    """panel width (the window's size is this × scale, rounded)"""
    height: int = 142
    """panel height (the detailed panel)"""
    compact_height: int = 88
    """the compact panel's height: header, the big line and the hint line"""
    panel_inset: float = 1
    """the rounded panel sits this far inside the window, so its border is not clipped
    (not scaled)"""
    border_width: float = 1
    """panel border and risk chip outline (not scaled)"""
    corner_radius: float = 10
    """the panel's rounded corners"""
    shadow_offset: float = 1
    """text shadow offset, right and down (not scaled)"""
    min_font_px: int = 6
    """no font is drawn smaller than this (not scaled)"""

    # Accent strip: a bar in the headline colour along the left edge, so the advice reads
    # from the corner of the eye before the text does.
    accent_x: float = 5
    """strip's left edge, from the panel's left"""
    accent_inset: float = 10
    """strip's gap to the panel's top and bottom"""
    accent_width: float = 4
    """strip width"""
    accent_radius: float = 2
    """strip corner radius"""

    # Content box
    pad_left: float = 16
    """text starts this far from the panel's left (right of the accent strip)"""
    pad_right: float = 12
    """content ends this far from the panel's right edge"""
    pad_top: float = 8
    """the header starts this far below the panel's top"""

    # Header: REC dot and text on the left, risk chip on the right
    header_height: float = 16
    """the header line; the chip is this tall and fully rounded"""
    header_font: float = 11
    """REC and the risk chip (bold)"""
    rec_dot_radius: float = 4
    """the dot's left edge is at the content's left"""
    rec_text_x: float = 12
    """REC text's left, from the content's left"""
    rec_text_width: float = 60
    """room for the REC text"""
    chip_padding: float = 12
    """the chip is its text's width plus this (both sides together)"""
    header_gap: float = 3
    """space under the header"""

    # Headline (advice or state) and Δ on its right
    headline_height: float = 30
    """the headline line (Δ is centred in it too)"""
    headline_font: float = 26
    """headline size (bold) when it fits next to Δ"""
    headline_min_font: float = 12
    """the headline shrinks to make room for Δ, down to this (Δ never shrinks)"""
    delta_font: float = 17
    """Δ size (bold)"""
    delta_gap: float = 10
    """least space between the headline and Δ"""

    # Detail line, and the hint that replaces the rows in states without numbers
    detail_font: float = 12
    """detail line size"""
    detail_height: float = 16
    """the detail line"""
    detail_gap: float = 6
    """space under the detail line"""
    hint_font: float = 11
    """hint size (wrapped)"""
    hint_height: float = 32
    """room for two wrapped lines"""

    # Rows: one per action, "label  value  band", then the axis line
    row_height: float = 19
    """one action's row"""
    row_label_width: float = 80
    """"EV stay" / "EV extract", left-aligned in this width"""
    row_label_font: float = 12
    """row label size"""
    row_value_width: float = 62
    """values are right-aligned in this width"""
    row_value_font: float = 15
    """row values (bold)"""
    band_gap: float = 8
    """space between a value and its band"""
    band_min_width: float = 10
    """the band keeps at least this width on a tiny panel (not scaled)"""
    track_height: float = 4
    """the band's full-width track, centred on the row"""
    track_radius: float = 2
    """track corner radius"""
    range_height: float = 10
    """the 10–90 % range bar"""
    range_min_width: float = 3
    """a narrower range is drawn this wide, so it stays visible"""
    range_radius: float = 3
    """range bar corner radius"""
    tick_length: float = 16
    """the tick at the value the advice used, centred on the band"""
    tick_width: float = 2.5
    """tick pen width"""
    tick_min_width: float = 1.5
    """the tick stays at least this wide on a small panel (not scaled)"""
    axis_font: float = 11
    """axis numbers and caption size (11 px: the least that reads at 1080p)"""
    axis_height: float = 14
    """the axis line under the rows"""

    # Unlock (drag) mode: dashed outline and a hint in the bottom-right corner
    unlock_inset: float = 2
    """outline's gap inside the panel (not scaled)"""
    unlock_radius: float = 9
    """outline corner radius"""
    unlock_pen_width: float = 1.5
    """outline pen width (dashed)"""
    unlock_pen_min_width: float = 1.0
    """the outline stays at least this wide on a small panel (not scaled)"""
    unlock_font: float = 11
    """"drag · double-click to lock" size"""
    unlock_text_right: float = 10
    """hint's gap to the panel's right edge"""
    unlock_text_bottom: float = 4
    """hint's gap to the panel's bottom edge"""


LAYOUT = Layout()
BASE_WIDTH = LAYOUT.width
"""panel width at scale 1.0, logical px"""
BASE_HEIGHT = LAYOUT.height
"""panel height at scale 1.0, logical px (the detailed panel)"""
COMPACT_HEIGHT = LAYOUT.compact_height
"""the compact panel's height at scale 1.0, logical px"""


def panel_size(compact: bool, scale: float = 1.0, layout: Layout = LAYOUT) -> tuple[int, int]:
    """(width, height) of the panel in logical px at `scale`."""
    h = layout.compact_height if compact else layout.height
    return round(layout.width * scale), round(h * scale)


def _font(px: float, bold: bool = False, layout: Layout = LAYOUT) -> QFont:
    f = QFont()
    f.setPixelSize(max(layout.min_font_px, round(px)))
    f.setBold(bold)
    f.setStyleHint(QFont.StyleHint.SansSerif)
    return f


def elide(text: str, font: QFont, width: float) -> str:
    """`text` on one line of `width` px: whole, or cut at the end with "…"."""
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width)


def fit_wrapped(text: str, font: QFont, rect: QRectF) -> str:
    """`text` word-wrapped into `rect`: whole, or cut at a word with "…" so that no
    line is clipped mid-word."""
    fm = QFontMetricsF(font)
    flags = int(Qt.TextFlag.TextWordWrap)

    def fits(t: str) -> bool:
        return fm.boundingRect(rect, flags, t).height() <= rect.height() + 0.5

    if fits(text):
        return text
    words = text.split()
    while words:
        words.pop()
        shorter = " ".join(words).rstrip(",;:—-·") + "…"
        if fits(shorter):
            return shorter
    return elide(text, font, rect.width())


def _shadow_text(
    p: QPainter,
    rect: QRectF,
    flags: Qt.AlignmentFlag,
    text: str,
    colour: str,
    layout: Layout = LAYOUT,
) -> None:
    """Text with a dark shadow: readable over bright snow or muzzle flashes."""
    p.setPen(SHADOW_COLOUR)
    p.drawText(rect.translated(layout.shadow_offset, layout.shadow_offset), flags, text)
    p.setPen(QColor(colour))
    p.drawText(rect, flags, text)


def paint_view(
    p: QPainter,
    rect: QRectF,
    view: OverlayView,
    scale: float,
    unlocked: bool = False,
    *,
    layout: Layout = LAYOUT,
) -> None:
    """Paint `view` into `rect` (the whole panel). Shared by the window and the screenshots."""
    s, L = scale, layout
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    inset = L.panel_inset
    panel = rect.adjusted(inset, inset, -inset, -inset)
    p.setPen(QPen(PANEL_BORDER, L.border_width))
    p.setBrush(QBrush(PANEL_COLOUR))
    p.drawRoundedRect(panel, L.corner_radius * s, L.corner_radius * s)
    # Accent strip on the left in the headline colour.
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor(view.headline_colour)))
    p.drawRoundedRect(
        QRectF(
            panel.left() + L.accent_x * s,
            panel.top() + L.accent_inset * s,
            L.accent_width * s,
            panel.height() - 2 * L.accent_inset * s,
        ),
        L.accent_radius * s,
        L.accent_radius * s,
    )

    pad = L.pad_left * s
    left = panel.left() + pad
    width = panel.width() - pad - L.pad_right * s
    top = panel.top() + L.pad_top * s

    # Header: REC dot + risk chip.
    header_h = L.header_height * s
    p.setFont(_font(L.header_font * s, bold=True, layout=L))
    if view.recording:
        r = L.rec_dot_radius * s
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(REC_COLOUR)))
        p.drawEllipse(QPointF(left + r, top + header_h / 2), r, r)
        _shadow_text(
            p,
            QRectF(left + L.rec_text_x * s, top, L.rec_text_width * s, header_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            "REC",
            REC_COLOUR,
            L,
        )
    fm = QFontMetricsF(p.font())
    chip_w = fm.horizontalAdvance(view.risk) + L.chip_padding * s
    chip = QRectF(left + width - chip_w, top, chip_w, header_h)
    p.setPen(QPen(QColor(MUTED_COLOUR), L.border_width))
    p.setBrush(QBrush(CHIP_FILL))
    p.drawRoundedRect(chip, header_h / 2, header_h / 2)
    _shadow_text(p, chip, Qt.AlignmentFlag.AlignCenter, view.risk, TEXT_COLOUR, L)
    top += header_h + L.header_gap * s

    # Headline (advice or state) and, right of it, Δ. The headline shrinks (never the
    # delta) if the two would touch: long numbers, or a wider font on another system.
    head_h = L.headline_height * s
    delta_font = _font(L.delta_font * s, bold=True, layout=L)
    delta_w = (
        QFontMetricsF(delta_font).horizontalAdvance(view.delta) + L.delta_gap * s
        if view.delta
        else 0.0
    )
    head_px = L.headline_font * s
    head_w = QFontMetricsF(_font(head_px, bold=True, layout=L)).horizontalAdvance(view.headline)
    if head_w > width - delta_w:
        head_px = max(L.headline_min_font * s, head_px * (width - delta_w) / head_w)
    p.setFont(_font(head_px, bold=True, layout=L))
    head = QRectF(left, top, width, head_h)
    _shadow_text(
        p,
        head,
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        view.headline,
        view.headline_colour,
        L,
    )
    if view.delta:
        p.setFont(delta_font)
        _shadow_text(
            p,
            head,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            view.delta,
            view.delta_colour,
            L,
        )
    top += head_h
    p.setFont(_font(L.detail_font * s, layout=L))
    detail_h = L.detail_height * s
    detail_text, detail_colour = view.detail_line
    _shadow_text(
        p,
        QRectF(left, top, width, detail_h),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        elide(detail_text, p.font(), width),
        detail_colour,
        L,
    )
    top += detail_h + L.detail_gap * s

    if view.compact:
        pass  # header, the big line and the hint line: nothing more
    elif view.rows:
        _paint_rows(p, view, left, top, width, s, L)
    elif view.hint:
        p.setFont(_font(L.hint_font * s, layout=L))
        hint_rect = QRectF(left, top, width, L.hint_height * s)
        _shadow_text(
            p,
            hint_rect,
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
            fit_wrapped(view.hint, p.font(), hint_rect),
            MUTED_COLOUR,
            L,
        )
    if unlocked:
        pen_w = max(L.unlock_pen_min_width, L.unlock_pen_width * s)
        p.setPen(QPen(QColor(UNLOCK_COLOUR), pen_w, Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        i = L.unlock_inset
        p.drawRoundedRect(panel.adjusted(i, i, -i, -i), L.unlock_radius * s, L.unlock_radius * s)
        p.setFont(_font(L.unlock_font * s, layout=L))
        _shadow_text(
            p,
            panel.adjusted(0, 0, -L.unlock_text_right * s, -L.unlock_text_bottom * s),
            Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight,
            UNLOCK_TEXT,
            UNLOCK_COLOUR,
            L,
        )


def _paint_rows(
    p: QPainter,
    view: OverlayView,
    left: float,
    top: float,
    width: float,
    s: float,
    L: Layout,  # noqa: N803 (the layout reads as L throughout the painter)
) -> None:
    """EV stay / EV extract lines, each with its 10–90 % band on one shared axis."""
    axis = view.axis
    assert axis is not None  # rows come with bars
    row_h = L.row_height * s
    label_w = L.row_label_width * s
    value_w = L.row_value_width * s
    band_left = left + label_w + value_w + L.band_gap * s
    band_w = max(L.band_min_width, left + width - band_left)

    def x_of(v: float) -> float:
        return band_left + axis.fraction(v) * band_w

    for i, ((label, value), bar) in enumerate(zip(view.rows, view.bars, strict=True)):
        y = top + i * row_h
        p.setFont(_font(L.row_label_font * s, layout=L))
        _shadow_text(
            p,
            QRectF(left, y, label_w, row_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            label,
            MUTED_COLOUR,
            L,
        )
        p.setFont(_font(L.row_value_font * s, bold=True, layout=L))
        _shadow_text(
            p,
            QRectF(left + label_w, y, value_w, row_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            value,
            view.value_colour,
            L,
        )
        # Band: track, 10–90 % range, tick at the value used for the advice.
        cy = y + row_h / 2
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(TRACK_COLOUR))
        p.drawRoundedRect(
            QRectF(band_left, cy - L.track_height / 2 * s, band_w, L.track_height * s),
            L.track_radius * s,
            L.track_radius * s,
        )
        band_colour = QColor(view.bar_colour(bar))
        band_colour.setAlpha(BAND_ALPHA)
        p.setBrush(QBrush(band_colour))
        x0, x1 = x_of(bar.low), x_of(bar.high)
        p.drawRoundedRect(
            QRectF(
                x0,
                cy - L.range_height / 2 * s,
                max(L.range_min_width * s, x1 - x0),
                L.range_height * s,
            ),
            L.range_radius * s,
            L.range_radius * s,
        )
        p.setPen(QPen(QColor(view.value_colour), max(L.tick_min_width, L.tick_width * s)))
        xv = x_of(bar.value)
        half = L.tick_length / 2 * s
        p.drawLine(QPointF(xv, cy - half), QPointF(xv, cy + half))
    # The band's ends in numbers: the 10 % and 90 % values across both actions.
    y = top + len(view.bars) * row_h
    axis_h = L.axis_height * s
    p.setFont(_font(L.axis_font * s, layout=L))
    axis_rect = QRectF(band_left, y, band_w, axis_h)
    top_left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
    _shadow_text(p, axis_rect, top_left, axis.low_text, MUTED_COLOUR, L)
    _shadow_text(
        p,
        axis_rect,
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
        axis.high_text,
        MUTED_COLOUR,
        L,
    )
    _shadow_text(
        p, QRectF(left, y, label_w + value_w, axis_h), top_left, AXIS_CAPTION, MUTED_COLOUR, L
    )


def render_view_image(
    view: OverlayView, scale: float = 1.0, unlocked: bool = False, *, layout: Layout = LAYOUT
) -> QImage:
    """The overlay panel as a QImage (transparent around the rounded panel)."""
    w, h = panel_size(view.compact, scale, layout)
    img = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    try:
        paint_view(p, QRectF(QRect(0, 0, w, h)), view, scale, unlocked, layout=layout)
    finally:
        p.end()
    return img
