"""What every document shares: the page (home name, confidential marking, generated time,
"page N of M"), the styles, UK date formats, the chain-head block and the sign-off lines.

"Page N of M" without a second pass: each footer draws a PDF form whose content, the page
count, is only written when the document is saved.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream, PDFZCompress
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from carehome_share.domain.validation import UK
from carehome_share.reports.fonts import BOLD, FONT, MONO
from carehome_share.reports.signature import Signer, sign

PORTRAIT = A4
LANDSCAPE = landscape(A4)
MARGIN = 15 * mm
CONFIDENTIAL = "CONFIDENTIAL: contains personal data"
ALERT = colors.HexColor("#B00020")
SHADE = colors.HexColor("#EEEEEE")
_PAGE_COUNT = "pageCount"
_FOOTER = 8  # pt
LANGUAGE = "en-GB"  # read aloud by screen readers as British English


# -- formats -----------------------------------------------------------------------------------


def uk_day(day: date | None, missing: str = "-") -> str:
    return day.strftime("%d/%m/%Y") if day else missing


def uk_time(instant: datetime | None, missing: str = "-") -> str:
    """A moment as a UK clock showed it: dd/mm/yyyy HH:MM."""
    return instant.astimezone(UK).strftime("%d/%m/%Y %H:%M") if instant else missing


def grouped(digest: str) -> str:
    """A hash in groups of four, for reading aloud and typing back."""
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def escaped(text: str) -> str:
    """Text for a Paragraph, which reads markup: names like "O'Brien & Sons" stay as typed."""
    return escape(text)


# -- styles ------------------------------------------------------------------------------------

BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, spaceAfter=4)
# notes and labels: the smallest text on any page, still readable printed (nothing under 8 pt)
SMALL = ParagraphStyle("small", BODY, fontSize=8.5, leading=11, spaceAfter=2)
TITLE = ParagraphStyle("title", BODY, fontName=BOLD, fontSize=16, leading=20, spaceAfter=6)
HEADING = ParagraphStyle(
    "heading", BODY, fontName=BOLD, fontSize=11.5, leading=15, spaceBefore=10, spaceAfter=4
)
SUBHEADING = ParagraphStyle(
    "subheading", BODY, fontName=BOLD, fontSize=9.5, leading=12, spaceBefore=6, spaceAfter=3
)
BULLET = ParagraphStyle("bullet", BODY, leftIndent=12, bulletIndent=2, spaceAfter=1)
CODE = ParagraphStyle("code", BODY, fontName=MONO, fontSize=9, leading=12)


def para(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    """A paragraph of plain text (markup characters are shown as typed)."""
    return Paragraph(escaped(text), style)


def heading(text: str) -> list[Flowable]:
    """A section heading that never sits alone at the foot of a page."""
    return [CondPageBreak(40 * mm), Paragraph(escaped(text), HEADING)]


def bullets(items: Sequence[str]) -> list[Flowable]:
    return [Paragraph(escaped(item), BULLET, bulletText="\u2022") for item in items]


def facts(
    rows: Sequence[tuple[str, str]], widths: tuple[float, float] = (45 * mm, 120 * mm)
) -> Table:
    """Label and value pairs, e.g. a resident's details at the top of a document."""
    table = Table(
        [[Paragraph(escaped(k), SMALL), Paragraph(escaped(v), BODY)] for k, v in rows],
        colWidths=widths,
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def blanks(labels: Sequence[str], width: float, per_row: int = 2) -> Table:
    """Labelled lines to write on: names, signatures, dates."""
    cells = [x for label in labels for x in (Paragraph(escaped(label), BODY), "")]
    cells += [""] * (-len(cells) % (2 * per_row))
    rows = [cells[i : i + 2 * per_row] for i in range(0, len(cells), 2 * per_row)]
    label = 42 * mm
    line = width / per_row - label
    table = Table(rows, colWidths=[label, line] * per_row, rowHeights=10 * mm, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                *[
                    ("LINEBELOW", (c, 0), (c, -1), 0.5, colors.black)
                    for c in range(1, 2 * per_row, 2)
                ],
                # a gap between one line and the next label
                *[("LEFTPADDING", (c, 0), (c, -1), 12) for c in range(2, 2 * per_row, 2)],
            ]
        )
    )
    return table


# -- the chain head ----------------------------------------------------------------------------


def qr_box(text: list[Flowable], payload: str, size: float) -> Flowable:
    """Text in a ruled box beside a QR code of `payload`, `size` square."""
    code = Drawing(size, size)
    code.add(QrCodeWidget(payload, barWidth=size, barHeight=size, barBorder=2))
    box = Table([[text, code]], colWidths=[None, size + 4 * mm], hAlign="LEFT")
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.75, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return box


