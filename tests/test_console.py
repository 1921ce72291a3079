"""A clean console: log lines above the progress bars, chatter at DEBUG, no third-party noise."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.data.synthetic import SyntheticConfig, record_runs
from app.core.model.fast import _quiet
from app.core.training.threads import ThreadTuner

CFG = SyntheticConfig(latent_dim=512, max_duration_s=6.0, threshold_median=1000.0)


def arcx(*argv: str) -> subprocess.CompletedProcess[str]:
    """`arcx ARGV` in a fresh process: its console exactly as a player's terminal gets it."""
    return subprocess.run([sys.executable, "-m", "app.cli", *argv], capture_output=True, text=True, timeout=600)


def train_args(tmp_path: Path, *extra: str) -> list[str]:
    record_runs(tmp_path / "runs", 3, CFG, seed=1)
    return ["train", "--data", str(tmp_path / "runs"), "--out", str(tmp_path / "q.safetensors"),
            "--device", "cpu", "--threads", "1", "--precision", "fp32", *extra]


def test_train_log_lines_start_their_own_line_between_bar_redraws(tmp_path):
    done = arcx(*train_args(tmp_path, "--epochs", "3", "--batch-size", "16"))
    assert done.returncode == 0, done.stderr
    assert "epoch 3/3" in done.stderr  # the bar was drawn
    logged = [line for line in done.stderr.split("\n") if "INFO app." in line]
    assert any("epoch 2/3" in line for line in logged)  # the trainer's epoch lines, from the child
    for line in logged:  # what follows the bar's last carriage return is the record alone
        assert line.split("\r")[-1].startswith("INFO app."), repr(line)


def test_verbose_shows_the_training_childs_debug_lines(tmp_path):
    argv = train_args(tmp_path, "--epochs", "1", "--no-progress")
    quiet = arcx(*argv)
    assert quiet.returncode == 0 and "training child" not in quiet.stderr
    verbose = arcx("-v", *argv)
    assert verbose.returncode == 0
    assert "DEBUG app.core.training.child: training child" in verbose.stderr


def test_the_thread_tuners_choice_is_debug_chatter(caplog):
    tuner = ThreadTuner(high=4)
    with caplog.at_level(logging.DEBUG, logger="app.core.training.threads"):
        tuner.record(4, 5.0)  # warm-up
        for t in (0.9, 1.1, 0.3, 0.2):  # one thread wins: it says so
            tuner.record(tuner.threads(), t)
    assert tuner.choice == 1
    said = [r for r in caplog.records if "CPU threads" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.DEBUG


def test_quantizer_root_logger_chatter_is_dropped_and_explained_once(caplog):
    with caplog.at_level(logging.DEBUG):
        with _quiet():
            logging.info("Quantizing tensor conv1.weight")  # onnxruntime logs on the root logger
            logging.warning("Axis 1 is out-of-range for weight 'proj.1.weight' with rank 1")
            logging.warning("Axis 1 is out-of-range for weight 'proj.3.weight' with rank 1")
            logging.getLogger("app.core.model.runtime").warning("ours is kept")
            logging.error("a root error still shows")
        logging.warning("after the block the root logger is as before")
    messages = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert not any("out-of-range" in m and name == "root" for name, _, m in messages)
    assert not any("Quantizing tensor" in m for _, _, m in messages)
    assert ("app.core.model.runtime", logging.WARNING, "ours is kept") in messages
    assert ("root", logging.ERROR, "a root error still shows") in messages
    assert ("root", logging.WARNING, "after the block the root logger is as before") in messages
    explained = [m for name, level, m in messages if name == "app.core.model.fast"]
    assert len(explained) == 1 and "warned 2 time(s)" in explained[0] and "per tensor" in explained[0]
    assert [r.levelno for r in caplog.records if r.name == "app.core.model.fast"] == [logging.DEBUG]


def test_a_real_int8_quantization_prints_no_root_warning(tmp_path, caplog):
    pytest.importorskip("onnxruntime")
    from app.core.capture.synthetic import hud_frames
    from app.core.model.encoder import EncoderConfig, load_encoder
    from app.core.model.fast import export_onnx, quantize_onnx_int8

    small = EncoderConfig(latent_dim=32, height=64, width=112)
    model, _ = load_encoder(config=small, search_bundled=False)
    with caplog.at_level(logging.DEBUG):
        fp32 = export_onnx(model, tmp_path / "enc.onnx")
        quantize_onnx_int8(fp32, tmp_path / "int8.onnx", hud_frames(4, width=112, height=64, seed=9))
    assert not [r for r in caplog.records if r.name == "root" and r.levelno >= logging.INFO]
