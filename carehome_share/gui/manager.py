"""The registered manager's work: admissions, consent and the access history on the resident
panel, and the Staff, GP practices, Audit, Needs attention, Settings and Reports pages."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from carehome_share.domain.errors import CarehomeError, ValidationError
from carehome_share.domain.model import (
    Ability,
    Agreement,
    ConsentDecision,
    ConsentKind,
    DecidedBy,
    Practice,
    Purpose,
    Resident,
    ResidentRecord,
    Role,
    Section,
    Staff,
    StayKind,
)
from carehome_share.domain.validation import uk_date
from carehome_share.gui import printing, rotate_key
from carehome_share.gui.forms import (
    LAST_DAY_HINT,
    Checks,
    ClockTimeEdit,
    Form,
    FormDialog,
    ScrollingForm,
    attempt,
    date_edit,
    error_label,
    heading,
    password_field,
    report_error,
    sentence,
    text_box,
)
from carehome_share.gui.models import (
    ROW_ROLE,
    SORT_ROLE,
    AgreementsModel,
    AttentionModel,
    AuditModel,
    PracticesModel,
    StaffModel,
)
from carehome_share.gui.reports_page import ReportsPage
from carehome_share.gui.residents import ResidentsPage
from carehome_share.gui.tasks import Background
from carehome_share.gui.widgets import (
    CheckList,
    Table,
    button,
    enable_with,
    open_dialog,
    row_of,
)
from carehome_share.services import (
    audit,
    consent,
    exceptions,
    first_steps,
    practices,
    reports,
    residents,
    settings,
)
from carehome_share.services import staff as staff_service
from carehome_share.services.auth import USERNAME_RULE
from carehome_share.services.context import Context
from carehome_share.store.audit import AuditEntry, VerifyResult

AUDIT_ROWS = 5000  # the newest entries loaded into the viewer; the filters work on these


# -- residents: admission, discharge, consent --------------------------------------------------


def add_resident_actions(page: ResidentsPage, ctx: Context) -> "FirstSteps":
    """The manager's buttons on the resident panel; all but "Add resident" act on the resident
    selected in the list. Above the list, the first-steps checklist (returned, for its `go`)."""
    panel = page.panel
    selection = page.table.selectionModel()

    def changed() -> None:
        page.reload()
        panel.refresh()
        steps.refresh()

    def chosen_resident() -> Resident:
        assert panel.listing is not None
        return panel.listing.resident

    def chosen_record() -> ResidentRecord:
        assert panel.details is not None
        return panel.details.record

    # (text, dialog, enabled for the selected resident when, what the status bar says after)
    actions: list[
        tuple[str, Callable[[], QDialog], Callable[[], bool] | None, Callable[[Any], str]]
    ] = [
        (
            "Add res&ident",
            lambda: ResidentDialog(ctx, None, page),
            None,
            lambda d: f"Resident added: {d.result_value.full_name}.",
        ),
        (
            "Edit &details",
            lambda: ResidentDialog(ctx, chosen_resident(), page),
            lambda: True,
            lambda d: f"Details saved: {d.result_value.full_name}.",
        ),
        (
            "Ad&mit / readmit",
            lambda: AdmitDialog(ctx, chosen_resident(), page),
            lambda: not panel.listing.current,  # type: ignore[union-attr]
            lambda d: f"Admitted: {d.resident.full_name}.",
        ),
        (
            "Disc&harge",
            lambda: DischargeDialog(ctx, chosen_resident(), page),
            lambda: panel.listing.current,  # type: ignore[union-attr]
            lambda d: f"Discharged: {d.resident.full_name}.",
        ),
        (
            "Record &consent",
            lambda: ConsentDialog(ctx, chosen_resident(), page),
            lambda: panel.details is not None,
            decision_recorded,
        ),
        (
            "&Withdraw / objection",
            lambda: WithdrawDialog(ctx, chosen_record(), page),
            lambda: panel.details is not None,
            decision_recorded,
        ),
    ]

    def run(make: Callable[[], QDialog], said: Callable[[Any], str]) -> None:
        dialog = make()

        def done() -> None:
            changed()
            page.done.emit(said(dialog))

        open_dialog(dialog, done)

    grid = QGridLayout()
    needing_resident: list[tuple[QPushButton, Callable[[], bool]]] = []
    for i, (text, dialog, when, said) in enumerate(actions):
        push = button(text, lambda _=False, make=dialog, said=said: run(make, said))
        grid.addWidget(push, i // 3, i % 3)
        if when is not None:
            needing_resident.append((push, when))
    panel.actions.addLayout(grid)
    history = button(
        "Access histor&y (SAR)",
        lambda: printing.build(
            history,
            page.background,
            printing.resident_history(chosen_resident()),
            printing.preview,
        ),
    )
    panel.documents.insertWidget(1, history)
    needing_resident.append((history, lambda: panel.details is not None))

    def update() -> None:
        chosen = selection.hasSelection() and panel.listing is not None
        for push, when in needing_resident:
            push.setEnabled(chosen and when())

    selection.selectionChanged.connect(update)
    page.proxy.modelReset.connect(update)
    update()
    steps = FirstSteps(ctx, page, lambda: open_dialog(ResidentDialog(ctx, None, page), changed))
    page.layout().insertWidget(0, steps)
    return steps


class FirstSteps(QFrame):
    """A new home's first steps, each ticked when the records show it done, with a button to
    where it is done. Gone once all are done; Hide puts it away until the next login."""

    go = Signal(object)  # the kind of page (its class) a step is done on
    BUTTONS: ClassVar[dict[str, str]] = {
        "practice": "GP practices",
        "agreement": "GP practices",
        "staff": "Staff",
        "residents": "Add resident…",
        "consent": "Choose resident",
    }

    def __init__(self, ctx: Context, page: ResidentsPage, add_resident: Callable[[], None]) -> None:
        super().__init__()
        self.ctx, self.page, self.add_resident = ctx, page, add_resident
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Getting started")
        self.hidden_by_hand = False
        self.steps: list[first_steps.Step] = []
        self.ticks: dict[str, QLabel] = {}
        self.texts: dict[str, QLabel] = {}
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        for row, key in enumerate(self.BUTTONS):
            self.ticks[key], self.texts[key] = QLabel(), QLabel()
            self.buttons[key] = button(self.BUTTONS[key], lambda _=False, k=key: self._take(k))
            grid.addWidget(self.ticks[key], row, 0)
            grid.addWidget(self.texts[key], row, 1)
            grid.addWidget(self.buttons[key], row, 2)
        grid.setColumnStretch(3, 1)  # each button close to its step
        hide = button("Hide until next login", self._hide_by_hand)
        title = QHBoxLayout()
        title.addWidget(QLabel("<b>Getting started</b>: the steps a new home takes, in order"))
        title.addStretch()
        title.addWidget(hide)
        column = QVBoxLayout(self)
        column.addLayout(title)
        column.addLayout(grid)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.refresh()

    def refresh(self) -> None:
        steps = attempt(self, lambda: first_steps.first_steps(self.ctx))
        if steps is None:
            return
        self.steps = steps
        for step in steps:
            self.ticks[step.key].setText("✔" if step.done else "○")
            self.ticks[step.key].setAccessibleName("Done" if step.done else "To do")
            self.texts[step.key].setText(f"<b>{step.text}</b> · {step.progress}")
            self.buttons[step.key].setAccessibleName(f"{self.BUTTONS[step.key]}: {step.text}")
        self.buttons["consent"].setEnabled(steps[-1].resident_id is not None)
        self.setVisible(not self.hidden_by_hand and not all(step.done for step in steps))

    def _take(self, key: str) -> None:
        if key == "residents":
            self.add_resident()
        elif key == "consent":
            self.page.show_resident(self.steps[-1].resident_id)  # type: ignore[arg-type]
        else:
            self.go.emit(StaffPage if key == "staff" else PracticesPage)

    def _hide_by_hand(self) -> None:
        self.hidden_by_hand = True
        self.hide()


def decision_recorded(dialog: "ConsentDialog | WithdrawDialog") -> str:
    return f"{CONSENT_KINDS[dialog.result_value.kind]}: recorded for {dialog.resident.full_name}."


class ResidentDialog(FormDialog):
    """Add a resident, or correct one's details, room or registered GP practice."""

    CHANGEABLE = ("given_name", "family_name", "date_of_birth", "ods_code", "room")

    def __init__(self, ctx: Context, resident: Resident | None, parent: QWidget) -> None:
        title = f"Edit details: {resident.full_name}" if resident else "Add resident"
        super().__init__(title, "&Save" if resident else "&Add resident", parent)
        self.ctx, self.resident = ctx, resident
        nhs, given, family, room = QLineEdit(), QLineEdit(), QLineEdit(), QLineEdit()
        today = uk_date(ctx.now())
        # most residents are old: the calendar opens at a likely year, not at this one
        born = date_edit(blank="not set", opens_at=today.replace(year=today.year - 80, day=1))
        gp = QComboBox()
        self.form.add("nhs_number", "&NHS number:", nhs, "10 digits")
        self.form.add("given_name", "&Given name:", given)
        self.form.add("family_name", "&Family name:", family)
        self.form.add("date_of_birth", "Date of &birth:", born)
        self.form.add("ods_code", "G&P practice:", gp)
        self.form.add("room", "&Room:", room)
        listed = [  # an inactive practice is not offered, but a resident registered keeps it
            p
            for p in attempt(self, lambda: practices.list_practices(ctx)) or []
            if p.active or (resident and p.id == resident.practice_id)
        ]
        for practice in listed:
            gp.addItem(practice.display_name, practice.ods_code)
        if resident is None:
            return
        nhs.setText(resident.nhs_number)
        nhs.setReadOnly(True)
        given.setText(resident.given_name)
        family.setText(resident.family_name)
        born.setDate(resident.date_of_birth)
        gp.setCurrentIndex(next(i for i, p in enumerate(listed) if p.id == resident.practice_id))
        room.setText(resident.room)
        self.before = {name: self.form.value(name) for name in self.CHANGEABLE}

    def submit(self) -> Resident:
        values = {name: self.form.value(name) for name in self.CHANGEABLE}
        if self.resident is None:
            return residents.add_resident(self.ctx, self.form.value("nhs_number"), **values)
        changes = {name: value for name, value in values.items() if value != self.before[name]}
        return residents.update_resident(self.ctx, self.resident.id, **changes)


