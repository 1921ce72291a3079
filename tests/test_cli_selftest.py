"""`arcx --self-test` (app/commands/selftest.py): reporting, and the real run from source."""

from __future__ import annotations

import importlib.util

import pytest

from app.cli import main
from app.commands import selftest


@pytest.fixture(autouse=True)
def _cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCX_DEVICE", "cpu")


def _ok(ctx: object) -> str:
    return "fine"


def _missing(ctx: object) -> str:
    selftest._require("app.core.no_such_module")
    return "unreachable"


def _boom(ctx: object) -> str:
    raise RuntimeError("the overlay painted nothing")


def test_every_step_runs_and_failures_are_reported() -> None:
    results, _notes = selftest.run_steps((("a", _missing), ("b", _boom), ("c", _ok)))
    assert [(r.name, r.ok) for r in results] == [("a", False), ("b", False), ("c", True)]
    assert results[0].detail == "not built yet: app.core.no_such_module is missing"
    assert results[1].detail.startswith(
        "RuntimeError: the overlay painted nothing (at test_cli_selftest.py:"
    )
    assert results[2].detail == "fine"


def test_require_reraises_a_missing_third_party_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only ArcX's own modules are "not built yet"; a missing dependency is a real error."""

    def fake_import(name: str) -> None:
        raise ModuleNotFoundError("No module named 'polars'", name="polars")

    monkeypatch.setattr(selftest.importlib, "import_module", fake_import)
    with pytest.raises(ModuleNotFoundError, match="polars"):
        selftest._require("app.core.data.recorder")


def test_exit_status_and_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(selftest, "STEPS", (("device", _ok), ("pipeline", _missing)))
    assert main(["--self-test"]) == 1
    out = capsys.readouterr().out
    assert "ok   device    fine" in out
    assert "FAIL pipeline  not built yet" in out
    assert out.rstrip().endswith("self-test FAILED: pipeline")

    monkeypatch.setattr(selftest, "STEPS", (("device", _ok),))
    assert main(["--self-test"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("self-test passed")


@pytest.mark.slow
@pytest.mark.gui
def test_the_real_self_test_from_source(capsys: pytest.CaptureFixture[str]) -> None:
    """Every step with the real pieces: what build.sh runs on the frozen app."""
    missing = [
        m for m in ("app.core.engine", "app.ui.overlay") if importlib.util.find_spec(m) is None
    ]
    status = main(["--self-test"])
    out = capsys.readouterr().out
    if missing:
        assert status == 1 and "not built yet" in out
        return
    assert status == 0, out
    for step in ("modules", "device", "encoder", "qnet", "pipeline", "runtimes", "overlay"):
        assert f"ok   {step}" in out


def _save_player_model(encoder_id: str) -> None:
    from app.core import paths
    from app.core.model.checkpoint import save_checkpoint
    from app.core.model.qnet import QNetConfig, TemporalQNet

    save_checkpoint(
        paths.user_models_dir() / "qnet.safetensors",
        TemporalQNet(QNetConfig()),
        encoder_id=encoder_id,
        value_scale=250.0,
        epoch=7,
        val_loss=0.25,
    )


def test_qnet_step_uses_the_players_model_and_fails_on_a_foreign_one() -> None:
    from app.core.model.encoder import load_encoder

    _, info = load_encoder()
    steps = (("encoder", selftest._step_encoder), ("qnet", selftest._step_qnet))

    _save_player_model(info.encoder_id)
    results, _ = selftest.run_steps(steps)
    assert results[1].ok and "qnet.safetensors (epoch 7, val loss 0.25)" in results[1].detail

    _save_player_model("0123456789abcdef")  # trained on another encoder's latents
    results, _ = selftest.run_steps(steps)
    assert not results[1].ok
    assert (
        "CheckpointMismatchError" in results[1].detail and "0123456789abcdef" in results[1].detail
    )
