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
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from PyQt6 import sip
from PyQt6.QtCore import QEvent, QObject, Qt, QTimer, QUrl, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QDesktopServices, QScreen
from PyQt6.QtWidgets import QApplication, QMessageBox, QWidget

from app import __version__
from app.core import paths
from app.core.config import OverlayPlacement, Settings, save_settings
from app.core.data.recorder import RunInfo
from app.core.errors import ArcXError
from app.core.model.ev import EVEstimate, next_risk, risk_name
from app.core.training.types import TrainConfig, TrainResult
from app.core.training.verdict import Verdict
from app.ui.actions import Action, HotkeyAction
from app.ui.help import HelpDialog
from app.ui.hotkeys import HotkeyManager
from app.ui.loot_prompt import LootPrompt
from app.ui.overlay import OverlayMode, OverlayWindow
from app.ui.overlay.view import PAUSED_MODES
from app.ui.parts import EngineLike, ModelSwapper, TrainingWorkerFactory
from app.ui.runs_view import RunStore, RunsView, run_length
from app.ui.settings_dialog import SettingsDialog
from app.ui.training_dialog import DatasetSummary, TrainingDialog, summarise_runs
from app.ui.tray import TrayIcon, TrayStatus
from app.ui.welcome import WelcomeDialog
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

# A capture problem's kind (the bridge's `captureProblem`, or a tick's reason without
# "capture_") → the overlay mode that shows it. Only a failed source is CAPTURE LOST.
PROBLEM_MODES: dict[str, OverlayMode] = {
    "black": OverlayMode.SCREEN_BLACK,
    "frozen": OverlayMode.SCREEN_UNCHANGED,
    "stalled": OverlayMode.SCREEN_UNCHANGED,
    "other": OverlayMode.SCREEN_UNCHANGED,
    "lost": OverlayMode.CAPTURE_LOST,
}

