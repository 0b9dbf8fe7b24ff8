"""What every service shares: the vault, the clock, the workstation, who is logged in, and
`perform`, the one path by which an action is authorised, carried out and audited."""

import gc
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from carehome_share.domain.errors import NotFound, PermissionDenied, ValidationError
from carehome_share.domain.model import Role, Staff
from carehome_share.domain.permissions import PERMISSIONS
from carehome_share.domain.validation import row_id
from carehome_share.store import audit, repo
from carehome_share.store.audit import Actor
from carehome_share.store.vault import Connection, Vault

T = TypeVar("T")
# An argument an `update_*` service was not given: None may be a value it sets (a room cleared).
UNSET = object()
NOBODY = Actor(username="-", name="nobody logged in", role="-")
# What a temporary password may do: choose the person's own, and what the app does at any login.
_BEFORE_OWN_PASSWORD = frozenset({"change_own_password", "close_stale_sessions", "view_settings"})


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while one large document is built. A month's report makes
    hundreds of thousands of small dicts and lists (its FHIR Bundle, its evidence, the PDF's
    rows), none in a cycle; collecting them over and over as they pile up cost a third of
    building the attachments (benchmarks/report_speed.py). Whatever it made is freed after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Login:
    staff: Staff
    role: Role
    at: datetime


class Context:
    """One user's connection to the services: a GUI window, a CLI run or a test."""

    def __init__(
        self,
        vault: Vault,
        clock: Callable[[], datetime] = utc_now,
        workstation: str | None = None,
    ) -> None:
        self.vault = vault
        self.clock = clock
        self.workstation = workstation or socket.gethostname()
        self.login: Login | None = None

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    @property
    def conn(self) -> Connection:
        return self.vault.conn


@dataclass
class Tx:
    """What an action's work sees: the open transaction, the moment, and the audit details."""

    conn: Connection
    now: datetime
    staff: Staff
    role: Role
    workstation: str
    resident_id: int | None = None
    details: dict[str, object] = field(default_factory=dict)
    # What follows from the change once its own entry is written, in its transaction, each with
    # its own entry (the sessions a withdrawal ends).
    then: list[Callable[[], None]] = field(default_factory=list)


def actor_of(staff: Staff, role: Role | str) -> Actor:
    role_value = role.value if isinstance(role, Role) else role
    return Actor(staff.username, staff.full_name, role_value, staff.nmc_pin or "")


def perform(
    ctx: Context,
    action: str,
    work: Callable[[Tx], T],
    *,
    resident_id: int | None = None,
    audited: bool = True,
) -> T:
    """Authorise `action` for the logged-in user, run `work`, and audit it, in one transaction.

    A refusal is audited and committed, then raised as PermissionDenied. A ValidationError or
    any other failure inside `work` rolls everything back. `audited=False` is for work that
    writes its own audit entries.
    """
    with ctx.vault.transaction() as conn:
        now = ctx.now()
        staff, problems = _authorise(conn, ctx, action)
        if not problems:
            assert staff is not None and ctx.login is not None
            tx = Tx(conn, now, staff, ctx.login.role, ctx.workstation, resident_id)
            result = work(tx)
            if audited:
                audit.append(
                    conn,
                    at=now,
                    actor=actor_of(staff, tx.role),
                    workstation=ctx.workstation,
                    action=action,
                    outcome="allowed",
                    resident_id=tx.resident_id,
                    details=tx.details,
                )
            for consequence in tx.then:
                consequence()
            return result
    raise _refuse(ctx, action, staff, problems, resident_id)


def read(
    ctx: Context, action: str, work: Callable[[Tx], T], *, resident_id: int | None = None
) -> T:
    """Authorise a read and run it in a snapshot that holds up no writer. Only a refusal is
    audited: looking up a room number is not an event, being refused one is."""
    with ctx.vault.snapshot() as conn:
        staff, problems = _authorise(conn, ctx, action)
        if not problems:
            assert staff is not None and ctx.login is not None
            return work(Tx(conn, ctx.now(), staff, ctx.login.role, ctx.workstation, resident_id))
    raise _refuse(ctx, action, staff, problems, resident_id)


def _refuse(
    ctx: Context, action: str, staff: Staff | None, problems: list[str], resident_id: int | None
) -> PermissionDenied:
    """Record a refusal in its own committed transaction and return the error to raise."""
    with ctx.vault.transaction() as conn:
        actor = actor_of(staff, ctx.login.role) if staff and ctx.login else NOBODY
        audit.append(
            conn,
            at=ctx.now(),
            actor=actor,
            workstation=ctx.workstation,
            action=action,
            outcome="denied",
            resident_id=resident_id if _resident_exists(conn, resident_id) else None,
            reasons=problems,
        )
    return PermissionDenied(action, problems)


def _authorise(conn: Connection, ctx: Context, action: str) -> tuple[Staff | None, list[str]]:
    """The acting user as the database has them now, and every reason they may not act."""
    if ctx.login is None:
        return None, ["nobody is logged in"]
    staff = repo.get_staff(conn, ctx.login.staff.id)
    if staff is None:
        return None, ["the logged-in account no longer exists"]
    problems = []
    if not staff.active:
        problems.append(f"the account of {staff.full_name} is deactivated")
    role = ctx.login.role
    if role not in staff.roles:
        problems.append(f"{staff.full_name} no longer holds the {role.value} role")
    if (
        action not in _BEFORE_OWN_PASSWORD
        and repo.get_credentials(conn, staff.id).must_change_password
    ):
        problems.append(
            f"{staff.full_name} has a temporary password: choose your own password first"
        )
    allowed = PERMISSIONS[action]
    if role not in allowed:
        names = " or ".join(r.label.lower() for r in Role if r in allowed)
        label = role.label.lower()
        article = "an" if label[0] in "aeiou" else "a"  # "not an administrator"
        problems.append(f"{action.replace('_', ' ')} is for the {names}, not {article} {label}")
    return staff, problems


def temporary_password(conn: Connection, staff: Staff) -> str | None:
    """The reason to refuse everything but choosing a password, after a manager set one."""
    if repo.get_credentials(conn, staff.id).must_change_password:
        return f"{staff.full_name} has a temporary password: choose your own password first"
    return None


def _resident_exists(conn: Connection, resident_id: int | None) -> bool:
    return resident_id is not None and repo.get_resident(conn, resident_id) is not None


def require_resident(conn: Connection, resident_id: object) -> int:
    """A resident id that exists, or a ValidationError naming the field."""
    if not isinstance(resident_id, int) or isinstance(resident_id, bool):
        raise ValidationError("resident_id", "a resident's number")
    if row_id(resident_id) is None or repo.get_resident(conn, resident_id) is None:
        raise NotFound("resident_id", f"an existing resident (there is no resident {resident_id})")
    return resident_id
