"""Entry script of the frozen executables (arcx.spec); from source, `arcx` runs app.cli.

Two things only a frozen Windows app needs, before anything else is imported:

- `multiprocessing.freeze_support()`: a child process started by multiprocessing (data
  loading, training) re-runs this executable; without the call it would start another
  copy of the app instead of the child's work.
- Streams: the windowed `arcx.exe` has no console, so `sys.stdout`/`sys.stderr` are
  None, and a library that writes a progress bar or a warning to them (tqdm, warnings)
  would raise. They are pointed at the null device; the app's log file is unaffected.
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives as long as the app)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115

    from app.cli import main

    sys.exit(main())
