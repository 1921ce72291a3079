"""The `arcx` command.

`arcx` with no arguments starts the desktop app; subcommands run the same core
headless. Each subcommand lives in `app/commands/<name>.py` and exposes
`register(subparsers)`, which only declares arguments (cheap: torch is imported by the
handler, not at parse time). A handler returns an exit status; an `ArcXError` becomes
one clear line on stderr and status 2, never a traceback. A file-system error (a full
disk, a read-only folder) is one line and status 1; anything else is one line naming the
log file and status 1. Tracebacks go only to the log file (`arcx.log` in the user log
dir), never to the console.
"""

from __future__ import annotations

import os

# Before torch is first imported: OpenMP's idle threads must sleep, not spin. Spinning
# workers steal the core the game (and our own main thread) needs; on 2 shared cores a
# 2-thread step ran up to 15x slower (benchmarks/train.py). The player can still override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import logging.handlers  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from app import __version__  # noqa: E402
from app.core.atomic import WriteError, describe_os_error  # noqa: E402
from app.core.errors import ArcXError  # noqa: E402

# One module per subcommand, in the order `arcx --help` lists them.
COMMANDS: tuple[str, ...] = ("doctor", "run", "train", "data", "demo", "eval")

EXIT_USAGE = 2
EXIT_FAILED = 1
LOG_FILE = "arcx.log"  # the same file the desktop app writes (app.ui.errors)
LOG_MAX_BYTES = 2 * 1024 * 1024
LOG_BACKUPS = 5

log = logging.getLogger("app.cli")


class _Console(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (tests and callers may replace it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


class _OneLine(logging.Formatter):
    """Console records without their traceback: those go to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None}))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arcx",
        description="ArcX: live EV of staying vs extracting, learned from your own raids.",
    )
    parser.add_argument("--version", action="version", version=f"arcx {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this install (device, models, one frame through the pipeline, overlay) and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"app.commands.{name}").register(sub)
    return parser


def _setup_logging(verbose: bool) -> Path | None:
    """Console (one line per record) and the rotating log file; returns the file, if any."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not root.handlers:  # as logging.basicConfig: a host (pytest, the app) may have its own
        console = _Console()
        console.setFormatter(_OneLine("%(levelname)s %(name)s: %(message)s"))
        console._arcx = True  # type: ignore[attr-defined]
        root.addHandler(console)
    for h in root.handlers:
        if isinstance(h, logging.handlers.RotatingFileHandler):
            return Path(h.baseFilename)
    try:
        from app.core import paths

        path = paths.log_dir() / LOG_FILE
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError:  # a read-only or missing log folder: the console still works
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return path


def log_above_bars() -> contextlib.AbstractContextManager[object]:
    """Around work that draws tqdm bars: log lines go above the bars, never through them
    (`tqdm.contrib.logging.logging_redirect_tqdm`), when the console handler is ours. A
    host that owns the root logger (pytest, an embedding app) is left as it is."""
    if any(getattr(h, "_arcx", False) for h in logging.getLogger().handlers):
        from tqdm.contrib.logging import logging_redirect_tqdm

        return logging_redirect_tqdm()
    return contextlib.nullcontext()


def _fail(message: str) -> None:
    print(f"arcx: error: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    log_file = _setup_logging(args.verbose)
    if args.self_test:
        return int(importlib.import_module("app.commands.selftest").main())
    handler = getattr(args, "handler", None)
    if handler is None:
        return gui_main()
    try:
        return int(handler(args) or 0)
    except WriteError as exc:
        log.debug("%s", exc, exc_info=True)
        _fail(str(exc))
        return EXIT_FAILED
    except ArcXError as exc:
        log.debug("%s", exc, exc_info=True)
        _fail(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("arcx: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file the command needs: full disk, read-only, missing
        log.error("%s failed: %s", args.command, exc, exc_info=True)
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"{describe_os_error(exc)}{where}")
        return EXIT_FAILED
    except (RecursionError, MemoryError) as exc:
        log.error("%s failed: %s", args.command, type(exc).__name__, exc_info=True)
        _fail(f"the input is too deeply nested or too large ({type(exc).__name__})")
        return EXIT_FAILED
    except Exception as exc:
        log.error("%s failed", args.command, exc_info=True)
        where = f"; the details are in {log_file}" if log_file else ""
        _fail(f"{type(exc).__name__}: {exc}{where}")
        return EXIT_FAILED


def gui_main() -> int:
    """Entry point of the windowed executable (no console on Windows)."""
    try:
        ui_app = importlib.import_module("app.ui.app")
    except ModuleNotFoundError:
        print(
            "arcx: the desktop app is not built yet; try `arcx doctor` or `arcx --help`.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return int(ui_app.main())


if __name__ == "__main__":
    sys.exit(main())
