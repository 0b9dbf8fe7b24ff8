"""The running app: one database file, opened by the first login (opening it is logging in),
with the login window and the main window taking turns after that ("switch user", "lock now"
and the idle lock), the database staying open. The login window's "Use the recovery code…"
opens it with the recovery code instead (in place of the one open), for a locked-out manager.

The main window and the demo generator are imported when first needed, so Log in is enabled
sooner after start."""

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication, QMessageBox

from carehome_share.domain.errors import AuthenticationFailed
from carehome_share.domain.model import Role
from carehome_share.gui.change_password import ChangePasswordDialog
from carehome_share.gui.login import LoginDialog
from carehome_share.gui.startup import SetupWizard, UnlockDialog
from carehome_share.gui.tasks import Background
from carehome_share.services import auth
from carehome_share.services.context import Context, Login
from carehome_share.store import repo
from carehome_share.store.vault import NeedsUnlock, NotEnrolled, Vault, WrongKey, WrongPassword

if TYPE_CHECKING:
    from carehome_share.gui.main_window import MainWindow

DEMO_RESIDENTS, DEMO_SESSIONS = 60, 3000
RECOVERY_REASON = (
    "The recovery code opens the records on any computer. Then log in with your own username "
    "and password: a registered manager locked out after repeated wrong passwords is let in, "
    "and the lockout is cleared and recorded in the audit log."
)


def make_demo_database() -> tuple[Vault, Path]:
    """A throwaway database of synthetic residents in a private temporary folder."""
    from carehome_share import demo

    folder = Path(tempfile.mkdtemp(prefix="carehome-share-demo-"))
    vault, _code = Vault.create(folder / "demo.db", purpose="demo")
    demo.generate(Context(vault), residents=DEMO_RESIDENTS, sessions=DEMO_SESSIONS, seed=1)
    return vault, folder


class Desktop:
    def __init__(
        self, path: Path, vault: Vault | None = None, demo_folder: Path | None = None
    ) -> None:
        self.path = path
        self.demo_folder = demo_folder
        self.ctx: Context | None = None
        self.background: Background | None = None
        self.home_name = path.name  # until the database is open
        self.window: MainWindow | None = None
        self.login: LoginDialog | None = None
        self.password_dialog: ChangePasswordDialog | None = None
        if vault is not None:
            self._opened(vault)

    @classmethod
    def start(cls, path: Path, login: LoginDialog, demo: bool = False) -> "Desktop | None":
        """Set up the database on first run (or make the demo's), then show the login."""
        if demo:
            vault, demo_folder = make_demo_database()
            desktop = cls(vault.path, vault, demo_folder)
        elif path.exists():
            desktop = cls(path)  # the first login opens it
        else:
            wizard = SetupWizard(path)
            if not wizard.exec() or wizard.vault is None:
                if wizard.vault is not None:  # made, then the wizard was closed: log in next time
                    wizard.vault.close()
                login.close()
                return None
            desktop = cls(path, wizard.vault)
        desktop.show_login(login)
        return desktop

    def _opened(self, vault: Vault) -> None:
        """Work with this vault from now on. One already open (the recovery code used after
        switch user or the lock) is closed first, with its background connection."""
        self._close_database()
        self.ctx = Context(vault)
        self.background = Background(self.ctx)
        self.home_name = repo.home_name(vault.conn) or "carehome-share"
        if self.login is not None:
            self.login.show_title(self.home_name)

    def _close_database(self) -> None:
        """Log out, let background work finish, and close both connections."""
        if self.ctx is None:
            return
        assert self.background is not None
        auth.log_out(self.ctx)
        self.background.close()
        self.ctx.vault.close()
        self.ctx = self.background = None

    def log_in(self, username: str, password: str, role: Role | None) -> Login:
        """The first login opens the database through the person's key slot; later ones check
        the password through the slot in the open database."""
        if self.ctx is None:
            self._opened(self._open(username, password))
        assert self.ctx is not None
        return auth.log_in(self.ctx, username, password, role)

    def _open(self, username: str, password: str) -> Vault:
        """Open as this person; when no password can open it on this computer, the recovery
        code (which enrols this computer), and then the login carries on."""
        try:
            return Vault.open_as(self.path, username, password)
        except WrongPassword as exc:
            raise AuthenticationFailed(str(exc)) from exc
        except (NeedsUnlock, WrongKey) as exc:
            # a 0.1 file: no key file yet, or this account has no slot yet
            old_key = isinstance(exc, NeedsUnlock) and not isinstance(exc, NotEnrolled)
            dialog = UnlockDialog(self.path, str(exc), old_key, self.login)
            if not dialog.exec():
                raise
            return dialog.result_value  # type: ignore[no-any-return]

    def use_recovery_code(self) -> bool:
        """The login window's "Use the recovery code…": the code opens the database (which
        enrols this computer), and the person then logs in as usual. True once it is open."""
        dialog = UnlockDialog(self.path, RECOVERY_REASON, parent=self.login)
        if not dialog.exec():
            return False
        self._opened(dialog.result_value)
        return True

    def show_login(self, login: LoginDialog | None = None) -> None:
        self.login = login or LoginDialog()
        if self.demo_folder is not None:
            from carehome_share import demo

            self.login.attach(self.log_in, self.home_name, demo.DEMO_ACCOUNTS, demo.DEMO_PASSWORD)
        else:
            self.login.attach(self.log_in, self.home_name)
            self.login.offer_recovery_code(self.use_recovery_code)
        self.login.accepted.connect(self._logged_in)
        self.login.rejected.connect(self._login_cancelled)
        self.login.show()

    def _login_cancelled(self) -> None:
        """Cancel at the start quits; on the lock screen it asks first (it is the same
        window, and quitting there used to happen by mistake)."""
        assert self.login is not None
        locked = self.ctx is not None and not QApplication.instance().property("ending")
        if locked and (
            QMessageBox.question(
                self.login,
                "Quit carehome-share?",
                "The screen is locked. Quit carehome-share on this computer? Anyone with a "
                "password can log in again without quitting.",
            )
            != QMessageBox.StandardButton.Yes
        ):
            self.login.show()
            return
        QApplication.quit()

    def _logged_in(self) -> None:
        """A temporary password is changed first; cancelling that logs out again."""
        assert self.ctx is not None
        if not auth.must_change_password(self.ctx):
            self._show_main_window()
            return
        self.password_dialog = ChangePasswordDialog(self.ctx)
        self.password_dialog.accepted.connect(self._show_main_window)
        self.password_dialog.rejected.connect(self.relock)
        self.password_dialog.show()

    def _show_main_window(self) -> None:
        from carehome_share.gui.main_window import MainWindow

        assert self.ctx is not None and self.background is not None
        self.window = MainWindow(self.ctx, self.background, self.home_name)
        self.window.switch_user.connect(self.relock)
        self.window.lock.connect(self.relock)
        self.window.show()

    def relock(self) -> None:
        """Switch user, lock now, the idle lock, or a password change put off: log out and
        show the login window."""
        if self.window is not None:
            self.window.shut()
            self.window = None
        if self.ctx is not None:
            auth.log_out(self.ctx)
        self.show_login()

    def close(self) -> None:
        if self.window is not None:
            self.window.shut()
            self.window = None
        self._close_database()
        if self.demo_folder is not None:
            shutil.rmtree(self.demo_folder, ignore_errors=True)
