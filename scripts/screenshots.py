"""Render the README's screenshots of the desktop app into docs/screenshots/.

    python scripts/screenshots.py            # starts its own Xvfb when there is no $DISPLAY
    python scripts/screenshots.py --out DIR
    python scripts/screenshots.py --demo-root DEMO_DIR   # + the training on demo raids

Renders on a real X server (Qt's xcb platform under Xvfb) so fonts, styles and menus
look as on a desktop: the overlay in each state composited over a busy, game-like
scene (to judge readability at a glance), the compact and the detailed panel over a
bright (snow, white sky) and a dark (night) scene, the first-run welcome, the "What do
these numbers mean?" panel, the tray menu with its Risk submenu open, the settings dialog
and the training dialog with its quality verdict after a short synthetic training run.
With --demo-root (a demo folder `arcx demo` made), also `training-demo.png`: the training
dialog after a real training on that folder's recorded demo raids (the training and
held-out raids and the live runs the demo app recorded and labelled), with its verdict;
and `runs-demo.png`: the Runs window on the demo app's own live runs, showing the
timeline of one it advised on (the EVs the overlay showed, live, with the demo's model).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.xvfb import XvfbError, xvfb  # noqa: E402
from scripts.xvfb import available as xvfb_available  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--demo-root", type=Path, default=None,
                        help="a demo folder: also render training-demo.png from its recorded raids")
    parser.add_argument("--only-demo", action="store_true", help="with --demo-root: render only that shot")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if not os.environ.get("DISPLAY") and xvfb_available():
            try:
                os.environ["DISPLAY"] = stack.enter_context(xvfb(1600, 1000))
            except XvfbError as exc:
                raise SystemExit(str(exc)) from exc
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
        os.environ["ARCX_HOME"] = tempfile.mkdtemp(prefix="arcx-shots-")
        if args.demo_root is not None and args.only_demo:
            return demo_training_shot(args.out, args.demo_root)
        code = render_all(args.out)
        if args.demo_root is not None:
            code = code or demo_training_shot(args.out, args.demo_root)
        return code


# --------------------------------------------------------------------------- rendering
# Everything below imports Qt lazily: the platform must be chosen before the first import.


def game_scene(width: int, height: int, seed: int = 7, hud: bool = True):  # -> QImage
    """A busy, game-like frame: dusk sky with sun glare, ridges, a noisy ground with
    snow and foliage, buildings, fog and a HUD with bright text: the worst case for
    reading an overlay at a glance."""
    import numpy as np
    from PyQt6.QtCore import QPointF, QRectF, Qt
    from PyQt6.QtGui import (
        QColor,
        QFont,
        QImage,
        QLinearGradient,
        QPainter,
        QPen,
        QPolygonF,
        QRadialGradient,
    )

    rng = np.random.default_rng(seed)
    # Ground texture: value noise at several octaves, tinted by height.
    h_ground = height - int(height * 0.42)
    tex = np.zeros((h_ground, width), np.float32)
    for octave, amp in ((8, 0.5), (24, 0.25), (64, 0.15), (160, 0.1)):
        small = rng.random((octave * h_ground // width + 2, octave + 2)).astype(np.float32)
        ys = np.linspace(0, small.shape[0] - 1.001, h_ground)
        xs = np.linspace(0, small.shape[1] - 1.001, width)
        y0, x0 = ys.astype(int), xs.astype(int)
        fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
        a = small[y0][:, x0] * (1 - fx) + small[y0][:, x0 + 1] * fx
        b = small[y0 + 1][:, x0] * (1 - fx) + small[y0 + 1][:, x0 + 1] * fx
        tex += amp * (a * (1 - fy) + b * fy)
    grass = np.array([58, 84, 44], np.float32)
    rock = np.array([118, 112, 104], np.float32)
    snow = np.array([236, 240, 246], np.float32)
    t = tex[..., None]
    rgb = np.where(t > 0.62, snow, np.where(t > 0.48, rock, grass)) * (0.75 + 0.5 * t)
    rgb += rng.normal(0, 10, rgb.shape)
    ground = np.clip(rgb, 0, 255).astype(np.uint8)
    ground = np.ascontiguousarray(np.dstack([ground, np.full(ground.shape[:2], 255, np.uint8)]))

    img = QImage(width, height, QImage.Format.Format_RGB32)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    sky = QLinearGradient(0, 0, 0, height * 0.6)
    sky.setColorAt(0, QColor("#2d3f66"))
    sky.setColorAt(0.55, QColor("#e88a4a"))
    sky.setColorAt(1, QColor("#f7d08a"))
    p.fillRect(0, 0, width, height, sky)
    sun = QRadialGradient(QPointF(width * 0.78, height * 0.36), height * 0.45)
    sun.setColorAt(0, QColor(255, 250, 230, 255))
    sun.setColorAt(0.12, QColor(255, 236, 190, 230))
    sun.setColorAt(1, QColor(255, 200, 120, 0))
    p.fillRect(0, 0, width, height, sun)
    for depth, colour in ((0.36, "#5b4f6e"), (0.45, "#3b3a4d"), (0.52, "#2a2d38")):
        pts = [QPointF(0, height)]
        x = 0.0
        y = height * depth
        while x <= width:
            y = min(
                height * (depth + 0.08),
                max(height * (depth - 0.1), y + rng.normal(0, height * 0.025)),
            )
            pts.append(QPointF(x, y))
            x += width / 40
        pts.append(QPointF(width, height))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(colour))
        p.drawPolygon(QPolygonF(pts))
    gimg = QImage(ground.data, width, h_ground, width * 4, QImage.Format.Format_ARGB32)
    p.drawImage(0, height - h_ground, gimg)
    # Buildings and a radio tower: hard dark edges next to bright ground.
    for _ in range(9):
        bw, bh = rng.integers(40, 130), rng.integers(50, 190)
        bx = rng.integers(0, width - bw)
        by = height - h_ground - bh + rng.integers(10, 60)
        p.setBrush(
            QColor(int(rng.integers(30, 70)), int(rng.integers(30, 60)), int(rng.integers(30, 60)))
        )
        p.drawRect(int(bx), int(by), int(bw), int(bh))
        p.setBrush(QColor(255, 214, 120))
        for wy in range(int(by) + 10, int(by + bh) - 10, 22):
            for wx in range(int(bx) + 8, int(bx + bw) - 8, 18):
                if rng.random() < 0.35:
                    p.drawRect(wx, wy, 7, 10)
    p.setPen(QPen(QColor("#15151a"), 4))
    tx = int(width * 0.86)
    p.drawLine(tx, int(height * 0.08), tx - 40, height - h_ground + 20)
    p.drawLine(tx, int(height * 0.08), tx + 40, height - h_ground + 20)
    for k in range(8):
        yy = int(height * 0.08 + k * (height - h_ground - height * 0.08) / 8)
        p.drawLine(tx - 5 * k, yy, tx + 5 * k, yy)
    fog = QLinearGradient(0, height * 0.45, 0, height)
    fog.setColorAt(0, QColor(255, 230, 200, 70))
    fog.setColorAt(1, QColor(255, 230, 200, 0))
    p.fillRect(0, 0, width, height, fog)
    if not hud:
        p.end()
        return img
    # HUD: compass, health, ammo, crosshair, a quest toast in white on bright sky.
    font = QFont()
    font.setBold(True)
    font.setPixelSize(16)
    p.setFont(font)
    p.setPen(QColor(255, 255, 255, 230))
    p.drawText(
        QRectF(0, 12, width, 24), Qt.AlignmentFlag.AlignHCenter, "NW    ·    N  330  ·    NE"
    )
    p.fillRect(24, height - 44, 260, 14, QColor(0, 0, 0, 120))
    p.fillRect(24, height - 44, 180, 14, QColor("#e5484d"))
    font.setPixelSize(34)
    p.setFont(font)
    p.drawText(QRectF(width - 220, height - 70, 196, 48), Qt.AlignmentFlag.AlignRight, "24 / 120")
    p.setPen(QPen(QColor(255, 255, 255, 220), 2))
    cx, cy = width // 2, height // 2
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        p.drawLine(cx + dx * 6, cy + dy * 6, cx + dx * 16, cy + dy * 16)
    font.setPixelSize(15)
    p.setFont(font)
    p.setPen(QColor("white"))
    p.drawText(
        QRectF(width - 430, 190, 400, 40),
        Qt.AlignmentFlag.AlignRight,
        "EXFIL OPEN · Signal tower · 420 m",
    )
    p.end()
    return img


def plain_scene(width: int, height: int, bright: bool):  # -> QImage
    """The two extremes the overlay must read over: a white, snowy daylight scene (the
    panel's contrast is worst over white) and a dark night one."""
    import numpy as np
    from PyQt6.QtGui import QImage

    rng = np.random.default_rng(5 if bright else 6)
    y = np.linspace(0, 1, height)[:, None, None]
    if bright:  # white sky into snow with a few grey rocks
        rgb = 255 - 18 * y + rng.normal(0, 4, (height, width, 3))
        rocks = rng.random((height, width)) > 0.995
        rgb[rocks] = 150
    else:  # night: deep blue sky, black ground, a few lit windows
        rgb = np.concatenate(
            [14 + 10 * y, 18 + 12 * y, 34 + 20 * y], axis=2
        ) + rng.normal(0, 3, (height, width, 3))
        lights = rng.random((height, width)) > 0.9985
        rgb[lights] = (255, 210, 120)
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    argb = np.ascontiguousarray(np.dstack([rgb[..., 2], rgb[..., 1], rgb[..., 0], np.full(rgb.shape[:2], 255, np.uint8)]))
    return QImage(argb.data, width, height, width * 4, QImage.Format.Format_ARGB32).copy()


def render_all(out: Path) -> int:
    import numpy as np
    from PyQt6.QtCore import QPoint, QRect, QTimer
    from PyQt6.QtGui import QColor, QImage, QPainter
    from PyQt6.QtWidgets import QApplication

    from app.core.config import Settings
    from app.core.model.ev import compute_ev
    from app.ui import overlay as ov
    from app.ui.tray import TrayIcon, TrayStatus

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    print(f"platform: {app.platformName()}")

    def est(
        stay: float,
        extract: float,
        risk: str = "neutral",
        warming: bool = False,
        width: float = 900,
        deaths: int = 0,
    ):
        q = np.stack(
            [
                np.linspace(stay - width, stay + width, 16),
                np.linspace(extract - width / 4, extract + width / 4, 16),
            ]
        )
        q[0, :deaths] = 0.0  # the lowest 1/16 of the stay outcomes each: death, nothing banked
        return compute_ev(q, risk, warming=warming)

    states = {
        "overlay-stay": ov.overlay_view(
            ov.OverlayMode.LIVE, est(19800, 12900, deaths=2), recording=True, unit="loot"
        ),
        "overlay-extract": ov.overlay_view(
            ov.OverlayMode.LIVE, est(9100, 15600, "safe"), recording=True, unit="loot"
        ),
        "overlay-close-call": ov.overlay_view(
            ov.OverlayMode.LIVE, est(14050, 13800, "aggressive"), recording=True, unit="loot"
        ),
        "overlay-warming": ov.overlay_view(ov.OverlayMode.WARMING, recording=True),
        "overlay-no-model": ov.overlay_view(ov.OverlayMode.NO_MODEL, recording=True),
        "overlay-capture-lost": ov.overlay_view(ov.OverlayMode.CAPTURE_LOST, recording=True),
        "overlay-screen-unchanged": ov.overlay_view(
            ov.OverlayMode.SCREEN_UNCHANGED, recording=True
        ),
        # the demo while its model is trained (`arcx demo`, app/ui/demo.py)
        "overlay-learning": ov.overlay_view(
            ov.OverlayMode.NO_MODEL, recording=True, learning="recording raids 5/13 · ~4 min left"
        ),
    }
    # Compact (the default) and detailed, STAY and EXTRACT NOW, over white and over night.
    from app.ui.overlay.window import READABLE_OPACITY

    opacity = max(Settings().overlay.opacity, READABLE_OPACITY)  # what the window draws at
    pair = (est(21000, 17600), est(9100, 15600, "safe"))
    for layout in ("compact", "detailed"):
        views = [
            ov.overlay_view(
                ov.OverlayMode.LIVE, e, recording=True, compact=layout == "compact", unit="loot"
            )
            for e in pair
        ]
        panels = [ov.render_view_image(v, 1.0) for v in views]
        for bright in (True, False):
            w = 2 * panels[0].width() + 3 * 20
            h = panels[0].height() + 2 * 20
            frame = plain_scene(w, h, bright)
            p = QPainter(frame)
            p.setOpacity(opacity)
            for i, panel in enumerate(panels):
                p.drawImage(20 + i * (panel.width() + 20), 20, panel)
            p.end()
            name = f"overlay-{layout}-{'bright' if bright else 'dark'}"
            frame.save(str(out / f"{name}.png"))
            print(f"wrote {name}.png ({views[0].headline} | {views[1].headline})")

    scene_w, scene_h = 960, 400
    scene = game_scene(scene_w, scene_h)
    for name, view in states.items():
        panel = ov.render_view_image(view, 1.0)
        frame = scene.copy()
        p = QPainter(frame)
        p.setOpacity(opacity)
        p.drawImage(scene_w - panel.width() - 24, 24, panel)
        p.end()
        # Crop to the top-right part of the screen, where the overlay sits.
        crop = frame.copy(QRect(scene_w - 560, 0, 560, 230))
        crop.save(str(out / f"{name}.png"))
        print(f"wrote {name}.png")

    # Overlay states side by side on one image for the README.
    tiles = [ov.render_view_image(v, 1.0) for v in list(states.values())[:6]]
    grid = game_scene(
        3 * (ov.BASE_WIDTH + 16) + 16, 2 * (ov.BASE_HEIGHT + 16) + 16, seed=11, hud=False
    )
    p = QPainter(grid)
    p.setOpacity(opacity)
    for i, tile in enumerate(tiles):
        p.drawImage(
            16 + (i % 3) * (ov.BASE_WIDTH + 16), 16 + (i // 3) * (ov.BASE_HEIGHT + 16), tile
        )
    p.end()
    grid.save(str(out / "overlay-states.png"))
    print("wrote overlay-states.png")

    # Tray menu with the Risk submenu open, grabbed from the screen.
    tray = TrayIcon(use_pystray=False)
    keys = Settings().hotkeys.bindings()
    tray.update_status(
        TrayStatus(recording=True, risk="neutral", has_model=True, hotkeys=keys, device="cuda: RTX")
    )
    menu = tray.backend.menu
    menu.popup(QPoint(40, 40))
    _pump(app, 400)
    risk_action = next(a for a in menu.actions() if a.text().startswith("Risk"))
    menu.setActiveAction(risk_action)
    sub = risk_action.menu()
    sub.popup(menu.mapToGlobal(menu.actionGeometry(risk_action).topRight()))
    _pump(app, 400)
    # Composed from the two popups (a screen grab would show the bare X root around them).
    area = menu.geometry().united(sub.geometry()).adjusted(-12, -12, 12, 12)
    shot = QImage(area.size(), QImage.Format.Format_RGB32)
    shot.fill(QColor("#2b2f36"))
    p = QPainter(shot)
    for popup in (menu, sub):
        p.drawPixmap(popup.geometry().topLeft() - area.topLeft(), popup.grab())
    p.end()
    shot.save(str(out / "tray-menu.png"))
    sub.hide()
    menu.hide()
    print("wrote tray-menu.png")

    # Settings dialog: Capture and Hotkeys tabs.
    from app.ui.settings_dialog import SettingsDialog

    settings = Settings()
    dialog = SettingsDialog(settings)
    dialog.show()
    _pump(app, 200)
    dialog.grab().save(str(out / "settings-capture.png"))
    dialog.tabs.setCurrentIndex(1)
    _pump(app, 100)
    dialog.grab().save(str(out / "settings-hotkeys.png"))
    dialog.tabs.setCurrentIndex(2)
    _pump(app, 100)
    dialog.grab().save(str(out / "settings-overlay.png"))
    dialog.close()
    print("wrote settings-*.png")

    # The first-run welcome and the "What do these numbers mean?" panel.
    from app.ui.help import HelpDialog
    from app.ui.welcome import WelcomeDialog

    welcome = WelcomeDialog(Settings().hotkeys.bindings())
    welcome.show()
    _pump(app, 200)
    welcome.hotkey_pressed("start_stop")
    welcome.hotkey_pressed("mark_extract")
    _pump(app, 100)
    welcome.grab().save(str(out / "welcome.png"))
    welcome.close()
    print("wrote welcome.png")
    help_dialog = HelpDialog("loot")
    help_dialog.show()
    _pump(app, 200)
    help_dialog.grab().save(str(out / "help.png"))
    help_dialog.close()
    print("wrote help.png")

    _training_shot(app, out)
    QTimer.singleShot(0, app.quit)
    return 0


def _pump(app, ms: int) -> None:  # noqa: ANN001
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _training_shot(app, out: Path) -> None:  # noqa: ANN001
    """The training dialog after a real (small) training run on synthetic recorded runs,
    hot-swapped into a real engine; plus the runs view of those runs."""
    import tempfile

    import numpy as np

    from app.core.capture.synthetic import SyntheticSource
    from app.core.data.recorder import list_runs
    from app.core.data.synthetic import SyntheticConfig, record_runs
    from app.core.engine import Engine, EngineConfig
    from app.core.model.qnet import QNetConfig
    from app.core.model.slot import ModelSlot
    from app.core.training.trainer import TrainConfig
    from app.ui.runs_view import CoreRunStore, RunsView
    from app.ui.training_dialog import TrainingDialog, summarise_runs
    from app.workers.training import TrainingWorker

    d, window = 32, 16
    cfg = SyntheticConfig(latent_dim=d, max_duration_s=180.0, threshold_median=40_000.0)
    root = Path(tempfile.mkdtemp(prefix="arcx-shot-runs-"))
    record_runs(root, 64, cfg, seed=3, unlabelled=3)
    out_path = root.parent / f"{root.name}-models" / "qnet.safetensors"

    class Encoder:  # plays the synthetic runs' encoder so the model can be swapped in
        name = "fp32"

        def encode(self, frames: np.ndarray) -> np.ndarray:
            return frames.reshape(len(frames), -1)[:, :d].astype(np.float32) / 255.0

    engine = Engine(
        SyntheticSource(160, 90),
        config=EngineConfig(window=window),
        encoder=Encoder(),
        encoder_id=cfg.encoder_id,
    )
    engine.warm_up()
    models = ModelSlot(engine)
    qnet = QNetConfig(
        latent_dim=d, seq_len=window, hidden=32, num_layers=1, attn_dim=32, head_dim=64
    )

    defaults = TrainConfig(
        qnet=qnet, window=window, device="cpu", precision="fp32", num_threads=1, patience=50
    )

    def factory(config: TrainConfig) -> TrainingWorker:
        return TrainingWorker(config, root, out_path)

    dialog = TrainingDialog(
        summarise_runs(list_runs(root), cfg.encoder_id), factory, defaults=defaults
    )
    dialog.epochs.setValue(12)
    dialog.batch.setValue(128)
    dialog.lr.setValue(0.001)
    dialog.resize(600, 780)

    def swap(result) -> None:  # noqa: ANN001
        text = models.swap_in(result)
        dialog.show_swap_result(True, text, can_roll_back=models.can_roll_back)

    dialog.modelReady.connect(swap)
    dialog.show()
    _pump(app, 100)
    dialog.start()
    deadline = time.monotonic() + 600
    while dialog.running and time.monotonic() < deadline:
        _pump(app, 100)
    while dialog.verdict is None and time.monotonic() < deadline:  # the held-out test
        _pump(app, 100)
    _pump(app, 200)
    dialog.grab().save(str(out / "training.png"))
    dialog.close()
    verdict = dialog.verdict.headline if dialog.verdict is not None else "no verdict"
    print(f"wrote training.png ({dialog.status.text()}; {verdict})")

    replayed = _replay_with_advice(root, out_path, window, cfg.encoder_id)
    view = RunsView(CoreRunStore(root))
    view.resize(820, 640)
    view.show()
    _pump(app, 200)
    view.select_run(replayed)
    _pump(app, 100)
    view.grab().save(str(out / "runs.png"))
    view.close()
    print("wrote runs.png")


def demo_runs(demo_root: Path, into: Path) -> int:
    """Copy the demo folder's labelled recorded raids (training, held-out, and the demo
    app's own live runs) into one runs folder; returns how many."""
    import shutil

    from app.core.data.recorder import list_runs

    n = 0
    for folder in (demo_root / "train", demo_root / "heldout", demo_root / "app" / "data" / "runs"):
        if not folder.is_dir():
            continue
        for info in list_runs(folder):
            if info.recording or info.outcome is None:
                continue
            shutil.copytree(info.path, into / info.path.name)
            n += 1
    return n


def demo_training_shot(out: Path, demo_root: Path) -> int:
    """The training dialog after a real training on the demo folder's recorded raids, with
    the verdict it computed on the runs it held out (nothing here is hand-written)."""
    import tempfile

    from PyQt6.QtWidgets import QApplication

    from app.core.data.recorder import list_runs
    from app.demo.pipeline import DemoConfig
    from app.ui.training_dialog import TrainingDialog, summarise_runs
    from app.workers.training import TrainingWorker

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="arcx-shot-demo-runs-"))
    n = demo_runs(Path(demo_root), root)
    if n == 0:
        print(f"no labelled demo raids under {demo_root}")
        return 1
    runs = list_runs(root)
    encoder_id = runs[0].encoder_id
    out_path = root.parent / f"{root.name}-models" / "qnet.safetensors"
    defaults = DemoConfig().train  # what `arcx demo` trains with

    def factory(config):  # noqa: ANN001, ANN202
        return TrainingWorker(config, root, out_path)

    class Loader:  # the app's slot, checking the checkpoint as the engine does (no encoder here)
        def load_model(self, path):  # noqa: ANN001, ANN202
            from app.core.model.checkpoint import load_checkpoint

            return load_checkpoint(path, expected_encoder_id=encoder_id)[1]

        def status(self):  # noqa: ANN202
            return type("Status", (), {"model": None})()

    from app.core.model.slot import ModelSlot

    models = ModelSlot(Loader())
    dialog = TrainingDialog(summarise_runs(runs, encoder_id), factory, defaults=defaults)
    dialog.modelReady.connect(
        lambda result: dialog.show_swap_result(True, models.swap_in(result), can_roll_back=models.can_roll_back)
    )
    dialog.resize(600, 780)
    dialog.show()
    _pump(app, 100)
    dialog.start()
    deadline = time.monotonic() + 3600
    while dialog.running and time.monotonic() < deadline:
        _pump(app, 200)
    while dialog.verdict is None and time.monotonic() < deadline:
        _pump(app, 200)
    _pump(app, 300)
    dialog.grab().save(str(out / "training-demo.png"))
    v = dialog.verdict
    print(f"wrote training-demo.png ({n} demo raids; {dialog.status.text()}; "
          f"{v.level + ': ' + v.headline if v is not None else 'no verdict'})")
    if v is not None:
        for line in v.lines:
            print(f"  {line}")
    dialog.close()
    return _demo_runs_shot(app, out, Path(demo_root) / "app" / "data" / "runs")


