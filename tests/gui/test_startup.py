"""First run, opening the database by logging in, the recovery code (also from the login window,
for a locked-out manager), a 0.1 file's old passphrase, and the first login with a temporary
password, clicked through as the manager and a nurse would."""

import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QMessageBox, QPushButton, QWizard

from carehome_share.domain.errors import AuthenticationFailed
from carehome_share.domain.model import Role
from carehome_share.gui.change_password import ChangePasswordDialog
from carehome_share.gui.desktop import Desktop
from carehome_share.gui.login import LoginDialog
from carehome_share.gui.main_window import MainWindow
from carehome_share.gui.startup import RecoveryCodeView, SetupWizard, UnlockDialog
from carehome_share.services import auth, staff
from carehome_share.services.context import Context
from carehome_share.store import audit, recovery
from carehome_share.store.vault import (
    DatabaseError,
    NeedsOldPassphrase,
    NotEnrolled,
    Vault,
    WrongPassword,
)
from tests.factories import MANAGER_PASSWORD, PASSWORD, TEMPORARY_PASSWORD, Home
from tests.test_upgrade import FIXTURES, OLD_DEMO_PASSWORD, RELEASES

WIZARD_PASSWORD = "manager password 1"


def _type(qtbot, widget, text: str) -> None:
    widget.clear()
    qtbot.keyClicks(widget, text)


def _next(qtbot, wizard: SetupWizard) -> None:
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)


def _fill_home_and_manager(qtbot, wizard: SetupWizard, again: str = WIZARD_PASSWORD) -> None:
    """The home's name and the first manager; Next on the manager page creates the database."""
    _type(qtbot, wizard.home_page.form.fields["home_name"], "Rose Court Care Home")
    _next(qtbot, wizard)
    form = wizard.manager_page.form
    _type(qtbot, form.fields["full_name"], "Mary Manager")
    _type(qtbot, form.fields["username"], "mary")
    _type(qtbot, form.fields["password"], WIZARD_PASSWORD)
    _type(qtbot, form.fields["password_again"], again)
    _next(qtbot, wizard)


def type_back(qtbot, view: RecoveryCodeView) -> None:
    """Type back the two groups asked for, from the code as shown."""
    for number, field in view.typed.items():
        qtbot.keyClicks(field, view.code.text().split(" - ")[number - 1])


def test_first_run_wizard_creates_a_database_the_manager_opens_with_their_password(
    qtbot, db_path: Path, memory_keyring
) -> None:
    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.show()
    _next(qtbot, wizard)  # no home name yet
    assert wizard.home_page.form.errors["home_name"].isVisible()
    assert wizard.home_page.form.errors["home_name"].text() == "Must not be empty"
    _fill_home_and_manager(qtbot, wizard)
    assert "device secret kept in the system keychain, opens" in (
        wizard.manager_page.key_note.text()
    )
    assert wizard.vault is not None and db_path.exists()
    assert [entry for _service, entry in memory_keyring.entries] == [
        f"device:{wizard.vault.home_id}"
    ]
    view = wizard.currentPage().view
    assert recovery.decode(view.code.text()) == recovery.decode(wizard.recovery_code)
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert not finish.isEnabled()  # until the code is confirmed kept
    type_back(qtbot, view)
    assert finish.isEnabled()
    wizard.vault.close()

    Vault.open_as(db_path, "mary", WIZARD_PASSWORD).close()
    with pytest.raises(WrongPassword):
        Vault.open_as(db_path, "mary", "not the password")
    Vault.open_with_recovery_code(db_path, wizard.recovery_code).close()


def test_the_wizard_is_not_left_until_the_new_recovery_code_is_kept(
    qtbot, db_path: Path, tmp_path: Path
) -> None:
    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.show()
    _fill_home_and_manager(qtbot, wizard)
    page = wizard.recovery_page
    assert not wizard.button(QWizard.WizardButton.CancelButton).isVisible()
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    assert wizard.isVisible() and page.banner.isVisible()
    assert page.banner.text().startswith("The records are already set up")
    qtbot.wait(50)
    wizard.grab().save(str(tmp_path / "recovery-page.png"))
    assert page.banner.height() >= page.banner.heightForWidth(page.banner.width())  # not cut off
    type_back(qtbot, page.view)
    assert not page.banner.isVisible()
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    assert wizard.result() == QWizard.DialogCode.Accepted
    wizard.vault.close()


