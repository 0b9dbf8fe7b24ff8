"""Starting the desktop app. The login window appears first; the services load while it is on
screen (keyring and SQLCipher take a moment), and Log in is enabled once they are ready. The
first login opens the database."""

import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from carehome_share import paths, resources
from carehome_share.gui.login import LoginDialog


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("carehome-share")
    app.setApplicationDisplayName("carehome-share")
    app.setWindowIcon(QIcon(str(Path(resources.__file__).with_name("carehome-share.svg"))))
    return app  # type: ignore[return-value]


def quit_on_terminate(app: QApplication) -> None:
    """SIGTERM (a shutdown, or `kill`) ends the app the normal way: the logout is recorded, the
    database closed and a demo's files removed. Python runs signal handlers only between its own
    steps, so a timer wakes it while Qt waits for events."""
    signal.signal(signal.SIGTERM, lambda *_: QTimer.singleShot(0, lambda: _terminate(app)))
    waker = QTimer(app, interval=500)
    waker.timeout.connect(lambda: None)
    waker.start()


def _terminate(app: QApplication) -> None:
    """Close every window first: a dialog's own event loop (the first-run wizard, an unlock
    dialog) ignores app.quit() and would keep the app running. Windows that ask before
    closing see `ending` and do not."""
    app.setProperty("ending", True)
    app.closeAllWindows()
    app.quit()


def run_gui(db_path: Path | None, demo: bool = False) -> int:
    app = application()
    quit_on_terminate(app)
    path = db_path or paths.default_database()
    login = LoginDialog()
    if path.exists() and not demo:
        login.show()  # on screen before the services load below
        app.processEvents()
    from carehome_share.gui.desktop import Desktop  # keyring, SQLCipher, the services

    desktop = Desktop.start(path, login, demo=demo)
    if desktop is None:
        return 1
    try:
        return app.exec()
    finally:
        desktop.close()
