"""First run (set up the home, the first manager and the key) and unlocking a database."""

from pathlib import Path

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from carehome_share.domain import validation as v
from carehome_share.domain.errors import CarehomeError, ValidationError
from carehome_share.gui.forms import (
    Form,
    FormDialog,
    error_label,
    heading,
    password_field,
    report_error,
)
from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store import keychain
from carehome_share.store.vault import Vault, VaultError


class _FormPage(QWizardPage):
    """A wizard page holding a Form; `check` raises ValidationError to keep the user here."""

    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.form = Form()
        self.banner = error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.form)

    def check(self) -> None:
        raise NotImplementedError

    def validatePage(self) -> bool:
        self.form.clear_errors()
        self.banner.hide()
        try:
            self.check()
        except ValidationError as exc:
            if not self.form.show_error(exc):
                self.banner.setText(str(exc))
                self.banner.show()
            return False
        except CarehomeError as exc:
            self.banner.setText(str(exc))
            self.banner.show()
            return False
        return True


class _HomePage(_FormPage):
    def __init__(self) -> None:
        super().__init__("Your care home", "The name printed on every report and consent form.")
        self.form.add("home_name", "Care home &name:", QLineEdit())

    def check(self) -> None:
        v.single_line("home_name", self.form.value("home_name"), max_len=120)


class _ManagerPage(_FormPage):
    def __init__(self) -> None:
        super().__init__(
            "The first registered manager",
            "This account sets up staff, GP practices, agreements and residents. Accounts are "
            "personal: never share a login.",
        )
        self.form.add("full_name", "&Full name:", QLineEdit())
        self.form.add(
            "username", "&Username:", QLineEdit(), "Letters, digits and dots, e.g. mary.manager"
        )
        self.form.add(
            "password", "&Password:", password_field(), f"At least {auth.MIN_PASSWORD} characters"
        )
        self.form.add("password_again", "&Repeat password:", password_field())

    def check(self) -> None:
        v.single_line("full_name", self.form.value("full_name"), max_len=120)
        auth.parse_username(self.form.value("username"))
        auth.check_password_strength("password", self.form.value("password"))
        if self.form.value("password") != self.form.value("password_again"):
            raise ValidationError("password_again", "the same password again")


class _KeyPage(_FormPage):
    """Keychain or passphrase; creating the database happens when this page is accepted."""

    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__(
            "Protecting the records", "The database is encrypted. Choose where its key is kept."
        )
        self.wizard_ = wizard
        has_keychain = keychain.available()
        self.use_keychain = QRadioButton("Keep the key in this computer's &keychain (recommended)")
        self.use_passphrase = QRadioButton(
            "Protect the database with a pass&phrase typed at every start"
        )
        self.use_keychain.setEnabled(has_keychain)
        (self.use_keychain if has_keychain else self.use_passphrase).setChecked(True)
        where = QLabel(
            f"This computer has {keychain.describe()}."
            if has_keychain
            else "This computer has no secure keychain, so a passphrase protects the database."
        )
        where.setWordWrap(True)
        self.form.layout_.addRow(where)
        self.form.layout_.addRow(self.use_keychain)
        self.form.layout_.addRow(self.use_passphrase)
        self.form.add(
            "passphrase",
            "Pass&phrase:",
            password_field(),
            "At least 12 characters; a few unrelated words work well",
        )
        self.form.add("passphrase_again", "Repeat passphrase:", password_field())
        self.use_passphrase.toggled.connect(self._toggle)
        self._toggle(self.use_passphrase.isChecked())

    def _toggle(self, on: bool) -> None:
        for name in ("passphrase", "passphrase_again"):
            self.form.fields[name].setEnabled(on)

    def check(self) -> None:
        passphrase = None
        if self.use_passphrase.isChecked():
            passphrase = self.form.value("passphrase")
            if len(passphrase) < 12:
                raise ValidationError("passphrase", "a passphrase of at least 12 characters")
            if passphrase != self.form.value("passphrase_again"):
                raise ValidationError("passphrase_again", "the same passphrase again")
        self.wizard_.create_database(passphrase)


