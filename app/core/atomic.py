"""Crash-safe file writes: write a temp file beside the target, fsync, rename over it.

Every file ArcX must never leave half-written (settings, checkpoints, Parquet parts,
exported encoders) goes through `atomic_path`, so a crash or kill leaves either the old
file or the new one, never a torn one.

A write that the file system refuses (a full disk, a read-only folder, no permission)
becomes a `WriteError` whose message says which of these it was (`write_error`), so a
command shows one line instead of a traceback. `free_bytes` and `check_free_space` let
a caller refuse to start work that would fill the disk; `remove_stale_temps` deletes the
temp files of writes that a crash interrupted.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.core.errors import ArcXError


class WriteError(ArcXError):
    """A file could not be written: the disk is full, the folder is read-only, …"""

    def __init__(self, message: str, *, errno_: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_

    @property
    def disk_full(self) -> bool:
        return self.errno in (errno.ENOSPC, errno.EDQUOT)


# errno → what the player can do about it
_REASONS = {
    errno.ENOSPC: "the disk is full; free some space",
    errno.EDQUOT: "the disk quota is used up; free some space",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "permission denied; the folder is read-only for this user",
    errno.EPERM: "permission denied; the folder is read-only for this user",
}
_TEXT_ERRNO = (("no space left", errno.ENOSPC), ("read-only", errno.EROFS), ("permission denied", errno.EACCES))


def os_errno(exc: BaseException) -> int | None:
    """The errno of an OSError, or guessed from the text of another library's error
    (safetensors' SafetensorError carries only the OS message)."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return int(exc.errno)
    text = str(exc).lower()
    for words, code in _TEXT_ERRNO:
        if words in text:
            return code
    return None


def describe_os_error(exc: BaseException) -> str:
    """A few words on why a write failed: "the disk is full; free some space"."""
    code = os_errno(exc)
    if code in _REASONS:
        return _REASONS[code]
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def write_error(exc: BaseException, what: str) -> WriteError:
    """`WriteError("could not <what>: the disk is full; free some space")`."""
    return WriteError(f"could not {what}: {describe_os_error(exc)}", errno_=os_errno(exc))


def free_bytes(folder: Path) -> int:
    """Bytes free for this user on the file system of `folder` (or its nearest parent)."""
    folder = Path(folder)
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return int(shutil.disk_usage(folder).free)


def check_free_space(folder: Path, min_bytes: int, what: str) -> None:
    """WriteError when less than `min_bytes` are free where `folder` lives."""
    free = free_bytes(folder)
    if free < min_bytes:
        raise WriteError(
            f"cannot {what}: only {free / 2**20:.1f} MB free in {folder}, at least "
            f"{min_bytes / 2**20:.0f} MB are needed; free some space",
            errno_=errno.ENOSPC,
        )


# Temp names `atomic_path` and `swap_files` create: `.<stem>-<random><suffix>`.
TEMP_SUFFIXES = (".tmp", ".swap", ".safetensors", ".parquet", ".json")
STALE_AFTER_S = 15 * 60.0
"""A temp file this old belongs to no write in progress (a checkpoint save takes seconds)."""


def temp_files(folder: Path) -> list[Path]:
    """The hidden temp files of `atomic_path` / `swap_files` writes in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir()
        if p.name.startswith(".") and p.suffix in TEMP_SUFFIXES and "-" in p.name and p.is_file()
    )


def remove_stale_temps(folder: Path, *, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete temp files a crash left in `folder` (older than `older_than_s`); returns them.

    Younger ones may belong to a write another process is doing now and are left alone.
    A folder that cannot be written is left as it is.
    """
    now = time.time()
    removed = []
    for p in temp_files(folder):
        try:
            if now - p.stat().st_mtime >= older_than_s:
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


def is_hidden(path: Path) -> bool:
    """True for a dotfile: temp files, locks and swap copies are hidden, real files never."""
    return Path(path).name.startswith(".")


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


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex (read 1 MiB at a time)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
