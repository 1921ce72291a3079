"""`arcx run` against bad arguments, bad sources, signals, a full disk and stale temp models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.commands import run as run_cmd
from app.core import paths
from app.core.data.store import list_runs, read_run_row


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCX_DEVICE", "cpu")


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--fps", "0"], "--fps: '0': the frame rate must be a number > 0"),
        (["--fps", "-2"], "--fps: '-2'"),
        (["--fps", "nan"], "--fps: 'nan'"),
        (["--fps", "1000"], "≤ 30"),
        (["--seconds", "nan"], "--seconds: 'nan': the run length"),
        (["--seconds", "inf"], "--seconds: 'inf'"),
        (["--seconds", "0"], "--seconds: '0'"),
        (["--outcome", "extracted:1e308"], "0 ≤ VALUE ≤ 1e+09"),
    ],
)
def test_bad_arguments_exit_2_before_the_warm_up(
    argv: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--headless", "--data", str(tmp_path / "runs"), *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_a_missing_replay_is_refused_before_anything_is_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "runs"
    assert main(["run", "--headless", "--source", "replay:/nonexistent", "--data", str(data)]) == 2
    assert capsys.readouterr().err.strip() == "arcx: error: replay source not found: /nonexistent"
    assert list_runs(data) == []


def test_a_source_that_fails_before_its_first_frame_leaves_no_empty_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "frames.txt"  # exists, but is no replay
    bad.write_text("hello")
    data = tmp_path / "runs"
    code = main(["run", "--headless", "--source", f"replay:{bad}", "--data", str(data), "--encoder-path", "fp32"])
    err = capsys.readouterr().err
    assert code == 2 and "before the first frame" in err and "no run was recorded" in err
    assert list_runs(data) == [] and list(data.iterdir()) == []


def test_temp_files_of_a_crashed_save_are_never_the_model(tmp_path: Path) -> None:
    models = paths.user_models_dir()
    stale = models / ".qnet-x1y2z3.safetensors"
    stale.write_bytes(b"")  # 0 B, as a crash mid-save leaves it
    (models / ".qnet.prev-a1b2c3.tmp").write_bytes(b"partial")
    old = time.time() - 3600
    for p in models.iterdir():
        os.utime(p, (old, old))
    assert run_cmd.default_model() is None
    assert list(models.iterdir()) == []  # stale ones removed
    fresh = models / ".qnet-fresh1.safetensors"  # a save in progress now: left alone, not picked
    fresh.write_bytes(b"")
    (models / "mine.safetensors").write_bytes(b"x")
    assert run_cmd.default_model() == models / "mine.safetensors"
    assert fresh.exists()


def test_a_read_only_runs_folder_is_refused_before_the_warm_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.mounts import read_only

    data = tmp_path / "runs"
    data.mkdir()
    with read_only(data):
        assert main(["run", "--headless", "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"arcx: error: could not record runs in {data}: the folder is on a read-only file system"


def test_a_full_disk_is_refused_before_the_warm_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.mounts import tmpfs

    with tmpfs(tmp_path, "2m") as disk:
        assert main(["run", "--headless", "--data", str(disk / "runs")]) == 1
    err = capsys.readouterr().err
    assert "arcx: error: cannot start a run: only 2.0 MB free" in err and "free some space" in err


def test_the_disk_filling_up_during_a_run_says_what_was_not_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.mounts import fill, tmpfs

    monkeypatch.setattr(run_cmd, "SAVE_GRACE_S", 1.0)
    with tmpfs(tmp_path, "104m") as disk:
        data = disk / "runs"
        filled = threading.Event()

        def filler() -> None:  # fill the disk once the first frames are on it
            while not (data.exists() and any(p.name.startswith("frames-") for p in data.glob("*/*"))):
                time.sleep(0.05)
            fill(disk)
            filled.set()

        threading.Thread(target=filler, daemon=True).start()
        code = main(["run", "--headless", "--source", "synthetic", "--seconds", "6", "--data", str(data),
                     "--encoder-path", "fp32"])
        err = capsys.readouterr().err
        assert filled.is_set()
        assert code == 1, err
        last = err.strip().splitlines()[-1]
        assert "s of run" in last and "could not be saved" in last and "the disk is full" in last
        assert "Traceback" not in err
        saved = float(last.split("(")[1].split(" s are on disk")[0])
        assert saved > 0
        (disk / "filler.bin").unlink()
        from app.core.data.recorder import RunRecorder

        (info,) = RunRecorder(data).recovered  # what reached the disk is readable
        assert info.n_frames > 0 and info.recovered


def _start_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    data = tmp_path / "runs"
    env = {**os.environ, "ARCX_HOME": str(tmp_path / "home"), "ARCX_DEVICE": "cpu"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "run", "--headless", "--source", "synthetic", "--data", str(data),
         "--encoder-path", "fp32"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "recording run" in line:
            break
    return proc, data


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_end_the_run_cleanly(tmp_path: Path, sig: int) -> None:
    proc, data = _start_run(tmp_path)
    while not any(p.name.startswith("frames-") for d in data.iterdir() for p in d.iterdir()):
        time.sleep(0.1)  # at least one flush: the run has frames
    proc.send_signal(sig)
    _, err = proc.communicate()
    assert proc.returncode == 128 + sig, err
    assert f"stopped by {signal.Signals(sig).name}; the run is saved" in err
    (run,) = list_runs(data)
    row = read_run_row(run.path)
    assert row["ended_at"] is not None and not row["recovered"]  # ended, not crashed
    assert run.n_frames > 0 and np.isfinite(run.duration_s)
