"""The app's glue: tray, hotkeys and dialogs in; engine, recorder and overlay out.

Every user action, from the tray menu or a hotkey, becomes one `Action`
(`app.ui.actions`) and goes through `AppController.handle`, so the two paths cannot
drift apart. The controller
holds the little state the UI needs (recording, extract marked, risk, overlay shown,
model loaded) and calls core through narrow interfaces:

* `EngineLike` (`app.ui.parts`): the real-time engine (`app.core.engine`). Its callbacks
  arrive on engine threads; `EngineBridge` (`app.workers.bridge`) turns them into queued
  signals, so the controller only ever runs on the Qt main thread.
* `RunStore` (`app.ui.runs_view`): list / label / delete recorded runs.
* `ModelSwapper` (`app.ui.parts`; `app.core.model.slot.ModelSlot`): verifies a
  checkpoint and loads it into the engine, remembering the previous model for roll-back.

Slow core calls (ending a run compacts its files) run on a one-shot worker
(`app.workers.call.call_off_thread`); their result comes back as a queued signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QObject, Qt, QUrl, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QDesktopServices, QScreen
from PyQt6.QtWidgets import QApplication, QMessageBox, QWidget

from app import __version__
from app.core import paths
from app.core.config import OverlayPlacement, Settings, save_settings
from app.core.data.recorder import RunInfo
from app.core.errors import ArcXError
from app.core.model.ev import EVEstimate, next_risk, risk_name
from app.core.training.trainer import TrainConfig, TrainResult
from app.ui.actions import Action, HotkeyAction
from app.ui.hotkeys import HotkeyManager
from app.ui.loot_prompt import LootPrompt
from app.ui.overlay import OverlayMode, OverlayWindow
from app.ui.parts import EngineLike, ModelSwapper, TrainingWorkerFactory
from app.ui.runs_view import RunStore, RunsView, run_length
from app.ui.settings_dialog import SettingsDialog
from app.ui.training_dialog import DatasetSummary, TrainingDialog, summarise_runs
from app.ui.tray import TrayIcon, TrayStatus
from app.workers.bridge import EngineBridge
from app.workers.call import call_off_thread
from app.workers.training import TrainingWorker

log = logging.getLogger(__name__)

# Hotkey → action (start_stop depends on the state, cycle_risk on the risk: see handle_hotkey).
HOTKEY_ACTIONS: dict[HotkeyAction, Action] = {
    HotkeyAction.MARK_EXTRACT: Action.MARK_EXTRACT,
    HotkeyAction.TOGGLE_OVERLAY: Action.TOGGLE_OVERLAY,
}


# Overlay text for a tick without EV whose capture problem came without a notice.
CAPTURE_REASONS: dict[str, str] = {
    "capture_black": "the captured screen is black",
    "capture_frozen": "the captured picture stopped changing",
    "capture_stalled": "no frames from the screen",
    "capture_lost": "screen capture stopped",
}


class AppController(QObject):
    """Handles every action and keeps tray, overlay and engine in step.

    Signals:
        statusChanged(object): the new `TrayStatus` after any change.
        runEnded(RunInfo): a run ended; the run's info from the engine.
        quitRequested(): the player chose Quit.
    """

    statusChanged = pyqtSignal(TrayStatus)
    runEnded = pyqtSignal(RunInfo)
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
        training_worker: TrainingWorkerFactory | None = None,
        encoder_id: str | Callable[[], str | None] | None = None,
        device_text: str = "",
        settings_path: Path | None = None,
        train_defaults: TrainConfig | None = None,
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
        self.risk: str | float = settings.inference.risk
        """a profile name or a custom η (settings)"""
        self.hotkeys_error: str | None = None
        self.last_run: RunInfo | None = None
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
        overlay.set_risk(risk_name(self.risk))
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
            risk=risk_name(self.risk),
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
        """One action id (an `Action` value) from the tray menu, a hotkey or a test."""
        log.debug("action %s", action)
        try:
            parsed = Action(action)
        except ValueError:
            log.warning("unknown action %s", action)
            return
        try:
            self._dispatch(parsed)
        except ArcXError as exc:
            log.warning("%s failed: %s", parsed.value, exc)
            self.tray.notify("ArcX", str(exc))
        self.refresh()

    @pyqtSlot(str)
    def handle_hotkey(self, name: str) -> None:
        """A hotkey binding's name (a `HotkeyAction` value: "start_stop", "cycle_risk", …)."""
        try:
            hotkey = HotkeyAction(name)
        except ValueError:
            log.warning("unknown hotkey action %s", name)
            return
        if hotkey is HotkeyAction.START_STOP:
            self.handle(Action.START_RUN if not self.recording else Action.END_ASK)
        elif hotkey is HotkeyAction.CYCLE_RISK:
            self.handle(Action.risk(next_risk(risk_name(self.risk))))
        else:
            self.handle(HOTKEY_ACTIONS[hotkey])

    def _dispatch(self, action: Action) -> None:
        risk = action.risk_name
        if action is Action.START_RUN:
            self.start_run()
        elif action is Action.MARK_EXTRACT:
            self.mark_extract()
        elif action is Action.END_EXTRACTED:
            self.end_run(prompt="extracted")
        elif action is Action.END_DIED:
            self.end_run(outcome="died")
        elif action is Action.END_ASK:
            self.end_run(prompt="ask")
        elif risk is not None:
            self.set_risk(risk)
        elif action is Action.TOGGLE_OVERLAY:
            self.set_overlay_visible(not self.settings.overlay.visible)
        elif action is Action.SETTINGS:
            self.show_settings()
        elif action is Action.TRAIN:
            self.show_training()
        elif action is Action.RUNS:
            self.show_runs()
        elif action is Action.OPEN_DATA:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.data_dir())))
        elif action is Action.ABOUT:
            self.show_about()
        elif action is Action.QUIT:
            self.quitRequested.emit()

    # ---------------------------------------------------------------- runs
    def start_run(self) -> None:
        if self.recording or self.ending:
            return
        if not self.engine.is_warm:
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

        def done(info: RunInfo) -> None:
            self.ending = False
            self.last_run = info
            self.runEnded.emit(info)
            if prompt is not None:
                self.ask_loot(info, outcome_known=prompt == "extracted")
            self.refresh()

        def failed(message: str) -> None:
            self.ending = False
            log.error("ending the run failed: %s", message)
            self.tray.notify("ArcX", f"Ending the run failed: {message}")
            self.refresh()

        call_off_thread(lambda: engine.end_run(outcome, loot), done, failed, name="arcx-end-run")

    def ask_loot(self, info: RunInfo, *, outcome_known: bool) -> LootPrompt:
        run_id = info.run_id
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

    def set_risk(self, risk: str | float) -> None:
        """A profile name or a custom η (from the settings)."""
        self.engine.set_risk(risk)
        self.risk = risk
        self.overlay.set_risk(risk_name(risk))

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

    def _on_placement(self, screen_name: str, placement: OverlayPlacement) -> None:
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

    def _summary(self) -> DatasetSummary:
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

    def swap_model(self, result: TrainResult) -> bool:
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


def _run_title(info: RunInfo) -> str:
    seconds = run_length(info)
    if seconds is None:
        return ""
    m, s = divmod(round(seconds), 60)
    return f"Run of {m}:{s:02d}, {info.n_decisions} decisions"


def _no_training(config: TrainConfig) -> TrainingWorker:
    raise ArcXError("training is not available in this build")


def _screen(index: int) -> QScreen | None:
    screens = QApplication.screens()
    return screens[index] if 0 <= index < len(screens) else QApplication.primaryScreen()


def _bring_forward(w: QWidget) -> None:
    w.show()
    w.raise_()
    w.activateWindow()
