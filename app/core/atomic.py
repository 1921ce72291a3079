"""Crash-safe file writes: write a temp file beside the target, fsync, rename over it.

Every file ArcX must never leave half-written (settings, checkpoints, Parquet parts,
exported encoders) goes through `atomic_path`, so a crash or kill leaves either the old
file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open a directory; NTFS renames are journaled
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path, *, suffix: str = ".tmp", durable: bool = True) -> Iterator[Path]:
    """Yield a temp path in the target's folder; on success it replaces `path`.

    The caller writes the whole file to the yielded path. If the block raises, the temp
    file is removed and `path` is untouched. `durable` fsyncs the file and the folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def swap_files(a: Path, b: Path) -> None:
    """Exchange the contents of two files so that a crash at any moment loses neither.

    A complete copy of `a` is written first; then `b` replaces `a` and the copy replaces
    `b`, each by an atomic rename. A crash between the two renames leaves `a` holding b's
    old content and the copy (`.<a>-*.swap` beside it) holding a's: nothing is lost.
    """
    a, b = Path(a), Path(b)
    for p in (a, b):
        if not p.is_file():
            raise FileNotFoundError(f"cannot swap: {p} does not exist")
    with atomic_path(a.with_name(a.name + ".swap"), suffix=".swap") as copy:
        shutil.copyfile(a, copy)
    spare = a.with_name(a.name + ".swap")
    os.replace(b, a)
    os.replace(spare, b)
    fsync_dir(a.parent)
