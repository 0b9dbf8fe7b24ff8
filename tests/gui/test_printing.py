"""Printing and saving documents from the app: the pages drawn into a printer (a PDF printer
here: no printers are installed), the preview, Save as PDF, the Reports page, the buttons on the
resident panel, cancelling a long build, and the recovery sheet from the first-run wizard.

Printed pages are images of the document's pages, so their text is checked in the document QtPdf
reads, and the printed images are compared with QtPdf's own rendering of each page."""

import io
import json
import os
import stat
import threading
from datetime import date
from pathlib import Path

import docx
import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader
from PySide6.QtCore import QDate
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrintPreviewWidget
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QMessageBox,
    QProgressDialog,
    QPushButton,
)

from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import Resident, Role
from carehome_share.gui import printing
from carehome_share.gui.main_window import MainWindow
from carehome_share.gui.reports_page import ReportsPage
from carehome_share.services import access, practices, reports
from carehome_share.store import audit, recovery
from tests.factories import Home
from tests.gui.conftest import flat, text_of
from tests.gui.test_manager import press
from tests.gui.test_startup import _fill_home_and_manager

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def pdf_text(path: Path) -> str:
    return flat(" ".join(page.extract_text() for page in PdfReader(path).pages))


def pdf_printer(path: Path, document: QPdfDocument) -> QPrinter:
    printer = printing.printer_for(document, "GP access report")
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    return printer


def a_session(home: Home) -> Resident:
    """A resident whose record a nurse opened and closed on 21/11/2026."""
    resident = home.add_resident()
    home.log_in(home.add_nurse())
    session = home.open_session(resident)
    access.close_access_session(home.ctx, session.id)
    home.as_manager()
    return resident


def print_reports_entries(home: Home) -> list:
    return [e for e in audit.entries(home.ctx.conn) if e.action == "print_reports"]


@pytest.fixture
def report(home: Home) -> tuple[printing.Printable, bytes, Resident]:
    resident = a_session(home)
    practice = practices.list_practices(home.ctx)[0]
    printable = printing.access_report(practice, *NOVEMBER)
    return printable, printing.pdf_of(printable, home.ctx), resident


def test_printed_pages_are_the_document_pages_whole_and_sharp(qtbot, report, tmp_path) -> None:
    _printable, pdf, resident = report
    document = printing.load(pdf)
    assert document.pageCount() == len(PdfReader(io.BytesIO(pdf)).pages) >= 2
    text = text_of(document)
    assert "GP record access report: Riverside Surgery, 01/11/2026 to 30/11/2026" in text
    assert resident.full_name in text

    printed = tmp_path / "printed.pdf"
    printer = pdf_printer(printed, document)
    assert printer.docName() == "carehome-share: GP access report"  # no personal data
    assert printing.paint_pages(document, printer)

    pages = PdfReader(printed).pages
    assert len(pages) == document.pageCount()
    for number, page in enumerate(pages):
        assert (round(page.mediabox.width), round(page.mediabox.height)) == (842, 595)
        (image,) = page.images
        shown = image.image.convert("RGB")
        assert shown.size == (3508, 2480)  # landscape A4 at 300 dpi
        rendered = document.render(number, (document.pagePointSize(number) * 300 / 72).toSize())
        expected = Image.new("RGBA", shown.size, "white")
        expected.alpha_composite(Image.fromqimage(rendered).convert("RGBA"))
        difference = ImageChops.difference(shown, expected.convert("RGB"))
        assert max(high for _low, high in difference.getextrema()) <= 2


def test_only_the_pages_chosen_in_the_print_dialog_are_printed(qtbot, report, tmp_path) -> None:
    _printable, pdf, _resident = report
    document = printing.load(pdf)
    printed = tmp_path / "page-2.pdf"
    printer = pdf_printer(printed, document)
    printer.setFromTo(2, 2)
    assert printing.paint_pages(document, printer)
    assert len(PdfReader(printed).pages) == 1


def test_stopping_a_print_sends_no_more_pages(qtbot, report, tmp_path, monkeypatch) -> None:
    _printable, pdf, _resident = report
    document = printing.load(pdf)
    asked: list[int] = []

    def stop_after_the_first_page(steps: QProgressDialog) -> bool:
        asked.append(steps.value())
        return steps.value() >= 1

    monkeypatch.setattr(QProgressDialog, "wasCanceled", stop_after_the_first_page)
    printed = tmp_path / "stopped.pdf"
    assert printing.paint_pages(document, pdf_printer(printed, document))
    assert asked == [0, 1] and len(PdfReader(printed).pages) == 1


