"""Render the app icon (resources/carehome-share.svg) to the PNG the Linux .desktop entry uses
and the ICO Windows uses. Run after changing the SVG; the results are committed.

    QT_QPA_PLATFORM=offscreen python installer/make_icons.py
"""

from pathlib import Path

from PIL import Image
from PySide6.QtGui import QGuiApplication, QIcon

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def main() -> None:
    app = QGuiApplication([])
    icon = QIcon(str(RESOURCES / "carehome-share.svg"))
    png = RESOURCES / "carehome-share.png"
    icon.pixmap(256, 256).save(str(png))
    Image.open(png).save(
        RESOURCES / "carehome-share.ico", sizes=[(16, 16), (32, 32), (48, 48), (256, 256)]
    )
    app.quit()


if __name__ == "__main__":
    main()
