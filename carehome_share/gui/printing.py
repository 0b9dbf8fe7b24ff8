"""Printing and saving the documents: each is built on the background worker into memory, then
previewed, printed or saved as PDF.

A document's PDF is only ever bytes in memory (QtPdf reads it from a QBuffer), so no temporary
file holds personal data. Printing draws each page, rendered by QtPdf as an image, into the
printer's page, keeping its shape. Save as PDF writes the same bytes with `atomic_output`: the
file appears whole or not at all, and only its owner can read it.

The report writers (reportlab) are imported on the worker thread when a document is first
built, not when the main window opens.
"""

import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from PySide6.QtCore import (
    QBuffer,
    QIODevice,
    QMarginsF,
    QObject,
    QPointF,
    QRectF,
    QSizeF,
    QStandardPaths,
    Qt,
    Signal,
)
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPaintEngine, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import (
    QAbstractPrintDialog,
    QPrintDialog,
    QPrinter,
    QPrintPreviewDialog,
)
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QProgressDialog, QWidget

from carehome_share.domain.model import Agreement, Practice, Resident
from carehome_share.gui.forms import report_error
from carehome_share.gui.models import uk_day
from carehome_share.gui.tasks import Background
from carehome_share.services import reports
from carehome_share.services.context import Context
from carehome_share.store.files import atomic_output

PRINT_DPI = 300  # sharp on paper; pages are drawn one at a time, so memory stays flat
PREVIEW_DPI = 96  # the preview keeps every page's image: under 4 MB a page
PREVIEW_PAGES = 100  # longer documents are printed or saved without a preview

Progress = Callable[[int, int], None]
Recorder = Callable[[str], None]  # what became of the document: one of reports.PRINT_OUTCOMES


def not_recorded(_outcome: str) -> None:
    """For a document whose making is not audited (a consent form): nothing to add to."""


class Cancelled(Exception):
    """The person stopped a document being built: nothing was disclosed, nothing recorded."""


@dataclass(frozen=True)
class Printable:
    """A document to build. `name` also names the print job, so it holds no personal data;
    `about` says on screen which resident, practice or period it covers; `write` reads it
    through its service, as the logged-in user, and writes the PDF to `out`. Making an
    `audited` one is recorded, and so is what then became of it."""

    name: str
    about: str
    file_name: str  # offered by Save as PDF
    write: Callable[[Context, BinaryIO, Progress | None], object]
    audited: bool = True

    @property
    def title(self) -> str:
        return f"{self.name}: {self.about}" if self.about else self.name


def pdf_of(printable: Printable, ctx: Context, progress: Progress | None = None) -> bytes:
    out = io.BytesIO()
    printable.write(ctx, out, progress)
    return out.getvalue()


# -- the documents ------------------------------------------------------------------------------


def _slug(*words: str) -> str:
    return re.sub(r"[^\w]+", "-", " ".join(words).lower()).strip("-")


def access_report(practice: Practice, first: date, last: date) -> Printable:
    def write(ctx: Context, out: BinaryIO, progress: Progress | None) -> object:
        from carehome_share.reports.access_report import write_access_report

        return reports.gp_access_report(
            ctx, practice.ods_code, first, last, lambda r: write_access_report(r, out, progress)
        )

    return Printable(
        "GP access report",
        f"{practice.name}, {uk_day(first)} to {uk_day(last)}",
        f"gp-access-report-{_slug(practice.ods_code)}-{first}-to-{last}.pdf",
        write,
    )


def staff_list(practice: Practice, first: date, last: date) -> Printable:
    def write(ctx: Context, out: BinaryIO, _progress: Progress | None) -> object:
        from carehome_share.reports.staff_list import write_staff_list

        return reports.staff_list(
            ctx, practice.ods_code, first, last, lambda s: write_staff_list(s, out)
        )

    return Printable(
        "Authorised staff list",
        f"{practice.name}, {uk_day(first)} to {uk_day(last)}",
        f"authorised-staff-{_slug(practice.ods_code)}-{first}-to-{last}.pdf",
        write,
    )


def agreement(practice: Practice, chosen: Agreement) -> Printable:
    def write(ctx: Context, out: BinaryIO, _progress: Progress | None) -> object:
        from carehome_share.reports.agreement import write_agreement

        return reports.agreement_record(ctx, chosen.id, lambda r: write_agreement(r, out))

    return Printable(
        "Data sharing agreement",
        f"{practice.name}, from {uk_day(chosen.starts_on)}",
        f"data-sharing-agreement-{_slug(practice.ods_code)}-{chosen.starts_on}.pdf",
        write,
    )