def test_preview_shows_every_page_and_prints_them(qtbot, report, tmp_path, monkeypatch) -> None:
    printable, pdf, _resident = report
    resolutions: list[int] = []
    page_image = printing._page_image
    monkeypatch.setattr(
        printing,
        "_page_image",
        lambda document, index, dpi: resolutions.append(dpi) or page_image(document, index, dpi),
    )
    dialog = printing.PreviewDialog(printable, printing.load(pdf))
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == (
        "Print preview: GP access report: Riverside Surgery, 01/11/2026 to 30/11/2026"
    )
    dialog.show()
    preview = dialog.findChild(QPrintPreviewWidget)
    qtbot.waitUntil(lambda: preview.pageCount() == dialog.document.pageCount())
    assert set(resolutions) == {printing.PREVIEW_DPI}  # the preview keeps small images

    resolutions.clear()
    printed = tmp_path / "from-preview.pdf"
    dialog.paint(pdf_printer(printed, dialog.document))
    assert len(PdfReader(printed).pages) == dialog.document.pageCount()
    assert set(resolutions) == {printing.PRINT_DPI}


def test_a_document_too_long_to_preview_is_offered_for_saving(
    qtbot, report, tmp_path, monkeypatch
) -> None:
    printable, pdf, _resident = report
    monkeypatch.setattr(printing, "PREVIEW_PAGES", 1)
    asked = []

    def choose_save(box: QMessageBox) -> None:
        asked.append(box.text())
        next(b for b in box.buttons() if b.text() == "Save as PD&F…").click()

    monkeypatch.setattr(QMessageBox, "exec", choose_save)
    target = tmp_path / "long.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_: (str(target), ""))
    printing.preview(None, printable, pdf)
    assert asked[0].startswith("This document has ")
    assert "too many to preview" in asked[0]
    assert target.read_bytes() == pdf


def test_save_as_pdf_writes_the_whole_file_for_its_owner_only(
    qtbot, report, tmp_path, monkeypatch
) -> None:
    printable, pdf, _resident = report
    folder = tmp_path / "reports"
    folder.mkdir()
    offered = []

    def choose(_parent, _title, start, _filter):
        offered.append(start)
        return str(folder / "riverside-november"), "PDF documents (*.pdf)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", choose)
    saved = printing.save_as_pdf(None, printable, pdf)
    assert offered[0].endswith("gp-access-report-y01234-2026-11-01-to-2026-11-30.pdf")
    assert saved == folder / "riverside-november.pdf"
    assert saved.read_bytes() == pdf
    assert os.listdir(folder) == ["riverside-november.pdf"]  # no part-written file left
    if os.name == "posix":
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_save_as_pdf_into_a_missing_folder_says_so(qtbot, report, tmp_path, monkeypatch) -> None:
    printable, pdf, _resident = report
    target = tmp_path / "gone" / "report.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_: (str(target), ""))
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text: warnings.append(title))
    assert printing.save_as_pdf(None, printable, pdf) is None
    assert warnings == ["Not saved"] and not target.parent.exists()


# -- in the main window -------------------------------------------------------------------------


def reports_page(qtbot, window: MainWindow) -> ReportsPage:
    index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == "Rep&orts")
    window.tabs.setCurrentIndex(index)
    page = window.tabs.widget(index)
    qtbot.waitUntil(lambda: not window.busy.isVisible())
    return page


def choose(page: ReportsPage, key: str) -> None:
    page.document.setCurrentIndex(page.document.findData(key))


def set_period(page: ReportsPage, first: date, last: date) -> None:
    page.form.fields["first_day"].setDate(QDate(first))
    page.form.fields["last_day"].setDate(QDate(last))


def shown_preview(qtbot, window: MainWindow) -> printing.PreviewDialog:
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), printing.PreviewDialog))
    return QApplication.activeModalWidget()


