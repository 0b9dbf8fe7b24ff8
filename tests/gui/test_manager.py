"""The registered manager, clicking through the desktop app: residents admitted and discharged,
consent recorded through the guided dialog and then withdrawn, staff, GP practices and
agreements, the audit viewer, the needs-attention list and the settings."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QPushButton, QWidget

from carehome_share.domain.errors import AccessRefused, AuthenticationFailed
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import (
    Ability,
    ConsentKind,
    DecidedBy,
    Purpose,
    Role,
    Section,
    StayKind,
)
from carehome_share.gui import manager
from carehome_share.gui.forms import FormDialog
from carehome_share.gui.main_window import MainWindow
from carehome_share.gui.models import (
    ROW_ROLE,
    AgreementsModel,
    AttentionModel,
    AuditModel,
    PracticesModel,
    StaffModel,
)
from carehome_share.gui.tasks import Background
from carehome_share.services import access, auth, consent, practices, residents, settings, staff
from carehome_share.services import audit as audit_service
from carehome_share.services.context import Context
from carehome_share.store import audit
from tests.factories import ODS, PASSWORD, TEMPORARY_PASSWORD, Home

TODAY = date(2026, 11, 21)  # the test clock's day


@pytest.fixture
def window(qtbot, home: Home):
    shown = MainWindow(home.ctx, Background(home.ctx), "Rose Court")
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitUntil(lambda: not shown.busy.isVisible())
    yield shown
    shown.idle.stop()
    shown.background.close()


def find_button(parent: QWidget, name: str) -> QPushButton:
    return next(b for b in parent.findChildren(QPushButton) if b.accessibleName() == name)


def press(qtbot, parent: QWidget, name: str) -> None:
    push = find_button(parent, name)
    assert push.isEnabled(), f"{name} is disabled"
    qtbot.mouseClick(push, Qt.MouseButton.LeftButton)


def dialog_of(qtbot, kind: type[QDialog]) -> Any:
    """The dialog a button opened, once it is showing."""
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), kind))
    return QApplication.activeModalWidget()


def fill(qtbot, dialog: FormDialog, **texts: str) -> None:
    for name, text in texts.items():
        qtbot.keyClicks(dialog.form.fields[name], text)


def ok(qtbot, dialog: FormDialog) -> None:
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def closed(dialog: QDialog) -> bool:
    return QApplication.activeModalWidget() is not dialog


def tick(qtbot, box: QWidget) -> None:
    qtbot.keyClick(box, Qt.Key.Key_Space)


def show_tab(window: MainWindow, title: str) -> QWidget:
    index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == title)
    window.tabs.setCurrentIndex(index)
    return window.tabs.widget(index)


def nurse_context(home: Home) -> Context:
    """A nurse at another workstation, on the same database."""
    nurse = home.add_nurse()
    ctx = Context(home.ctx.vault, clock=home.clock, workstation="nurses-station-2")
    auth.log_in(ctx, nurse.username, PASSWORD)
    return ctx


def test_best_interests_consent_then_withdrawal_refuses_the_next_nurse(
    qtbot, home: Home, window: MainWindow
) -> None:
    page, panel = window.residents, window.residents.panel
    assert not find_button(panel, "Record consent").isEnabled()

    press(qtbot, panel, "Add resident")
    add = dialog_of(qtbot, manager.ResidentDialog)
    fill(
        qtbot, add, nhs_number=next(home.numbers), given_name="Edith", family_name="Lowe", room="7"
    )
    add.form.fields["date_of_birth"].setDate(QDate(1936, 4, 2))
    assert add.form.value("ods_code") == ODS
    ok(qtbot, add)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not window.busy.isVisible())
    page.table.selectRow(0)
    assert panel.name.text() == "Edith Lowe"
    assert window.statusBar().currentMessage() == "Resident added: Edith Lowe."
    assert "Not resident: no admission recorded" in panel.facts.text()
    assert not find_button(panel, "Discharge").isEnabled()

    press(qtbot, panel, "Admit / readmit")
    ok(qtbot, dialog_of(qtbot, manager.AdmitDialog))
    qtbot.waitUntil(lambda: find_button(panel, "Discharge").isEnabled())
    assert "Resident since 21/11/2026 10:00 (long-term)" in panel.facts.text()
    assert window.statusBar().currentMessage() == "Admitted: Edith Lowe."
    assert "No consent in force" in panel.consent.text()

    press(qtbot, panel, "Record consent")
    form = dialog_of(qtbot, manager.ConsentDialog)
    fields = form.form.fields
    assert fields["lacks_capacity"].currentText() == "Not assessed"
    assert not fields["impairment"].isVisibleTo(form)  # the resident's own: no test shown
    form.decided_by.setCurrentIndex(form.decided_by.findData(DecidedBy.BEST_INTERESTS))
    assert fields["lacks_capacity"].currentText() == "Lacks capacity for this decision"
    for shown in ("impairment", "unable_to", "people_consulted", "known_wishes"):
        assert fields[shown].isVisibleTo(form), shown
    assert not fields["authority_reference"].isVisibleTo(form)
    assert not fields["lpa_registered_on"].isVisibleTo(form)
    fill(qtbot, form, representative_name="Helen Carter", people_consulted="Son; GP; named nurse")
    fields["lacks_capacity"].setCurrentIndex(1)  # has capacity: then she decides herself
    ok(qtbot, form)
    error = form.form.errors["lacks_capacity"]
    assert form.isVisible() and error.isVisible()
    assert "capacity assessment finding the resident lacks capacity" in error.text()

    fields["lacks_capacity"].setCurrentIndex(2)
    fields["capacity_assessed_on"].setDate(QDate(2026, 11, 20))
    fill(qtbot, form, capacity_assessment="Could not retain what sharing the record means.")
    ok(qtbot, form)
    assert not error.isVisible() and form.form.errors["impairment"].isVisible()
    assert "Stage 1 of the capacity test" in form.form.errors["impairment"].text()
    fields["impairment"].setCurrentIndex(fields["impairment"].findData(True))
    fill(qtbot, form, impairment_detail="Alzheimer's disease")
    tick(qtbot, fields["unable_to"].boxes[1][0])  # retain
    fill(
        qtbot,
        form,
        support_steps="Asked twice after breakfast, with her glasses",
        capacity_assessed_by="Nina Nurse, registered nurse",
    )
    ok(qtbot, form)
    assert form.form.errors["known_wishes"].isVisible()
    fill(qtbot, form, known_wishes="Trusted the nurses with her medicines")
    ok(qtbot, form)
    qtbot.waitUntil(lambda: closed(form) and "Consent in force" in panel.consent.text())
    assert "best-interests decision (Helen Carter)" in panel.consent.text()
    assert window.statusBar().currentMessage() == "Consent given: recorded for Edith Lowe."
    resident_id = panel.listing.resident.id
    latest = consent.consent_in_force(home.ctx, resident_id).latest
    assert (latest.kind, latest.decided_by, latest.lacks_capacity) == (
        ConsentKind.GRANTED,
        DecidedBy.BEST_INTERESTS,
        True,
    )
    assert (latest.impairment, latest.unable_to, latest.known_wishes) == (
        True,
        (Ability.RETAIN,),
        "Trusted the nurses with her medicines",
    )
    assert latest.capacity_assessed_by == "Nina Nurse, registered nurse"

    press(qtbot, panel, "Withdraw / objection")
    withdraw = dialog_of(qtbot, manager.WithdrawDialog)
    ok(qtbot, withdraw)
    assert withdraw.form.errors["reason"].isVisible()
    fill(qtbot, withdraw, reason="Her son says she always kept her health private.")
    ok(qtbot, withdraw)
    qtbot.waitUntil(lambda: closed(withdraw) and "No consent in force" in panel.consent.text())
    assert "consent was withdrawn by the resident on 21/11/2026" in panel.consent.text()
    assert window.statusBar().currentMessage() == "Consent withdrawn: recorded for Edith Lowe."

    home.clock.advance(hours=2)
    press(qtbot, panel, "Discharge")
    ok(qtbot, dialog_of(qtbot, manager.DischargeDialog))
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "Discharged: Edith Lowe.")
    assert "Not resident: discharged 21/11/2026 12:00" in panel.facts.text()

    with pytest.raises(AccessRefused) as refused:
        access.open_access_session(
            nurse_context(home), resident_id, "medication_check", "Checking the morning doses"
        )
    assert "consent was withdrawn by the resident on 21/11/2026" in refused.value.reasons


def test_a_paper_consent_entered_late_is_shown_as_not_standing(
    qtbot, home: Home, window: MainWindow, clock
) -> None:
    resident = home.add_resident()  # consent given 01/11
    clock.set("2026-11-19T09:00")
    consent.record_consent(home.ctx, resident.id, "withdrawn", "resident", reason="Changed mind")
    clock.set("2026-11-21T10:00")
    page, panel = window.residents, window.residents.panel
    page.reload()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not window.busy.isVisible())
    page.table.selectRow(0)
    press(qtbot, panel, "Record consent")
    form = dialog_of(qtbot, manager.ConsentDialog)
    assert "An earlier day (a form entered late)" in form.form.hints["decided_on"].text()
    form.form.fields["decided_on"].setDate(QDate(2026, 11, 3))  # an old paper form
    ok(qtbot, form)
    qtbot.waitUntil(lambda: closed(form) and "does not stand" in panel.consent.text())
    assert panel.consent.text().startswith("<b>No consent in force</b>: consent was withdrawn")
    assert "entered late: decided 03/11/2026, entered 21/11/2026 10:00" in panel.consent.text()


def test_withdrawal_by_an_attorney_on_record(qtbot, home: Home, window: MainWindow) -> None:
    resident = home.add_resident(consent_by=None)
    home.attorney_consent(
        resident,
        representative_name="Alan Lowe",
        representative_relationship="son",
        authority_reference="LPA 7000-1234-5678",
    )
    page, panel = window.residents, window.residents.panel
    page.reload()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not window.busy.isVisible())
    page.table.selectRow(0)

    press(qtbot, panel, "Withdraw / objection")
    withdraw = dialog_of(qtbot, manager.WithdrawDialog)
    by = withdraw.form.fields["decided_by"]
    assert [by.itemText(i) for i in range(by.count())] == [
        "The resident",
        "Alan Lowe, health and welfare attorney (LPA)",
    ]
    by.setCurrentIndex(1)
    withdraw.form.fields["kind"].setCurrentIndex(1)
    fill(qtbot, withdraw, reason="Does not want the GP record read any more.")
    ok(qtbot, withdraw)
    qtbot.waitUntil(lambda: closed(withdraw))
    latest = consent.consent_history(home.ctx, resident.id)[-1]
    assert (latest.kind, latest.decided_by, latest.authority_reference) == (
        ConsentKind.OBJECTION,
        DecidedBy.LPA_ATTORNEY,
        "LPA 7000-1234-5678",
    )
    # the attorney's authority as seen, repeated from the consent they gave
    assert (latest.lpa_registered_on, latest.authority_seen_by) == (
        date(2024, 3, 15),
        "Mary Manager, registered manager",
    )


def test_edit_discharge_and_readmit_for_respite(qtbot, home: Home, window: MainWindow) -> None:
    resident = home.add_resident()
    page, panel = window.residents, window.residents.panel
    page.reload()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not window.busy.isVisible())
    for name in ("Edit details", "Admit / readmit", "Discharge", "Withdraw / objection"):
        assert not find_button(panel, name).isEnabled()
    page.table.selectRow(0)
    assert find_button(panel, "Edit details").isEnabled()
    assert not find_button(panel, "Admit / readmit").isEnabled()

    press(qtbot, panel, "Edit details")
    edit = dialog_of(qtbot, manager.ResidentDialog)
    assert edit.form.fields["nhs_number"].isReadOnly()
    edit.form.fields["room"].clear()
    fill(qtbot, edit, room="12A")
    ok(qtbot, edit)
    qtbot.waitUntil(lambda: closed(edit) and "Room 12A" in panel.facts.text())
    assert audit.entries(home.ctx.conn, last=1)[0].details["changed"] == ["room"]

    press(qtbot, panel, "Discharge")
    ok(qtbot, dialog_of(qtbot, manager.DischargeDialog))
    qtbot.waitUntil(lambda: find_button(panel, "Admit / readmit").isEnabled())
    assert "Not resident: discharged 21/11/2026 10:00" in panel.facts.text()

    home.clock.advance(days=3)
    press(qtbot, panel, "Admit / readmit")
    admit = dialog_of(qtbot, manager.AdmitDialog)
    admit.form.fields["kind"].setCurrentIndex(1)
    ok(qtbot, admit)
    qtbot.waitUntil(lambda: find_button(panel, "Discharge").isEnabled())
    stays = residents.resident_details(home.ctx, resident.id).record.stays
    assert [s.kind for s in stays] == [StayKind.LONG_TERM, StayKind.RESPITE]
    assert "(respite)" in panel.facts.text()


def test_admission_time_the_clocks_skip_or_repeat_is_asked_again(
    qtbot, home: Home, window: MainWindow
) -> None:
    resident = home.add_resident(admitted=None)
    admit = manager.AdmitDialog(home.ctx, resident, window)
    qtbot.addWidget(admit)
    picker = admit.form.fields["admitted_at"]
    picker.set_wall_time(datetime(2026, 3, 29, 1, 30))
    assert picker.which.isHidden()
    ok(qtbot, admit)
    assert "01:30 on 29/03/2026 does not" in admit.form.errors["admitted_at"].text()

    picker.set_wall_time(datetime(2026, 10, 25, 1, 30))  # the night the clocks go back
    assert not picker.which.isHidden()
    ok(qtbot, admit)
    assert "happens twice" in admit.form.errors["admitted_at"].text()
    assert residents.resident_details(home.ctx, resident.id).record.stays == ()
    picker.which.setCurrentIndex(2)  # the second 01:30, in GMT
    ok(qtbot, admit)
    stays = residents.resident_details(home.ctx, resident.id).record.stays
    assert stays[0].admitted_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_staff_added_with_a_pin_error_beside_the_field_then_deactivated(
    qtbot, home: Home, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = show_tab(window, "&Staff")
    assert page.table.source.rowCount() == 1

    press(qtbot, page, "Add")
    add = dialog_of(qtbot, manager.StaffDialog)
    fill(qtbot, add, username="nurse.bea", full_name="Bea Okoro", nmc_pin="12345")
    fill(qtbot, add, password="a temporary password")
    tick(qtbot, add.roles.boxes[Role.NURSE])
    ok(qtbot, add)
    error = add.form.errors["nmc_pin"]
    assert add.isVisible() and error.isVisible() and "NNLNNNNL" in error.text()
    add.form.fields["nmc_pin"].clear()
    fill(qtbot, add, nmc_pin="12a3456e")
    ok(qtbot, add)
    qtbot.waitUntil(lambda: closed(add) and page.table.source.rowCount() == 2)
    assert said(window) == (
        "Added Bea Okoro (nurse.bea): they choose their own password when they first log in."
    )
    bea = staff.find_staff(home.ctx, "nurse.bea")
    assert (bea.roles, bea.nmc_pin, bea.active) == (frozenset({Role.NURSE}), "12A3456E", True)

    page.table.select_where(lambda s: s.username == "nurse.bea")
    press(qtbot, page, "Record NMC check")
    check = dialog_of(qtbot, manager.NmcCheckDialog)
    check.form.fields["nmc_expires_on"].setDate(QDate(2027, 10, 31))
    ok(qtbot, check)
    qtbot.waitUntil(lambda: closed(check))
    bea = staff.find_staff(home.ctx, "nurse.bea")
    assert (bea.nmc_checked_on, bea.nmc_expires_on) == (TODAY, date(2027, 10, 31))
    assert said(window) == "NMC check recorded for Bea Okoro: registration valid until 31/10/2027."

    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    press(qtbot, page, "Deactivate")
    assert not staff.find_staff(home.ctx, "nurse.bea").active
    assert page.table.chosen().username == "nurse.bea"
    row = page.table.selectionModel().selectedRows(StaffModel.ACTIVE)[0]
    assert row.data() == "No (left)"
    assert not find_button(page, "Deactivate").isEnabled()
    assert said(window) == "Deactivated the account of Bea Okoro."


def test_lockout_shown_on_the_staff_page_and_cleared(qtbot, home: Home, window: MainWindow) -> None:
    nurse = home.add_nurse()
    station = Context(home.ctx.vault, clock=home.clock, workstation="nurses-station-2")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.log_in(station, nurse.username, "guessing wrong")
    page = show_tab(window, "&Staff")
    page.table.select_where(lambda s: s.username == nurse.username)
    login = page.table.selectionModel().selectedRows(StaffModel.LOGIN)[0]
    assert login.data() == "locked until 10:15"  # 15 minutes, UK time
    page.table.select_where(lambda s: s.username == "manager")
    assert not find_button(page, "Clear lockout").isEnabled()

    page.table.select_where(lambda s: s.username == nurse.username)
    press(qtbot, page, "Clear lockout")
    login = page.table.selectionModel().selectedRows(StaffModel.LOGIN)[0]
    assert login.data() == "" and not find_button(page, "Clear lockout").isEnabled()
    assert said(window) == f"Lockout cleared: {nurse.full_name} can log in again."
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.details["username"]) == ("clear_lockout", nurse.username)
    auth.log_in(station, nurse.username, PASSWORD)


def test_password_reset_gives_a_temporary_password_to_change_at_the_next_login(
    qtbot, home: Home, window: MainWindow
) -> None:
    nurse = home.add_nurse()
    page = show_tab(window, "&Staff")
    page.table.select_where(lambda s: s.username == nurse.username)
    press(qtbot, page, "Reset password")
    reset = dialog_of(qtbot, manager.ResetPasswordDialog)
    assert "must choose their own password" in reset.form.hints["new_password"].text()
    fill(qtbot, reset, new_password="password1234")
    ok(qtbot, reset)
    assert reset.form.errors["new_password"].text().startswith("A password that is hard")
    reset.form.fields["new_password"].clear()
    fill(qtbot, reset, new_password=TEMPORARY_PASSWORD)
    ok(qtbot, reset)
    qtbot.waitUntil(lambda: closed(reset))
    assert said(window) == (
        f"Temporary password set for {nurse.full_name}: they choose their own when they next "
        "log in."
    )
    station = Context(home.ctx.vault, clock=home.clock, workstation="nurses-station-2")
    with pytest.raises(AuthenticationFailed):
        auth.log_in(station, nurse.username, PASSWORD)  # the old password opens nothing
    auth.log_in(station, nurse.username, TEMPORARY_PASSWORD)
    assert auth.must_change_password(station)


def test_practice_and_agreement_added_then_ended(qtbot, home: Home, window: MainWindow) -> None:
    page = show_tab(window, "&GP practices")
    assert page.practices.chosen().ods_code == ODS
    assert page.agreements.source.rowCount() == 1

    press(qtbot, page, "Add practice")
    add = dialog_of(qtbot, manager.PracticeDialog)
    fill(qtbot, add, name="Hillside Surgery", ods_code="y05678", phone="01632 960123")
    ok(qtbot, add)
    qtbot.waitUntil(lambda: closed(add) and page.practices.source.rowCount() == 2)
    page.practices.select_where(lambda p: p.ods_code == "Y05678")
    assert page.agreements.source.rowCount() == 0

    press(qtbot, page, "Add agreement")
    agreement = dialog_of(qtbot, manager.AgreementDialog)
    tick(qtbot, agreement.purposes.boxes[Purpose.MEDICATION_CHECK])
    fill(qtbot, agreement, practice_signatory="Dr Hill")
    ok(qtbot, agreement)
    assert agreement.form.errors["sections"].isVisible()
    tick(qtbot, agreement.sections.boxes[Section.MEDICATIONS])
    ok(qtbot, agreement)
    qtbot.waitUntil(lambda: closed(agreement) and page.agreements.source.rowCount() == 1)
    page.agreements.selectRow(0)
    status = page.agreements.selectionModel().selectedRows(AgreementsModel.STATUS)[0]
    assert status.data() == "In force"

    press(qtbot, page, "End agreement")
    end = dialog_of(qtbot, manager.EndAgreementDialog)
    ok(qtbot, end)
    qtbot.waitUntil(lambda: closed(end))
    (ended,) = practices.list_agreements(home.ctx, "Y05678")
    assert (ended.home_signatory, ended.ends_on) == ("Mary Manager", TODAY)
    assert ended.purposes == (Purpose.MEDICATION_CHECK,)


def said(window: MainWindow) -> str:
    """The status bar's confirmation of what was just done."""
    return window.statusBar().currentMessage()


