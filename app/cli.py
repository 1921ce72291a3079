"""The `arcx` command.

`arcx` with no arguments starts the desktop app; subcommands run the same core
headless. Each subcommand lives in `app/commands/<name>.py` and exposes
`register(subparsers)`, which only declares arguments (cheap: torch is imported by the
handler, not at parse time). A handler returns an exit status; an `ArcXError` becomes
one clear line on stderr and status 2, never a traceback.
"""

from __future__ import annotations

import os

# Before torch is first imported: OpenMP's idle threads must sleep, not spin. Spinning
# workers steal the core the game (and our own main thread) needs; on 2 shared cores a
# 2-thread step ran up to 15x slower (benchmarks/train.py). The player can still override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from app import __version__  # noqa: E402
from app.core.errors import ArcXError  # noqa: E402

# One module per subcommand, in the order `arcx --help` lists them.
COMMANDS: tuple[str, ...] = ("doctor", "run", "train", "data", "demo", "eval")

EXIT_USAGE = 2


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


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if args.self_test:
        return int(importlib.import_module("app.commands.selftest").main())
    handler = getattr(args, "handler", None)
    if handler is None:
        return gui_main()
    try:
        return int(handler(args) or 0)
    except ArcXError as exc:
        print(f"arcx: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("arcx: interrupted", file=sys.stderr)
        return 130


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
