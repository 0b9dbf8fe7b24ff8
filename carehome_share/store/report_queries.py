"""SQL for the printed documents. Plain, portable SQL; callers own the (read) transaction.

Long lists are generators over a cursor read with fetchmany, so a year of a care group's access
(100,000+ sessions) never sits in memory: a report lays out a page and the rows are gone.
Times are compared as stored text (`audit.format_time`), which sorts as time does.
"""

import itertools
import json
from collections.abc import Iterator
from datetime import date, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from carehome_share.domain.model import (
    CloseKind,
    ConsentKind,
    DecidedBy,
    Purpose,
    ReasonCode,
    Role,
    Section,
)
from carehome_share.store import practice_log
from carehome_share.store.audit import format_time
from carehome_share.store.repo import sections_in_order
from carehome_share.store.vault import Connection

BATCH = 500  # rows per fetchmany: few round trips, little memory


class ConsentBasis(NamedTuple):
    """The consent decision in force when an access was decided (not today's)."""

    kind: ConsentKind
    decided_by: DecidedBy
    decided_on: date
    representative_name: str
    id: int
    review_on: date | None  # a review date only raises an alert: the documents print it


class SessionLine(NamedTuple):
    id: int
    opened_at: datetime
    closed_at: datetime | None
    close_kind: CloseKind | None
    resident_name: str
    nhs_number: str
    nurse_name: str
    nmc_pin: str  # as recorded when the session opened
    purpose: Purpose
    justification: str
    sections: tuple[Section, ...]
    consent: ConsentBasis | None
    agreement_id: int | None  # the agreement the access relied on
    workstation: str
    close_reason: str = ""  # why the rules ended it (close kind "ended")
    decided_by_self: bool = False  # on a best-interests decision this nurse made

    @property
    def minutes(self) -> float | None:
        if self.closed_at is None:
            return None
        return (self.closed_at - self.opened_at).total_seconds() / 60


class RefusalLine(NamedTuple):
    id: int
    at: datetime
    resident_name: str
    nhs_number: str
    staff_name: str
    role: Role
    purpose: Purpose
    justification: str
    reasons: list[str]
    consent: ConsentBasis | None
    workstation: str
    codes: tuple[ReasonCode, ...] = ()  # of the reasons, in their order


class ContactLine(NamedTuple):
    id: int
    at: datetime
    resident_name: str
    nhs_number: str
    staff_name: str
    spoke_to: str
    reason: str
    outcome: str
    refusal_id: int | None


class PeriodCounts(NamedTuple):
    sessions: int
    auto_closed: int
    refusals: int
    contacts: int
    decided_by_self: int  # sessions on a best-interests decision their own nurse made


class Totals(NamedTuple):
    """Activity of one resident or one member of staff in a period."""

    name: str
    identifier: str  # NHS number of a resident, NMC PIN of a nurse
    sessions: int
    auto_closed: int
    refusals: int
    contacts: int


class EventLine(NamedTuple):
    seq: int
    at: datetime
    actor_name: str
    actor_role: str
    action: str
    outcome: str


class RegisterLine(NamedTuple):
    resident_id: int
    name: str
    nhs_number: str
    room: str
    practice_name: str
    current: bool


class Disclosure(NamedTuple):
    """A GP access report printed, or a FHIR Bundle exported, for one practice."""

    seq: int  # the audit entry that recorded it
    at: datetime
    actor_name: str
    document: str  # "gp_access_report" or "fhir_bundle"
    first_day: date
    last_day: date


class StaffDates(NamedTuple):
    joined: datetime
    left: datetime | None


