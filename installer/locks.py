"""Write (or check) the Windows lock files: one per flavour and Python version.

    python installer/locks.py                      # refresh installer/locks/*.txt (keeps pins that still fit)
    python installer/locks.py --upgrade            # re-resolve everything to the newest versions
    python installer/locks.py --check              # exit 1 if a lock is stale, invalid or unresolvable
    python installer/locks.py --flavour cuda --python 3.12   # one flavour / Python only

Each lock is `uv pip compile pyproject.toml --python-platform x86_64-pc-windows-msvc
--python-version V --only-binary :all: --generate-hashes` with the flavour's extras and its
ONNX Runtime package; `installer/build.ps1 -Flavour cpu|cuda` installs the lock of its Python
(`pip install --require-hashes -r`), then ArcX itself with `--no-deps`.

Flavours (FLAVOURS below):

- `cpu-directml` (build.ps1 -Flavour cpu): PyPI's CPU torch, and onnxruntime-directml
  instead of pyproject's onnxruntime (both install the `onnxruntime` module, so the lock
  drops one with uv's `--excludes`): inference on any DirectX 12 GPU through ONNX Runtime's
  DirectML provider. On Python 3.10-3.12 also the `directml` extra, torch-directml 0.2.5,
  for training on DirectML; it pins torch 2.4.1 and has no wheels for 3.13+, where training
  runs on the CPU.
- `cuda` (build.ps1 -Flavour cuda): torch from PyTorch's CUDA 12.8 index (uv's
  `--torch-backend`, which takes only the torch packages from there: Turing to Blackwell
  GPUs; PyTorch's support matrix stops building 12.8 after 2.11) and onnxruntime-gpu < 1.27
  (on PyPI, 1.19-1.26 are the CUDA 12 builds, 1.27+ CUDA 13) instead of onnxruntime.
  download.pytorch.org must be reachable; where it is not, these locks are skipped with
  that reason and `python installer/locks.py --flavour cuda` makes them where it is.

Exit status: 0 all done / current; 1 a lock is stale, invalid or does not resolve; 2 uv is
missing or too old; 3 nothing failed but some locks were skipped (an index out of reach).
`--check` resolves with the checked-in lock as uv's preference (what a refresh would
write), so a new upstream release alone never makes a lock stale; pyproject.toml changes do.
It also resolves each lock afresh (`--upgrade`) and checks that result too, so a change that
would let the newest packages pull an unusable torch-directml fails even while the old lock
still looks fine.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "installer" / "locks"
PLATFORM = "x86_64-pc-windows-msvc"
# The Python versions every flavour is locked for: requires-python in pyproject.toml
# (>=3.10,<3.15) says the same, and tests/test_locks.py checks that they agree.
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
# torch-directml ≥ 0.2.5 has wheels for CPython 3.8-3.12 only (the extra's marker).
DIRECTML_TRAINING_PYTHONS = ("3.10", "3.11", "3.12")
# torch-directml releases before this declare no torch pin (0.1.13, 2022): they resolve
# beside any torch, and torch-directml then fails to load.
MIN_TORCH_DIRECTML = (0, 2, 5)
# The one torch every torch-directml ≥ 0.2.5 pins.
DIRECTML_TORCH = "2.4.1"
ONNXRUNTIME_DISTS = ("onnxruntime", "onnxruntime-directml", "onnxruntime-gpu")
# Where an index answers, for telling "out of reach" from "does not resolve".
PYPI_PROBE = "https://pypi.org/simple/onnxruntime/"
TORCH_INDEX = "https://download.pytorch.org/whl/{backend}"
UV_MIN = (0, 13, 9)  # applies --excludes to direct requirements (onnxruntime is one)
UV_TIMEOUT_S = 900


@dataclass(frozen=True)
class Flavour:
    """One Windows build flavour and how its locks are resolved."""

    name: str  # lock file prefix: win-<name>-py<V>.txt
    build_flavour: str  # installer/build.ps1 -Flavour value that installs these locks
    extras: tuple[str, ...]  # pyproject extras (`build`: PyInstaller, so builds are locked too)
    onnxruntime: str  # the ONNX Runtime requirement that replaces pyproject's `onnxruntime`
    torch_backend: str | None = None  # uv --torch-backend (a PyTorch index), None: PyPI's torch
    pythons: tuple[str, ...] = PYTHONS

    def lock_name(self, python: str) -> str:
        return f"win-{self.name}-py{python}.txt"

    @property
    def onnxruntime_dist(self) -> str:
        return re.split(r"[<>=!~;\s\[]", self.onnxruntime, maxsplit=1)[0]

    @property
    def index_url(self) -> str | None:
        return TORCH_INDEX.format(backend=self.torch_backend) if self.torch_backend else None


FLAVOURS: tuple[Flavour, ...] = (
    Flavour("cpu-directml", "cpu", ("build", "directml"), "onnxruntime-directml>=1.17"),
    # onnxruntime-gpu 1.19-1.26 on PyPI is built for CUDA 12 + cuDNN 9; 1.27+ for CUDA 13.
    Flavour("cuda", "cuda", ("build",), "onnxruntime-gpu>=1.19,<1.27", torch_backend="cu128"),
)


def flavour(name: str) -> Flavour:
    for f in FLAVOURS:
        if name in (f.name, f.build_flavour):
            return f
    raise KeyError(name)


# ----------------------------------------------------------------------------- lock text


@dataclass
class Pin:
    """One package of a lock: its version, the hashes pip will accept, who asked for it."""

    version: str
    hashes: set[str] = field(default_factory=set)
    via: list[str] = field(default_factory=list)


def parse_lock(text: str) -> dict[str, Pin]:
    """name (lower case) → Pin, from a `uv pip compile` requirements file.

    >>> parse_lock("torch==2.4.1 \\\\\\n    --hash=sha256:ab\\n    # via torch-directml\\n")["torch"].via
    ['torch-directml']
    """
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for raw in text.splitlines():
        line = raw.strip()
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)==([^\s;\\]+)", raw)
        if m:
            current = pins[m.group(1).lower().replace("_", "-")] = Pin(m.group(2))
            inline = re.search(r"#\s*via\s+(\S.*)$", raw)
            if inline:
                current.via.append(inline.group(1).strip())
            continue
        if current is None:
            continue
        for digest in re.findall(r"--hash=(\w+:[0-9a-f]+)", line):
            current.hashes.add(digest)
        if line.startswith("#"):
            via = line.lstrip("#").strip().removeprefix("via").strip()
            if via:
                current.via.append(via.split(" ")[0])
    return pins


def index_lines(text: str) -> list[str]:
    """The pip options a lock carries (`--extra-index-url URL`)."""
    return [line.strip() for line in text.splitlines() if line.startswith("--")]


def version_tuple(v: str) -> tuple[int, ...]:
    """'0.2.5.dev240914' → (0, 2, 5); '2.11.0+cu128' → (2, 11, 0)."""
    release = re.split(r"[+]|\.dev|a|b|rc", v, maxsplit=1)[0]
    return tuple(int(x) for x in release.split(".")[:3] if x.isdigit())


def problems(flav: Flavour, python: str, text: str) -> list[str]:
    """What is wrong with a lock for this flavour and Python (empty: nothing)."""
    pins = parse_lock(text)
    out: list[str] = []
    for needed in ("torch", "torchvision", "pyqt6", "pyinstaller", flav.onnxruntime_dist):
        if needed not in pins:
            out.append(f"{needed} is missing")
    others = [d for d in ONNXRUNTIME_DISTS if d != flav.onnxruntime_dist and d in pins]
    if others:
        out.append(f"{', '.join(others)} beside {flav.onnxruntime_dist}: they overwrite one another's `onnxruntime` module")
    unhashed = sorted(name for name, pin in pins.items() if not pin.hashes)
    if unhashed:
        out.append(f"no hashes for {', '.join(unhashed[:5])} (pip --require-hashes refuses the lock)")
    torch = pins.get("torch")
    dml = pins.get("torch-directml")
    if flav.torch_backend:
        if torch and f"+{flav.torch_backend}" not in torch.version:
            out.append(f"torch {torch.version} is not the {flav.torch_backend} build (from {flav.index_url})")
        if flav.index_url and f"--extra-index-url {flav.index_url}" not in index_lines(text):
            out.append(f"the lock does not name {flav.index_url}, where pip finds its torch")
        if dml:
            out.append("torch-directml in the CUDA flavour")
        return out
    if torch and "+" in torch.version:
        out.append(f"torch {torch.version} is not PyPI's CPU build")
    if "directml" not in flav.extras or python not in DIRECTML_TRAINING_PYTHONS:
        if dml:
            out.append(f"torch-directml {dml.version} on Python {python}, which it has no wheels for")
        return out
    if dml is None:
        out.append("torch-directml is missing (DirectML training on Python 3.10-3.12)")
        return out
    if version_tuple(dml.version) < MIN_TORCH_DIRECTML:
        out.append(f"torch-directml {dml.version} is unusable (< {'.'.join(map(str, MIN_TORCH_DIRECTML))}: "
                   "no torch pin, fails to load beside a newer torch)")
    if torch and (torch.version != DIRECTML_TORCH or "torch-directml" not in torch.via):
        out.append(f"torch {torch.version} is not the {DIRECTML_TORCH} torch-directml pins")
    return out


def compare(old: str, new: str) -> list[str]:
    """How `new` differs from `old`, in the terms that matter: pins and trusted hashes."""
    a, b = parse_lock(old), parse_lock(new)
    out = [f"+ {n}=={b[n].version}" for n in sorted(b.keys() - a.keys())]
    out += [f"- {n}=={a[n].version}" for n in sorted(a.keys() - b.keys())]
    for n in sorted(a.keys() & b.keys()):
        if a[n].version != b[n].version:
            out.append(f"{n} {a[n].version} -> {b[n].version}")
        elif a[n].hashes - b[n].hashes:
            # A hash the lock trusts that the index no longer serves (a new wheel for another
            # platform only adds hashes, which does not matter here).
            out.append(f"{n} {a[n].version}: {len(a[n].hashes - b[n].hashes)} locked hashes no longer served")
    if index_lines(old) != index_lines(new):
        out.append(f"index lines {index_lines(old)} -> {index_lines(new)}")
    return out


def header(flav: Flavour, python: str) -> str:
    lines = [
        f"# ArcX Windows lock: flavour {flav.name} (installer/build.ps1 -Flavour {flav.build_flavour}), "
        f"Python {python}, {PLATFORM}.",
        "# Written by `python installer/locks.py` (uv pip compile); do not edit by hand.",
        "# Install: pip install --only-binary :all: --require-hashes -r <this file>, then ArcX with --no-deps.",
    ]
    if flav.index_url:
        lines.append(f"--extra-index-url {flav.index_url}")
    return "\n".join(lines) + "\n"


def body(text: str) -> str:
    """A lock without the header."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^[A-Za-z0-9]", line)), len(lines))
    return "".join(lines[start:])