_UK_TIME = "UK time, as the clock on the wall shows it"


class AdmitDialog(FormDialog):
    """Admission, or readmission after a discharge; a respite stay is a period of its own."""

    def __init__(self, ctx: Context, resident: Resident, parent: QWidget) -> None:
        super().__init__(f"Admit: {resident.full_name}", "Ad&mit", parent)
        self.ctx, self.resident = ctx, resident
        self.form.add("admitted_at", "Admitted &at:", ClockTimeEdit(ctx.now()), _UK_TIME)
        kind = self.form.add("kind", "&Stay:", QComboBox())
        kind.addItem("Long-term", StayKind.LONG_TERM)
        kind.addItem("Respite", StayKind.RESPITE)

    def submit(self) -> Any:
        return residents.admit(
            self.ctx, self.resident.id, self.form.value("admitted_at"), self.form.value("kind")
        )


class DischargeDialog(FormDialog):
    """The end of the current stay. Consent stays on record for a readmission."""

    def __init__(self, ctx: Context, resident: Resident, parent: QWidget) -> None:
        super().__init__(f"Discharge: {resident.full_name}", "Disc&harge", parent)
        self.ctx, self.resident = ctx, resident
        self.form.add("discharged_at", "Discharged &at:", ClockTimeEdit(ctx.now()), _UK_TIME)

    def submit(self) -> Any:
        return residents.discharge(self.ctx, self.resident.id, self.form.value("discharged_at"))


# What the day of a decision means for the order decisions stand in (domain/consent.py).
DECIDED_HINT = (
    "Today: taken as made now. An earlier day (a form entered late) is marked so, and a "
    "decision made after it still stands"
)
CONSENT_KINDS = {
    ConsentKind.GRANTED: "Consent given",
    ConsentKind.REFUSED: "Consent refused",
    ConsentKind.WITHDRAWN: "Consent withdrawn",
    ConsentKind.OBJECTION: "Objection to sharing",
}
# Who speaks for a resident who lacks capacity, and the reference to an attorney's or deputy's
# authority.
REPRESENTATIVE_LABELS = {
    DecidedBy.LPA_ATTORNEY: "Attorney's &name:",
    DecidedBy.DEPUTY: "Deputy's &name:",
    DecidedBy.BEST_INTERESTS: "Decision maker's &name:",
}
AUTHORITY_HINTS = {
    DecidedBy.LPA_ATTORNEY: "LPA registration number (Office of the Public Guardian)",
    DecidedBy.DEPUTY: "Court of Protection order reference",
}
# The capacity assessment's outcome, one choice for the service's two findings
FINDINGS = {
    "Not assessed": "",
    "Has capacity for this decision": "has_capacity",
    "Lacks capacity for this decision": "lacks_capacity",
}
ABILITIES = {
    Ability.UNDERSTAND: "Understand",
    Ability.RETAIN: "Retain",
    Ability.WEIGH: "Weigh up",
    Ability.COMMUNICATE: "Communicate",
}
CONSENT_FORM_HEIGHT = 520  # then the form scrolls: the dialog fits 1366x768 with its buttons


