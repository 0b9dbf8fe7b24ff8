"""The running app: one open database, with the login window and the main window taking turns
(after "switch user", "lock now" and the idle lock).

The main window and the demo generator are imported when first needed, so the database is open
and Log in enabled sooner after start."""

import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication, QMessageBox

from carehome_share.gui.login import LoginDialog
from carehome_share.gui.startup import SetupWizard, UnlockDialog
from carehome_share.gui.tasks import Background
from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store import repo
from carehome_share.store.vault import NeedsUnlock, Vault, VaultError, WrongKey

if TYPE_CHECKING:
    from carehome_share.gui.main_window import MainWindow

DEMO_RESIDENTS, DEMO_SESSIONS = 60, 3000


def open_vault(db_path: Path) -> Vault | None:
    """The keychain's key, else the passphrase or recovery code; never a new database."""
    try:
        return Vault.open(db_path)
    except (NeedsUnlock, WrongKey) as exc:
        dialog = UnlockDialog(db_path, str(exc))
        return dialog.result_value if dialog.exec() else None
    except VaultError as exc:  # a newer version's file, a missing file
        QMessageBox.critical(None, "carehome-share", str(exc))
        return None


def make_demo_database() -> tuple[Vault, Path]:
    """A throwaway database of synthetic residents in a private temporary folder."""
    from carehome_share import demo

    folder = Path(tempfile.mkdtemp(prefix="carehome-share-demo-"))
    vault, _code = Vault.create(folder / "demo.db", purpose="demo")
    demo.generate(Context(vault), residents=DEMO_RESIDENTS, sessions=DEMO_SESSIONS, seed=1)
    return vault, folder


class Desktop:
    def __init__(self, vault: Vault, demo_folder: Path | None = None) -> None:
        self.ctx = Context(vault)
        self.background = Background(self.ctx)
        self.demo_folder = demo_folder
        self.home_name = repo.home_name(vault.conn) or "carehome-share"
        self.window: MainWindow | None = None
        self.login: LoginDialog | None = None

    @classmethod
    def start(cls, path: Path, login: LoginDialog, demo: bool = False) -> "Desktop | None":
        """Open (or on first run set up) the database, then hand the login window its work."""
        demo_folder = None
        if demo:
            vault, demo_folder = make_demo_database()
        elif path.exists():
            vault = open_vault(path)
        else:
            wizard = SetupWizard(path)
            vault = wizard.vault if wizard.exec() else None
        if vault is None:
            login.close()
            return None
        desktop = cls(vault, demo_folder)
        desktop.show_login(login)
        return desktop

    def show_login(self, login: LoginDialog | None = None) -> None:
        self.login = login or LoginDialog()
        if self.demo_folder is not None:
            from carehome_share import demo

            self.login.attach(
                partial(auth.log_in, self.ctx),
                self.home_name,
                demo.DEMO_ACCOUNTS,
                demo.DEMO_PASSWORD,
            )
        else:
            self.login.attach(partial(auth.log_in, self.ctx), self.home_name)
        self.login.accepted.connect(self._logged_in)
        self.login.rejected.connect(QApplication.quit)
        self.login.show()

    def _logged_in(self) -> None:
        from carehome_share.gui.main_window import MainWindow

        self.window = MainWindow(self.ctx, self.background, self.home_name)
        self.window.switch_user.connect(self.relock)
        self.window.lock.connect(self.relock)
        self.window.show()

    def relock(self) -> None:
        """Switch user, lock now, or the idle lock: log out and show the login window."""
        if self.window is not None:
            self.window.shut()
            self.window = None
        auth.log_out(self.ctx)
        self.show_login()

    def close(self) -> None:
        if self.window is not None:
            self.window.shut()
        auth.log_out(self.ctx)
        self.background.close()
        self.ctx.vault.close()
        if self.demo_folder is not None:
            shutil.rmtree(self.demo_folder, ignore_errors=True)
