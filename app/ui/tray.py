"""The tray icon and its menu.

The menu is described once, as data: `build_menu(TrayStatus)` returns `MenuEntry` trees
that both tray implementations render: `QSystemTrayIcon` where Qt reports a system tray,
and a pystray icon (run on its own thread, callbacks marshalled through a queued signal)
where it does not. Either way a click comes out as `TrayIcon.triggered(action_id)` on
the Qt main thread, and the app handles the same ids from hotkeys and from the menu.

Where neither works (a bare X server such as Xvfb, a desktop with no tray), the tray is
`_NoTray`: it logs why once, shows nothing and the app keeps running; the overlay,
the hotkeys and any other window work as before (`TrayIcon.available` is False).
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PyQt6.QtCore import QBuffer, QIODevice, QObject, Qt, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QAction, QActionGroup, QIcon
from PyQt6.QtWidgets import QMenu, QSystemTrayIcon

from app.core.model.ev import RISK_ORDER
from app.ui.actions import Action
from app.ui.icons import TrayState, icon_image, tray_icon

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MenuEntry:
    """One menu line: an action, a submenu (children) or a separator."""

    id: Action | None = None
    """action emitted when clicked (None for separators, submenus and notes)"""
    text: str = ""
    shortcut: str = ""
    """hotkey shown next to the text (display only; the hotkey itself is global)"""
    checkable: bool = False
    checked: bool = False
    radio: bool = False
    """one of a group of exclusive choices (the risk profiles)"""
    enabled: bool = True
    children: tuple[MenuEntry, ...] = ()
    separator: bool = False


SEPARATOR = MenuEntry(separator=True)


@dataclass(frozen=True)
class TrayStatus:
    """What the tray shows: menu states, icon and tooltip."""

    recording: bool = False
    extract_marked: bool = False
    risk: str = "neutral"
    overlay_visible: bool = True
    has_model: bool = False
    device: str = ""
    """compute device in words, e.g. "cuda: NVIDIA RTX 4070" """
    model: str = ""
    """the loaded model in words, e.g. "epoch 12, val loss 0.031" """
    hotkeys: dict[str, str] = field(default_factory=dict)
    """action → key, to show next to the menu items"""
    hotkeys_error: str | None = None
    """why global hotkeys do not work (None when they do)"""
    note: str = ""
    """a passing state worth a tooltip line, e.g. "getting ready: …" """
    pending: str = ""
    """what can still be undone: "mark" (the extraction mark) or "died"; "" for nothing"""


def build_menu(status: TrayStatus) -> tuple[MenuEntry, ...]:
    """The tray menu for `status`."""
    keys = {k: v.upper() for k, v in status.hotkeys.items()} if status.hotkeys_error is None else {}
    undo_text = {"mark": "Undo extraction mark", "died": "Undo “Died”"}.get(status.pending, "")
    risk_items = tuple(
        MenuEntry(
            Action.risk(r), r.capitalize(), checkable=True, radio=True, checked=status.risk == r
        )
        for r in RISK_ORDER
    )
    entries: list[MenuEntry] = [
        MenuEntry(
            Action.START_RUN, "Start run", keys.get("start_stop", ""), enabled=not status.recording
        ),
        MenuEntry(
            Action.MARK_EXTRACT,
            "Mark extracting",
            keys.get("mark_extract", ""),
            checkable=True,
            checked=status.extract_marked,
            enabled=status.recording and not status.extract_marked,
        ),
        MenuEntry(
            text="End run",
            enabled=status.recording and status.pending != "died",
            children=(
                MenuEntry(Action.END_EXTRACTED, "Extracted…"),
                MenuEntry(Action.END_DIED, "Died"),
            ),
        ),
    ]
    if undo_text:
        entries.append(MenuEntry(Action.UNDO, undo_text, keys.get("mark_extract", "")))
    entries += [
        SEPARATOR,
        MenuEntry(text="Risk", shortcut=keys.get("cycle_risk", ""), children=risk_items),
        MenuEntry(
            Action.TOGGLE_OVERLAY,
            "Show overlay",
            keys.get("toggle_overlay", ""),
            checkable=True,
            checked=status.overlay_visible,
        ),
        SEPARATOR,
        MenuEntry(Action.SETTINGS, "Settings…"),
        MenuEntry(Action.TRAIN, "Train model…"),
        MenuEntry(Action.RUNS, "Runs…"),
        MenuEntry(Action.OPEN_DATA, "Open data folder"),
        MenuEntry(Action.HELP, "What do these numbers mean?"),
        SEPARATOR,
    ]
    if status.hotkeys_error is not None:
        entries.append(MenuEntry(None, "Hotkeys off — use this menu", enabled=False))
    entries += [MenuEntry(Action.ABOUT, "About ArcX"), MenuEntry(Action.QUIT, "Quit")]
    return tuple(entries)


def tray_state(status: TrayStatus) -> TrayState:
    if status.recording:
        return TrayState.RECORDING
    return TrayState.IDLE if status.has_model else TrayState.NO_MODEL


TOOLTIP_MAX = 127
"""Windows shows at most this many characters of a tray tooltip"""


def tooltip(status: TrayStatus) -> str:
    """Tray tooltip: state, risk, the passing note, hotkey trouble, device.

    It fits `TOOLTIP_MAX` characters (Windows cuts there, mid-word): lines are added in
    order of importance, the last one that does not fit whole is shortened at a word
    with "…", and the rest are left out."""
    state = "recording" if status.recording else ("ready" if status.has_model else "no model yet")
    lines = [f"ArcX — {state}, {status.risk}"]
    if status.hotkeys_error:
        lines.append("hotkeys off: use the menu")
    if status.note:
        lines.append(status.note)
    if status.device:
        lines.append(status.device)
    out: list[str] = []
    for line in lines:
        used = len("\n".join(out)) + (1 if out else 0)  # + the newline before `line`
        room = TOOLTIP_MAX - used
        if len(line) <= room:
            out.append(line)
            continue
        short = shorten(line, room)
        if short:
            out.append(short)
        break
    return "\n".join(out)


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whole, or cut at a word with "…"
    ("" when not even one word fits)."""
    if len(text) <= limit:
        return text
    if limit < 2:
        return ""
    cut = text[: limit - 1]
    if " " in cut and text[limit - 1] != " ":
        cut = cut[: cut.rindex(" ")]
    cut = cut.rstrip(" ,;:—-")
    return cut + "…" if cut else ""


