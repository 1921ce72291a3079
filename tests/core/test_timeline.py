"""A recorded run as a timeline: the recorder's decisions read back in time order, with the
advice the numbers imply, the mark and the outcome; and the runs view drawing it."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.data.recorder import RunRecorder, list_runs
from app.core.model.ev import compute_ev
from app.core.timeline import Timeline, clock, load_timeline


def ev(stay: float, extract: float):
    q = np.stack([np.full(16, stay), np.full(16, extract)])
    return compute_ev(q, "neutral")


def record(root, evs, mark_t=None, outcome="died", loot=0.0):
    rec = RunRecorder(root, flush_interval_s=60.0)
    rec.start_run(encoder_id="enc", fps=2.0, latent_dim=4)
    for i, e in enumerate(evs):
        idx = rec.add_frame(np.zeros(4, np.float32), i * 0.5)
        rec.add_decision(i * 0.5, idx, e)
    if mark_t is not None:
        rec.mark_extract(mark_t)
    rec.end_run(outcome, loot)
    (info,) = list_runs(root)
    return info


def test_a_run_reads_back_as_a_timeline(tmp_path):
    evs = [ev(1000, 400), ev(900, 800), ev(700, 850), ev(600, 900), None]
    info = record(tmp_path, evs, mark_t=1.5)
    tl = load_timeline(info)
    assert tl.t.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert tl.ev_stay[:4].tolist() == pytest.approx([1000, 900, 700, 600])
    assert np.isnan(tl.ev_stay[4]) and np.isnan(tl.ev_extract[4])  # no EV at that tick
    assert tl.extract_advised.tolist() == [False, False, True, True, False]
    assert tl.first_extract_t == 1.0 and tl.mark_t == pytest.approx(1.5)
    assert tl.summary() == (
        "The advice said EXTRACT first at 0:01, you marked extracting at 0:02 and died."
    )


def test_a_run_without_a_model_says_so(tmp_path):
    info = record(tmp_path, [None, None], outcome="extracted", loot=1200.0)
    tl = load_timeline(info)
    assert not tl.has_ev and "no model" in tl.summary()


def test_timeline_shapes_are_checked_and_clock_formats():
    with pytest.raises(ValueError, match=r"\[N\]=\[2\]"):
        Timeline(np.zeros(2), np.zeros(3), np.zeros(2), None, None, None, 1.0)
    assert clock(75.4) == "1:15" and clock(None) == "—"


@pytest.mark.gui
def test_the_runs_view_draws_the_selected_runs_timeline(qtbot, tmp_path):
    from app.ui.runs_view import CoreRunStore, RunsView

    record(tmp_path, [ev(1000, 400), ev(600, 900)], mark_t=0.5, outcome="extracted", loot=800.0)
    view = RunsView(CoreRunStore(tmp_path))
    qtbot.addWidget(view)
    assert view.timeline.timeline is None
    view.table.selectRow(0)
    assert view.timeline.timeline is not None and len(view.timeline.timeline.t) == 2
    assert "took home 800" in view.timeline_text.text()
    assert not view.timeline.grab().isNull()
