"""Real file-system faults for tests: a small tmpfs (a disk that fills) and a read-only
bind mount. Both need root on Linux; where mounting is not allowed the test is skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting needs root on Linux")
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount is not allowed here: {done.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def tmpfs(parent: Path, size: str = "2m") -> Iterator[Path]:
    """A fresh tmpfs of `size` mounted in a new folder under `parent`."""
    point = Path(parent) / f"tmpfs-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point))
    try:
        yield point
    finally:
        _umount(point)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """`path` itself, bind-mounted read-only over itself until the block ends."""
    path = Path(path)
    _mount("--bind", str(path), str(path))
    try:
        done = subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"read-only remount is not allowed here: {done.stderr.strip()}")
        yield path
    finally:
        _umount(path)


def fill(folder: Path) -> Path:
    """Write a file in `folder` until its file system is full; returns the file."""
    filler = Path(folder) / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1 << 16, 1 << 10, 1):  # unbuffered: the last bytes too
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler
