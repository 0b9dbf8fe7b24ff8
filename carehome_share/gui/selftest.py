"""The desktop part of `--self-test`: build the main window off screen and report its tabs."""

import os

from carehome_share.services.context import Context


def main_window_tabs(ctx: Context) -> list[str]:
    """Show the logged-in user's main window off screen; the titles of its tabs."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from carehome_share.gui.app import application  # after the platform is chosen
    from carehome_share.gui.main_window import MainWindow
    from carehome_share.gui.tasks import Background

    app = application()
    background = Background(ctx)
    window = MainWindow(ctx, background, "self-test")
    window.show()
    background.wait()
    app.processEvents()
    tabs = (
        [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]
        if window.isVisible()
        else []
    )
    window.shut()
    background.close()
    app.processEvents()
    return tabs