def _rows(conn: Connection, sql: str, params: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    cursor = conn.execute(sql, params)
    while batch := cursor.fetchmany(BATCH):
        yield from batch


def _period(practice_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    return {"practice": practice_id, "start": format_time(start), "end": format_time(end)}


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _consent(
    kind: str | None, by: str, on: str, representative: str, consent_id: int, review: str | None
) -> ConsentBasis | None:
    if kind is None:
        return None
    return ConsentBasis(
        ConsentKind(kind),
        DecidedBy(by),
        date.fromisoformat(on),
        representative,
        consent_id,
        date.fromisoformat(review) if review else None,
    )


# -- access sessions, refusals and calls -------------------------------------------------------

_SESSIONS = (
    "SELECT a.id, a.opened_at, a.closed_at, a.close_kind, r.given_name || ' ' || r.family_name, "
    "r.nhs_number, s.full_name, a.nmc_pin, a.purpose, a.justification, c.kind, c.decided_by, "
    "c.decided_on, c.representative_name, v.section, c.id, c.review_on, a.agreement_id, "
    "a.workstation, a.close_reason, a.decided_by_self "
    "FROM access_session a JOIN resident r ON r.id = a.resident_id "
    "JOIN staff s ON s.id = a.staff_id "
    "LEFT JOIN consent_decision c ON c.id = a.consent_id "
    "LEFT JOIN session_section v ON v.session_id = a.id "
)
_PERIOD_SESSIONS = (
    "WHERE a.practice_id = :practice AND a.opened_at >= :start AND a.opened_at < :end"
)


def _session_lines(rows: Iterator[tuple[Any, ...]]) -> Iterator[SessionLine]:
    # One row per section viewed (or one with none): grouped back into one line per session.
    for _, group in itertools.groupby(rows, key=itemgetter(0)):
        first, *rest = group
        viewed = frozenset((first[14], *(row[14] for row in rest)))
        yield SessionLine(
            first[0],
            datetime.fromisoformat(first[1]),
            _instant(first[2]),
            CloseKind(first[3]) if first[3] else None,
            first[4],
            first[5],
            first[6],
            first[7],
            Purpose(first[8]),
            first[9],
            sections_in_order(viewed),
            _consent(first[10], first[11], first[12], first[13], first[15], first[16]),
            first[17],
            first[18],
            first[19],
            bool(first[20]),
        )


def practice_sessions(
    conn: Connection, practice_id: int, start: datetime, end: datetime
) -> Iterator[SessionLine]:
    """Sessions on a practice's records opened in [start, end), oldest first."""
    sql = f"{_SESSIONS}{_PERIOD_SESSIONS} ORDER BY a.opened_at, a.id"
    return _session_lines(_rows(conn, sql, _period(practice_id, start, end)))


def resident_sessions(conn: Connection, resident_id: int) -> Iterator[SessionLine]:
    sql = f"{_SESSIONS}WHERE a.resident_id = :resident ORDER BY a.opened_at, a.id"
    return _session_lines(_rows(conn, sql, {"resident": resident_id}))


def session_spans(
    conn: Connection, practice_id: int, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime | None, CloseKind | None]]:
    """(opened, closed, how) of each session in the period: enough for weekly counts and
    durations, which portable SQL cannot compute from text times."""
    rows = _rows(
        conn,
        "SELECT opened_at, closed_at, close_kind FROM access_session "
        "WHERE practice_id = :practice AND opened_at >= :start AND opened_at < :end",
        _period(practice_id, start, end),
    )
    return (
        (datetime.fromisoformat(o), _instant(c), CloseKind(k) if k else None) for o, c, k in rows
    )


_REFUSALS = (
    "SELECT f.id, f.at, r.given_name || ' ' || r.family_name, r.nhs_number, "
    "coalesce(s.full_name, '-'), f.role, f.purpose, f.justification, f.reasons, c.kind, "
    "c.decided_by, c.decided_on, c.representative_name, c.id, c.review_on, f.workstation, "
    "f.reason_codes FROM access_refusal f JOIN resident r ON r.id = f.resident_id "
    "LEFT JOIN staff s ON s.id = f.staff_id "
    "LEFT JOIN consent_decision c ON c.id = f.consent_id "
)


def _refusal_lines(rows: Iterator[tuple[Any, ...]]) -> Iterator[RefusalLine]:
    for r in rows:
        yield RefusalLine(
            r[0],
            datetime.fromisoformat(r[1]),
            r[2],
            r[3],
            r[4],
            Role(r[5]),
            Purpose(r[6]),
            r[7],
            json.loads(r[8]),
            _consent(r[9], r[10], r[11], r[12], r[13], r[14]),
            r[15],
            tuple(ReasonCode(c) for c in json.loads(r[16])),
        )


def practice_refusals(
    conn: Connection, practice_id: int, start: datetime, end: datetime
) -> Iterator[RefusalLine]:
    sql = (
        f"{_REFUSALS}WHERE f.practice_id = :practice AND f.at >= :start AND f.at < :end "
        "ORDER BY f.at, f.id"
    )
    return _refusal_lines(_rows(conn, sql, _period(practice_id, start, end)))


def resident_refusals(conn: Connection, resident_id: int) -> Iterator[RefusalLine]:
    sql = f"{_REFUSALS}WHERE f.resident_id = :resident ORDER BY f.at, f.id"
    return _refusal_lines(_rows(conn, sql, {"resident": resident_id}))


_CONTACTS = (
    "SELECT g.id, g.at, r.given_name || ' ' || r.family_name, r.nhs_number, s.full_name, "
    "g.spoke_to, g.reason, g.outcome, g.refusal_id "
    "FROM gp_contact g JOIN resident r ON r.id = g.resident_id JOIN staff s ON s.id = g.staff_id "
)


def _contact_lines(rows: Iterator[tuple[Any, ...]]) -> Iterator[ContactLine]:
    for r in rows:
        yield ContactLine(r[0], datetime.fromisoformat(r[1]), *r[2:])


def practice_contacts(
    conn: Connection, practice_id: int, start: datetime, end: datetime
) -> Iterator[ContactLine]:
    sql = (
        f"{_CONTACTS}WHERE g.practice_id = :practice AND g.at >= :start AND g.at < :end "
        "ORDER BY g.at, g.id"
    )
    return _contact_lines(_rows(conn, sql, _period(practice_id, start, end)))


def resident_contacts(conn: Connection, resident_id: int) -> Iterator[ContactLine]:
    sql = f"{_CONTACTS}WHERE g.resident_id = :resident ORDER BY g.at, g.id"
    return _contact_lines(_rows(conn, sql, {"resident": resident_id}))


def period_counts(
    conn: Connection, practice_id: int, start: datetime, end: datetime
) -> PeriodCounts:
    row = conn.execute(
        "SELECT "
        "(SELECT count(*) FROM access_session WHERE practice_id = :practice "
        " AND opened_at >= :start AND opened_at < :end), "
        "(SELECT count(*) FROM access_session WHERE practice_id = :practice "
        " AND opened_at >= :start AND opened_at < :end AND close_kind = 'auto_closed'), "
        "(SELECT count(*) FROM access_refusal WHERE practice_id = :practice "
        " AND at >= :start AND at < :end), "
        "(SELECT count(*) FROM gp_contact WHERE practice_id = :practice "
        " AND at >= :start AND at < :end), "
        "(SELECT count(*) FROM access_session WHERE practice_id = :practice "
        " AND opened_at >= :start AND opened_at < :end AND decided_by_self = 1)",
        _period(practice_id, start, end),
    ).fetchone()
    return PeriodCounts(*row)


def _totals(conn: Connection, who: str, params: dict[str, Any]) -> list[Totals]:
    """Counts per resident (`who` = "resident") or per member of staff, one grouped query per
    kind of record, merged here: bounded by people, not by sessions."""
    if who == "resident":
        person = "r.id, r.given_name || ' ' || r.family_name, r.nhs_number"
        join = "JOIN resident r ON r.id = x.resident_id"
    else:
        person = "s.id, s.full_name, coalesce(s.nmc_pin, '')"
        join = "JOIN staff s ON s.id = x.staff_id"
    auto = "CASE WHEN x.close_kind = 'auto_closed' THEN 1 ELSE 0 END"
    queries = (
        ("access_session", "opened_at", f"count(*), sum({auto})"),
        ("access_refusal", "at", "count(*), 0"),
        ("gp_contact", "at", "count(*), 0"),
    )
    found: dict[int, list[Any]] = {}
    for column, (table, at, counted) in enumerate(queries):
        sql = (
            f"SELECT {person}, {counted} FROM {table} x {join} "
            f"WHERE x.practice_id = :practice AND x.{at} >= :start AND x.{at} < :end "
            f"GROUP BY {person}"
        )
        for key, name, identifier, count, auto_closed in conn.execute(sql, params):
            totals = found.setdefault(key, [name, identifier, 0, 0, 0, 0])
            if column == 0:
                totals[2:4] = [count, auto_closed]
            else:
                totals[3 + column] = count
    return sorted((Totals(*t) for t in found.values()), key=lambda t: t.name.casefold())


def resident_totals(
    conn: Connection, practice_id: int, start: datetime, end: datetime
) -> list[Totals]:
    return _totals(conn, "resident", _period(practice_id, start, end))


def staff_totals(
    conn: Connection, practice_id: int, start: datetime, end: datetime
) -> list[Totals]:
    return _totals(conn, "staff", _period(practice_id, start, end))


# -- a resident's other recorded events, the consent register, staff dates ----------------------

_SHOWN_ELSEWHERE = (
    "open_access_session",
    "record_sections_viewed",
    "close_access_session",
    "auto_close_session",
    "log_gp_contact",
)


def resident_events(conn: Connection, resident_id: int) -> Iterator[EventLine]:
    """Audit entries naming the resident other than GP-record access and calls (listed on their
    own): registration, stays, consent, changes, and documents printed about them."""
    placeholders = ", ".join(f":a{i}" for i in range(len(_SHOWN_ELSEWHERE)))
    params: dict[str, Any] = {f"a{i}": a for i, a in enumerate(_SHOWN_ELSEWHERE)}
    params["resident"] = resident_id
    rows = _rows(
        conn,
        "SELECT seq, at, actor_name, actor_role, action, outcome FROM audit_log "
        f"WHERE resident_id = :resident AND action NOT IN ({placeholders}) ORDER BY seq",
        params,
    )
    return (EventLine(r[0], datetime.fromisoformat(r[1]), *r[2:]) for r in rows)


_RESIDENT_NOW = (
    "EXISTS (SELECT 1 FROM stay s WHERE s.resident_id = r.id AND s.admitted_at <= :now "
    "AND (s.discharged_at IS NULL OR s.discharged_at > :now))"
)


def residents_now(conn: Connection, practice_id: int, now: datetime) -> int:
    """How many people registered with the practice are resident now."""
    return int(
        conn.execute(
            f"SELECT count(*) FROM resident r WHERE r.practice_id = :practice AND {_RESIDENT_NOW}",
            {"practice": practice_id, "now": format_time(now)},
        ).fetchone()[0]
    )


def register_residents(
    conn: Connection, now: datetime, include_former: bool
) -> Iterator[RegisterLine]:
    """Residents by name with their practice and whether they are resident now."""
    where = "" if include_former else f"WHERE {_RESIDENT_NOW}"
    rows = _rows(
        conn,
        f"SELECT r.id, r.given_name || ' ' || r.family_name, r.nhs_number, r.room, p.name, "
        f"{_RESIDENT_NOW} FROM resident r JOIN practice p ON p.id = r.practice_id {where} "
        "ORDER BY lower(r.family_name), lower(r.given_name), r.id",
        {"now": format_time(now)},
    )
    return (RegisterLine(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows)


def staff_dates(conn: Connection) -> dict[int, StaffDates]:
    """When each account was made and when its holder left (deactivated)."""
    rows = conn.execute("SELECT id, created_at, left_at FROM staff").fetchall()
    return {r[0]: StaffDates(datetime.fromisoformat(r[1]), _instant(r[2])) for r in rows}


def practice_disclosures(conn: Connection, practice_id: int) -> list[Disclosure]:
    """Every GP access report and one-practice FHIR export made for a practice, oldest first."""
    found = []
    for sent in reversed(practice_log.sent_newest_first(conn, practice_id)):
        d = json.loads(sent.details)
        if d.get("document") in ("gp_access_report", "fhir_bundle"):
            found.append(
                Disclosure(
                    sent.seq,
                    datetime.fromisoformat(sent.at),
                    sent.actor_name,
                    d["document"],
                    date.fromisoformat(d["first_day"]),
                    date.fromisoformat(d["last_day"]),
                )
            )
    return found
