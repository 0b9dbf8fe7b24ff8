"""Choosing one's own password after the manager set a temporary one: shown after the login,
before the main window. Cancel logs out."""

from PySide6.QtWidgets import QLabel, QWidget

from carehome_share.domain.errors import ValidationError
from carehome_share.gui.forms import FormDialog, heading, password_field
from carehome_share.services import auth
from carehome_share.services.context import Context


class ChangePasswordDialog(FormDialog):
    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__("Choose your password", "&Change password", parent)
        assert ctx.login is not None
        self.ctx, self.staff = ctx, ctx.login.staff
        note = QLabel(
            f"{self.staff.full_name}, the manager set a temporary password for this account. "
            "Choose your own before you start: only you should know it. Cancel logs you out."
        )
        note.setWordWrap(True)
        self.body.insertWidget(0, heading("Choose your password", 1.2))
        self.body.insertWidget(1, note)
        self.form.add("current_password", "&Temporary password:", password_field())
        self.form.add(
            "new_password",
            "&New password:",
            password_field(),
            f"At least {auth.MIN_PASSWORD} characters; a few unrelated words work well",
        )
        self.form.add("new_password_again", "&Repeat new password:", password_field())
        self.form.fields["current_password"].setFocus()

    def submit(self) -> None:
        new = self.form.value("new_password")
        auth.check_password_strength("new_password", new, self.staff.username, self.staff.full_name)
        if new != self.form.value("new_password_again"):
            raise ValidationError("new_password_again", "the two passwords differ")
        auth.change_own_password(self.ctx, self.form.value("current_password"), new)
