"""An outline (reports/outline.py) as a Word document (DOCX, python-docx) for the home to finish:
the same words as the signed PDF, with empty cells and lines where people answer.

A DOCX cannot carry the PDF's signature: it is a draft, and says so; the signed PDF is the record.
"""

from typing import BinaryIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from carehome_share.reports.outline import (
    WRITING_LINES,
    Blanks,
    Bullets,
    Facts,
    Grid,
    Heading,
    Outline,
    Text,
)
from carehome_share.reports.page import Letterhead, uk_time

_RED = RGBColor(0xB0, 0x00, 0x20)  # page.ALERT
_TEXT_WIDTH = Mm(180)  # A4 less 15 mm margins, as the PDF


def _field(paragraph: Paragraph, instruction: str) -> None:
    """A field Word fills in as it lays out the pages (PAGE, NUMPAGES)."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _page(document: DocxDocument, head: Letterhead) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(15))
    top = section.header.paragraphs[0]
    top.add_run(f"{head.home_name}    ").bold = True
    top.add_run(head.marking).font.color.rgb = _RED
    top.add_run(f"\n{head.title}").font.size = Pt(8)
    foot = section.footer.paragraphs[0]
    foot.add_run(
        f"Generated {uk_time(head.generated_at)} (UK time)    {head.marking}    Page "
    ).font.size = Pt(8)
    _field(foot, "PAGE")
    foot.add_run(" of ").font.size = Pt(8)
    _field(foot, "NUMPAGES")
    properties = document.core_properties
    properties.title, properties.subject = head.title, head.marking
    properties.author = properties.last_modified_by = head.home_name
    properties.created = properties.modified = head.generated_at
    properties.revision = 1


def _table(document: DocxDocument, widths: list[float], rows: list[tuple[str, ...]]) -> Table:
    grid = document.add_table(rows=0, cols=len(widths))
    grid.style = "Table Grid"
    for cells in rows:
        row = grid.add_row()
        for cell, text, share in zip(row.cells, cells, widths, strict=True):
            cell.width = int(_TEXT_WIDTH * share)
            cell.text = text if text else "\n" * (WRITING_LINES - 1)
    return grid


def _bold_first_row(grid: Table) -> None:
    for cell in grid.rows[0].cells:
        for run in cell.paragraphs[0].runs:
            run.bold = True


def write_docx(outline: Outline, head: Letterhead, out: BinaryIO) -> None:
    document = Document()
    _page(document, head)
    document.add_heading(outline.title, level=0)
    for part in outline.parts:
        match part:
            case Heading(text):
                document.add_heading(text, level=1)
            case Text(text):
                document.add_paragraph(text)
            case Bullets(items):
                for item in items:
                    document.add_paragraph(item, style="List Bullet")
            case Facts(rows):
                _table(document, [0.3, 0.7], list(rows))
            case Grid(columns, rows, blank_rows, when_empty):
                if not rows and not blank_rows:
                    document.add_paragraph(when_empty)
                    continue
                titles = tuple(title for title, _share in columns)
                empty = ("",) * len(columns)
                widths = [share for _title, share in columns]
                _bold_first_row(_table(document, widths, [titles, *rows, *[empty] * blank_rows]))
            case Blanks(labels):
                _table(document, [0.3, 0.7], [(label, "") for label in labels])
    document.save(out)
