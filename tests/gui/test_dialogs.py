"""Every form dialog, by keyboard: it opens with the typing in its first field (never on a
button, where Space would submit an empty form), Return in a one-line field submits it, and an
error beside a field goes once that field is changed. Dates are typed as dd/mm/yyyy."""

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLineEdit, QPlainTextEdit, QWidget

from carehome_share.domain.errors import ValidationError
from carehome_share.gui import disclosures as disclosure_dialogs
from carehome_share.gui import manager
from carehome_share.gui.change_password import ChangePasswordDialog
from carehome_share.gui.forms import ClockTimeEdit, DateEdit, FormDialog
from carehome_share.gui.login import LoginDialog
from carehome_share.gui.sessions import GpCallDialog
from carehome_share.gui.startup import UnlockDialog
from carehome_share.services import disclosures, practices, residents, settings
from carehome_share.store.vault import NotEnrolled
from tests.factories import ODS, Home
from tests.gui.test_manager import dialog_of, ok, press, show_tab

TODAY = date(2026, 11, 21)  # the test clock's day


def _record(home: Home):
    return residents.resident_details(home.ctx, home.add_resident().id).record


def _request(home: Home):
    return disclosures.log_request(
        home.ctx,
        requester="police",
        organisation="Anyshire Police",
        person="DC Sam Patel",
        resident_ids=[home.add_resident().id],
        asked="Dates of her stay",
        why="A theft from her room",
        basis="crime",
    )


DIALOGS: dict[str, Callable[[Home, Path], FormDialog]] = {
    "add resident": lambda home, _: manager.ResidentDialog(home.ctx, None, None),
    "edit resident": lambda home, _: manager.ResidentDialog(home.ctx, home.add_resident(), None),
    "admit": lambda home, _: manager.AdmitDialog(home.ctx, home.add_resident(None), None),
    "discharge": lambda home, _: manager.DischargeDialog(home.ctx, home.add_resident(), None),
    "record consent": lambda home, _: manager.ConsentDialog(home.ctx, home.add_resident(), None),
    "withdrawal": lambda home, _: manager.WithdrawDialog(home.ctx, _record(home), None),
    "add staff": lambda home, _: manager.StaffDialog(home.ctx, None, None),
    "edit staff": lambda home, _: manager.StaffDialog(home.ctx, home.add_nurse(), None),
    "NMC check": lambda home, _: manager.NmcCheckDialog(home.ctx, home.add_nurse(), None),
    "reset password": lambda home, _: manager.ResetPasswordDialog(home.ctx, home.add_nurse(), None),
    "add practice": lambda home, _: manager.PracticeDialog(home.ctx, None, None),
    "add agreement": lambda home, _: manager.AgreementDialog(
        home.ctx, practices.list_practices(home.ctx)[0], None
    ),
    "end agreement": lambda home, _: manager.EndAgreementDialog(
        home.ctx, practices.list_agreements(home.ctx, ODS)[0], None
    ),
    "GP call": lambda home, _: GpCallDialog(home.ctx, _record(home), None),
    "change password": lambda home, _: ChangePasswordDialog(home.ctx),
    "log in": lambda home, _: LoginDialog(),
    "unlock": lambda _, db_path: UnlockDialog(db_path, str(NotEnrolled())),
    "log disclosure": lambda home, _: disclosure_dialogs.LogDialog(home.ctx, None),
    "disclosure checks": lambda home, _: disclosure_dialogs.ChecksDialog(
        home.ctx, _request(home), None
    ),
    "decide disclosure": lambda home, _: disclosure_dialogs.DecideDialog(
        home.ctx, _request(home), None
    ),
}


@pytest.fixture(params=DIALOGS)
def shown(request, qtbot, home: Home, db_path: Path) -> FormDialog:
    dialog = DIALOGS[request.param](home, db_path)
    qtbot.addWidget(dialog)
    dialog.ok_button.setEnabled(True)  # the login window's, once the services are ready
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _field_name(dialog: FormDialog, widget: QWidget) -> str:
    return next(
        name
        for name, field in dialog.form.fields.items()
        if field is widget or field.isAncestorOf(widget)
    )