def pins_only(text: str) -> str:
    """`name==version` lines: the preferences uv is given. Not the hashes: uv would copy a
    preferred pin's hashes from the file instead of reading what the index serves."""
    return "".join(f"{name}=={pin.version}\n" for name, pin in sorted(parse_lock(text).items()))


# ---------------------------------------------------------------------------- resolution


class UvMissing(Exception):
    """uv is not installed or too old to make these locks."""


class Unreachable(Exception):
    """An index the flavour needs does not answer: the lock cannot be made here."""


class ResolveError(Exception):
    """uv ran and could not resolve (its message is the text)."""


def uv_path() -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise UvMissing("uv is not installed (pip install uv, or pip install -e \".[dev]\")")
    done = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", done.stdout)
    if m is None or tuple(map(int, m.groups())) < UV_MIN:
        raise UvMissing(f"{done.stdout.strip() or 'uv'} is too old: the locks need uv >= "
                        f"{'.'.join(map(str, UV_MIN))} (pip install -U uv)")
    return uv


def reachable(url: str, timeout_s: float = 10.0) -> bool:
    """Whether an index answers at all (any HTTP status counts as an answer)."""
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout_s).close()
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False
    return True


def compile_lock(flav: Flavour, python: str, *, preferences: str | None = None, upgrade: bool = False) -> str:
    """The lock uv resolves now (header included). Raises Unreachable, ResolveError, UvMissing.

    `preferences`: a lock whose pins uv keeps where they still fit (what a refresh does).
    """
    uv = uv_path()
    if flav.index_url and not reachable(flav.index_url + "/torch/"):
        # uv would spend seconds on retries to say the same.
        raise Unreachable(f"{flav.index_url.split('/')[2]} cannot be reached from here")
    with tempfile.TemporaryDirectory(prefix="arcx-lock-") as tmp:
        out = Path(tmp) / flav.lock_name(python)
        if preferences is not None and not upgrade:
            out.write_text(pins_only(preferences), encoding="utf-8")
        (Path(tmp) / "flavour.in").write_text(flav.onnxruntime + "\n", encoding="utf-8")
        excluded = [d for d in ONNXRUNTIME_DISTS if d != flav.onnxruntime_dist]
        (Path(tmp) / "excludes.txt").write_text("\n".join(excluded) + "\n", encoding="utf-8")
        cmd = [uv, "pip", "compile", "pyproject.toml", str(Path(tmp) / "flavour.in"),
               "--excludes", str(Path(tmp) / "excludes.txt"),
               "--python-platform", PLATFORM, "--python-version", python,
               "--only-binary", ":all:", "--generate-hashes", "--no-header", "--quiet", "-o", str(out)]
        for extra in flav.extras:
            cmd += ["--extra", extra]
        if flav.torch_backend:
            cmd += ["--torch-backend", flav.torch_backend]
        if upgrade:
            cmd.append("--upgrade")
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=UV_TIMEOUT_S, check=False)
        if done.returncode != 0:
            for url in filter(None, (PYPI_PROBE, flav.index_url and flav.index_url + "/torch/")):
                if not reachable(url):
                    raise Unreachable(f"{url.split('/')[2]} cannot be reached from here")
            raise ResolveError(done.stderr.strip()[-3000:] or f"uv exited with {done.returncode}")
        text = out.read_text(encoding="utf-8")
    # flavour.in's path is machine-specific: name the input instead.
    text = text.replace(f"-r {Path(tmp) / 'flavour.in'}", f"the {flav.name} flavour (installer/locks.py)")
    kept = [d for d in excluded if d in parse_lock(text)]
    if kept:
        raise UvMissing(f"uv kept {', '.join(kept)} although it was excluded: use uv >= "
                        f"{'.'.join(map(str, UV_MIN))}")
    return header(flav, python) + text


