"""The non-activating run-end prompt."""

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication

from app.ui.loot_prompt import LootPrompt, parse_loot

pytestmark = pytest.mark.gui


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("48500", 48500.0),
        ("48,500", 48500.0),
        ("48 500", 48500.0),
        ("48.5k", 48500.0),
        ("1.2M", 1.2e6),
        ("0", 0.0),
    ],
)
def test_parse_loot(text, value):
    assert parse_loot(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "-5", "inf", "nan", "k"])
def test_parse_loot_rejects(text):
    assert parse_loot(text) is None


def test_shows_without_taking_focus(qtbot):
    p = LootPrompt(outcome_known=True)
    qtbot.addWidget(p)
    assert p.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    flags = p.windowFlags()
    assert flags & Qt.WindowType.Tool and flags & Qt.WindowType.WindowStaysOnTopHint
    p.show_in_corner()
    qtbot.waitExposed(p)
    assert QApplication.activeWindow() is not p
    assert not p.died_button.isVisibleTo(p)  # the outcome is already known


def test_save_submits_the_value(qtbot):
    p = LootPrompt(outcome_known=True)
    qtbot.addWidget(p)
    p.show_in_corner()
    p.value.setText("12.5k")
    with qtbot.waitSignal(p.submitted) as blocker:
        qtbot.keyClick(p.value, Qt.Key.Key_Return)
    assert blocker.args == ["extracted", 12500.0]
    assert not p.isVisible()


def test_a_bad_value_keeps_the_prompt_open(qtbot):
    p = LootPrompt()
    qtbot.addWidget(p)
    p.show_in_corner()
    p.value.setText("lots")
    with qtbot.assertNotEmitted(p.submitted):
        p.save_button.click()
    assert p.isVisible() and "number" in p.error.text()


def test_died_and_later(qtbot):
    p = LootPrompt()
    qtbot.addWidget(p)
    p.show_in_corner()
    with qtbot.waitSignal(p.submitted) as blocker:
        p.died_button.click()
    assert blocker.args == ["died", 0.0]
    p2 = LootPrompt()
    qtbot.addWidget(p2)
    p2.show_in_corner()
    with qtbot.waitSignal(p2.dismissed), qtbot.assertNotEmitted(p2.submitted):
        p2.later_button.click()


def test_closing_dismisses_once(qtbot):
    p = LootPrompt()
    qtbot.addWidget(p)
    p.show_in_corner()
    seen = []
    p.dismissed.connect(lambda: seen.append(1))
    p.close()
    p.close()
    assert seen == [1]
