"""Rotating log file; unhandled exceptions are logged and shown, and the app survives."""

import logging
import logging.handlers
import threading

import pytest
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from app.ui.errors import LOG_FILE, ExceptionReporter, setup_logging

pytestmark = pytest.mark.gui


@pytest.fixture
def root_logger():
    root = logging.getLogger()
    before = list(root.handlers)
    yield root
    for h in root.handlers:
        if h not in before:
            root.removeHandler(h)
            h.close()


def test_setup_logging_writes_a_rotating_file(tmp_path, root_logger):
    path = setup_logging(tmp_path)
    assert path == tmp_path / LOG_FILE
    assert setup_logging(tmp_path) == path  # idempotent
    files = [
        h
        for h in root_logger.handlers
        if isinstance(h, logging.handlers.RotatingFileHandler) and h.baseFilename == str(path)
    ]
    assert len(files) == 1 and files[0].maxBytes > 0 and files[0].backupCount > 0
    logging.getLogger("arcx.test").warning("hello log")
    files[0].flush()
    assert "hello log" in path.read_text()


def test_setup_logging_keeps_the_cli_console_and_adds_no_second_one(tmp_path, root_logger, capsys):
    """`arcx demo` sets up the CLI's console, then the app logs to the demo's own folder:
    each record still reaches the terminal once."""
    from app import cli

    hosts, level = list(root_logger.handlers), root_logger.level  # pytest's own
    for h in hosts:  # as in a fresh `arcx` process
        root_logger.removeHandler(h)
    try:
        cli._setup_logging(verbose=False)
        setup_logging(tmp_path / "demo-logs")
        logging.getLogger("arcx.test").warning("once on the terminal")
        assert capsys.readouterr().err.count("once on the terminal") == 1
    finally:
        for h in list(root_logger.handlers):
            root_logger.removeHandler(h)
            h.close()
        for h in hosts:
            root_logger.addHandler(h)
        root_logger.setLevel(level)


class Emitter(QObject):
    boom = pyqtSignal()


def test_exception_in_a_slot_is_logged_shown_and_survived(qtbot, caplog):
    reporter = ExceptionReporter()
    reporter.install()
    try:
        e = Emitter()

        def bad_slot():
            raise RuntimeError("slot went wrong")

        e.boom.connect(bad_slot)
        with qtbot.waitSignal(reporter.reported) as blocker:
            QTimer.singleShot(0, e.boom.emit)
        assert blocker.args == ["RuntimeError: slot went wrong"]
        assert "slot went wrong" in caplog.text
        assert reporter.box is not None and reporter.box.isVisible()
        assert "slot went wrong" in reporter.box.detailedText()
        # a second one while the box is open: logged, no second box
        box = reporter.box
        with qtbot.waitSignal(reporter.reported):
            QTimer.singleShot(0, e.boom.emit)
        assert reporter.box is box and reporter.count == 2
        box.close()
    finally:
        reporter.uninstall()


def test_exception_in_a_thread_is_reported_on_the_main_thread(qtbot, caplog):
    reporter = ExceptionReporter(show_dialog=False)
    reporter.install()
    try:

        def work():
            raise ValueError("thread went wrong")

        with qtbot.waitSignal(reporter.reported) as blocker:
            t = threading.Thread(target=work, name="arcx-test-thread")
            t.start()
            t.join()
        assert blocker.args == ["ValueError: thread went wrong"]
        assert "arcx-test-thread" in caplog.text
    finally:
        reporter.uninstall()
