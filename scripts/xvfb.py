"""Start a private Xvfb X server: one helper for the Xvfb tests and scripts/screenshots.py.

    with xvfb(1280, 800) as display:      # ":N", a display number Xvfb picked itself
        subprocess.run([...], env={**os.environ, "DISPLAY": display})

Xvfb chooses a free display number and reports it once it accepts connections
(`-displayfd`), so there is no guessing of free numbers and no polling for its socket.
It lives here, not under `app/`: the app never starts an X server, and the tests reach
it through pytest's `pythonpath = ["."]` (pyproject.toml).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
from collections.abc import Iterator

__all__ = ["XvfbError", "available", "xvfb"]


class XvfbError(RuntimeError):
    """Xvfb is not installed, or it did not start."""


def available() -> bool:
    """True when an `Xvfb` executable is on PATH."""
    return shutil.which("Xvfb") is not None


@contextlib.contextmanager
def xvfb(width: int, height: int, depth: int = 24, *, timeout_s: float = 10.0) -> Iterator[str]:
    """Run Xvfb with one `width`×`height`×`depth` screen; yield its display name, e.g. ":99".

    Raises XvfbError when Xvfb is missing or not ready within `timeout_s`. The server is
    stopped when the block ends.
    """
    exe = shutil.which("Xvfb")
    if exe is None:
        raise XvfbError("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(
            [exe, "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x{depth}", "-nolisten", "tcp",
             "-noreset"],  # no server reset when the last client goes: a reconnect would fail during it,
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError as exc:
        os.close(read_fd)
        raise XvfbError(f"Xvfb cannot be started: {exc}") from exc
    finally:
        os.close(write_fd)
    try:
        with os.fdopen(read_fd) as reader:
            ready, _, _ = select.select([reader], [], [], timeout_s)
            number = reader.readline().strip() if ready else ""  # written once it is ready
        if not number:
            raise XvfbError("Xvfb did not start" if ready else f"Xvfb was not ready within {timeout_s:g} s")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
