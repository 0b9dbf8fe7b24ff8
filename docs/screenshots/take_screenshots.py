"""Screenshots of the nurse's windows and the start-up dialogs, from a demo database.

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb python docs/screenshots/take_screenshots.py

Each window is shown on the (virtual) screen, then grabbed to docs/screenshots/NAME.png.

The start-up dialogs: the demo's login window (accounts listed), a home's login window before the
file is open (logging in opens it; titled by the file's name, with "Use the recovery code…"),
the first-run wizard, and the unlock dialog that button opens (the recovery code).
"""

import shutil
import tempfile
from functools import partial
from pathlib import Path

import keyring
from keyring.backends import fail
from PySide6.QtWidgets import QApplication
from shots import save  # beside this script

from carehome_share import demo
from carehome_share.domain.errors import AccessRefused
from carehome_share.domain.model import Purpose
from carehome_share.domain.rules import decide
from carehome_share.gui.app import application
from carehome_share.gui.desktop import RECOVERY_REASON, Desktop, make_demo_database
from carehome_share.gui.login import LoginDialog
from carehome_share.gui.main_window import MainWindow
from carehome_share.gui.sessions import GpCallDialog, OpenSessionDialog, SessionWindow
from carehome_share.gui.startup import SetupWizard, UnlockDialog
from carehome_share.gui.tasks import Background
from carehome_share.services import access, auth, residents
from carehome_share.services.context import Context


def allowed(ctx: Context, resident_id: int) -> bool:
    """Would the rules let the logged-in nurse in? (Asked of the domain, so nothing is logged.)"""
    record = residents.resident_details(ctx, resident_id).record
    why = "Checking the current warfarin dose"
    return decide(
        ctx.login.staff, ctx.login.role, record, Purpose.MEDICATION_CHECK, why, ctx.now()
    ).allowed


def main() -> None:
    app = application()
    keyring.set_keyring(fail.Keyring())  # nothing lands in this computer's own keychain
    vault, folder = make_demo_database()
    ctx = Context(vault, workstation="nurses-station-1")

    login = LoginDialog()
    login.attach(partial(auth.log_in, ctx), demo.HOME_NAME, demo.DEMO_ACCOUNTS, demo.DEMO_PASSWORD)
    login.demo_accounts.setCurrentRow(1)
    save(login, "login")
    login.close()

    with tempfile.TemporaryDirectory(prefix="carehome-share-") as scratch:
        home_file = Path(scratch) / "carehome.db"
        home_login = LoginDialog()
        Desktop(home_file).show_login(home_login)  # nothing opens until someone logs in
        save(home_login, "login-home")
        unlock = UnlockDialog(home_file, RECOVERY_REASON, parent=home_login)
        save(unlock, "unlock")
        unlock.hide()
        home_login.hide()
        wizard = SetupWizard(Path(scratch) / "new.db")
        wizard.resize(640, 600)
        save(wizard, "setup-wizard")
        wizard.home_page.form.fields["home_name"].setText(demo.HOME_NAME)
        wizard.next()
        manager = wizard.manager_page.form.fields
        for field, text in (("full_name", "Mary Manager"), ("username", "mary")):
            manager[field].setText(text)
        for field in ("password", "password_again"):
            manager[field].setText("correct horse battery staple 7")
        wizard.next()  # creates the database: the recovery code, once
        save(wizard, "setup-wizard-recovery")
        wizard.vault.close()
        wizard.hide()

    auth.log_in(ctx, "nurse.amira", demo.DEMO_PASSWORD)
    window = MainWindow(ctx, Background(ctx), demo.HOME_NAME)
    window.resize(1366, 768)  # the smallest screen the home has
    window.show()
    window.background.wait()
    QApplication.processEvents()
    page = window.residents
    current = next(i for i, r in enumerate(page.model.rows) if allowed(ctx, r.resident.id))
    page.table.selectRow(page.proxy.mapFromSource(page.model.index(current, 0)).row())
    save(window, "nurse-residents")

    details = page.panel.details
    dialog = OpenSessionDialog(ctx, details.record, window)
    dialog.justification.setPlainText(
        "Checking the current warfarin dose before the lunchtime round"
    )
    save(dialog, "open-session")
    dialog.close()

    listing = residents.find_residents(ctx, "")
    refused_record = None
    for row in listing:
        if not row.current:
            refused_record = residents.resident_details(ctx, row.resident.id).record
            break
    refusal = OpenSessionDialog(ctx, refused_record, window)
    refusal.justification.setPlainText("Checking medication after the hospital stay")
    refusal.open_button.click()
    save(refusal, "refused")
    call = GpCallDialog(
        ctx, refused_record, refusal.refusal.refusal_id if refusal.refusal else None, window
    )
    save(call, "gp-call")
    call.close()
    refusal.close()

    try:
        session = access.open_access_session(
            ctx, details.record.resident.id, "medication_check", "Checking the warfarin dose"
        )
    except AccessRefused as exc:
        raise SystemExit(f"demo resident unexpectedly refused: {exc}") from exc
    session_window = SessionWindow(ctx, session, details.record, window)
    session_window.boxes[next(iter(session_window.boxes))].click()
    save(session_window, "session")
    session_window.close_session()
    window.tabs.setCurrentWidget(window.my_sessions)
    save(window, "nurse-my-sessions")
    window.shut()
    vault.close()
    shutil.rmtree(folder)
    app.quit()


if __name__ == "__main__":
    main()
