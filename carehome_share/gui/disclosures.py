"""The Disclosures page: one-off requests for residents' information from others. Anyone who
receives one logs it here; the manager and the IG lead see every request, record the checks
(identity, the written request kept inside the database), decide, and print the register."""

from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from carehome_share.domain.disclosure import (
    DisclosureRequest,
    LawfulBasis,
    Outcome,
    Requester,
)
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.permissions import PERMISSIONS
from carehome_share.domain.validation import uk_date
from carehome_share.gui import printing
from carehome_share.gui.forms import FormDialog, attempt, date_edit, report_error, text_box
from carehome_share.gui.models import Column, RowsModel, uk_day
from carehome_share.gui.tasks import Background
from carehome_share.gui.widgets import Table, button, enable_with, open_dialog, row_of
from carehome_share.services import disclosures, residents
from carehome_share.services.context import Context

DECIDERS = PERMISSIONS["decide_disclosure"]
REGISTER_DAYS = 365  # the register printed from the page: the last twelve months


def _status(r: DisclosureRequest) -> str:
    if r.decision is not None:
        return r.decision.outcome.label
    due = f", reply due {uk_day(r.due_on)}" if r.due_on else ""
    return f"Awaiting a decision{due}"


class DisclosuresModel(RowsModel):
    NUMBER, RECEIVED, FROM, ASKED, BASIS, STATUS = range(6)
    COLUMNS: ClassVar[list[Column]] = [
        Column("No.", lambda r: str(r.id), lambda r: r.id),
        Column("Received", lambda r: uk_day(r.received_on), lambda r: str(r.received_on)),
        Column("From", lambda r: f"{r.organisation} ({r.requester.label.lower()})"),
        Column("Asked for", lambda r: r.asked.splitlines()[0]),
        Column("Basis claimed", lambda r: r.basis.value.replace("_", " ")),
        Column("Status", _status),
    ]


def describe(r: DisclosureRequest) -> str:
    """The request and its decisions in plain words, for the page's detail pane."""
    lines = [
        f"Request {r.id}, received {uk_day(r.received_on)} from {r.person}, {r.organisation}"
        f"{f' (ref. {r.reference})' if r.reference else ''}; logged by {r.logged_by}.",
        f"Asked for: {r.asked}",
        f"Why: {r.why}",
        f"Basis claimed: {r.basis.label}",
        f"Identity: {r.identity_check or 'NOT verified yet'}",
        "In writing" + (f" (kept: {r.document_name})" if r.document_name else "")
        if r.in_writing
        else "NOT in writing yet",
    ]
    for d in r.decisions:
        lines.append(f"{d.outcome.label} on {uk_day(uk_date(d.decided_at))} by {d.decided_by}.")
        lines.append(f"  Reasons: {d.reasons}")
        if d.outcome.discloses:
            lines.append(f"  Disclosed: {d.disclosed} (sent: {d.sent_how})")
    return "\n".join(lines)