class ConsentDialog(FormDialog):
    """A consent decision, guided, as the paper consent form records it: who decides; the
    capacity assessment (the two-stage test) that a representative's or a best-interests
    decision stands on; the representative's authority as seen; the decision. Only the fields
    that this decision records are shown, and the form scrolls rather than leave the screen."""

    def __init__(self, ctx: Context, resident: Resident, parent: QWidget | None = None) -> None:
        super().__init__(
            f"Record consent: {resident.full_name}",
            "&Save decision",
            parent,
            scroll_over=CONSENT_FORM_HEIGHT,
        )
        self.ctx, self.resident = ctx, resident
        self.body.insertWidget(0, heading(resident.full_name, 1.2))
        today = uk_date(ctx.now())
        form = self.form
        self.headings: dict[str, QLabel] = {}
        self.decided_by = form.add("decided_by", "&Who decides:", QComboBox())
        for who in DecidedBy:
            self.decided_by.addItem(sentence(who.label), who)
        self._heading("capacity", "Capacity assessment (Mental Capacity Act)")
        self.finding = form.add("lacks_capacity", "&Outcome:", QComboBox())
        for text, finding in FINDINGS.items():
            self.finding.addItem(text, finding)
        form.alias("has_capacity", "lacks_capacity")
        impairment = form.add("impairment", "Stage &1:", QComboBox())
        for text, value in (("Not recorded", None), ("Yes", True), ("No", False)):
            impairment.addItem(text, value)
        impairment.setAccessibleDescription(
            "An impairment of, or disturbance in, the functioning of the mind or brain"
        )
        form.add(
            "impairment_detail", "I&mpairment:", QLineEdit(), "e.g. dementia, delirium, a stroke"
        )
        form.add(
            "unable_to",
            "Stage &2, unable to:",
            Checks([(text, f"Unable to {a.label}", a) for a, text in ABILITIES.items()]),
            "Even with help: unable to do any one is enough",
        )
        form.add("support_steps", "&Help given:", text_box(48), "Steps taken to help them decide")
        form.add("capacity_assessed_on", "Assessed &on:", date_edit(blank="not set"))
        form.add("capacity_assessed_by", "Assessed b&y:", QLineEdit(), "Name and role")
        form.add("capacity_assessment", "Assessment no&te:", text_box(48))
        self._heading("representative", "Representative")
        form.add("representative_name", "&Name:", QLineEdit())
        form.add("representative_relationship", "Relations&hip:", QLineEdit(), "e.g. daughter")
        self.authority = QLineEdit()
        form.add("authority_reference", "Authority re&ference:", self.authority)
        form.add("lpa_registered_on", "LPA re&gistered on:", date_edit(blank="not set"))
        form.add("authority_seen_on", "Document seen o&n:", date_edit(blank="not set"))
        form.add("authority_seen_by", "Document seen &by:", QLineEdit(), "Name and role")
        form.add(
            "people_consulted",
            "People &consulted:",
            text_box(48),
            "Family, friends, the GP and staff who know the resident",
        )
        form.add("known_wishes", "&Known wishes:", text_box(48), "Past and present, and feelings")
        self._heading("decision", "The decision")
        self.kind = form.add("kind", "&Decision:", QComboBox())
        for kind, text in CONSENT_KINDS.items():
            self.kind.addItem(text, kind)
        form.add("decided_on", "Dat&e decided:", date_edit(today), DECIDED_HINT)
        form.add("witness", "W&itness:", QLineEdit(), "Optional: who saw the decision made")
        form.add("reason", "&Reason:", text_box(48), "Required unless consent is given")
        form.add("review_on", "Re&view on:", date_edit(blank="no review date"))
        form.add("expires_on", "&Valid until:", date_edit(blank="no end date"), LAST_DAY_HINT)
        self.relevant: set[str] = set()
        self.decided_by.currentIndexChanged.connect(self._chosen)
        self.kind.currentIndexChanged.connect(self._guide)
        self.finding.currentIndexChanged.connect(self._guide)
        self._guide()
        self.decided_by.setFocus()

    def _heading(self, key: str, text: str) -> None:
        label = QLabel(f"<b>{text}</b>")
        label.setContentsMargins(0, 8, 0, 0)
        self.form.layout_.addRow(label)
        self.headings[key] = label

    def _chosen(self) -> None:
        """A representative decides only on a finding that the resident lacks capacity; the
        resident is assumed to have capacity unless an assessment is recorded (MCA s1(2))."""
        resident = self.decided_by.currentData() is DecidedBy.RESIDENT
        self.finding.setCurrentIndex(self.finding.findData("" if resident else "lacks_capacity"))
        self._guide()

    def _guide(self) -> None:
        """Show what this decision must record, and only that."""
        who = self.decided_by.currentData()
        representative = who is not DecidedBy.RESIDENT
        authority = who in (DecidedBy.LPA_ATTORNEY, DecidedBy.DEPUTY)
        best_interests = who is DecidedBy.BEST_INTERESTS
        granted = self.kind.currentData() is ConsentKind.GRANTED
        assessed = representative or bool(self.finding.currentData())
        shown = {
            "lacks_capacity": True,
            **dict.fromkeys(
                (
                    "impairment",
                    "impairment_detail",
                    "unable_to",
                    "support_steps",
                    "capacity_assessed_on",
                    "capacity_assessed_by",
                    "capacity_assessment",
                ),
                assessed,
            ),
            "representative_name": representative,
            "representative_relationship": authority,
            "authority_reference": authority,
            "lpa_registered_on": who is DecidedBy.LPA_ATTORNEY,
            "authority_seen_on": authority,
            "authority_seen_by": authority,
            "people_consulted": best_interests,
            "known_wishes": best_interests,
            "decided_on": True,
            "witness": True,
            "reason": True,
            "review_on": granted,
            "expires_on": granted,
        }
        self.form.clear_errors()  # they were about the choice just changed
        layout = self.form.layout_
        for name, visible in shown.items():
            layout.setRowVisible(self.form.fields[name].parentWidget(), visible)
        layout.setRowVisible(self.headings["representative"], representative)
        self.headings["representative"].setText(
            f"<b>{'Best-interests decision' if best_interests else 'Representative'}</b>"
        )
        if representative:
            name_row = self.form.fields["representative_name"].parentWidget()
            layout.labelForField(name_row).setText(REPRESENTATIVE_LABELS[who])
        if authority:
            self.authority.setPlaceholderText(AUTHORITY_HINTS[who])
            self.authority.setAccessibleDescription(AUTHORITY_HINTS[who])
        self.relevant = {name for name, visible in shown.items() if visible}
        self.fit()

    def submit(self) -> ConsentDecision:
        given = {name: self.form.value(name) for name in self.relevant}
        finding = given.pop("lacks_capacity")
        return consent.record_consent(
            self.ctx,
            self.resident.id,
            self.kind.currentData(),
            self.decided_by.currentData(),
            lacks_capacity=finding == "lacks_capacity",
            has_capacity=finding == "has_capacity",
            **given,
        )


