import os

import pytest

# Qt never needs a display in tests; the Xvfb tests set DISPLAY themselves.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """No test touches the real user dirs: ARCX_HOME points at a fresh temp folder."""
    monkeypatch.setenv("ARCX_HOME", str(tmp_path_factory.mktemp("arcx-home")))
    monkeypatch.delenv("ARCX_DEVICE", raising=False)
