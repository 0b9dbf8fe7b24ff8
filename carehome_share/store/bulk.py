"""Batched writes for generated data (the demo and benchmarks): access sessions, sections viewed,
refusals, GP contacts, and their audit entries chained onto the log. Callers own the transaction.

The audit entries go through the same canonical row and hash as `audit.append`, so
`audit.verify` cannot tell a batched entry from one written by a service. Each row binds itself
(`bound`: its key and digest, computed from the values it will be written with), and the caller
puts that in the details of the entry that writes it, as a service's entry would carry it; the
rows are inserted without the per-row triggers (`binding.untracked`), and under the rowids
(`rowid`, `id`) the bindings name.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from carehome_share.domain.model import Reason
from carehome_share.store import audit, binding, practice_log, repo
from carehome_share.store.audit import Actor
from carehome_share.store.vault import Connection, Vault


class NestedVault(Vault):
    """The same open database, where each service's transaction is a savepoint.

    Inside a transaction the caller opened on the real vault, thousands of service calls then
    cost one commit instead of one each, and all of them roll back together on an error.
    """

    @classmethod
    def inside(cls, vault: Vault) -> "NestedVault":
        return cls(vault.conn, vault.path, vault._key, vault.opened_by)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        self.conn.execute("SAVEPOINT nested")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK TO nested")
            self.conn.execute("RELEASE nested")
            raise
        self.conn.execute("RELEASE nested")

    snapshot = transaction


class AuditEvent(NamedTuple):
    """One audit entry still to be chained; `at` is text as `audit.format_time` gives it."""

    at: str
    actor: Actor
    workstation: str
    action: str
    outcome: str
    resident_id: int | None
    reasons: Sequence[str] = ()
    details: Mapping[str, object] | None = None


class SessionRow(NamedTuple):
    id: int
    resident_id: int
    staff_id: int
    practice_id: int
    nmc_pin: str
    purpose: str
    justification: str
    opened_at: str
    closed_at: str | None
    close_kind: str | None
    consent_id: int | None
    agreement_id: int | None
    workstation: str
    close_reason: str = ""
    decided_by_self: int = 0

    def bound(self) -> tuple[str, str]:
        """(key, digest) binding this row as written."""
        return binding.row_key("access_session", self.id), binding.row_digest(self)

    def closed(self, at: str, kind: str) -> "SessionRow":
        """The same session, closed (quicker than _replace: the demo makes a million)."""
        return SessionRow(*self[:8], at, kind, *self[10:])


class SectionRow(NamedTuple):
    session_id: int
    section: str
    viewed_at: str
    rowid: int  # session_section has no integer key: its rowid is chosen here and bound

    def bound(self) -> tuple[str, str]:
        return binding.row_key("session_section", self.rowid), binding.row_digest(self[:3])


class RefusalRow(NamedTuple):
    id: int
    resident_id: int
    staff_id: int | None
    practice_id: int
    role: str
    purpose: str
    justification: str
    at: str
    reasons: Sequence[Reason]
    consent_id: int | None
    workstation: str

    def stored(self) -> tuple[object, ...]:
        """The columns as written: reasons as repo.insert_refusal stores them."""
        texts, codes = repo.reason_columns(self.reasons)
        return (*self[:8], texts, *self[9:], codes)

    def bound(self) -> tuple[str, str]:
        return binding.row_key("access_refusal", self.id), binding.row_digest(self.stored())


class ContactRow(NamedTuple):
    id: int
    resident_id: int
    staff_id: int
    practice_id: int
    at: str
    spoke_to: str
    reason: str
    outcome: str
    refusal_id: int | None

    def bound(self) -> tuple[str, str]:
        return binding.row_key("gp_contact", self.id), binding.row_digest(self)


_ID_TABLES = ("access_session", "session_section", "access_refusal", "gp_contact")


def next_id(conn: Connection, table: str) -> int:
    """The id (rowid) the next row of a table will get: chosen here so entries can name them."""
    if table not in _ID_TABLES:
        raise ValueError(f"next_id: one of {', '.join(_ID_TABLES)}")
    return int(conn.execute(f"SELECT coalesce(max(rowid), 0) + 1 FROM {table}").fetchone()[0])


def _insert(conn: Connection, table: str, sql: str, rows: Sequence[Sequence[object]]) -> None:
    with binding.untracked(conn, [table]):  # the entries carry these rows' bindings already
        conn.executemany(sql, rows)


def insert_sessions(conn: Connection, rows: Sequence[SessionRow]) -> None:
    _insert(
        conn,
        "access_session",
        "INSERT INTO access_session(id, resident_id, staff_id, practice_id, nmc_pin, purpose, "
        "justification, opened_at, closed_at, close_kind, consent_id, agreement_id, workstation, "
        "close_reason, decided_by_self) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def insert_sections(conn: Connection, rows: Sequence[SectionRow]) -> None:
    _insert(
        conn,
        "session_section",
        "INSERT INTO session_section(session_id, section, viewed_at, rowid) VALUES (?, ?, ?, ?)",
        rows,
    )


def insert_refusals(conn: Connection, rows: Sequence[RefusalRow]) -> None:
    _insert(
        conn,
        "access_refusal",
        "INSERT INTO access_refusal(id, resident_id, staff_id, practice_id, role, purpose, "
        "justification, at, reasons, consent_id, workstation, reason_codes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [r.stored() for r in rows],
    )


def insert_gp_contacts(conn: Connection, rows: Sequence[ContactRow]) -> None:
    _insert(
        conn,
        "gp_contact",
        "INSERT INTO gp_contact(id, resident_id, staff_id, practice_id, at, spoke_to, reason, "
        "outcome, refusal_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def append_audit(conn: Connection, events: Sequence[AuditEvent]) -> tuple[int, str]:
    """Chain events onto the audit log in the order given; return the new head (seq, hash).

    The events' times must not go back, neither among themselves nor behind the last entry:
    a reviewer reads the log in sequence and expects time to run forward. Each event's
    details carry the bindings of the rows it writes (`bound`); rows written on this
    connection since the last entry (by a service) are bound by the first event, as
    `audit.append` would bind them.
    """
    seq, prev_hash = audit.head(conn)
    last = conn.execute("SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    last_at = last[0] if last else ""
    for event in events:
        if event.at < last_at:
            raise ValueError(f"audit entry at {event.at} would follow one at {last_at}")
        last_at = event.at
    if not events:
        return seq, prev_hash
    first = binding.entry_rows(conn, first=seq == 0)
    rows = []
    counters: dict[int, int] = {}  # each practice's last running number in this batch
    about: dict[int, tuple[int, str] | None] = {}  # resident: practice, looked up once
    numbers = []
    for event in events:
        details, number = practice_log.numbered(
            conn, event.resident_id, event.details, counters, about
        )
        if first:
            details, first = binding.merged(details, first), {}
        seq += 1
        if number is not None:
            numbers.append((*number, seq))
        rows.append(
            audit.entry_row(
                seq,
                event.at,
                event.actor,
                event.workstation,
                event.action,
                event.outcome,
                event.resident_id,
                event.reasons,
                details,
            )
        )
    head = audit.insert_chained(conn, rows, prev_hash)
    practice_log.index(conn, numbers)
    return head
