"""`arcx data export` / `import` and `arcx train` on a pool through the real CLI entry point."""

from __future__ import annotations

import json

from app.cli import main
from app.core.data.pool import MANIFEST, RUNS_DIR
from app.core.data.synthetic import SyntheticConfig, record_runs
from app.core.model.checkpoint import load_checkpoint

CFG = SyntheticConfig(latent_dim=16, max_duration_s=10.0, threshold_median=1500.0)


def test_export_import_and_train_holding_out_a_player(tmp_path, capsys):
    record_runs(tmp_path / "alice", 3, CFG, seed=0, unlabelled=1)
    record_runs(tmp_path / "bob", 2, CFG, seed=5)
    for who in ("alice", "bob"):
        assert main(["data", "export", "--data", str(tmp_path / who), "--out", str(tmp_path / f"x-{who}"),
                     "--player", who]) == 0
    assert "Exported to" in capsys.readouterr().out
    assert main(["data", "import", str(tmp_path / "x-alice"), str(tmp_path / "x-bob"),
                 "--into", str(tmp_path / "pool"), "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["players"] == ["alice", "bob"] and manifest["counts"]["runs"] == 4

    out = tmp_path / "qnet.safetensors"
    assert main(["train", "--data", str(tmp_path / "pool"), "--val-player", "bob", "--out", str(out),
                 "--epochs", "1", "--device", "cpu", "--batch-size", "32", "--threads", "1",
                 "--precision", "fp32", "--json", "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["n_train_runs"], result["n_val_runs"]) == (2, 2)
    load_checkpoint(out, expected_encoder_id=CFG.encoder_id)

    # two exported folders at once, without merging them
    assert main(["train", "--data", str(tmp_path / "x-alice"), "--data", str(tmp_path / "x-bob"),
                 "--out", str(out), "--epochs", "1", "--device", "cpu", "--threads", "1",
                 "--precision", "fp32", "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["n_train_runs"] + 1 == 4


def test_import_refuses_a_changed_folder_with_one_line(tmp_path, capsys):
    record_runs(tmp_path / "runs", 2, CFG, seed=1)
    assert main(["data", "export", "--data", str(tmp_path / "runs"), "--out", str(tmp_path / "x")]) == 0
    run_id = json.loads((tmp_path / "x" / MANIFEST).read_text())["runs"][0]["run_id"]
    decisions = tmp_path / "x" / RUNS_DIR / run_id / "decisions.parquet"
    decisions.write_bytes(decisions.read_bytes()[:-10])
    capsys.readouterr()
    assert main(["data", "import", str(tmp_path / "x"), "--into", str(tmp_path / "pool")]) == 2
    err = capsys.readouterr().err
    assert "does not match its manifest hash" in err and "Traceback" not in err
    assert not (tmp_path / "pool").exists()
