"""app/core must never import Qt, pystray, the UI, the workers or the demo bench (design rule)."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PyQt6", "PySide6", "pystray", "app.ui", "app.workers", "app.demo")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def _module_strings(path: Path) -> list[str]:
    """String constants that name a module of app (what an importlib probe would pass)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and node.value.startswith("app.") and node.value.replace(".", "").replace("_", "").isalnum()
    ]


def test_core_sources_import_no_qt():
    offenders = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in (ROOT / "app" / "core").rglob("*.py")
        for name in _imports(p)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offenders == []


def test_core_names_no_forbidden_module_in_strings():
    """No importlib probe either: core does not even name the demo, ui or workers in a string."""
    offenders = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in (ROOT / "app" / "core").rglob("*.py")
        for name in _module_strings(p)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offenders == []


def test_the_checker_catches_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from PyQt6.QtCore import QObject\n")
    assert "PyQt6.QtCore" in _imports(bad)
    probe = tmp_path / "probe.py"
    probe.write_text('import importlib\nimportlib.import_module("app.demo.sim")\n')
    assert "app.demo.sim" in _module_strings(probe)


def test_import_linter_contract():
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed")
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_core_loads_no_qt_and_no_demo():
    code = (
        "import sys, app.core.config, app.core.model.encoder, app.core.model.checkpoint, "
        "app.core.model.ev, app.core.model.ring, app.core.model.runtime, app.core.capture.factory, "
        "app.core.engine; "
        "print([m for m in sys.modules if m.startswith(('PyQt6', 'pystray', 'app.demo'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
