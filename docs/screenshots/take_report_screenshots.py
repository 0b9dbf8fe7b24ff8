"""Screenshots of the Reports page and the print preview of a GP access report, on a demo
database under a real X server:

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb \
        python docs/screenshots/take_report_screenshots.py

Saves docs/screenshots/reports-*.png. The data are synthetic (carehome_share.demo).
"""

import io
import shutil
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtWidgets import QApplication, QWidget

from carehome_share import demo
from carehome_share.gui import printing
from carehome_share.gui.app import application
from carehome_share.gui.desktop import make_demo_database
from carehome_share.gui.main_window import MainWindow
from carehome_share.gui.reports_page import ReportsPage
from carehome_share.gui.tasks import Background
from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store import repo

OUT = Path(__file__).resolve().parent


def settle(window: MainWindow) -> None:
    """Let background work finish and its results reach the window."""
    for _ in range(5):
        window.background.wait()
        QApplication.processEvents()


def save(widget: QWidget, name: str, window: MainWindow) -> None:
    settle(window)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    # 256 colours without dithering keep each file small and the text crisp.
    image = Image.open(io.BytesIO(buffer.data().data())).convert("RGB")
    small = image.quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(OUT / f"reports-{name}.png", optimize=True)
    print(f"reports-{name}.png")


def main() -> None:
    application()
    vault, folder = make_demo_database()
    try:
        ctx = Context(vault)
        auth.log_in(ctx, "manager", demo.DEMO_PASSWORD)
        window = MainWindow(ctx, Background(ctx), repo.home_name(vault.conn) or "")
        window.show()
        settle(window)
        page = next(
            window.tabs.widget(i)
            for i in range(window.tabs.count())
            if isinstance(window.tabs.widget(i), ReportsPage)
        )
        window.tabs.setCurrentWidget(page)
        save(window, "page", window)

        page.make(printing.preview)
        settle(window)
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, printing.PreviewDialog), dialog
        save(dialog, "preview", window)
        dialog.close()

        window.shut()
        window.background.close()
    finally:
        vault.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
