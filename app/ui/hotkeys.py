"""Global hotkeys: the `keyboard` library behind a small backend interface.

The backend's callbacks run on the hook's own thread (keyboard's listener thread on
Windows, where Windows silently drops a low-level hook whose callback takes longer than
about a second). So a callback here does one thing: emit a queued Qt signal and return.
Everything else happens on the Qt main thread.

* `HotkeyBackend` is what `HotkeyManager` needs: add a hotkey, remove them all.
  `KeyboardBackend` wraps `keyboard`; `FakeHotkeyBackend` lets tests press keys.
* Installing runs on a short-lived thread ("arcx-hotkeys") so a slow or failing hook
  install never blocks the UI; failure becomes the `unavailable` signal (the tray says
  so, the menu keeps working).
* Keys are never suppressed: the game always sees them too.
* Held keys auto-repeat; a repeat of the same action within `REPEAT_GUARD_S` is dropped,
  so holding F8 does not start and stop a run in a loop.
* Hooks can vanish after sleep or a session lock; `ResumeWatcher` notices both and the
  app calls `reinstall()`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from PyQt6.QtCore import QAbstractNativeEventFilter, QObject, Qt, QTimer, pyqtSignal, pyqtSlot

log = logging.getLogger(__name__)

# Same action again within this many seconds is an auto-repeat of a held key: ignored.
REPEAT_GUARD_S = 0.4

# Actions, in the order the settings and the tray list them, with their labels.
ACTION_LABELS: dict[str, str] = {
    "start_stop": "Start / end run",
    "mark_extract": "Mark extracting",
    "cycle_risk": "Cycle risk profile",
    "toggle_overlay": "Show / hide overlay",
}

MODIFIERS = ("ctrl", "shift", "alt", "windows")
# keyboard's names for the non-character keys a player might bind.
NAMED_KEYS: tuple[str, ...] = (
    "space", "tab", "enter", "backspace", "insert", "delete", "home", "end",
    "page up", "page down", "up", "down", "left", "right",
    "pause", "print screen", "scroll lock", "caps lock", "num lock", "esc",
)  # fmt: skip
KNOWN_KEYS: frozenset[str] = frozenset(
    [f"f{i}" for i in range(1, 25)]
    + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    + [str(d) for d in range(10)]
    + [f"num {d}" for d in range(10)]
    + list(NAMED_KEYS)
    + ["`", "-", "=", "[", "]", ";", "'", ",", ".", "/", "\\"]
)


def normalise_hotkey(text: str) -> str:
    """`Ctrl + Shift + F8` → `ctrl+shift+f8`; raises ValueError for what keyboard cannot bind.

    One key, optionally with modifiers, in keyboard's names. Multi-step sequences
    ("ctrl+a, b") are refused: a game hotkey must be one chord.
    """
    parts = [p.strip().lower() for p in text.replace(" + ", "+").split("+")]
    if not text.strip() or any(not p for p in parts):
        raise ValueError(f"'{text}' is not a hotkey")
    if "," in text:
        raise ValueError("a hotkey must be one key combination, not a sequence")
    aliases = {
        "control": "ctrl",
        "win": "windows",
        "escape": "esc",
        "return": "enter",
        "del": "delete",
    }
    parts = [aliases.get(p, p) for p in parts]
    *mods, key = parts
    bad = [m for m in mods if m not in MODIFIERS]
    if bad:
        raise ValueError(f"'{bad[0]}' is not a modifier (use {', '.join(MODIFIERS)})")
    if key in MODIFIERS:
        raise ValueError("a hotkey needs a key besides the modifiers")
    if key not in KNOWN_KEYS:
        raise ValueError(f"unknown key '{key}'")
    ordered = [m for m in MODIFIERS if m in mods]
    return "+".join([*ordered, key])


class HotkeyBackend(Protocol):
    """What the manager needs from a global-hotkey library."""

    def add(self, key: str, callback: Callable[[], None]) -> None:
        """Call `callback` (on any thread) whenever `key` is pressed; never suppress it."""

    def clear(self) -> None:
        """Remove every hotkey this backend added."""


class KeyboardBackend:
    """The `keyboard` library (a low-level hook on Windows; needs root on Linux)."""

    def __init__(self) -> None:
        self._handles: list[Any] = []

    def add(self, key: str, callback: Callable[[], None]) -> None:
        import keyboard

        handle = keyboard.add_hotkey(key, callback, suppress=False, trigger_on_release=False)
        self._handles.append(handle)

    def clear(self) -> None:
        if not self._handles:
            return
        import keyboard

        for handle in self._handles:
            with contextlib.suppress(KeyError, ValueError):
                keyboard.remove_hotkey(handle)
        self._handles.clear()


class FakeHotkeyBackend:
    """In-memory backend for tests: `press(key)` calls the callback like a hook would."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with
        self.bindings: dict[str, Callable[[], None]] = {}
        self.installs = 0

    def add(self, key: str, callback: Callable[[], None]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.bindings[key] = callback
        self.installs += 1

    def clear(self) -> None:
        self.bindings.clear()

    def press(self, key: str) -> None:
        """Simulate the hook firing for `key` (from whichever thread calls this)."""
        self.bindings[key]()


class HotkeyManager(QObject):
    """Binds actions to global keys and reports them on the Qt main thread.

    Signals:
        triggered(str): a binding's key was pressed; its name, a `HotkeyAction` value
            ("start_stop", "mark_extract", …; `app.ui.actions`).
        installed(): every binding is active.
        unavailable(str): the hooks could not be installed; the reason, in words.
    """

    triggered = pyqtSignal(str)
    installed = pyqtSignal()
    unavailable = pyqtSignal(str)
    # Internal: crosses from the hook / install thread to the main thread (queued).
    _fired = pyqtSignal(str)
    _install_done = pyqtSignal(int, str)

    def __init__(self, backend: HotkeyBackend | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend: HotkeyBackend = backend if backend is not None else KeyboardBackend()
        self._bindings: dict[str, str] = {}
        self._last: dict[str, float] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self.active = False
        self.error: str | None = None
        self._fired.connect(self._on_fired, Qt.ConnectionType.QueuedConnection)  # type: ignore[call-arg]
        self._install_done.connect(self._on_install_done, Qt.ConnectionType.QueuedConnection)  # type: ignore[call-arg]

    @property
    def bindings(self) -> dict[str, str]:
        return dict(self._bindings)

    def install(self, bindings: Mapping[str, str], *, wait: bool = False) -> None:
        """Replace the bindings (action → key). Runs on its own thread; see the signals.

        wait: block until the install thread is done (tests, shutdown).
        """
        self._bindings = dict(bindings)
        self._generation += 1
        gen = self._generation
        thread = threading.Thread(
            target=self._install, args=(gen, dict(bindings)), name="arcx-hotkeys", daemon=True
        )
        thread.start()
        if wait:
            thread.join()

    def reinstall(self) -> None:
        """Install the current bindings again (after sleep, unlock, or a lost hook)."""
        log.info("re-installing hotkeys")
        self.install(self._bindings)

    def uninstall(self) -> None:
        with self._lock:
            self._generation += 1
            try:
                self.backend.clear()
            except Exception:  # a broken hook library must not stop shutdown
                log.exception("removing hotkeys failed")
        self.active = False

    def _install(self, gen: int, bindings: dict[str, str]) -> None:
        with self._lock:
            try:
                self.backend.clear()
                for action, key in bindings.items():
                    self.backend.add(key, self._callback(action))
            except Exception as exc:  # any hook failure is reported, not raised
                with contextlib.suppress(Exception):
                    self.backend.clear()
                self._install_done.emit(gen, describe_hook_error(exc))
                return
        self._install_done.emit(gen, "")

    def _callback(self, action: str) -> Callable[[], None]:
        def fire() -> None:
            # On the hook thread: post and return at once.
            self._fired.emit(action)

        return fire

    @pyqtSlot(int, str)
    def _on_install_done(self, gen: int, error: str) -> None:
        if gen != self._generation:
            return  # a newer install superseded this one
        if error:
            self.active = False
            self.error = error
            log.warning("global hotkeys unavailable: %s", error)
            self.unavailable.emit(error)
        else:
            self.active = True
            self.error = None
            log.info("hotkeys installed: %s", self._bindings)
            self.installed.emit()

    @pyqtSlot(str)
    def _on_fired(self, action: str) -> None:
        now = time.monotonic()
        if now - self._last.get(action, -1e9) < REPEAT_GUARD_S:
            self._last[action] = now
            return
        self._last[action] = now
        self.triggered.emit(action)


def describe_hook_error(exc: BaseException) -> str:
    """A sentence for the tray: why the hooks are not there."""
    text = str(exc).strip()
    if "root" in text.lower():
        return "global hotkeys need root on Linux; use the tray menu"
    # An exception without words (a bare AssertionError inside the hook library) or an
    # internal one says nothing to a player: name the situation, keep the details in the log.
    if not text or isinstance(exc, AssertionError | AttributeError | TypeError | KeyError):
        log.info("hotkey hook failed: %r", exc)
        return "global hotkeys are not supported on this system or desktop; use the tray menu"
    if isinstance(exc, PermissionError | OSError):
        return f"global hotkeys could not be installed ({text}); a game running as administrator blocks them"
    return f"global hotkeys could not be installed ({text}); use the tray menu"


class ResumeWatcher(QObject):
    """Notices the machine waking from sleep or the session being unlocked.

    Everywhere: a timer that ticks every `interval_ms`; a tick arriving much later than
    due (by `jump_s` of wall-clock time) means the process was suspended. On Windows a
    native event filter also catches WM_POWERBROADCAST (resume) and WM_WTSSESSION_CHANGE
    (unlock) — see `WindowsSessionFilter`.

    Signals:
        resumed(str): "sleep" or "unlock".
    """

    resumed = pyqtSignal(str)

    def __init__(
        self,
        interval_ms: int = 5000,
        jump_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._jump_s = jump_s
        self._last = clock()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._filter: WindowsSessionFilter | None = None

    def start(self, hwnd: int | None = None) -> None:
        self._last = self._clock()
        self._timer.start()
        if sys.platform == "win32" and hwnd:
            from PyQt6.QtCore import QCoreApplication

            self._filter = WindowsSessionFilter(self.resumed.emit, hwnd)
            app = QCoreApplication.instance()
            if app is not None:
                app.installNativeEventFilter(self._filter)

    def stop(self) -> None:
        self._timer.stop()

    def check(self) -> bool:
        """One tick: True (and `resumed`) when the wall clock jumped past the tick."""
        now = self._clock()
        gap = now - self._last
        self._last = now
        if gap > self._jump_s + self._timer.interval() / 1000.0:
            log.info("wall clock jumped %.0f s: assuming resume from sleep", gap)
            self.resumed.emit("sleep")
            return True
        return False


WM_POWERBROADCAST = 0x0218
PBT_APMRESUMESUSPEND = 0x0007
PBT_APMRESUMEAUTOMATIC = 0x0012
WM_WTSSESSION_CHANGE = 0x02B1
WTS_SESSION_UNLOCK = 0x0008
NOTIFY_FOR_THIS_SESSION = 0


class WindowsSessionFilter(QAbstractNativeEventFilter):
    """Windows only: resume and unlock messages, via a registered session notification."""

    def __init__(self, on_resume: Callable[[str], None], hwnd: int) -> None:
        super().__init__()
        self._on_resume = on_resume
        try:
            import ctypes

            getattr(ctypes, "WinDLL")("wtsapi32")  # noqa: B009 (Windows only).WTSRegisterSessionNotification(hwnd, NOTIFY_FOR_THIS_SESSION)
        except (OSError, AttributeError):
            log.warning("session notifications unavailable; unlock will not re-install hotkeys")

    def nativeEventFilter(self, event_type: Any, message: Any) -> Any:  # noqa: N802
        if bytes(event_type) != b"windows_generic_MSG":
            return False, 0
        from ctypes import wintypes

        msg = wintypes.MSG.from_address(int(message))
        if msg.message == WM_POWERBROADCAST and msg.wParam in (
            PBT_APMRESUMESUSPEND,
            PBT_APMRESUMEAUTOMATIC,
        ):
            self._on_resume("sleep")
        elif msg.message == WM_WTSSESSION_CHANGE and msg.wParam == WTS_SESSION_UNLOCK:
            self._on_resume("unlock")
        return False, 0