@dataclass
class Result:
    """What happened to one lock."""

    flavour: Flavour
    python: str
    status: str  # "current", "written", "stale", "invalid", "missing", "failed", "skipped"
    detail: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.flavour.lock_name(self.python)

    @property
    def ok(self) -> bool:
        return self.status in ("current", "written")


def process(flav: Flavour, python: str, *, check: bool, upgrade: bool = False) -> Result:
    """Refresh (or with `check`, verify) one lock."""
    target = LOCKS / flav.lock_name(python)
    old = target.read_text(encoding="utf-8") if target.is_file() else None
    try:
        new = compile_lock(flav, python, preferences=old, upgrade=upgrade)
        # Afresh, too, where a newer release could bring an unusable torch-directml.
        afresh = check and "directml" in flav.extras and python in DIRECTML_TRAINING_PYTHONS
        fresh = compile_lock(flav, python, upgrade=True) if afresh else new
    except Unreachable as exc:
        return Result(flav, python, "skipped", [str(exc)])
    except (ResolveError, subprocess.TimeoutExpired) as exc:
        return Result(flav, python, "failed", [str(exc)])
    bad = problems(flav, python, new)
    bad += [f"resolved afresh: {p}" for p in problems(flav, python, fresh) if fresh is not new]
    if bad:
        return Result(flav, python, "invalid", bad)
    if check:
        if old is None:
            return Result(flav, python, "missing", ["not checked in"])
        changes = compare(old, new) + [f"checked-in lock: {p}" for p in problems(flav, python, old)]
        return Result(flav, python, "stale" if changes else "current", changes)
    LOCKS.mkdir(exist_ok=True)
    if old is not None and not compare(old, new) and body(old) == body(new):
        return Result(flav, python, "current")
    target.write_text(new, encoding="utf-8")
    return Result(flav, python, "written", compare(old, new) if old else [f"new: {len(parse_lock(new))} packages"])


