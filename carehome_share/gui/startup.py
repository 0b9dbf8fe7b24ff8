"""First run (set up the home and the first manager, whose key slot opens the new database;
then its recovery code), and unlocking a database with its recovery code."""

import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QLabel,
    QLineEdit,
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
    sentence,
)
from carehome_share.gui.widgets import button, row_of
from carehome_share.services import auth, reports
from carehome_share.services.context import Context
from carehome_share.store import keychain, recovery
from carehome_share.store.vault import Vault, VaultError

if TYPE_CHECKING:  # QtPdf and printing: loaded only when a sheet is made
    from carehome_share.gui import printing


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
    """The first manager's account; the database is created when this page is accepted."""

    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__(
            "The first registered manager",
            "This account sets up staff, GP practices, agreements and residents. Accounts are "
            "personal: never share a login.",
        )
        self.wizard_ = wizard
        self.form.add("full_name", "&Full name:", QLineEdit())
        self.form.add(
            "username",
            "&Username:",
            QLineEdit(),
            f"{sentence(auth.USERNAME_RULE)}, e.g. mary.manager",
        )
        self.form.add(
            "password",
            "&Password:",
            password_field(),
            f"At least {auth.MIN_PASSWORD} characters; a few unrelated words work well",
        )
        self.form.add("password_again", "&Repeat password:", password_field())
        self.key_note = QLabel(key_note())
        self.key_note.setWordWrap(True)
        self.key_note.setAccessibleName("Where the key is kept")
        self.layout().addWidget(self.key_note)

    def check(self) -> None:
        full_name = v.single_line("full_name", self.form.value("full_name"), max_len=120)
        username = auth.parse_username(self.form.value("username"))
        home_name = self.wizard_.home_page.form.value("home_name")
        password = self.form.value("password")
        auth.check_password_strength("password", password, username, full_name, home_name)
        if password != self.form.value("password_again"):
            raise ValidationError("password_again", "the two passwords differ")
        self.wizard_.create_database()


def key_note() -> str:
    """Where each account's key is kept, in plain words (the wizard says it before creating)."""
    if keychain.available():
        return (
            "Opening the records is logging in: each member of staff's password, together with "
            f"this home's device secret kept in {keychain.describe()}, opens their key to the "
            "encrypted database. No password is stored anywhere."
        )
    return (
        f"{sentence(keychain.describe())}. Choose long passwords: anyone who copies the "
        "database and the key file beside it could try to guess them."
    )


class RecoveryCodeView(QWidget):
    """A recovery code shown once, large, with Preview, Print, Save as PDF and Copy; then two
    of its groups typed back from the copy made, which shows it was kept (`confirmed`).
    `printing_as` gives the logged-in context the sheet is made under (and ends that login
    afterwards if it began one); what became of the sheet is recorded under it too."""

    confirmed = Signal(bool)

    def __init__(
        self, code: str, printing_as: Callable[[], AbstractContextManager[Context]]
    ) -> None:
        super().__init__()
        self.printing_as = printing_as
        self.code = QLabel()
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(font.pointSizeF() * 1.5)
        self.code.setFont(font)
        self.code.setWordWrap(True)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code.setAccessibleName("Recovery code")
        outputs = row_of(
            button("Pre&view…", lambda: self.make("preview")),
            button("&Print recovery sheet…", lambda: self.make("print_document")),
            button("Save as P&DF…", lambda: self.make("save_as_pdf")),
            button("&Copy to clipboard", self.copy),
        )
        saved_note = QLabel(
            "A saved PDF or a copy opens the records as the code does: keep it only to print "
            "it elsewhere (a USB stick), then delete it."
        )
        saved_note.setWordWrap(True)
        self.ask = QLabel()
        self.ask.setWordWrap(True)
        self.typed: dict[int, QLineEdit] = {}
        self.checks = Form()
        self.set_code(code)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.code)
        layout.addLayout(outputs)
        layout.addWidget(saved_note)
        layout.addWidget(self.ask)
        layout.addWidget(self.checks)
        layout.addStretch()

    def set_code(self, code: str) -> None:
        self.recovery_code = code
        self.code.setText(code.replace("-", " - ", 12))
        groups = code.split("-")
        if len(groups) < 2 or self.typed:
            return
        # two groups picked at random: typing them back needs the copy, not memory
        self.groups = dict(sorted((n + 1, groups[n]) for n in random.sample(range(len(groups)), 2)))
        first, second = self.groups
        self.ask.setText(
            f"When you have printed, saved or written down the code, type groups {first} and "
            f"{second} from your copy to show it was kept:"
        )
        for number in self.groups:
            field = QLineEdit()
            field.setMaxLength(5)
            field.textChanged.connect(self._typed)
            self.typed[number] = field
            self.checks.add(f"group_{number}", f"Group {number}:", field)

    def is_confirmed(self) -> bool:
        return bool(self.typed) and all(
            field.text().strip().upper() == self.groups[n] for n, field in self.typed.items()
        )

    def _typed(self) -> None:
        self.confirmed.emit(self.is_confirmed())

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.recovery_code)

    def make(self, output: str) -> None:
        """The sheet, made as the logged-in manager, then previewed, printed or saved (the
        `output` named in printing); what became of it is recorded in the same login."""
        from carehome_share.gui import printing

        printable = printing.recovery_sheet(self.recovery_code)
        act = self._preview if output == "preview" else getattr(printing, output)
        try:
            with self.printing_as() as ctx:
                pdf = printing.pdf_of(printable, ctx)
                entry = reports.document_entry(ctx)
                act(self, printable, pdf, lambda o: reports.record_print_outcome(ctx, entry, o))
        except CarehomeError as exc:
            report_error(self, exc, "Recovery sheet not made")

    def _preview(
        self,
        parent: QWidget,
        printable: "printing.Printable",
        pdf: bytes,
        record: "printing.Recorder",
    ) -> None:
        """Waits for the preview to close: the login the sheet was made under ends after."""
        from carehome_share.gui import printing

        printing.PreviewDialog(printable, printing.load(pdf), parent, record).exec()