class DisclosuresPage(QWidget):
    def __init__(self, ctx: Context, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.background = ctx, background
        assert ctx.login is not None
        self.decides = ctx.login.role in DECIDERS
        log = button("&Log a request…", lambda: open_dialog(LogDialog(ctx, self), self.reload))
        column = QVBoxLayout(self)
        intro = QLabel(
            "Requests for a resident's information from outside the GP agreement (police, "
            "council, solicitor, relative, insurer...). Log each one as it arrives; the manager "
            "or the information governance lead checks who is asking and decides."
        )
        intro.setWordWrap(True)
        column.addWidget(intro)
        self.table = Table(DisclosuresModel(self), "Disclosure requests", DisclosuresModel.ASKED)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setAccessibleName("The chosen request")
        if not self.decides:
            column.addLayout(row_of(log))
            column.addStretch()
            return
        checks = button("Record &checks…", lambda: self._with_chosen(ChecksDialog))
        letter = button("&Attach the letter…", self._attach)
        decide = button("Deci&de…", lambda: self._with_chosen(DecideDialog))
        register = button("Print the &register…", self._print_register)
        for push in (checks, letter, decide):  # a decided request is closed
            enable_with(self.table, push, lambda r: r.decision is None)
        self.table.selection_changed.connect(self._show_chosen)
        column.addLayout(row_of(log, checks, letter, decide, register))
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        column.addWidget(split, 1)

    def reload(self) -> None:
        if not self.decides:
            return
        chosen = self.table.chosen()
        rows = attempt(self, lambda: disclosures.list_requests(self.ctx))
        self.table.source.set_rows(rows or [])
        if chosen is not None:
            self.table.select_where(lambda r: r.id == chosen.id)

    def _show_chosen(self) -> None:
        chosen = self.table.chosen()
        self.detail.setPlainText(describe(chosen) if chosen else "")

    def _with_chosen(self, dialog: type[FormDialog]) -> None:
        chosen = self.table.chosen()
        if chosen is not None:
            open_dialog(dialog(self.ctx, chosen, self), self.reload)  # type: ignore[call-arg]

    def _attach(self) -> None:
        chosen = self.table.chosen()
        if chosen is None:
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        picked, _filter = QFileDialog.getOpenFileName(self, "The written request", folder)
        if not picked:
            return
        try:
            data = Path(picked).read_bytes()
        except OSError as exc:
            report_error(self, exc, "Not attached")
            return
        name = Path(picked).name
        if attempt(
            self, lambda: disclosures.attach_request_document(self.ctx, chosen.id, name, data)
        ):
            self.reload()

    def _print_register(self) -> None:
        today = uk_date(self.ctx.now())
        printable = printing.disclosure_register(today - timedelta(days=REGISTER_DAYS - 1), today)
        printing.build(self, self.background, printable, printing.preview)


class LogDialog(FormDialog):
    """A request as it arrived: who, about whom, what and why, on what basis."""

    def __init__(self, ctx: Context, parent: QWidget) -> None:
        super().__init__("Log a request for a resident's information", "&Log request", parent)
        self.ctx = ctx
        self.setMinimumWidth(560)
        form = self.form
        form.add("requester", "&From:", _combo(Requester))
        form.add("organisation", "&Organisation:", QLineEdit())
        form.add("person", "&Person asking:", QLineEdit())
        form.add("reference", "Their &reference:", QLineEdit())
        about = QComboBox()
        for listing in attempt(self, lambda: residents.find_residents(ctx)) or []:
            r = listing.resident
            about.addItem(
                f"{r.family_name}, {r.given_name} · NHS {format_nhs_number(r.nhs_number)}", r.id
            )
        form.add("resident_id", "&About:", about)
        form.add("asked", "&Asked for:", text_box())
        form.add("why", "&Why:", text_box(), "Why they say they need it")
        form.add("basis", "&Basis claimed:", _combo(LawfulBasis))
        form.add("received_on", "Recei&ved on:", date_edit(uk_date(ctx.now())))
        form.add(
            "identity_check", "&Identity:", QLineEdit(), "How it was verified; empty if not yet"
        )
        form.add("in_writing", "", QCheckBox("Received in &writing"))
        form.add("due_on", "Their &deadline:", date_edit(blank="none given"))

    def submit(self) -> DisclosureRequest:
        value = self.form.value
        chosen = value("resident_id")
        return disclosures.log_request(
            self.ctx,
            requester=value("requester"),
            organisation=value("organisation"),
            person=value("person"),
            reference=value("reference"),
            resident_ids=[chosen] if chosen is not None else [],
            asked=value("asked"),
            why=value("why"),
            basis=value("basis"),
            received_on=value("received_on"),
            identity_check=value("identity_check"),
            in_writing=value("in_writing"),
            due_on=value("due_on"),
        )


class ChecksDialog(FormDialog):
    def __init__(self, ctx: Context, request: DisclosureRequest, parent: QWidget) -> None:
        super().__init__(f"Checks on request {request.id}", "&Save checks", parent)
        self.ctx, self.request = ctx, request
        self.form.add(
            "identity_check",
            "&Identity:",
            QLineEdit(request.identity_check),
            "How the requester's identity was verified (warrant card seen, called back on a "
            "number found independently...)",
        )
        writing = QCheckBox("The request is in &writing")
        writing.setChecked(request.in_writing)
        self.form.add("in_writing", "", writing)

    def submit(self) -> DisclosureRequest:
        return disclosures.record_checks(
            self.ctx,
            self.request.id,
            identity_check=self.form.value("identity_check"),
            in_writing=self.form.value("in_writing"),
        )


class DecideDialog(FormDialog):
    def __init__(self, ctx: Context, request: DisclosureRequest, parent: QWidget) -> None:
        super().__init__(
            f"Decide request {request.id}: {request.organisation}", "&Record decision", parent
        )
        self.ctx, self.request = ctx, request
        self.setMinimumWidth(560)
        form = self.form
        form.add("outcome", "&Decision:", _combo(Outcome))
        basis = _combo(LawfulBasis)
        basis.setCurrentIndex(basis.findData(request.basis.value))
        form.add("basis", "&Basis relied on:", basis)
        form.add("reasons", "&Reasons:", text_box(), "Kept on record whatever the decision")
        form.add("disclosed", "What was di&sclosed:", text_box(), "Exactly what, when sharing")
        form.add("sent_how", "Sent &how:", QLineEdit(), "Secure email, by hand, recorded post...")
        form.add("sent_on", "Sent &on:", date_edit(blank="not sent yet"))
        form.add(
            "emergency",
            "&Emergency:",
            text_box(50),
            "Only when someone's life is at risk: why it could not wait for the checks",
        )

    def submit(self) -> DisclosureRequest:
        value = self.form.value
        return disclosures.decide(
            self.ctx,
            self.request.id,
            value("outcome"),
            reasons=value("reasons"),
            basis=value("basis"),
            emergency=value("emergency"),
            disclosed=value("disclosed"),
            sent_how=value("sent_how"),
            sent_on=value("sent_on"),
        )


def _combo(enum: Any) -> QComboBox:
    box = QComboBox()
    for member in enum:
        box.addItem(member.label, member.value)
    return box