def test_a_dialog_opens_with_the_typing_in_a_field(shown: FormDialog) -> None:
    focused = shown.focusWidget()
    assert focused is not None and shown.form.isAncestorOf(focused)
    assert not isinstance(focused, QAbstractButton)
    assert not (isinstance(focused, QLineEdit) and focused.isReadOnly())


def test_no_checkbox_or_button_text_is_cut_off(shown: FormDialog) -> None:
    cut = [
        widget.text()
        for widget in shown.findChildren(QAbstractButton)
        if widget.text() and widget.isVisible() and widget.width() < widget.sizeHint().width()
    ]
    assert cut == []


def test_return_in_a_one_line_field_submits(qtbot, shown: FormDialog, monkeypatch) -> None:
    submitted = []
    monkeypatch.setattr(shown, "submit", lambda: submitted.append(True))
    line = next(
        (
            field.focusProxy() or field
            for field in shown.form.fields.values()
            if isinstance(field.focusProxy() or field, QLineEdit)
            and field.isVisibleTo(shown)
            and not (field.focusProxy() or field).isReadOnly()
        ),
        None,
    )
    if line is None:  # admission and discharge: a date and time, and a choice
        line = shown.focusWidget()
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert submitted and shown.result() == shown.DialogCode.Accepted


def _change(qtbot, widget: QWidget) -> None:
    """A keyboard change to a field, as a person makes it."""
    target = widget.focusProxy() or widget
    if isinstance(widget, ClockTimeEdit):
        qtbot.keyClick(widget.edit, Qt.Key.Key_Up)
    elif isinstance(target, QLineEdit | QPlainTextEdit):
        qtbot.keyClicks(target, "x")
    else:  # a drop-down: the next choice
        qtbot.keyClick(target, Qt.Key.Key_Down)


def test_an_error_beside_a_field_goes_when_the_field_is_changed(
    qtbot, shown: FormDialog, monkeypatch
) -> None:
    first = shown.focusWidget()
    name = _field_name(shown, first)
    monkeypatch.setattr(
        shown, "submit", lambda: (_ for _ in ()).throw(ValidationError(name, "not like that"))
    )
    ok(qtbot, shown)
    error = shown.form.errors[name]
    assert error.isVisible() and error.text() == "Not like that"
    _change(qtbot, shown.form.fields[name])
    assert not error.isVisible()
    monkeypatch.setattr(shown, "submit", lambda: None)
    ok(qtbot, shown)
    assert shown.result() == shown.DialogCode.Accepted


def _type(qtbot, field: DateEdit, text: str) -> None:
    field.line.selectAll()
    qtbot.keyClicks(field.line, text)