# What a withdrawal or objection by an attorney or deputy repeats from their earlier decision
CARRIED_AUTHORITY = (
    "representative_name",
    "representative_relationship",
    "authority_reference",
    "lpa_registered_on",
    "authority_seen_on",
    "authority_seen_by",
    "lacks_capacity",
    "impairment",
    "impairment_detail",
    "unable_to",
    "capacity_assessed_on",
    "capacity_assessed_by",
    "capacity_assessment",
    "support_steps",
)


class WithdrawDialog(FormDialog):
    """A withdrawal or an objection in one step: it stands at once, until a new consent.

    By the resident (heard whatever their capacity), or by an attorney or deputy already on the
    resident's record, with the authority and capacity assessment recorded with them."""

    def __init__(self, ctx: Context, record: ResidentRecord, parent: QWidget | None = None) -> None:
        resident = record.resident
        super().__init__(f"Withdrawal or objection: {resident.full_name}", "&Record", parent)
        self.ctx, self.resident = ctx, resident
        self.body.insertWidget(0, heading(resident.full_name, 1.2))
        kind = self.form.add("kind", "&What:", QComboBox())
        for value in (ConsentKind.WITHDRAWN, ConsentKind.OBJECTION):
            kind.addItem(CONSENT_KINDS[value], value)
        by = self.form.add("decided_by", "&By:", QComboBox())
        by.addItem("The resident", None)
        seen = set()
        for earlier in reversed(record.consents):  # the latest record of each attorney or deputy
            key = (earlier.decided_by, earlier.representative_name)
            if earlier.decided_by in AUTHORITY_HINTS and key not in seen:
                seen.add(key)
                by.addItem(f"{earlier.representative_name}, {earlier.decided_by.label}", earlier)
        self.form.add("decided_on", "&On:", date_edit(uk_date(ctx.now())), DECIDED_HINT)
        self.reason = self.form.add("reason", "&Reason:", text_box(64), "What was said, and why")
        self.reason.setFocus()

    def submit(self) -> ConsentDecision:
        representative: ConsentDecision | None = self.form.value("decided_by")
        authority: dict[str, Any] = {}
        if representative is not None:
            authority = {name: getattr(representative, name) for name in CARRIED_AUTHORITY}
        return consent.record_consent(
            self.ctx,
            self.resident.id,
            self.form.value("kind"),
            representative.decided_by if representative else DecidedBy.RESIDENT,
            decided_on=self.form.value("decided_on"),
            reason=self.form.value("reason"),
            **authority,
        )


# -- staff ---------------------------------------------------------------------------------------


def open_saying(page: Any, dialog: FormDialog, said: Callable[[Any], str]) -> None:
    """Open a page's dialog; once it has saved, reload the page and say in the status bar what
    was done (`said` words the dialog's result)."""

    def done() -> None:
        page.reload()
        page.said.emit(said(dialog.result_value))

    open_dialog(dialog, done)


