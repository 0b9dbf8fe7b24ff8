"""The audit log: an append-only hash chain, and the check that it is whole.

Each entry's hash is SHA-256(previous hash || canonical entry), so editing, deleting, inserting or
reordering any entry breaks every hash after it, and a printed chain head (sequence and hash)
shows whether a database file was later rolled back to an earlier copy.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from carehome_share.store.vault import Connection, DatabaseError, Vault

GENESIS = "0" * 64
_COLUMNS = (
    "seq, at, actor_username, actor_name, actor_role, actor_nmc_pin, workstation, action, "
    "resident_id, outcome, reasons, details"
)


@dataclass(frozen=True)
class Actor:
    """Who did something, as they were at that moment."""

    username: str
    name: str
    role: str
    nmc_pin: str = ""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor_username: str
    actor_name: str
    actor_role: str
    actor_nmc_pin: str
    workstation: str
    action: str
    resident_id: int | None
    outcome: str
    reasons: list[str]
    details: dict[str, object]
    hash: str


# Built once: verifying a million entries calls these a million times.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SORTED_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _canonical(row: tuple[object, ...]) -> bytes:
    # reasons and details are stored as canonical JSON text already, so this is the stored row
    return _JSON.encode(row).encode()


def entry_hash(prev_hash: str, row: tuple[object, ...]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + _canonical(row)).hexdigest()


def head(conn: Connection) -> tuple[int, str]:
    """The last entry's sequence number and hash: (0, GENESIS) for an empty log."""
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def entry_row(
    seq: int,
    at: str,
    actor: Actor,
    workstation: str,
    action: str,
    outcome: str,
    resident_id: int | None,
    reasons: Iterable[str],
    details: Mapping[str, object] | None,
) -> tuple[object, ...]:
    """An entry as stored and hashed: the one layout every writer of the log uses."""
    return (
        seq,
        at,
        actor.username,
        actor.name,
        actor.role,
        actor.nmc_pin,
        workstation,
        action,
        resident_id,
        outcome,
        _JSON.encode(list(reasons)),
        _SORTED_JSON.encode(details or {}),
    )


def insert_chained(
    conn: Connection, rows: Iterable[tuple[object, ...]], prev_hash: str
) -> tuple[int, str]:
    """Chain entry rows onto `prev_hash` and insert them; return the new head."""
    chained = []
    seq = 0
    for row in rows:
        digest = entry_hash(prev_hash, row)
        chained.append((*row, prev_hash, digest))
        seq, prev_hash = int(row[0]), digest  # type: ignore[call-overload]
    conn.executemany(
        f"INSERT INTO audit_log ({_COLUMNS}, prev_hash, hash) VALUES ({', '.join('?' * 14)})",
        chained,
    )
    return seq, prev_hash


def append(
    conn: Connection,
    *,
    at: datetime,
    actor: Actor,
    workstation: str,
    action: str,
    outcome: str,
    resident_id: int | None = None,
    reasons: Iterable[str] = (),
    details: dict[str, object] | None = None,
) -> int:
    """Add one entry inside the caller's transaction; return its sequence number."""
    last_seq, last_hash = head(conn)
    row = entry_row(
        last_seq + 1,
        format_time(at),
        actor,
        workstation,
        action,
        outcome,
        resident_id,
        reasons,
        details,
    )
    return insert_chained(conn, [row], last_hash)[0]


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entries(
    conn: Connection, resident_id: int | None = None, last: int | None = None
) -> list[AuditEntry]:
    """Entries oldest first: all of them, one resident's, or the last few."""
    where, params = ("WHERE resident_id = ?", (resident_id,)) if resident_id else ("", ())
    if last is not None:
        where = f"WHERE seq > (SELECT coalesce(max(seq), 0) FROM audit_log) - {int(last)}"
    rows = conn.execute(
        f"SELECT {_COLUMNS}, hash FROM audit_log {where} ORDER BY seq", params
    ).fetchall()
    return [
        AuditEntry(*r[:10], json.loads(r[10]), json.loads(r[11]), r[12])  # type: ignore[misc]
        for r in rows
    ]


@dataclass
class VerifyResult:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(vault: Vault, expected_head: tuple[int, str] | None = None) -> VerifyResult:
    """Check the file's pages, the database structure and every link of the audit chain.

    With `expected_head` (from a printed report) also detect a file rolled back behind it.
    """
    result = VerifyResult()
    conn = vault.conn
    try:
        for (problem,) in conn.execute("PRAGMA cipher_integrity_check"):
            result.problems.append(f"encryption check: {problem}")
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except DatabaseError as exc:
        result.problems.append(f"the database file is damaged: {exc}")
        return result
    if integrity != ["ok"]:
        result.problems.extend(f"structure check: {p}" for p in integrity)

    prev_hash, expected_seq = GENESIS, 1
    cursor = conn.execute(f"SELECT {_COLUMNS}, prev_hash, hash FROM audit_log ORDER BY seq")
    while rows := cursor.fetchmany(10_000):
        for row in rows:
            seq, stored_prev, stored_hash = row[0], row[12], row[13]
            if result.first_bad_seq is None:
                problem = None
                if seq != expected_seq:
                    problem = f"audit entry {expected_seq} is missing (next found is {seq})"
                elif stored_prev != prev_hash:
                    problem = f"audit entry {seq} does not follow entry {seq - 1}"
                elif entry_hash(prev_hash, row[:12]) != stored_hash:
                    problem = f"audit entry {seq} has been altered"
                if problem:
                    result.first_bad_seq = expected_seq if seq != expected_seq else seq
                    result.problems.append(problem)
            prev_hash, expected_seq = stored_hash, seq + 1
            result.entries += 1
    result.head_seq, result.head_hash = expected_seq - 1, prev_hash

    if expected_head is not None:
        seq, digest = expected_head
        found = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
        if found is None:
            result.problems.append(
                f"rolled back: a report printed audit entry {seq}, but this database ends at "
                f"entry {result.head_seq}"
            )
        elif found[0] != digest.lower():
            result.problems.append(
                f"audit entry {seq} differs from the printed chain head: the log was rewritten"
            )
    return result