def test_weak_or_mismatched_manager_password_is_shown_beside_the_field(
    qtbot, db_path: Path
) -> None:
    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.show()
    _fill_home_and_manager(qtbot, wizard, again="manager password 2")
    form = wizard.manager_page.form
    assert form.errors["password_again"].text() == "The two passwords differ"
    _type(qtbot, form.fields["password"], "rosecourt1")
    _next(qtbot, wizard)
    assert form.errors["password"].text().startswith("A password that is hard to guess")
    assert not form.errors["password_again"].isVisible()
    assert not db_path.exists()


def test_the_username_hint_and_its_error_state_the_same_rule(qtbot, db_path: Path) -> None:
    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.show()
    _type(qtbot, wizard.home_page.form.fields["home_name"], "Rose Court Care Home")
    _next(qtbot, wizard)
    form = wizard.manager_page.form
    rule = "letters a to z, digits, dots, dashes or underscores"
    assert form.hints["username"].text() == f"L{rule[1:]}, e.g. mary.manager"
    _type(qtbot, form.fields["full_name"], "Mary Manager")
    _type(qtbot, form.fields["username"], "mary manager")
    _type(qtbot, form.fields["password"], WIZARD_PASSWORD)
    _type(qtbot, form.fields["password_again"], WIZARD_PASSWORD)
    _next(qtbot, wizard)
    assert form.errors["username"].text() == f"A space cannot be in a username: use only {rule}"
    assert not db_path.exists()


def test_without_a_keychain_the_wizard_says_the_password_alone_protects_the_key(
    qtbot, db_path: Path
) -> None:
    keyring.set_keyring(fail.Keyring())
    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.show()
    _fill_home_and_manager(qtbot, wizard)
    note = wizard.manager_page.key_note.text()
    assert note.startswith("No secure keychain on this computer")
    assert "password alone protects their key" in note
    assert wizard.vault is not None
    wizard.vault.close()
    Vault.open_as(db_path, "mary", WIZARD_PASSWORD).close()


@pytest.fixture
def closed_home(db_path: Path, clock) -> str:
    """A home set up and closed, as the app finds it at start; its recovery code."""
    vault, code = Vault.create(db_path)
    Home.set_up(Context(vault, clock=clock), clock)
    vault.close()
    return code


def _start(qtbot, path: Path) -> Desktop:
    """The app started on a closed database file: its login window is showing."""
    started = Desktop(path)
    login = LoginDialog()
    qtbot.addWidget(login)
    started.show_login(login)
    return started


@pytest.fixture
def desktop(qtbot, db_path: Path, closed_home) -> Iterator[Desktop]:
    """The app started on the closed home."""
    started = _start(qtbot, db_path)
    yield started
    started.close()


def _log_in(qtbot, login: LoginDialog, username: str, password: str) -> None:
    _type(qtbot, login.username, username)
    _type(qtbot, login.password, password)
    qtbot.mouseClick(login.ok_button, Qt.MouseButton.LeftButton)


def test_the_login_window_opens_the_database(qtbot, desktop: Desktop, db_path: Path) -> None:
    login = desktop.login
    assert login.windowTitle() == "Log in: carehome.db"  # the home's name is inside the file
    assert desktop.ctx is None
    _log_in(qtbot, login, "manager", "not my password")
    assert login.form.errors["password"].text() == "Wrong username or password."
    assert login.password.text() == "" and desktop.ctx is None  # still closed
    _log_in(qtbot, login, "manager", MANAGER_PASSWORD)
    assert login.windowTitle() == "Log in: Rose Court Care Home"
    assert isinstance(desktop.window, MainWindow) and desktop.window.isVisible()
    assert desktop.ctx.vault.path == db_path.resolve()
    assert desktop.ctx.login.staff.username == "manager"

    desktop.window.lock.emit()  # the database stays open; the slot checks the password
    assert desktop.window is None and desktop.ctx.login is None
    relogin = desktop.login
    assert relogin is not login and relogin.windowTitle() == "Log in: Rose Court Care Home"
    _log_in(qtbot, relogin, "manager", "still not my password")
    assert relogin.form.errors["password"].text() == "Wrong username or password."
    _log_in(qtbot, relogin, "manager", MANAGER_PASSWORD)
    assert desktop.window is not None and desktop.ctx.login.staff.username == "manager"


