"""The login window: username, password, and the role to work under when several are held.

Opening the database is logging in: the first login opens it through the person's key slot.
The window is shown before the services are loaded (that takes a moment), so it takes the login
function once they are ready; until then Log in waits. Until the database is open the home's
name is not known, so the window is titled by the file's name, then by the home's.

A home's login window (not the demo's) also offers "Use the recovery code…": the code opens the
database, and a registered manager locked out by wrong passwords can then log in as usual.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from carehome_share.domain.errors import AuthenticationFailed, RoleNeeded, ValidationError
from carehome_share.gui.forms import FormDialog, heading, password_field

if TYPE_CHECKING:
    from carehome_share.domain.model import Role

LogIn = Callable[[str, str, "Role | None"], object]
UseRecoveryCode = Callable[[], bool]  # True when the code opened the database


class LoginDialog(FormDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Log in: carehome-share", "&Log in", parent)
        self.log_in: LogIn | None = None
        self.use_recovery_code: UseRecoveryCode | None = None
        self.title = heading("carehome-share")
        self.body.insertWidget(0, self.title)
        self.username = self.form.add("username", "&Username:", QLineEdit())
        self.password = self.form.add("password", "&Password:", password_field())
        # Shown only to someone holding several roles, once their password is known to be
        # right, with their own roles: nobody else learns who holds which.
        self.role = QComboBox()
        self.form.add("role", "Work &as:", self.role, "One role at a time, for this login")
        self._show_roles([])
        self.username.textEdited.connect(lambda _text: self._show_roles([]))
        self.ok_button.setEnabled(False)
        self.username.setFocus()

    def _show_roles(self, roles: "list[Role]") -> None:
        self.role.clear()
        for role in roles:
            self.role.addItem(role.label, role)
        self.form.layout_.setRowVisible(self.role.parentWidget(), bool(roles))

    def attach(
        self,
        log_in: LogIn,
        title: str,
        demo_accounts: list[tuple[str, str, str]] | None = None,
        demo_password: str = "",
    ) -> None:
        """The services are ready: logging in can start. `title` is the home's name, or the
        database file's name while it is not open yet."""
        self.log_in = log_in
        self.show_title(title)
        if demo_accounts:
            self._add_demo_accounts(demo_accounts, demo_password)
        self.ok_button.setEnabled(True)

    def show_title(self, title: str) -> None:
        self.setWindowTitle(f"Log in: {title}")
        self.title.setText(title)

    def offer_recovery_code(self, use_recovery_code: UseRecoveryCode) -> None:
        """A small "Use the recovery code…" button below the fields (after them in the Tab
        order); once the code has opened the database a note says to log in as usual."""
        self.use_recovery_code = use_recovery_code
        self.recovery_button = QPushButton("Use the &recovery code…")
        self.recovery_button.setFlat(True)
        self.recovery_button.setAutoDefault(False)  # Enter still means Log in
        self.recovery_button.setAccessibleName("Use the recovery code")
        self.recovery_button.setToolTip(
            "The recovery code from the recovery sheet in the safe opens the records; then log "
            "in with your own username and password. A registered manager locked out by wrong "
            "passwords is let in this way."
        )
        self.recovery_button.setStyleSheet("color: palette(link); text-decoration: underline;")
        self.recovery_button.clicked.connect(self._use_recovery_code)
        self.recovery_note = QLabel(
            "Opened with the recovery code: now log in with your own username and password."
        )
        self.recovery_note.setWordWrap(True)
        self.recovery_note.hide()
        row = QHBoxLayout()
        row.addWidget(self.recovery_button)
        row.addWidget(self.recovery_note, 1)
        row.addStretch()
        self.body.insertLayout(self.body.indexOf(self.buttons), row)

    def _use_recovery_code(self) -> None:
        assert self.use_recovery_code is not None
        if not self.use_recovery_code():
            return
        self.form.clear_errors()
        self.banner.hide()
        self.recovery_button.hide()
        self.recovery_note.show()
        (self.password if self.username.text() else self.username).setFocus()

    def _add_demo_accounts(self, accounts: list[tuple[str, str, str]], password: str) -> None:
        note = QLabel(
            f"Demo database with synthetic residents. Every account's password is <b>{password}</b>; pick one:"
        )
        note.setWordWrap(True)
        self.demo_accounts = QListWidget()
        self.demo_accounts.setAccessibleName("Demo accounts")
        for username, roles, what in accounts:
            item = QListWidgetItem(f"{username}  ({roles}): {what}")
            item.setData(256, username)
            self.demo_accounts.addItem(item)
        self.demo_accounts.currentItemChanged.connect(
            lambda item, _old: self._fill(item.data(256), password) if item else None
        )
        self.demo_accounts.setMaximumHeight(180)
        self.setMinimumWidth(720)  # each account's line readable in full
        self.body.insertWidget(2, note)
        self.body.insertWidget(3, self.demo_accounts)

    def _fill(self, username: str, password: str) -> None:
        self._show_roles([])  # another person
        self.username.setText(username)
        self.password.setText(password)

    def submit(self) -> object:
        assert self.log_in is not None  # Log in is disabled until attach()
        try:
            return self.log_in(
                self.form.value("username"), self.form.value("password"), self.form.value("role")
            )
        except AuthenticationFailed as exc:
            self.password.clear()
            raise ValidationError("password", str(exc)) from exc
        except RoleNeeded as exc:
            self._show_roles(exc.roles)
            raise
