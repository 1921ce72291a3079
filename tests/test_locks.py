"""The Windows lock files (installer/locks/): present, consistent, and never an unusable torch-directml."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "installer"))
from locks import FLAVOURS, LOCKS  # noqa: E402

# torch-directml releases before this declare no torch pin (0.1.13, 2022): they resolve
# beside any torch, and torch-directml then fails to load.
MIN_TORCH_DIRECTML = (0, 2, 5)


def parse_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """name → (version, the packages it is required by: the `# via` lines)."""
    out: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            name = m.group(1).lower()
            out[name] = (m.group(2), [])
            inline = re.search(r"#\s*via\s+(\S.*)$", line)
            if inline:
                out[name][1].append(inline.group(1).strip())
        elif name and line.strip().startswith("#"):
            via = line.strip().lstrip("#").strip()
            via = via.removeprefix("via").strip()
            if via:
                out[name][1].append(via.split(" ")[0])
    return out


def version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v.split(".dev")[0])[:3])


@pytest.mark.parametrize(("name", "python", "extras"), FLAVOURS, ids=[f[0] for f in FLAVOURS])
def test_each_lock_is_there_and_pins_a_usable_directml(name, python, extras):
    lock = parse_lock((LOCKS / name).read_text(encoding="utf-8"))
    assert {"torch", "torchvision", "onnxruntime", "pyqt6"} <= set(lock)
    if "directml" not in extras:
        assert "torch-directml" not in lock
        return
    assert "torch-directml" in lock, f"{name}: the DirectML flavour lost torch-directml"
    dml_version, _ = lock["torch-directml"]
    assert version_tuple(dml_version) >= MIN_TORCH_DIRECTML, f"{name}: torch-directml {dml_version} is unusable"
    torch_version, torch_via = lock["torch"]
    # torch is pinned because torch-directml asks for exactly this torch
    assert "torch-directml" in torch_via, f"{name}: torch {torch_version} was not chosen for torch-directml"
    assert torch_version == "2.4.1"


def test_the_directml_extra_says_where_it_works():
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (dml,) = meta["optional-dependencies"]["directml"]
    assert dml.startswith("torch-directml>=0.2.5") and "python_version < '3.13'" in dml
    assert meta["requires-python"] == ">=3.10"
    pythons = {p for _, p, _ in FLAVOURS}
    assert pythons == {"3.10", "3.11", "3.12", "3.13"}


@pytest.mark.slow
def test_the_locks_are_what_pyproject_resolves_to_now():
    """Needs uv and the package index (CI has both): the checked-in locks are current."""
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    done = subprocess.run([sys.executable, str(ROOT / "installer" / "locks.py"), "--check"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