class StaffPage(QWidget):
    """Staff accounts: roles, NMC registration, confidentiality and IG training, leavers."""

    said = Signal(str)  # what was just done, for the status bar

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.table = Table(StaffModel(self), "Staff", StaffModel.NAME)
        add = button(
            "A&dd",
            lambda: open_saying(
                self,
                StaffDialog(ctx, None, self),
                lambda s: (
                    f"Added {s.full_name} ({s.username}): they choose their own password "
                    "when they first log in."
                ),
            ),
        )
        edit = button(
            "Ed&it",
            lambda: open_saying(
                self, StaffDialog(ctx, self.chosen(), self), lambda s: f"Saved {s.full_name}."
            ),
        )
        check = button(
            "Record &NMC check",
            lambda: open_saying(
                self,
                NmcCheckDialog(ctx, self.chosen(), self),
                lambda s: (
                    f"NMC check recorded for {s.full_name}: registration valid until "
                    f"{s.nmc_expires_on:%d/%m/%Y}."
                ),
            ),
        )
        deactivate = button("Deac&tivate", self.deactivate)
        reset = button(
            "Reset &password",
            lambda: open_saying(
                self,
                ResetPasswordDialog(ctx, self.chosen(), self),
                lambda s: (
                    f"Temporary password set for {s.full_name}: they choose their own "
                    "when they next log in."
                ),
            ),
        )
        clear = button("Clear loc&kout", self.clear_lockout)
        enable_with(self.table, edit)
        enable_with(self.table, check, lambda s: s.nmc_pin is not None)
        enable_with(self.table, deactivate, lambda s: s.active)
        enable_with(self.table, reset, lambda s: s.active)
        enable_with(self.table, clear, lambda s: s.id in self.table.source.locked)
        layout = QVBoxLayout(self)
        layout.addLayout(row_of(add, edit, check, deactivate, reset, clear))
        layout.addWidget(self.table)

    def chosen(self) -> Staff:
        return self.table.chosen()  # type: ignore[no-any-return]

    def reload(self) -> None:
        chosen = self.table.chosen()
        loaded = attempt(
            self, lambda: (staff_service.list_staff(self.ctx), staff_service.lockouts(self.ctx))
        )
        if loaded is None:
            return
        self.table.source.set_rows(*loaded)
        if chosen is not None:
            self.table.select_where(lambda s: s.id == chosen.id)

    def clear_lockout(self) -> None:
        member = self.chosen()
        if attempt(self, lambda: staff_service.clear_lockout(self.ctx, member.id)):
            self.said.emit(f"Lockout cleared: {member.full_name} can log in again.")
        self.reload()

    def deactivate(self) -> None:
        member = self.chosen()
        answer = QMessageBox.question(
            self,
            "Deactivate account",
            f"Deactivate the account of {member.full_name}?\n\nThey can no longer log in or act. "
            "The account stays on record for the audit trail.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            if attempt(self, lambda: staff_service.deactivate_staff(self.ctx, member.id)):
                self.said.emit(f"Deactivated the account of {member.full_name}.")
            self.reload()


class StaffDialog(FormDialog):
    """A new personal account, or changes to one. NMC checks have a dialog of their own."""

    CHANGEABLE = ("full_name", "nmc_pin", "confidentiality_signed_on", "ig_training_on")

    def __init__(self, ctx: Context, member: Staff | None, parent: QWidget) -> None:
        title = f"Edit: {member.full_name}" if member else "Add a staff member"
        super().__init__(title, "&Save" if member else "&Add", parent)
        self.ctx, self.member = ctx, member
        form = self.form
        username, name, pin = QLineEdit(), QLineEdit(), QLineEdit()
        signed, trained = date_edit(blank="not set"), date_edit(blank="not set")
        self.roles = CheckList(list(Role))
        form.add("username", "&Username:", username, f"{sentence(USERNAME_RULE)}, e.g. nurse.amira")
        form.add("full_name", "Full &name:", name)
        form.add("roles", "&Roles:", self.roles, "Someone with several roles picks one at login")
        form.add("nmc_pin", "NMC &PIN:", pin, "Needed for the nurse role, e.g. 12A3456E")
        if member is None:
            form.add("nmc_checked_on", "NMC register &checked:", date_edit(blank="not set"))
            form.add(
                "nmc_expires_on",
                "NMC registration &valid until:",
                date_edit(blank="not set"),
                LAST_DAY_HINT,
            )
        form.add("confidentiality_signed_on", "Con&fidentiality signed:", signed)
        form.add("ig_training_on", "&IG training done:", trained)
        if member is None:
            form.add(
                "password",
                "&Temporary password:",
                password_field(),
                "At least 10 characters; they choose their own at first login",
            )
            return
        username.setText(member.username)
        username.setReadOnly(True)
        name.setText(member.full_name)
        self.roles.set_checked(member.roles)
        pin.setText(member.nmc_pin or "")
        signed.setDate(member.confidentiality_signed_on)
        trained.setDate(member.ig_training_on)
        self.before = self._values()

    def _values(self) -> dict[str, Any]:
        values: dict[str, Any] = {n: self.form.value(n) for n in self.CHANGEABLE}
        values["roles"] = self.roles.checked()
        return values

    def submit(self) -> Staff:
        values = self._values()
        if self.member is None:
            return staff_service.add_staff(
                self.ctx,
                self.form.value("username"),
                values.pop("full_name"),
                values.pop("roles"),
                self.form.value("password"),
                nmc_checked_on=self.form.value("nmc_checked_on"),
                nmc_expires_on=self.form.value("nmc_expires_on"),
                **values,
            )
        changes = {n: v for n, v in values.items() if v != self.before[n]}
        return staff_service.update_staff(self.ctx, self.member.id, **changes)


class NmcCheckDialog(FormDialog):
    """The manager looked the nurse up on the NMC register: when, and until when it runs."""

    def __init__(self, ctx: Context, member: Staff, parent: QWidget) -> None:
        super().__init__(f"NMC register check: {member.full_name}", "&Record check", parent)
        self.ctx, self.member = ctx, member
        today = uk_date(ctx.now())
        self.body.insertWidget(0, QLabel(f"NMC PIN {member.nmc_pin}"))
        self.form.add("nmc_checked_on", "Register &checked on:", date_edit(today))
        self.form.add(
            "nmc_expires_on",
            "Registration &valid until:",
            date_edit(member.nmc_expires_on or today),
            LAST_DAY_HINT,
        )

    def submit(self) -> Staff:
        return staff_service.record_nmc_check(
            self.ctx,
            self.member.id,
            self.form.value("nmc_checked_on"),
            self.form.value("nmc_expires_on"),
        )


class ResetPasswordDialog(FormDialog):
    """A temporary password: a new key slot for the person, who must change it at their next
    login. Their old password stops opening the records at once."""

    def __init__(self, ctx: Context, member: Staff, parent: QWidget) -> None:
        super().__init__(f"Reset password: {member.full_name}", "&Reset", parent)
        self.ctx, self.member = ctx, member
        self.form.add(
            "new_password",
            "&Temporary password:",
            password_field(),
            "Their old password stops working at once, and a lockout ends. They must choose "
            "their own password when they next log in with this one.",
        )

    def submit(self) -> Staff:
        staff_service.reset_password(self.ctx, self.member.id, self.form.value("new_password"))
        return self.member


# -- GP practices and data sharing agreements -----------------------------------------------------


class PracticesPage(QWidget):
    """The practices the home shares with, and each one's data sharing agreements, each printed
    for both parties with the home's signing key for the practice to record."""

    said = Signal(str)  # what was just done, for the status bar

    def __init__(self, ctx: Context, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.background = ctx, background
        self.practices = Table(PracticesModel(self), "GP practices", PracticesModel.NAME)
        self.agreements = Table(
            AgreementsModel(lambda: uk_date(ctx.now()), self),
            "Data sharing agreements",
            AgreementsModel.PURPOSES,
        )
        self.agreements.horizontalHeader().setSectionResizeMode(
            AgreementsModel.SECTIONS, QHeaderView.ResizeMode.Stretch
        )
        self.agreements.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.practices.selection_changed.connect(self._show_agreements)
        add_practice = button(
            "Add &practice",
            lambda: open_saying(
                self,
                PracticeDialog(ctx, None, self),
                lambda p: f"Added GP practice {p.display_name}.",
            ),
        )
        edit_practice = button(
            "Edit practi&ce…",
            lambda: open_saying(
                self,
                PracticeDialog(ctx, self.practices.chosen(), self),
                lambda p: f"Saved GP practice {p.display_name}.",
            ),
        )
        delete_practice = button("De&lete practice…", self.delete_practice)
        deactivate = button("Mark inac&tive", lambda: self.set_active(False))
        activate = button("&Mark active", lambda: self.set_active(True))
        enable_with(self.practices, edit_practice)
        enable_with(self.practices, delete_practice)
        enable_with(self.practices, deactivate, lambda p: p.active)
        enable_with(self.practices, activate, lambda p: not p.active)
        add_agreement = button(
            "Add agreeme&nt",
            lambda: open_saying(
                self,
                AgreementDialog(ctx, self.practices.chosen(), self),
                lambda a: f"Data sharing agreement {a.id} recorded.",
            ),
        )
        end_agreement = button(
            "En&d agreement",
            lambda: open_saying(
                self,
                EndAgreementDialog(ctx, self.agreements.chosen(), self),
                lambda a: (
                    f"Data sharing agreement {a.id} is in force until {a.ends_on:%d/%m/%Y}, "
                    "its last day."
                ),
            ),
        )
        print_agreement = button("Pr&int agreement…", self._print_agreement)
        dpia = button("DPIA pac&k…", self._preview_dpia)
        dpia.setToolTip(
            "A data protection impact assessment for this agreement, pre-filled from the app"
        )
        save_dpia = button("Sa&ve DPIA for editing…", self._save_dpia)
        save_dpia.setToolTip("The same pack as a Word document, for the home to finish")
        enable_with(self.practices, add_agreement)
        for needs_agreement in (end_agreement, print_agreement, dpia, save_dpia):
            enable_with(self.agreements, needs_agreement)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.agreements_title = QLabel()
        top = QWidget()
        column = QVBoxLayout(top)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row_of(add_practice, edit_practice, delete_practice, deactivate, activate))
        column.addWidget(self.practices)
        bottom = QWidget()
        column = QVBoxLayout(bottom)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.agreements_title)
        column.addLayout(row_of(add_agreement, end_agreement, print_agreement, dpia, save_dpia))
        column.addWidget(self.agreements)
        column.addWidget(self.status)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(1, 2)
        QVBoxLayout(self).addWidget(splitter)

    def delete_practice(self) -> None:
        practice: Practice = self.practices.chosen()
        answer = QMessageBox.question(
            self,
            "Delete GP practice",
            f"Delete {practice.display_name}?\n\nOnly a practice added by mistake can be deleted: one "
            "with residents, agreements or reports is marked inactive instead.",
        )
        if answer == QMessageBox.StandardButton.Yes and attempt(
            self, lambda: practices.delete_practice(self.ctx, practice.id)
        ):
            self.reload()
            self.said.emit(f"Deleted GP practice {practice.display_name}.")

    def set_active(self, active: bool) -> None:
        practice: Practice = self.practices.chosen()
        if attempt(self, lambda: practices.set_practice_active(self.ctx, practice.id, active)):
            self.reload()
            self.said.emit(
                f"{practice.display_name} is offered for residents again."
                if active
                else f"{practice.display_name} is marked inactive: not offered for new residents."
            )

    def reload(self) -> None:
        chosen = self.practices.chosen()
        rows = attempt(self, lambda: practices.list_practices(self.ctx))
        if rows is None:
            return
        self.practices.source.set_rows(rows)
        if chosen is not None:
            self.practices.select_where(lambda p: p.id == chosen.id)
        elif rows:
            self.practices.selectRow(0)

    def _show_agreements(self) -> None:
        practice: Practice | None = self.practices.chosen()
        if practice is None:
            self.agreements_title.setText("<b>Data sharing agreements</b>: choose a practice")
            self.agreements.source.set_rows([])
            return
        self.agreements_title.setText(f"<b>Data sharing agreements with {practice.name}</b>")
        rows = attempt(self, lambda: practices.list_agreements(self.ctx, practice.ods_code))
        self.agreements.source.set_rows(rows or [])

    def _print_agreement(self) -> None:
        practice, chosen = self.practices.chosen(), self.agreements.chosen()
        if practice is not None and chosen is not None:
            printable = printing.agreement(practice, chosen)
            printing.build(self, self.background, printable, printing.preview)

    def _preview_dpia(self) -> None:
        practice, chosen = self.practices.chosen(), self.agreements.chosen()
        if practice is not None and chosen is not None:
            printing.build(self, self.background, printing.dpia(practice, chosen), printing.preview)

    def _save_dpia(self) -> None:
        practice, chosen = self.practices.chosen(), self.agreements.chosen()
        if practice is not None and chosen is not None:
            self.status.clear()
            printing.save_editable_dpia(
                self,
                self.background,
                practice,
                chosen,
                lambda path: self.status.setText(f"Saved {path}"),
            )


