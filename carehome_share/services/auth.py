"""Setting up a home, logging in and out, and passwords."""

from dataclasses import replace
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from carehome_share.domain import validation as v
from carehome_share.domain.errors import AuthenticationFailed, CarehomeError, ValidationError
from carehome_share.domain.model import Role, Staff
from carehome_share.services.context import Context, Login, Tx, actor_of, perform
from carehome_share.services.settings import setting
from carehome_share.store import audit, repo
from carehome_share.store.audit import Actor
from carehome_share.store.vault import Connection

# argon2id at OWASP's recommended minimum: 19 MiB, 2 passes (about 30 ms here).
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PASSWORD = 10
_WRONG = "wrong username or password"


def check_password_strength(field: str, password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(field, f"a password of at least {MIN_PASSWORD} characters")
    if len(password) > 256:
        raise ValidationError(field, "a password of at most 256 characters")
    return password


def set_up_home(
    ctx: Context, home_name: str, manager_username: str, manager_name: str, password: str
) -> Staff:
    """First run: name the home and create the first manager account. Only on an empty database."""
    home_name = v.single_line("home_name", home_name, max_len=120)
    username = parse_username(manager_username)
    full_name = v.single_line("full_name", manager_name, max_len=120)
    check_password_strength("password", password)
    with ctx.vault.transaction() as conn:
        if repo.home_name(conn) is not None:
            raise CarehomeError("This database is already set up; log in instead.")
        now = ctx.now()
        repo.insert_home(conn, home_name, now)
        staff = Staff(0, username, full_name, frozenset({Role.MANAGER}))
        staff_id = repo.insert_staff(conn, staff, HASHER.hash(password), now, must_change=False)
        staff = replace(staff, id=staff_id)
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


def parse_username(value: object) -> str:
    username = v.single_line("username", value, max_len=40)
    if not username.replace(".", "").replace("-", "").replace("_", "").isalnum() or not (
        username.isascii()
    ):
        raise ValidationError("username", "letters, digits, dots, dashes or underscores only")
    return username.lower()


def log_in(ctx: Context, username: str, password: str, role: Role | str | None = None) -> Login:
    """Check the password and start working under one role; repeated failures lock the account."""
    typed = username if isinstance(username, str) else ""
    typed = "".join(ch for ch in typed.strip().lower() if ch.isprintable())[:40] or "-"
    failure: AuthenticationFailed | None = None
    with ctx.vault.transaction() as conn:
        now = ctx.now()
        staff = repo.find_staff(conn, typed)
        problem = _login_problem(conn, staff, password, now)
        if problem is None and staff is not None:
            chosen = _chosen_role(staff, role)
            credentials = repo.get_credentials(conn, staff.id)
            if HASHER.check_needs_rehash(credentials.password_hash):
                repo.set_password(
                    conn, staff.id, HASHER.hash(password), credentials.must_change_password
                )
            repo.set_locked_until(conn, staff.id, None)
            audit.append(
                conn,
                at=now,
                actor=actor_of(staff, chosen),
                workstation=ctx.workstation,
                action="log_in",
                outcome="allowed",
            )
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


def _login_problem(
    conn: Connection, staff: Staff | None, password: object, now: datetime
) -> str | None:
    if staff is None:
        HASHER.hash("timing equaliser")  # an unknown name takes as long as a wrong password
        return _WRONG
    credentials = repo.get_credentials(conn, staff.id)
    if credentials.locked_until is not None and credentials.locked_until > now:
        until = credentials.locked_until.astimezone(v.UK).strftime("%H:%M")
        return f"account locked until {until} after repeated wrong passwords"
    try:
        HASHER.verify(credentials.password_hash, password if isinstance(password, str) else "")
    except (VerificationError, InvalidHashError):
        return _WRONG
    if not staff.active:
        return "the account is deactivated"
    return None


def _message(problem: str) -> str:
    if problem == _WRONG:
        return "Wrong username or password."
    return problem[0].upper() + problem[1:] + ". Ask the registered manager."


def _chosen_role(staff: Staff, role: Role | str | None) -> Role:
    held = ", ".join(r.value for r in Role if r in staff.roles)
    if role is None:
        if len(staff.roles) == 1:
            return next(iter(staff.roles))
        raise ValidationError("role", f"choose the role to work under: one of {held}")
    chosen = v.choice("role", role, Role)
    if chosen not in staff.roles:
        raise ValidationError("role", f"one of the roles this account holds: {held}")
    return chosen


def _lock_after_repeated_failures(
    ctx: Context, conn: Connection, staff: Staff, now: datetime
) -> None:
    window = timedelta(minutes=int(setting(conn, "lockout_window_minutes")))
    if repo.count_failed_logins(conn, staff.username, now - window) < int(
        setting(conn, "lockout_failures")
    ):
        return
    until = now + timedelta(minutes=int(setting(conn, "lockout_minutes")))
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
    def work(tx: Tx) -> None:
        credentials = repo.get_credentials(tx.conn, tx.staff.id)
        try:
            HASHER.verify(credentials.password_hash, current)
        except (VerificationError, InvalidHashError):
            raise ValidationError("current_password", "the password you log in with") from None
        check_password_strength("new_password", new)
        if new == current:
            raise ValidationError("new_password", "a password different from the current one")
        repo.set_password(tx.conn, tx.staff.id, HASHER.hash(new), must_change=False)

    perform(ctx, "change_own_password", work)


def must_change_password(ctx: Context) -> bool:
    """True after a manager set or reset the password: the user should choose their own."""
    if ctx.login is None:
        return False
    return repo.get_credentials(ctx.conn, ctx.login.staff.id).must_change_password
