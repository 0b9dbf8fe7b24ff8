"""Setting up a home, logging in and out, and passwords.

A password is checked by opening the person's key slot (`store.keyslots`): the same step that
opens the database. Accounts of a 0.1 database that have no slot yet are checked against their
old argon2 hash once, and given a slot as they log in.
"""

from dataclasses import replace
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from carehome_share.domain import validation as v
from carehome_share.domain.errors import (
    AuthenticationFailed,
    CarehomeError,
    RoleNeeded,
    ValidationError,
)
from carehome_share.domain.model import Role, Staff
from carehome_share.services.context import Context, Login, Tx, actor_of, perform
from carehome_share.services.settings import setting
from carehome_share.store import audit, repo
from carehome_share.store.audit import Actor
from carehome_share.store.vault import Connection

OLD_HASHES = PasswordHasher()  # verifies version 0.1's password hashes during the move to slots
MIN_PASSWORD = 10
MIN_STRENGTH = 3  # zxcvbn's "safely unguessable" (about 10^8 guesses or more)
_WRONG = "wrong username or password"
_CLOSED_FILE = "wrong username or password (tried while the database was closed)"
_JOURNAL_LIMIT = 1000


def check_password_strength(field: str, password: object, *about: str) -> str:
    """NCSC's advice: a minimum length, no composition rules, common and guessable passwords
    refused (zxcvbn, which also knows the person's name and the home's)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(field, f"a password of at least {MIN_PASSWORD} characters")
    if len(password) > 256:
        raise ValidationError(field, "a password of at most 256 characters")
    if not password.isprintable() or any("\ud800" <= ch <= "\udfff" for ch in password):
        raise ValidationError(field, "a password of letters, digits, spaces and punctuation")
    from zxcvbn import zxcvbn  # its word lists load only when a password is chosen, not at start

    words = [w for text in about for w in text.lower().replace(".", " ").split() if len(w) > 2]
    found = zxcvbn(password[:100], user_inputs=[*about, *words])
    if found["score"] < MIN_STRENGTH:
        feedback = found["feedback"]
        why = feedback["warning"] or "it would be easy to guess"
        why = why[0].lower() + why[1:]
        advice = " ".join(feedback["suggestions"]) or "Use three or four unrelated words."
        raise ValidationError(
            field, f"a password that is hard to guess: {why.rstrip('.')}. {advice}"
        )
    return password


def set_up_home(
    ctx: Context, home_name: str, manager_username: str, manager_name: str, password: str
) -> Staff:
    """First run: name the home and create the first manager account and key slot. Only on an
    empty database."""
    home_name = v.single_line("home_name", home_name, max_len=120)
    username = parse_username(manager_username)
    full_name = v.single_line("full_name", manager_name, max_len=120)
    check_password_strength("password", password, username, full_name, home_name)
    slot = ctx.vault.new_slot(username, password)
    with ctx.vault.transaction() as conn:
        if repo.home_name(conn) is not None:
            raise CarehomeError("This database is already set up; log in instead.")
        now = ctx.now()
        repo.insert_home(conn, home_name, now)
        staff = Staff(0, username, full_name, frozenset({Role.MANAGER}))
        staff_id = repo.insert_staff(conn, staff, "", now, must_change=False)
        staff = replace(staff, id=staff_id)
        ctx.vault.put_slot(conn, slot)
        ctx.vault.sync_key_file()
        audit.append(
            conn,
            at=now,
            actor=actor_of(staff, Role.MANAGER),
            workstation=ctx.workstation,
            action="set_up_home",
            outcome="allowed",
            details={"home": home_name, "manager": username},
        )
    return staff


# The one rule, in the hints beside username fields and in the error.
USERNAME_RULE = "letters a to z, digits, dots, dashes or underscores"


def parse_username(value: object) -> str:
    username = v.single_line("username", value, max_len=40)
    wrong = next(
        (ch for ch in username if not (ch.isascii() and ch.isalnum()) and ch not in ".-_"), None
    )
    if wrong is not None:
        shown = "a space" if wrong == " " else repr(wrong)
        raise ValidationError(
            "username", f"{shown} cannot be in a username: use only {USERNAME_RULE}"
        )
    return username.lower()


def log_in(ctx: Context, username: str, password: str, role: Role | str | None = None) -> Login:
    """Check the password and start working under one role; repeated failures lock the account.

    Failures journaled while the database was closed are moved into the audit chain first, so
    they count towards a lockout like any other."""
    typed = username if isinstance(username, str) else ""
    typed = "".join(ch for ch in typed.strip().lower() if ch.isprintable())[:40] or "-"
    password = password if isinstance(password, str) else ""
    failure: AuthenticationFailed | None = None
    _import_closed_file_failures(ctx)
    with ctx.vault.transaction() as conn:
        now = ctx.now()
        staff = repo.find_staff(conn, typed)
        proof = ctx.vault.take_proof(password)
        problem = _login_problem(ctx, conn, staff, password, proof, now)
        if problem is None and staff is not None:
            chosen = _chosen_role(staff, role)
            actor = actor_of(staff, chosen)
            locked_until = repo.get_credentials(conn, staff.id).locked_until
            if locked_until is not None and locked_until > now:  # a manager with the code
                _record(ctx, conn, now, actor, "clear_lockout", {"by": "recovery code"})
            repo.set_locked_until(conn, staff.id, None)
            if staff.username not in ctx.vault.slots():  # a 0.1 account: its slot, now
                ctx.vault.put_slot(conn, ctx.vault.new_slot(staff.username, password))
                repo.set_password(conn, staff.id, "", _must_change(conn, staff))
                ctx.vault.sync_key_file()
                _record(ctx, conn, now, actor, "key_slot_created", {"from": "0.1 password"})
            _record(ctx, conn, now, actor, "log_in", None)
            ctx.login = Login(staff, chosen, now)
            return ctx.login
        actor = actor_of(staff, "-") if staff else Actor(typed, "unknown user", "-")
        audit.append(
            conn,
            at=now,
            actor=actor,
            workstation=ctx.workstation,
            action="log_in",
            outcome="denied",
            reasons=[problem or _WRONG],
        )
        if staff is not None and problem == _WRONG:
            _lock_after_repeated_failures(ctx, conn, staff, now)
        failure = AuthenticationFailed(_message(problem or _WRONG))
    raise failure


def _record(
    ctx: Context,
    conn: Connection,
    now: datetime,
    actor: Actor,
    action: str,
    details: dict[str, object] | None,
) -> None:
    audit.append(
        conn,
        at=now,
        actor=actor,
        workstation=ctx.workstation,
        action=action,
        outcome="allowed",
        details=details,
    )


def _must_change(conn: Connection, staff: Staff) -> bool:
    return repo.get_credentials(conn, staff.id).must_change_password


def _login_problem(
    ctx: Context,
    conn: Connection,
    staff: Staff | None,
    password: str,
    proof: str | None,
    now: datetime,
) -> str | None:
    if staff is None:
        ctx.vault.unseal("-", password)  # an unknown name costs as much as a wrong password
        return _WRONG
    if not staff.active:  # its key slot is gone: no password can be checked, nor open anything
        ctx.vault.unseal("-", password)
        return "the account is deactivated"
    credentials = repo.get_credentials(conn, staff.id)
    if not _password_is_right(ctx, staff, credentials.password_hash, password, proof):
        return _WRONG
    locked = credentials.locked_until is not None and credentials.locked_until > now
    recovered = proof == "recovery code"  # the code's holder may unlock a manager, once
    if locked and not (recovered and Role.MANAGER in staff.roles):
        assert credentials.locked_until is not None
        until = credentials.locked_until.astimezone(v.UK).strftime("%H:%M")
        return f"account locked until {until} after repeated wrong passwords"
    return None


def _password_is_right(
    ctx: Context, staff: Staff, old_hash: str, password: str, proof: str | None
) -> bool:
    """The slot that opened the database just now, the slot, or (0.1 accounts without a slot,
    while the file is moving to slots) the old hash."""
    if proof == f"password:{staff.username}":
        return True
    if staff.username in ctx.vault.slots() or not old_hash or not ctx.vault.in_transition():
        return ctx.vault.unseal(staff.username, password)
    try:
        return OLD_HASHES.verify(old_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _import_closed_file_failures(ctx: Context) -> None:
    """Move the journal of failed logins (sealed to the home while the file was closed) into
    the audit chain, with their own times, and apply any lockout they add up to."""
    records = ctx.vault.journaled_failures()
    if not records:
        return
    with ctx.vault.transaction() as conn:
        _import_records(ctx, conn, records)
    ctx.vault.clear_journal()


def _import_records(ctx: Context, conn: Connection, records: list[dict[str, str] | None]) -> None:
    """Anyone can seal a line to the home's public key, so a flood is cut short: the latest
    lines are imported, the rest counted."""
    forged = max(0, len(records) - _JOURNAL_LIMIT)
    for record in records[-_JOURNAL_LIMIT:]:
        if record is None or "at" not in record or "username" not in record:
            forged += 1
            continue
        at = datetime.fromisoformat(record["at"].replace("Z", "+00:00"))
        staff = repo.find_staff(conn, record["username"])
        actor = actor_of(staff, "-") if staff else Actor(record["username"], "unknown user", "-")
        audit.append(
            conn,
            at=at,
            actor=actor,
            workstation=record.get("workstation", "-"),
            action=record.get("action", "log_in"),
            outcome="denied",
            reasons=[_CLOSED_FILE],
        )
        if staff is not None and record.get("action", "log_in") == "log_in":
            _lock_after_repeated_failures(ctx, conn, staff, at)
    if forged:
        audit.append(
            conn,
            at=ctx.now(),
            actor=Actor("-", "login journal", "-"),
            workstation=ctx.workstation,
            action="log_in_journal",
            outcome="denied",
            reasons=[f"{forged} line(s) unreadable, or beyond the last {_JOURNAL_LIMIT}, ignored"],
        )


def _message(problem: str) -> str:
    if problem == _WRONG:
        return "Wrong username or password."
    return problem[0].upper() + problem[1:] + ". Ask the registered manager."


def _chosen_role(staff: Staff, role: Role | str | None) -> Role:
    held = [r for r in Role if r in staff.roles]
    if role is None:
        if len(held) == 1:
            return held[0]
        raise RoleNeeded(held)
    chosen = v.choice("role", role, Role)
    if chosen not in staff.roles:
        raise ValidationError(
            "role",
            f"this account does not hold the role {chosen.label}; it holds "
            + " and ".join(r.label for r in held),
        )
    return chosen


def _lock_after_repeated_failures(
    ctx: Context, conn: Connection, staff: Staff, now: datetime
) -> None:
    """Lock after too many wrong passwords in the window, counting only those since the last
    lockout ended or was cleared (`locked_until` then marks where counting starts again)."""
    window = timedelta(minutes=int(setting(conn, "lockout_window_minutes")))
    current = repo.get_credentials(conn, staff.id).locked_until
    since = max(now - window, current) if current is not None else now - window
    if repo.count_failed_logins(conn, staff.username, since) < int(
        setting(conn, "lockout_failures")
    ):
        return
    until = now + timedelta(minutes=int(setting(conn, "lockout_minutes")))
    if current is not None and current >= until:
        return
    repo.set_locked_until(conn, staff.id, until)
    audit.append(
        conn,
        at=now,
        actor=actor_of(staff, "-"),
        workstation=ctx.workstation,
        action="lock_account",
        outcome="allowed",
        details={"locked_until": audit.format_time(until)},
    )


def log_out(ctx: Context) -> None:
    """End the login; idle locks and "switch user" come through here too."""
    if ctx.login is None:
        return
    login = ctx.login
    with ctx.vault.transaction() as conn:
        audit.append(
            conn,
            at=ctx.now(),
            actor=actor_of(login.staff, login.role),
            workstation=ctx.workstation,
            action="log_out",
            outcome="allowed",
        )
    ctx.login = None


def change_own_password(ctx: Context, current: str, new: str) -> None:
    """A new key slot under the new password (a temporary one must be changed this way first)."""

    def work(tx: Tx) -> None:
        credentials = repo.get_credentials(tx.conn, tx.staff.id)
        typed = current if isinstance(current, str) else ""
        if not _password_is_right(ctx, tx.staff, credentials.password_hash, typed, None):
            raise ValidationError("current_password", "the password you log in with")
        check_password_strength("new_password", new, tx.staff.username, tx.staff.full_name)
        if new == current:
            raise ValidationError("new_password", "a password different from the current one")
        ctx.vault.put_slot(tx.conn, ctx.vault.new_slot(tx.staff.username, new))
        repo.set_password(tx.conn, tx.staff.id, "", must_change=False)
        ctx.vault.sync_key_file()

    perform(ctx, "change_own_password", work)


def must_change_password(ctx: Context) -> bool:
    """True after a manager set or reset the password: the user should choose their own."""
    if ctx.login is None:
        return False
    return repo.get_credentials(ctx.conn, ctx.login.staff.id).must_change_password
