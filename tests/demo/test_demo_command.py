"""`arcx demo` with a display: it says on the terminal whether it reuses the demo folder
or makes a new one (--fresh always does), then opens the app (faked here)."""

from __future__ import annotations

import argparse

import pytest

from app.commands import demo as command
from app.demo import builder


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    return parser.parse_args(["demo", *argv])


@pytest.fixture
def opened(monkeypatch):
    """`run_gui` replaced: what it was asked to do."""
    calls = []
    monkeypatch.setattr(command, "display_available", lambda: True)
    import app.ui.demo as ui_demo

    def run_gui(root, cfg, plan, seed=0, **kw):
        calls.append((root, cfg, plan, seed))
        return 0

    monkeypatch.setattr(ui_demo, "run_gui", run_gui)
    return calls


def finished_folder(root, cfg):
    for sub in ("train", "heldout"):
        (root / sub / "r0").mkdir(parents=True)
    model = root / "qnet.safetensors"
    model.write_bytes(b"w")
    builder.write_info(root, cfg, complete=True, encoder_id="e", model=model, result={}, report="SCORES",
                       runs={"train": ["r0"], "heldout": ["r0"]})


def test_a_first_demo_says_it_learns_behind_the_game(tmp_path, opened, capsys):
    assert command.run(parse("--root", str(tmp_path), "--train-raids", "3")) == 0
    err = capsys.readouterr().err
    assert "no demo made here yet: opening the game now; recording 3 training raids" in err
    root, cfg, plan, seed = opened[0]
    assert root == tmp_path and not plan.reuse and cfg.n_train_runs == 3
    assert seed == cfg.seed + 3 + cfg.n_heldout_runs  # live raids the model never saw


def test_a_second_demo_reuses_and_fresh_does_not(tmp_path, opened, capsys):
    args = parse("--root", str(tmp_path), "--train-raids", "3")
    finished_folder(tmp_path, command.demo_config(args))
    command.run(args)
    out = capsys.readouterr()
    assert "reusing 1 training + 1 held-out raids and their model" in out.err and "--fresh" in out.err
    assert out.out.strip() == "SCORES"  # the scores it printed when it made them
    assert opened[-1][2].reuse

    command.run(parse("--root", str(tmp_path), "--train-raids", "3", "--fresh"))
    assert "--fresh: making new raids" in capsys.readouterr().err and not opened[-1][2].reuse
    command.run(parse("--root", str(tmp_path), "--train-raids", "4"))
    assert "other settings" in capsys.readouterr().err and not opened[-1][2].reuse


def test_headless_prints_the_scores_and_leaves_a_folder_the_windowed_demo_reuses(tmp_path, monkeypatch, capsys):
    """`--headless` as before (encoder, raids, training, wall time, metrics, the table;
    exit 0), on the tiny demo; its folder is then reused by a windowed `arcx demo`."""
    from app.demo import pipeline
    from tests.demo import tiny

    monkeypatch.setattr(pipeline, "prepare_encoder", tiny.encoder)
    monkeypatch.setattr(command, "demo_config", lambda args: tiny.config())
    assert command.run(parse("--headless", "--no-progress", "--root", str(tmp_path))) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "encoder: tiny pixel encoder (tests)"
    assert out[1].startswith("generated: 4 raids") and out[2].startswith("trained: ")
    assert out[3].startswith("wall time: encoder") and out[4].startswith("held-out: 1 runs")
    assert out[-1].startswith("headline (trained only on what a player records)")
    plan = builder.reuse_plan(tmp_path, tiny.config())
    assert plan.reuse and plan.saved.encoder_id == tiny.ENCODER_ID
    assert plan.saved.report.splitlines() == out