def _demo_runs_shot(app, out: Path, runs_root: Path) -> int:  # noqa: ANN001
    """The Runs window on the demo app's live runs, with the timeline of the labelled run
    that had advice longest (preferring one where the advice said EXTRACT)."""
    import numpy as np

    from app.core.data.recorder import list_runs
    from app.core.timeline import load_timeline
    from app.ui.runs_view import CoreRunStore, RunsView

    best: tuple[tuple[bool, int], str] | None = None
    for info in list_runs(runs_root) if runs_root.is_dir() else []:
        if info.recording or info.outcome is None:
            continue
        t = load_timeline(info)
        if not t.has_ev:
            continue
        key = (t.first_extract_t is not None, int(np.isfinite(t.ev_stay).sum()))
        if best is None or key > best[0]:
            best = (key, info.run_id)
    if best is None:
        print(f"no labelled live run with advice under {runs_root}: runs-demo.png not written")
        return 0
    view = RunsView(CoreRunStore(runs_root))
    view.resize(820, 640)
    view.show()
    _pump(app, 200)
    view.select_run(best[1])
    _pump(app, 200)
    view.grab().save(str(out / "runs-demo.png"))
    view.close()
    print(f"wrote runs-demo.png (run {best[1][:8]}, {best[0][1]} decisions with advice)")
    return 0


