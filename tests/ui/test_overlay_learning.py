"""The overlay's LEARNING… panel (the demo, while its model is trained): shown while
there is no model, in the compact and the detailed panel; a capture problem or numbers
win over it."""

import numpy as np
import pytest

from app.core.model.ev import compute_ev
from app.ui.overlay import OverlayMode, OverlayState, OverlayWindow, overlay_view
from app.ui.overlay.view import LEARNING_COLOUR


def test_learning_replaces_the_no_model_and_idle_panels():
    for mode in (OverlayMode.NO_MODEL, OverlayMode.IDLE):
        for compact in (False, True):
            v = overlay_view(mode, recording=True, learning="recording raids 5/13", compact=compact)
            assert (v.headline, v.detail, v.headline_colour) == ("LEARNING…", "recording raids 5/13", LEARNING_COLOUR)
            assert v.rows == () and v.recording and v.compact == compact
    v = overlay_view(OverlayMode.IDLE, learning="loading the demo's model", learning_headline="GETTING READY")
    assert v.headline == "GETTING READY"
    assert overlay_view(OverlayMode.NO_MODEL).headline == "NO MODEL YET"  # without a note: as before


def test_numbers_and_capture_problems_win_over_learning():
    est = compute_ev(np.stack([np.linspace(900, 1100, 16), np.linspace(400, 500, 16)]), "neutral")
    live = overlay_view(OverlayMode.LIVE, est, learning="training: epoch 3/12")
    assert live.headline == "STAY" and live.rows
    lost = overlay_view(OverlayMode.CAPTURE_LOST, learning="training: epoch 3/12")
    assert lost.headline == "CAPTURE LOST"
    assert overlay_view(OverlayMode.WARMING, learning="x").headline == "WARMING UP"


def test_state_keeps_learning_across_mode_changes():
    s = OverlayState(learning="recording raids 1/13").with_mode(OverlayMode.NO_MODEL)
    assert s.view().headline == "LEARNING…"
    s = s.with_mode(OverlayMode.IDLE)
    assert s.view().detail == "recording raids 1/13"


@pytest.mark.gui
def test_window_paints_the_learning_panel(qtbot):
    w = OverlayWindow()
    qtbot.addWidget(w)
    w.set_mode(OverlayMode.NO_MODEL)
    before = w.grab().toImage()
    w.set_learning("recording raids 2/13")
    assert w.view().headline == "LEARNING…"
    after = w.grab().toImage()
    assert after != before  # the panel was repainted with the new text
    w.set_learning("")
    assert w.view().headline == "NO MODEL YET"
