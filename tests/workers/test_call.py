"""call_off_thread: one call on a one-shot worker; its result or error on the main thread."""

from __future__ import annotations

import threading

import pytest

from app.core.errors import ArcXError
from app.workers.call import OneShotWorker, call_off_thread

pytestmark = pytest.mark.gui


def test_the_result_comes_back_on_the_main_thread(qtbot):
    main = threading.current_thread()
    ran_on, got = [], []

    def work():
        ran_on.append(threading.current_thread())
        return 42

    worker = call_off_thread(work, lambda r: got.append((r, threading.current_thread())), pytest.fail)
    assert isinstance(worker, OneShotWorker)
    qtbot.waitUntil(lambda: bool(got), timeout=10_000)
    assert got == [(42, main)] and ran_on[0] is not main


def test_an_exception_comes_back_as_errored_in_words(qtbot):
    errors = []

    def work():
        raise ArcXError("no run is being recorded")

    call_off_thread(work, pytest.fail, errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert errors == ["no run is being recorded"]


def test_signals_in_order(qtbot):
    worker = OneShotWorker(lambda: "done")
    with qtbot.waitSignals(
        [worker.started, worker.result, worker.finished], order="strict", timeout=10_000
    ) as blocker:
        worker.start()
    assert blocker.all_signals_and_args[1].args == ("done",)
    assert worker.wait(5_000)
