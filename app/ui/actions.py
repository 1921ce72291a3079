"""Action ids: what the tray menu and the global hotkeys can ask the app to do.

`Action` is what the tray menu emits and `AppController.handle` dispatches; `HotkeyAction`
names a hotkey binding (the keys of `HotkeySettings.bindings()`), which the controller
turns into an `Action` (start / stop depends on whether a run is recording). Both are
`str` enums, so the ids cross Qt signals as plain text and compare equal to it.
"""

from __future__ import annotations

from enum import Enum

from app.core.model.ev import RISK_ORDER

RISK_PREFIX = "risk."


class Action(str, Enum):
    """Action ids shared by the tray menu, the hotkeys and the app."""

    START_RUN = "run.start"
    MARK_EXTRACT = "run.mark_extract"
    END_EXTRACTED = "run.end.extracted"
    """end the run as extracted and ask for the loot value"""
    END_DIED = "run.end.died"
    END_ASK = "run.end.ask"
    """end the run and ask how it ended (the start / stop hotkey during a run)"""
    UNDO = "run.undo"
    """take back the extraction mark or "Died" within a few seconds"""
    RISK_SAFE = "risk.safe"
    RISK_NEUTRAL = "risk.neutral"
    RISK_AGGRESSIVE = "risk.aggressive"
    TOGGLE_OVERLAY = "overlay.toggle"
    SETTINGS = "settings"
    TRAIN = "train"
    RUNS = "runs"
    OPEN_DATA = "open_data"
    HELP = "help"
    """the "What do these numbers mean?" panel"""
    ABOUT = "about"
    QUIT = "quit"

    @classmethod
    def risk(cls, name: str) -> Action:
        """The action choosing risk profile `name` (one of `RISK_ORDER`)."""
        return cls(RISK_PREFIX + name)

    @property
    def risk_name(self) -> str | None:
        """The risk profile this action chooses; None for other actions."""
        return self.value[len(RISK_PREFIX) :] if self.value.startswith(RISK_PREFIX) else None


class HotkeyAction(str, Enum):
    """Hotkey binding names (`app.core.config.HotkeySettings.bindings()` keys)."""

    START_STOP = "start_stop"
    MARK_EXTRACT = "mark_extract"
    CYCLE_RISK = "cycle_risk"
    TOGGLE_OVERLAY = "toggle_overlay"


RISK_ACTIONS: tuple[Action, ...] = tuple(Action.risk(r) for r in RISK_ORDER)
"""one action per risk profile, in menu order"""
