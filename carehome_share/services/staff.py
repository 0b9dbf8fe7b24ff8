"""Staff accounts: added, changed, NMC checks recorded, deactivated. Managers only."""

from dataclasses import replace
from datetime import date, datetime

from carehome_share.domain import validation as v
from carehome_share.domain.errors import NotFound, ValidationError
from carehome_share.domain.identifiers import parse_nmc_pin
from carehome_share.domain.model import Role, Staff
from carehome_share.services.access import end_sessions_it_affects
from carehome_share.services.auth import check_password_strength, parse_username
from carehome_share.services.context import UNSET, Context, Tx, perform, read
from carehome_share.store import repo


def _roles(value: object) -> frozenset[Role]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    return frozenset(v.choices("roles", value, Role))


def _checked(staff: Staff, today: date) -> Staff:
    """Validate a whole staff record: a nurse needs an NMC PIN and registration dates."""
    if Role.NURSE in staff.roles and not staff.nmc_pin:
        raise ValidationError("nmc_pin", "an NMC PIN for anyone given the nurse role")
    if staff.nmc_checked_on and staff.nmc_checked_on > today:
        raise ValidationError(
            "nmc_checked_on", "the date the register was checked, not a future one"
        )
    if (
        staff.nmc_checked_on
        and staff.nmc_expires_on
        and staff.nmc_expires_on < staff.nmc_checked_on
    ):
        raise ValidationError("nmc_expires_on", "a date on or after the check date")
    return staff


def add_staff(
    ctx: Context,
    username: str,
    full_name: str,
    roles: object,
    password: str,
    *,
    nmc_pin: str | None = None,
    nmc_checked_on: object = None,
    nmc_expires_on: object = None,
    confidentiality_signed_on: object = None,
    ig_training_on: object = None,
) -> Staff:
    """A new personal account (no shared accounts). The person changes the password at first login."""

    def work(tx: Tx) -> Staff:
        staff = _checked(
            Staff(
                id=0,
                username=parse_username(username),
                full_name=v.single_line("full_name", full_name, max_len=120),
                roles=_roles(roles),
                nmc_pin=parse_nmc_pin(nmc_pin) if nmc_pin else None,
                nmc_checked_on=v.as_date("nmc_checked_on", nmc_checked_on, required=False),
                nmc_expires_on=v.as_date("nmc_expires_on", nmc_expires_on, required=False),
                confidentiality_signed_on=v.as_date(
                    "confidentiality_signed_on", confidentiality_signed_on, required=False
                ),
                ig_training_on=v.as_date("ig_training_on", ig_training_on, required=False),
            ),
            v.uk_date(tx.now),
        )
        check_password_strength("password", password, staff.username, staff.full_name)
        if repo.find_staff(tx.conn, staff.username) is not None:
            raise ValidationError("username", f"the username '{staff.username}' is already in use")
        staff = replace(staff, id=repo.insert_staff(tx.conn, staff, "", tx.now))
        _give_slot(ctx, tx, staff.username, password)
        tx.details.update(_summary(staff))
        return staff

    return perform(ctx, "add_staff", work)


def _give_slot(ctx: Context, tx: Tx, username: str, password: str) -> None:
    """A key slot under a temporary password, sealed by the manager's open database: nobody
    else's password is needed. The key file is written before the change commits."""
    ctx.vault.put_slot(tx.conn, ctx.vault.new_slot(username, password))
    ctx.vault.sync_key_file()


def _summary(staff: Staff) -> dict[str, object]:
    return {
        "staff_id": staff.id,
        "username": staff.username,
        "full_name": staff.full_name,
        "roles": [r.value for r in Role if r in staff.roles],
        "nmc_pin": staff.nmc_pin,
        "active": staff.active,
    }


def _existing(tx: Tx, staff_id: object) -> Staff:
    found = v.row_id(staff_id)
    staff = None if found is None else repo.get_staff(tx.conn, found)
    if staff is None:
        raise NotFound("staff_id", f"an existing staff member (there is none with id {staff_id})")
    return staff


def update_staff(
    ctx: Context,
    staff_id: int,
    *,
    full_name: object = UNSET,
    roles: object = UNSET,
    nmc_pin: object = UNSET,
    confidentiality_signed_on: object = UNSET,
    ig_training_on: object = UNSET,
) -> Staff:
    """Change what is given; leave the rest as it is."""

    def work(tx: Tx) -> Staff:
        staff = _existing(tx, staff_id)
        end_sessions_it_affects(tx, staff_id=staff.id)  # the nurse role taken away, say
        changes: dict[str, object] = {}
        if full_name is not UNSET:
            changes["full_name"] = v.single_line("full_name", full_name, max_len=120)
        if roles is not UNSET:
            changes["roles"] = _roles(roles)
            if staff.id == tx.staff.id and Role.MANAGER not in changes["roles"]:  # type: ignore[operator]
                raise ValidationError("roles", "another manager to remove your own manager role")
        if nmc_pin is not UNSET:
            changes["nmc_pin"] = parse_nmc_pin(nmc_pin) if nmc_pin else None
        for name, value in (
            ("confidentiality_signed_on", confidentiality_signed_on),
            ("ig_training_on", ig_training_on),
        ):
            if value is not UNSET:
                changes[name] = v.as_date(name, value, required=False)
        updated = _checked(replace(staff, **changes), v.uk_date(tx.now))  # type: ignore[arg-type]
        repo.update_staff(tx.conn, updated)
        tx.details.update(_summary(updated))
        tx.details["changed"] = sorted(changes)
        return updated

    return perform(ctx, "update_staff", work)


