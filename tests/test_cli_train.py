"""`arcx train` through the real CLI entry point (default Q-net, tiny synthetic data)."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.core.data.synthetic import SyntheticConfig, record_runs
from app.core.model.checkpoint import load_checkpoint, read_metadata

CFG = SyntheticConfig(latent_dim=512, max_duration_s=6.0, threshold_median=1000.0)


@pytest.fixture
def root(tmp_path):
    record_runs(tmp_path / "runs", 3, CFG, seed=1)
    return tmp_path / "runs"


def test_train_installs_a_model_and_prints_a_summary(root, tmp_path, capsys):
    out = tmp_path / "models" / "qnet.safetensors"
    argv = ["train", "--data", str(root), "--out", str(out), "--epochs", "1", "--device", "cpu",
            "--batch-size", "32", "--threads", "1", "--precision", "fp32"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "Trained on" in captured.out and f"Model: {out}" in captured.out
    assert "Device cpu (fp32)" in captured.out
    assert "epoch 1/1" in captured.err  # the progress bar
    model, meta = load_checkpoint(out, expected_encoder_id=CFG.encoder_id)
    assert model.config.latent_dim == 512 and meta.value_scale > 0

    first = read_metadata(out)["content_sha256"]
    assert main([*argv, "--seed", "3", "--json", "--no-progress"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["stopped"] == "completed" and result["epochs_run"] == 1
    assert result["previous_path"].endswith("qnet.prev.safetensors")
    assert read_metadata(result["previous_path"])["content_sha256"] == first
    assert "epoch" not in captured.err


def test_train_without_labelled_runs_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "q.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arcx: error: no labelled runs") and "Traceback" not in err


def test_train_rejects_bad_options(root, tmp_path, capsys):
    assert main(["train", "--data", str(root), "--epochs", "0", "--out", str(tmp_path / "q.safetensors")]) == 2
    assert "epochs must be ≥ 1" in capsys.readouterr().err


def test_a_run_labelled_with_an_absurd_loot_value_is_named_before_training(root, tmp_path, capsys):
    from app.core.data import store

    run = store.list_runs(root)[0]
    row = store.read_run_row(run.path)  # as an older ArcX let it be labelled
    row.update(outcome="extracted", final_loot_value=1e308)
    store.write_run_row(run.path, row)
    out = tmp_path / "q.safetensors"
    assert main(["train", "--data", str(root), "--out", str(out), "--epochs", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert f"run {run.run_id[:8]} is labelled with loot value 1e+308, outside 0 to 1e+09" in err
    assert "Traceback" not in err and not out.exists()


def test_a_full_disk_while_saving_is_one_line_and_the_old_model_stays(root, tmp_path, capsys):
    from tests.mounts import fill, tmpfs

    with tmpfs(tmp_path, "32m") as disk:
        out = disk / "qnet.safetensors"
        argv = ["train", "--data", str(root), "--out", str(out), "--epochs", "1", "--device", "cpu",
                "--batch-size", "32", "--threads", "1", "--precision", "fp32", "--no-progress"]
        assert main(argv) == 0
        before = out.read_bytes()
        fill(disk)
        capsys.readouterr()
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "arcx: error: could not save the trained model" in err and "the disk is full" in err
        assert "Traceback" not in err and "SafetensorError" not in err
        assert out.read_bytes() == before
