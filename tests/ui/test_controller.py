"""Tray actions and hotkeys driving the engine and the recorder, through the controller.

The engine here is a small fake that records through the real `RunRecorder`, so the
runs the tray starts and ends are real runs on disk, labelled through the real store.
"""


import numpy as np
import pytest
from PyQt6.QtWidgets import QApplication

from app.core.config import Settings, load_settings
from app.core.data.recorder import RunRecorder, list_runs
from app.core.errors import CheckpointMismatchError
from app.core.model.ev import compute_ev
from app.ui.actions import Action
from app.ui.controller import AppController
from app.ui.hotkeys import FakeHotkeyBackend, HotkeyManager
from app.ui.overlay import OverlayMode, OverlayWindow
from app.ui.runs_view import CoreRunStore
from app.ui.tray import TrayIcon
from app.workers.bridge import EngineBridge
from tests.coretypes import ev_tick, notice, train_result

pytestmark = pytest.mark.gui

UNDO_TEST_MS = 60
"""the undo window in these tests (the app's is `UNDO_MS`)"""


class FakeEngine:
    is_warm = True

    def __init__(self, root):
        self.recorder = RunRecorder(root, flush_interval_s=60.0)
        self.calls = []
        self.risk = None

    def start_run(self):
        self.calls.append("start_run")
        run_id = self.recorder.start_run(encoder_id="enc-test", fps=8.0, latent_dim=4)
        for i in range(8):
            self.recorder.add_frame(np.zeros(4, np.float32), i / 8)
        self.recorder.add_decision(0.875, 7, None)
        return run_id

    def mark_extract(self, ago_s=0.0):
        self.calls.append("mark_extract")
        self.marked_ago_s = ago_s
        self.recorder.mark_extract()

    def end_run(self, outcome, loot=None):
        self.calls.append(("end_run", outcome, loot))
        return self.recorder.end_run(outcome, loot)

    def set_risk(self, risk):
        self.calls.append(("set_risk", risk))
        self.risk = risk


class FakeModels:
    def __init__(self, has_model=False):
        self.has_model = has_model
        self.can_roll_back = False
        self.swapped = []
        self.refuse = None

    def describe(self):
        return "epoch 3" if self.has_model else ""

    def swap_in(self, result):
        if self.refuse:
            raise CheckpointMismatchError(self.refuse)
        self.swapped.append(result)
        self.has_model = True
        self.can_roll_back = True
        return "New model in use."

    def roll_back(self):
        self.swapped.append("rollback")
        return "Previous model in use."


@pytest.fixture
def ctx(qtbot, tmp_path):
    root = tmp_path / "runs"
    engine = FakeEngine(root)
    backend = FakeHotkeyBackend()
    hotkeys = HotkeyManager(backend)
    tray = TrayIcon(use_pystray=False)
    overlay = OverlayWindow()
    qtbot.addWidget(overlay)
    models = FakeModels()
    settings_path = tmp_path / "settings.json"
    opened: list = []
    open_ok = [True]
    c = AppController(
        Settings(),
        engine=engine,
        run_store=CoreRunStore(root),
        tray=tray,
        hotkeys=hotkeys,
        overlay=overlay,
        models=models,
        bridge=EngineBridge(),
        encoder_id="enc-test",
        device_text="cpu: test",
        settings_path=settings_path,
        undo_ms=UNDO_TEST_MS,
        open_url=lambda url: opened.append(url) or open_ok[0],
    )
    with qtbot.waitSignal(hotkeys.installed):
        hotkeys.install(c.settings.hotkeys.bindings())
    notes = []
    tray.notify = lambda title, msg: notes.append((title, msg))
    yield type(
        "Ctx",
        (),
        dict(
            c=c,
            engine=engine,
            backend=backend,
            tray=tray,
            overlay=overlay,
            models=models,
            root=root,
            notes=notes,
            settings_path=settings_path,
            opened=opened,
            open_ok=open_ok,
        ),
    )
    for w in QApplication.topLevelWidgets():
        w.close()


def trigger(tray, action_id):
    tray.backend.actions[action_id].trigger()


