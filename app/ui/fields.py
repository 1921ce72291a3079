"""Small helpers for input fields: a line edit wide enough for its placeholder."""

from __future__ import annotations

from PyQt6.QtWidgets import QLineEdit

FIELD_PADDING_PX = 24
"""room for the line edit's frame and text margins, beyond the placeholder text itself"""


def fit_placeholder(edit: QLineEdit, text: str) -> QLineEdit:
    """Set `text` as the placeholder and make `edit` at least wide enough to show it whole."""
    edit.setPlaceholderText(text)
    width = edit.fontMetrics().horizontalAdvance(text) + FIELD_PADDING_PX
    edit.setMinimumWidth(max(edit.minimumWidth(), width))
    return edit
