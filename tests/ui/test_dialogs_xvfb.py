"""On a real X server: About really maps a window, and the always-on-top overlay is
unmapped while ArcX's own Runs window or About box is open (then comes back). Checked
from outside the process with xdotool. Skipped where Xvfb or xdotool is missing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.xvfb import XvfbError
from scripts.xvfb import xvfb as start_xvfb

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

CHILD = Path(__file__).with_name("dialogs_child.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def display():
    if shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed (apt-get install xvfb xdotool)")
    try:
        with start_xvfb(1280, 800) as d:
            yield d
    except XvfbError as exc:
        pytest.skip(str(exc))


def mapped(display: str, title: str) -> bool:
    out = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", title],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=10,
    )
    return bool(out.stdout.strip())


def test_about_opens_and_the_overlay_never_covers_arcx_windows(display):
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD)], env=env, cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        seen = {}
        for expected in ("RUN", "RUNS", "ABOUT"):
            line = child.stdout.readline().strip()
            if line != expected:
                err = child.stderr.read() if child.poll() is not None else ""
                if "xcb" in err and "plugin" in err:
                    pytest.skip(f"Qt's xcb platform cannot load here: {err.strip()[-200:]}")
                pytest.fail(f"expected {expected}, got {line!r} {err[-2000:]}")
            seen[expected] = {
                "overlay": mapped(display, "^ArcX overlay$"),
                "runs": mapped(display, "recorded runs"),
                "about": mapped(display, "^About ArcX$"),
            }
            child.stdin.write("\n")
            child.stdin.flush()
        last = child.stdout.readline().strip()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert seen["RUN"]["overlay"]
    assert seen["RUNS"]["runs"] and not seen["RUNS"]["overlay"]
    assert seen["ABOUT"]["about"] and not seen["ABOUT"]["overlay"]
    assert last == "OVERLAY-BACK"
