"""Action ids: one enum for the tray and the app, one for the hotkey bindings."""

import pytest

from app.core.config import Settings
from app.core.model.ev import RISK_ORDER
from app.ui.actions import RISK_ACTIONS, Action, HotkeyAction
from app.ui.tray import TrayStatus, build_menu, iter_entries


def test_hotkey_actions_are_the_settings_bindings():
    assert [h.value for h in HotkeyAction] == list(Settings().hotkeys.bindings())


def test_one_action_per_risk_profile_and_back():
    assert [a.risk_name for a in RISK_ACTIONS] == list(RISK_ORDER)
    assert Action.risk("safe") is Action.RISK_SAFE
    assert Action.START_RUN.risk_name is None
    with pytest.raises(ValueError):
        Action.risk("reckless")


def test_ids_are_plain_text_on_the_wire():
    assert Action.START_RUN == "run.start" and Action("run.start") is Action.START_RUN
    assert HotkeyAction("start_stop") is HotkeyAction.START_STOP


def test_every_menu_action_is_an_action():
    ids = [e.id for e in iter_entries(build_menu(TrayStatus())) if e.id is not None]
    assert all(isinstance(i, Action) for i in ids)
    assert set(ids) == set(Action) - {Action.END_ASK, Action.UNDO}  # END_ASK: the hotkey only
    # Undo is in the menu only while something can be undone.
    pending = build_menu(TrayStatus(recording=True, pending="died"))
    assert Action.UNDO in {e.id for e in iter_entries(pending)}
