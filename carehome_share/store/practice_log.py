"""Each GP practice's own running number on the audit entries about it.

An entry is about a practice when it names a resident (the resident's registered practice) or
carries the practice's ODS code in its details (a report for it, its agreement). Its details get
`"practice": {"ods_code": ..., "n": ...}`, numbered 1, 2, 3... per practice. The number is
hashed into the chain with the rest of the entry, so a report that leaves an entry out shows a
gap, at the latest beside the practice's next report. `practice_entry` indexes the numbers
(practice, number, entry) so a report finds its entries without reading the whole log.
"""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from carehome_share.store.vault import Connection, format_time

# The entries about a practice made in a period: found by time (index audit_at), each then
# looked up in the practice's index (CROSS JOIN keeps that order in SQLite, and the unary plus
# keeps it from walking every entry about the practice instead).
_IN_PERIOD = "WHERE a.at >= ? AND a.at < ? AND pe.seq = a.seq AND +pe.practice_id = ?"
# The columns an entry's hash covers, in the order audit.canonical_bytes hashes them.
HASHED_COLUMNS = (
    "seq, at, actor_username, actor_name, actor_role, actor_nmc_pin, workstation, action, "
    "resident_id, outcome, reasons, details"
)
# An entry as the chain holds it (audit_log named "a"): those, then its previous entry's hash and
# its own.
ENTRY_COLUMNS = ", ".join(
    f"a.{name}" for name in [*HASHED_COLUMNS.split(", "), "prev_hash", "hash"]
)
# What recorded a GP access report or FHIR export sent to a practice, as SQL: written out as index
# audit_sent names it, so that SQLite uses the index.
SENT_ACTIONS = "('print_reports', 'export_fhir')"


def practice_of(
    conn: Connection,
    resident_id: int | None,
    details: Mapping[str, object] | None,
    residents: dict[int, tuple[int, str] | None] | None = None,
) -> tuple[int, str] | None:
    """(practice id, ODS code) an entry is about, or None. `residents` caches the look-ups
    of a batch."""
    if resident_id is not None and residents is not None and resident_id in residents:
        return residents[resident_id]
    if resident_id is not None:
        row = conn.execute(
            "SELECT p.id, p.ods_code FROM resident r JOIN practice p ON p.id = r.practice_id "
            "WHERE r.id = ?",
            (resident_id,),
        ).fetchone()
        found = (int(row[0]), str(row[1])) if row else None
        if residents is not None:
            residents[resident_id] = found
        if found:
            return found
    ods = (details or {}).get("ods_code")
    if isinstance(ods, str):
        row = conn.execute(
            "SELECT id, ods_code FROM practice WHERE ods_code = ?", (ods,)
        ).fetchone()
        if row:
            return int(row[0]), str(row[1])
    return None


def next_number(conn: Connection, practice_id: int) -> int:
    row = conn.execute(
        "SELECT coalesce(max(n), 0) FROM practice_entry WHERE practice_id = ?", (practice_id,)
    ).fetchone()
    return int(row[0]) + 1


def numbered(
    conn: Connection,
    resident_id: int | None,
    details: Mapping[str, object] | None,
    counters: dict[int, int] | None = None,
    residents: dict[int, tuple[int, str] | None] | None = None,
) -> tuple[dict[str, object] | None, tuple[int, int] | None]:
    """The details with the practice's next running number added, and (practice id, number)
    to index once the entry has its sequence number. `counters` carries the last numbers
    through a batch of entries not yet indexed, `residents` the practices looked up."""
    about = practice_of(conn, resident_id, details, residents)
    if about is None:
        return (dict(details) if details else None), None
    practice_id, ods = about
    n = (
        counters[practice_id] + 1
        if counters and practice_id in counters
        else next_number(conn, practice_id)
    )
    if counters is not None:
        counters[practice_id] = n
    return {**(details or {}), "practice": {"ods_code": ods, "n": n}}, (practice_id, n)


