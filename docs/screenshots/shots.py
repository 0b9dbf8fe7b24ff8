"""What the screenshot scripts share: let background work land, then grab a widget to a small
PNG in this folder (256 colours without dithering keep each file small and the text crisp)."""

import io
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtWidgets import QApplication, QWidget

OUT = Path(__file__).resolve().parent


def settle(window: QWidget | None = None) -> None:
    """Let background work finish and its results reach the window."""
    for _ in range(5):
        background = getattr(window, "background", None)
        if background is not None:
            background.wait()
        QApplication.processEvents()


def save(widget: QWidget, name: str, window: QWidget | None = None) -> None:
    """Show `widget` and save it as NAME.png."""
    widget.show()
    widget.raise_()
    settle(window)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    image = Image.open(io.BytesIO(buffer.data().data())).convert("RGB")
    small = image.quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(OUT / f"{name}.png", optimize=True)
    print(f"{name}.png")
