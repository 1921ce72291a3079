"""A small live chart of train and validation loss, drawn with QPainter.

Why not pyqtgraph: two polylines, a grid and a legend are a hundred lines of QPainter,
while pyqtgraph would add a dependency (and its OpenGL / numpy plumbing) to the
installer for one widget. The y axis is logarithmic when the losses span more than a
factor of 20, as losses early in training usually do.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPolygonF
from PyQt6.QtWidgets import QSizePolicy, QWidget

TRAIN_COLOUR = QColor("#3b82f6")
VAL_COLOUR = QColor("#f59e0b")
GRID_COLOUR = QColor(128, 128, 128, 60)


class LossChart(QWidget):
    """Train loss per step (x = fractional epoch) and validation loss per epoch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.train: list[tuple[float, float]] = []
        self.val: list[tuple[float, float]] = []
        self.setMinimumSize(320, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(480, 220)

    def clear(self) -> None:
        self.train.clear()
        self.val.clear()
        self.update()

    def add_train(self, x: float, loss: float) -> None:
        if math.isfinite(loss):
            self.train.append((x, loss))
            self.update()

    def add_val(self, x: float, loss: float) -> None:
        if math.isfinite(loss):
            self.val.append((x, loss))
            self.update()

    def _scale(self) -> tuple[float, float, float, float, bool]:
        pts = self.train + self.val
        xs = [p[0] for p in pts] or [0.0, 1.0]
        ys = [p[1] for p in pts] or [0.0, 1.0]
        x0, x1 = min(xs), max(xs)
        if x1 - x0 < 1e-9:
            x1 = x0 + 1.0
        y0, y1 = min(ys), max(ys)
        log_y = y0 > 0 and y1 / y0 > 20
        if log_y:
            y0, y1 = math.log10(y0), math.log10(y1)
        if y1 - y0 < 1e-12:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = (y1 - y0) * 0.08
        return x0, x1, y0 - pad, y1 + pad, log_y

    def paintEvent(self, event: QPaintEvent | None) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        fm = p.fontMetrics()
        x0, x1, y0, y1, log_y = self._scale()
        ticks = [y0 + i / 4 * (y1 - y0) for i in range(5)]
        labels = [f"{10**v:.2g}" if log_y else _tick_label(v, y1 - y0) for v in ticks]
        left_pad = max(fm.horizontalAdvance(t) for t in labels) + 10
        bottom_pad = 2 * fm.height() + 8
        top_pad = fm.height() + 10  # the legend sits above the plot, never on a curve
        plot = QRectF(
            left_pad, top_pad, self.width() - left_pad - 14, self.height() - top_pad - bottom_pad
        )

        def to_px(x: float, y: float) -> QPointF:
            yy = math.log10(y) if log_y else y
            return QPointF(
                plot.left() + (x - x0) / (x1 - x0) * plot.width(),
                plot.bottom() - (yy - y0) / (y1 - y0) * plot.height(),
            )

        text_colour = pal.text().color()
        # Grid and y labels.
        for i, label in enumerate(labels):
            y = plot.bottom() - i / 4 * plot.height()
            p.setPen(QPen(GRID_COLOUR, 1))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(text_colour)
            p.drawText(
                QRectF(0, y - fm.height() / 2, left_pad - 6, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
        # x ticks at whole epochs (at most ~8 of them).
        step = max(1, math.ceil((x1 - x0) / 8))
        tick = math.ceil(x0)
        while tick <= x1 + 1e-9:
            x = plot.left() + (tick - x0) / (x1 - x0) * plot.width()
            p.setPen(QPen(GRID_COLOUR, 1))
            p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            p.setPen(text_colour)
            p.drawText(
                QRectF(x - 20, plot.bottom() + 2, 40, fm.height()),
                Qt.AlignmentFlag.AlignHCenter,
                str(tick),
            )
            tick += step
        x_caption, y_caption = axis_captions(log_y)
        p.drawText(
            QRectF(plot.left(), plot.bottom() + fm.height() + 4, plot.width(), fm.height()),
            Qt.AlignmentFlag.AlignHCenter,
            x_caption,
        )
        # The y axis's caption sits above its labels, top left (the legend is top right).
        p.drawText(QPointF(4, 4 + fm.ascent()), y_caption)
        if not self.train and not self.val:
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "loss curves appear here while training")
            p.end()
            return
        # Curves.
        if len(self.train) >= 2:
            p.setPen(QPen(TRAIN_COLOUR, 1.6))
            p.drawPolyline(QPolygonF([to_px(x, y) for x, y in self.train]))
        if self.val:
            p.setPen(QPen(VAL_COLOUR, 2.2))
            if len(self.val) >= 2:
                p.drawPolyline(QPolygonF([to_px(x, y) for x, y in self.val]))
            p.setBrush(VAL_COLOUR)
            for x, y in self.val:
                p.drawEllipse(to_px(x, y), 3, 3)
        # Legend, above the plot, right-aligned.
        x = plot.right()
        for name, colour in (("validation loss", VAL_COLOUR), ("train loss", TRAIN_COLOUR)):
            x -= fm.horizontalAdvance(name) + 24
            y = 4 + fm.height() / 2
            p.setPen(QPen(colour, 3))
            p.drawLine(QPointF(x, y), QPointF(x + 16, y))
            p.setPen(text_colour)
            p.drawText(QPointF(x + 20, y + fm.ascent() / 2 - 1), name)
            x -= 12
        p.end()


def axis_captions(log_y: bool) -> tuple[str, str]:
    """(x caption, y caption): the x axis is epochs, always linear; the loss axis says
    when it is logarithmic (losses spanning more than 20×)."""
    return "epoch", "loss (log scale)" if log_y else "loss"


def _tick_label(value: float, span: float) -> str:
    """Enough decimals to tell the 5 grid lines of `span` apart, and no more."""
    step = span / 4
    digits = max(0, 1 - math.floor(math.log10(step))) if step > 0 else 2
    return f"{value:.{min(digits, 6)}f}"
