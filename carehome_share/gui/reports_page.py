"""The manager's Reports page: choose a document and what it covers, then preview, print or save
it as PDF. Each document's service checks what it covers; a mistake shows beside its field."""

from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QVBoxLayout, QWidget

from carehome_share.domain.errors import CarehomeError, ValidationError
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.validation import uk_date
from carehome_share.gui import printing
from carehome_share.gui.forms import (
    Form,
    attempt,
    date_edit,
    error_label,
    heading,
    password_field,
    report_error,
)
from carehome_share.gui.printing import Printable
from carehome_share.gui.tasks import Background
from carehome_share.gui.widgets import button, row_of
from carehome_share.interop.fhir import write_bundle
from carehome_share.services import fhir_export, practices, residents
from carehome_share.services.context import Context
from carehome_share.store import recovery
from carehome_share.store.files import atomic_output
from carehome_share.store.repo import ResidentListing

PERIOD = ("ods_code", "first_day", "last_day")
# key: (name in the list, what it is for, the fields it needs)
DOCUMENTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "access": (
        "GP access report",
        "Every time a nurse opened one of the practice's records in the period, every refused "
        "attempt and every call to the practice: for the practice to review and sign.",
        PERIOD,
    ),
    "staff": (
        "Authorised staff list",
        "The nurses who may open the practice's records, their NMC PINs and check dates, and "
        "who joined or left in the period.",
        PERIOD,
    ),
    "register": (
        "Consent register",
        "Each resident with the consent decision in force today, who gave it and when it is "
        "due for review.",
        ("include_former",),
    ),
    "history": (
        "Access history (subject access request)",
        "Everything recorded about one resident's GP record: stays, consent decisions, every "
        "access, refusal and call.",
        ("resident_id",),
    ),
    "blank_form": (
        "Blank consent form",
        "To fill in by hand. A form filled in for a resident is on the resident's panel.",
        (),
    ),
    "recovery": (
        "Recovery sheet (for the safe)",
        "The recovery code in large print, to replace a lost or damaged sheet: type the code, "
        "which is checked against this database before anything is printed.",
        (recovery.FIELD,),
    ),
}


