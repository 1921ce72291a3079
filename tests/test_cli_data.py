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
    assert main(["data", "summary", "--data", str(tmp_path / "none"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["runs"] == 0 and s["bytes_per_decision"] is None


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
