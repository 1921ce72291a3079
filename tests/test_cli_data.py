"""`arcx data summary` and `arcx data label` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.core.data.recorder import list_runs
from app.core.data.synthetic import SyntheticConfig, record_runs

CFG = SyntheticConfig(latent_dim=16, max_duration_s=10.0, threshold_median=1500.0)


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    infos = record_runs(root, 3, CFG, seed=0, unlabelled=1)
    return root, infos


def test_summary_json(runs, capsys):
    root, infos = runs
    assert main(["data", "summary", "--data", str(root), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["runs"], s["labelled"], s["unlabelled"], s["recording"]) == (3, 2, 1, 0)
    assert s["decisions"] == sum(i.n_decisions for i in infos)
    assert s["labelled_decisions"] == sum(i.n_decisions for i in infos[:2])
    assert s["frames"] == sum(i.n_frames for i in infos)
    assert s["bytes_on_disk"] == sum(i.bytes_on_disk for i in infos)
    assert s["bytes_per_decision"] == pytest.approx(s["bytes_on_disk"] / s["decisions"])
    assert s["encoder_ids"] == {CFG.encoder_id: {"runs": 3, "labelled": 2, "decisions": s["decisions"]}}
    assert s["extracted"] + s["died"] == 2 and "run_list" not in s


def test_summary_text(runs, capsys):
    root, infos = runs
    assert main(["data", "summary", "--data", str(root), "--runs"]) == 0
    out = capsys.readouterr().out
    assert "Runs:          3 (2 labelled" in out and "1 unlabelled" in out
    assert f"Encoder {CFG.encoder_id}: 3 runs, 2 labelled" in out
    assert "per decision" in out
    for info in infos:
        assert info.run_id[:8] in out


def test_summary_of_an_empty_folder(tmp_path, capsys):
    assert main(["data", "summary", "--data", str(tmp_path), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["runs"] == 0 and s["bytes_per_decision"] is None


def test_a_runs_folder_that_does_not_exist_is_an_error_not_0_runs(tmp_path, capsys):
    assert main(["data", "summary", "--data", str(tmp_path / "none")]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"arcx: error: no runs folder at {tmp_path / 'none'}"
    assert captured.out == "" and not (tmp_path / "none").exists()


def test_an_absurd_loot_value_is_refused(runs, capsys):
    root, infos = runs
    for bad in ("1e308", "inf", "nan", "-5"):
        assert main(["data", "label", infos[2].run_id, "--extracted", bad, "--data", str(root)]) == 2
        err = capsys.readouterr().err
        assert "the final loot value must be a number ≥ 0 and ≤ 1e+09" in err and "Traceback" not in err
    assert next(r for r in list_runs(root) if r.run_id == infos[2].run_id).outcome is None


def test_summary_counts_a_run_killed_during_compaction_once(runs, capsys):
    """A crash between writing decisions.parquet and removing the parts leaves both."""
    from app.core.data import store

    root, infos = runs
    info = infos[0]
    decisions = store.read_table(info.path / store.DECISIONS_FILE, "decisions")
    half = decisions.num_rows // 2
    store.write_parquet_atomic(decisions.slice(0, half), store.part_path(info.path, "decisions", 1))
    store.write_parquet_atomic(decisions.slice(half), store.part_path(info.path, "decisions", 2))
    assert main(["data", "summary", "--data", str(root), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["decisions"] == sum(i.n_decisions for i in infos)


def test_summary_warns_about_corrupt_and_damaged_runs(runs, capsys):
    from app.core.data import store

    root, infos = runs
    (infos[0].path / store.DECISIONS_FILE).write_bytes(b"not parquet")  # corrupt table
    (infos[1].path / store.RUN_FILE).unlink()  # the run row is gone
    assert main(["data", "summary", "--data", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"Warning: run {infos[0].run_id[:8]} has unreadable files, not counted: decisions.parquet" in out
    assert f"Warning: {infos[1].path} is damaged (its run.parquet is missing" in out
    assert f"{infos[1].n_frames:,} frames and {infos[1].n_decisions:,} decisions are kept" in out
    assert main(["data", "summary", "--data", str(root), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["runs"] == 2 and len(s["damaged"]) == 1 and s["damaged"][0]["decisions"] == infos[1].n_decisions
    assert list(s["problems"]) == [infos[0].run_id]


def test_label(runs, capsys):
    root, infos = runs
    run_id = infos[2].run_id
    assert main(["data", "label", run_id[:8], "--extracted", "1234.5", "--data", str(root)]) == 0
    assert "extracted with 1234.5" in capsys.readouterr().out
    info = next(r for r in list_runs(root) if r.run_id == run_id)
    assert (info.outcome, info.final_loot_value) == ("extracted", 1234.5)
    assert main(["data", "label", run_id, "--died", "--data", str(root)]) == 0
    assert next(r for r in list_runs(root) if r.run_id == run_id).final_loot_value == 0.0
    assert main(["data", "label", run_id, "--clear", "--data", str(root)]) == 0
    assert next(r for r in list_runs(root) if r.run_id == run_id).outcome is None


def test_label_errors_are_one_line(runs, capsys):
    root, _ = runs
    assert main(["data", "label", "no-such-run", "--died", "--data", str(root)]) == 2
    assert "arcx: error: no run 'no-such-run'" in capsys.readouterr().err
    run_id = list_runs(root)[0].run_id
    assert main(["data", "label", run_id, "--extracted", "-5", "--data", str(root)]) == 2
    assert "≥ 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "label", run_id, "--died", "--extracted", "3"])  # exclusive