def iter_entries(entries: tuple[MenuEntry, ...]) -> list[MenuEntry]:
    """Every entry, depth first (handy in tests)."""
    out: list[MenuEntry] = []
    for e in entries:
        out.append(e)
        out.extend(iter_entries(e.children))
    return out


class TrayIcon(QObject):
    """The tray: Qt's where available, pystray otherwise, same menu either way.

    Signals:
        triggered(str): a menu action's id (an `Action` value).
        activated(): the icon itself was clicked (the app shows the runs or settings).
    """

    triggered = pyqtSignal(str)
    activated = pyqtSignal()
    _fired = pyqtSignal(str)  # from pystray's thread, queued to the main thread

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        use_pystray: bool | None = None,
        pystray_module: Any | None = None,
    ) -> None:
        super().__init__(parent)
        self._fired.connect(self._on_fired, Qt.ConnectionType.QueuedConnection)  # type: ignore[call-arg]
        if use_pystray is None:
            use_pystray = not QSystemTrayIcon.isSystemTrayAvailable()
        self.status = TrayStatus()
        self.backend: _QtTray | _PystrayTray | _NoTray
        if use_pystray:
            log.info("Qt reports no system tray; using pystray")
            try:
                self.backend = _PystrayTray(self._fired.emit, pystray_module)
            except Exception as exc:  # pystray cannot load or has no display/tray here
                self.backend = _NoTray(f"pystray failed: {type(exc).__name__}: {exc}")
        else:
            self.backend = _QtTray(self)
        self.update_status(self.status)

    @property
    def uses_pystray(self) -> bool:
        return isinstance(self.backend, _PystrayTray)

    @property
    def available(self) -> bool:
        """False when there is no tray at all (menu actions then come from hotkeys only)."""
        return not isinstance(self.backend, _NoTray)

    def update_status(self, status: TrayStatus) -> None:
        self.status = status
        self.backend.render(build_menu(status), tray_icon(tray_state(status)), tooltip(status))

    def show(self) -> None:
        self.backend.show()

    def hide(self) -> None:
        self.backend.hide()

    def notify(self, title: str, message: str) -> None:
        self.backend.notify(title, message)

    @pyqtSlot(str)
    def _on_fired(self, action: str) -> None:
        self.triggered.emit(action)


class _QtTray:
    def __init__(self, owner: TrayIcon) -> None:
        self.owner = owner
        self.icon = QSystemTrayIcon()
        self.menu = QMenu()
        self.icon.setContextMenu(self.menu)
        self.actions: dict[Action, QAction] = {}
        self._shape: tuple[tuple[Action | None, str, bool], ...] | None = None
        self.icon.activated.connect(self._on_activated)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.owner.activated.emit()

    def render(self, entries: tuple[MenuEntry, ...], icon: QIcon, tip: str) -> None:
        shape = tuple((e.id, e.text, e.separator) for e in iter_entries(entries))
        if shape != self._shape:  # rebuild only when items come or go
            self.menu.clear()
            self.actions.clear()
            self._fill(self.menu, entries)
            self._shape = shape
        else:
            self._update(entries)
        self.icon.setIcon(icon)
        self.icon.setToolTip(tip)

    def _fill(self, menu: QMenu, entries: tuple[MenuEntry, ...]) -> None:
        group: QActionGroup | None = None
        for e in entries:
            if e.separator:
                menu.addSeparator()
                continue
            if e.children:
                sub = menu.addMenu(e.text)
                assert sub is not None
                sub.setEnabled(e.enabled)
                self._fill(sub, e.children)
                continue
            action = QAction(_qt_text(e), menu)
            if e.radio:
                group = group or QActionGroup(menu)
                group.addAction(action)
            action.setCheckable(e.checkable)
            action.setChecked(e.checked)
            action.setEnabled(e.enabled)
            if e.id:
                action.triggered.connect(
                    lambda _checked=False, i=e.id: self.owner.triggered.emit(i)
                )
                self.actions[e.id] = action
            menu.addAction(action)

    def _update(self, entries: tuple[MenuEntry, ...]) -> None:
        submenus = [a.menu() for a in self.menu.actions() if a.menu() is not None]
        for e in iter_entries(entries):
            action = self.actions.get(e.id) if e.id is not None else None
            if action is not None:
                action.setText(_qt_text(e))
                action.setChecked(e.checked)
                action.setEnabled(e.enabled)
        by_title = {m.title(): m for m in submenus if m is not None}
        for e in entries:
            if e.children and e.text in by_title:
                by_title[e.text].setEnabled(e.enabled)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def notify(self, title: str, message: str) -> None:
        self.icon.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 6000)