def chain_head(seq: int, digest: str) -> Flowable:
    """The audit chain head when the data was read, as text and as a QR code, with how to
    check it: a reviewer holding this page can show the log was not edited or rolled back."""
    text = [
        Paragraph("Audit chain head when this document was produced", SUBHEADING),
        Paragraph(f"Entry <b>{seq}</b>, hash:", BODY),
        # eight groups a line, so the hash never breaks inside a group
        Paragraph(f"{grouped(digest[:32])}<br/>{grouped(digest[32:])}", CODE),
        Paragraph(
            "To check that the home's records were not edited, deleted or rolled back since, the "
            "home runs <b>carehome-share verify --head</b> followed by the entry number, a colon "
            "and the hash above (or scans the code).",
            SMALL,
        ),
    ]
    return qr_box(text, f"{seq}:{digest}", 28 * mm)


# -- the home's signing key -------------------------------------------------------------------


def signing_key(fingerprint: str) -> Flowable:
    """The fingerprint of the home's signing key, for the practice to record once: the home's
    reports are signed with that key, and the fingerprint is how a reader knows it is the
    home's."""
    text = [
        Paragraph("The home's signing key", SUBHEADING),
        Paragraph("Fingerprint (SHA-256 of the public key):", BODY),
        Paragraph(escaped(fingerprint), CODE),
        Paragraph(
            "Keep this fingerprint with the practice's records. The home's reports are signed "
            "with this key; when checking a report, compare the fingerprint it shows with this "
            "one. If they differ, ask the home why before relying on the report.",
            SMALL,
        ),
    ]
    box = Table([[text]], hAlign="LEFT")
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.75, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return box


# -- the page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Letterhead:
    home_name: str
    title: str
    generated_at: datetime
    marking: str = CONFIDENTIAL
    signer: Signer | None = None  # every document the app makes is signed; tests may not be


class _Canvas(Canvas):
    def showPage(self) -> None:
        super().showPage()
        # reportlab keeps each finished page's drawing commands as text until save(), some
        # 25 KB a page; compressed as soon as the page is done, it keeps about 3 KB.
        page = self._doc.Pages.pages[-1]
        flate = PDFDictionary({"Filter": PDFArray([PDFName(PDFZCompress.pdfname)])})
        page.Contents = PDFStream(flate, PDFZCompress.encode(page.stream))
        page.stream = None

    def save(self) -> None:
        # The form every footer drew: the number of pages, known only now.
        self.beginForm(_PAGE_COUNT)
        self.setFont(FONT, _FOOTER)
        self.drawString(0, 0, str(self.getPageNumber() - 1))
        self.endForm()
        super().save()


def _fitted(text: str, font: str, size: float, width: float) -> str:
    """The text, cut short with an ellipsis if it is wider than `width` (the page header
    repeats names that the body prints in full)."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "\u2026", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def _decorate(canvas: Canvas, doc: BaseDocTemplate, head: Letterhead) -> None:
    width, height = doc.pagesize
    top = height - MARGIN + 4 * mm
    room = width - 2 * MARGIN
    canvas.saveState()
    canvas.setFont(BOLD, 9)
    marking_width = stringWidth(head.marking, BOLD, 9) + 6 * mm
    canvas.drawString(MARGIN, top, _fitted(head.home_name, BOLD, 9, room - marking_width))
    canvas.setFillColor(ALERT)
    canvas.drawRightString(width - MARGIN, top, head.marking)
    canvas.setFillColor(colors.black)
    canvas.setFont(FONT, 8)
    canvas.drawString(MARGIN, top - 11, _fitted(head.title, FONT, 8, room))
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, top - 15, width - MARGIN, top - 15)

    bottom = MARGIN - 8 * mm
    canvas.line(MARGIN, bottom + 10, width - MARGIN, bottom + 10)
    canvas.setFont(FONT, _FOOTER)
    canvas.drawString(MARGIN, bottom, f"Generated {uk_time(head.generated_at)} (UK time)")
    canvas.drawCentredString(width / 2, bottom, head.marking)
    label = f"Page {doc.page} of "
    x = width - MARGIN - 22 * mm
    canvas.drawString(x, bottom, label)
    canvas.translate(x + canvas.stringWidth(label, FONT, _FOOTER), bottom)
    canvas.doForm(_PAGE_COUNT)
    canvas.restoreState()


def build(
    out: BinaryIO, head: Letterhead, story: list[Flowable], pagesize: tuple[float, float]
) -> int:
    """Lay out `story` (its long tables pull their rows as they go) into `out`, signed with the
    letterhead's signer; return the number of pages."""
    laid_out = io.BytesIO() if head.signer else out
    doc = BaseDocTemplate(
        laid_out,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 8 * mm,
        bottomMargin=MARGIN,
        title=head.title,
        author=head.home_name,
        subject=head.marking,
        creator="carehome-share",
        lang=LANGUAGE,
        displayDocTitle=1,  # a viewer's window shows the title, not the file name
    )
    frame = Frame(
        doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body", showBoundary=0
    )
    doc.addPageTemplates(
        PageTemplate(id="page", frames=[frame], onPage=lambda c, d: _decorate(c, d, head))
    )
    doc.build(story, canvasmaker=_Canvas)
    if head.signer is not None:
        assert isinstance(laid_out, io.BytesIO)
        out.write(sign(laid_out.getvalue(), head.signer, head.title))
    return doc.page


def spacer(height: float = 4 * mm) -> Spacer:
    return Spacer(1, height)