def test_practice_corrected_marked_inactive_and_deleted_when_unused(
    qtbot, home: Home, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    resident = home.add_resident()
    page = show_tab(window, "&GP practices")
    press(qtbot, page, "Add practice")
    add = dialog_of(qtbot, manager.PracticeDialog)
    fill(qtbot, add, name="Hillside Surgery", ods_code="Y05687")
    ok(qtbot, add)
    qtbot.waitUntil(lambda: closed(add) and page.practices.source.rowCount() == 2)
    assert said(window) == "Added GP practice Hillside Surgery (Y05687)."

    page.practices.select_where(lambda p: p.ods_code == "Y05687")
    press(qtbot, page, "Edit practice…")
    edit = dialog_of(qtbot, manager.PracticeDialog)
    assert edit.form.value("name") == "Hillside Surgery"
    edit.form.fields["ods_code"].clear()
    fill(qtbot, edit, ods_code="Y05678", phone="01632 960123")
    ok(qtbot, edit)
    qtbot.waitUntil(lambda: closed(edit))
    assert page.practices.chosen().ods_code == "Y05678"
    assert said(window) == "Saved GP practice Hillside Surgery (Y05678)."

    page.practices.select_where(lambda p: p.ods_code == ODS)
    press(qtbot, page, "Edit practice…")
    edit = dialog_of(qtbot, manager.PracticeDialog)
    edit.form.fields["ods_code"].clear()
    fill(qtbot, edit, ods_code="Y09999")
    ok(qtbot, edit)
    assert edit.form.errors["ods_code"].text().startswith("The code it has (Y01234): 1 resident")
    edit.reject()

    assert not find_button(page, "Mark active").isEnabled()
    press(qtbot, page, "Mark inactive")
    status = page.practices.selectionModel().selectedRows(PracticesModel.STATUS)[0]
    assert status.data() == "Inactive"
    assert find_button(page, "Mark active").isEnabled()
    assert said(window) == (
        "Riverside Surgery (Y01234) is marked inactive: not offered for new residents."
    )
    warned = []
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: warned.append(text))
    press(qtbot, page, "Delete practice…")
    assert warned == [
        "Riverside Surgery (Y01234) cannot be deleted: 1 resident, 1 data sharing agreement and "
        "3 audit entries about its patients or reports refer to it. Mark it inactive instead: "
        "it is then no longer offered for new residents, and its records and reports stay."
    ]

    window.tabs.setCurrentWidget(window.residents)
    press(qtbot, window.residents.panel, "Add resident")
    new = dialog_of(qtbot, manager.ResidentDialog)
    gp = new.form.fields["ods_code"]
    assert [gp.itemData(i) for i in range(gp.count())] == ["Y05678"]  # not the inactive one
    new.reject()
    qtbot.waitUntil(lambda: closed(new))
    window.residents.reload()  # she was added after the window opened
    qtbot.waitUntil(lambda: window.residents.model.rowCount() == 1)
    window.residents.table.selectRow(0)
    press(qtbot, window.residents.panel, "Edit details")
    edit = dialog_of(qtbot, manager.ResidentDialog)
    assert edit.form.value("ods_code") == ODS  # her practice stays hers
    ok(qtbot, edit)
    qtbot.waitUntil(lambda: closed(edit))
    assert residents.resident_details(home.ctx, resident.id).record.practice.ods_code == ODS

    show_tab(window, "&GP practices")
    page.practices.select_where(lambda p: p.ods_code == "Y05678")
    press(qtbot, page, "Delete practice…")
    assert [p.ods_code for p in practices.list_practices(home.ctx)] == [ODS]
    assert page.practices.source.rowCount() == 1
    assert said(window) == "Deleted GP practice Hillside Surgery (Y05678)."
    assert audit_service.verify(home.ctx).ok


