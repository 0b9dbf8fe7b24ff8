"""Rotating the database key, from the Settings page: everyone keeps their password, the old
recovery code stops opening this file, and the new one is shown once to print and keep."""

from contextlib import nullcontext

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QMessageBox, QVBoxLayout, QWidget

from carehome_share.gui.forms import heading, report_error
from carehome_share.gui.startup import RecoveryCodeView
from carehome_share.gui.tasks import Background
from carehome_share.services import staff
from carehome_share.services.context import Context

CONFIRM = (
    "Give this database a new key?\n\n"
    "Everyone keeps their password. The old recovery code (on the recovery sheet in the safe, "
    "and kept with older backups) stops opening this file; older backups still open with the "
    "code they were made with. A new recovery code is shown next: print it and keep it in the "
    "safe.\n\n"
    "Nothing else may have the file open: close carehome-share on every other computer first."
)


def rotate_key(parent: QWidget, ctx: Context, background: Background) -> None:
    answer = QMessageBox.question(parent, "Rotate database key", CONFIRM)
    if answer != QMessageBox.StandardButton.Yes:
        return
    background.close()  # the re-encryption needs the only connection; the next job reopens one
    try:
        code = staff.rotate_key(ctx)
    except Exception as exc:  # the old key stays in force; say why
        report_error(parent, exc, "Key not changed")
        return
    dialog = NewRecoveryCodeDialog(ctx, code, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()


class NewRecoveryCodeDialog(QDialog):
    """Stays until the manager confirms the new code is kept (it is shown only here)."""

    def __init__(self, ctx: Context, code: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New recovery code")
        self.setMinimumWidth(560)
        note = QLabel(
            "The database has a new key. Everyone logs in with the same password as before. "
            "Destroy the old recovery sheet: it no longer opens this database."
        )
        note.setWordWrap(True)
        self.view = RecoveryCodeView(code, lambda: nullcontext(ctx))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        self.close_button.setEnabled(False)
        self.view.confirmed.connect(self.close_button.setEnabled)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("New recovery code", 1.2))
        layout.addWidget(note)
        layout.addWidget(self.view)
        layout.addWidget(buttons)

    def reject(self) -> None:
        if self.view.is_confirmed():  # Escape or the window's close: only once it is kept
            super().reject()