class PracticeDialog(FormDialog):
    """A new GP practice, or corrections to one."""

    FIELDS = ("name", "ods_code", "phone")

    def __init__(self, ctx: Context, practice: Practice | None, parent: QWidget) -> None:
        title = f"Edit: {practice.name}" if practice else "Add a GP practice"
        super().__init__(title, "&Save" if practice else "&Add practice", parent)
        self.ctx, self.practice = ctx, practice
        code_hint = "The practice's code, e.g. Y01234"
        if practice:
            code_hint += "; it can be corrected only while nothing refers to the practice"
        for name, label, hint in (
            ("name", "&Name:", ""),
            ("ods_code", "&ODS code:", code_hint),
            ("phone", "&Phone:", "Nurses are told to phone it when refused"),
        ):
            field = self.form.add(name, label, QLineEdit(), hint)
            if practice:
                field.setText(getattr(practice, name))

    def submit(self) -> Practice:
        values = {name: self.form.value(name) for name in self.FIELDS}
        if self.practice is None:
            return practices.add_practice(self.ctx, **values)
        before = {name: getattr(self.practice, name) for name in self.FIELDS}
        changes = {name: value for name, value in values.items() if value != before[name]}
        return practices.update_practice(self.ctx, self.practice.id, **changes)


class AgreementDialog(FormDialog):
    """A signed data sharing agreement: its dates, purposes and parts of the record."""

    def __init__(self, ctx: Context, practice: Practice, parent: QWidget) -> None:
        super().__init__(f"Data sharing agreement: {practice.name}", "&Add agreement", parent)
        self.ctx, self.practice = ctx, practice
        self.purposes, self.sections = CheckList(list(Purpose)), CheckList(list(Section))
        home = QLineEdit(ctx.login.staff.full_name if ctx.login else "")
        form = self.form
        form.add("starts_on", "&Starts on:", date_edit(uk_date(ctx.now())))
        form.add("ends_on", "&Last day:", date_edit(blank="open-ended"), LAST_DAY_HINT)
        form.add("review_on", "&Review on:", date_edit(blank="no review date"))
        form.add("purposes", "&Purposes:", self.purposes)
        form.add("sections", "Se&ctions:", self.sections, "Parts of the GP record nurses may view")
        form.add("home_signatory", "Signed for the &home by:", home)
        form.add("practice_signatory", "Signed for the practice b&y:", QLineEdit())

    def submit(self) -> Agreement:
        value = self.form.value
        return practices.add_agreement(
            self.ctx,
            self.practice.ods_code,
            starts_on=value("starts_on"),
            ends_on=value("ends_on"),
            review_on=value("review_on"),
            purposes=self.purposes.checked(),
            sections=self.sections.checked(),
            home_signatory=value("home_signatory"),
            practice_signatory=value("practice_signatory"),
        )


