"""Global hotkeys through a fake backend: install, threads, repeat guard, failure, resume."""

import threading

import pytest

from app.ui import hotkeys as hk
from app.ui.hotkeys import FakeHotkeyBackend, HotkeyManager, ResumeWatcher, normalise_hotkey

pytestmark = pytest.mark.gui

DEFAULTS = {"start_stop": "f8", "mark_extract": "f9", "cycle_risk": "f10", "toggle_overlay": "f11"}


@pytest.fixture
def manager(qtbot):
    backend = FakeHotkeyBackend()
    m = HotkeyManager(backend)
    with qtbot.waitSignal(m.installed):
        m.install(DEFAULTS)
    return m, backend


def test_install_binds_every_action_without_suppressing(manager):
    m, backend = manager
    assert set(backend.bindings) == {"f8", "f9", "f10", "f11"}
    assert m.active and m.error is None


def test_a_press_on_the_hook_thread_arrives_on_the_main_thread(qtbot, manager):
    m, backend = manager
    seen: list[tuple[str, bool]] = []
    main = threading.current_thread()
    m.triggered.connect(lambda a: seen.append((a, threading.current_thread() is main)))
    hook = threading.Thread(target=backend.press, args=("f9",))
    hook.start()
    hook.join()
    qtbot.waitUntil(lambda: seen == [("mark_extract", True)])


def test_held_key_repeats_are_dropped(qtbot, manager, monkeypatch):
    m, backend = manager
    clock = [100.0]
    monkeypatch.setattr(hk.time, "monotonic", lambda: clock[0])
    seen: list[str] = []
    m.triggered.connect(seen.append)
    backend.press("f8")
    clock[0] += 0.05
    backend.press("f8")  # auto-repeat
    clock[0] += 0.05
    backend.press("f10")  # another action is not held back
    qtbot.waitUntil(lambda: len(seen) == 2)
    clock[0] += 1.0
    backend.press("f8")
    qtbot.waitUntil(lambda: len(seen) == 3)
    assert seen == ["start_stop", "cycle_risk", "start_stop"]


def test_install_failure_is_reported_not_raised(qtbot):
    backend = FakeHotkeyBackend(
        fail_with=ImportError("You must be root to use this library on linux.")
    )
    m = HotkeyManager(backend)
    with qtbot.waitSignal(m.unavailable) as blocker:
        m.install(DEFAULTS)
    assert "root" in blocker.args[0]
    assert not m.active and backend.bindings == {}


def test_permission_error_mentions_elevated_games():
    assert "administrator" in hk.describe_hook_error(PermissionError("access denied"))


def test_rebinding_replaces_the_old_keys(qtbot, manager):
    m, backend = manager
    with qtbot.waitSignal(m.installed):
        m.install({**DEFAULTS, "start_stop": "ctrl+f8"})
    assert "f8" not in backend.bindings and "ctrl+f8" in backend.bindings


def test_reinstall_after_resume(qtbot, manager):
    m, backend = manager
    backend.bindings.clear()  # the OS dropped our hook while asleep
    with qtbot.waitSignal(m.installed):
        m.reinstall()
    assert set(backend.bindings) == {"f8", "f9", "f10", "f11"}


def test_uninstall(manager):
    m, backend = manager
    m.uninstall()
    assert backend.bindings == {} and not m.active


def test_resume_watcher_sees_a_wall_clock_jump(qtbot):
    now = [1000.0]
    w = ResumeWatcher(interval_ms=5000, jump_s=30, clock=lambda: now[0])
    now[0] += 5.2
    assert not w.check()
    now[0] += 600  # the laptop slept for ten minutes
    with qtbot.waitSignal(w.resumed) as blocker:
        assert w.check()
    assert blocker.args == ["sleep"]


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("F8", "f8"),
        (" Shift + Ctrl + F8 ", "ctrl+shift+f8"),
        ("control+a", "ctrl+a"),
        ("alt+page up", "alt+page up"),
        ("num 5", "num 5"),
        ("Escape", "esc"),
    ],
)
def test_normalise_hotkey(text, normal):
    assert normalise_hotkey(text) == normal


@pytest.mark.parametrize("text", ["", "ctrl", "ctrl+", "hyper+f8", "f99", "ctrl+a, b", "banana"])
def test_normalise_hotkey_rejects(text):
    with pytest.raises(ValueError):
        normalise_hotkey(text)