def test_tray_start_mark_and_end_died_records_a_labelled_run(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    assert ctx.c.recording and ctx.engine.calls == ["start_run"]
    assert ctx.overlay.isVisible() and ctx.overlay.mode is OverlayMode.NO_MODEL
    assert not ctx.tray.backend.actions[Action.START_RUN].isEnabled()
    trigger(ctx.tray, Action.MARK_EXTRACT)
    assert ctx.tray.backend.actions[Action.MARK_EXTRACT].isChecked()
    qtbot.waitUntil(lambda: ctx.engine.calls[-1] == "mark_extract")  # after the undo window
    with qtbot.waitSignal(ctx.c.runEnded, timeout=10000) as blocker:
        trigger(ctx.tray, Action.END_DIED)
    assert ctx.engine.calls[-1] == ("end_run", "died", 0.0)
    assert not ctx.c.recording and not ctx.overlay.isVisible()
    (run,) = list_runs(ctx.root)
    assert run.run_id == blocker.args[0].run_id
    assert (run.outcome, run.final_loot_value) == ("died", 0.0)
    assert run.extract_mark_t is not None
    assert ctx.tray.backend.actions[Action.START_RUN].isEnabled()


def test_end_extracted_asks_for_the_loot_and_labels_the_run(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    with qtbot.waitSignal(ctx.c.runEnded, timeout=10000):
        trigger(ctx.tray, Action.END_EXTRACTED)
    assert ctx.engine.calls[-1] == ("end_run", None, None)
    prompt = ctx.c.loot_prompt
    assert prompt is not None and prompt.isVisible()
    assert not prompt.died_button.isVisibleTo(prompt)
    prompt.value.setText("23,400")
    prompt.save()
    (run,) = list_runs(ctx.root)
    assert (run.outcome, run.final_loot_value) == ("extracted", 23400.0)


def test_dismissing_the_prompt_leaves_the_run_unlabelled(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    with qtbot.waitSignal(ctx.c.runEnded, timeout=10000):
        trigger(ctx.tray, Action.END_EXTRACTED)
    ctx.c.loot_prompt.later()
    (run,) = list_runs(ctx.root)
    assert run.outcome is None
    assert any("unlabelled" in msg for _, msg in ctx.notes)


def test_hotkeys_reach_the_same_actions(qtbot, ctx):
    ctx.backend.press("f8")  # start
    qtbot.waitUntil(lambda: ctx.c.recording)
    ctx.backend.press("f9")  # mark extracting
    qtbot.waitUntil(lambda: "mark_extract" in ctx.engine.calls)
    ctx.backend.press("f10")  # cycle risk
    qtbot.waitUntil(lambda: ctx.c.risk == "aggressive")
    with qtbot.waitSignal(ctx.c.runEnded, timeout=10000):
        ctx.c.hotkeys._last.clear()  # the F8 repeat guard: this is a second press, not a hold
        ctx.backend.press("f8")  # stop: ends the run and asks how it went
    prompt = ctx.c.loot_prompt
    assert prompt.died_button.isVisibleTo(prompt)
    prompt.died()
    assert [r.outcome for r in list_runs(ctx.root)] == ["died"]
    assert ctx.engine.calls[:3] == ["start_run", "mark_extract", ("set_risk", "aggressive")]


def test_risk_cycles_safe_neutral_aggressive(qtbot, ctx):
    seen = []
    for _ in range(4):
        ctx.c.handle_hotkey("cycle_risk")
        seen.append(ctx.c.risk)
    assert seen == ["aggressive", "safe", "neutral", "aggressive"]
    assert ctx.tray.backend.actions[Action.risk("aggressive")].isChecked()
    assert ctx.overlay.view().risk.startswith("AGGRESSIVE")
    trigger(ctx.tray, Action.risk("safe"))
    assert ctx.engine.risk == "safe" and ctx.c.risk == "safe"


def test_toggle_overlay_is_saved(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    assert ctx.overlay.isVisible()
    trigger(ctx.tray, Action.TOGGLE_OVERLAY)
    assert not ctx.overlay.isVisible()
    assert load_settings(ctx.settings_path).settings.overlay.visible is False
    ctx.c.handle_hotkey("toggle_overlay")
    assert ctx.overlay.isVisible()


def test_estimates_and_capture_loss_reach_the_overlay(qtbot, ctx):
    ctx.models.has_model = True
    trigger(ctx.tray, Action.START_RUN)
    assert ctx.overlay.mode is OverlayMode.WARMING
    est = compute_ev(np.stack([np.linspace(0, 2, 16), np.linspace(0, 1, 16)]), "neutral")
    ctx.c.bridge.on_estimate(est)  # as the engine would, from its thread
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.LIVE)
    ctx.c.bridge.on_error("no frames for 3 s")
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.CAPTURE_LOST)
    assert ctx.overlay.view().detail == "no frames for 3 s"  # compact: the reason is the line
    ctx.c.bridge.on_recovered()
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.WARMING)


def test_hotkey_failure_shows_in_tray_and_the_menu_still_works(qtbot, tmp_path, ctx):
    hotkeys = HotkeyManager(FakeHotkeyBackend(fail_with=PermissionError("access denied")))
    c = ctx.c
    hotkeys.triggered.connect(c.handle_hotkey)
    hotkeys.unavailable.connect(c._on_hotkeys_unavailable)
    with qtbot.waitSignal(hotkeys.unavailable):
        hotkeys.install(c.settings.hotkeys.bindings())
    assert c.hotkeys_error and "administrator" in c.hotkeys_error
    assert "hotkeys off" in ctx.tray.backend.icon.toolTip()
    assert ctx.notes and "hotkeys off" in ctx.notes[0][0]
    trigger(ctx.tray, Action.START_RUN)
    assert c.recording


def test_settings_applied_live(qtbot, ctx):
    dialog = ctx.c.show_settings()
    dialog.hotkey_edits["start_stop"].setText("f7")
    dialog.opacity.setValue(95)
    dialog.risk.setCurrentIndex(dialog.risk.findData("safe"))
    with qtbot.waitSignal(ctx.c.hotkeys.installed):
        dialog.apply()
    assert "f7" in ctx.backend.bindings and "f8" not in ctx.backend.bindings
    assert ctx.overlay.windowOpacity() == pytest.approx(0.95, abs=0.01)
    assert ctx.c.risk == "safe" and ctx.engine.risk == "safe"
    assert ctx.tray.backend.actions[Action.START_RUN].text().endswith("F7")
    assert ctx.c.show_settings() is dialog  # one dialog, brought forward


def test_swap_and_roll_back(qtbot, ctx):
    dialog = ctx.c.show_training()
    result = train_result()
    assert ctx.c.swap_model(result)
    assert ctx.models.swapped == [result]
    assert dialog.status.text() == "New model in use." and dialog.rollback_button.isEnabled()
    assert ctx.tray.status.has_model
    ctx.models.refuse = "trained on another encoder"
    assert not ctx.c.swap_model(train_result(encoder_id="enc-other"))
    assert "another encoder" in dialog.status.text()
    with qtbot.waitSignal(ctx.c.statusChanged):
        dialog.rollback_button.click()
    assert ctx.models.swapped[-1] == "rollback"


def test_about_names_version_device_model_encoder(ctx):
    text = ctx.c.about_text()
    assert "ArcX" in text and "cpu: test" in text and "enc-test" in text and "Model:" in text


def test_ticks_without_ev_say_why_on_the_overlay(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    bridge = ctx.c.bridge
    bridge.on_tick(ev_tick(None, "no_frames"))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.WARMING)
    bridge.on_tick(ev_tick(None, "no_model"))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.NO_MODEL)
    bridge.on_tick(ev_tick(None, "capture_black"))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.SCREEN_BLACK)
    bridge.on_tick(ev_tick(None, "capture_lost"))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.CAPTURE_LOST)
    assert ctx.overlay.view().detail == "screen capture stopped"
    bridge.on_notice(notice("capture_problem", "the game window is minimised"))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.SCREEN_UNCHANGED)
    bridge.on_notice(notice("capture_ok", "frames are back"))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.NO_MODEL)
    est = compute_ev(np.stack([np.linspace(0, 2, 16), np.linspace(0, 1, 16)]), "neutral")
    bridge.on_tick(ev_tick(est, None))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.LIVE)


