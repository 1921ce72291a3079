"""On a real X server: closing the demo's game window the way a window manager does
(WM_DELETE_WINDOW) ends the demo: the background build's process is stopped, the app
quits and the process exits 0. Skipped where Xvfb, xdotool or python-xlib is missing."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.xvfb import XvfbError
from scripts.xvfb import xvfb as start_xvfb

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

CHILD = Path(__file__).with_name("demo_child.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def display():
    if shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed (apt-get install xvfb xdotool)")
    pytest.importorskip("Xlib")
    try:
        with start_xvfb(1280, 800) as d:
            yield d
    except XvfbError as exc:
        pytest.skip(str(exc))


def test_closing_the_game_window_ends_the_demo_and_its_build(display, tmp_path):
    import psutil

    from scripts.demo_first_overlay import GAME_TITLE, OVERLAY_TITLE, close_window, visible

    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT),
           "ARCX_HOME": str(tmp_path / "home")}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(tmp_path / "demo")], env=env, cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        line = child.stdout.readline().strip()
        if not line.startswith("BUILDING"):
            err = child.stderr.read() if child.poll() is not None else ""
            if "xcb" in err and "plugin" in err:
                pytest.skip(f"Qt's xcb platform cannot load here: {err.strip()[-200:]}")
            pytest.fail(f"expected BUILDING, got {line!r} {err[-2000:]}")
        build_pid = int(line.split()[1])
        assert psutil.pid_exists(build_pid)
        assert visible(display, GAME_TITLE) and visible(display, OVERLAY_TITLE)
        assert close_window(display, GAME_TITLE)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err[-3000:]
        assert "EXIT 0 running=False" in out
        deadline = time.monotonic() + 10
        while psutil.pid_exists(build_pid) and psutil.Process(build_pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the build's process outlived the demo"
            time.sleep(0.1)
        assert "stopping the background learning" in err
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