class _RecoveryPage(QWizardPage):
    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Your recovery code")
        self.setSubTitle(
            "If the keychain entry or the passphrase is ever lost, this code is the only way to "
            "open the records. It is shown once: print the recovery sheet or write the code down, "
            "and keep it in the safe."
        )
        self.code = QLabel()
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(font.pointSizeF() * 1.5)
        self.code.setFont(font)
        self.code.setWordWrap(True)
        self.code.setAccessibleName("Recovery code")
        copy = QPushButton("&Copy to clipboard")
        copy.setAccessibleName("Copy to clipboard")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.code.text()))
        print_sheet = QPushButton("&Print recovery sheet")
        print_sheet.setAccessibleName("Print recovery sheet")
        print_sheet.clicked.connect(self.print_sheet)
        self.kept = QCheckBox(
            "I have printed or written down the recovery code and will keep it in the safe"
        )
        self.registerField("kept*", self.kept)
        layout = QVBoxLayout(self)
        buttons = QHBoxLayout()
        buttons.addWidget(print_sheet)
        buttons.addWidget(copy)
        buttons.addStretch()
        layout.addWidget(self.code)
        layout.addLayout(buttons)
        layout.addStretch()
        layout.addWidget(self.kept)

    def initializePage(self) -> None:
        self.code.setText(self.wizard_.recovery_code.replace("-", " - ", 12))

    def print_sheet(self) -> None:
        """The sheet is read as the new manager, as any printing is: logged in for it and out
        again, so the audit trail shows who printed the recovery code and when."""
        from carehome_share.gui import printing  # QtPdf and printing: loaded only when asked

        wizard = self.wizard_
        assert wizard.vault is not None
        manager = wizard.manager_page.form
        ctx = Context(wizard.vault)
        printable = printing.recovery_sheet(wizard.recovery_code)
        try:
            auth.log_in(ctx, manager.value("username"), manager.value("password"))
            pdf = printing.pdf_of(printable, ctx)
        except CarehomeError as exc:
            report_error(self, exc, "Recovery sheet not printed")
            return
        finally:
            auth.log_out(ctx)
        printing.print_document(self, printable, pdf)


class SetupWizard(QWizard):
    """First run: the home's name, the first manager, the key, and the recovery code."""

    def __init__(self, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db_path = db_path
        self.setWindowTitle("Set up carehome-share")
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage)
        self.home_page, self.manager_page = _HomePage(), _ManagerPage()
        self.key_page = _KeyPage(self)
        self.addPage(self.home_page)
        self.addPage(self.manager_page)
        self.addPage(self.key_page)
        self.addPage(_RecoveryPage(self))
        self.vault: Vault | None = None
        self.recovery_code = ""

    def create_database(self, passphrase: str | None) -> None:
        if self.vault is not None:
            return  # came back with Back: the database already exists
        vault, code = Vault.create(self.db_path, passphrase=passphrase)
        manager = self.manager_page.form
        try:
            auth.set_up_home(
                Context(vault),
                self.home_page.form.value("home_name"),
                manager.value("username"),
                manager.value("full_name"),
                manager.value("password"),
            )
        except BaseException:
            vault.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
            raise
        self.vault, self.recovery_code = vault, code


class UnlockDialog(FormDialog):
    """The key is not in the keychain, or a passphrase protects the file. Never offers to
    start a new database: that would hide this home's records, not recover them."""

    def __init__(self, db_path: Path, reason: str, parent: QWidget | None = None) -> None:
        super().__init__("Unlock the care home records", "&Unlock", parent)
        self.db_path = db_path
        intro = heading("Unlock the care home records", 1.2)
        message = QLabel(f"{reason}\n\nDatabase: {db_path}")
        message.setWordWrap(True)
        self.body.insertWidget(0, intro)
        self.body.insertWidget(1, message)
        self.form.add(
            "passphrase",
            "&Passphrase or recovery code:",
            password_field(),
            "The recovery code is on the recovery sheet kept in the safe (13 groups of 5).",
        )

    def submit(self) -> Vault:
        text = self.form.value("passphrase")
        if not text:
            raise ValidationError("passphrase", "the passphrase or the recovery code")
        try:
            return Vault.open(self.db_path, passphrase=text)
        except ValidationError as exc:
            raise ValidationError("passphrase", exc.expected) from exc
        except VaultError as exc:
            raise ValidationError("passphrase", str(exc)) from exc
