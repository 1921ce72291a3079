"""`arcx` with no arguments: the desktop app.

Start-up, in order:

1. On Windows torch is imported before PyQt6 (by `app/ui/__init__.py`) when the start
   will need it: the reverse order breaks torch's DLLs there. A lean start never loads it.
2. Logging to a rotating file in the user log dir; unhandled exceptions are logged and
   shown, and the app keeps running (`app.ui.errors`).
3. Single instance: if ArcX already runs, it is asked to bring its settings forward and
   this process exits (`app.ui.single_instance`).
4. Settings: a bad file is backed up and replaced by defaults; the message is shown.
5. The start's plan (`app.core.model.lean.plan_start`): lean when the encoder record of
   the last torch start holds for these settings and the model has a checked ONNX
   export; its device report (`lean_device_report`, the CPU the record chose) is built
   without torch. Otherwise device detection (`app.core.device.select_device`). Either
   result goes in the tray tooltip and a notification.
6. Engine, tray, overlay, hotkeys, controller; then the event loop.

`start()` does everything but the event loop and returns the pieces, so tests drive a
real start-up with fakes where hardware would be needed (engine, hotkey backend).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QApplication

from app import __version__
from app.core import paths
from app.core.config import load_settings
from app.core.device import DeviceReport, lean_device_report, select_device
from app.core.model.lean import plan_start
from app.core.model.slot import model_path
from app.ui import qtlibs
from app.ui.controller import AppController
from app.ui.errors import ExceptionReporter, setup_logging
from app.ui.hotkeys import HotkeyBackend, HotkeyManager, ResumeWatcher
from app.ui.icons import app_icon
from app.ui.overlay import OverlayWindow
from app.ui.parts import EngineFactory, Parts
from app.ui.runs_view import CoreRunStore, RunStore
from app.ui.single_instance import SHOW_SETTINGS, SingleInstance
from app.ui.tray import TrayIcon
from app.ui.wiring import build as default_engine_factory
from app.workers.bridge import EngineBridge

log = logging.getLogger(__name__)


@dataclass
class Running:
    """A started app (everything but the event loop)."""

    app: QApplication
    controller: AppController
    tray: TrayIcon
    instance: SingleInstance
    reporter: ExceptionReporter
    resume: ResumeWatcher
    parts: Parts
    device: DeviceReport
    settings_message: str | None = None
    notes: list[str] = field(default_factory=list)
    clean_up: Callable[[], None] = lambda: None
    """ends an active run and stops everything; runs at most once (also on aboutToQuit)"""


def device_text(report: DeviceReport) -> str:
    """One line for the tooltip: `cuda: NVIDIA GeForce RTX 4070` / `cpu: AMD Ryzen 7`."""
    text = f"{report.kind}: {report.name or report.device}"
    if report.override_error:
        text += " (requested device unavailable)"
    return text


def start_device(device: str, encoder_path: str) -> DeviceReport:
    """The device report of this start: a lean one (no torch) when `plan_start` allows."""
    plan = plan_start(device, encoder_path, model_path())
    if plan.lean and plan.record is not None:
        log.info("lean start: the encoder and the model run in ONNX Runtime, torch is not loaded")
        return lean_device_report(device, reason=plan.record.reason, threads=plan.record.threads)
    log.info("torch start: %s", plan.reason)
    return select_device(device)


def make_qapp(argv: Sequence[str]) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # Per-monitor DPI with fractional factors (125 %, 150 %): the overlay stays crisp.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    if qtlibs.uses_xcb():  # Qt would abort naming only xcb-cursor0: name the real ones
        missing = qtlibs.missing_xcb_libraries()
        if missing:
            raise SystemExit(qtlibs.missing_message(missing))
    app = QApplication(list(argv))
    app.setApplicationName("ArcX")
    app.setOrganizationName("ArcX")
    app.setApplicationVersion(__version__)
    app.setQuitOnLastWindowClosed(False)  # a tray app: closing a dialog never quits
    app.setWindowIcon(app_icon())
    return app


def start(
    argv: Sequence[str] | None = None,
    *,
    engine_factory: EngineFactory | None = None,
    hotkey_backend: HotkeyBackend | None = None,
    use_pystray: bool | None = None,
    instance_key: str | None = None,
    show_dialogs: bool = True,
    welcome: bool | None = None,
) -> Running | None:
    """Start ArcX up to (not including) the event loop; None when another instance runs."""
    log_path = setup_logging()
    log.info("ArcX %s starting (log: %s)", __version__, log_path)
    app = make_qapp(argv if argv is not None else sys.argv)

    instance = SingleInstance(instance_key)
    if not instance.claim(SHOW_SETTINGS):
        return None

    reporter = ExceptionReporter(show_dialog=show_dialogs)
    reporter.install()

    loaded = load_settings()
    settings = loaded.settings
    report = start_device(settings.device, settings.inference.encoder_path)
    dev = device_text(report)

    bridge = EngineBridge()
    factory = engine_factory or default_engine_factory
    parts = factory(settings, report, bridge)

    tray = TrayIcon(use_pystray=use_pystray)
    overlay = OverlayWindow(settings.overlay)
    screens = QApplication.screens()
    monitor = settings.capture.monitor
    overlay.apply_settings(settings.overlay, screens[monitor] if monitor < len(screens) else None)
    hotkeys = HotkeyManager(hotkey_backend)
    controller = AppController(
        settings,
        engine=parts.engine,
        run_store=default_run_store(),
        tray=tray,
        hotkeys=hotkeys,
        overlay=overlay,
        models=parts.models,
        bridge=parts.bridge,
        training_worker=parts.training_worker,
        encoder_id=parts.encoder_id,
        device_text=dev,
        train_defaults=parts.train_defaults,
    )
    overlay.geometryChanged.connect(parts.set_overlay_rect)
    parts.set_overlay_rect(overlay.window_rect())
    tray.show()
    hotkeys.install(settings.hotkeys.bindings())

    resume = ResumeWatcher(parent=controller)
    resume.resumed.connect(lambda why: hotkeys.reinstall())
    resume.start(int(overlay.winId()))
    instance.messageReceived.connect(
        lambda msg: controller.show_settings() if msg == SHOW_SETTINGS else None
    )

    done: list[bool] = []

    def clean_up() -> None:
        """End an active run (kept unlabelled), stop the engine, hooks and tray. Once."""
        if done:
            return
        done.append(True)
        log.info("shutting down")
        if controller.recording:
            try:
                parts.engine.end_run(None, None)  # kept unlabelled, for the runs view
            except Exception:
                log.exception("ending the run at quit failed")
        hotkeys.uninstall()
        resume.stop()
        try:
            parts.shutdown()
        finally:
            tray.hide()
            instance.release()

    def quit_app() -> None:
        clean_up()
        app.quit()

    controller.quitRequested.connect(quit_app)
    app.aboutToQuit.connect(clean_up)  # also when Windows ends the session

    notes: list[str] = []
    model = parts.models.describe() or "no model yet: recording only"
    tray.notify("ArcX is running", f"Computing on {dev}. {model}.")
    if report.override_error:
        notes.append(f"Device {report.override} not used: {report.override_error}")
    if loaded.message:
        notes.append(loaded.message)
    for note in notes:
        tray.notify("ArcX", note)
    if (show_dialogs if welcome is None else welcome) and not settings.welcomed:
        controller.show_welcome()  # the first start: what to do, in four steps
    return Running(
        app,
        controller,
        tray,
        instance,
        reporter,
        resume,
        parts,
        report,
        loaded.message,
        notes,
        clean_up,
    )


def default_run_store() -> RunStore:
    return CoreRunStore(paths.runs_dir())


def main(argv: Sequence[str] | None = None) -> int:
    running = start(argv)
    if running is None:
        return 0
    code = running.app.exec()
    running.reporter.uninstall()
    return int(code)