class _RecoveryPage(QWizardPage):
    def __init__(self, wizard: "SetupWizard") -> None:
        super().__init__()
        self.wizard_ = wizard
        self.setTitle("Your recovery code")
        # In the page, not the subtitle: a wizard's subtitle is cut off, not wrapped.
        why = QLabel(
            "If this computer is replaced, or the key file beside the database is lost, this "
            "code is the only way to open the records. It is shown only now: print the "
            "recovery sheet, save it to print elsewhere, or write the code down, and keep it "
            "in the safe."
        )
        why.setWordWrap(True)
        self.banner = error_label()
        self.view = RecoveryCodeView("", wizard.as_new_manager)
        self.view.confirmed.connect(lambda _kept: self.completeChanged.emit())
        self.view.confirmed.connect(lambda kept: kept and self.banner.hide())
        layout = QVBoxLayout(self)
        layout.addWidget(why)
        layout.addWidget(self.banner)
        layout.addWidget(self.view)

    def initializePage(self) -> None:
        self.view.set_code(self.wizard_.recovery_code)

    def isComplete(self) -> bool:
        return self.view.is_confirmed()

    def warn_unkept(self) -> None:
        self.banner.setText(
            "The records are already set up, and this code is shown only here. Keep it "
            "first: print it, save it or write it down, then type back the two groups below. "
            "(A manager can make a new code later under Settings, Database key.)"
        )
        self.banner.show()


class SetupWizard(QWizard):
    """First run: the home's name, the first manager (who makes the database), and the
    recovery code."""

    def __init__(self, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db_path = db_path
        self.setWindowTitle("Set up carehome-share")
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage)
        # the database exists by then: leaving is only by Finish, once the code is kept
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage)
        # Room for a hint and an error under each field (a password's reason runs to two
        # lines); the wizard does not grow when an error appears. Fits a 1366x768 screen.
        self.setMinimumSize(640, 600)
        self.home_page, self.manager_page = _HomePage(), _ManagerPage(self)
        self.addPage(self.home_page)
        self.addPage(self.manager_page)
        self.recovery_page = _RecoveryPage(self)
        self.addPage(self.recovery_page)
        self.vault: Vault | None = None
        self.recovery_code = ""

    def reject(self) -> None:
        """Escape or the window's close button: not while the new code is unkept."""
        unkept = self.vault is not None and not self.recovery_page.view.is_confirmed()
        if unkept and not QApplication.instance().property("ending"):  # a shutdown: let it
            self.recovery_page.warn_unkept()
            return
        super().reject()

    def create_database(self) -> None:
        if self.vault is not None:
            return  # came back with Back: the database already exists
        vault, code = Vault.create(self.db_path)
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
            keychain.delete(keychain.device_entry(vault.home_id))
            vault.close()
            for suffix in ("", "-wal", "-shm", ".keys"):
                Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
            raise
        self.vault, self.recovery_code = vault, code

    @contextmanager
    def as_new_manager(self) -> Iterator[Context]:
        """The new manager logged in for a moment (printing the sheet is recorded as theirs)."""
        assert self.vault is not None
        manager = self.manager_page.form
        ctx = Context(self.vault)
        try:
            auth.log_in(ctx, manager.value("username"), manager.value("password"))
            yield ctx
        finally:
            auth.log_out(ctx)


class UnlockDialog(FormDialog):
    """No staff password can open the file on this computer: the recovery code opens it (and
    enrols this computer); a version 0.1 file still moving to key slots may take its old
    passphrase. Never offers to start a new database: that would hide this home's records, not
    recover them."""

    def __init__(
        self,
        db_path: Path,
        reason: str,
        old_passphrase: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Unlock the care home records", "&Unlock", parent)
        self.db_path, self.old_passphrase = db_path, old_passphrase
        intro = heading("Unlock the care home records", 1.2)
        message = QLabel(f"{reason}\n\nDatabase: {db_path}")
        message.setWordWrap(True)
        self.body.insertWidget(0, intro)
        self.body.insertWidget(1, message)
        hint = "The recovery code is on the recovery sheet kept in the safe (13 groups of 5)."
        if old_passphrase:
            hint += " A database from version 0.1 also opens with its old passphrase."
        label = "&Recovery code or old passphrase:" if old_passphrase else "&Recovery code:"
        code = self.form.add(recovery.FIELD, label, password_field(), hint)
        # "Group 10 has a typing error" can only be checked by eye with the code in view
        shown = QCheckBox("S&how what is typed")
        shown.toggled.connect(
            lambda on: code.setEchoMode(  # type: ignore[attr-defined]
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
            )
        )
        self.form.add("show_code", "", shown)

    def submit(self) -> Vault:
        text = self.form.value(recovery.FIELD)
        if not text:
            raise ValidationError(recovery.FIELD, "the recovery code from the recovery sheet")
        try:
            if self.old_passphrase and not recovery.looks_like_code(text):
                return Vault.open_with_old_passphrase(self.db_path, text)
            return Vault.open_with_recovery_code(self.db_path, text)
        except VaultError as exc:
            raise ValidationError(recovery.FIELD, str(exc)) from exc
