# ruff: noqa: F811  (the ctx fixture is imported from test_controller)
"""Issue 15: what a player sees is true, readable and can be taken back.

The broken items (About, Open data folder, the overlay over ArcX's own dialogs, the
hotkeys toast, cut-off placeholders, the loss chart's caption, mark / Died feedback and
undo), the false alarms (capture toasts between runs, a still screen as CAPTURE LOST,
cut-off messages and tooltip), and the compact overlay, its unit, contrast and help.
Uses the controller fixture of test_controller.py.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from PyQt6.QtCore import QRectF
from PyQt6.QtGui import QFont, QFontMetricsF
from PyQt6.QtWidgets import QApplication

from app.core.capture.health import HealthVerdict
from app.core.config import OverlaySettings
from app.core.model.ev import compute_ev
from app.ui import hotkeys as hk
from app.ui.actions import Action
from app.ui.hotkeys import FakeHotkeyBackend, HotkeyManager
from app.ui.loot_prompt import LootPrompt
from app.ui.loss_chart import LossChart, axis_captions
from app.ui.overlay import OverlayMode, OverlayWindow, overlay_view
from app.ui.overlay import view as ov
from app.ui.overlay.painter import LAYOUT, elide, fit_wrapped, render_view_image
from app.ui.overlay.window import READABLE_OPACITY
from app.ui.runs_view import LabelDialog
from app.ui.settings_dialog import HotkeyEdit
from app.ui.tray import TOOLTIP_MAX, TrayStatus, tooltip
from tests.coretypes import notice
from tests.ui.test_controller import UNDO_TEST_MS, ctx, trigger  # noqa: F401 (the fixture)

pytestmark = pytest.mark.gui


def estimate(stay: float, extract: float, width: float = 400):
    k = 16
    q = np.stack(
        [
            np.linspace(stay - width, stay + width, k),
            np.linspace(extract - width / 4, extract + width / 4, k),
        ]
    )
    return compute_ev(q, "neutral")


# ------------------------------------------------------------------ broken items
def test_about_opens_and_survives_garbage_collection(qtbot, ctx):
    trigger(ctx.tray, Action.ABOUT)
    gc.collect()
    QApplication.processEvents()
    box = ctx.c.about_box
    assert box is not None and box.isVisible()
    assert "ArcX" in box.text() and "cpu: test" in box.text()
    box.close()
    qtbot.waitUntil(lambda: ctx.c.about_box is None)


def test_open_data_folder_says_where_it_is_when_no_file_manager_opens_it(qtbot, ctx):
    trigger(ctx.tray, Action.OPEN_DATA)
    assert len(ctx.opened) == 1 and ctx.c.message_box is None  # a file manager opened it
    ctx.open_ok[0] = False
    trigger(ctx.tray, Action.OPEN_DATA)
    box = ctx.c.message_box
    folder = ctx.opened[-1].toLocalFile()
    assert box is not None and box.isVisible() and folder in box.text()
    assert QApplication.clipboard().text() == folder


def test_the_overlay_steps_aside_for_arcx_dialogs(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    assert ctx.overlay.isVisible()
    runs = ctx.c.show_runs()
    assert runs.isVisible()
    qtbot.waitUntil(lambda: not ctx.overlay.isVisible())
    settings = ctx.c.show_settings()
    runs.close()
    qtbot.wait(20)
    assert not ctx.overlay.isVisible()  # Settings is still open
    settings.close()
    qtbot.waitUntil(ctx.overlay.isVisible)
    ctx.c.show_about()
    qtbot.waitUntil(lambda: not ctx.overlay.isVisible())
    ctx.c.about_box.close()
    qtbot.waitUntil(ctx.overlay.isVisible)


def test_hotkeys_toast_never_shows_a_bare_exception_name(qtbot, ctx):
    assert "AssertionError" not in hk.describe_hook_error(AssertionError())
    assert "tray menu" in hk.describe_hook_error(AssertionError())
    hotkeys = HotkeyManager(FakeHotkeyBackend(fail_with=AssertionError()))
    hotkeys.unavailable.connect(ctx.c._on_hotkeys_unavailable)
    with qtbot.waitSignal(hotkeys.unavailable):
        hotkeys.install(ctx.c.settings.hotkeys.bindings())
    assert ctx.notes and all("Error" not in msg for _, msg in ctx.notes)


def test_placeholders_fit_their_fields(qtbot):
    label = LabelDialog("extracted", None)
    prompt = LootPrompt("Run of 1:00", outcome_known=True)
    edit = HotkeyEdit("")
    for w in (label, prompt, edit):
        qtbot.addWidget(w)
    for field in (label.value, prompt.value, edit):
        text = field.placeholderText()
        assert text
        assert field.minimumWidth() >= field.fontMetrics().horizontalAdvance(text)


def test_the_loss_chart_says_the_loss_axis_is_logarithmic(qtbot):
    assert axis_captions(True) == ("epoch", "loss (log scale)")
    assert axis_captions(False) == ("epoch", "loss")
    chart = LossChart()
    qtbot.addWidget(chart)
    for i, loss in enumerate([1e5, 1e3, 10.0, 1.0]):
        chart.add_val(i + 1.0, loss)
    assert not chart.grab().isNull()


def test_marking_extraction_shows_feedback_and_can_be_undone(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    ctx.backend.press("f9")
    qtbot.waitUntil(lambda: ctx.c.pending == "mark")
    assert "F9 again to undo" in ctx.overlay.view().detail_line[0]
    assert ctx.tray.backend.actions[Action.UNDO].isEnabled()
    ctx.c.hotkeys._last.clear()  # a second press, not a held key
    ctx.backend.press("f9")
    qtbot.waitUntil(lambda: ctx.c.pending is None)
    assert not ctx.c.extract_marked
    assert ctx.overlay.view().detail_line[0].startswith("undone")
    qtbot.wait(3 * UNDO_TEST_MS)
    assert "mark_extract" not in ctx.engine.calls
    # marked for real: the engine hears it once the undo window closes
    ctx.c.hotkeys._last.clear()
    ctx.backend.press("f9")
    qtbot.waitUntil(lambda: "mark_extract" in ctx.engine.calls)
    # dated back to the key press, not to the end of the undo window
    assert ctx.engine.marked_ago_s >= 0.9 * UNDO_TEST_MS / 1000
    assert ctx.overlay.view().detail_line == ("EXTRACTING marked", ov.BANNER_COLOUR)
    assert ctx.tray.backend.actions[Action.MARK_EXTRACT].isChecked()


def test_died_can_be_undone_for_a_few_seconds(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    trigger(ctx.tray, Action.END_DIED)
    assert ctx.c.pending == "died" and ctx.c.recording
    assert "DIED" in ctx.overlay.view().detail_line[0]
    trigger(ctx.tray, Action.UNDO)
    qtbot.wait(3 * UNDO_TEST_MS)
    assert ctx.c.recording and not any(isinstance(c, tuple) for c in ctx.engine.calls)
    with qtbot.waitSignal(ctx.c.runEnded, timeout=10000):
        trigger(ctx.tray, Action.END_DIED)
    assert ctx.engine.calls[-1] == ("end_run", "died", 0.0)


# ------------------------------------------------------------------ false alarms
FROZEN = HealthVerdict("frozen", False, True, None).describe()


def test_no_capture_toasts_between_runs(qtbot, ctx):
    bridge = ctx.c.bridge
    for _ in range(12):
        bridge.on_notice(notice("capture_problem", FROZEN))
        bridge.on_notice(notice("capture_ok", "capture is back to normal"))
    bridge.on_error("screen capture stopped: device lost")
    qtbot.waitUntil(lambda: "capture stopped" in ctx.tray.backend.icon.toolTip())
    assert ctx.notes == []
    assert not ctx.overlay.isVisible()


def test_a_still_screen_is_amber_and_only_real_loss_is_capture_lost(qtbot, ctx):
    trigger(ctx.tray, Action.START_RUN)
    ctx.c.bridge.on_notice(notice("capture_problem", FROZEN))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.SCREEN_UNCHANGED)
    view = ctx.overlay.view()
    assert view.headline == "SCREEN UNCHANGED" and view.headline_colour == ov.SCREEN_PAUSED_COLOUR
    ctx.c.bridge.on_notice(notice("capture_ok", "capture is back to normal"))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.NO_MODEL)
    ctx.c.bridge.on_notice(notice("capture_lost", "screen capture stopped: monitor unplugged"))
    qtbot.waitUntil(lambda: ctx.overlay.mode is OverlayMode.CAPTURE_LOST)
    assert ctx.overlay.view().headline_colour == ov.CAPTURE_LOST_COLOUR
    assert ctx.notes == []  # during a run it is the overlay that says so


def test_long_messages_wrap_or_end_in_an_ellipsis(qtbot):
    font = QFont()
    font.setPixelSize(11)
    rect = QRectF(0, 0, 230, 32)
    long = "the captured screen has not changed for several seconds " * 3
    fitted = fit_wrapped(long, font, rect)
    assert fitted.endswith("…") and not fitted.endswith(" …")
    assert QFontMetricsF(font).boundingRect(rect, 0x1000, fitted).height() <= rect.height() + 0.5
    assert fit_wrapped("short", font, rect) == "short"
    one_line = elide(long, font, 230)
    assert one_line.endswith("…") and QFontMetricsF(font).horizontalAdvance(one_line) <= 230
    # every capture state paints without clipping words: the reason goes into the hint
    view = overlay_view(OverlayMode.CAPTURE_LOST, message=long)
    assert view.hint == long and not render_view_image(view).isNull()


def test_the_tray_tooltip_fits_127_characters_at_a_word(qtbot):
    status = TrayStatus(
        device="cuda: NVIDIA GeForce RTX 4070 Laptop GPU (8 GB), driver 551.86, compute 8.9",
        note="getting ready: checking the encoder paths (int8, fp16, fp32) on this machine",
        hotkeys_error="blocked",
    )
    tip = tooltip(status)
    assert len(tip) <= TOOLTIP_MAX
    for line in tip.split("\n"):
        assert line.endswith("…") or line in (
            "ArcX — no model yet, neutral",
            "hotkeys off: use the menu",
            status.note,
            status.device,
        )


# ------------------------------------------------------------------ meaning
def test_compact_overlay_says_one_thing_with_a_unit_and_a_hotkey_hint():
    stay = overlay_view(OverlayMode.LIVE, estimate(1500, 1100), compact=True, unit="₽")
    assert stay.headline == "STAY +400 ₽" and stay.compact
    assert "F9" in stay.detail and stay.rows == () and stay.hint == ""
    leave = overlay_view(OverlayMode.LIVE, estimate(900, 1300), compact=True, unit="₽")
    assert leave.headline == "EXTRACT NOW" and "F9" in leave.detail
    frozen = overlay_view(OverlayMode.SCREEN_UNCHANGED, compact=True)
    assert frozen.headline == "SCREEN UNCHANGED" and "Settings" in frozen.detail


def test_new_players_get_the_compact_panel_and_detailed_is_one_setting_away(qtbot):
    w = OverlayWindow()
    qtbot.addWidget(w)
    assert w.state.compact and w.height() == LAYOUT.compact_height
    w.apply_settings(OverlaySettings(layout="detailed", unit="₽"))
    assert not w.state.compact and w.height() == LAYOUT.height and w.state.unit == "₽"
    w.show_estimate(estimate(1500, 1100))
    assert w.view().delta == "+400 ₽"


def test_no_negative_or_minus_zero_amounts():
    assert ov.format_amount(-5.0) == "0"
    assert ov.format_amount(-0.0) == "0"
    assert ov.format_amount(1234.0, "loot", sign=True) == "+1,234 loot"
    v = overlay_view(OverlayMode.LIVE, estimate(-50, -300))
    assert all("−" not in value and "-" not in value for _, value in v.rows)
    assert "−" not in v.delta


def test_text_is_at_least_11px_at_scale_1():
    fonts = {k: v for k, v in vars(LAYOUT).items() if k.endswith("_font")}
    assert fonts and min(fonts.values()) >= 11, fonts


def test_the_opacity_floor_keeps_every_text_at_4_5_to_1_over_white(qtbot):
    for colour in ov.TEXT_COLOURS:
        assert ov.contrast_over_white(colour, READABLE_OPACITY) >= ov.MIN_CONTRAST, colour
    assert ov.contrast_over_white(ov.MUTED_COLOUR, 0.6) < ov.MIN_CONTRAST  # why the floor exists
    w = OverlayWindow(OverlaySettings(opacity=0.3))
    qtbot.addWidget(w)
    assert w.windowOpacity() == pytest.approx(READABLE_OPACITY, abs=0.01)


def test_risk_profiles_are_in_words_in_the_settings(qtbot, ctx):
    dialog = ctx.c.show_settings()
    texts = [dialog.risk.itemText(i) for i in range(dialog.risk.count())]
    assert all(
        ov.RISK_WORDS[r] in t for r, t in zip(("safe", "neutral", "aggressive"), texts, strict=True)
    )


def test_what_do_these_numbers_mean_from_the_tray_and_the_settings(qtbot, ctx):
    trigger(ctx.tray, Action.HELP)
    help_dialog = ctx.c.help_dialog
    assert help_dialog is not None and help_dialog.isVisible()
    assert "EXTRACT NOW" in help_dialog.text.text() and "loot" in help_dialog.text.text()
    help_dialog.close()
    qtbot.waitUntil(lambda: ctx.c.help_dialog is None)
    ctx.c.show_settings().help_button.click()
    assert ctx.c.help_dialog is not None and ctx.c.help_dialog.isVisible()


def test_layout_and_unit_are_settings_applied_live(qtbot, ctx):
    dialog = ctx.c.show_settings()
    dialog.layout_choice.setCurrentIndex(dialog.layout_choice.findData("detailed"))
    dialog.unit.setText("₽")
    dialog.apply()
    assert ctx.c.settings.overlay.layout == "detailed" and ctx.c.settings.overlay.unit == "₽"
    assert not ctx.overlay.state.compact and ctx.overlay.state.unit == "₽"


# ------------------------------------------------------------------ trust
def test_the_training_dialog_shows_the_verdict_loudly_when_the_model_is_useless(qtbot, ctx):
    from app.core.training.verdict import judge
    from tests.coretypes import train_result
    from tests.ui.test_training_dialog import ScriptedWorker

    calls = []
    useless = judge(1.02e5, 1.0e5, None, n_train_runs=1, n_val_runs=1)

    def fake_judge(data, result, config):
        calls.append((data, result, config))
        return useless

    workers = []

    def factory(config):
        w = ScriptedWorker(config)
        w.data = ctx.root
        workers.append(w)
        return w

    ctx.c.training_worker = factory
    dialog = ctx.c.show_training()
    dialog._judge = fake_judge
    assert "<b>30</b> more runs" in dialog.summary_label.text()  # no runs yet: what to do
    from app.ui.training_dialog import DatasetSummary

    dialog.set_summary(DatasetSummary(2, 300, 0))
    dialog.start()
    result = train_result()
    with qtbot.waitSignal(dialog.verdictReady, timeout=10000) as got:
        workers[0].result.emit(result)
    assert got.args == [useless] and calls[0][0] == ctx.root and calls[0][1] == result
    text = dialog.verdict_label.text()
    assert "⚠" in text and "No better than guessing" in text and "28 more runs" in text
    assert any("do not trust" in title for title, _ in ctx.notes)
    assert "no better than guessing" in ctx.tray.backend.icon.toolTip()


def test_a_good_verdict_is_shown_calmly(qtbot):
    from app.core.training.verdict import judge
    from app.ui.training_dialog import DatasetSummary, TrainingDialog

    d = TrainingDialog(DatasetSummary(40, 9000, 0), lambda c: None)
    qtbot.addWidget(d)
    assert "more runs" not in d.summary_label.text()
    d.show_verdict(judge(70.0, 100.0, 80.0, n_train_runs=34, n_val_runs=6))
    assert "✓" in d.verdict_label.text() and "30 % better" in d.verdict_label.text()


def test_a_verdict_judged_in_the_training_process_is_shown_without_judging_here(qtbot, ctx):
    """The training child scores the model (TrainResult.verdict): the desktop app's process
    does not run the judge, which would load torch and the runs."""
    from dataclasses import replace

    from app.core.training.verdict import judge
    from tests.coretypes import train_result
    from tests.ui.test_training_dialog import ScriptedWorker

    workers = []

    def factory(config):
        w = ScriptedWorker(config)
        w.data = ctx.root
        workers.append(w)
        return w

    def must_not_judge(data, result, config):
        raise AssertionError("judged in the app's process")

    ctx.c.training_worker = factory
    dialog = ctx.c.show_training()
    dialog._judge = must_not_judge
    from app.ui.training_dialog import DatasetSummary

    dialog.set_summary(DatasetSummary(34, 5000, 0))
    dialog.start()
    good = judge(70.0, 100.0, 80.0, n_train_runs=34, n_val_runs=6)
    with qtbot.waitSignal(dialog.verdictReady, timeout=10000) as got:
        workers[0].result.emit(replace(train_result(), verdict=good))
    assert got.args == [good] and "✓" in dialog.verdict_label.text()
    workers[0].finished.emit()  # the thread ends after its result
    dialog.start()
    workers[1].result.emit(replace(train_result(), verdict_error="no held-out runs could be read"))
    assert "Quality not checked: no held-out runs could be read" in dialog.verdict_label.text()