def test_audit_viewer_filters_refusals_and_verifies_the_chain(
    qtbot, home: Home, window: MainWindow
) -> None:
    resident = home.add_resident(consent_by=None)
    other = home.add_resident()
    nurse = nurse_context(home)
    for someone in (resident, other):
        with pytest.raises(AccessRefused):
            access.open_access_session(nurse, someone.id, "hospital_transfer", "Going to A&E")

    page = show_tab(window, "A&udit")
    qtbot.waitUntil(lambda: page.model.rowCount() > 0 and not window.busy.isVisible())

    def shown() -> list:
        return [page.filter.index(r, 0).data(ROW_ROLE) for r in range(page.filter.rowCount())]

    assert {e.outcome for e in shown()} == {"allowed", "denied"}
    assert shown()[0].seq == max(e.seq for e in shown())  # newest first
    page.outcome.setCurrentIndex(page.outcome.findData("denied"))
    assert [e.resident_id for e in shown()] == [other.id, resident.id]
    assert all(e.action == "open_access_session" for e in shown())
    qtbot.keyClicks(page.resident, resident.family_name)
    assert [e.resident_id for e in shown()] == [resident.id]
    assert page.count.text().startswith("Showing 1 of ")
    qtbot.keyClicks(page.staff, "mary manager")
    assert shown() == []
    page.staff.clear()
    page.since.setDate(QDate(2026, 11, 22))
    assert shown() == []
    page.since.setDate(None)  # "not set"
    assert len(shown()) == 1

    press(qtbot, page, "Verify audit chain")
    qtbot.waitUntil(lambda: "intact" in page.chain.text())
    seq, digest = audit.head(home.ctx.conn)
    assert f"Chain head {seq}:{digest[:8]} {digest[8:16]}" in page.chain.text()


