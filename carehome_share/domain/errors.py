"""Errors every layer raises and every front end shows as they are."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from carehome_share.domain.model import Role


class CarehomeError(Exception):
    """Base for errors whose message is meant for the person using the app."""


class ValidationError(CarehomeError, ValueError):
    """Bad input: names the field and what was expected. Nothing was written."""

    def __init__(self, field: str, expected: str) -> None:
        self.field = field
        self.expected = expected
        super().__init__(f"{field}: {expected}")


class RoleNeeded(ValidationError):
    """The account holds several roles and none was chosen: `roles` are the ones to offer."""

    def __init__(self, roles: "list[Role]") -> None:
        self.roles = roles
        labels = " or ".join(role.label for role in roles)
        super().__init__("role", f"you hold several roles: choose one to work as ({labels})")


class NotFound(ValidationError):
    """An identifier that names nothing in the database."""


class PermissionDenied(CarehomeError):
    """The acting user may not do this. The refusal has been written to the audit log."""

    def __init__(self, action: str, reasons: list[str]) -> None:
        self.action = action
        self.reasons = reasons
        super().__init__(f"{action} refused: " + "; ".join(reasons))


class AccessRefused(PermissionDenied):
    """A GP-record access was refused; the refusal is recorded and the GP can be phoned instead."""

    def __init__(self, reasons: list[str], refusal_id: int) -> None:
        self.refusal_id = refusal_id
        super().__init__("open_access_session", reasons)


class AuthenticationFailed(CarehomeError):
    """Wrong username or password, or the account is locked. Logged in the audit trail."""