UNDO_MS = 4000
"""the extraction mark and "Died" wait this long before they take effect, so the player
can take them back (the mark hotkey again, or Undo in the tray menu)"""


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
        undo_ms: int = UNDO_MS,
        open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl,
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
        self.about_box: QMessageBox | None = None
        self.message_box: QMessageBox | None = None
        self.open_url = open_url
        self.pending: str | None = None
        """"mark" or "died" while it can still be undone, else None"""
        self._pending_since = 0.0  # time.monotonic() of the press that opened the undo window
        self._pending_timer = QTimer(self)
        self._pending_timer.setSingleShot(True)
        self._pending_timer.setInterval(undo_ms)
        self._pending_timer.timeout.connect(self._commit_pending)
        self._dialogs = _DialogWatch(self._on_dialogs_changed, self)

        tray.triggered.connect(self.handle)
        tray.activated.connect(self.show_runs)
        hotkeys.triggered.connect(self.handle_hotkey)
        hotkeys.unavailable.connect(self._on_hotkeys_unavailable)
        hotkeys.installed.connect(self._on_hotkeys_installed)
        overlay.placementChanged.connect(self._on_placement)
        self.bridge.estimate.connect(self._on_estimate)
        self.bridge.noEstimate.connect(self._on_no_estimate)
        self.bridge.errored.connect(self._on_engine_error)
        self.bridge.captureProblem.connect(self._on_capture_problem)
        self.bridge.recovered.connect(self._on_engine_recovered)
        self.bridge.info.connect(lambda msg: self.tray.notify("ArcX", msg))
        self.bridge.warming.connect(self._on_warming)
        overlay.set_risk(risk_name(self.risk))
        overlay.set_start_key(settings.hotkeys.start_stop)
        overlay.set_mark_key(settings.hotkeys.mark_extract)
        self.help_dialog: HelpDialog | None = None
        self.welcome: WelcomeDialog | None = None
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
            pending=self.pending or "",
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
        if self.welcome is not None and self.welcome.isVisible():  # trying the keys
            self.welcome.hotkey_pressed(hotkey.value)
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
            self.end_run(outcome="died", undoable=True)
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
        elif action is Action.UNDO:
            self.undo()
        elif action is Action.OPEN_DATA:
            self.open_data_folder()
        elif action is Action.HELP:
            self.show_help()
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
        """The mark hotkey / menu item: mark extracting after the undo window; pressed
        again while something can be undone, it undoes it."""
        if not self.recording:
            return
        if self.pending is not None:
            self.undo()
            return
        if self.extract_marked:
            return
        self.extract_marked = True
        key = self.settings.hotkeys.mark_extract.upper()
        self._begin_pending("mark", f"EXTRACTING marked · {key} again to undo")

    def _begin_pending(self, kind: str, banner: str) -> None:
        self.pending = kind
        self._pending_since = time.monotonic()
        self._pending_timer.start()
        self.overlay.set_banner(banner)
        if not self.overlay.isVisible():  # the player must see it somewhere
            self.tray.notify("ArcX", banner)

    def undo(self) -> None:
        """Take back the extraction mark or "Died" while its undo window is open."""
        kind, self.pending = self.pending, None
        if kind is None:
            return
        self._pending_timer.stop()
        if kind == "mark":
            self.extract_marked = False
        self.overlay.set_banner("undone: mark" if kind == "mark" else "undone: still in the run")
        QTimer.singleShot(self._pending_timer.interval(), self._clear_undo_banner)
        self.refresh()

    def _clear_undo_banner(self) -> None:
        if self.pending is None and self.overlay.state.banner.startswith("undone"):
            self.overlay.set_banner("")

    def _commit_mark(self) -> None:
        """Tell the engine about the mark, dated back to the key press: the undo window
        must not turn the first seconds of the walk out into "stay" labels."""
        self.engine.mark_extract(ago_s=max(0.0, time.monotonic() - self._pending_since))

    def _commit_pending(self) -> None:
        kind, self.pending = self.pending, None
        if kind == "mark" and self.recording:
            self._commit_mark()
            self.overlay.set_banner("EXTRACTING marked")
        elif kind == "died":
            self._end_run_now(outcome="died")
        self.refresh()

    def end_run(
        self, *, outcome: str | None = None, prompt: str | None = None, undoable: bool = False
    ) -> None:
        """Stop recording. outcome "died" labels the run (with `undoable`, the tray's Died,
        after the undo window); prompt "extracted"/"ask" asks for the loot value afterwards
        (dismissing it leaves the run unlabelled)."""
        if not self.recording or self.ending:
            return
        if outcome == "died" and undoable:
            if self.pending == "died":
                return
            if self.pending == "mark":  # the mark stands: the player left by dying
                self._pending_timer.stop()
                self.pending = None
                self._commit_mark()
            key = self.settings.hotkeys.mark_extract.upper()
            self._begin_pending("died", f"DIED: run ends in a moment · {key} to undo")
            return
        if self.pending == "mark":  # ending commits the mark first
            self._pending_timer.stop()
            self.pending = None
            self._commit_mark()
        self._end_run_now(outcome=outcome, prompt=prompt)

    def _end_run_now(self, *, outcome: str | None = None, prompt: str | None = None) -> None:
        if not self.recording or self.ending:
            return
        self.recording = False
        self.extract_marked = False
        self.ending = True
        self.overlay.set_banner("")
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
        if (
            self.overlay.unlocked
            or self.settings.overlay.visible
            and self.recording
            and not self._dialogs.any_open
        ):
            self.overlay.show()

    def _on_dialogs_changed(self, any_open: bool) -> None:
        """ArcX's own windows come first: the always-on-top overlay steps aside while one
        is open (not in unlock mode, where the player is placing it)."""
        if any_open and not self.overlay.unlocked:
            self.overlay.hide()
        elif not any_open:
            self._show_overlay_if_wanted()

    def watch_dialog(self, widget: QWidget) -> None:
        """Hide the overlay while `widget` (one of ArcX's windows) is shown."""
        self._dialogs.watch(widget)

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
            mode = PROBLEM_MODES.get(reason.removeprefix("capture_"), OverlayMode.SCREEN_UNCHANGED)
            self.overlay.set_mode(mode, self.capture_message or CAPTURE_REASONS.get(reason, ""))

    @pyqtSlot(str, str)
    def _on_capture_problem(self, kind: str, message: str) -> None:
        """Black, unchanged or missing frames: amber on the overlay during a run; between
        runs only a tooltip line (a still desktop is no news)."""
        log.info("capture: %s", message)
        self.capture_message = message
        mode = PROBLEM_MODES.get(kind, OverlayMode.SCREEN_UNCHANGED)
        if self.recording:
            self.overlay.set_mode(mode, message)
        self._set_capture_note(mode)

    @pyqtSlot(str)
    def _on_engine_error(self, message: str) -> None:
        """Capture really stopped: red CAPTURE LOST during a run; between runs a tooltip
        line, no toast (the next run shows it on the overlay)."""
        log.warning("engine: %s", message)
        self.capture_message = message
        if self.recording:
            self.overlay.set_mode(OverlayMode.CAPTURE_LOST, message)
        self._set_capture_note(OverlayMode.CAPTURE_LOST)

    def _set_capture_note(self, mode: OverlayMode | None) -> None:
        notes = {
            OverlayMode.CAPTURE_LOST: "capture stopped: see Settings > Capture",
            OverlayMode.SCREEN_BLACK: "captured screen is black",
            OverlayMode.SCREEN_UNCHANGED: "captured screen unchanged",
        }
        note = notes.get(mode, "") if mode is not None else ""
        if not self.note.startswith("getting ready"):
            self.note = note
            self.refresh()

    @pyqtSlot(str)
    def _on_warming(self, message: str) -> None:
        ready = message.startswith("engine ready")
        self.note = "" if ready else f"getting ready: {message}"[:80]
        self.refresh()

    @pyqtSlot()
    def _on_engine_recovered(self) -> None:
        self.capture_message = ""
        self._set_capture_note(None)
        if self.recording and self.overlay.mode in PAUSED_MODES:
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
        self.overlay.set_mark_key(settings.hotkeys.mark_extract)
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
            dialog.helpRequested.connect(self.show_help)
            dialog.finished.connect(lambda _r: setattr(self, "settings_dialog", None))
            self.watch_dialog(dialog)
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
            self.watch_dialog(view)
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
            dialog.verdictReady.connect(self._on_verdict)
            dialog.rollbackRequested.connect(self.roll_back_model)
            dialog.finished.connect(lambda _r: setattr(self, "training_dialog", None))
            self.watch_dialog(dialog)
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

    def _on_verdict(self, verdict: Verdict) -> None:
        """A model no better than guessing (or barely tested) is flagged where the player
        looks: a tray message, and a line in the tooltip until the next training."""
        if verdict.warn:
            self.tray.notify("ArcX: do not trust the new model yet", verdict.headline)
            self.note = "new model: " + {
                "useless": "no better than guessing",
                "weak": "barely better than guessing",
                "untested": "not tested",
            }.get(verdict.level, "")
        elif self.note.startswith("new model:"):
            self.note = ""
        self.refresh()

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
        """The About box. The controller keeps it (a parentless box nobody holds is
        garbage-collected before it is drawn) until it closes."""
        if self.about_box is None:
            box = QMessageBox(QMessageBox.Icon.Information, "About ArcX", self.about_text())
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.finished.connect(lambda _r: setattr(self, "about_box", None))
            self.watch_dialog(box)
            self.about_box = box
        _bring_forward(self.about_box)
        return self.about_box

    def show_welcome(self) -> WelcomeDialog:
        """The first-run welcome; remembers (in the settings) that it was shown."""
        if self.welcome is None:
            dialog = WelcomeDialog(self.settings.hotkeys.bindings())
            dialog.captureRequested.connect(self._welcome_capture)
            dialog.finished.connect(lambda _r: setattr(self, "welcome", None))
            self.watch_dialog(dialog)
            self.welcome = dialog
        if not self.settings.welcomed:
            self._save(self.settings.model_copy(update={"welcomed": True}))
        _bring_forward(self.welcome)
        return self.welcome

    def _welcome_capture(self) -> None:
        dialog = self.show_settings()
        dialog.tabs.setCurrentIndex(0)

    def show_help(self) -> HelpDialog:
        """The "What do these numbers mean?" panel (tray menu, Settings)."""
        if self.help_dialog is None:
            keys = self.settings.hotkeys
            dialog = HelpDialog(
                self.settings.overlay.unit, keys.mark_extract.upper(), keys.start_stop.upper()
            )
            dialog.finished.connect(lambda _r: setattr(self, "help_dialog", None))
            self.watch_dialog(dialog)
            self.help_dialog = dialog
        _bring_forward(self.help_dialog)
        return self.help_dialog

    def open_data_folder(self) -> bool:
        """Open the data folder in the file manager; where none opens it, say where it is
        (in a box, since the tray may be missing too) and copy the path."""
        folder = paths.data_dir()
        if self.open_url(QUrl.fromLocalFile(str(folder))):
            return True
        clipboard = QApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(str(folder))
        self.show_message(
            "ArcX data folder",
            f"No file manager could open the data folder. It is:\n\n{folder}\n\n"
            "(the path is on the clipboard)",
        )
        return False

    def show_message(self, title: str, text: str) -> QMessageBox:
        """A non-modal information box the controller keeps until it closes."""
        if self.message_box is not None:
            self.message_box.close()
        box = QMessageBox(QMessageBox.Icon.Information, title, text)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.finished.connect(lambda _r: setattr(self, "message_box", None))
        self.watch_dialog(box)
        self.message_box = box
        _bring_forward(box)
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


class _DialogWatch(QObject):
    """Knows whether any watched ArcX window is on screen; calls back when that changes.

    Holds weak references only, so a dialog the controller lets go is still collected."""

    def __init__(self, changed: Callable[[bool], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._changed = changed
        self._widgets: list[weakref.ref[QWidget]] = []
        self._was_open = False

    @property
    def any_open(self) -> bool:
        return any(_shown(ref()) for ref in self._widgets)

    def watch(self, widget: QWidget) -> None:
        self._widgets = [r for r in self._widgets if r() is not None] + [weakref.ref(widget)]
        widget.installEventFilter(self)
        self._update()

    def _update(self) -> None:
        now = self.any_open
        if now != self._was_open:
            self._was_open = now
            self._changed(now)

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:  # noqa: N802
        if event is not None and event.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            # after the event: a Hide is delivered while the widget still counts as visible
            QTimer.singleShot(0, self._update)
        return False


def _shown(w: QWidget | None) -> bool:
    if w is None or sip.isdeleted(w):
        return False
    return w.isVisible()