def test_attention_badge_counts_a_refusal(qtbot, home: Home, window: MainWindow) -> None:
    assert window.tabs.tabText(window.attention_index) == "Needs &attention (0)"
    resident = home.add_resident(consent_by=None)
    with pytest.raises(AccessRefused):
        access.open_access_session(
            nurse_context(home), resident.id, "medication_check", "Checking the doses"
        )
    page = window.tabs.widget(window.attention_index)
    assert isinstance(page, manager.AttentionPage)
    with qtbot.waitSignal(page.counted) as counted:
        window.tabs.setCurrentIndex(window.attention_index)
    assert counted.args == [1]
    assert page.model.item(0).kind == "refusal"
    assert window.tabs.tabText(window.attention_index) == "Needs &attention (1)"
    assert window.attention_action.text() == "Needs attention (1)"


def test_attention_rows_open_the_member_of_staff_and_the_resident(
    qtbot, home: Home, window: MainWindow
) -> None:
    """Enter on a lockout opens the Staff page with the nurse chosen (Clear lockout ready);
    a double-click on a refusal opens the resident it refused."""
    resident = home.add_resident(consent_by=None)
    nurse = home.add_nurse()
    station = nurse_context(home)
    with pytest.raises(AccessRefused):
        access.open_access_session(station, resident.id, "medication_check", "Checking doses")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.log_in(station, nurse.username, "guessing wrong")
    page = window.tabs.widget(window.attention_index)
    window.tabs.setCurrentIndex(window.attention_index)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    table = page.table

    def row_of_kind(kind: str) -> int:
        return next(r for r in range(2) if table.model().index(r, 0).data(ROW_ROLE).kind == kind)

    lockout = row_of_kind("lockout")
    assert table.model().index(lockout, AttentionModel.URGENCY).data() == "Now"
    table.setFocus()
    table.selectRow(lockout)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    staff_page = window.tabs.currentWidget()
    assert isinstance(staff_page, manager.StaffPage)
    assert staff_page.table.chosen().username == nurse.username
    assert find_button(staff_page, "Clear lockout").isEnabled()

    window.tabs.setCurrentIndex(window.attention_index)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2 and not window.busy.isVisible())
    cell = table.visualRect(table.model().index(row_of_kind("refusal"), AttentionModel.TEXT))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=cell.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=cell.center())
    assert window.tabs.currentWidget() is window.residents
    qtbot.waitUntil(lambda: window.residents.panel.name.text() == resident.full_name)
    assert window.residents.search.text() == format_nhs_number(resident.nhs_number)