def _replay_with_advice(root: Path, model_path: Path, window: int, encoder_id: str) -> str:
    """Record one of the synthetic runs again with the trained model's EV at each decision
    (as a live run would have), so the runs view has a timeline with advice to show."""
    import numpy as np
    import torch

    from app.core.data.dataset import DecisionDataset
    from app.core.data.recorder import RunRecorder, list_runs
    from app.core.model.checkpoint import load_checkpoint
    from app.core.model.ev import compute_ev

    ds = DecisionDataset.from_root(root, window=window)
    infos = {i.run_id: i for i in list_runs(root)}
    died = [k for k, rid in enumerate(ds.run_ids) if infos[rid].outcome == "died"]
    r = died[0] if died else 0
    source = infos[ds.run_ids[r]]
    idx = np.flatnonzero(ds.run_index == r)
    model, meta = load_checkpoint(model_path)
    with torch.no_grad():
        q = model(torch.from_numpy(ds.windows(idx))).numpy() * meta.value_scale  # (N, A, K)
    rec = RunRecorder(root, flush_interval_s=60.0)
    run_id = rec.start_run(encoder_id=encoder_id, fps=2.0, latent_dim=ds.latent_dim)
    for j, i in enumerate(idx):
        t = 0.5 * j
        frame = rec.add_frame(ds.frames[ds.window_index[i, -1]].astype(np.float32), t)
        rec.add_decision(t, frame, compute_ev(q[j], "neutral"))
    if source.extract_mark_t is not None:
        rec.mark_extract(min(source.extract_mark_t, 0.5 * (len(idx) - 1)))
    rec.end_run(source.outcome, source.final_loot_value)
    return run_id


if __name__ == "__main__":
    sys.exit(main())
