"""Screenshots of the Reports page and the print preview of a GP access report, on a demo
database under a real X server:

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb \
        python docs/screenshots/take_report_screenshots.py

Saves docs/screenshots/reports-*.png. The data are synthetic (carehome_share.demo).
"""

import shutil

from PySide6.QtWidgets import QApplication
from shots import save, settle  # beside this script

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


def main() -> None:
    application()
    vault, folder = make_demo_database()
    try:
        ctx = Context(vault)
        auth.log_in(ctx, "manager", demo.DEMO_PASSWORD)
        window = MainWindow(ctx, Background(ctx), repo.home_name(vault.conn) or "")
        window.resize(1366, 768)  # the smallest screen the home has
        window.show()
        settle(window)
        page = next(
            window.tabs.widget(i)
            for i in range(window.tabs.count())
            if isinstance(window.tabs.widget(i), ReportsPage)
        )
        window.tabs.setCurrentWidget(page)
        save(window, "reports-page", window)

        page.make(printing.preview)
        settle(window)
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, printing.PreviewDialog), dialog
        save(dialog, "reports-preview", window)
        dialog.close()

        window.shut()
        window.background.close()
    finally:
        vault.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
