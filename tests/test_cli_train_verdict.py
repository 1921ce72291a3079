"""arcx train ends with the quality verdict on the held-out runs, in words: with 3
recorded runs, loudly (too few runs, and how many more to record)."""

from __future__ import annotations

from app.cli import main
from app.core.data.synthetic import SyntheticConfig, record_runs
from app.core.training.verdict import RECOMMENDED_RUNS

CFG = SyntheticConfig(latent_dim=512, max_duration_s=6.0, threshold_median=1000.0)


def test_train_prints_a_loud_verdict_for_a_model_of_three_runs(tmp_path, capsys):
    root = tmp_path / "runs"
    record_runs(root, 3, CFG, seed=1)
    out = tmp_path / "models" / "qnet.safetensors"
    argv = ["train", "--data", str(root), "--out", str(out), "--epochs", "1", "--device", "cpu",
            "--batch-size", "32", "--threads", "1", "--precision", "fp32", "--no-progress"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "WARNING: " in text
    assert "held-out runs" in text and "constant numbers" in text
    assert f"about {RECOMMENDED_RUNS - 3} more runs" in text
