"""The nurse at the nurses' station: find a resident, open the GP record, tick, close; be refused
with every reason and phone the GP instead. And what a carer sees."""

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from carehome_share.domain.errors import AccessRefused
from carehome_share.domain.model import Section
from carehome_share.gui.main_window import MainWindow
from carehome_share.gui.models import AttentionModel, AuditModel, ResidentsModel, SessionsModel
from carehome_share.services import access, auth, consent, residents
from carehome_share.services.context import Context
from carehome_share.store import audit, repo
from tests.factories import MANAGER_PASSWORD, Home
from tests.gui.test_manager import press


def _choose(qtbot, window: MainWindow, name: str) -> None:
    page = window.residents
    qtbot.keyClicks(page.search, name)
    # the search's own reload too: one still due would run after the test
    qtbot.waitUntil(
        lambda: (
            page.model.rowCount() == 1
            and not page._debounce.isActive()
            and not window.busy.isVisible()
        )
    )
    page.table.selectRow(0)
    assert page.panel.name.text() == name


def test_nurse_opens_ticks_and_closes_a_session(qtbot, home: Home, open_window) -> None:
    resident = home.add_resident()
    nurse = home.add_nurse()
    home.log_in(nurse)
    window = open_window()
    assert (
        window.windowTitle()
        == f"Rose Court Care Home · {nurse.full_name} (Registered nurse) · carehome-share"
    )
    assert nurse.full_name in window.who.text()
    _choose(qtbot, window, resident.full_name)
    panel = window.residents.panel
    assert (
        "Consent in force" in panel.consent.text()
        and "given by the resident" in panel.consent.text()
    )
    assert panel.open_button.isEnabled()

    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    dialog = window.open_dialog
    assert dialog is not None and dialog.isVisible()
    assert [dialog.purpose.itemText(i) for i in range(dialog.purpose.count())] == [
        "Medication check",
        "Clinical assessment",
        "Care plan review",
    ]
    qtbot.keyClicks(dialog.justification, "Checking the warfarin dose before lunch")
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)

    session_window = window.session_window
    assert session_window is not None and session_window.isVisible()
    assert list(session_window.boxes) == [
        Section.SUMMARY,
        Section.MEDICATIONS,
        Section.ALLERGIES,
        Section.PROBLEMS,
    ]
    assert session_window.timer_label.text().startswith("Open for 00:00")
    session_window.boxes[Section.MEDICATIONS].click()
    stored = repo.get_session(home.ctx.conn, session_window.session.id)
    assert stored.sections == (Section.MEDICATIONS,) and stored.closed_at is None
    ticked = session_window.boxes[Section.MEDICATIONS]
    assert ticked.text() == "Medications: viewed, recorded 10:00"
    ticked.click()  # cannot be un-ticked once recorded
    assert ticked.isChecked()

    qtbot.mouseClick(session_window.close_button, Qt.MouseButton.LeftButton)
    stored = repo.get_session(home.ctx.conn, stored.id)
    assert stored.close_kind.value == "closed"
    assert window.session_window is None
    assert window.statusBar().currentMessage() == "GP record session closed."
    assert window.my_sessions.model.rowCount() == 1
    assert window.my_sessions.model.index(0, SessionsModel.SECTIONS).data() == "Medications"


def test_refused_nurse_sees_every_reason_and_logs_a_call(qtbot, home: Home, open_window) -> None:
    resident = home.add_resident()
    residents.discharge(home.ctx, resident.id, at="2026-11-21T09:00")
    nurse = home.add_nurse()
    home.log_in(nurse)
    window = open_window()
    _choose(qtbot, window, resident.full_name)
    assert "Not resident: discharged 21/11/2026 09:00" in window.residents.panel.facts.text()
    qtbot.mouseClick(window.residents.panel.open_button, Qt.MouseButton.LeftButton)
    dialog = window.open_dialog
    qtbot.keyClicks(dialog.justification, "Checking the warfarin dose")
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert dialog.pages.currentIndex() == 1
    assert dialog.reasons.text() == "• Not currently resident (outside any admission)"
    qtbot.mouseClick(dialog.call_button, Qt.MouseButton.LeftButton)
    call = dialog.call_dialog
    qtbot.keyClicks(call.form.fields["spoke_to"], "Dr Priya Practice, duty GP")
    qtbot.keyClicks(call.form.fields["reason"], "Needed the current warfarin dose")
    call.ok_button.click()
    assert call.form.errors["outcome"].text() == "Must not be empty"  # beside the field
    qtbot.keyClicks(call.form.fields["outcome"], "GP read out the dose; INR due Monday")
    call.ok_button.click()
    assert not dialog.isVisible()
    contact = home.ctx.conn.execute("SELECT refusal_id, spoke_to FROM gp_contact").fetchone()
    assert contact == (dialog.refusal.refusal_id, "Dr Priya Practice, duty GP")
    assert window.session_window is None
    message = window.statusBar().currentMessage()
    assert message == f"Call to the GP practice logged: {resident.full_name}."


