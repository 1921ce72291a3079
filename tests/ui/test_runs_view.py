"""Runs view: table, label / relabel, delete with confirmation, open folder."""

import datetime as dt
from dataclasses import replace

import pytest

from app.ui.runs_view import RunsView, format_duration, format_started, row_texts, run_length
from tests.coretypes import run_info

pytestmark = pytest.mark.gui


def Info(run_id, started_at, duration_s, n_decisions, outcome, value, encoder_id, path):  # noqa: N802
    """A real RunInfo with the fields the view shows."""
    return run_info(
        run_id=run_id,
        started_at=started_at,
        duration_s=duration_s,
        n_decisions=n_decisions,
        outcome=outcome,
        final_loot_value=value,
        encoder_id=encoder_id,
        path=path,
    )


class FakeStore:
    def __init__(self, runs):
        self.runs = {r.run_id: r for r in runs}
        self.calls = []

    def list(self):
        return list(self.runs.values())

    def label(self, run_id, outcome, value):
        self.calls.append(("label", run_id, outcome, value))
        self.runs[run_id] = replace(self.runs[run_id], outcome=outcome, final_loot_value=value)

    def delete(self, run_id):
        self.calls.append(("delete", run_id))
        del self.runs[run_id]


def make_runs(tmp_path):
    t0 = dt.datetime(2026, 3, 1, 20, 15)
    return [
        Info("r1", t0, 754, 1508, "extracted", 48500, "abcdef0123456789", tmp_path / "r1"),
        Info(
            "r2",
            t0 + dt.timedelta(hours=1),
            301,
            602,
            None,
            None,
            "abcdef0123456789",
            tmp_path / "r2",
        ),
        Info(
            "r3",
            t0 + dt.timedelta(hours=2),
            95,
            190,
            "died",
            0,
            "abcdef0123456789",
            tmp_path / "r3",
        ),
    ]


@pytest.fixture
def view(qtbot, tmp_path):
    store = FakeStore(make_runs(tmp_path))
    opened = []
    v = RunsView(store, open_folder=opened.append, confirm=lambda text: True)
    qtbot.addWidget(v)
    v.opened = opened
    return v, store


def test_run_length_prefers_the_clock_unless_frames_say_more():
    assert run_length(run_info(duration_s=754.0, n_frames=6000, fps=8.0)) == 754.0
    assert run_length(run_info(duration_s=0.2, n_frames=800, fps=8.0)) == 100.0
    assert run_length(run_info(duration_s=None, n_frames=80, fps=8.0)) == 10.0
    assert run_length(run_info(duration_s=None, n_frames=0, fps=0.0)) is None


def test_formatting():
    assert format_duration(754) == "12:34"
    assert format_duration(3725) == "1:02:05"
    assert format_started(dt.datetime(2026, 3, 1, 20, 15)) == "2026-03-01 20:15"
    assert format_started("2026-03-01T20:15:00") == "2026-03-01 20:15"
    assert format_started(None) == "?"


def test_table_lists_runs_newest_first(view):
    v, _ = view
    assert v.table.rowCount() == 3
    assert [v.table.item(r, 3).text() for r in range(3)] == ["died", "unlabelled", "extracted"]
    assert v.table.item(2, 4).text() == "48,500"
    assert v.table.item(2, 1).text() == "12:34"
    assert v.table.item(2, 5).text() == "abcdef012345"
    assert "3 runs: 2 labelled, 1 unlabelled" in v.summary.text()


def test_label_an_unlabelled_run(qtbot, view):
    v, store = view
    v.select_run("r2")
    assert v.label_button.text() == "Label…"
    with qtbot.waitSignal(v.changed):
        assert v.label_selected("extracted", 12000.0)
    assert store.calls == [("label", "r2", "extracted", 12000.0)]
    assert "3 labelled, 0 unlabelled" in v.summary.text()
    assert v.selected_run().run_id == "r2"  # selection survives the refresh
    assert v.label_button.text() == "Relabel…"


def test_relabel(view):
    v, store = view
    v.select_run("r1")
    v.label_selected("died", 0.0)
    assert store.runs["r1"].outcome == "died"
    assert row_texts(store.runs["r1"])[3:5] == ("died", "0")


def test_delete_asks_first(qtbot, tmp_path):
    store = FakeStore(make_runs(tmp_path))
    answers = [False, True]
    asked = []
    v = RunsView(store, confirm=lambda text: asked.append(text) or answers.pop(0))
    qtbot.addWidget(v)
    v.select_run("r3")
    with qtbot.assertNotEmitted(v.changed):
        assert not v.delete_selected()
    assert "r3" in store.runs and "190 decisions" in asked[0]
    with qtbot.waitSignal(v.changed):
        assert v.delete_selected()
    assert "r3" not in store.runs and v.table.rowCount() == 2


def test_open_folder(view, tmp_path):
    v, _ = view
    v.select_run("r1")
    v.folder_button.click()
    assert v.opened == [tmp_path / "r1"]


def test_buttons_need_a_selection(view):
    v, _ = view
    v.table.clearSelection()
    assert not v.label_button.isEnabled() and not v.delete_button.isEnabled()
    assert not v.delete_selected()


# ---------------------------------------------------------------- with the real recorder


def _record(root, n_decisions, outcome=None, value=None):
    import numpy as np

    from app.core.data.recorder import RunRecorder

    clock = [0.0]
    rec = RunRecorder(root, flush_interval_s=60.0, clock=lambda: clock[0])
    rec.start_run(encoder_id="enc-test", fps=8.0, latent_dim=8)
    for i in range(n_decisions * 4):
        clock[0] = i / 8
        rec.add_frame(np.full(8, i, np.float32), clock[0])
        if i % 4 == 3:
            rec.add_decision(clock[0], i, None)
    return rec.end_run(outcome, value)


def test_label_and_delete_through_the_recorder(qtbot, tmp_path):
    from app.core.data.recorder import list_runs
    from app.ui.runs_view import CoreRunStore

    root = tmp_path / "runs"
    kept = _record(root, 5, "died", 0.0)
    later = _record(root, 7)  # ended without a label
    v = RunsView(CoreRunStore(root), confirm=lambda text: True)
    qtbot.addWidget(v)
    assert v.table.rowCount() == 2
    assert "1 labelled, 1 unlabelled" in v.summary.text()
    v.select_run(later.run_id)
    assert v.selected_run().n_decisions == 7
    assert v.label_selected("extracted", 31500.0)
    by_id = {r.run_id: r for r in list_runs(root)}
    assert by_id[later.run_id].outcome == "extracted"
    assert by_id[later.run_id].final_loot_value == 31500.0
    v.select_run(kept.run_id)
    assert v.delete_selected()
    assert [r.run_id for r in list_runs(root)] == [later.run_id]
    assert not kept.path.exists()
