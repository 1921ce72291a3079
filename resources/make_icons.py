"""Render every bundled icon from `resources/icons/arcx.svg`.

    python resources/make_icons.py            # writes into resources/icons/
    python resources/make_icons.py --out DIR  # somewhere else (the tests do this)
    python resources/make_icons.py --check    # exit 1 if the committed files are stale

Qt's own SVG renderer (PyQt6.QtSvg, already an ArcX dependency) draws the pixels and
Pillow writes the `.ico`, so no extra tool is needed. The tray state icons are the app
icon with one change each, made by editing the SVG text by element id:

    tray-idle       the app icon
    tray-recording  a red dot in the bottom-right corner
    tray-nomodel    a grey X and a blue "?" badge (no trained model yet)

Output is deterministic for a given Qt and Pillow. `--check` compares decoded pixels, not
bytes, with a small tolerance: another Qt or Pillow version may antialias an edge or
compress a PNG slightly differently without the icon being stale.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ICONS = HERE / "icons"
SOURCE = ICONS / "arcx.svg"

# What Windows asks an .ico for (shell, taskbar, tray, Alt-Tab).
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 256)
PNG_SIZES = (16, 24, 32, 48, 64, 128)  # arcx-<size>.png; arcx.png is 256
APP_PNG_SIZE = 256
TRAY_SIZE = 64  # the tray scales down from this; 64 stays sharp at 200 % display scaling

ACCENT = "#f2a93b"
NO_MODEL_GREY = "#8b93a1"
TILE = "#15181d"
RECORDING_RED = "#ff4d4d"
BADGE_BLUE = "#3b6fd8"

BADGES = {
    "recording": (
        f'<circle cx="200" cy="200" r="46" fill="{RECORDING_RED}" '
        f'stroke="{TILE}" stroke-width="14"/>'
    ),
    "nomodel": (
        f'<circle cx="196" cy="196" r="54" fill="{BADGE_BLUE}" stroke="{TILE}" stroke-width="12"/>'
        '<path d="M 178 182 A 18 18 0 1 1 204 196 Q 196 201 196 212" fill="none" '
        'stroke="white" stroke-width="13" stroke-linecap="round" stroke-linejoin="round"/>'
        '<circle cx="196" cy="232" r="8" fill="white"/>'
    ),
}
TRAY_STATES = ("idle", "recording", "nomodel")


def variant_svg(svg: str, state: str | None) -> str:
    """The SVG text for one tray state (None = the app icon)."""
    if state == "nomodel":
        svg = svg.replace(
            f'<g id="mark" stroke="{ACCENT}"', f'<g id="mark" stroke="{NO_MODEL_GREY}"'
        )
    if state in BADGES:
        svg = svg.replace("<!-- state badge goes here -->", BADGES[state])
    if 'id="mark"' not in svg or (state in BADGES and BADGES[state] not in svg):
        raise ValueError(
            'arcx.svg lost its id="mark" group or its badge comment; make_icons.py edits by those'
        )
    return svg


def render(svg: str, size: int):  # -> PIL.Image.Image
    """Rasterise SVG text to a size×size RGBA Pillow image with Qt's renderer."""
    from PIL import Image
    from PyQt6.QtCore import QByteArray, QRectF, Qt
    from PyQt6.QtGui import QImage, QPainter
    from PyQt6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        raise ValueError("Qt cannot parse the SVG")
    image = QImage(size, size, QImage.Format.Format_RGBA8888)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    raw = bytes(image.constBits().asarray(image.sizeInBytes()))
    return Image.frombuffer(
        "RGBA", (size, size), raw, "raw", "RGBA", image.bytesPerLine(), 1
    ).copy()


def _png_bytes(img) -> bytes:  # img: PIL.Image.Image
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def build(source: Path = SOURCE) -> dict[str, bytes]:
    """File name → bytes of every generated icon."""
    svg = source.read_text(encoding="utf-8")
    out: dict[str, bytes] = {}
    out["arcx.png"] = _png_bytes(render(variant_svg(svg, None), APP_PNG_SIZE))
    for size in PNG_SIZES:
        out[f"arcx-{size}.png"] = _png_bytes(render(variant_svg(svg, None), size))
    for state in TRAY_STATES:
        out[f"tray-{state}.png"] = _png_bytes(render(variant_svg(svg, state), TRAY_SIZE))
    # .ico: one hand-rendered image per size (Pillow would otherwise downscale the largest).
    frames = [render(variant_svg(svg, None), s) for s in ICO_SIZES]
    buf = io.BytesIO()
    frames[-1].save(buf, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=frames[:-1])
    out["arcx.ico"] = buf.getvalue()
    return out


# --check: an icon is stale when a pixel channel differs by more than this (of 255) ...
MAX_PIXEL_DIFF = 48
# ... or when the channels differ by more than this on average.
MAX_MEAN_DIFF = 1.0


def same_pixels(path: Path, data: bytes) -> bool:
    """Does the file at `path` show the same image(s) as `data`, within the tolerances?"""
    import numpy as np
    from PIL import Image

    if not path.is_file():
        return False

    def frames(blob: bytes) -> dict[tuple[int, int], object]:
        with Image.open(io.BytesIO(blob)) as im:
            sizes = sorted(im.info.get("sizes", {im.size}))
            out = {}
            for size in sizes:
                if im.format == "ICO":
                    im.size = size  # Pillow selects the ICO entry of that size
                out[size] = np.asarray(im.convert("RGBA"), dtype=np.int16)
            return out

    old, new = frames(path.read_bytes()), frames(data)
    if old.keys() != new.keys():
        return False
    for size, a in new.items():
        diff = np.abs(a - old[size])  # type: ignore[operator]
        if diff.max() > MAX_PIXEL_DIFF or diff.mean() > MAX_MEAN_DIFF:
            return False
    return True


def _qt_app() -> object:
    """Qt wants a GUI application object before painting; offscreen needs no display."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtGui import QGuiApplication

    return QGuiApplication.instance() or QGuiApplication(sys.argv[:1])


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ICONS, help="output folder (default: resources/icons)"
    )
    parser.add_argument("--check", action="store_true", help="only compare with the files in --out")
    args = parser.parse_args(list(argv) if argv is not None else None)
    app = _qt_app()  # noqa: F841 (kept alive while rendering)
    files = build()
    if args.check:
        stale = [n for n, data in files.items() if not same_pixels(args.out / n, data)]
        for name in stale:
            print(f"stale: {args.out / name}")
        if stale:
            print("run: python resources/make_icons.py")
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
