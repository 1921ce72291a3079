"""The recording lock of a run folder (app/core/data/lock.py)."""

from __future__ import annotations

import pytest

from app.core.data.lock import LOCK_FILE, RunLock, exclusive, is_recording
from app.core.errors import DataError


def test_one_holder_at_a_time_and_free_again_after_release(tmp_path):
    first, second = RunLock(tmp_path / LOCK_FILE), RunLock(tmp_path / LOCK_FILE)
    assert not is_recording(tmp_path)  # no lock file at all
    assert first.acquire() and first.held
    assert not second.acquire() and not second.held
    assert is_recording(tmp_path)
    first.release()
    assert not first.held and not is_recording(tmp_path)
    assert second.acquire()
    second.release(remove=True)
    assert not (tmp_path / LOCK_FILE).exists()


def test_exclusive_refuses_a_run_being_recorded(tmp_path):
    recorder = RunLock(tmp_path / LOCK_FILE)
    assert recorder.acquire()
    with pytest.raises(DataError, match="is being recorded; label it after it ends"), exclusive(tmp_path, "label"):
        pass
    recorder.release()
    with exclusive(tmp_path, "label"):
        assert is_recording(tmp_path)
    assert not (tmp_path / LOCK_FILE).exists()
