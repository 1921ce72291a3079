"""The app's glue: tray, hotkeys and dialogs in; engine, recorder and overlay out.

Every user action, from the tray menu or a hotkey, becomes one action id (`tray.A`) and
goes through `AppController.handle`, so the two paths cannot drift apart. The controller
holds the little state the UI needs (recording, extract marked, risk, overlay shown,
model loaded) and calls core through narrow interfaces:

* `EngineLike`: the real-time engine (`app.core.engine`). Its callbacks arrive on engine
  threads; `EngineBridge` turns them into queued signals, so the controller only ever
  runs on the Qt main thread.
* `RunStore` (`app.ui.runs_view`): list / label / delete recorded runs.
* `ModelSwapper`: verifies a checkpoint and loads it into the engine, remembering the
  previous model for roll-back (the verification and file rules live in core).

Slow core calls (ending a run compacts its files) run on a short-lived thread through
`call_off_thread`; their result comes back as a queued signal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PyQt6.QtCore import QObject, Qt, QUrl, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QDesktopServices
from PyQt6.QtWidgets import QApplication, QMessageBox, QWidget

from app import __version__
from app.core import paths
from app.core.config import Settings, save_settings
from app.core.errors import ArcXError
from app.core.model.ev import EVEstimate, next_risk
from app.ui.hotkeys import HotkeyManager
from app.ui.loot_prompt import LootPrompt
from app.ui.overlay import OverlayMode, OverlayWindow
from app.ui.runs_view import RunStore, RunsView, run_length
from app.ui.settings_dialog import SettingsDialog
from app.ui.training_dialog import TrainingDialog, TrainParams, summarise_runs
from app.ui.tray import A, TrayIcon, TrayStatus

log = logging.getLogger(__name__)

# Hotkey action → tray action id (start_stop depends on the state, see handle_hotkey).
HOTKEY_ACTIONS: dict[str, str] = {
    "mark_extract": A.MARK_EXTRACT,
    "toggle_overlay": A.TOGGLE_OVERLAY,
}


class EngineLike(Protocol):
    """What the controller needs from `app.core.engine`."""

    def start_run(self) -> Any: ...

    def mark_extract(self) -> None: ...

    def end_run(self, outcome: str | None, loot: float | None = None) -> Any:
        """Stop recording; returns the run's info (with `run_id`)."""

    def set_risk(self, risk: str) -> None: ...


class ModelSwapper(Protocol):
    """Verify-and-load of trained models, with one step of roll-back."""

    @property
    def has_model(self) -> bool: ...

    @property
    def can_roll_back(self) -> bool: ...

    def describe(self) -> str:
        """The model in use, in words ("" when none)."""

    def swap_in(self, result: Any) -> str:
        """Verify the trained model in `result` and load it; raises ArcXError when refused."""

    def roll_back(self) -> str:
        """Load the previous model again; raises ArcXError when there is none."""


class EngineBridge(QObject):
    """Engine events (EV ticks, notices, worker errors) → signals the controller handles.

    The engine's workers already deliver on the main thread (queued signals); the bridge
    also accepts plain callbacks from any thread, since emitting a signal is thread-safe
    and the connections to the controller are queued across threads.

    Signals:
        estimate(object): an `EVEstimate` from an inference tick.
        noEstimate(str): a tick without an honest EV; the engine's reason ("no_model",
            "no_frames", "capture_black", …).
        errored(str): capture has a problem or stopped, in words.
        recovered(): frames flow again after a problem.
        info(str): something to tell the player once (dxcam → mss, FPS lowered).
        warming(str): a warm-up step, in words.
    """

    estimate = pyqtSignal(object)
    noEstimate = pyqtSignal(str)
    errored = pyqtSignal(str)
    recovered = pyqtSignal()
    info = pyqtSignal(str)
    warming = pyqtSignal(str)

    def on_estimate(self, est: EVEstimate) -> None:
        self.estimate.emit(est)

    def on_tick(self, tick: Any) -> None:
        """An `app.core.engine.EVTick`."""
        if tick.ev is not None:
            self.estimate.emit(tick.ev)
        else:
            self.noEstimate.emit(tick.reason or "")

    def on_notice(self, notice: Any) -> None:
        """An `app.core.engine.Notice`."""
        kind, message = notice.kind, notice.message
        if kind in ("capture_problem", "capture_lost"):
            self.errored.emit(message)
        elif kind == "capture_ok":
            self.recovered.emit()
        elif kind in ("capture_fallback", "fps_lowered"):
            self.info.emit(message)
        else:
            log.info("engine: %s", message)

    def on_error(self, error: BaseException | str) -> None:
        self.errored.emit(str(error))

    def on_recovered(self) -> None:
        self.recovered.emit()

    def on_warming(self, message: str) -> None:
        self.warming.emit(message)