class EndAgreementDialog(FormDialog):
    def __init__(self, ctx: Context, agreement: Agreement, parent: QWidget) -> None:
        super().__init__("End a data sharing agreement", "&End agreement", parent)
        self.ctx, self.agreement = ctx, agreement
        self.form.add(
            "ends_on",
            "&Last day in force:",
            date_edit(uk_date(ctx.now())),
            LAST_DAY_HINT,
        )

    def submit(self) -> Agreement:
        return practices.end_agreement(self.ctx, self.agreement.id, self.form.value("ends_on"))


# -- audit -----------------------------------------------------------------------------------------


class AuditFilter(QSortFilterProxyModel):
    """The audit viewer's filters: resident and staff text, a UK date range, the outcome."""

    def __init__(self, model: AuditModel) -> None:
        super().__init__()  # no Qt parent: the table holding it owns it (see sorted_view_model)
        self.setSourceModel(model)
        self.setSortRole(SORT_ROLE)
        self.resident, self.staff = "", ""
        self.since: date | None = None
        self.until: date | None = None
        self.outcome: str | None = None  # "allowed", "denied" or None for both

    def set_filters(
        self,
        resident: str = "",
        staff: str = "",
        since: date | None = None,
        until: date | None = None,
        outcome: str | None = None,
    ) -> None:
        self.beginFilterChange()
        self.resident, self.staff = resident.strip().casefold(), staff.strip().casefold()
        self.since, self.until, self.outcome = since, until, outcome
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Any) -> bool:
        model = self.sourceModel()
        entry: AuditEntry = model.index(source_row, 0, source_parent).data(ROW_ROLE)
        resident = model.index(source_row, AuditModel.RESIDENT, source_parent).data()
        who = model.index(source_row, AuditModel.WHO, source_parent).data()
        day = uk_date(datetime.fromisoformat(entry.at))
        return (
            self.resident in resident.casefold()
            and self.staff in who.casefold()
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
            and (self.outcome is None or entry.outcome == self.outcome)
        )


