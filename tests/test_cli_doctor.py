"""`arcx doctor` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the player's settings out of it, and force the CPU: no GPU in CI."""
    monkeypatch.setenv("ARCX_HOME", str(tmp_path))
    monkeypatch.setenv("ARCX_DEVICE", "cpu")
    return tmp_path


def test_doctor_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "Device:       cpu (cpu)" in out
    assert "Requested:    cpu (from ARCX_DEVICE); used" in out
    assert "* cpu" in out
    assert "torch:" in out and "CPU threads:" in out


def test_doctor_json(capsys: pytest.CaptureFixture[str], isolated_home: Path) -> None:
    assert main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    device = data["device"]
    assert device["kind"] == "cpu" and device["device"] == "cpu"
    assert device["override_source"] == "env" and device["override_error"] is None
    assert [c["chosen"] for c in device["candidates"]].count(True) == 1
    assert data["settings_file"].startswith(str(isolated_home))


def test_doctor_reads_the_device_setting(
    capsys: pytest.CaptureFixture[str], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCX_DEVICE")
    settings = isolated_home / "config" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"device": "cpu"}), encoding="utf-8")
    assert main(["doctor", "--json"]) == 0
    device = json.loads(capsys.readouterr().out)["device"]
    assert device["kind"] == "cpu"
    assert device["override"] == "cpu" and device["override_source"] == "settings"


def test_doctor_survives_a_bad_settings_file(
    capsys: pytest.CaptureFixture[str], isolated_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = isolated_home / "config" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text("{not json", encoding="utf-8")
    assert main(["doctor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["device"]["kind"] == "cpu"
    assert any("defaults are in use" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("content", ["{not json", "[" * 100_000 + "]" * 100_000], ids=["not-json", "deep"])
def test_doctor_survives_a_bad_settings_file_in_a_read_only_config_folder(
    capsys: pytest.CaptureFixture[str], isolated_home: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    from tests.mounts import read_only

    folder = isolated_home / "config"
    folder.mkdir(parents=True)
    (folder / "settings.json").write_text(content, encoding="utf-8")
    with read_only(folder):
        assert main(["doctor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["device"]["kind"] == "cpu"
    assert any("read-only" in r.getMessage() for r in caplog.records)


def test_doctor_says_how_the_desktop_app_starts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    assert "Desktop app:  starts with torch on the device above (no encoder cache yet" in capsys.readouterr().out
    assert main(["doctor", "--json"]) == 0
    start = json.loads(capsys.readouterr().out)["desktop_start"]
    assert start["lean"] is False and "no encoder cache" in start["reason"]


def test_doctor_names_a_lean_start(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from app.core.model.lean import write_live_record

    graph = tmp_path / "encoder_int8.onnx"
    graph.write_bytes(b"a graph")
    write_live_record(path_name="ort-int8", onnx=graph, encoder_id="enc", weights=None, threads=2, device="cpu",
                      encoder_path="auto", reason="ort-int8: a test")
    assert main(["doctor"]) == 0  # ARCX_DEVICE=cpu, as the record
    out = capsys.readouterr().out
    assert "Desktop app:  lean start: computes on the CPU, ort-int8 encoder" in out and "torch not loaded" in out