# Overlay text for a tick without EV whose capture problem came without a notice.
CAPTURE_REASONS: dict[str, str] = {
    "capture_black": "the captured screen is black",
    "capture_frozen": "the captured picture stopped changing",
    "capture_stalled": "no frames from the screen",
    "capture_lost": "screen capture stopped",
}


class _Call(QObject):
    """Result of a call made off the main thread."""

    done = pyqtSignal(object)
    failed = pyqtSignal(object)


def call_off_thread(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
    *,
    name: str = "arcx-call",
) -> threading.Thread:
    """Run `fn` on a short-lived thread; `on_done` / `on_error` run on the main thread."""
    # Parented to the application: Qt keeps it alive until the result is delivered.
    call = _Call(QApplication.instance())

    def deliver_done(result: Any) -> None:
        call.deleteLater()
        on_done(result)

    def deliver_error(exc: BaseException) -> None:
        call.deleteLater()
        on_error(exc)

    call.done.connect(deliver_done, Qt.ConnectionType.QueuedConnection)  # type: ignore[call-arg]
    call.failed.connect(deliver_error, Qt.ConnectionType.QueuedConnection)  # type: ignore[call-arg]

    def work() -> None:
        try:
            result = fn()
        except BaseException as exc:  # reported on the main thread, never lost
            call.failed.emit(exc)
        else:
            call.done.emit(result)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread


