"""First run, unlocking and logging in, clicked through as the manager and a nurse would."""

from functools import partial
from pathlib import Path

import keyring
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from carehome_share.domain.model import Role
from carehome_share.gui.login import LoginDialog
from carehome_share.gui.startup import SetupWizard, UnlockDialog
from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store import recovery
from carehome_share.store.vault import Vault
from tests.factories import MANAGER_PASSWORD, PASSWORD, Home


def _type(qtbot, widget, text: str) -> None:
    widget.clear()
    qtbot.keyClicks(widget, text)


def _next(qtbot, wizard: SetupWizard) -> None:
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)


def _fill_home_and_manager(qtbot, wizard: SetupWizard) -> None:
    _type(qtbot, wizard.home_page.form.fields["home_name"], "Rose Court Care Home")
    _next(qtbot, wizard)
    form = wizard.manager_page.form
    _type(qtbot, form.fields["full_name"], "Mary Manager")
    _type(qtbot, form.fields["username"], "mary")
    _type(qtbot, form.fields["password"], "manager password 1")
    _type(qtbot, form.fields["password_again"], "manager password 1")
    _next(qtbot, wizard)


def test_first_run_wizard_creates_the_database_and_shows_the_recovery_code(
    qtbot, db_path: Path, memory_keyring
) -> None:
    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.show()
    _next(qtbot, wizard)  # no home name yet
    assert wizard.home_page.form.errors["home_name"].isVisible()
    assert wizard.home_page.form.errors["home_name"].text() == "Must not be empty"
    _fill_home_and_manager(qtbot, wizard)
    assert wizard.key_page.use_keychain.isChecked()
    _next(qtbot, wizard)
    assert wizard.vault is not None and db_path.exists()
    assert len(memory_keyring.entries) == 1
    shown = wizard.currentPage().code.text()
    assert recovery.decode(shown) == bytes.fromhex(next(iter(memory_keyring.entries.values())))
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert not finish.isEnabled()  # until the code is confirmed kept
    wizard.currentPage().kept.setChecked(True)
    assert finish.isEnabled()
    wizard.vault.close()


def test_manager_password_mismatch_is_shown_beside_the_field(qtbot, db_path: Path) -> None:
    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.show()
    _type(qtbot, wizard.home_page.form.fields["home_name"], "Rose Court")
    _next(qtbot, wizard)
    form = wizard.manager_page.form
    _type(qtbot, form.fields["full_name"], "Mary Manager")
    _type(qtbot, form.fields["username"], "mary")
    _type(qtbot, form.fields["password"], "manager password 1")
    _type(qtbot, form.fields["password_again"], "manager password 2")
    _next(qtbot, wizard)
    assert form.errors["password_again"].text() == "The same password again"
    assert not db_path.exists()


def test_without_a_keychain_the_wizard_asks_for_a_passphrase(qtbot, db_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    wizard = SetupWizard(db_path)
    qtbot.addWidget(wizard)
    wizard.show()
    _fill_home_and_manager(qtbot, wizard)
    page = wizard.key_page
    assert not page.use_keychain.isEnabled() and page.use_passphrase.isChecked()
    _type(qtbot, page.form.fields["passphrase"], "short")
    _next(qtbot, wizard)
    assert "at least 12 characters" in page.form.errors["passphrase"].text()
    _type(qtbot, page.form.fields["passphrase"], "four random words here")
    _type(qtbot, page.form.fields["passphrase_again"], "four random words here")
    _next(qtbot, wizard)
    assert wizard.vault is not None and wizard.vault.key_mode == "passphrase"
    wizard.vault.close()
    Vault.open(db_path, passphrase="four random words here").close()


def test_unlock_takes_the_recovery_code_and_never_offers_a_new_database(
    qtbot, db_path: Path, memory_keyring
) -> None:
    vault, code = Vault.create(db_path)
    vault.close()
    memory_keyring.entries.clear()
    dialog = UnlockDialog(db_path, "The key is not in this computer's keychain.")
    qtbot.addWidget(dialog)
    buttons = [b.text() for b in dialog.buttons.buttons()]
    assert not any("new" in b.lower() or "create" in b.lower() for b in buttons)
    field = dialog.form.fields["passphrase"]
    _type(qtbot, field, "not the right passphrase")
    dialog.ok_button.click()
    assert "Key mismatch" in dialog.form.errors["passphrase"].text()
    _type(qtbot, field, code)
    dialog.ok_button.click()
    assert dialog.result() == dialog.DialogCode.Accepted
    dialog.result_value.close()
    assert len(memory_keyring.entries) == 1  # the key is back in the keychain


def _login_dialog(qtbot, ctx: Context, *demo_accounts) -> LoginDialog:
    dialog = LoginDialog()
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()  # waits for the database
    dialog.attach(partial(auth.log_in, ctx), "Rose Court Care Home", *demo_accounts)
    assert dialog.ok_button.isEnabled() and dialog.windowTitle() == "Log in: Rose Court Care Home"
    return dialog


def test_login_with_role_choice_and_wrong_password(qtbot, home: Home) -> None:
    dual = home.add_staff(["manager", "nurse"])
    home.ctx.login = None
    dialog = _login_dialog(qtbot, home.ctx)
    _type(qtbot, dialog.username, dual.username)
    _type(qtbot, dialog.password, "wrong password")
    dialog.ok_button.click()
    assert dialog.form.errors["password"].text() == "Wrong username or password."
    assert dialog.password.text() == ""
    _type(qtbot, dialog.password, PASSWORD)
    dialog.ok_button.click()
    assert "choose the role" in dialog.form.errors["role"].text().lower()
    dialog.role.setCurrentIndex(dialog.role.findData(Role.NURSE))
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