def disclosure_register(first: date, last: date) -> Printable:
    def write(ctx: Context, out: BinaryIO, _progress: Progress | None) -> object:
        from carehome_share.reports.disclosure_register import write_disclosure_register

        return reports.disclosure_register(
            ctx, first, last, lambda r: write_disclosure_register(r, out)
        )

    return Printable(
        "Disclosure register",
        f"{uk_day(first)} to {uk_day(last)}",
        f"disclosure-register-{first}-to-{last}.pdf",
        write,
    )


def dpia(practice: Practice, chosen: Agreement) -> Printable:
    def write(ctx: Context, out: BinaryIO, _progress: Progress | None) -> object:
        from carehome_share.reports.dpia import write_dpia

        return reports.dpia_pack(ctx, chosen.id, lambda p: write_dpia(p, out))

    return Printable(
        "DPIA pack",
        f"{practice.name}, agreement from {uk_day(chosen.starts_on)}",
        _dpia_name(practice, chosen, "pdf"),
        write,
    )


def _dpia_name(practice: Practice, chosen: Agreement, suffix: str) -> str:
    return f"dpia-{_slug(practice.ods_code)}-{chosen.starts_on}.{suffix}"


def save_editable_dpia(
    parent: QWidget,
    background: Background,
    practice: Practice,
    chosen: Agreement,
    saved: Callable[[Path], None],
) -> None:
    """Ask where, then write the DPIA pack as DOCX on the background worker, whole or not at
    all; `saved(path)` once it is there."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    chosen_path, _filter = QFileDialog.getSaveFileName(
        parent,
        f"Save the DPIA for editing: {practice.name}",
        str(Path(folder, _dpia_name(practice, chosen, "docx"))),
        "Word documents (*.docx)",
    )
    if not chosen_path:
        return
    target = Path(chosen_path)
    if not target.suffix:
        target = target.with_suffix(".docx")

    def work(ctx: Context) -> Path:
        from carehome_share.reports.dpia import write_dpia_docx

        with atomic_output(target) as out:
            reports.dpia_pack(ctx, chosen.id, lambda p: write_dpia_docx(p, out), editable=True)
        return target

    background.run(work, saved, lambda exc: report_error(parent, exc, "DPIA not saved"))


def consent_register(include_former: bool) -> Printable:
    def write(ctx: Context, out: BinaryIO, _progress: Progress | None) -> object:
        from carehome_share.reports.consent_register import write_consent_register

        return reports.consent_register(
            ctx, lambda r: write_consent_register(r, out), include_former=include_former
        )

    return Printable(
        "Consent register",
        "all residents, former ones too" if include_former else "current residents",
        "consent-register-all.pdf" if include_former else "consent-register.pdf",
        write,
    )


def resident_history(resident: Resident) -> Printable:
    def write(ctx: Context, out: BinaryIO, _progress: Progress | None) -> object:
        from carehome_share.reports.history import write_resident_history

        return reports.resident_history(ctx, resident.id, lambda h: write_resident_history(h, out))

    return Printable(
        "Access history",
        resident.full_name,
        f"access-history-{_slug(resident.full_name)}.pdf",
        write,
    )


def consent_form(resident: Resident | None) -> Printable:
    """Pre-filled for a resident, or blank (None)."""

    def write(ctx: Context, out: BinaryIO, _progress: Progress | None) -> object:
        from carehome_share.reports.consent_form import write_consent_form

        return reports.consent_form(
            ctx, resident.id if resident else None, lambda f: write_consent_form(f, out)
        )

    if resident is None:
        return Printable("Consent form", "blank", "consent-form-blank.pdf", write, audited=False)
    return Printable(
        "Consent form",
        resident.full_name,
        f"consent-form-{_slug(resident.full_name)}.pdf",
        write,
        audited=False,
    )


def recovery_sheet(code: str) -> Printable:
    """For the safe. Saved as PDF only to print it elsewhere (see RecoveryCodeView)."""

    def write(ctx: Context, out: BinaryIO, _progress: Progress | None) -> object:
        from carehome_share.reports.recovery_sheet import write_recovery_sheet

        return reports.recovery_sheet(ctx, code, lambda s: write_recovery_sheet(s, out))

    return Printable("Recovery sheet", "", "recovery-sheet.pdf", write)


# -- building off the GUI thread ----------------------------------------------------------------


class _Relay(QObject):
    progressed = Signal(int, int)  # from the worker thread to the progress dialog


Action = Callable[[QWidget, Printable, bytes, Recorder], object]


def build(
    trigger: QWidget,
    background: Background,
    printable: Printable,
    then: Action,
    failed: Callable[[Exception], None] | None = None,
) -> None:
    """Build the PDF on the background worker, then `then(window, printable, pdf, record)` on
    the GUI thread, where `record(outcome)` adds what became of it to the document's audit
    entry. One build at a time from each `trigger` (the button or page that asked). A progress
    dialog appears if it takes a moment; it offers Cancel once the document counts its rows.
    Errors go to `failed`, else to the standard message."""
    if trigger.property("building"):
        return
    trigger.setProperty("building", True)
    window = trigger.window()
    dialog = QProgressDialog("Preparing the document…", "", 0, 0, window)
    dialog.setWindowTitle(printable.name)
    dialog.setCancelButton(None)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(400)
    stop = threading.Event()
    dialog.canceled.connect(stop.set)
    relay = _Relay(dialog)

    def show_progress(done: int, total: int) -> None:
        if dialog.maximum() == 0 and total:
            dialog.setCancelButtonText("&Cancel")
            dialog.setMaximum(total)
        dialog.setValue(done)

    relay.progressed.connect(show_progress)

    def progress(done: int, total: int) -> None:  # on the worker thread
        if stop.is_set():
            raise Cancelled
        relay.progressed.emit(done, total)

    def finish() -> None:
        trigger.setProperty("building", False)
        dialog.reset()  # hides it, and it no longer waits to appear
        dialog.deleteLater()

    def built(made: tuple[bytes, int]) -> None:
        finish()
        pdf, entry = made

        def record(outcome: str) -> None:
            background.run(
                lambda ctx: reports.record_print_outcome(ctx, entry, outcome),
                lambda _none: None,
                lambda exc: report_error(window, exc, "Print outcome not recorded"),
            )

        then(window, printable, pdf, record if printable.audited else not_recorded)

    def not_built(exc: Exception) -> None:
        finish()
        if isinstance(exc, Cancelled):
            return
        if failed is not None:
            failed(exc)
        else:
            report_error(window, exc, f"{printable.name} not made")

    def work(ctx: Context) -> tuple[bytes, int]:
        pdf = pdf_of(printable, ctx, progress)
        return pdf, reports.document_entry(ctx) if printable.audited else 0

    background.run(work, built, not_built)


# -- preview, print, save -----------------------------------------------------------------------


def load(pdf: bytes) -> QPdfDocument:
    """The PDF for QtPdf, read from memory."""
    document = QPdfDocument()
    buffer = QBuffer(document)
    buffer.setData(pdf)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document.load(buffer)
    if document.status() is not QPdfDocument.Status.Ready:
        raise ValueError(f"QtPdf could not read the document ({document.error().name})")
    return document


def printer_for(document: QPdfDocument, name: str) -> QPrinter:
    """A printer set up for the document: its paper and orientation, no margins of its own (the
    pages have theirs; a printer's unprintable edge still applies), and a job name that is the
    document's kind, never a resident's name."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    page = document.pagePointSize(0)
    upright = QSizeF(min(page.width(), page.height()), max(page.width(), page.height()))
    printer.setPageSize(QPageSize(upright, QPageSize.Unit.Point))  # A4 when it is A4
    landscape = page.width() > page.height()
    printer.setPageOrientation(
        QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait
    )
    printer.setPageMargins(QMarginsF(), QPageLayout.Unit.Point)
    printer.setDocName(f"carehome-share: {name}")
    return printer


def _page_image(document: QPdfDocument, index: int, dpi: int) -> QImage:
    """One page as an opaque image: QtPdf leaves the paper transparent, printers want white."""
    size = (document.pagePointSize(index) * dpi / 72).toSize()
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.drawImage(0, 0, document.render(index, size))
    painter.end()
    return image


def paint_pages(document: QPdfDocument, printer: QPrinter, parent: QWidget | None = None) -> bool:
    """Draw the pages (those chosen in the print dialog) into the printer, each scaled to the
    printable area, keeping its shape, and centred. Printing shows its progress; Stop sends no
    more pages (the printer may still print those it has). False if it could not start."""
    # The preview records every page as a picture: a screen's resolution is plenty there.
    previewing = printer.paintEngine().type() == QPaintEngine.Type.Picture
    dpi = min(printer.resolution(), PREVIEW_DPI if previewing else PRINT_DPI)
    area = printer.pageRect(QPrinter.Unit.DevicePixel)
    first = max(printer.fromPage(), 1)
    last = printer.toPage() or document.pageCount()
    painter = QPainter()
    if not painter.begin(printer):
        return False
    painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering)  # no JPEG blur on text
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)  # scaled in the preview
    steps = None
    if not previewing:
        steps = QProgressDialog(
            "Sending the pages to the printer…", "&Stop", first - 1, last, parent
        )
        steps.setWindowModality(Qt.WindowModality.WindowModal)
        steps.setMinimumDuration(400)
    try:
        for number in range(first, last + 1):
            if steps is not None:
                steps.setValue(number - 1)  # lets the window repaint, and Stop be pressed
                if steps.wasCanceled():
                    printer.abort()
                    break
            if number > first:
                printer.newPage()
            fitted = document.pagePointSize(number - 1).scaled(
                area.size(), Qt.AspectRatioMode.KeepAspectRatio
            )
            corner = QPointF(area.width() - fitted.width(), area.height() - fitted.height()) / 2
            painter.drawImage(QRectF(corner, fitted), _page_image(document, number - 1, dpi))
    finally:
        painter.end()
        if steps is not None:
            steps.reset()
            steps.deleteLater()
    return True