class ReportsPage(QWidget):
    def __init__(self, ctx: Context, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.background = ctx, background
        self.banner = error_label()
        self.form = Form()
        first_about = next(iter(DOCUMENTS.values()))[1]
        self.document = self.form.add("document", "&Document:", QComboBox(), first_about)
        for key, (name, _about, _fields) in DOCUMENTS.items():
            self.document.addItem(name, key)
        self.practice = self.form.add("ods_code", "GP pra&ctice:", QComboBox())
        today = uk_date(ctx.now())
        last = today.replace(day=1) - timedelta(days=1)  # last month, the usual review
        for name, label, day in (
            ("first_day", "Fro&m:", last.replace(day=1)),
            ("last_day", "&To:", last),
        ):
            self.form.add(name, label, date_edit(day)).setMaximumWidth(160)
        which = self.form.add("include_former", "&Which residents:", QComboBox())
        which.addItem("Current residents", False)
        which.addItem("Everyone, former residents too", True)
        self.resident = self.form.add("resident_id", "Reside&nt:", QComboBox())
        self.resident.setMaxVisibleItems(20)
        self.form.add(recovery.FIELD, "Recovery co&de:", password_field())
        self.status = QLabel()
        self.status.setAccessibleName("Report status")
        self.status.setWordWrap(True)
        column = QWidget()
        column.setMaximumWidth(640)
        layout = QVBoxLayout(column)
        layout.addWidget(heading("Printed documents"))
        layout.addWidget(self.banner)
        layout.addWidget(self.form)
        layout.addLayout(
            row_of(
                button("Pre&view", lambda: self.make(printing.preview)),
                button("&Print…", lambda: self.make(printing.print_document)),
                button("Save as PD&F…", lambda: self.make(self._save)),
            )
        )
        self.fhir_button = button("Export the period as FHIR &JSON…", self.export_fhir)
        self.fhir_button.setToolTip(
            "Consent decisions, record accesses, refusals and GP calls in the period, for the "
            "chosen practice, as an HL7 FHIR R4 Bundle for the practice's or the ICB's systems"
        )
        layout.addLayout(row_of(self.fhir_button))
        layout.addWidget(self.status)
        layout.addStretch()
        outer = QVBoxLayout(self)
        outer.addWidget(column)
        self.document.currentIndexChanged.connect(self._chosen)
        self._chosen()

    def _chosen(self) -> None:
        """Show what the chosen document is for, and only the fields it needs."""
        _name, about, needed = DOCUMENTS[self.document.currentData()]
        self.form.hints["document"].setText(about)
        self.form.clear_errors()
        for name in (*PERIOD, "include_former", "resident_id", recovery.FIELD):
            self.form.layout_.setRowVisible(self.form.fields[name].parentWidget(), name in needed)
        self.fhir_button.setVisible(needed == PERIOD)

    def reload(self) -> None:
        chosen = self.practice.currentData()
        listed = attempt(self, lambda: practices.list_practices(self.ctx)) or []
        self.practice.clear()
        for practice in listed:
            self.practice.addItem(f"{practice.name} ({practice.ods_code})", practice)
            if chosen is not None and practice.id == chosen.id:
                self.practice.setCurrentIndex(self.practice.count() - 1)
        self.background.run(
            lambda c: residents.find_residents(c, limit=1_000_000),
            self._show_residents,
            lambda exc: report_error(self, exc),
        )

    def _show_residents(self, rows: list[ResidentListing]) -> None:
        chosen = self.resident.currentData()
        self.resident.clear()
        for row in sorted(rows, key=lambda r: (r.resident.family_name, r.resident.given_name)):
            r = row.resident
            where = "resident" if row.current else "not resident now"
            self.resident.addItem(
                f"{r.family_name}, {r.given_name} · NHS {format_nhs_number(r.nhs_number)} · "
                f"{where}",
                r,
            )
            if chosen is not None and r.id == chosen.id:
                self.resident.setCurrentIndex(self.resident.count() - 1)

    def printable(self) -> Printable:
        """The chosen document as the form describes it."""
        key = self.document.currentData()
        value = self.form.value
        if key in ("access", "staff"):
            practice = value("ods_code")
            if practice is None:
                raise ValidationError("ods_code", "a GP practice: add one on the GP practices page")
            make = printing.access_report if key == "access" else printing.staff_list
            return make(practice, value("first_day"), value("last_day"))
        if key == "register":
            return printing.consent_register(value("include_former"))
        if key == "history":
            resident = value("resident_id")
            if resident is None:
                raise ValidationError("resident_id", "a resident: none is recorded yet")
            return printing.resident_history(resident)
        if key == "recovery":
            return printing.recovery_sheet(value(recovery.FIELD))
        return printing.consent_form(None)

    def make(self, then: printing.Action) -> None:
        self.form.clear_errors()
        self.banner.hide()
        self.status.clear()
        try:
            printable = self.printable()
        except ValidationError as exc:
            self._failed(exc)
            return
        printing.build(self, self.background, printable, then, self._failed)

    def export_fhir(self) -> None:
        """The period's consent and access audit as FHIR JSON: written whole or not at all."""
        self.form.clear_errors()
        practice = self.form.value("ods_code")
        first, last = self.form.value("first_day"), self.form.value("last_day")
        ods = practice.ods_code if practice else None
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        name = f"fhir-{ods or 'all'}-{first:%Y-%m-%d}-{last:%Y-%m-%d}.json"
        chosen, _filter = QFileDialog.getSaveFileName(
            self, "Export as FHIR JSON", str(Path(folder, name)), "FHIR JSON (*.json)"
        )
        if not chosen:
            return
        target = Path(chosen) if Path(chosen).suffix else Path(chosen).with_suffix(".json")

        def work(c: Context) -> int:
            with atomic_output(target) as out:
                return fhir_export.export_fhir(c, first, last, ods, lambda e: write_bundle(e, out))

        self.background.run(
            work,
            lambda count: self.status.setText(f"Saved {target} ({count} FHIR resources)"),
            self._failed,
        )

    def _save(
        self, parent: QWidget, printable: Printable, pdf: bytes, record: printing.Recorder
    ) -> None:
        saved = printing.save_as_pdf(parent, printable, pdf, record)
        if saved is not None:
            self.status.setText(f"Saved {saved}")

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, ValidationError) and self.form.show_error(exc):
            return
        if isinstance(exc, CarehomeError):
            self.banner.setText(str(exc))
            self.banner.show()
        else:
            report_error(self, exc)
