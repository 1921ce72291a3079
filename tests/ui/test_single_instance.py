"""Single instance over QLocalServer / QLocalSocket (local, never the network)."""

import subprocess
import sys
import uuid

import pytest

from app.ui.single_instance import SHOW_SETTINGS, SingleInstance, default_key, send_message

pytestmark = pytest.mark.gui


def unique_key():
    return f"arcx-test-{uuid.uuid4().hex[:10]}"


def test_second_instance_hands_over_and_the_first_hears_it(qtbot):
    key = unique_key()
    first = SingleInstance(key)
    assert first.claim()
    try:
        second = SingleInstance(key)
        with qtbot.waitSignal(first.messageReceived, timeout=3000) as blocker:
            assert not second.claim()
        assert blocker.args == [SHOW_SETTINGS]
        assert second.server is None
    finally:
        first.release()


def test_a_stale_socket_does_not_block_a_new_first_instance(qtbot):
    key = unique_key()
    crashed = SingleInstance(key)
    assert crashed.claim()
    crashed.release()  # gone without a goodbye
    assert not send_message(key, "hello", timeout_ms=200)
    again = SingleInstance(key)
    assert again.claim()
    again.release()


def test_a_second_process_exits_after_handing_over(qtbot, tmp_path):
    key = unique_key()
    first = SingleInstance(key)
    assert first.claim()
    code = (
        "import sys; from PyQt6.QtCore import QCoreApplication; "
        "from app.ui.single_instance import SingleInstance; "
        "app = QCoreApplication(sys.argv); "
        f"sys.exit(0 if not SingleInstance({key!r}).claim() else 3)"
    )
    try:
        with qtbot.waitSignal(first.messageReceived, timeout=20000):
            proc = subprocess.Popen([sys.executable, "-c", code])
        assert proc.wait(timeout=60) == 0
    finally:
        first.release()


def test_key_depends_on_the_data_location(monkeypatch, tmp_path):
    a = default_key()
    monkeypatch.setenv("ARCX_HOME", str(tmp_path / "elsewhere"))
    assert default_key() != a and default_key().startswith("arcx-")