def run_all(targets: list[tuple[Flavour, str]], *, check: bool, upgrade: bool = False,
            workers: int = 8) -> list[Result]:
    """`process` every (flavour, Python), a few at a time (uv mostly waits on the network)."""
    uv_path()  # fail once, clearly, before starting
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda t: process(t[0], t[1], check=check, upgrade=upgrade), targets))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="verify the checked-in locks; write nothing")
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions (not with --check)")
    parser.add_argument("--flavour", action="append", choices=[n for f in FLAVOURS for n in (f.name, f.build_flavour)],
                        help="only this flavour (repeatable)")
    parser.add_argument("--python", action="append", choices=PYTHONS, help="only this Python (repeatable)")
    args = parser.parse_args(argv)
    if args.check and args.upgrade:
        parser.error("--check and --upgrade do not go together")
    flavours = [flavour(n) for n in args.flavour] if args.flavour else list(FLAVOURS)
    targets = [(f, p) for f in flavours for p in f.pythons if not args.python or p in args.python]
    try:
        results = run_all(targets, check=args.check, upgrade=args.upgrade)
    except UvMissing as exc:
        print(f"locks.py: {exc}", file=sys.stderr)
        return 2
    for r in results:
        stream = sys.stdout if r.ok else sys.stderr
        print(f"{r.name}: {r.status}", file=stream)
        for line in r.detail:
            print(f"    {line}", file=stream)
    if any(r.status == "skipped" for r in results):
        print("locks.py: skipped locks need an index this machine cannot reach; run "
              "`python installer/locks.py --flavour cuda` where download.pytorch.org is reachable", file=sys.stderr)
    if not all(r.ok or r.status == "skipped" for r in results):
        return 1
    return 3 if any(r.status == "skipped" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