def test_a_date_of_birth_is_typed_and_an_impossible_one_named(
    qtbot, home: Home, open_window
) -> None:
    window = open_window()
    press(qtbot, window.residents.panel, "Add resident")
    add = dialog_of(qtbot, manager.ResidentDialog)
    assert add.focusWidget() is add.form.fields["nhs_number"]  # typing starts at once
    number = next(home.numbers)
    qtbot.keyClicks(add.form.fields["nhs_number"], number)
    for name, text in (("given_name", "Edith"), ("family_name", "Lowe"), ("room", "7")):
        qtbot.keyClicks(add.form.fields[name], text)
    born: DateEdit = add.form.fields["date_of_birth"]
    assert born.line.text() == "" and born.line.placeholderText().startswith("not set")
    born.pick.showMenu = lambda: None  # no real pop-up menu in a test: only where it opens
    born._show_month()
    assert born.calendar.yearShown() == TODAY.year - 80  # residents are mostly old

    _type(qtbot, born, "31/02/1936")
    qtbot.keyClick(born.line, Qt.Key.Key_Return)
    error = add.form.errors["date_of_birth"]
    assert add.isVisible() and error.isVisible()
    assert error.text() == "Date of birth: 31/02/1936 is not a day on the calendar"
    assert residents.find_residents(home.ctx) == []  # nothing written
    _type(qtbot, born, "2/4/1936")
    assert not error.isVisible()  # gone as the date is corrected
    qtbot.keyClick(born.line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not add.isVisible())
    (added,) = residents.find_residents(home.ctx)
    assert added.resident.date_of_birth == date(1936, 4, 2)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("31/12/2027", date(2027, 12, 31)),
        ("1/7/2027", date(2027, 7, 1)),
        ("01/07/2027", date(2027, 7, 1)),
        ("", None),  # open-ended
    ],
)
def test_an_optional_date_takes_what_is_typed_over_its_blank(
    qtbot, home: Home, typed: str, read: date | None
) -> None:
    dialog = manager.AgreementDialog(home.ctx, practices.list_practices(home.ctx)[0], None)
    qtbot.addWidget(dialog)
    last_day: DateEdit = dialog.form.fields["ends_on"]
    assert last_day.line.placeholderText() == "open-ended (dd/mm/yyyy)"
    assert dialog.form.value("ends_on") is None
    qtbot.keyClicks(last_day.line, typed)
    assert last_day.line.text() == typed  # not "open-ended31122027"
    assert dialog.form.value("ends_on") == read


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("29/02/2027", "Last day: 29/02/2027 is not a day on the calendar"),
        ("31/12/27", "Last day: type the year in full ('31/12/27')"),
        ("1/1/0026", "Last day: 1/1/0026 is not between 1900 and 2100"),
        ("next year", "Last day: type the date as dd/mm/yyyy, not 'next year'"),
    ],
)
def test_a_date_the_app_cannot_take_is_refused_beside_its_field(
    qtbot, home: Home, typed: str, said: str
) -> None:
    dialog = manager.AgreementDialog(home.ctx, practices.list_practices(home.ctx)[0], None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.form.fields["ends_on"].line, typed)
    ok(qtbot, dialog)
    assert dialog.isVisible() and dialog.form.errors["ends_on"].text() == said
    assert len(practices.list_agreements(home.ctx, ODS)) == 1  # only the home's first


def test_a_picked_date_is_written_in_the_field(qtbot, home: Home) -> None:
    check = manager.NmcCheckDialog(home.ctx, home.add_nurse(), None)
    qtbot.addWidget(check)
    until: DateEdit = check.form.fields["nmc_expires_on"]
    until.pick.showMenu = lambda: None
    until._show_month()  # opens at the date in the field: the registration's last day
    until.calendar.clicked.emit(until.calendar.selectedDate().addDays(3))
    assert until.line.text() == "03/10/2027"
    assert check.form.value("nmc_expires_on") == date(2027, 10, 3)


def test_return_in_a_setting_saves_it(qtbot, home: Home, open_window) -> None:
    page = show_tab(open_window(), "S&ettings")
    box = page.boxes["session_limit_minutes"]
    box.selectAll()
    qtbot.keyClicks(box, "20")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert settings.all_settings(home.ctx)["session_limit_minutes"] == 20
    assert page.status.text() == "Saved: session time limit 20 minutes."


def test_an_nhs_number_already_registered_names_who_has_it(qtbot, home: Home) -> None:
    first = home.add_resident()
    add = manager.ResidentDialog(home.ctx, None, None)
    qtbot.addWidget(add)
    add.show()
    qtbot.keyClicks(add.form.fields["nhs_number"], first.nhs_number)
    qtbot.keyClicks(add.form.fields["given_name"], "Other")
    qtbot.keyClicks(add.form.fields["family_name"], "Person")
    _type(qtbot, add.form.fields["date_of_birth"], "01/01/1940")
    ok(qtbot, add)
    assert add.form.errors["nhs_number"].text() == (
        f"This NHS number is already registered here ({first.full_name}, born 17/05/1938, "
        f"resident {first.id})"
    )


def test_an_agreement_with_no_purpose_ticked_says_none_is(qtbot, home: Home) -> None:
    dialog = manager.AgreementDialog(home.ctx, practices.list_practices(home.ctx)[0], None)
    qtbot.addWidget(dialog)
    dialog.show()
    ok(qtbot, dialog)
    assert dialog.form.errors["purposes"].text() == "None chosen: choose at least one"
    qtbot.keyClick(dialog.purposes.boxes[next(iter(dialog.purposes.boxes))], Qt.Key.Key_Space)
    assert not dialog.form.errors["purposes"].isVisible()  # gone as one is ticked
