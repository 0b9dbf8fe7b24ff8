"""Every GUI test: a message box would wait for a click that never comes, so one that opens
unexpectedly fails the test instead. Main windows for the logged-in user, and a print dialog
that prints to a PDF file."""

import weakref
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from carehome_share.gui.main_window import MainWindow
from carehome_share.gui.tasks import Background
from tests.factories import Home


@pytest.fixture(autouse=True)
def no_message_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_parent: QWidget, title: str, text: str, *_args: object) -> None:
        raise AssertionError(f"unexpected message box {title!r}: {text}")

    for kind in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, fail)


@pytest.fixture
def open_window(qtbot, home: Home):
    windows: list[tuple[weakref.ref[MainWindow], Background]] = []

    def make() -> MainWindow:
        # not given to qtbot, which would close it (and be asked about an open session): shut
        # below, as the lock and a shutdown do
        window = MainWindow(home.ctx, Background(home.ctx), "Rose Court Care Home")
        window.show()
        qtbot.waitUntil(lambda: not window.busy.isVisible())
        windows.append((weakref.ref(window), window.background))
        return window

    yield make
    for made, background in windows:
        window = made()
        if window is not None and shiboken6.isValid(window):  # not one shut by the lock
            window.shut()
        background.close()
    # Gone now, with their timers and queued results, while the database is still open: left
    # for a later test's event loop, they would reach a closed one.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def flat(text: str) -> str:
    return " ".join(text.split())


def text_of(document: QPdfDocument) -> str:
    return flat(" ".join(document.getAllText(i).text() for i in range(document.pageCount())))


@pytest.fixture
def print_dialog(monkeypatch, tmp_path: Path) -> list[tuple[str, int, Path]]:
    """The print dialog "prints" to a PDF file at once: the text and page count of each
    document it was given, and the file."""
    printed = []

    def print_to_file(dialog: QPrintDialog) -> QDialog.DialogCode:
        document = dialog.findChild(QPdfDocument)
        path = tmp_path / f"printed-{len(printed)}.pdf"
        dialog.printer().setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        dialog.printer().setOutputFileName(str(path))
        printed.append((text_of(document), document.pageCount(), path))
        return QDialog.DialogCode.Accepted  # as if Print were pressed

    monkeypatch.setattr(QPrintDialog, "exec", print_to_file)
    return printed