def test_first_steps_ticked_from_the_records_each_button_going_where_it_is_done(
    qtbot, home: Home, window: MainWindow
) -> None:
    steps = window.first_steps
    assert steps is not None and steps.isVisible()

    def ticked() -> dict[str, bool]:
        window.tabs.setCurrentIndex(1)  # away and back: the list is worked out again
        window.tabs.setCurrentWidget(window.residents)
        return {key: tick.text() == "✔" for key, tick in steps.ticks.items()}

    assert ticked() == {
        "practice": True,  # the home fixture's practice and agreement
        "agreement": True,
        "staff": False,
        "residents": False,
        "consent": False,
    }
    qtbot.mouseClick(steps.buttons["agreement"], Qt.MouseButton.LeftButton)
    assert isinstance(window.tabs.currentWidget(), manager.PracticesPage)
    qtbot.mouseClick(steps.buttons["staff"], Qt.MouseButton.LeftButton)
    assert isinstance(window.tabs.currentWidget(), manager.StaffPage)
    home.add_nurse()
    assert ticked()["staff"]

    assert not steps.buttons["consent"].isEnabled()  # no one to choose yet
    qtbot.mouseClick(steps.buttons["residents"], Qt.MouseButton.LeftButton)
    add = dialog_of(qtbot, manager.ResidentDialog)
    fill(qtbot, add, nhs_number=next(home.numbers), given_name="Edith", family_name="Lowe")
    add.form.fields["date_of_birth"].setDate(QDate(1936, 4, 2))
    ok(qtbot, add)
    qtbot.waitUntil(lambda: closed(add))
    assert steps.ticks["residents"].text() == "○"  # added, not admitted yet
    (edith,) = residents.find_residents(home.ctx, "Lowe")
    residents.admit(home.ctx, edith.resident.id, at="2026-11-20")
    assert ticked()["residents"] and "0 of 1" in steps.texts["consent"].text()
    qtbot.mouseClick(steps.buttons["consent"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.residents.panel.name.text() == "Edith Lowe")
    assert find_button(window.residents.panel, "Record consent").isEnabled()

    consent.record_consent(home.ctx, edith.resident.id, "granted", "resident")
    assert all(ticked().values())
    assert not steps.isVisible()  # all done: gone


def test_only_the_manager_has_first_steps(open_window, home: Home) -> None:
    home.log_in(home.add_nurse())
    window = open_window()
    assert window.first_steps is None
    assert not [w for w in window.findChildren(QWidget) if w.accessibleName() == "Getting started"]


def test_settings_saved(qtbot, home: Home, window: MainWindow) -> None:
    page = show_tab(window, "S&ettings")
    box = page.boxes["idle_lock_minutes"]
    assert box.value() == 5
    box.selectAll()
    qtbot.keyClicks(box, "10")
    press(qtbot, page, "Save settings")
    assert settings.all_settings(home.ctx)["idle_lock_minutes"] == 10
    assert page.status.text() == "Saved: idle lock after 10 minutes."  # not "1 setting(s)"
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.details) == (
        "change_settings",
        {"setting": "idle_lock_minutes", "old": 5, "new": 10},
    )
    press(qtbot, page, "Save settings")
    assert page.status.text() == "Nothing changed."
    box.setValue(1)
    assert box.text() == "1 minute"  # not "1 minutes"


