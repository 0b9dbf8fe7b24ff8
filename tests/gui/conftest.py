"""Every GUI test: a message box would wait for a click that never comes, so one that opens
unexpectedly fails the test instead. And main windows for the logged-in user."""

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from carehome_share.gui.main_window import MainWindow
from carehome_share.gui.tasks import Background
from tests.factories import Home


@pytest.fixture(autouse=True)
def no_message_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_parent: QWidget, title: str, text: str, *_args: object) -> None:
        raise AssertionError(f"unexpected message box {title!r}: {text}")

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, fail)


@pytest.fixture
def open_window(qtbot, home: Home):
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        window = MainWindow(home.ctx, Background(home.ctx), "Rose Court Care Home")
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: not window.busy.isVisible())
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.idle.stop()
        window.background.close()
