"""EngineBridge: engine ticks and notices sorted into the signals the UI handles."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.engine import Notice
from app.core.model.ev import compute_ev
from app.workers.bridge import EngineBridge
from tests.coretypes import ev_tick

pytestmark = pytest.mark.gui


def test_ticks_become_estimates_or_reasons(qtbot):
    bridge = EngineBridge()
    est = compute_ev(np.stack([np.linspace(0, 2, 16), np.linspace(0, 1, 16)]), "neutral")
    with qtbot.waitSignal(bridge.estimate) as got:
        bridge.on_tick(ev_tick(est, None))
    assert got.args == [est]
    with qtbot.waitSignal(bridge.noEstimate) as got:
        bridge.on_tick(ev_tick(None, "no_model"))
    assert got.args == ["no_model"]


@pytest.mark.parametrize(
    ("kind", "signal"),
    [
        ("capture_problem", "captureProblem"),
        ("capture_lost", "errored"),
        ("capture_ok", "recovered"),
        ("capture_fallback", "info"),
        ("fps_lowered", "info"),
    ],
)
def test_notices_by_kind(qtbot, kind, signal):
    bridge = EngineBridge()
    with qtbot.waitSignal(getattr(bridge, signal)):
        bridge.on_notice(Notice(kind=kind, message="words", t=0.0))


def test_other_notices_are_only_logged(qtbot):
    bridge = EngineBridge()
    with (
        qtbot.assertNotEmitted(bridge.errored),
        qtbot.assertNotEmitted(bridge.recovered),
        qtbot.assertNotEmitted(bridge.info),
    ):
        bridge.on_notice(Notice(kind="model_loaded", message="model loaded", t=0.0))


def test_capture_problems_name_their_kind(qtbot):
    from app.core.capture.health import HealthVerdict

    bridge = EngineBridge()
    frozen = HealthVerdict("frozen", False, True, None).describe()
    with qtbot.assertNotEmitted(bridge.errored), qtbot.waitSignal(bridge.captureProblem) as got:
        bridge.on_notice(Notice(kind="capture_problem", message=frozen, t=0.0))
    assert got.args == ["frozen", frozen]
    with qtbot.waitSignal(bridge.captureProblem) as got:
        bridge.on_notice(Notice(kind="capture_problem", message="the window is gone", t=0.0))
    assert got.args == ["other", "the window is gone"]
    with qtbot.waitSignal(bridge.errored) as got:
        bridge.on_notice(Notice(kind="capture_lost", message="screen capture stopped", t=0.0))
    assert got.args == ["screen capture stopped"]