def test_cancel_on_the_lock_screen_asks_before_quitting(
    qtbot, desktop: Desktop, monkeypatch
) -> None:
    quits = []
    monkeypatch.setattr(QApplication, "quit", lambda: quits.append(True))
    _log_in(qtbot, desktop.login, "manager", MANAGER_PASSWORD)
    desktop.window.lock.emit()
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: answers.pop(0))
    lock_screen = desktop.login
    lock_screen.reject()  # Cancel
    assert lock_screen.isVisible() and quits == []
    lock_screen.reject()
    assert quits == [True]


def _answer_unlock(monkeypatch: pytest.MonkeyPatch, text: str) -> list[UnlockDialog]:
    """The unlock dialog, when it opens, is given `text` and Unlock is pressed."""
    shown = []

    def exec_(dialog: UnlockDialog) -> int:
        shown.append(dialog)
        dialog.form.fields[recovery.FIELD].setText(text)
        dialog.ok_button.click()
        return dialog.result()

    monkeypatch.setattr(UnlockDialog, "exec", exec_)
    return shown


def test_on_a_new_computer_the_recovery_code_opens_then_the_login_carries_on(
    qtbot, desktop: Desktop, closed_home: str, memory_keyring, monkeypatch
) -> None:
    memory_keyring.entries.clear()  # another computer: no device secret here
    shown = _answer_unlock(monkeypatch, "not the recovery code")
    _log_in(qtbot, desktop.login, "manager", MANAGER_PASSWORD)
    assert desktop.ctx is None and "13 groups of 5" in shown[0].form.errors[recovery.FIELD].text()
    assert desktop.login.banner.text() == str(NotEnrolled())  # cancelled: why, in the window
    assert "passphrase" not in shown[0].form.hints[recovery.FIELD].text()  # a 0.1 file's only
    code, show = shown[0].form.fields[recovery.FIELD], shown[0].form.fields["show_code"]
    assert code.echoMode() == QLineEdit.EchoMode.Password
    show.setChecked(True)  # to find the group with a typing error by eye
    assert code.echoMode() == QLineEdit.EchoMode.Normal

    _answer_unlock(monkeypatch, closed_home)
    _log_in(qtbot, desktop.login, "manager", MANAGER_PASSWORD)
    assert desktop.window is not None and desktop.ctx.login.staff.username == "manager"
    assert len(memory_keyring.entries) == 1  # this computer is enrolled


def test_a_0_1_database_opens_with_its_old_passphrase_then_the_login_carries_on(
    qtbot, tmp_path: Path, monkeypatch
) -> None:
    copy = tmp_path / "release.db"
    shutil.copy2(FIXTURES / "release-0.1.0.db", copy)
    passphrase, _code, _residents = RELEASES["release-0.1.0.db"]
    desktop = _start(qtbot, copy)
    login = desktop.login
    shown = _answer_unlock(monkeypatch, passphrase)
    try:
        _log_in(qtbot, login, "manager", OLD_DEMO_PASSWORD)
        assert "old passphrase" in shown[0].form.hints[recovery.FIELD].text()
        assert desktop.window is not None and desktop.ctx.vault.in_transition()
    finally:
        desktop.close()
    Vault.open_as(copy, "manager", OLD_DEMO_PASSWORD).close()  # a key slot of its own now


