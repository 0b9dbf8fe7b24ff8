"""The fonts the documents use.

Residents' and staff names are not all in the Latin-1 set that PDF's built-in Helvetica covers
(Łucja, Dvořák, Şahin would print as black boxes), so a Unicode TrueType font is embedded when the
system has one: DejaVu Sans (most Linux), Arial (Windows, macOS). Helvetica is the last resort.
The recovery code is Crockford base32, so built-in Courier always has its letters.
"""

import os
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

MONO = "Courier-Bold"

_WINDOWS_FONTS = Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts"
# (regular, bold) pairs, most preferred first
_CANDIDATES = (
    *(
        (Path(d) / "DejaVuSans.ttf", Path(d) / "DejaVuSans-Bold.ttf")
        for d in (
            "/usr/share/fonts/truetype/dejavu",
            "/usr/share/fonts/dejavu",
            "/usr/share/fonts/TTF",
            "/usr/local/share/fonts",
        )
    ),
    (_WINDOWS_FONTS / "arial.ttf", _WINDOWS_FONTS / "arialbd.ttf"),
    (
        Path("/System/Library/Fonts/Supplemental/Arial.ttf"),
        Path("/System/Library/Fonts/Supplemental/Arial Bold.ttf"),
    ),
    (Path("/Library/Fonts/Arial.ttf"), Path("/Library/Fonts/Arial Bold.ttf")),
)


def _register() -> tuple[str, str]:
    for regular, bold in _CANDIDATES:
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("Body", str(regular)))
            pdfmetrics.registerFont(TTFont("Body-Bold", str(bold)))
            pdfmetrics.registerFontFamily("Body", normal="Body", bold="Body-Bold")
            return "Body", "Body-Bold"
    return "Helvetica", "Helvetica-Bold"


FONT, BOLD = _register()
