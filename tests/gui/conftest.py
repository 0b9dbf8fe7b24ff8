"""Every GUI test: a message box would wait for a click that never comes, so one that opens
unexpectedly fails the test instead."""

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget


@pytest.fixture(autouse=True)
def no_message_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_parent: QWidget, title: str, text: str, *_args: object) -> None:
        raise AssertionError(f"unexpected message box {title!r}: {text}")

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, fail)