def test_reports_page_previews_a_gp_access_report(
    qtbot, home: Home, open_window, tmp_path: Path
) -> None:
    resident = a_session(home)
    window = open_window()
    page = reports_page(qtbot, window)
    assert page.form.value("first_day") == date(2026, 10, 1)  # last month, by default
    assert page.form.value("last_day") == date(2026, 10, 31)
    assert page.practice.currentText() == "Riverside Surgery (Y01234)"
    assert not page.form.fields["resident_id"].isVisibleTo(page)
    set_period(page, *NOVEMBER)
    press(qtbot, page, "Preview")

    dialog = shown_preview(qtbot, window)
    assert "Riverside Surgery, 01/11/2026 to 30/11/2026" in dialog.windowTitle()
    assert resident.full_name in text_of(dialog.document)
    preview = dialog.findChild(QPrintPreviewWidget)
    qtbot.waitUntil(lambda: preview.pageCount() == dialog.document.pageCount())
    printed = tmp_path / "printed.pdf"
    dialog.paint(pdf_printer(printed, dialog.document))
    assert len(PdfReader(printed).pages) == dialog.document.pageCount()
    dialog.close()

    (entry,) = print_reports_entries(home)
    assert entry.details["document"] == "gp_access_report"
    assert (entry.details["first_day"], entry.details["sessions"]) == ("2026-11-01", 1)


def test_reports_page_prints_a_staff_list(qtbot, home: Home, open_window, print_dialog) -> None:
    a_session(home)
    window = open_window()
    page = reports_page(qtbot, window)
    choose(page, "staff")
    set_period(page, *NOVEMBER)
    press(qtbot, page, "Print…")
    qtbot.waitUntil(lambda: len(print_dialog) == 1)
    ((text, pages, printed),) = print_dialog
    assert "Authorised staff: Riverside Surgery, 01/11/2026 to 30/11/2026" in text
    assert len(PdfReader(printed).pages) == pages
    (entry,) = print_reports_entries(home)
    assert entry.details["document"] == "staff_list"


def test_reports_page_shows_a_wrong_period_beside_the_date(qtbot, home: Home, open_window) -> None:
    window = open_window()
    page = reports_page(qtbot, window)
    set_period(page, date(2026, 11, 30), date(2026, 11, 1))
    press(qtbot, page, "Preview")
    error = page.form.errors["last_day"]
    qtbot.waitUntil(error.isVisible)
    assert error.text() == "A date on or after the first day"
    assert QApplication.activeModalWidget() is None and print_reports_entries(home) == []

    choose(page, "staff")  # another document: the old error goes
    assert not error.isVisible()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("access", "GP record access report: Riverside Surgery, 01/11/2026 to 30/11/2026"),
        ("staff", "Authorised staff: Riverside Surgery"),
        ("register", "Consent register on 21/11/2026"),
        ("history", "GP record access history: Given1 Family1"),
        ("blank_form", "Consent to share GP records"),
    ],
)
def test_reports_page_saves_each_document(
    qtbot, home: Home, open_window, tmp_path, monkeypatch, key: str, expected: str
) -> None:
    a_session(home)
    target = tmp_path / "document.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_: (str(target), ""))
    window = open_window()
    page = reports_page(qtbot, window)
    choose(page, key)
    set_period(page, *NOVEMBER)
    press(qtbot, page, "Save as PDF…")
    qtbot.waitUntil(lambda: page.status.text() == f"Saved {target}")
    assert expected in pdf_text(target)


def test_reports_page_prints_a_new_recovery_sheet_only_for_this_database_s_code(
    qtbot, home: Home, open_window
) -> None:
    window = open_window()
    page = reports_page(qtbot, window)
    choose(page, "recovery")
    field = page.form.fields[recovery.FIELD]
    assert field.isVisibleTo(page) and not page.form.fields["first_day"].isVisibleTo(page)
    other = recovery.encode(bytes(32))  # a well-formed code that opens nothing here
    qtbot.keyClicks(field, other)
    press(qtbot, page, "Preview")
    qtbot.waitUntil(lambda: page.form.errors[recovery.FIELD].isVisible())
    assert "does not open it" in page.form.errors[recovery.FIELD].text()
    field.setText(recovery.encode(home.ctx.vault._key))  # the code the home was given
    press(qtbot, page, "Preview")
    dialog = shown_preview(qtbot, window)
    assert "Recovery sheet" in text_of(dialog.document)
    dialog.close()