def _qt_text(e: MenuEntry) -> str:
    # Text after a tab is drawn as the shortcut column; it binds nothing.
    return f"{e.text}\t{e.shortcut}" if e.shortcut else e.text


def _plain_text(e: MenuEntry) -> str:
    return f"{e.text} ({e.shortcut})" if e.shortcut else e.text


class _PystrayTray:
    """pystray icon on its own thread; clicks go back through `post` (a queued signal)."""

    def __init__(self, post: Callable[[str], None], module: Any | None = None) -> None:
        if module is None:
            import pystray  # optional; may need a display

            module = pystray
        self.mod: Any = module
        self.post = post
        self.entries: tuple[MenuEntry, ...] = ()
        self.icon: Any = module.Icon("ArcX", title="ArcX")
        self.thread: threading.Thread | None = None
        # pystray's X11 backend starts on a display with no tray (Xvfb, a bare window
        # manager) and then logs "Failed to dock icon" at every update: ask it first.
        probe = getattr(self.icon, "_get_systray_manager", None)
        if probe is not None and not probe():
            raise RuntimeError("no system tray manager on this X display")

    def _menu(self, entries: tuple[MenuEntry, ...]) -> Any:
        items = []
        for e in entries:
            if e.separator:
                items.append(self.mod.Menu.SEPARATOR)
            elif e.children:
                items.append(
                    self.mod.MenuItem(_plain_text(e), self._menu(e.children), enabled=e.enabled)
                )
            else:
                items.append(
                    self.mod.MenuItem(
                        _plain_text(e),
                        self._action(e.id) if e.id else None,
                        checked=_constant(e.checked) if e.checkable else None,
                        radio=e.radio,
                        enabled=e.enabled and bool(e.id),
                    )
                )
        return self.mod.Menu(*items)

    def _action(self, action_id: Action) -> Callable[[Any, Any], None]:
        # pystray counts the parameters: exactly (icon, item), no defaults.
        def clicked(icon: Any, item: Any) -> None:
            self.post(action_id)

        return clicked

    def render(self, entries: tuple[MenuEntry, ...], icon: QIcon, tip: str) -> None:
        self.entries = entries
        # pystray's backends can fail at any of these (no tray to dock into, an X11 title
        # that must be Latin-1): the tray is best effort, the app carries on without it.
        try:
            self.icon.menu = self._menu(entries)
            self.icon.icon = _pil_image(icon)
            self.icon.title = _latin1(tip)
            if self.thread is not None:
                self.icon.update_menu()
        except Exception:
            log.warning("the pystray icon could not be updated", exc_info=True)

    def show(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="arcx-pystray", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        try:
            self.icon.run()
        except Exception:  # no tray to dock into: the app carries on without an icon
            log.warning("the pystray icon stopped; no tray icon", exc_info=True)

    def hide(self) -> None:
        if self.thread is not None:
            self.icon.stop()
            self.thread = None

    def notify(self, title: str, message: str) -> None:
        try:
            self.icon.notify(message, title)
        except Exception:  # not every pystray backend has notifications
            log.info("%s: %s", title, message)


class _NoTray:
    """No tray anywhere: says so once, then shows nothing; notifications go to the log."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        log.warning("no system tray (%s): running without a tray icon", reason)

    def render(self, entries: tuple[MenuEntry, ...], icon: QIcon, tip: str) -> None:
        pass

    def show(self) -> None:
        pass

    def hide(self) -> None:
        pass

    def notify(self, title: str, message: str) -> None:
        log.info("%s: %s", title, message)


def _latin1(text: str) -> str:
    """X11 window titles are Latin-1: dashes and ellipses become ASCII."""
    text = text.replace("—", "-").replace("–", "-").replace("…", "...")
    return text.encode("latin-1", "replace").decode("latin-1")


def _constant(value: bool) -> Callable[[Any], bool]:
    def get(item: Any) -> bool:
        return value

    return get


def _pil_image(icon: QIcon, size: int = 64) -> Any:
    """QIcon → PIL image (pystray's icon type), via PNG bytes."""
    from PIL import Image

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    icon_image(icon, size).save(buf, "PNG")
    return Image.open(io.BytesIO(buf.data().data())).convert("RGBA")
