"""SQL for the FHIR export: which consent decisions fall in a period, and the audit entries that
recorded each access, refusal and call, with what is needed to check their hashes.

A session is recorded by several entries: the one that opened it, one for each time sections
viewed were ticked, and the one that closed it (by the nurse, or automatically once left open
past the limit). A refusal and a call are recorded by one entry each.

The sessions, refusals and calls themselves are read with `report_queries`, as the GP access
report reads them. Audit details are JSON text, read in Python (with orjson: a report reads
thousands): JSON functions differ between SQLite and PostgreSQL, and portable SQL is the rule in
store/.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import orjson

from carehome_share.store import audit
from carehome_share.store.audit import format_time
from carehome_share.store.practice_log import ENTRY_COLUMNS
from carehome_share.store.vault import Connection

# audit action -> (key in its details naming the record, the kind of record)
_LOGGED = {
    "open_access_session": (("session_id", "session"), ("refusal_id", "refusal")),
    "log_gp_contact": (("contact_id", "contact"),),
}
# the entries that carry on a session once opened: made at or after its opening
FOLLOW_UPS = ("record_sections_viewed", "close_access_session", "auto_close_session")
_CLOSES = frozenset(FOLLOW_UPS[1:])
_ACTIONS = ", ".join(f"'{a}'" for a in (*_LOGGED, *FOLLOW_UPS))
_FOLLOW_UPS = ", ".join(f"'{a}'" for a in FOLLOW_UPS)


class ChainLink(NamedTuple):
    """One audit entry as it was written: who acted, where, and its place in the hash chain.

    `entry` is the exact byte string hashed, so SHA-256(prev_hash || entry) == hash can be
    checked by anyone holding the export, without the database. It is made only when asked
    for: a report's Bundle needs it only for the few entries its evidence does not list."""

    seq: int
    at: str  # as stored (audit.format_time)
    actor_name: str
    actor_role: str
    actor_nmc_pin: str
    workstation: str
    prev_hash: str
    hash: str
    row: tuple[Any, ...]  # the stored columns in the order they are hashed

    @property
    def entry(self) -> bytes:
        return audit.canonical_bytes(self.row)


def consent_ids(conn: Connection, first: date, last: date, practice_id: int | None) -> list[int]:
    """Consent decisions made on days first..last (both included), by decision date, optionally
    only those of residents registered with one practice."""
    sql = (
        "SELECT c.id FROM consent_decision c JOIN resident r ON r.id = c.resident_id "
        "WHERE c.decided_on >= :first AND c.decided_on <= :last "
        "AND (:practice IS NULL OR r.practice_id = :practice) ORDER BY c.decided_on, c.id"
    )
    params = {"first": first.isoformat(), "last": last.isoformat(), "practice": practice_id}
    return [row[0] for row in conn.execute(sql, params)]


def chain_links(
    conn: Connection,
    start: datetime,
    end: datetime,
    practice: tuple[int, Sequence[tuple[Any, ...]]] | None = None,
) -> dict[tuple[str, int], tuple[ChainLink, ...]]:
    """The audit entries of sessions opened, refusals and GP calls in [start, end), keyed by
    ("session" | "refusal" | "contact", id), oldest first. The first is written in the same
    transaction, at the same moment, as the record it names; a session's sections viewed and
    its close follow, possibly after `end`: the log after `end` is read in order, and no
    further than needed, until every session opened in the period is closed.

    With `practice` (its id, and its entries of the period as `practice_log.entries` reads
    them: a report's evidence lists the same), only the entries about that practice (those its
    running numbers count, store/practice_log.py) are taken."""
    links: dict[tuple[str, int], list[ChainLink]] = {}
    still_open: set[int] = set()  # sessions of the period whose close is not read yet

    def take(row: tuple[Any, ...]) -> None:
        action = row[7]
        if action in _LOGGED:
            details = orjson.loads(row[11])
            for key, kind in _LOGGED[action]:
                if details.get(key) is not None:
                    links[(kind, details[key])] = [_link(row)]
                    if kind == "session":
                        still_open.add(details[key])
        elif action in FOLLOW_UPS and still_open and row[9] == "allowed":
            session = orjson.loads(row[11]).get("session_id")
            if session in still_open:  # not a session opened before the period
                links[("session", session)].append(_link(row))
                if action in _CLOSES:
                    still_open.discard(session)

    if practice is None:
        period = conn.execute(
            f"SELECT {ENTRY_COLUMNS} FROM audit_log a WHERE a.at >= ? AND a.at < ? "
            f"AND a.action IN ({_ACTIONS}) ORDER BY +a.seq",  # by time (index audit_at)
            (format_time(start), format_time(end)),
        ).fetchall()
    else:
        period = practice[1]
    for row in period:
        take(row)
    if still_open:  # the follow-ups made after the period, in order, from `end` (index audit_at)
        # for one practice, each entry looked up in its index: the CROSS JOIN keeps the time
        # order, and the unary plus keeps SQLite from walking every entry about the practice
        about = ("CROSS JOIN practice_entry p", "AND p.seq = a.seq AND +p.practice_id = ?")
        join, where = about if practice is not None else ("", "")
        cursor = conn.execute(
            f"SELECT {ENTRY_COLUMNS} FROM audit_log a {join} WHERE a.at >= ? "
            f"AND a.action IN ({_FOLLOW_UPS}) {where} ORDER BY +a.seq",
            (format_time(end), *([practice[0]] if practice is not None else [])),
        )
        while still_open and (rows := cursor.fetchmany(500)):
            for row in rows:
                take(row)
    return {key: tuple(chain) for key, chain in links.items()}


def _link(row: tuple[Any, ...]) -> ChainLink:
    return ChainLink(row[0], row[1], row[3], row[4], row[5], row[6], row[12], row[13], row[:12])
