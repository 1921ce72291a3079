"""Child process of the Xvfb click-through test (runs on the xcb platform, real X server).

Shows a plain window ("beneath") and the overlay on top of its centre, prints
`READY <x> <y>` with the overlay's centre in screen coordinates, then reports which
window received the mouse press that the test sends with xdotool:
`CLICK beneath` or `CLICK overlay` (or `CLICK none` after a timeout).

argv[1] == "unlocked" shows the overlay in unlock mode (takes input): the control case
that proves the test can see a click being swallowed.
"""

import sys

from PyQt6.QtCore import QPoint, QTimer
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication, QWidget

from app.core.config import OverlayPlacement, OverlaySettings
from app.ui.overlay import OverlayMode, OverlayWindow


class Beneath(QWidget):
    def mousePressEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        report("beneath")


class Reporting(OverlayWindow):
    def mousePressEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        report("overlay")


def report(who: str) -> None:
    print(f"CLICK {who}", flush=True)
    QApplication.instance().exit(0)


def main() -> int:
    unlocked = len(sys.argv) > 1 and sys.argv[1] == "unlocked"
    app = QApplication(sys.argv[:1])
    beneath = Beneath()
    beneath.setWindowTitle("beneath")
    beneath.setGeometry(100, 100, 600, 400)
    beneath.setStyleSheet("background: #336;")
    beneath.show()
    screen = app.primaryScreen()
    name = screen.name()
    settings = OverlaySettings(placements={name: OverlayPlacement(corner="custom", x=250, y=220)})
    overlay = Reporting(settings)
    overlay.apply_settings(settings, screen)
    overlay.set_mode(OverlayMode.NO_MODEL)
    overlay.show()
    if unlocked:
        overlay.set_unlocked(True)

    def ready() -> None:
        overlay.raise_()
        centre = overlay.mapToGlobal(QPoint(overlay.width() // 2, overlay.height() // 2))
        inside = beneath.geometry().contains(centre)
        print(f"READY {centre.x()} {centre.y()} {int(inside)}", flush=True)

    QTimer.singleShot(1500, ready)
    QTimer.singleShot(20000, lambda: (print("CLICK none", flush=True), app.exit(1)))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