def record_nmc_check(ctx: Context, staff_id: int, checked_on: object, expires_on: object) -> Staff:
    """The manager checked the NMC register: record when, and until when the registration runs."""

    def work(tx: Tx) -> Staff:
        staff = _existing(tx, staff_id)
        end_sessions_it_affects(tx, staff_id=staff.id)  # a registration found to have lapsed
        if not staff.nmc_pin:
            raise ValidationError("nmc_pin", "an NMC PIN recorded before a register check")
        updated = _checked(
            replace(
                staff,
                nmc_checked_on=v.as_date("checked_on", checked_on),
                nmc_expires_on=v.as_date("expires_on", expires_on),
            ),
            v.uk_date(tx.now),
        )
        repo.update_staff(tx.conn, updated)
        tx.details.update(
            staff_id=staff.id,
            nmc_pin=staff.nmc_pin,
            checked_on=str(updated.nmc_checked_on),
            expires_on=str(updated.nmc_expires_on),
        )
        return updated

    return perform(ctx, "record_nmc_check", work)


def deactivate_staff(ctx: Context, staff_id: int) -> Staff:
    """A leaver: the account can no longer log in or act, and any GP record session they have
    open ends. Kept for the audit trail."""

    def work(tx: Tx) -> Staff:
        staff = _existing(tx, staff_id)
        if staff.id == tx.staff.id:
            raise ValidationError("staff_id", "another manager to deactivate your own account")
        end_sessions_it_affects(tx, staff_id=staff.id)
        updated = replace(staff, active=False)
        repo.update_staff(tx.conn, updated)
        repo.mark_left(tx.conn, staff.id, tx.now)
        ctx.vault.remove_slot(tx.conn, staff.username)  # the password opens nothing any more
        ctx.vault.sync_key_file()
        tx.details.update(_summary(updated))
        return updated

    return perform(ctx, "deactivate_staff", work)


def reset_password(ctx: Context, staff_id: int, new_password: str) -> None:
    """Set a temporary password the person must change at next login; clears a lockout."""

    def work(tx: Tx) -> None:
        staff = _existing(tx, staff_id)
        if not staff.active:
            raise ValidationError("staff_id", "an active account (this one is deactivated)")
        check_password_strength("new_password", new_password, staff.username, staff.full_name)
        repo.set_password(tx.conn, staff.id, "", must_change=True)
        repo.set_locked_until(tx.conn, staff.id, tx.now)  # a fresh start for the new password
        _give_slot(ctx, tx, staff.username, new_password)
        tx.details.update(staff_id=staff.id, username=staff.username)

    perform(ctx, "reset_password", work)


def clear_lockout(ctx: Context, staff_id: int) -> Staff:
    """Let a locked-out member of staff try again now (the manager's call, audited)."""

    def work(tx: Tx) -> Staff:
        staff = _existing(tx, staff_id)
        repo.set_locked_until(tx.conn, staff.id, tx.now)  # failures before now no longer count
        tx.details.update(staff_id=staff.id, username=staff.username)
        return staff

    return perform(ctx, "clear_lockout", work)


def lockouts(ctx: Context) -> dict[int, datetime]:
    """The lockouts in force now: staff id, and until when (the Staff page and its button)."""

    def work(tx: Tx) -> dict[int, datetime]:
        found = {}
        for member in repo.list_staff(tx.conn):
            until = repo.get_credentials(tx.conn, member.id).locked_until
            if until is not None and until > tx.now:
                found[member.id] = until
        return found

    return read(ctx, "list_staff", work)


def rotate_key(ctx: Context) -> str:
    """A new database key (after someone leaves, or to end a 0.1 file's move to key slots).

    Every slot is resealed without anyone's password; the old key, the old recovery code and
    any 0.1 keychain entry or passphrase stop opening this file (older backups keep their own
    key). Accounts that still have no slot can then log in only after a password reset.
    Returns the new recovery code, to print at once. Nothing else may have the file open."""
    read(ctx, "rotate_key", lambda tx: None)  # refused (and audited) before anything changes
    code = ctx.vault.rotate_key()

    def record(tx: Tx) -> None:
        without = [s.username for s in repo.list_staff(tx.conn) if s.active]
        slots = ctx.vault.slots()
        tx.details.update(
            slots=len(slots), accounts_without_slot=[u for u in without if u not in slots]
        )

    perform(ctx, "rotate_key", record)
    return code


def accounts_without_slot(ctx: Context) -> list[Staff]:
    """Active accounts that cannot log in through a key slot yet (0.1 accounts not converted)."""

    def work(tx: Tx) -> list[Staff]:
        slots = ctx.vault.slots()
        return [s for s in repo.list_staff(tx.conn) if s.active and s.username not in slots]

    return read(ctx, "list_staff", work)


def list_staff(ctx: Context) -> list[Staff]:
    return read(ctx, "list_staff", lambda tx: repo.list_staff(tx.conn))


def find_staff(ctx: Context, username: str, action: str = "list_staff") -> Staff:
    """The account named `username`, looked up for `action`: a refusal is recorded as the
    action the user was attempting, not as a look-up."""

    def work(tx: Tx) -> Staff:
        staff = repo.find_staff(tx.conn, str(username).strip().lower())
        if staff is None:
            raise NotFound("username", f"an existing staff username (no '{username}')")
        return staff

    return read(ctx, action, work)