def test_engine_info_notices_reach_the_tray_and_warm_up_shows_in_the_tooltip(qtbot, ctx):
    ctx.c.bridge.on_notice(notice("fps_lowered", "capturing at 4 FPS instead of 8"))
    qtbot.waitUntil(lambda: ("ArcX", "capturing at 4 FPS instead of 8") in ctx.notes)
    ctx.c.bridge.on_warming("checking the encoder paths")
    qtbot.waitUntil(lambda: "getting ready" in ctx.tray.backend.icon.toolTip())
    ctx.c.bridge.on_warming("engine ready: fp32 encoder, 8 FPS")
    qtbot.waitUntil(lambda: "getting ready" not in ctx.tray.backend.icon.toolTip())


def test_a_run_cannot_start_before_the_engine_is_warm(qtbot, ctx):
    ctx.engine.is_warm = False
    trigger(ctx.tray, Action.START_RUN)
    assert not ctx.c.recording
    assert any("getting ready" in msg for _, msg in ctx.notes)


def test_dragging_the_overlay_while_settings_are_open_is_not_undone_by_ok(qtbot, ctx):
    dialog = ctx.c.show_settings()
    dialog.unlockOverlayRequested.emit()
    assert ctx.overlay.unlocked and ctx.overlay.isVisible()
    avail = ctx.overlay.target_screen().availableGeometry()
    from PyQt6.QtCore import QPoint

    place = ctx.overlay.drop_at(QPoint(avail.left() + 300, avail.top() + 200))
    assert dialog.corner.currentText() == "custom"
    dialog.opacity.setValue(97)
    dialog.apply()
    saved = load_settings(ctx.settings_path).settings
    assert saved.overlay.placements[ctx.overlay.target_screen().name()] == place
    assert saved.overlay.opacity == pytest.approx(0.97)


def test_hiding_the_overlay_in_settings_applies_at_once(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    assert ctx.overlay.isVisible()
    dialog = ctx.c.show_settings()
    dialog.overlay_visible.setChecked(False)
    dialog.apply()
    assert not ctx.overlay.isVisible()
    assert not ctx.tray.backend.actions[Action.TOGGLE_OVERLAY].isChecked()
