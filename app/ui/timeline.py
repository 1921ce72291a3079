"""The runs view's picture of one run: EV of staying and of extracting over time, the
stretches where the advice said EXTRACT (shaded), the player's mark and the outcome.
Draws an `app.core.timeline.Timeline`; decides nothing."""

from __future__ import annotations

import math

from PyQt6.QtCore import QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PyQt6.QtWidgets import QSizePolicy, QWidget

from app.core.timeline import Timeline, clock
from app.ui.overlay.view import format_amount, format_value

STAY_LINE = QColor("#2f9e5a")
EXTRACT_LINE = QColor("#e06a2c")
EXTRACT_SHADE = QColor(224, 106, 44, 40)
MARK_COLOUR = QColor("#3a6fd8")
DIED_COLOUR = QColor("#c0392b")
EMPTY_TEXT = "Select a run to see its timeline."


class TimelineChart(QWidget):
    """One run's timeline (or a hint when there is none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline: Timeline | None = None
        self.message = EMPTY_TEXT
        self.setMinimumSize(320, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(720, 180)

    def set_timeline(self, timeline: Timeline | None, message: str = EMPTY_TEXT) -> None:
        self.timeline = timeline
        self.message = message
        self.update()

    def paintEvent(self, event: QPaintEvent | None) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        fm = p.fontMetrics()
        text = pal.text().color()
        tl = self.timeline
        if tl is None or len(tl.t) == 0:
            p.setPen(text)
            p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter, self.message)
            p.end()
            return
        # take-home values are never below 0: the axis starts there, lower estimates sit on it
        values = [max(0.0, v) for v in (*tl.ev_stay, *tl.ev_extract) if math.isfinite(v)]
        if tl.final_value is not None:
            values.append(tl.final_value)
        y0, y1 = 0.0, max(values + [1.0])
        y1 = y1 if y1 > y0 else y0 + 1.0
        t1 = max(tl.duration_s, float(tl.t[-1]), 1.0)
        left = fm.horizontalAdvance("000,000") + 10
        plot = QRectF(
            left, fm.height() + 8, self.width() - left - 12, self.height() - 2 * fm.height() - 20
        )

        def x_of(t: float) -> float:
            return plot.left() + t / t1 * plot.width()

        def y_of(v: float) -> float:
            return plot.bottom() - (v - y0) / (y1 - y0) * plot.height()

        # Where the numbers said extract: shaded columns.
        adv = tl.extract_advised
        for i in range(len(tl.t)):
            if adv[i]:
                x_end = x_of(float(tl.t[i + 1])) if i + 1 < len(tl.t) else x_of(t1)
                p.fillRect(
                    QRectF(
                        x_of(float(tl.t[i])),
                        plot.top(),
                        max(1.0, x_end - x_of(float(tl.t[i]))),
                        plot.height(),
                    ),
                    EXTRACT_SHADE,
                )
        p.setPen(QPen(pal.mid().color(), 1))
        p.drawRect(plot)
        p.setPen(text)
        for v in (y0, y1):
            p.drawText(
                QRectF(0, y_of(v) - fm.height() / 2, left - 6, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                format_amount(v),
            )
        p.drawText(
            QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height()),
            Qt.AlignmentFlag.AlignLeft,
            "0:00",
        )
        p.drawText(
            QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height()),
            Qt.AlignmentFlag.AlignRight,
            clock(t1),
        )
        for series, colour in ((tl.ev_stay, STAY_LINE), (tl.ev_extract, EXTRACT_LINE)):
            pts = [
                QPointF(x_of(float(t)), y_of(max(0.0, float(v))))
                for t, v in zip(tl.t, series, strict=True)
                if math.isfinite(v)
            ]
            if len(pts) >= 2:
                p.setPen(QPen(colour, 2))
                p.drawPolyline(QPolygonF(pts))
        if tl.mark_t is not None:
            p.setPen(QPen(MARK_COLOUR, 2, Qt.PenStyle.DashLine))
            x = x_of(tl.mark_t)
            p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            p.drawText(QPointF(x + 4, plot.top() + fm.ascent()), "you marked")
        end = (
            "died"
            if tl.outcome == "died"
            else (
                f"took home {format_value(tl.final_value)}"
                if tl.final_value is not None
                else "unlabelled"
            )
        )
        p.setPen(DIED_COLOUR if tl.outcome == "died" else text)
        p.drawText(
            QRectF(
                plot.left(),
                plot.bottom() + 2,
                plot.width() - fm.horizontalAdvance(clock(t1)) - 12,
                fm.height(),
            ),
            Qt.AlignmentFlag.AlignRight,
            end,
        )
        # Legend, above the plot.
        x = plot.left()
        for name, colour in (("stay", STAY_LINE), ("extract", EXTRACT_LINE)):
            p.setPen(QPen(colour, 3))
            p.drawLine(QPointF(x, 4 + fm.height() / 2), QPointF(x + 16, 4 + fm.height() / 2))
            p.setPen(text)
            p.drawText(QPointF(x + 20, 4 + fm.ascent()), f"if you {name}")
            x += fm.horizontalAdvance(f"if you {name}") + 44
        p.fillRect(QRectF(x, 4, 16, fm.height() - 2), EXTRACT_SHADE)
        p.drawText(QPointF(x + 20, 4 + fm.ascent()), "advice: extract")
        p.end()
