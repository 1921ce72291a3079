"""The recording lock of a run folder: an OS file lock, freed by the OS if the process dies.

A recorder holds `<run>/.recording.lock` for as long as it records the run; a change to a
run (label, delete, crash recovery) takes the same lock first, so nothing touches a run
that this or another process is recording.

On a read-only folder the lock file cannot be created or opened for writing; an existing
one is then opened for reading (an OS lock works on that too), and a folder without one
cannot be recorded into by anyone, so reading it needs no lock. Only a change to such a
run fails, later, with a `WriteError` saying the folder is read-only.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from app.core.atomic import WriteError, write_error
from app.core.errors import DataError

__all__ = ["LOCK_FILE", "RunLock", "exclusive", "is_recording"]

LOCK_FILE = ".recording.lock"


class RunLock:
    """An OS-level exclusive lock on a run's lock file; freed by the OS if the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        """Try once, without waiting. True when this object now holds the lock.

        Raises `WriteError` only when the lock file can be neither created nor opened
        (a read-only folder without one, or no permission at all).
        """
        f: IO[bytes]
        try:
            f = open(self.path, "a+b")  # noqa: SIM115 (held open for the lock's lifetime)
        except OSError as exc:  # read-only folder or file: lock the existing file for reading
            try:
                f = open(self.path, "rb")  # noqa: SIM115
            except OSError:
                raise write_error(exc, f"lock {self.path}") from exc
        try:
            if sys.platform == "win32":
                import msvcrt

                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return False
        self._file = f
        return True

    def release(self, *, remove: bool = False) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        if remove:
            # Unlink while still holding it, so nobody takes a lock on a file about to vanish.
            with contextlib.suppress(OSError):
                self.path.unlink()
        try:
            if sys.platform == "win32":
                import msvcrt

                f.seek(0)
                with contextlib.suppress(OSError):
                    msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        finally:
            f.close()
        if remove and sys.platform == "win32":  # Windows cannot unlink an open file
            with contextlib.suppress(OSError):
                self.path.unlink()

    @property
    def held(self) -> bool:
        return self._file is not None


def is_recording(run_dir: Path) -> bool:
    """True when some recorder (this process or another) holds the run's lock."""
    lock_path = Path(run_dir) / LOCK_FILE
    if not lock_path.exists():
        return False
    probe = RunLock(lock_path)
    try:
        acquired = probe.acquire()
    except WriteError:  # cannot even be opened: no recorder can be writing that folder
        return False
    if acquired:
        probe.release()
        return False
    return True


@contextlib.contextmanager
def exclusive(run_dir: Path, what: str) -> Iterator[None]:
    """Hold the run's lock for a change; DataError if a recorder holds it."""
    lock = RunLock(run_dir / LOCK_FILE)
    try:
        acquired = lock.acquire()
    except WriteError as exc:
        raise WriteError(f"cannot {what} run {run_dir.name}: {exc}", errno_=exc.errno) from exc
    if not acquired:
        raise DataError(f"run {run_dir.name} is being recorded; {what} it after it ends")
    try:
        yield
    finally:
        lock.release(remove=True)