def test_a_short_justification_is_an_input_mistake_not_a_refusal(
    qtbot, home: Home, open_window
) -> None:
    resident = home.add_resident()
    home.log_in(home.add_nurse())
    window = open_window()
    _choose(qtbot, window, resident.full_name)
    qtbot.mouseClick(window.residents.panel.open_button, Qt.MouseButton.LeftButton)
    dialog = window.open_dialog
    qtbot.keyClicks(dialog.justification, "INR")
    qtbot.keyClick(dialog.justification, Qt.Key.Key_Return)  # Return asks, as Open record does
    assert dialog.isVisible() and dialog.pages.currentIndex() == 0
    assert dialog.error.text() == (
        "A justification of at least 10 characters, not counting spaces. Nothing has been "
        "recorded yet."
    )
    assert dialog.justification.toPlainText() == "INR"
    assert home.ctx.conn.execute("SELECT count(*) FROM access_refusal").fetchone() == (0,)
    qtbot.keyClicks(dialog.justification, " check before the warfarin dose")
    qtbot.keyClick(dialog.justification, Qt.Key.Key_Return)
    assert window.session_window is not None
    assert window.session_window.session.justification == "INR check before the warfarin dose"
    window.session_window.close_session()


def test_a_lapsed_registration_is_named_on_the_panel_before_any_justification(
    qtbot, home: Home, open_window, tmp_path
) -> None:
    resident = home.add_resident()
    nurse = home.add_nurse(nmc_checked_on="2025-09-01", nmc_expires_on="2026-11-20")
    home.log_in(nurse)
    head = audit.head(home.ctx.conn)
    window = open_window()
    window.resize(1366, 768)
    _choose(qtbot, window, resident.full_name)
    panel = window.residents.panel
    assert "would be refused now" in panel.why_not.text()
    assert "The NMC registration is not current" in panel.why_not.text()
    qtbot.wait(50)  # the layout makes room for the reasons
    window.grab().save(str(tmp_path / "refused-in-advance.png"))
    assert audit.head(home.ctx.conn) == head  # nothing recorded


def test_carer_never_gets_the_session_action_and_the_service_refuses_anyway(
    qtbot, home: Home, open_window
) -> None:
    resident = home.add_resident()
    carer = home.add_staff(["carer"])
    home.log_in(carer)
    window = open_window()
    # residents, and where to log a request for someone's information: nothing more
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == ["&Residents", "&Disclosures"]
    _choose(qtbot, window, resident.full_name)
    panel = window.residents.panel
    assert not panel.open_button.isEnabled()
    assert "Only a registered nurse" in panel.why_not.text()
    assert "for nursing staff" in panel.consent.text()
    with pytest.raises(AccessRefused) as refused:
        access.open_access_session(
            home.ctx, resident.id, "medication_check", "Trying it from a script"
        )
    assert refused.value.reasons[0] == "working as Carer, not as a registered nurse"


def test_idle_lock_warns_then_locks(qtbot, home: Home, open_window) -> None:
    home.log_in(home.add_nurse())
    window = open_window()
    window.idle.idle_after = timedelta(milliseconds=1200)
    window.idle.warning = timedelta(milliseconds=900)
    with qtbot.waitSignal(window.lock, timeout=5000):
        qtbot.waitUntil(window.idle_banner.isVisible, timeout=3000)
        assert "the screen locks in" in window.idle_banner.text()


def test_activity_postpones_the_idle_lock(qtbot, home: Home, open_window) -> None:
    home.log_in(home.add_nurse())
    window = open_window()
    window.idle.idle_after = timedelta(milliseconds=800)
    with qtbot.assertNotEmitted(window.lock, wait=0):
        for _ in range(6):
            qtbot.wait(200)
            qtbot.keyClick(window.residents.search, Qt.Key.Key_Shift)