def test_a_0_1_account_without_a_slot_gives_the_old_passphrase_once_then_its_password(
    qtbot, tmp_path: Path, monkeypatch
) -> None:
    """The manager has logged in since the upgrade (the key file exists); a nurse who has not
    has no slot to open, so the old passphrase opens the file once and her login gives her one."""
    copy = tmp_path / "release.db"
    shutil.copy2(FIXTURES / "release-0.1.0.db", copy)
    passphrase, _code, _residents = RELEASES["release-0.1.0.db"]
    manager = Context(Vault.open_with_old_passphrase(copy, passphrase))
    auth.log_in(manager, "manager", OLD_DEMO_PASSWORD)
    auth.log_out(manager)
    manager.vault.close()
    with pytest.raises(NeedsOldPassphrase):
        Vault.open_as(copy, "nurse.amira", OLD_DEMO_PASSWORD)

    desktop = _start(qtbot, copy)
    shown = _answer_unlock(monkeypatch, passphrase)
    try:
        _log_in(qtbot, desktop.login, "nurse.amira", OLD_DEMO_PASSWORD)
        dialog = shown[0]
        assert str(NeedsOldPassphrase()) in _texts(dialog)
        assert dialog.form.fields[recovery.FIELD].accessibleName() == (
            "Recovery code or old passphrase"
        )
        assert desktop.window is not None and desktop.ctx.login.staff.username == "nurse.amira"
    finally:
        desktop.close()
    Vault.open_as(copy, "nurse.amira", OLD_DEMO_PASSWORD).close()  # her own slot now


def _texts(dialog) -> str:
    return "\n".join(label.text() for label in dialog.findChildren(QLabel))


@pytest.fixture
def locked_out(db_path: Path) -> tuple[str, str, str]:
    """A closed home whose manager and a nurse are locked out after 5 wrong passwords each, and
    a carer who is not (on the real clock, as the app's). Its recovery code, the nurse's and
    the carer's usernames."""
    vault, code = Vault.create(db_path)
    ctx = Context(vault)
    home = Home.set_up(ctx, ctx.clock)
    nurse, carer = home.add_nurse(), home.add_staff(["carer"])
    auth.log_out(ctx)
    for username in ("manager", nurse.username):
        for _ in range(5):
            with pytest.raises(AuthenticationFailed):
                auth.log_in(ctx, username, "guessing wrong")
    vault.close()
    return code, nurse.username, carer.username


def _clearances(ctx: Context) -> list[audit.AuditEntry]:
    return [e for e in audit.entries(ctx.conn) if e.action == "clear_lockout"]


def test_a_locked_out_manager_logs_in_with_the_recovery_code_from_the_login_window(
    qtbot, db_path: Path, locked_out, monkeypatch
) -> None:
    code, _nurse, carer = locked_out
    desktop = _start(qtbot, db_path)
    try:
        _log_in(qtbot, desktop.login, carer, PASSWORD)  # opens the file through her slot
        assert desktop.window is not None
        desktop.window.background.wait()
        opened, background = desktop.ctx.vault, desktop.background
        worker = background._worker_ctx  # the main window's work ran on a second connection
        assert worker is not None
        desktop.window.switch_user.emit()

        login = desktop.login
        _log_in(qtbot, login, "manager", MANAGER_PASSWORD)
        assert "locked until" in login.form.errors["password"].text()
        button = login.recovery_button
        assert button.isVisible() and button.focusPolicy() & Qt.FocusPolicy.TabFocus
        with qtbot.waitActive(login):
            login.activateWindow()
        login.role.setFocus()
        qtbot.keyClick(login.role, Qt.Key.Key_Tab)
        assert button.hasFocus()  # after the fields, before Log in

        shown = _answer_unlock(monkeypatch, code)
        qtbot.keyClick(login, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)  # its mnemonic
        qtbot.waitUntil(lambda: desktop.ctx.vault is not opened)  # a button's click is animated
        assert "locked out after repeated wrong passwords" in _texts(shown[0])
        assert "passphrase" not in shown[0].form.hints[recovery.FIELD].text()
        for connection in (opened.conn, worker.vault.conn):  # the old database closed cleanly
            with pytest.raises(DatabaseError):
                connection.execute("SELECT 1")
        assert background._worker_ctx is None and desktop.background is not background
        assert desktop.ctx.vault.opened_by == "recovery code" and desktop.window is None
        assert not button.isVisible() and login.recovery_note.isVisible()
        assert not login.form.errors["password"].isVisible()

        _log_in(qtbot, login, "manager", MANAGER_PASSWORD)
        assert desktop.window is not None and desktop.ctx.login.staff.username == "manager"
        [cleared] = _clearances(desktop.ctx)
        assert cleared.actor_username == "manager" and cleared.details == {"by": "recovery code"}
    finally:
        desktop.close()
    Vault.open_as(db_path, "manager", MANAGER_PASSWORD).close()


