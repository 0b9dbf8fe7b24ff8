"""A document as plain parts (headings, paragraphs, lists, tables, lines to fill in), written
once and laid out both as a signed PDF and as an editable DOCX (reports/editable.py), so the
two copies cannot say different things."""

from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from carehome_share.reports.page import TITLE, blanks, bullets, facts, heading, para, spacer
from carehome_share.reports.table import Column, Row, table

# A blank cell of a table is room to write in: this many lines high on paper.
WRITING_LINES = 3


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """Label and value pairs."""

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Grid:
    """A table under column titles (each with its share of the width); `blank_rows` empty rows
    follow the filled ones for the reader to add their own."""

    columns: tuple[tuple[str, float], ...]
    rows: tuple[tuple[str, ...], ...]
    blank_rows: int = 0
    when_empty: str = ""

    def __post_init__(self) -> None:
        assert all(len(r) == len(self.columns) for r in self.rows)


@dataclass(frozen=True)
class Blanks:
    """Labelled lines to write on: names, signatures, dates."""

    labels: tuple[str, ...]


Part = Heading | Text | Bullets | Facts | Grid | Blanks


@dataclass(frozen=True)
class Outline:
    title: str  # also the document's title in its properties and page header
    parts: tuple[Part, ...]


_WRITE_HERE = "\n" * (WRITING_LINES - 1)


def _cell(text: str) -> str:
    return text or _WRITE_HERE


def flowables(outline: Outline, width: float, label_width: float) -> list[Flowable]:
    """The outline as reportlab flowables for a frame `width` wide."""
    story: list[Flowable] = [para(outline.title, TITLE)]
    for part in outline.parts:
        match part:
            case Heading(text):
                story += heading(text)
            case Text(text):
                story.append(para(text))
            case Bullets(items):
                story += bullets(items)
            case Facts(rows):
                story += [facts(rows, widths=(label_width, width - label_width)), spacer(2 * mm)]
            case Grid(columns, rows, blank_rows, when_empty):
                empty = ("",) * len(columns)
                story.append(
                    table(
                        [Column(title, share) for title, share in columns],
                        [Row([_cell(c) for c in r]) for r in (*rows, *[empty] * blank_rows)],
                        when_empty,
                        size=9,
                    )
                )
                story.append(spacer(2 * mm))  # the text after a table stands clear of it
            case Blanks(labels):
                story.append(blanks(labels, width))
    return story
