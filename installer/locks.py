"""Write (or check) the Windows lock files, one per flavour and Python version.

    python installer/locks.py            # regenerate installer/locks/*.txt (needs uv, the index)
    python installer/locks.py --check    # exit 1 if a lock would change

Each lock is `uv pip compile pyproject.toml --python-platform windows --python-version V`
with the flavour's extras; `installer/build.ps1 -Flavour cpu` installs the lock for its
Python with `pip install -r`, then ArcX itself with `--no-deps`. (The CUDA flavour's torch
comes from the PyTorch index and is not locked here yet.)
The DirectML flavour exists for Python 3.10–3.12 (torch-directml has no newer wheels);
3.13 gets a CPU-only lock.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "installer" / "locks"
# (file name, Python version, extras)
FLAVOURS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("win-cpu-directml-py3.10.txt", "3.10", ("directml",)),
    ("win-cpu-directml-py3.11.txt", "3.11", ("directml",)),
    ("win-cpu-directml-py3.12.txt", "3.12", ("directml",)),
    ("win-cpu-py3.13.txt", "3.13", ()),
)


def compile_lock(python: str, extras: tuple[str, ...], out: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not installed (pip install uv)")
    cmd = [uv, "pip", "compile", "pyproject.toml", "--python-platform", "windows", "--python-version", python,
           "--no-header", "--quiet", "-o", str(out)]
    for extra in extras:
        cmd += ["--extra", extra]
    subprocess.run(cmd, cwd=ROOT, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the checked-in locks")
    args = parser.parse_args()
    LOCKS.mkdir(exist_ok=True)
    changed = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, python, extras in FLAVOURS:
            out = Path(tmp) / name
            compile_lock(python, extras, out)
            target = LOCKS / name
            if args.check:
                if not target.is_file() or target.read_text() != out.read_text():
                    changed.append(name)
            else:
                shutil.copyfile(out, target)
                print(f"wrote {target.relative_to(ROOT)}")
    if changed:
        print("locks out of date: " + ", ".join(changed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