class PreviewDialog(QPrintPreviewDialog):
    """The pages as they will print, with the preview's own Print button. Closed, it records
    whether it printed."""

    def __init__(
        self,
        printable: Printable,
        document: QPdfDocument,
        parent: QWidget | None = None,
        record: Recorder = not_recorded,
    ) -> None:
        printer = printer_for(document, printable.name)
        super().__init__(printer, parent)
        document.setParent(self)
        self.document, self._printer = document, printer  # the dialog only points at them
        self.outcome = "cancelled"
        self.setWindowTitle(f"Print preview: {printable.title}")
        self.paintRequested.connect(self.paint)
        self.finished.connect(lambda _result: record(self.outcome))
        if parent is not None:
            self.resize(parent.screen().availableGeometry().size() * 0.8)

    def paint(self, printer: QPrinter) -> None:
        if printer.paintEngine().type() == QPaintEngine.Type.Picture:
            paint_pages(self.document, printer, self)  # the preview itself
            return
        started = paint_pages(self.document, printer, self)
        self.outcome = "printed" if started else "failed"
        if not started:
            QMessageBox.warning(self, "Not printed", NO_PRINTER)


def preview(
    parent: QWidget, printable: Printable, pdf: bytes, record: Recorder = not_recorded
) -> None:
    """The print preview; for a very long document, the choice of printing or saving it."""
    document = load(pdf)
    if document.pageCount() <= PREVIEW_PAGES:
        dialog = PreviewDialog(printable, document, parent, record)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return
    box = QMessageBox(
        QMessageBox.Icon.Information,
        printable.name,
        f"This document has {document.pageCount():,} pages: too many to "
        "preview. Print it, or save it as PDF?",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    choices = {
        box.addButton("&Print…", QMessageBox.ButtonRole.AcceptRole): print_document,
        box.addButton("Save as PD&F…", QMessageBox.ButtonRole.AcceptRole): save_as_pdf,
    }
    box.exec()
    chosen = choices.get(box.clickedButton())
    if chosen is None:
        record("cancelled")
    else:
        chosen(parent, printable, pdf, record)


NO_PRINTER = (
    "No printer could be started. Save the document as PDF and print it from another "
    "computer, or check the printer and try again."
)


def print_document(
    parent: QWidget, printable: Printable, pdf: bytes, record: Recorder = not_recorded
) -> str:
    """The system print dialog, then the pages to the printer chosen; records and returns the
    outcome. It offers no "print to file": saving is Save as PDF's work, done safely."""
    document = load(pdf)
    printer = printer_for(document, printable.name)
    dialog = QPrintDialog(printer, parent)
    document.setParent(dialog)
    dialog.setWindowTitle(f"Print: {printable.title}")
    dialog.setOption(QAbstractPrintDialog.PrintDialogOption.PrintToFile, False)
    dialog.setMinMax(1, document.pageCount())
    # exec(): the native print dialogs of Windows and macOS are modal in any case.
    if dialog.exec() != QDialog.DialogCode.Accepted:
        outcome = "cancelled"
    elif paint_pages(document, printer, parent):
        outcome = "printed"
    else:
        outcome = "failed"
        QMessageBox.warning(parent, "Not printed", NO_PRINTER)
    dialog.deleteLater()
    record(outcome)
    return outcome


def save_as_pdf(
    parent: QWidget, printable: Printable, pdf: bytes, record: Recorder = not_recorded
) -> Path | None:
    """Ask where, then write the file whole or not at all, and record it; None if not
    saved."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    chosen, _filter = QFileDialog.getSaveFileName(
        parent,
        f"Save as PDF: {printable.title}",
        str(Path(folder, printable.file_name)),
        "PDF documents (*.pdf)",
    )
    if not chosen:
        record("cancelled")
        return None
    target = Path(chosen)
    if not target.suffix:
        target = target.with_suffix(".pdf")
    try:
        with atomic_output(target) as out:
            out.write(pdf)
    except OSError as exc:
        report_error(parent, exc, "Not saved")
        record("failed")
        return None
    record("saved as PDF")
    return target
