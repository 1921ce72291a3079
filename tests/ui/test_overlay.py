"""The overlay: the view model (no widgets), the painter, the window's flags, placement and
Win32 calls (faked)."""

import ast
import dataclasses
import inspect

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtGui import QColor

from app.core.config import OverlayPlacement, OverlaySettings
from app.core.model.ev import compute_ev
from app.ui import overlay as ov
from app.ui import win32
from app.ui.overlay import (
    BandAxis,
    Layout,
    OverlayMode,
    OverlayState,
    OverlayView,
    OverlayWindow,
    SpreadBar,
    format_delta,
    format_value,
    overlay_view,
    risk_text,
)
from app.ui.overlay import view as view_module

# The view-model tests below need no QApplication; only the painter and window tests
# (which take `qtbot` or paint) carry the gui marker.
gui = pytest.mark.gui

DETAILED = OverlaySettings(layout="detailed")
"""the detailed panel (the window's default is compact)"""


def estimate(
    stay: float, extract: float, *, risk: str = "neutral", warming: bool = False, width: float = 400
):
    """An EVEstimate whose quantiles are centred on `stay` and `extract`."""
    k = 16
    q = np.stack(
        [
            np.linspace(stay - width, stay + width, k),
            np.linspace(extract - width / 4, extract + width / 4, k),
        ]
    )
    return compute_ev(q, risk, warming=warming)


class FakeUser32:
    """Records the Win32 calls the overlay makes; holds one window's extended style."""

    def __init__(self, affinity_ok: bool = True):
        self.style = 0
        self.calls: list[tuple] = []
        self.affinity_ok = affinity_ok

    def GetWindowLongPtrW(self, hwnd, index):  # noqa: N802 (Win32 name)
        assert index == win32.GWL_EXSTYLE
        return self.style

    def SetWindowLongPtrW(self, hwnd, index, value):  # noqa: N802
        self.calls.append(("SetWindowLongPtrW", value))
        self.style = value
        return 1

    def SetWindowPos(self, hwnd, after, x, y, cx, cy, flags):  # noqa: N802
        self.calls.append(("SetWindowPos", after, flags))
        return 1

    def SetWindowDisplayAffinity(self, hwnd, affinity):  # noqa: N802
        self.calls.append(("SetWindowDisplayAffinity", affinity))
        return 1 if (self.affinity_ok or affinity == win32.WDA_MONITOR) else 0