def test_nurse_previews_a_consent_form_filled_in_for_the_resident(
    qtbot, home: Home, open_window
) -> None:
    resident = home.add_resident()
    home.log_in(home.add_nurse())
    window = open_window()
    page, panel = window.residents, window.residents.panel
    assert not panel.consent_form_button.isEnabled()  # nobody chosen yet
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    page.table.selectRow(0)
    assert not any(
        b.accessibleName() == "Access history (SAR)" for b in panel.findChildren(QPushButton)
    )
    press(qtbot, panel, "Print consent form")

    dialog = shown_preview(qtbot, window)
    text = text_of(dialog.document)
    assert f"Consent to share GP records: {resident.full_name}" in text
    assert format_nhs_number(resident.nhs_number) in text
    dialog.close()
    assert print_reports_entries(home) == []  # an ordinary read: nothing disclosed


def test_manager_previews_a_residents_access_history(qtbot, home: Home, open_window) -> None:
    resident = a_session(home)
    window = open_window()
    window.residents.table.selectRow(0)
    press(qtbot, window.residents.panel, "Access history (SAR)")
    dialog = shown_preview(qtbot, window)
    assert f"GP record access history: {resident.full_name}" in text_of(dialog.document)
    dialog.close()
    (entry,) = print_reports_entries(home)
    assert (entry.details["document"], entry.resident_id) == ("resident_history", resident.id)


def test_manager_previews_an_agreement_with_the_signing_key_for_the_practice(
    qtbot, home: Home, open_window
) -> None:
    window = open_window()
    index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == "&GP practices")
    window.tabs.setCurrentIndex(index)
    page = window.tabs.widget(index)
    qtbot.waitUntil(lambda: page.agreements.source.rowCount() == 1)
    page.agreements.selectRow(0)
    press(qtbot, page, "Print agreement…")
    dialog = shown_preview(qtbot, window)
    text = text_of(dialog.document)
    assert "Data sharing agreement: Rose Court Care Home and Riverside Surgery" in text
    assert reports.home_fingerprint(home.ctx) in text
    dialog.close()
    (entry,) = print_reports_entries(home)
    assert (entry.details["document"], entry.details["agreement_id"]) == (
        "data_sharing_agreement",
        1,
    )


