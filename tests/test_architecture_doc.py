"""docs/architecture.md draws the tree: every module it names exists, and every module of
core, workers, ui and demo is named (so the page cannot drift from the code)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def test_the_architecture_page_matches_the_tree():
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"([a-z0-9_]+\.py)\b", text))
    modules = {p.name for p in (ROOT / "app").rglob("*.py")}
    assert named - modules == set(), "the page names modules that do not exist"
    layers = ("core", "workers", "ui", "demo")
    missing = sorted(
        str(p.relative_to(ROOT))
        for layer in layers
        for p in (ROOT / "app" / layer).rglob("*.py")
        if p.name != "__init__.py" and p.name not in named
    )
    assert missing == [], f"modules missing from docs/architecture.md: {missing}"
    for d in ("app/core/capture/", "app/core/model/", "app/core/engine/", "app/workers/", "app/ui/", "app/demo/"):
        assert d in text
