"""The overlay is really click-through: on a real X server (Xvfb), a click at the
overlay's position reaches the window beneath it. Skipped where Xvfb or xdotool is missing.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

CHILD = Path(__file__).with_name("clickthrough_child.py")
ROOT = Path(__file__).resolve().parents[2]


def _free_display() -> int:
    for n in range(90, 160):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    pytest.skip("no free X display number")


@pytest.fixture(scope="module")
def xvfb():
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed (apt-get install xvfb xdotool)")
    n = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.skip("Xvfb did not start")
        time.sleep(0.05)
    yield f":{n}"
    proc.terminate()
    proc.wait(timeout=10)


def _click_through(display: str, mode: str) -> str:
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), mode],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline().split()
        if not line or line[0] != "READY":
            err = child.stderr.read() if child.poll() is not None else ""
            if "xcb" in err and "plugin" in err:
                pytest.skip(f"Qt's xcb platform cannot load here: {err.strip()[-200:]}")
            pytest.fail(f"child did not get ready: {line} {err}")
        x, y, inside = int(line[1]), int(line[2]), line[3] == "1"
        assert inside, "the overlay's centre must lie over the window beneath"
        subprocess.run(
            ["xdotool", "mousemove", str(x), str(y), "click", "1"],
            env={**os.environ, "DISPLAY": display},
            check=True,
            timeout=10,
        )
        out = child.stdout.readline().strip()
        child.wait(timeout=30)
        return out
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_click_at_the_overlay_reaches_the_window_beneath(xvfb):
    assert _click_through(xvfb, "locked") == "CLICK beneath"


def test_control_an_unlocked_overlay_takes_the_click(xvfb):
    """Proves the test can tell: with input enabled the overlay swallows the click."""
    assert _click_through(xvfb, "unlocked") == "CLICK overlay"