def test_the_recovery_code_lets_no_locked_out_nurse_in(
    qtbot, db_path: Path, locked_out, monkeypatch
) -> None:
    code, nurse, _carer = locked_out
    desktop = _start(qtbot, db_path)
    login = desktop.login
    try:
        monkeypatch.setattr(UnlockDialog, "exec", lambda _dialog: 0)  # cancelled
        qtbot.mouseClick(login.recovery_button, Qt.MouseButton.LeftButton)
        assert desktop.ctx is None and login.recovery_button.isVisible()

        _answer_unlock(monkeypatch, code)
        qtbot.mouseClick(login.recovery_button, Qt.MouseButton.LeftButton)
        assert desktop.ctx.vault.opened_by == "recovery code"
        assert login.windowTitle() == "Log in: Rose Court Care Home"
        _log_in(qtbot, login, nurse, PASSWORD)
        assert "locked until" in login.form.errors["password"].text()
        assert desktop.window is None and desktop.ctx.login is None
        assert _clearances(desktop.ctx) == []
    finally:
        desktop.close()


def test_the_demo_login_window_offers_no_recovery_code(qtbot, tmp_path: Path) -> None:
    from carehome_share import demo

    folder = tmp_path / "demo"
    vault, _code = Vault.create(folder / "demo.db", purpose="demo")
    desktop = Desktop(vault.path, vault, folder)
    login = LoginDialog()
    qtbot.addWidget(login)
    desktop.show_login(login)
    try:
        assert login.demo_accounts.count() == len(demo.DEMO_ACCOUNTS)
        assert login.use_recovery_code is None
        assert not any("recovery" in b.text() for b in login.findChildren(QPushButton))
    finally:
        desktop.close()
    assert not folder.exists()


def test_unlock_takes_the_recovery_code_and_never_offers_a_new_database(
    qtbot, db_path: Path, closed_home: str, memory_keyring
) -> None:
    memory_keyring.entries.clear()
    dialog = UnlockDialog(db_path, str(NotEnrolled()))
    qtbot.addWidget(dialog)
    buttons = [b.text() for b in dialog.buttons.buttons()]
    assert not any("new" in b.lower() or "create" in b.lower() for b in buttons)
    field = dialog.form.fields[recovery.FIELD]
    _type(qtbot, field, "not the right code")
    dialog.ok_button.click()
    assert "13 groups of 5" in dialog.form.errors[recovery.FIELD].text()
    _type(qtbot, field, recovery.encode(bytes(32)))
    dialog.ok_button.click()
    assert (
        dialog.form.errors[recovery.FIELD]
        .text()
        .startswith("Wrong recovery code: it does not open this file.")
    )
    assert "Key mismatch" not in dialog.form.errors[recovery.FIELD].text()
    _type(qtbot, field, closed_home)
    dialog.ok_button.click()
    assert dialog.result() == dialog.DialogCode.Accepted
    dialog.result_value.close()
    assert len(memory_keyring.entries) == 1  # the device secret is back in the keychain


