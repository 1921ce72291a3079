"""app/core must never import Qt, pystray, the UI or the workers (design rule)."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PyQt6", "PySide6", "pystray", "app.ui", "app.workers")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_core_sources_import_no_qt():
    offenders = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in (ROOT / "app" / "core").rglob("*.py")
        for name in _imports(p)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offenders == []


def test_the_checker_catches_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from PyQt6.QtCore import QObject\n")
    assert "PyQt6.QtCore" in _imports(bad)


def test_import_linter_contract():
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed")
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_core_loads_no_qt():
    code = (
        "import sys, app.core.config, app.core.model.encoder, app.core.model.checkpoint, "
        "app.core.model.ev, app.core.model.ring; "
        "print([m for m in sys.modules if m.startswith(('PyQt6', 'pystray'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
