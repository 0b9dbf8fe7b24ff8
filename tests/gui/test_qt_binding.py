"""The Qt binding itself: PySide6 6.12.0 dropped a reference to None on every call that returns
nothing, and on Python 3.11 the app then aborted ("none_dealloc") after half an hour of use.
pyproject.toml keeps that version out; this catches a version that brings it back."""

import sys

from PySide6.QtWidgets import QLabel


def test_calls_returning_nothing_keep_none_alive(qtbot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setEnabled(True)
    assert sys.getrefcount(None) >= before - 50  # a little churn elsewhere is fine; 2000 is not