class AppController(QObject):
    """Handles every action and keeps tray, overlay and engine in step.

    Signals:
        statusChanged(object): the new `TrayStatus` after any change.
        runEnded(object): a run ended; the run's info from the engine.
        quitRequested(): the player chose Quit.
    """

    statusChanged = pyqtSignal(object)
    runEnded = pyqtSignal(object)
    quitRequested = pyqtSignal()

    def __init__(
        self,
        settings: Settings,
        *,
        engine: EngineLike,
        run_store: RunStore,
        tray: TrayIcon,
        hotkeys: HotkeyManager,
        overlay: OverlayWindow,
        models: ModelSwapper,
        bridge: EngineBridge | None = None,
        training_worker: Callable[[TrainParams], Any] | None = None,
        encoder_id: str | Callable[[], str | None] | None = None,
        device_text: str = "",
        settings_path: Path | None = None,
        train_defaults: TrainParams | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.engine = engine
        self.run_store = run_store
        self.tray = tray
        self.hotkeys = hotkeys
        self.overlay = overlay
        self.models = models
        self.bridge = bridge or EngineBridge()
        self.training_worker = training_worker
        self._encoder_id = encoder_id
        self.device_text = device_text
        self.note = ""
        self.capture_message = ""
        self.settings_path = settings_path
        self.train_defaults = train_defaults
        self.recording = False
        self.extract_marked = False
        self.ending = False
        self.risk: str = settings.inference.risk
        self.hotkeys_error: str | None = None
        self.last_run: Any | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.training_dialog: TrainingDialog | None = None
        self.runs_view: RunsView | None = None
        self.loot_prompt: LootPrompt | None = None

        tray.triggered.connect(self.handle)
        tray.activated.connect(self.show_runs)
        hotkeys.triggered.connect(self.handle_hotkey)
        hotkeys.unavailable.connect(self._on_hotkeys_unavailable)
        hotkeys.installed.connect(self._on_hotkeys_installed)
        overlay.placementChanged.connect(self._on_placement)
        self.bridge.estimate.connect(self._on_estimate)
        self.bridge.noEstimate.connect(self._on_no_estimate)
        self.bridge.errored.connect(self._on_engine_error)
        self.bridge.recovered.connect(self._on_engine_recovered)
        self.bridge.info.connect(lambda msg: self.tray.notify("ArcX", msg))
        self.bridge.warming.connect(self._on_warming)
        overlay.set_risk(self.risk)
        overlay.set_start_key(settings.hotkeys.start_stop)
        self.refresh()

    # ---------------------------------------------------------------- status
    @property
    def encoder_id(self) -> str | None:
        """The running encoder's id (known once the engine has warmed up)."""
        e = self._encoder_id
        return e() if callable(e) else e

    def status(self) -> TrayStatus:
        return TrayStatus(
            recording=self.recording,
            extract_marked=self.extract_marked,
            risk=self.risk,
            overlay_visible=self.settings.overlay.visible,
            has_model=self.models.has_model,
            device=self.device_text,
            model=self.models.describe(),
            hotkeys=self.settings.hotkeys.bindings(),
            hotkeys_error=self.hotkeys_error,
            note=self.note,
        )

    def refresh(self) -> None:
        status = self.status()
        self.tray.update_status(status)
        self.statusChanged.emit(status)

    # ---------------------------------------------------------------- dispatch
    @pyqtSlot(str)
    def handle(self, action: str) -> None:
        """One action id from the tray menu, a hotkey or a test."""
        log.debug("action %s", action)
        try:
            self._dispatch(action)
        except ArcXError as exc:
            log.warning("%s failed: %s", action, exc)
            self.tray.notify("ArcX", str(exc))
        self.refresh()

    @pyqtSlot(str)
    def handle_hotkey(self, name: str) -> None:
        """A hotkey action name ("start_stop", "mark_extract", "cycle_risk", "toggle_overlay")."""
        if name == "start_stop":
            self.handle(A.START_RUN if not self.recording else "run.end.ask")
        elif name == "cycle_risk":
            self.handle(A.risk(next_risk(self.risk)))
        elif name in HOTKEY_ACTIONS:
            self.handle(HOTKEY_ACTIONS[name])
        else:
            log.warning("unknown hotkey action %s", name)

    def _dispatch(self, action: str) -> None:
        if action == A.START_RUN:
            self.start_run()
        elif action == A.MARK_EXTRACT:
            self.mark_extract()
        elif action == A.END_EXTRACTED:
            self.end_run(prompt="extracted")
        elif action == A.END_DIED:
            self.end_run(outcome="died")
        elif action == "run.end.ask":
            self.end_run(prompt="ask")
        elif action.startswith(A.RISK_PREFIX):
            self.set_risk(action[len(A.RISK_PREFIX) :])
        elif action == A.TOGGLE_OVERLAY:
            self.set_overlay_visible(not self.settings.overlay.visible)
        elif action == A.SETTINGS:
            self.show_settings()
        elif action == A.TRAIN:
            self.show_training()
        elif action == A.RUNS:
            self.show_runs()
        elif action == A.OPEN_DATA:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.data_dir())))
        elif action == A.ABOUT:
            self.show_about()
        elif action == A.QUIT:
            self.quitRequested.emit()
        else:
            log.warning("unknown action %s", action)

    # ---------------------------------------------------------------- runs
    def start_run(self) -> None:
        if self.recording or self.ending:
            return
        if getattr(self.engine, "is_warm", True) is False:
            raise ArcXError(
                "ArcX is still getting ready (preparing the encoder for this machine); "
                "start the run again in a moment"
            )
        self.engine.start_run()
        self.recording = True
        self.extract_marked = False
        self.overlay.set_recording(True)
        self.overlay.set_mode(
            OverlayMode.WARMING if self.models.has_model else OverlayMode.NO_MODEL
        )
        self._show_overlay_if_wanted()

    def mark_extract(self) -> None:
        if not self.recording or self.extract_marked:
            return
        self.engine.mark_extract()
        self.extract_marked = True

    def end_run(self, *, outcome: str | None = None, prompt: str | None = None) -> None:
        """Stop recording. outcome "died" labels at once; prompt "extracted"/"ask" asks for
        the loot value afterwards (dismissing it leaves the run unlabelled)."""
        if not self.recording or self.ending:
            return
        self.recording = False
        self.extract_marked = False
        self.ending = True
        self.overlay.set_recording(False)
        self.overlay.set_mode(OverlayMode.IDLE)
        self.overlay.hide()
        loot = 0.0 if outcome == "died" else None
        engine = self.engine

        def done(info: Any) -> None:
            self.ending = False
            self.last_run = info
            self.runEnded.emit(info)
            if prompt is not None:
                self.ask_loot(info, outcome_known=prompt == "extracted")
            self.refresh()

        def failed(exc: BaseException) -> None:
            self.ending = False
            log.error("ending the run failed: %s", exc, exc_info=exc)
            self.tray.notify("ArcX", f"Ending the run failed: {exc}")
            self.refresh()

        call_off_thread(lambda: engine.end_run(outcome, loot), done, failed, name="arcx-end-run")

    def ask_loot(self, info: Any, *, outcome_known: bool) -> LootPrompt:
        run_id = getattr(info, "run_id", None)
        prompt = LootPrompt(_run_title(info), outcome_known=outcome_known)
        prompt.submitted.connect(lambda outcome, value: self.label_run(run_id, outcome, value))
        prompt.dismissed.connect(
            lambda: self.tray.notify("ArcX", "Run kept unlabelled: label it later in Runs…")
        )
        self.loot_prompt = prompt
        prompt.show_in_corner()
        return prompt

    def label_run(self, run_id: str | None, outcome: str, value: float) -> None:
        if run_id is None:
            return
        try:
            self.run_store.label(run_id, outcome, value)
        except (ArcXError, OSError, ValueError) as exc:
            self.tray.notify("ArcX", f"Could not label the run: {exc}")
            return
        if self.runs_view is not None:
            self.runs_view.refresh()

    def set_risk(self, risk: str) -> None:
        self.engine.set_risk(risk)
        self.risk = risk
        self.overlay.set_risk(risk)

    # ---------------------------------------------------------------- overlay
    def set_overlay_visible(self, visible: bool) -> None:
        overlay = self.settings.overlay.model_copy(update={"visible": visible})
        self._save(self.settings.model_copy(update={"overlay": overlay}))
        if visible:
            self._show_overlay_if_wanted()
        elif not self.overlay.unlocked:
            self.overlay.hide()

    def _show_overlay_if_wanted(self) -> None:
        if self.settings.overlay.visible and (self.recording or self.overlay.unlocked):
            self.overlay.show()

    def unlock_overlay(self) -> None:
        """Show the overlay in unlock mode so the player can drag it (double-click locks)."""
        self.overlay.set_unlocked(True)
        self.overlay.show()

    def _on_placement(self, screen_name: str, placement: Any) -> None:
        placements = {**self.settings.overlay.placements, screen_name: placement}
        overlay = self.settings.overlay.model_copy(update={"placements": placements})
        self._save(self.settings.model_copy(update={"overlay": overlay}))
        if self.settings_dialog is not None:  # its OK must not write the old placement back
            self.settings_dialog.set_placements(placements)
        if not self.recording and not self.overlay.unlocked:
            self.overlay.hide()

    @pyqtSlot(object)
    def _on_estimate(self, est: EVEstimate) -> None:
        if self.recording:
            self.overlay.show_estimate(est)

    @pyqtSlot(str)
    def _on_no_estimate(self, reason: str) -> None:
        if not self.recording:
            return
        if reason == "no_model":
            self.overlay.set_mode(OverlayMode.NO_MODEL)
        elif reason == "no_frames":
            self.overlay.set_mode(OverlayMode.WARMING)
        elif reason.startswith("capture_"):
            self.overlay.set_mode(
                OverlayMode.CAPTURE_LOST, self.capture_message or CAPTURE_REASONS.get(reason, "")
            )

    @pyqtSlot(str)
    def _on_engine_error(self, message: str) -> None:
        log.warning("engine: %s", message)
        self.capture_message = message
        if self.recording:
            self.overlay.set_mode(OverlayMode.CAPTURE_LOST, message)
        else:
            self.tray.notify("ArcX", message)

    @pyqtSlot(str)
    def _on_warming(self, message: str) -> None:
        ready = message.startswith("engine ready")
        self.note = "" if ready else f"getting ready: {message}"[:80]
        self.refresh()

    @pyqtSlot()
    def _on_engine_recovered(self) -> None:
        self.capture_message = ""
        if self.recording and self.overlay.mode is OverlayMode.CAPTURE_LOST:
            self.overlay.set_mode(
                OverlayMode.WARMING if self.models.has_model else OverlayMode.NO_MODEL
            )

    # ---------------------------------------------------------------- settings
    def _save(self, settings: Settings) -> None:
        self.settings = settings
        try:
            save_settings(settings, self.settings_path)
        except OSError as exc:
            log.error("could not save settings: %s", exc)

    def apply_settings(self, settings: Settings) -> None:
        """Apply what can change live (the dialog has saved them already)."""
        old = self.settings
        self.settings = settings
        self.overlay.apply_settings(settings.overlay, _screen(settings.capture.monitor))
        self.overlay.set_start_key(settings.hotkeys.start_stop)
        if settings.hotkeys != old.hotkeys:
            self.hotkeys.install(settings.hotkeys.bindings())
        if settings.inference.risk != old.inference.risk and not self.recording:
            self.set_risk(settings.inference.risk)
        if settings.overlay.visible != old.overlay.visible:
            if settings.overlay.visible:
                self._show_overlay_if_wanted()
            elif not self.overlay.unlocked:
                self.overlay.hide()
        self.refresh()

    def show_settings(self) -> SettingsDialog:
        if self.settings_dialog is None:
            dialog = SettingsDialog(self.settings, path=self.settings_path)
            dialog.applied.connect(self.apply_settings)
            dialog.unlockOverlayRequested.connect(self.unlock_overlay)
            dialog.finished.connect(lambda _r: setattr(self, "settings_dialog", None))
            self.settings_dialog = dialog
        _bring_forward(self.settings_dialog)
        return self.settings_dialog

    # ---------------------------------------------------------------- hotkeys
    def _on_hotkeys_unavailable(self, reason: str) -> None:
        first = self.hotkeys_error is None
        self.hotkeys_error = reason
        if first:
            self.tray.notify(
                "ArcX: hotkeys off", f"{reason}. The tray menu does everything the hotkeys do."
            )
        self.refresh()

    def _on_hotkeys_installed(self) -> None:
        self.hotkeys_error = None
        self.refresh()

    # ---------------------------------------------------------------- runs view / training
    def show_runs(self) -> RunsView:
        if self.runs_view is None:
            view = RunsView(self.run_store)
            view.finished.connect(lambda _r: setattr(self, "runs_view", None))
            view.changed.connect(self._refresh_training_summary)
            self.runs_view = view
        else:
            self.runs_view.refresh()
        _bring_forward(self.runs_view)
        return self.runs_view

    def _summary(self) -> Any:
        try:
            runs = self.run_store.list()
        except (ArcXError, OSError) as exc:
            log.warning("could not list runs: %s", exc)
            runs = []
        return summarise_runs(runs, self.encoder_id)

    def _refresh_training_summary(self) -> None:
        if self.training_dialog is not None:
            self.training_dialog.set_summary(self._summary())

    def show_training(self) -> TrainingDialog:
        if self.training_dialog is None:
            factory = self.training_worker or _no_training
            dialog = TrainingDialog(
                self._summary(),
                factory,
                defaults=self.train_defaults,
                can_roll_back=self.models.can_roll_back,
            )
            dialog.modelReady.connect(self.swap_model)
            dialog.rollbackRequested.connect(self.roll_back_model)
            dialog.finished.connect(lambda _r: setattr(self, "training_dialog", None))
            self.training_dialog = dialog
        _bring_forward(self.training_dialog)
        return self.training_dialog

    def swap_model(self, result: Any) -> bool:
        """Hot-swap a finished training's model, only after it verified."""
        try:
            text = self.models.swap_in(result)
        except (ArcXError, OSError) as exc:
            log.warning("new model refused: %s", exc)
            if self.training_dialog is not None:
                self.training_dialog.show_swap_result(
                    False, str(exc), can_roll_back=self.models.can_roll_back
                )
            self.tray.notify("ArcX", f"The new model was not used: {exc}")
            return False
        if self.training_dialog is not None:
            self.training_dialog.show_swap_result(
                True, text, can_roll_back=self.models.can_roll_back
            )
        self.tray.notify("ArcX: new model", text)
        if self.recording:
            self.overlay.set_mode(OverlayMode.WARMING)
        self.refresh()
        return True

    def roll_back_model(self) -> bool:
        try:
            text = self.models.roll_back()
        except (ArcXError, OSError) as exc:
            self.tray.notify("ArcX", f"Could not roll back: {exc}")
            return False
        if self.training_dialog is not None:
            self.training_dialog.show_swap_result(
                True, text, can_roll_back=self.models.can_roll_back
            )
        self.tray.notify("ArcX", text)
        self.refresh()
        return True

    # ---------------------------------------------------------------- about
    def about_text(self) -> str:
        return "\n".join(
            [
                f"ArcX {__version__}",
                f"Device: {self.device_text or 'unknown'}",
                f"Model: {self.models.describe() or 'none yet (recording only)'}",
                f"Encoder: {self.encoder_id or 'unknown'}",
                f"Data: {paths.data_dir()}",
                f"Logs: {paths.log_dir()}",
            ]
        )

    def show_about(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, "About ArcX", self.about_text())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box


def _run_title(info: Any) -> str:
    seconds = run_length(info)
    if seconds is None:
        return ""
    m, s = divmod(round(seconds), 60)
    return f"Run of {m}:{s:02d}, {getattr(info, 'n_decisions', 0)} decisions"


def _no_training(params: TrainParams) -> Any:
    raise ArcXError("training is not available in this build")


def _screen(index: int) -> Any:
    screens = QApplication.screens()
    return screens[index] if 0 <= index < len(screens) else QApplication.primaryScreen()


def _bring_forward(w: QWidget) -> None:
    w.show()
    w.raise_()
    w.activateWindow()