def test_the_homes_identifiers_on_the_settings_page(qtbot, home: Home, window: MainWindow) -> None:
    page = show_tab(window, "S&ettings")
    ods, cqc = page.ids["home_ods_code"], page.ids["cqc_location_id"]
    assert ods.text() == cqc.text() == ""
    qtbot.keyClicks(ods, "vm123")
    qtbot.keyClicks(cqc, "123456789")  # without its "1-"
    press(qtbot, page, "Save settings")
    error = page.form.errors["cqc_location_id"]
    assert error.isVisible() and '"1-" followed by 6 to 11 digits' in error.text()
    cqc.setText("1-123456789")
    press(qtbot, page, "Save settings")
    assert page.status.text() == "Saved: home's CQC location ID 1-123456789."
    assert settings.all_settings(home.ctx)["home_ods_code"] == "VM123"
    changes = [e.details for e in audit.entries(home.ctx.conn, last=2)]
    assert changes == [
        {"setting": "home_ods_code", "old": "", "new": "VM123"},
        {"setting": "cqc_location_id", "old": "", "new": "1-123456789"},
    ]


def test_manager_models_pass_the_model_tester(qtmodeltester, home: Home) -> None:
    resident = home.add_resident(consent_by=None)
    with pytest.raises(AccessRefused):
        access.open_access_session(
            nurse_context(home), resident.id, "medication_check", "Checking the dose"
        )
    staff_model = StaffModel()
    staff_model.set_rows(staff.list_staff(home.ctx))
    qtmodeltester.check(staff_model)
    practices_model = PracticesModel()
    practices_model.set_rows(practices.list_practices(home.ctx))
    qtmodeltester.check(practices_model)
    agreements_model = AgreementsModel(lambda: TODAY)
    agreements_model.set_rows(practices.list_agreements(home.ctx, ODS))
    qtmodeltester.check(agreements_model)
    audit_model = AuditModel(lambda rid: f"resident {rid}")
    audit_model.set_rows(audit_service.audit_entries(home.ctx))
    filtered = manager.AuditFilter(audit_model)
    filtered.set_filters(staff="staff member", outcome="denied")
    assert filtered.rowCount() == 1
    qtmodeltester.check(filtered)


