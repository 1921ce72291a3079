"""`arcx run --headless` through the real CLI: JSON lines on stdout and a recorded run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from app.cli import main
from app.commands.run import parse_outcome
from app.core.capture.synthetic import hud_frames
from app.core.data.store import list_runs
from app.core.model.checkpoint import save_checkpoint
from app.core.model.encoder import load_encoder
from app.core.model.qnet import QNetConfig, TemporalQNet

N_FRAMES = 12  # 1.5 s of replay at 8 FPS


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCX_DEVICE", "cpu")


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "frames.npz"
    np.savez(path, frames=hud_frames(N_FRAMES, width=640, height=360, seed=4))
    return path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Q-net for the bundled (seeded) encoder whose every quantile is 2.0 → EV 200."""
    _, info = load_encoder()
    net = TemporalQNet(QNetConfig())
    with torch.no_grad():
        net.head[-1].weight.zero_()
        net.head[-1].bias.fill_(2.0)
    path = tmp_path_factory.mktemp("models") / "qnet.safetensors"
    return save_checkpoint(path, net, encoder_id=info.encoder_id, value_scale=100.0, epoch=1, val_loss=0.2)


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_parse_outcome() -> None:
    assert parse_outcome("extracted:1500") == ("extracted", 1500.0)
    assert parse_outcome("Died") == ("died", 0.0)
    for bad in ("extracted", "extracted:-5", "extracted:lots", "won", "died:3"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_outcome(bad)


def test_needs_headless(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    assert "--headless" in capsys.readouterr().err


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--headless", "--outcome", "won"])
    assert exc.value.code == 2
    assert main(["run", "--headless", "--source", "webcam"]) == 2
    err = capsys.readouterr().err
    assert "unknown source" in err and "sim" in err  # the demo's kind is offered


def test_without_a_model_records_and_invents_no_ev(
    replay: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "runs"
    code = main([
        "run", "--headless", "--source", f"replay:{replay}", "--data", str(data),
        "--encoder-path", "fp32", "--outcome", "extracted:750",
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "no trained model" in captured.err
    lines = _lines(captured.out)  # stdout is JSON lines only
    assert lines
    for line in lines:
        assert line["ev_stay"] is None and line["ev_extract"] is None and line["advice"] is None
        # capture_lost: a last tick can land after the replay ran out of frames
        assert line["reason"] in ("no_model", "no_frames", "capture_lost")
        assert set(line["stages_ms"]) == {"grab", "preprocess", "encode", "qnet"}
    assert any(line["reason"] == "no_model" and line["frame_age_ms"] is not None for line in lines)
    (run,) = list_runs(data)
    assert run.n_frames == N_FRAMES and run.n_decisions >= 1
    assert run.outcome == "extracted" and run.final_loot_value == 750.0
    assert run.encoder_path == "fp32"


def test_with_a_model_prints_ev_lines(
    replay: Path, model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "runs"
    code = main([
        "run", "--headless", "--source", f"replay:{replay}", "--data", str(data),
        "--encoder-path", "fp32", "--model", str(model_file), "--risk", "safe",
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    with_ev = [line for line in _lines(captured.out) if line["ev_stay"] is not None]
    assert with_ev, captured.out
    line = with_ev[-1]
    assert line["ev_stay"] == pytest.approx(200.0) and line["ev_extract"] == pytest.approx(200.0)
    assert line["risk"] == "safe" and line["advice"] in ("stay", "extract") and line["reason"] is None
    assert line["frame_age_ms"] > 0 and line["stages_ms"]["qnet"] is not None
    assert isinstance(line["warming"], bool)
    (run,) = list_runs(data)
    assert run.outcome is None  # no --outcome: left for the runs view


def test_a_model_for_another_encoder_is_one_clear_error(
    replay: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = TemporalQNet(QNetConfig())
    bad = save_checkpoint(tmp_path / "other.safetensors", net, encoder_id="0123456789abcdef",
                          value_scale=1.0, epoch=1, val_loss=1.0)
    code = main(["run", "--headless", "--source", f"replay:{replay}", "--data", str(tmp_path / "r"),
                 "--encoder-path", "fp32", "--model", str(bad)])
    assert code == 2
    assert "encoder" in capsys.readouterr().err


def test_sim_source_records_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--source sim`: the demo's simulated raid, passed in by the command (core has no sim)."""
    data = tmp_path / "runs"
    code = main([
        "run", "--headless", "--source", "sim", "--seconds", "1", "--data", str(data),
        "--encoder-path", "fp32",
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "(sim," in captured.err
    (run,) = list_runs(data)
    assert run.n_frames >= 1