def _open_a_session(qtbot, window: MainWindow, name: str) -> None:
    _choose(qtbot, window, name)
    qtbot.mouseClick(window.residents.panel.open_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(window.open_dialog.justification, "Checking the care plan medicines")
    qtbot.mouseClick(window.open_dialog.open_button, Qt.MouseButton.LeftButton)


def test_after_the_idle_lock_the_nurse_resumes_or_closes_her_open_session(
    qtbot, home: Home, open_window, tmp_path
) -> None:
    resident = home.add_resident()
    nurse = home.add_nurse()
    home.log_in(nurse)
    window = open_window()
    _open_a_session(qtbot, window, resident.full_name)
    window._warn_idle(30)
    assert "Your GP record session stays open" in window.idle_banner.text()
    assert "resume or close it under My sessions today" in window.idle_banner.text()
    session_id = window.session_window.session.id
    window.shut()  # the idle lock, as the app does it; then she logs in again
    home.log_in(nurse)
    window = open_window()
    window.resize(1366, 768)
    window.activateWindow()
    qtbot.waitActive(window)
    page = window.my_sessions
    assert window.tabs.currentWidget() is page
    assert window.statusBar().currentMessage().startswith("A GP record session of yours is")
    assert page.table.chosen().id == session_id
    qtbot.wait(50)
    window.grab().save(str(tmp_path / "my-sessions-open.png"))
    press(qtbot, page, "Resume session")
    session_window = window.session_window
    assert session_window is not None and session_window.session.id == session_id
    session_window.boxes[Section.MEDICATIONS].click()
    qtbot.mouseClick(session_window.close_button, Qt.MouseButton.LeftButton)
    assert repo.get_session(home.ctx.conn, session_id).close_kind.value == "closed"
    assert window.statusBar().currentMessage() == "GP record session closed."

    _open_a_session(qtbot, window, resident.full_name)
    second = window.session_window.session.id
    window.shut()
    home.log_in(nurse)
    window = open_window()
    window.my_sessions.table.select_where(lambda s: s.id == second)
    press(qtbot, window.my_sessions, "Close session")
    assert repo.get_session(home.ctx.conn, second).close_kind.value == "closed"
    assert window.statusBar().currentMessage() == f"Session closed: {resident.full_name}"
    assert window.session_window is None


def test_closing_the_main_window_during_a_session_asks_first(
    qtbot, home: Home, open_window, monkeypatch
) -> None:
    resident = home.add_resident()
    home.log_in(home.add_nurse())
    window = open_window()
    _open_a_session(qtbot, window, resident.full_name)
    session_id = window.session_window.session.id
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda _p, _t, text: asked.append(text) or answers.pop(0)
    )
    window.close()
    assert window.isVisible() and asked == [
        "Your GP record session is still open. Close it and quit?"
    ]
    assert repo.get_session(home.ctx.conn, session_id).closed_at is None
    window.close()
    assert not window.isVisible()
    assert repo.get_session(home.ctx.conn, session_id).close_kind.value == "closed"


def test_models_pass_the_model_tester(qtmodeltester, home: Home) -> None:
    resident = home.add_resident()
    nurse = home.add_nurse()
    home.log_in(nurse)
    session = home.open_session(resident)
    access.record_sections_viewed(home.ctx, session.id, ["medications"])
    listing = residents.find_residents(home.ctx, "")
    model = ResidentsModel()
    model.set_rows(listing)
    qtmodeltester.check(model)
    sessions = SessionsModel(lambda _id: resident.full_name)
    sessions.set_rows(access.my_sessions_today(home.ctx))
    qtmodeltester.check(sessions)
    home.as_manager()
    from carehome_share.services import audit, exceptions

    entries = AuditModel(lambda _id: resident.full_name)
    entries.set_rows(audit.audit_entries(home.ctx))
    qtmodeltester.check(entries)
    attention = AttentionModel()
    attention.set_rows(exceptions.needing_attention(home.ctx))
    qtmodeltester.check(attention)