def test_the_consent_dialog_fits_a_1366x768_screen_for_every_decision(qtbot, home: Home) -> None:
    """768 pixels less a taskbar and a title bar: at most 700 for the dialog, Save in view,
    and back to its small size when a decision that records less is chosen."""
    resident = home.add_resident(consent_by=None)
    dialog = manager.ConsentDialog(home.ctx, resident)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    heights = {}
    for who in DecidedBy:
        for kind in ConsentKind:
            dialog.decided_by.setCurrentIndex(dialog.decided_by.findData(who))
            dialog.kind.setCurrentIndex(dialog.kind.findData(kind))
            height = dialog.height()
            save = dialog.ok_button
            bottom = save.mapTo(dialog, save.rect().bottomLeft()).y()
            assert height <= 700, (who, kind, height)
            assert save.isVisible() and bottom <= height, (who, kind)
            assert dialog.scroll.viewport().width() >= dialog.form.minimumSizeHint().width()
            heights[who, kind] = height
    granted = ConsentKind.GRANTED
    assert heights[DecidedBy.BEST_INTERESTS, granted] > heights[DecidedBy.RESIDENT, granted]
    dialog.decided_by.setCurrentIndex(dialog.decided_by.findData(DecidedBy.BEST_INTERESTS))
    dialog.resize(200, dialog.height())  # the form scrolls down, never across: no field is cut
    assert dialog.scroll.viewport().width() >= dialog.form.minimumSizeHint().width()
    dialog.decided_by.setCurrentIndex(dialog.decided_by.findData(DecidedBy.RESIDENT))
    assert dialog.height() == heights[DecidedBy.RESIDENT, ConsentKind.OBJECTION]
