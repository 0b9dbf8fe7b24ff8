"""The resident list (search by name, room or NHS number; current residents first) and the
resident panel with the big "Open GP record session" action and the resident's consent form."""

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from carehome_share.domain.consent import consent_state, late_note, overtaken_note
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import Role
from carehome_share.domain.permissions import PERMISSIONS
from carehome_share.domain.validation import uk_date
from carehome_share.gui import printing
from carehome_share.gui.forms import attempt, heading, report_error, sentence
from carehome_share.gui.models import ResidentsModel, uk_day, uk_time
from carehome_share.gui.tasks import Background
from carehome_share.gui.widgets import Table, button, row_of
from carehome_share.services import access, residents
from carehome_share.services.context import Context
from carehome_share.services.residents import ResidentDetails
from carehome_share.store.repo import ResidentListing

CLINICAL_ROLES = {Role.NURSE, Role.MANAGER}
REFUSED_STYLE = "color: #b00020; font-weight: bold;"


class ResidentPanel(QWidget):
    """One resident: residency, GP practice, the consent in force and who gave it."""

    open_session = Signal()

    def __init__(self, ctx: Context, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.background = ctx, background
        self.details: ResidentDetails | None = None
        self.listing: ResidentListing | None = None
        self.name = heading("Choose a resident")
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts.setAccessibleName("Resident details")
        self.consent = QLabel()
        self.consent.setWordWrap(True)
        self.consent.setAccessibleName("Consent in force")
        self.open_button = QPushButton("Open GP record session")
        self.open_button.setAccessibleName("Open GP record session")
        self.open_button.setMinimumHeight(56)
        font = self.open_button.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.open_button.setFont(font)
        self.open_button.clicked.connect(self.open_session)
        self.why_not = QLabel()
        self.why_not.setWordWrap(True)
        self.actions = QHBoxLayout()  # the manager's page adds its buttons here
        self.consent_form_button = button("Print consent &form", self.print_consent_form)
        self.documents = row_of(self.consent_form_button)  # the manager adds the access history
        layout = QVBoxLayout(self)
        for widget in (self.name, self.facts, self.consent):
            layout.addWidget(widget)
        layout.addLayout(self.actions)
        layout.addLayout(self.documents)
        layout.addStretch()
        layout.addWidget(self.why_not)
        layout.addWidget(self.open_button)
        self.show_listing(None)

    @property
    def role(self) -> Role | None:
        return self.ctx.login.role if self.ctx.login else None

    def show_listing(self, listing: ResidentListing | None) -> None:
        self.listing, self.details = listing, None
        is_nurse = self.role is Role.NURSE
        self.open_button.setVisible(True)
        self.open_button.setEnabled(False)
        self.consent_form_button.setVisible(self.role in PERMISSIONS["print_consent_form"])
        self.consent_form_button.setEnabled(False)
        self.why_not.setStyleSheet("")
        self.why_not.setText(
            ""
            if is_nurse
            else "Only a registered nurse, logged in as a nurse, can open a GP record session."
        )
        if listing is None:
            self.name.setText("Choose a resident")
            self.facts.setText(
                "Search by name, room or NHS number, then pick a resident from the list."
            )
            self.consent.clear()
            return
        r = listing.resident
        self.name.setText(r.full_name)
        facts = [
            f"NHS number {format_nhs_number(r.nhs_number)}",
            f"Born {uk_day(r.date_of_birth)}",
            f"Room {r.room or '-'}",
        ]
        if self.role not in CLINICAL_ROLES:
            self.facts.setText(
                " · ".join(facts) + ("\nResident now" if listing.current else "\nNot resident now")
            )
            self.consent.setText(
                "Consent and GP-record details are for nursing staff and the manager."
            )
            return
        details = attempt(self, lambda: residents.resident_details(self.ctx, r.id))
        if details is None:
            return
        self.details = details
        record = details.record
        stay = details.current_stay
        if stay:
            facts.append(
                f"Resident since {uk_time(stay.admitted_at)} ({stay.kind.value.replace('_', '-')})"
            )
        elif record.stays and record.stays[-1].discharged_at:
            facts.append(f"Not resident: discharged {uk_time(record.stays[-1].discharged_at)}")
        else:
            facts.append("Not resident: no admission recorded")
        if record.practice:
            phone = f", {record.practice.phone}" if record.practice.phone else ""
            facts.append(f"GP practice: {record.practice.name} ({record.practice.ods_code}{phone})")
        self.facts.setText("\n".join([" · ".join(facts[:3]), *facts[3:]]))
        self.consent.setText(consent_text(record, uk_date(self.ctx.now())))
        self.open_button.setEnabled(is_nurse)
        if is_nurse:
            self._show_refusals(r.id)
        self.consent_form_button.setEnabled(True)

    def _show_refusals(self, resident_id: int) -> None:
        """What would refuse a session, said before the nurse writes a justification. The
        button stays: asking anyway records the refusal and leads to the phone call."""
        reasons = attempt(self, lambda: access.preview_decision(self.ctx, resident_id))
        self.why_not.setStyleSheet(REFUSED_STYLE if reasons else "")
        if reasons:
            listed = "\n".join(f"• {sentence(r)}" for r in reasons)
            self.why_not.setText(
                f"A GP record session would be refused now:\n{listed}\n"
                "Phone the GP practice instead: the button below records the refusal and "
                "lets you log the call."
            )

    def refresh(self) -> None:
        if self.listing is not None:
            self.show_listing(self.listing)

    def print_consent_form(self) -> None:
        """The consent form filled in for this resident, in the print preview."""
        assert self.details is not None
        printable = printing.consent_form(self.details.record.resident)
        printing.build(self.consent_form_button, self.background, printable, printing.preview)


def consent_text(record, today) -> str:
    state = consent_state(record.consents, today)
    overtaken = overtaken_note(state)
    if not state.in_force:
        assert state.problem is not None
        text = f"<b>No consent in force</b>: {state.problem.text}"
    else:
        latest = state.latest
        assert latest is not None
        who = latest.decided_by.label
        if latest.representative_name:
            who += f" ({latest.representative_name})"
        text = f"<b>Consent in force</b>: given by {who} on {uk_day(latest.decided_on)}"
        if latest.entered_late:
            text += f" ({late_note(latest)})"
        if latest.expires_on:
            text += f"; valid until {uk_day(latest.expires_on)} (its last day)"
        if state.review_due:
            text += f". <b>Review was due {uk_day(latest.review_on)}</b>"
    return text + (f". {sentence(overtaken)}." if overtaken else ".")


class ResidentsPage(QWidget):
    """Search and list on the left, the chosen resident on the right."""

    done = Signal(str)  # what was just done, for the status bar

    def __init__(self, ctx: Context, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.background = ctx, background
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search by name, room or NHS number")
        self.search.setAccessibleName("Search residents")
        self.search.setClearButtonEnabled(True)
        self.model = ResidentsModel(self)
        self.table = Table(self.model, "Residents", stretch=ResidentsModel.NAME)
        self.proxy = self.table.proxy
        self.table.sortByColumn(ResidentsModel.STATUS, Qt.SortOrder.AscendingOrder)
        self.table.selection_changed.connect(self._selected)
        self.panel = ResidentPanel(ctx, background)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.reload)
        self.search.textChanged.connect(self._debounce.start)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.search)
        column.addWidget(self.table)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        QVBoxLayout(self).addWidget(splitter)
        self.setTabOrder(self.search, self.table)
        # the keyboard path: Return in the search goes to the list, Return on a resident
        # presses the panel's main action
        self.search.returnPressed.connect(self._to_list)
        self.table.activated.connect(self._main_action)

    def _to_list(self) -> None:
        self._debounce.stop()
        self.reload()  # what was typed, now rather than after the pause
        self.table.setFocus()

    def _main_action(self) -> None:
        if self.panel.open_button.isEnabled():
            self.panel.open_button.click()

    def show_resident(self, resident_id: int) -> None:
        """Find one resident by their NHS number and choose them (from a Needs attention row or
        the first steps)."""
        details = attempt(self, lambda: residents.resident_details(self.ctx, resident_id))
        if details is not None:
            self.search.setText(format_nhs_number(details.record.resident.nhs_number))
            self._debounce.stop()
            self.reload(resident_id)
            self.table.setFocus()

    def reload(self, chosen: int | None = None) -> None:
        """The residents the search finds, keeping the one chosen (or choosing `chosen`)."""
        text = self.search.text()
        if chosen is None and self.panel.listing:
            chosen = self.panel.listing.resident.id
        self.background.run(
            lambda c: residents.find_residents(c, text),
            lambda rows: self._show(rows, chosen),
            lambda exc: report_error(self, exc),
        )

    def _show(self, rows: list[ResidentListing], chosen: int | None) -> None:
        self.model.set_rows(rows)
        self.table.sortByColumn(ResidentsModel.STATUS, Qt.SortOrder.AscendingOrder)
        match = next((i for i, r in enumerate(rows) if r.resident.id == chosen), None)
        if match is None and self.table.hasFocus() and rows:
            match = self.proxy.mapToSource(self.proxy.index(0, 0)).row()  # the top one
        if match is not None:
            self.table.selectRow(self.proxy.mapFromSource(self.model.index(match, 0)).row())
            self.panel.show_listing(rows[match])
        else:
            self.panel.show_listing(None)

    def _selected(self) -> None:
        chosen = self.table.chosen()
        if chosen is not None and chosen is not self.panel.listing:
            self.panel.show_listing(chosen)