def test_session_left_open_is_auto_closed_at_the_limit(
    qtbot, home: Home, clock, open_window
) -> None:
    resident = home.add_resident()
    home.log_in(home.add_nurse())
    window = open_window()
    _open_a_session(qtbot, window, resident.full_name)
    session_window = window.session_window
    clock.advance(minutes=31)
    qtbot.waitUntil(lambda: "auto-closed" in session_window.timer_label.text(), timeout=3000)
    stored = repo.get_session(home.ctx.conn, session_window.session.id)
    assert stored.close_kind.value == "auto_closed"
    assert not any(box.isEnabled() for box in session_window.boxes.values())
    qtbot.mouseClick(session_window.close_button, Qt.MouseButton.LeftButton)
    assert window.session_window is None
    assert window.my_sessions.model.index(0, SessionsModel.CLOSED).data().startswith("auto-closed")


def test_a_session_ended_by_a_withdrawal_elsewhere_tells_the_nurse(
    qtbot, home: Home, clock, open_window
) -> None:
    resident = home.add_resident()
    home.log_in(home.add_nurse())
    window = open_window()
    _open_a_session(qtbot, window, resident.full_name)
    session_window = window.session_window
    clock.advance(minutes=2)
    office = Context(home.ctx.vault, clock, "office")  # the manager, at another PC
    auth.log_in(office, "manager", MANAGER_PASSWORD)
    consent.record_consent(office, resident.id, "withdrawn", "resident", reason="Said no")

    session_window.boxes[Section.ALLERGIES].click()  # the next tick finds out
    told = session_window.timer_label.text()
    assert told.startswith("Your session was ended at 21/11/2026 10:02: consent was withdrawn")
    assert not any(box.isEnabled() for box in session_window.boxes.values())
    assert not session_window.boxes[Section.ALLERGIES].isChecked()
    qtbot.mouseClick(session_window.close_button, Qt.MouseButton.LeftButton)
    assert window.session_window is None
    closed = window.my_sessions.model.index(0, SessionsModel.CLOSED).data()
    assert closed.startswith("ended 10:02: consent was withdrawn")


def test_the_session_window_says_a_consent_review_has_passed(
    qtbot, home: Home, open_window
) -> None:
    resident = home.add_resident(consent_by=None)
    consent.record_consent(
        home.ctx,
        resident.id,
        "granted",
        "resident",
        decided_on="2026-11-01",
        review_on="2026-11-20",
    )
    home.log_in(home.add_nurse())
    window = open_window()
    _open_a_session(qtbot, window, resident.full_name)
    alerts = next(
        label
        for label in window.session_window.findChildren(QLabel)
        if label.accessibleName() == "Alerts"
    )
    assert alerts.text() == (
        "• The consent decision is due for review: tell the registered manager."
    )


def test_the_nurse_path_by_keyboard_alone(qtbot, home: Home, open_window) -> None:
    resident = home.add_resident()
    home.log_in(home.add_nurse())
    window = open_window()
    window.activateWindow()
    qtbot.waitActive(window)

    def keys(*typed: Qt.Key | str) -> None:
        for key in typed:
            focused = QApplication.focusWidget()
            if isinstance(key, str):
                qtbot.keyClicks(focused, key)
            else:
                qtbot.keyClick(focused, key)

    assert QApplication.focusWidget() is window.residents.search
    keys(resident.full_name, Qt.Key.Key_Return)  # to the list, the top resident chosen
    qtbot.waitUntil(lambda: window.residents.panel.name.text() == resident.full_name)
    keys(Qt.Key.Key_Return)  # the panel's main action: Open GP record session
    dialog = window.open_dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.justification)
    keys("Checking the warfarin dose before lunch", Qt.Key.Key_Return)
    session_window = window.session_window
    assert session_window is not None
    qtbot.waitUntil(lambda: QApplication.focusWidget() in session_window.boxes.values())
    keys(Qt.Key.Key_Tab, Qt.Key.Key_Space)  # the second part: medications
    assert session_window.boxes[Section.MEDICATIONS].isChecked()
    keys(Qt.Key.Key_Tab, Qt.Key.Key_Tab, Qt.Key.Key_Tab)  # past the other two parts
    assert QApplication.focusWidget() is session_window.close_button
    keys(Qt.Key.Key_Space)
    stored = repo.get_session(home.ctx.conn, session_window.session.id)
    assert stored.sections == (Section.MEDICATIONS,) and stored.close_kind.value == "closed"
    assert window.session_window is None