def test_manager_previews_the_dpia_pack_and_saves_it_for_editing(
    qtbot, home: Home, open_window, tmp_path: Path, monkeypatch
) -> None:
    window = open_window()
    index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == "&GP practices")
    window.tabs.setCurrentIndex(index)
    page = window.tabs.widget(index)
    qtbot.waitUntil(lambda: page.agreements.source.rowCount() == 1)
    page.agreements.selectRow(0)
    press(qtbot, page, "DPIA pack…")
    dialog = shown_preview(qtbot, window)
    text = text_of(dialog.document)
    assert "Data protection impact assessment: sharing GP records with Riverside Surgery" in text
    assert reports.home_fingerprint(home.ctx) in text
    dialog.close()

    offered = []

    def choose(_parent, _title, start, _filter):
        offered.append(start)
        return str(tmp_path / "riverside-dpia"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", choose)
    press(qtbot, page, "Save DPIA for editing…")
    target = tmp_path / "riverside-dpia.docx"
    qtbot.waitUntil(lambda: page.status.text() == f"Saved {target}")
    assert offered[0].endswith("dpia-y01234-2026-01-01.docx")
    assert docx.Document(str(target)).paragraphs[0].text.startswith("Data protection impact")
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    printed = [(e.details["document"], e.details["editable"]) for e in print_reports_entries(home)]
    assert printed == [("dpia_pack", False), ("dpia_pack", True)]


def test_a_carer_has_no_consent_form_button(qtbot, home: Home, open_window) -> None:
    home.add_resident()
    home.log_in(home.add_staff([Role.CARER.value]))
    window = open_window()
    qtbot.waitUntil(lambda: window.residents.model.rowCount() == 1)
    window.residents.table.selectRow(0)
    assert not window.residents.panel.consent_form_button.isVisibleTo(window)


def test_cancelling_a_long_build_discloses_and_records_nothing(
    qtbot, home: Home, open_window, monkeypatch
) -> None:
    a_session(home)
    window = open_window()
    opened = []
    monkeypatch.setattr(printing, "preview", lambda *args: opened.append(args))
    gate = threading.Event()
    real = printing.access_report(practices.list_practices(home.ctx)[0], *NOVEMBER)

    def held_at_first_count(ctx, out, progress):
        def counted(done: int, total: int) -> None:
            progress(done, total)
            gate.wait(timeout=30)  # until the test has pressed Cancel
            progress(done, total)

        return real.write(ctx, out, counted)

    printable = printing.Printable(real.name, real.about, real.file_name, held_at_first_count)
    printing.build(window, window.background, printable, printing.preview)
    progress = window.findChild(QProgressDialog)
    assert progress.findChild(QPushButton) is None  # nothing to cancel until rows are counted
    qtbot.waitUntil(lambda: progress.maximum() > 0)
    cancel = progress.findChild(QPushButton)
    assert cancel.text() == "&Cancel"
    cancel.click()
    gate.set()
    qtbot.waitUntil(lambda: not window.property("building"))
    assert opened == [] and print_reports_entries(home) == []


# -- the first-run wizard -----------------------------------------------------------------------


def test_wizard_prints_the_recovery_sheet_as_the_new_manager(
    qtbot, db_path: Path, print_dialog
) -> None:
    from carehome_share.gui.startup import SetupWizard

    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.show()
    _fill_home_and_manager(qtbot, wizard)
    press(qtbot, wizard.currentPage(), "Print recovery sheet…")

    ((text, pages, printed),) = print_dialog
    assert "Recovery sheet" in text
    assert all(group in text for group in wizard.recovery_code.split("-"))
    assert len(PdfReader(printed).pages) == pages == 1

    entries = audit.entries(wizard.vault.conn, last=4)
    assert [(e.action, e.actor_username) for e in entries] == [
        ("log_in", "mary"),
        ("print_reports", "mary"),
        ("record_print_outcome", "mary"),
        ("log_out", "mary"),
    ]
    assert entries[1].details == {"document": "recovery_sheet"}
    assert entries[2].details == {
        "document_seq": entries[1].seq,
        "document": "recovery_sheet",
        "outcome": "printed",
    }
    wizard.vault.close()


def test_wizard_previews_and_saves_the_sheet_and_with_no_printer_says_what_to_do(
    qtbot, db_path: Path, tmp_path: Path, monkeypatch
) -> None:
    from carehome_share.gui.startup import SetupWizard

    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.resize(1366 // 2, 600)
    wizard.show()
    _fill_home_and_manager(qtbot, wizard)
    previewed = []
    monkeypatch.setattr(printing.PreviewDialog, "exec", lambda d: previewed.append(d) or d.reject())
    press(qtbot, wizard.currentPage(), "Preview…")
    assert previewed[0].windowTitle() == "Print preview: Recovery sheet"
    target = tmp_path / "usb" / "recovery-sheet.pdf"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args: (str(target), ""))
    press(qtbot, wizard.currentPage(), "Save as PDF…")
    assert all(group in pdf_text(target) for group in wizard.recovery_code.split("-"))
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600

    warned = []
    monkeypatch.setattr(QPrintDialog, "exec", lambda _dialog: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(printing, "paint_pages", lambda *_args: False)  # no printer
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text: warned.append(text))
    press(qtbot, wizard.currentPage(), "Print recovery sheet…")
    assert warned == [printing.NO_PRINTER]
    assert warned[0].startswith("No printer could be started. Save the document as PDF")
    monkeypatch.setattr(QPrintDialog, "exec", lambda _dialog: QDialog.DialogCode.Rejected)
    press(qtbot, wizard.currentPage(), "Print recovery sheet…")

    outcomes = [
        e.details["outcome"]
        for e in audit.entries(wizard.vault.conn)
        if e.action == "record_print_outcome"
    ]
    assert outcomes == ["cancelled", "saved as PDF", "failed", "cancelled"]
    wizard.vault.close()


def test_reports_page_exports_the_period_as_fhir(
    qtbot, home: Home, open_window, tmp_path: Path, monkeypatch
) -> None:
    resident = a_session(home)
    window = open_window()
    page = reports_page(qtbot, window)
    set_period(page, *NOVEMBER)
    assert page.fhir_button.isVisibleTo(page)
    target = tmp_path / "export"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args: (str(target), ""))
    page.fhir_button.click()
    qtbot.waitUntil(lambda: page.status.text().startswith("Saved"))
    bundle = json.loads(target.with_suffix(".json").read_text(encoding="utf-8"))
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert bundle["type"] == "collection" and kinds.count("AuditEvent") == 1
    assert resident.nhs_number in json.dumps(bundle)
    choose(page, "register")
    assert not page.fhir_button.isVisibleTo(page)