class AuditPage(QWidget):
    """Every recorded action, allowed and refused, newest first; and the chain check."""

    def __init__(self, ctx: Context, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.background = ctx, background
        self.names: dict[int, str] = {}
        self.model = AuditModel(lambda rid: self.names.get(rid, f"resident {rid}"), self)
        self.filter = AuditFilter(self.model)
        self.table = Table(self.model, "Audit log", AuditModel.REASONS, self.filter)
        self.table.sortByColumn(AuditModel.SEQ, Qt.SortOrder.DescendingOrder)
        self.resident = QLineEdit()
        self.staff = QLineEdit()
        self.since = date_edit(blank="not set")
        self.until = date_edit(blank="not set")
        self.outcome = QComboBox()
        for text, value in (("All", None), ("Allowed", "allowed"), ("Refused", "denied")):
            self.outcome.addItem(text, value)
        filters = QHBoxLayout()
        for label, widget in (
            ("Res&ident:", self.resident),
            ("Sta&ff:", self.staff),
            ("Fro&m:", self.since),
            ("T&o:", self.until),
            ("Ou&tcome:", self.outcome),
        ):
            caption = QLabel(label)
            caption.setBuddy(widget)
            widget.setAccessibleName(label.replace("&", "").rstrip(":"))
            filters.addWidget(caption)
            filters.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
        self.resident.textChanged.connect(self._filter)
        self.staff.textChanged.connect(self._filter)
        self.since.changed.connect(self._filter)
        self.until.changed.connect(self._filter)
        self.outcome.currentIndexChanged.connect(self._filter)
        self.count = QLabel()
        self.count.setAccessibleName("Entries shown")
        self.verify_button = button("&Verify audit chain", self.verify)
        self.chain = QLabel()
        self.chain.setWordWrap(True)
        self.chain.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chain.setAccessibleName("Audit chain check")
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(self.verify_button)
        layout.addLayout(bottom)
        layout.addWidget(self.chain)

    def reload(self) -> None:
        def load(c: Context) -> tuple[list[AuditEntry], dict[int, str]]:
            listed = residents.find_residents(c, limit=1_000_000)
            names = {r.resident.id: r.resident.full_name for r in listed}
            return audit.audit_entries(c, limit=AUDIT_ROWS), names

        self.background.run(load, self._show, lambda exc: report_error(self, exc))

    def _show(self, loaded: tuple[list[AuditEntry], dict[int, str]]) -> None:
        entries, self.names = loaded
        self.model.set_rows(entries)
        self._count()

    def _filter(self) -> None:
        try:
            since, until = self.since.date(), self.until.date()
        except ValidationError:
            return  # a date still being typed: the rows stay as they are until it reads
        self.filter.set_filters(
            self.resident.text(), self.staff.text(), since, until, self.outcome.currentData()
        )
        self._count()

    def _count(self) -> None:
        total = self.model.rowCount()
        newest = f" (the newest {AUDIT_ROWS:,})" if total == AUDIT_ROWS else ""
        self.count.setText(f"Showing {self.filter.rowCount():,} of {total:,} entries{newest}")

    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.chain.setStyleSheet("")
        self.chain.setText("Checking every entry of the audit chain…")
        self.background.run(audit.verify, self._verified, self._verify_failed)

    def _verified(self, result: VerifyResult) -> None:
        self.verify_button.setEnabled(True)
        digest = " ".join(result.head_hash[i : i + 8] for i in range(0, 64, 8))
        head = f"Chain head {result.head_seq}:{digest}"
        if result.ok:
            self.chain.setText(
                f"<b>Audit chain intact</b>: {result.entries:,} entries checked. {head}"
            )
            return
        self.chain.setStyleSheet("color: #b00020;")
        problems = "; ".join(result.problems)
        self.chain.setText(f"<b>Audit chain broken</b>: {problems}. {head}")

    def _verify_failed(self, exc: Exception) -> None:
        self.verify_button.setEnabled(True)
        self.chain.clear()
        report_error(self, exc)


# -- needs attention and settings --------------------------------------------------------------


class AttentionPage(QWidget):
    """Refusals, sessions auto-closed, long, ended by a change or on their nurse's own
    best-interests decision, consent reviews and NMC checks due, agreements ending. Counted on
    start for the badge."""

    counted = Signal(int)
    chosen = Signal(object)  # the Attention item to open (double-click or Enter on its row)

    def __init__(self, ctx: Context, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.background = background
        self.model = AttentionModel(self)
        self.table = Table(self.model, "Needs attention", AttentionModel.TEXT)
        self.table.activated.connect(lambda index: self.chosen.emit(index.data(ROW_ROLE)))
        note = QLabel(
            f"Refusals and unusual sessions of the last {exceptions.LOOK_BACK_DAYS} days; consent "
            "reviews, NMC checks and agreements falling due. Overdue first, then what needs "
            "seeing to now, then what is coming up. Double-click a row (or press Enter) to open "
            "the resident, member of staff or GP practice it is about."
        )
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table)
        self.reload()

    def reload(self) -> None:
        self.background.run(
            exceptions.needing_attention, self._show, lambda exc: report_error(self, exc)
        )

    def _show(self, items: list[exceptions.Attention]) -> None:
        self.model.set_rows(items)
        self.counted.emit(len(items))


SETTING_LABELS = {
    "session_limit_minutes": "Session time &limit:",
    "idle_lock_minutes": "&Idle lock after:",
    "lockout_failures": "Wrong passwords before loc&kout:",
    "lockout_window_minutes": "Wrong passwords counted &over:",
    "lockout_minutes": "Account locked &for:",
    "nmc_check_due_days": "&NMC check due after:",
    "long_session_minutes": "Session &counts as long after:",
    "report_due_days": "GP access &report due after:",
    "disclosure_attention_days": "Disclosure request &waiting after:",
    "home_ods_code": "Home's O&DS code:",
    "cqc_location_id": "Home's CQC lo&cation ID:",
}
IDENTIFIER_EXAMPLES = {"home_ods_code": "VM123", "cqc_location_id": "1-123456789"}
SETTINGS_FORM_HEIGHT = 420


class SettingsPage(QWidget):
    """The home's settings; Save records each changed value (audited). The database key, and
    the signing key's fingerprint for the GP practices."""

    def __init__(self, ctx: Context, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.banner = error_label()
        self.form = Form()
        self.boxes: dict[str, QSpinBox] = {}
        for name, (default, low, high, meaning) in settings.SETTINGS.items():
            box = QSpinBox()
            box.setRange(low, high)
            # As wide as it needs, while its row (and the meaning under it) takes the width.
            box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            box.setMaximumWidth(160)
            unit = next((u for u in ("minute", "day") if name.endswith(f"{u}s")), "")
            if unit:  # "1 minute", "5 minutes"
                box.valueChanged.connect(
                    lambda n, box=box, unit=unit: box.setSuffix(f" {unit}{'s' * (n != 1)}")
                )
                box.setSuffix(f" {unit}s")
            self.form.add(
                name, SETTING_LABELS[name], box, f"{sentence(meaning)} (default {default})."
            )
            box.lineEdit().returnPressed.connect(self.save)  # as Return does in a dialog
            self.boxes[name] = box
        self.ids: dict[str, QLineEdit] = {}
        for name, (meaning, _check) in settings.IDENTIFIERS.items():
            edit = QLineEdit()
            edit.setMaximumWidth(160)
            edit.setPlaceholderText("not recorded")
            hint = f"{sentence(meaning)}, e.g. {IDENTIFIER_EXAMPLES[name]}: printed on the GP "
            self.form.add(name, SETTING_LABELS[name], edit, hint + "access report and in exports.")
            self.ids[name] = edit
        self.saved: dict[str, int | str] = {}
        self.status = QLabel()
        self.status.setAccessibleName("Settings saved")
        save = button("Sa&ve settings", self.save)
        note = QLabel("A new idle lock time applies from the next login.")
        key_note = QLabel(
            "<b>Database key</b><br>After someone with the recovery code leaves, or if the "
            "recovery sheet may have been seen, give the database a new key and a new recovery "
            "code. Everyone keeps their password."
        )
        key_note.setWordWrap(True)
        rotate = button(
            "Rotate database ke&y…", lambda: rotate_key.rotate_key(self, ctx, background)
        )
        signing_note = QLabel(
            "<b>The home's signing key</b><br>Give this to each GP practice once; it lets them "
            "check the signatures on your reports."
        )
        signing_note.setWordWrap(True)
        self.fingerprint = QLabel()
        self.fingerprint.setAccessibleName("Signing key fingerprint")
        self.fingerprint.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.fingerprint.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        # scrolled, so the window still fits a 1366x768 screen
        layout.addWidget(ScrollingForm(self.form, SETTINGS_FORM_HEIGHT), 1)
        layout.addWidget(note)
        layout.addLayout(row_of(save, self.status))
        layout.addSpacing(16)
        layout.addWidget(key_note)
        layout.addLayout(row_of(rotate))
        layout.addSpacing(16)
        layout.addWidget(signing_note)
        layout.addWidget(self.fingerprint)

    def reload(self) -> None:
        values = attempt(self, lambda: settings.all_settings(self.ctx))
        if values is None:
            return
        self.saved = values
        for name, box in self.boxes.items():
            box.setValue(values[name])
        for name, edit in self.ids.items():
            edit.setText(str(values[name]))
        self.status.clear()
        self.fingerprint.setText(attempt(self, lambda: reports.home_fingerprint(self.ctx)) or "")

    def save(self) -> None:
        self.form.clear_errors()
        self.banner.hide()
        shown: dict[str, int | str] = {n: box.value() for n, box in self.boxes.items()}
        shown |= {n: edit.text().strip() for n, edit in self.ids.items()}
        changed = {n: value for n, value in shown.items() if value != self.saved.get(n)}
        for name, value in changed.items():
            try:
                settings.change_setting(self.ctx, name, value)
            except ValidationError as exc:
                if not self.form.show_error(exc):
                    self._banner(str(exc))
                return
            except CarehomeError as exc:
                self._banner(str(exc))
                return
            self.saved[name] = value
        saved = [self._said(name) for name in changed]
        self.status.setText(f"Saved: {'; '.join(saved)}." if changed else "Nothing changed.")

    def _said(self, name: str) -> str:
        """What was saved, in the page's own words: "idle lock after 10 minutes", "home's ODS
        code VM123"."""
        label = SETTING_LABELS[name].replace("&", "").rstrip(":")
        if name in self.boxes:
            return f"{label.lower()} {self.boxes[name].text()}"
        code = self.ids[name].text().strip().upper() or "not recorded"
        return f"{label[0].lower()}{label[1:]} {code}"

    def _banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()


def manager_pages(
    ctx: Context, background: Background, parent: QWidget | None = None
) -> list[tuple[str, QWidget]]:
    return [
        ("&Staff", StaffPage(ctx, parent)),
        ("&GP practices", PracticesPage(ctx, background, parent)),
        ("A&udit", AuditPage(ctx, background, parent)),
        ("Needs &attention", AttentionPage(ctx, background, parent)),
        ("S&ettings", SettingsPage(ctx, background, parent)),
        ("Rep&orts", ReportsPage(ctx, background, parent)),
    ]