# ---------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (940.4, "940"),
        (12_450, "12,450"),
        (124_500, "124.5k"),
        (1_250_000, "1.25M"),
        (-310, "−310"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_format_delta_signs():
    assert format_delta(310) == "+310"
    assert format_delta(-1240) == "−1,240"
    assert format_value(float("nan")) == "—"


# ---------------------------------------------------------------- every state


def test_live_stay():
    v = overlay_view(OverlayMode.LIVE, estimate(1500, 1150), recording=True)
    assert v.headline == "STAY"
    assert v.headline_colour == ov.STAY_COLOUR
    assert dict(v.rows) == {"If you stay": "1,500", "If you leave": "1,150"}
    assert v.delta == "+350" and v.delta_colour == ov.STAY_COLOUR
    assert v.risk == "NEUTRAL"
    assert v.recording and not v.dimmed
    stay_bar, extract_bar = v.bars
    assert stay_bar.low < stay_bar.value < stay_bar.high
    assert extract_bar.colour == ov.EXTRACT_COLOUR


def test_live_extract_in_its_own_colour():
    v = overlay_view(OverlayMode.LIVE, estimate(600, 1400, risk="safe"))
    assert v.headline == "EXTRACT"
    assert v.headline_colour == ov.EXTRACT_COLOUR
    assert v.delta.startswith("+")  # the advised action's advantage: never negative
    assert v.risk == "SAFE"


def test_safe_shows_its_risk_adjusted_delta_and_ticks():
    est = estimate(1200, 1000, risk="safe", width=800)
    v = overlay_view(OverlayMode.LIVE, est)
    # the EV rows stay expectations; Δ and the ticks are the profile's values
    assert dict(v.rows) == {"If you stay": "1,200", "If you leave": "1,000"}
    assert est.risk_delta < est.delta
    assert v.delta == ov.format_amount(abs(est.risk_delta), sign=True)
    assert v.bars[0].value == pytest.approx(est.value_stay) and v.bars[0].value < 1200


def test_chance_of_losing_the_haul_is_shown():
    q = np.stack([np.array([0.0] * 4 + [1600.0] * 12), np.full(16, 1000.0)])
    v = overlay_view(OverlayMode.LIVE, compute_ev(q, "neutral"))
    assert v.headline == "STAY" and "25% death risk" in v.detail
    # none where no stay quantile is near zero
    assert "death risk" not in overlay_view(OverlayMode.LIVE, estimate(1500, 1150)).detail


def test_pending_advice_is_said_while_hysteresis_holds():
    from app.core.model.ev import Adviser, Hysteresis

    adv = Adviser("neutral", Hysteresis(hold_s=2.0, margin=0.5))
    q_stay = np.stack([np.full(16, 1100.0), np.full(16, 1000.0)])
    q_ext = np.stack([np.full(16, 950.0), np.full(16, 1000.0)])
    adv.tick(q_stay, 0.0)
    v = overlay_view(OverlayMode.LIVE, adv.tick(q_ext, 0.5))
    assert v.headline == "STAY" and v.detail.startswith("extract pending")


def test_close_call():
    v = overlay_view(OverlayMode.LIVE, estimate(1000, 990))
    assert v.headline_colour == ov.CLOSE_CALL_COLOUR
    assert "close call" in v.detail


def test_no_model_yet():
    v = overlay_view(OverlayMode.NO_MODEL, recording=True)
    assert v.detail == "no model yet — recording"
    assert v.rows == () and v.recording


def test_warming_up_without_and_with_an_estimate():
    v = overlay_view(OverlayMode.WARMING)
    assert v.headline == "WARMING UP" and "warming up" in v.detail and v.rows == ()
    v2 = overlay_view(OverlayMode.LIVE, estimate(1500, 1000, warming=True))
    assert v2.headline == "WARMING UP" and v2.dimmed and len(v2.rows) == len(v2.bars) == 2
    assert "stay" in v2.detail
    # provisional numbers are drawn muted, the bars' own colours kept for when they go live
    assert v2.delta_colour == v2.value_colour == ov.MUTED_COLOUR
    assert {v2.bar_colour(b) for b in v2.bars} == {ov.MUTED_COLOUR}
    assert v2.bars[0].colour == ov.STAY_COLOUR


def test_capture_lost_with_reason():
    v = overlay_view(OverlayMode.CAPTURE_LOST, message="monitor 2 disconnected")
    assert v.headline == "CAPTURE LOST"
    assert v.headline_colour == ov.CAPTURE_LOST_COLOUR
    assert v.hint == "monitor 2 disconnected"  # the reason wraps where the rows go
    assert overlay_view(OverlayMode.CAPTURE_LOST).hint  # a default reason


def test_idle_names_the_start_key():
    assert "F7" in overlay_view(OverlayMode.IDLE, start_key="F7").detail


def test_risk_chip_follows_the_estimate():
    v = overlay_view(OverlayMode.LIVE, estimate(1, 2, risk="aggressive"), risk="safe")
    assert v.risk.startswith("AGGRESSIVE")


def test_risk_text_known_and_unknown_profiles():
    assert risk_text("neutral") == "NEUTRAL"
    assert risk_text("custom") == "CUSTOM"
    assert risk_text("custom", 0.4) == "CUSTOM η+0.40"


def test_numbers_states_have_their_colours():
    stay = overlay_view(OverlayMode.LIVE, estimate(1500, 1150))
    assert stay.detail_colour == ov.MUTED_COLOUR  # under numbers the detail steps back
    assert stay.value_colour == ov.TEXT_COLOUR
    assert [stay.bar_colour(b) for b in stay.bars] == [ov.STAY_COLOUR, ov.EXTRACT_COLOUR]
    idle = overlay_view(OverlayMode.IDLE)
    assert idle.detail_colour == ov.TEXT_COLOUR and idle.delta == "" and idle.axis is None


def test_a_view_needs_one_row_per_bar():
    bar = SpreadBar("stay", 0.0, 1.0, 0.5, ov.STAY_COLOUR)
    with pytest.raises(ValueError, match="one row per bar"):
        OverlayView("STAY", ov.STAY_COLOUR, "", "", False, rows=(), bars=(bar,))


# ---------------------------------------------------------------- the band's axis


def test_axis_spans_every_range_and_value():
    bars = (
        SpreadBar("stay", 900.0, 2100.0, 1500.0, ov.STAY_COLOUR),
        SpreadBar("extract", 1050.0, 1250.0, 800.0, ov.EXTRACT_COLOUR),  # value below range
    )
    axis = BandAxis.spanning(bars)
    assert (axis.low, axis.high) == (800.0, 2100.0)
    assert axis.fraction(800.0) == 0.0 and axis.fraction(2100.0) == 1.0
    assert axis.fraction(1450.0) == pytest.approx(0.5)
    assert (axis.low_text, axis.high_text) == ("800", "2,100")


def test_axis_never_shows_a_negative_amount():
    # a model's low quantile of a risky stay can fall below 0; nothing banked is 0
    bars = (SpreadBar("stay", -217.0, 876.0, 347.0, ov.STAY_COLOUR),
            SpreadBar("extract", 300.0, 600.0, 467.0, ov.EXTRACT_COLOUR))
    axis = BandAxis.spanning(bars)
    assert axis.low == 0.0 and axis.low_text == "0" and axis.high_text == "876"
    assert axis.fraction(-217.0) == 0.0 and axis.fraction(2000.0) == 1.0


def test_flat_axis_does_not_divide_by_zero():
    axis = BandAxis(500.0, 500.0)
    assert axis.fraction(500.0) == 0.0
    with pytest.raises(ValueError):
        BandAxis.spanning(())


def test_live_view_axis_matches_its_bars():
    v = overlay_view(OverlayMode.LIVE, estimate(1500, 1150))
    assert v.axis == BandAxis.spanning(v.bars)
    assert all(0.0 <= v.axis.fraction(b.value) <= 1.0 for b in v.bars)


# ---------------------------------------------------------------- state transitions


def test_state_estimate_then_modes():
    s = OverlayState()
    assert s.mode is OverlayMode.IDLE and s.view().headline == "ARCX READY"
    warm = s.with_estimate(estimate(1500, 1000, warming=True, risk="safe"))
    assert warm.mode is OverlayMode.WARMING and warm.risk == "safe"
    live = warm.with_estimate(estimate(1500, 1000))
    assert live.mode is OverlayMode.LIVE and live.view().headline == "STAY"
    # capture lost keeps the estimate (its risk stays on the chip) and shows the reason
    lost = live.with_mode(OverlayMode.CAPTURE_LOST, "game minimised")
    assert lost.estimate is live.estimate and lost.view().hint == "game minimised"
    # every other message drops the numbers
    for mode in (OverlayMode.IDLE, OverlayMode.NO_MODEL, OverlayMode.WARMING):
        assert live.with_mode(mode).estimate is None, mode
    assert live.with_mode(OverlayMode.WARMING).view().rows == ()
    assert s == OverlayState()  # states are values: nothing above changed `s`


def test_view_model_has_no_qt():
    """view.py imports nothing from Qt or the rest of the UI: the lead's next figures
    (a risk-adjusted Δ, the chance of losing the haul) are computed and tested here."""
    tree = ast.parse(inspect.getsource(view_module))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert not {m for m in imported if m and m.startswith(("PyQt6", "app.ui", "app.workers"))}


# ---------------------------------------------------------------- the painter


def test_layout_defaults_are_the_shipped_panel():
    """Every layout number has a name; the defaults are the shipped panel."""
    layout = Layout()
    assert (layout.width, layout.height) == (ov.BASE_WIDTH, ov.BASE_HEIGHT) == (270, 142)
    with pytest.raises(dataclasses.FrozenInstanceError):
        layout.width = 300  # type: ignore[misc]
    assert layout == ov.LAYOUT


@gui
@pytest.mark.parametrize("scale", [0.75, 1.0, 1.5])
def test_render_view_image_size_follows_scale_and_layout(qtbot, scale):
    v = overlay_view(OverlayMode.LIVE, estimate(1500, 1150))
    img = ov.render_view_image(v, scale)
    assert (img.width(), img.height()) == (round(270 * scale), round(142 * scale))
    wide = ov.render_view_image(v, scale, layout=Layout(width=400))
    assert wide.width() == round(400 * scale)


@gui
def test_rendered_panel_matches_the_window(qtbot):
    """The screenshot path (render_view_image) and the window (grab) paint the same pixels."""
    w = OverlayWindow(DETAILED)
    qtbot.addWidget(w)
    w.show_estimate(estimate(2000, 1000))
    w.set_recording(True)
    grabbed = w.grab().toImage().convertToFormat(ov.render_view_image(w.view()).format())
    assert grabbed == ov.render_view_image(w.view())


@gui
def test_unlock_draws_the_outline_in_the_unlock_colour(qtbot):
    v = overlay_view(OverlayMode.IDLE)
    locked, unlocked = ov.render_view_image(v), ov.render_view_image(v, unlocked=True)
    # the dashed outline runs 2 px inside the panel's 1 px inset, along the top edge;
    # antialiased onto the dark panel it keeps the unlock colour's hue
    want = QColor(view_module.UNLOCK_COLOUR)
    top = [unlocked.pixelColor(x, 3) for x in range(40, 200)]
    dash = [c for c in top if c.value() > 150 and abs(c.hsvHue() - want.hsvHue()) < 10]
    assert len(dash) > len(top) // 2
    assert not any(locked.pixelColor(x, 3).value() > 150 for x in range(40, 200))


# ---------------------------------------------------------------- the window


@gui
def test_window_flags_make_it_a_click_through_tool_window(qtbot):
    w = OverlayWindow(DETAILED)
    qtbot.addWidget(w)
    flags = w.windowFlags()
    for flag in (
        Qt.WindowType.FramelessWindowHint,
        Qt.WindowType.WindowStaysOnTopHint,
        Qt.WindowType.Tool,
        Qt.WindowType.WindowDoesNotAcceptFocus,
        Qt.WindowType.WindowTransparentForInput,
    ):
        assert flags & flag, flag
    assert w.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
    assert w.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert w.focusPolicy() == Qt.FocusPolicy.NoFocus


@gui
def test_unlock_takes_input_and_lock_gives_it_back(qtbot):
    w = OverlayWindow(DETAILED)
    qtbot.addWidget(w)
    w.show()
    w.set_unlocked(True)
    assert not (w.windowFlags() & Qt.WindowType.WindowTransparentForInput)
    assert w.isVisible()  # setWindowFlags hides; the overlay shows itself again
    w.set_unlocked(False)
    assert w.windowFlags() & Qt.WindowType.WindowTransparentForInput


@gui
def test_state_changes_update_the_view(qtbot):
    w = OverlayWindow(DETAILED)
    qtbot.addWidget(w)
    assert w.view().headline == "ARCX READY"
    w.set_recording(True)
    w.set_mode(OverlayMode.NO_MODEL)
    assert w.view().detail == "no model yet — recording"
    w.set_mode(OverlayMode.WARMING)
    assert w.view().headline == "WARMING UP"
    w.show_estimate(estimate(2000, 1000))
    assert w.mode is OverlayMode.LIVE and w.view().headline == "STAY"
    w.set_mode(OverlayMode.CAPTURE_LOST, "game minimised")
    assert w.view().hint == "game minimised"
    w.set_risk("safe")
    w.set_mode(OverlayMode.WARMING)
    assert w.view().risk.startswith("SAFE")
    assert w.view() == w.state.view()


@gui
@pytest.mark.parametrize("mode", list(OverlayMode))
def test_every_state_paints_its_colour(qtbot, mode):
    """Rendered, each state shows its headline colour (the accent strip) on a dark panel."""
    w = OverlayWindow(DETAILED)
    qtbot.addWidget(w)
    w.set_mode(mode)
    if mode is OverlayMode.LIVE:
        w.show_estimate(estimate(2000, 1000))
    img = w.grab().toImage()
    assert img.width() == ov.BASE_WIDTH and img.height() == ov.BASE_HEIGHT
    want = QColor(w.view().headline_colour)
    strip = img.pixelColor(7, img.height() // 2)
    assert abs(strip.red() - want.red()) < 40 and abs(strip.green() - want.green()) < 40
    centre = img.pixelColor(img.width() - 20, img.height() - 10)
    assert centre.alpha() > 150 and centre.lightness() < 80  # the dark panel behind the text


@gui
def test_settings_opacity_scale_and_corner(qtbot):
    w = OverlayWindow(DETAILED)
    qtbot.addWidget(w)
    screen = w.target_screen()
    avail = screen.availableGeometry()
    s = OverlaySettings(
        layout="detailed",
        opacity=0.95,
        scale=1.5,
        margin=10,
        placements={screen.name(): OverlayPlacement(corner="bottom-left")},
    )
    w.apply_settings(s, screen)
    assert w.windowOpacity() == pytest.approx(0.95, abs=0.01)
    assert (w.width(), w.height()) == (round(ov.BASE_WIDTH * 1.5), round(ov.BASE_HEIGHT * 1.5))
    assert w.pos() == QPoint(avail.left() + 10, avail.bottom() + 1 - w.height() - 10)


@gui
def test_placement_is_per_monitor(qtbot):
    w = OverlayWindow(DETAILED)
    qtbot.addWidget(w)
    screen = w.target_screen()
    other = OverlaySettings(
        placements={"some other monitor": OverlayPlacement(corner="bottom-left")}
    )
    w.apply_settings(other, screen)
    assert w.placement() == OverlayPlacement()  # default top-right for this monitor


@gui
def test_drop_near_a_corner_snaps_elsewhere_is_custom(qtbot):
    w = OverlayWindow(OverlaySettings(margin=20))
    qtbot.addWidget(w)
    avail = w.target_screen().availableGeometry()
    with qtbot.waitSignal(w.placementChanged) as blocker:
        place = w.drop_at(QPoint(avail.left() + 30, avail.top() + 25))
    assert place == OverlayPlacement(corner="top-left")
    assert blocker.args[1] == place
    place = w.drop_at(QPoint(avail.left() + 300, avail.top() + 200))
    assert place == OverlayPlacement(corner="custom", x=300, y=200)
    assert w.pos() == QPoint(avail.left() + 300, avail.top() + 200)


@gui
def test_windows_styles_topmost_and_capture_exclusion(qtbot):
    user32 = FakeUser32()
    w = OverlayWindow(user32=user32)
    qtbot.addWidget(w)
    w.show()
    assert user32.style & win32.CLICK_THROUGH_STYLES == win32.CLICK_THROUGH_STYLES
    assert ("SetWindowDisplayAffinity", win32.WDA_EXCLUDEFROMCAPTURE) in user32.calls
    assert ("SetWindowPos", win32.HWND_TOPMOST, win32.TOPMOST_FLAGS) in user32.calls
    assert win32.TOPMOST_FLAGS & win32.SWP_NOACTIVATE
    # topmost re-asserted on the timer
    n = sum(c[0] == "SetWindowPos" for c in user32.calls)
    w._topmost_timer.timeout.emit()
    assert sum(c[0] == "SetWindowPos" for c in user32.calls) == n + 1
    # unlock drops WS_EX_TRANSPARENT and WS_EX_NOACTIVATE, keeps WS_EX_LAYERED
    w.set_unlocked(True)
    assert not user32.style & win32.WS_EX_TRANSPARENT
    assert not user32.style & win32.WS_EX_NOACTIVATE
    assert user32.style & win32.WS_EX_LAYERED


def test_capture_exclusion_falls_back_on_old_windows():
    user32 = FakeUser32(affinity_ok=False)
    assert win32.Win32Window(1234, user32).exclude_from_capture()
    assert [c[1] for c in user32.calls] == [win32.WDA_EXCLUDEFROMCAPTURE, win32.WDA_MONITOR]


def test_win32_is_a_no_op_off_windows(monkeypatch):
    monkeypatch.setattr(win32, "IS_WINDOWS", False)
    w = win32.Win32Window(1234)
    assert not w.available
    assert not w.set_click_through(True)
    assert not w.assert_topmost()
    assert not w.exclude_from_capture()
