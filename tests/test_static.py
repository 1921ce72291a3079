"""Static checks the style guide asks for, run with the tests so CI enforces them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True)


@pytest.mark.slow
def test_core_is_fully_typed():
    """mypy with disallow_untyped_defs on app/core (configured in pyproject.toml)."""
    pytest.importorskip("mypy")
    result = _run([sys.executable, "-m", "mypy", "app/core"])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_ruff_is_clean():
    exe = shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed")
    result = _run([exe, "check", "app", "tests", "benchmarks", "scripts", "installer"])
    assert result.returncode == 0, result.stdout[-4000:]