def test_a_temporary_password_is_changed_before_the_main_window(
    qtbot, desktop: Desktop, db_path: Path, clock
) -> None:
    vault = Vault.open_as(db_path, "manager", MANAGER_PASSWORD)
    ctx = Context(vault, clock=clock)
    auth.log_in(ctx, "manager", MANAGER_PASSWORD)
    staff.add_staff(ctx, "carer.cal", "Cal Carter", ["carer"], TEMPORARY_PASSWORD)
    auth.log_out(ctx)
    vault.close()

    first = desktop.login
    _log_in(qtbot, first, "carer.cal", TEMPORARY_PASSWORD)
    dialog = desktop.password_dialog
    assert isinstance(dialog, ChangePasswordDialog) and dialog.isVisible()
    assert desktop.window is None
    cancel = next(b for b in dialog.buttons.buttons() if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and desktop.window is None
    assert desktop.ctx.login is None  # logged out
    assert desktop.login is not first and desktop.login.isVisible()

    _log_in(qtbot, desktop.login, "carer.cal", TEMPORARY_PASSWORD)
    dialog = desktop.password_dialog
    form = dialog.form
    _type(qtbot, form.fields["current_password"], TEMPORARY_PASSWORD)
    _type(qtbot, form.fields["new_password"], "cal carter 1")
    dialog.ok_button.click()
    assert form.errors["new_password"].text().startswith("A password that is hard to guess")
    _type(qtbot, form.fields["new_password"], PASSWORD)
    _type(qtbot, form.fields["new_password_again"], PASSWORD + "!")
    dialog.ok_button.click()
    assert form.errors["new_password_again"].text() == "The two passwords differ"
    assert dialog.isVisible() and desktop.window is None
    _type(qtbot, form.fields["new_password_again"], PASSWORD)
    dialog.ok_button.click()
    assert not dialog.isVisible() and desktop.window is not None
    assert not auth.must_change_password(desktop.ctx)
    Vault.open_as(db_path, "carer.cal", PASSWORD).close()


def _login_dialog(qtbot, ctx: Context, *demo_accounts) -> LoginDialog:
    """A login window on an open database (after switch user or the idle lock)."""
    dialog = LoginDialog()
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()  # waits for the services
    dialog.attach(partial(auth.log_in, ctx), "Rose Court Care Home", *demo_accounts)
    assert dialog.ok_button.isEnabled() and dialog.windowTitle() == "Log in: Rose Court Care Home"
    return dialog


def test_login_with_role_choice_and_wrong_password(qtbot, home: Home) -> None:
    dual = home.add_staff(["manager", "nurse"])
    home.ctx.login = None
    dialog = _login_dialog(qtbot, home.ctx)
    dialog.show()
    assert not dialog.role.isVisible()  # nobody learns who holds which role
    _type(qtbot, dialog.username, dual.username)
    _type(qtbot, dialog.password, "wrong password")
    dialog.ok_button.click()
    assert dialog.form.errors["password"].text() == "Wrong username or password."
    assert dialog.password.text() == "" and not dialog.role.isVisible()
    _type(qtbot, dialog.password, PASSWORD)
    dialog.ok_button.click()
    assert dialog.form.errors["role"].text() == (
        "You hold several roles: choose one to work as (Registered manager or Registered nurse)"
    )
    assert dialog.role.isVisible() and dialog.focusWidget() is dialog.role
    offered = [dialog.role.itemText(i) for i in range(dialog.role.count())]
    assert offered == ["Registered manager", "Registered nurse"]  # hers only
    qtbot.keyClick(dialog.role, Qt.Key.Key_Down)  # the nurse
    assert not dialog.form.errors["role"].isVisible()
    _type(qtbot, dialog.password, PASSWORD)
    dialog.ok_button.click()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert home.ctx.login.role is Role.NURSE


def test_lockout_message_after_repeated_failures(qtbot, home: Home) -> None:
    home.ctx.login = None
    dialog = _login_dialog(qtbot, home.ctx)
    for _ in range(5):
        _type(qtbot, dialog.username, "manager")
        _type(qtbot, dialog.password, "guessing wrong")
        dialog.ok_button.click()
    _type(qtbot, dialog.password, MANAGER_PASSWORD)
    dialog.ok_button.click()
    assert "locked until" in dialog.form.errors["password"].text()
    assert home.ctx.login is None


def test_demo_login_lists_accounts_and_fills_them_in(qtbot, vault: Vault, clock) -> None:
    from carehome_share import demo

    ctx = Context(vault, clock=clock)
    demo.generate(ctx, residents=10, sessions=50, seed=3)
    dialog = _login_dialog(qtbot, ctx, demo.DEMO_ACCOUNTS, demo.DEMO_PASSWORD)
    accounts = dialog.demo_accounts
    assert accounts.count() == len(demo.DEMO_ACCOUNTS)
    nurse_row = next(
        i for i in range(accounts.count()) if accounts.item(i).text().startswith("nurse.amira")
    )
    accounts.setCurrentRow(nurse_row)
    assert dialog.username.text() == "nurse.amira"
    dialog.ok_button.click()
    assert ctx.login is not None and ctx.login.role is Role.NURSE
