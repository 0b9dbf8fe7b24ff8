"""A table whose rows are pulled from an iterator one page at a time.

A platypus Table measures all its rows before drawing and copies the rest at every page break,
so 100,000 rows take minutes and the memory of every row. StreamedTable asks for rows only as a
page needs them, draws them straight onto the canvas and forgets them: memory stays flat and the
time grows with the rows. Cells are plain text, wrapped to the column; a row may be shaded to
flag an exception (with words in the row too, for black-and-white printers).
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import chain
from typing import NamedTuple, TypeVar

from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph

from carehome_share.reports.fonts import BOLD, FONT
from carehome_share.reports.page import BODY, SHADE, escaped

T = TypeVar("T")
_PAD = 2.0
_RULE = colors.HexColor("#BBBBBB")


class Column(NamedTuple):
    title: str
    share: float  # of the frame's width


class Row(NamedTuple):
    cells: Sequence[str]
    shade: Color | None = None


class _Laid(NamedTuple):
    lines: list[tuple[str, ...]]  # per cell
    height: float
    shade: Color | None


@lru_cache(maxsize=8192)  # names, purposes and reasons repeat row after row
def _wrapped(text: str, font: str, size: float, width: float) -> tuple[str, ...]:
    lines: list[str] = []
    for part in text.split("\n"):
        if stringWidth(part, font, size) <= width:
            lines.append(part)
            continue
        for line in simpleSplit(part, font, size, width):
            while stringWidth(line, font, size) > width and len(line) > 1:  # one long word
                cut = len(line) - 1
                while cut > 1 and stringWidth(line[:cut], font, size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
            lines.append(line)
    return tuple(lines)


class _Style(NamedTuple):
    columns: tuple[Column, ...]
    size: float

    @property
    def leading(self) -> float:
        return self.size * 1.2

    def lay(
        self, cells: Sequence[str], widths: list[float], font: str, shade: Color | None
    ) -> _Laid:
        lines = [
            _wrapped(c, font, self.size, w - 2 * _PAD) for c, w in zip(cells, widths, strict=True)
        ]
        height = max(len(c) for c in lines) * self.leading + 2 * _PAD
        return _Laid(lines, height, shade)


class _Piece(Flowable):
    """The rows that fit on one page, under the column titles."""

    def __init__(self, style: _Style, widths: list[float], header: _Laid, rows: list[_Laid]):
        super().__init__()
        self.style, self.widths, self.header, self.rows = style, widths, header, rows
        self.width = sum(widths)
        self.height = header.height + sum(r.height for r in rows)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas, style = self.canv, self.style
        canvas.setLineWidth(0.4)
        canvas.setStrokeColor(_RULE)
        y = self.height
        for font, rows in ((BOLD, [self.header]), (FONT, self.rows)):
            text = canvas.beginText()
            text.setFont(font, style.size, style.leading)
            for row in rows:
                y -= row.height
                if row.shade is not None:
                    canvas.setFillColor(row.shade)
                    canvas.rect(0, y, self.width, row.height, stroke=0, fill=1)
                canvas.line(0, y, self.width, y)
                x = 0.0
                for lines, width in zip(row.lines, self.widths, strict=True):
                    line_y = y + row.height - _PAD - style.size
                    for line in lines:
                        text.setTextOrigin(x + _PAD, line_y)
                        text.textOut(line)
                        line_y -= style.leading
                    x += width
            canvas.setFillColor(colors.black)
            canvas.drawText(text)


class StreamedTable(Flowable):
    def __init__(self, style: _Style, rows: Iterator[Row], pending: _Laid | None = None):
        super().__init__()
        self.style, self.rows, self.pending = style, rows, pending

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        # Never "fits": the frame then calls split() for as many rows as the page holds.
        return avail_width, avail_height + 1

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        style = self.style
        widths = [c.share * avail_width for c in style.columns]
        header = style.lay([c.title for c in style.columns], widths, BOLD, SHADE)
        room = avail_height - header.height
        laid: list[_Laid] = []
        row = self.pending or self._next(widths)
        while row is not None and row.height <= room:
            laid.append(row)
            room -= row.height
            row = self._next(widths)
        self.pending = row
        if not laid:
            return []  # not even one row fits here: the next page
        piece = _Piece(style, widths, header, laid)
        return [piece] if row is None else [piece, StreamedTable(style, self.rows, row)]

    def _next(self, widths: list[float]) -> _Laid | None:
        row = next(self.rows, None)
        return None if row is None else self.style.lay(row.cells, widths, FONT, row.shade)


def table(
    columns: Sequence[Column], rows: Iterable[Row], when_empty: str, size: float = 9
) -> Flowable:
    """Rows under column titles, continued with the titles on every page; `when_empty` instead
    when there are no rows."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return Paragraph(escaped(when_empty), BODY)
    return StreamedTable(_Style(tuple(columns), size), chain([first], rows))


class Progress:
    """Counts rows as they are laid out and tells a plain callable (done, total) now and then,
    e.g. a progress bar in the app; never Qt here."""

    def __init__(self, report: Callable[[int, int], None] | None, total: int) -> None:
        self.report, self.total, self.done = report, total, 0

    def counted(self, rows: Iterable[T]) -> Iterator[T]:
        for row in rows:
            yield row
            self.done += 1
            if self.report is not None and self.done % 250 == 0:
                self.report(self.done, self.total)

    def finish(self) -> None:
        if self.report is not None:
            self.report(self.total, self.total)