def entries_besides(conn: Connection, practice_id: int, actions: tuple[str, ...]) -> int:
    """How many entries numbered as about the practice are not of these actions."""
    row = conn.execute(
        "SELECT count(*) FROM practice_entry pe JOIN audit_log a ON a.seq = pe.seq "
        f"WHERE pe.practice_id = ? AND a.action NOT IN ({', '.join('?' * len(actions))})",
        (practice_id, *actions),
    ).fetchone()
    return int(row[0])


def unindex(conn: Connection, practice_id: int) -> None:
    """Forget which entries were about the practice (it is deleted, or its code corrected
    before anything was recorded under it); the entries keep their numbers, hashed in the
    chain, and the practice's next entry is numbered 1."""
    conn.execute("DELETE FROM practice_entry WHERE practice_id = ?", (practice_id,))


def index(conn: Connection, numbers: list[tuple[int, int, int]]) -> None:
    """Record (practice id, number, entry seq) for entries just chained."""
    conn.executemany("INSERT INTO practice_entry(practice_id, n, seq) VALUES (?, ?, ?)", numbers)


def entries(
    conn: Connection, practice_id: int, start: datetime, end: datetime
) -> list[tuple[object, ...]]:
    """The practice's entries made in [start, end), by running number, as the chain holds them
    (ENTRY_COLUMNS)."""
    return conn.execute(
        f"SELECT {ENTRY_COLUMNS} FROM audit_log a CROSS JOIN practice_entry pe {_IN_PERIOD} "
        "ORDER BY pe.n",
        (format_time(start), format_time(end), practice_id),
    ).fetchall()


def number_of(row: tuple[object, ...]) -> int:
    """The running number an entry's details carry."""
    return int(json.loads(str(row[11]))["practice"]["n"])


class Sent(NamedTuple):
    """An entry recording a GP access report or FHIR export about a practice."""

    n: int  # its running number
    seq: int
    at: str
    actor_name: str
    action: str
    details: str  # as JSON text


def sent_newest_first(conn: Connection, practice_id: int) -> list[Sent]:
    """Each entry recording a GP access report or FHIR export about the practice, the latest
    first. Read through index audit_sent (the few sent entries of every practice), not the
    practice's own entries: those grow by thousands a month."""
    rows = conn.execute(
        "SELECT pe.n, a.seq, a.at, a.actor_name, a.action, a.details FROM audit_log a "
        f"CROSS JOIN practice_entry pe WHERE a.action IN {SENT_ACTIONS} "
        "AND pe.seq = a.seq AND pe.practice_id = ? ORDER BY a.seq DESC",
        (practice_id,),
    )
    return [Sent(*row) for row in rows]


def oldest_unreported(conn: Connection, practice_id: int) -> datetime | None:
    """When the first entry about the practice that nothing sent to it has covered yet was made
    (None when all are covered). A GP access report or a one-practice FHIR export records the
    signed tree head it carried; it covers the entries numbered before its own. Read from that
    number on, one entry: not every entry since, which for a practice never sent anything is
    every entry about it (seconds, in a care group's log)."""
    sent = sent_newest_first(conn, practice_id)
    last_sent = next((e.n for e in sent if "tree_head" in json.loads(e.details)), 0)
    row = conn.execute(
        "SELECT a.at FROM practice_entry pe CROSS JOIN audit_log a WHERE pe.practice_id = ? "
        f"AND pe.n > ? AND a.seq = pe.seq AND a.action NOT IN {SENT_ACTIONS} "
        "ORDER BY pe.n LIMIT 1",
        (practice_id, last_sent),
    ).fetchone()
    return datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) if row else None


def restores_since(conn: Connection, since: datetime) -> list[tuple[object, ...]]:
    """The "restore" entries made at or after `since`, as the chain holds them."""
    return conn.execute(
        f"SELECT {ENTRY_COLUMNS} FROM audit_log a WHERE a.action = 'restore' AND a.at >= ? "
        "ORDER BY +a.seq",  # sorted, not read in order: the few restores (index audit_restores)
        (format_time(since),),
    ).fetchall()
