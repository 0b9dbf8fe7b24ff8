"""SQL for everything but the audit log. Plain, portable SQL; callers own the transaction."""

import functools
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from carehome_share.domain.model import (
    Ability,
    Agreement,
    CloseKind,
    ConsentDecision,
    ConsentKind,
    DecidedBy,
    Practice,
    Purpose,
    Reason,
    Resident,
    ResidentRecord,
    Role,
    Section,
    Staff,
    Stay,
    StayKind,
)
from carehome_share.store.audit import format_time
from carehome_share.store.vault import Connection


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


# -- home and settings ------------------------------------------------------------------------


def home_name(conn: Connection) -> str | None:
    row = conn.execute("SELECT name FROM home WHERE id = 1").fetchone()
    return row[0] if row else None


def insert_home(conn: Connection, name: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO home(id, name, created_at) VALUES (1, ?, ?)", (name, format_time(now))
    )


def get_setting(conn: Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def put_setting(conn: Connection, key: str, value: str) -> None:
    # Not an upsert: its conflict handling overrides the OR IGNORE of the binding triggers
    # (store/binding.py), so changing a setting already set failed as a "damaged" file.
    if not conn.execute("UPDATE settings SET value = ? WHERE key = ?", (value, key)).rowcount:
        conn.execute("INSERT INTO settings(key, value) VALUES (?, ?)", (key, value))


# -- staff ------------------------------------------------------------------------------------

_STAFF_COLUMNS = (
    "id, username, full_name, roles, active, nmc_pin, nmc_checked_on, nmc_expires_on, "
    "confidentiality_signed_on, ig_training_on"
)


def _staff(row: tuple) -> Staff:
    return Staff(
        id=row[0],
        username=row[1],
        full_name=row[2],
        roles=frozenset(Role(r) for r in row[3].split(",") if r),
        active=bool(row[4]),
        nmc_pin=row[5],
        nmc_checked_on=_day(row[6]),
        nmc_expires_on=_day(row[7]),
        confidentiality_signed_on=_day(row[8]),
        ig_training_on=_day(row[9]),
    )


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(r.value for r in Role if r in roles)


def insert_staff(
    conn: Connection, staff: Staff, password_hash: str, now: datetime, must_change: bool = True
) -> int:
    cur = conn.execute(
        f"INSERT INTO staff ({_STAFF_COLUMNS[4:]}, password_hash, must_change_password, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            staff.username,
            staff.full_name,
            _roles_text(staff.roles),
            int(staff.active),
            staff.nmc_pin,
            _iso(staff.nmc_checked_on),
            _iso(staff.nmc_expires_on),
            _iso(staff.confidentiality_signed_on),
            _iso(staff.ig_training_on),
            password_hash,
            int(must_change),
            format_time(now),
        ),
    )
    return int(cur.lastrowid)


def update_staff(conn: Connection, staff: Staff) -> None:
    conn.execute(
        "UPDATE staff SET full_name = ?, roles = ?, active = ?, nmc_pin = ?, nmc_checked_on = ?, "
        "nmc_expires_on = ?, confidentiality_signed_on = ?, ig_training_on = ? WHERE id = ?",
        (
            staff.full_name,
            _roles_text(staff.roles),
            int(staff.active),
            staff.nmc_pin,
            _iso(staff.nmc_checked_on),
            _iso(staff.nmc_expires_on),
            _iso(staff.confidentiality_signed_on),
            _iso(staff.ig_training_on),
            staff.id,
        ),
    )


def mark_left(conn: Connection, staff_id: int, now: datetime) -> None:
    conn.execute("UPDATE staff SET left_at = ? WHERE id = ?", (format_time(now), staff_id))


def get_staff(conn: Connection, staff_id: int) -> Staff | None:
    row = conn.execute(f"SELECT {_STAFF_COLUMNS} FROM staff WHERE id = ?", (staff_id,)).fetchone()
    return _staff(row) if row else None


def find_staff(conn: Connection, username: str) -> Staff | None:
    row = conn.execute(
        f"SELECT {_STAFF_COLUMNS} FROM staff WHERE username = ?", (username,)
    ).fetchone()
    return _staff(row) if row else None


def list_staff(conn: Connection) -> list[Staff]:
    rows = conn.execute(f"SELECT {_STAFF_COLUMNS} FROM staff ORDER BY full_name").fetchall()
    return [_staff(r) for r in rows]


@dataclass(frozen=True)
class Credentials:
    password_hash: str
    must_change_password: bool
    locked_until: datetime | None


def get_credentials(conn: Connection, staff_id: int) -> Credentials:
    row = conn.execute(
        "SELECT password_hash, must_change_password, locked_until FROM staff WHERE id = ?",
        (staff_id,),
    ).fetchone()
    return Credentials(row[0], bool(row[1]), _instant(row[2]))


def set_password(conn: Connection, staff_id: int, password_hash: str, must_change: bool) -> None:
    conn.execute(
        "UPDATE staff SET password_hash = ?, must_change_password = ? WHERE id = ?",
        (password_hash, int(must_change), staff_id),
    )


def set_locked_until(conn: Connection, staff_id: int, until: datetime | None) -> None:
    conn.execute(
        "UPDATE staff SET locked_until = ? WHERE id = ?",
        (format_time(until) if until else None, staff_id),
    )


def count_failed_logins(conn: Connection, username: str, since: datetime) -> int:
    row = conn.execute(
        "SELECT count(*) FROM audit_log WHERE actor_username = ? AND at > ? "
        "AND action = 'log_in' AND outcome = 'denied'",
        (username, format_time(since)),
    ).fetchone()
    return int(row[0])


# -- practices and agreements -----------------------------------------------------------------


def insert_practice(conn: Connection, name: str, ods_code: str, phone: str) -> int:
    cur = conn.execute(
        "INSERT INTO practice(name, ods_code, phone) VALUES (?, ?, ?)", (name, ods_code, phone)
    )
    return int(cur.lastrowid)


_PRACTICE_COLUMNS = "id, name, ods_code, phone, active"


def _practice(row: tuple) -> Practice:
    return Practice(id=row[0], name=row[1], ods_code=row[2], phone=row[3], active=bool(row[4]))


def get_practice(conn: Connection, practice_id: int) -> Practice | None:
    row = conn.execute(
        f"SELECT {_PRACTICE_COLUMNS} FROM practice WHERE id = ?", (practice_id,)
    ).fetchone()
    return _practice(row) if row else None


def find_practice(conn: Connection, ods_code: str) -> Practice | None:
    row = conn.execute(
        f"SELECT {_PRACTICE_COLUMNS} FROM practice WHERE ods_code = ?", (ods_code,)
    ).fetchone()
    return _practice(row) if row else None


def list_practices(conn: Connection) -> list[Practice]:
    rows = conn.execute(f"SELECT {_PRACTICE_COLUMNS} FROM practice ORDER BY name").fetchall()
    return [_practice(r) for r in rows]


def update_practice(conn: Connection, p: Practice) -> None:
    conn.execute(
        "UPDATE practice SET name = ?, ods_code = ?, phone = ?, active = ? WHERE id = ?",
        (p.name, p.ods_code, p.phone, int(p.active), p.id),
    )


def delete_practice(conn: Connection, practice_id: int) -> None:
    conn.execute("DELETE FROM practice WHERE id = ?", (practice_id,))


def practice_records(conn: Connection, practice_id: int) -> tuple[int, int]:
    """How many residents are registered with the practice, and how many agreements it has."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM resident WHERE practice_id = :p), "
        "(SELECT count(*) FROM agreement WHERE practice_id = :p)",
        {"p": practice_id},
    ).fetchone()
    return int(row[0]), int(row[1])


_AGREEMENT_COLUMNS = (
    "id, practice_id, starts_on, ends_on, review_on, purposes, sections, home_signatory, "
    "practice_signatory"
)


def _agreement(row: tuple) -> Agreement:
    return Agreement(
        id=row[0],
        practice_id=row[1],
        starts_on=date.fromisoformat(row[2]),
        ends_on=_day(row[3]),
        review_on=_day(row[4]),
        purposes=tuple(Purpose(p) for p in row[5].split(",")),
        sections=tuple(Section(s) for s in row[6].split(",")),
        home_signatory=row[7],
        practice_signatory=row[8],
    )


def insert_agreement(conn: Connection, a: Agreement, now: datetime) -> int:
    cur = conn.execute(
        f"INSERT INTO agreement ({_AGREEMENT_COLUMNS[4:]}, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            a.practice_id,
            a.starts_on.isoformat(),
            _iso(a.ends_on),
            _iso(a.review_on),
            ",".join(p.value for p in a.purposes),
            ",".join(s.value for s in a.sections),
            a.home_signatory,
            a.practice_signatory,
            format_time(now),
        ),
    )
    return int(cur.lastrowid)


def set_agreement_end(conn: Connection, agreement_id: int, ends_on: date) -> None:
    conn.execute(
        "UPDATE agreement SET ends_on = ? WHERE id = ?", (ends_on.isoformat(), agreement_id)
    )


def get_agreement(conn: Connection, agreement_id: int) -> Agreement | None:
    row = conn.execute(
        f"SELECT {_AGREEMENT_COLUMNS} FROM agreement WHERE id = ?", (agreement_id,)
    ).fetchone()
    return _agreement(row) if row else None


def list_agreements(conn: Connection, practice_id: int | None = None) -> list[Agreement]:
    where, params = ("WHERE practice_id = ?", (practice_id,)) if practice_id else ("", ())
    rows = conn.execute(
        f"SELECT {_AGREEMENT_COLUMNS} FROM agreement {where} ORDER BY starts_on", params
    ).fetchall()
    return [_agreement(r) for r in rows]


# -- residents, stays and consent -------------------------------------------------------------

_RESIDENT_COLUMNS = "id, nhs_number, given_name, family_name, date_of_birth, practice_id, room"


def _resident(row: tuple) -> Resident:
    return Resident(
        id=row[0],
        nhs_number=row[1],
        given_name=row[2],
        family_name=row[3],
        date_of_birth=date.fromisoformat(row[4]),
        practice_id=row[5],
        room=row[6],
    )


def insert_resident(conn: Connection, r: Resident, now: datetime) -> int:
    cur = conn.execute(
        f"INSERT INTO resident ({_RESIDENT_COLUMNS[4:]}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            r.nhs_number,
            r.given_name,
            r.family_name,
            r.date_of_birth.isoformat(),
            r.practice_id,
            r.room,
            format_time(now),
        ),
    )
    return int(cur.lastrowid)


def update_resident(conn: Connection, r: Resident) -> None:
    conn.execute(
        "UPDATE resident SET given_name = ?, family_name = ?, date_of_birth = ?, practice_id = ?, "
        "room = ? WHERE id = ?",
        (r.given_name, r.family_name, r.date_of_birth.isoformat(), r.practice_id, r.room, r.id),
    )


def get_resident(conn: Connection, resident_id: int) -> Resident | None:
    row = conn.execute(
        f"SELECT {_RESIDENT_COLUMNS} FROM resident WHERE id = ?", (resident_id,)
    ).fetchone()
    return _resident(row) if row else None


def find_resident_by_nhs(conn: Connection, nhs_number: str) -> Resident | None:
    row = conn.execute(
        f"SELECT {_RESIDENT_COLUMNS} FROM resident WHERE nhs_number = ?", (nhs_number,)
    ).fetchone()
    return _resident(row) if row else None


@dataclass(frozen=True)
class ResidentListing:
    resident: Resident
    current: bool


def search_residents(
    conn: Connection, query: str, now: datetime, limit: int = 200, current_only: bool = False
) -> list[ResidentListing]:
    """Residents whose name, room or NHS number matches; current residents first."""
    pattern = f"%{query.strip()}%"
    digits = "".join(ch for ch in query if ch.isdigit())
    moment = format_time(now)
    current = (
        "EXISTS (SELECT 1 FROM stay s WHERE s.resident_id = r.id AND s.admitted_at <= ? "
        "        AND (s.discharged_at IS NULL OR s.discharged_at > ?))"
    )
    rows = conn.execute(
        f"SELECT {', '.join('r.' + c for c in _RESIDENT_COLUMNS.split(', '))}, "
        f"{current} AS current "
        "FROM resident r "
        "WHERE (r.given_name LIKE ? OR r.family_name LIKE ? OR r.room LIKE ? "
        "   OR (r.given_name || ' ' || r.family_name) LIKE ? OR (? <> '' AND r.nhs_number LIKE ?)) "
        + (f"AND {current} " if current_only else "")
        + "ORDER BY current DESC, r.family_name COLLATE NOCASE, r.given_name COLLATE NOCASE "
        "LIMIT ?",
        (moment, moment, pattern, pattern, pattern, pattern, digits, f"{digits}%")
        + ((moment, moment) if current_only else ())
        + (limit,),
    ).fetchall()
    return [ResidentListing(_resident(r[:7]), bool(r[7])) for r in rows]


def residents_without_consent(conn: Connection, now: datetime) -> tuple[int, list[int]]:
    """How many people are resident now, and those with no consent decision on record (by
    name)."""
    current = (
        "EXISTS (SELECT 1 FROM stay s WHERE s.resident_id = r.id AND s.admitted_at <= :now "
        "AND (s.discharged_at IS NULL OR s.discharged_at > :now))"
    )
    moment = {"now": format_time(now)}
    (count,) = conn.execute(f"SELECT count(*) FROM resident r WHERE {current}", moment).fetchone()
    waiting = conn.execute(
        f"SELECT r.id FROM resident r WHERE {current} AND NOT EXISTS "
        "(SELECT 1 FROM consent_decision c WHERE c.resident_id = r.id) "
        "ORDER BY r.family_name COLLATE NOCASE, r.given_name COLLATE NOCASE",
        moment,
    ).fetchall()
    return int(count), [int(rid) for (rid,) in waiting]


def insert_stay(conn: Connection, resident_id: int, kind: StayKind, admitted_at: datetime) -> int:
    cur = conn.execute(
        "INSERT INTO stay(resident_id, kind, admitted_at) VALUES (?, ?, ?)",
        (resident_id, kind.value, format_time(admitted_at)),
    )
    return int(cur.lastrowid)


def set_discharged(conn: Connection, stay_id: int, discharged_at: datetime) -> None:
    conn.execute(
        "UPDATE stay SET discharged_at = ? WHERE id = ?", (format_time(discharged_at), stay_id)
    )


def stays(conn: Connection, resident_id: int) -> tuple[Stay, ...]:
    rows = conn.execute(
        "SELECT id, resident_id, kind, admitted_at, discharged_at FROM stay "
        "WHERE resident_id = ? ORDER BY admitted_at",
        (resident_id,),
    ).fetchall()
    return tuple(
        Stay(r[0], r[1], StayKind(r[2]), datetime.fromisoformat(r[3]), _instant(r[4])) for r in rows
    )


_CONSENT_COLUMNS = (
    "id, resident_id, kind, decided_by, decided_on, recorded_at, recorded_by, "
    "representative_name, representative_relationship, authority_reference, lacks_capacity, "
    "capacity_assessed_on, capacity_assessment, people_consulted, witness, reason, review_on, "
    "expires_on, decided_at, impairment, impairment_detail, unable_to, has_capacity, "
    "support_steps, capacity_assessed_by, lpa_registered_on, authority_seen_on, "
    "authority_seen_by, known_wishes"
)


def _consent(row: tuple) -> ConsentDecision:
    return ConsentDecision(
        id=row[0],
        resident_id=row[1],
        kind=ConsentKind(row[2]),
        decided_by=DecidedBy(row[3]),
        decided_on=date.fromisoformat(row[4]),
        recorded_at=datetime.fromisoformat(row[5]),
        recorded_by=row[6],
        representative_name=row[7],
        representative_relationship=row[8],
        authority_reference=row[9],
        lacks_capacity=bool(row[10]),
        capacity_assessed_on=_day(row[11]),
        capacity_assessment=row[12],
        people_consulted=row[13],
        witness=row[14],
        reason=row[15],
        review_on=_day(row[16]),
        expires_on=_day(row[17]),
        decided_at=_instant(row[18]),
        impairment=None if row[19] is None else bool(row[19]),
        impairment_detail=row[20],
        unable_to=tuple(Ability(a) for a in row[21].split(",") if a),
        has_capacity=bool(row[22]),
        support_steps=row[23],
        capacity_assessed_by=row[24],
        lpa_registered_on=_day(row[25]),
        authority_seen_on=_day(row[26]),
        authority_seen_by=row[27],
        known_wishes=row[28],
    )


def insert_consent(conn: Connection, c: ConsentDecision) -> int:
    cur = conn.execute(
        f"INSERT INTO consent_decision ({_CONSENT_COLUMNS[4:]}) VALUES ({', '.join('?' * 28)})",
        (
            c.resident_id,
            c.kind.value,
            c.decided_by.value,
            c.decided_on.isoformat(),
            format_time(c.recorded_at),
            c.recorded_by,
            c.representative_name,
            c.representative_relationship,
            c.authority_reference,
            int(c.lacks_capacity),
            _iso(c.capacity_assessed_on),
            c.capacity_assessment,
            c.people_consulted,
            c.witness,
            c.reason,
            _iso(c.review_on),
            _iso(c.expires_on),
            format_time(c.decided_at) if c.decided_at else None,
            None if c.impairment is None else int(c.impairment),
            c.impairment_detail,
            ",".join(a.value for a in c.unable_to),
            int(c.has_capacity),
            c.support_steps,
            c.capacity_assessed_by,
            _iso(c.lpa_registered_on),
            _iso(c.authority_seen_on),
            c.authority_seen_by,
            c.known_wishes,
        ),
    )
    return int(cur.lastrowid)


def consents(conn: Connection, resident_id: int) -> tuple[ConsentDecision, ...]:
    """In the order they were entered (domain/consent.py orders them as they were made)."""
    rows = conn.execute(
        f"SELECT {_CONSENT_COLUMNS} FROM consent_decision WHERE resident_id = ? ORDER BY id",
        (resident_id,),
    ).fetchall()
    return tuple(_consent(r) for r in rows)


def consents_by_resident(
    conn: Connection, resident_ids: Collection[int]
) -> dict[int, tuple[ConsentDecision, ...]]:
    """Each named resident's decisions as `consents` gives them, in one read: Needs attention
    looks at every current resident (6,500 in a care group; one query each took 0.5 s)."""
    found: dict[int, list[ConsentDecision]] = {rid: [] for rid in resident_ids}
    rows = conn.execute(f"SELECT {_CONSENT_COLUMNS} FROM consent_decision ORDER BY resident_id, id")
    for row in rows:
        if row[1] in found:
            found[row[1]].append(_consent(row))
    return {rid: tuple(decisions) for rid, decisions in found.items()}


def get_consent(conn: Connection, consent_id: int) -> ConsentDecision | None:
    row = conn.execute(
        f"SELECT {_CONSENT_COLUMNS} FROM consent_decision WHERE id = ?", (consent_id,)
    ).fetchone()
    return _consent(row) if row else None


def resident_record(conn: Connection, resident_id: int) -> ResidentRecord | None:
    resident = get_resident(conn, resident_id)
    if resident is None:
        return None
    return ResidentRecord(
        resident=resident,
        stays=stays(conn, resident_id),
        consents=consents(conn, resident_id),
        agreements=tuple(list_agreements(conn, resident.practice_id)),
        practice=get_practice(conn, resident.practice_id),
    )


# -- access sessions, refusals and GP contacts ------------------------------------------------


@dataclass(frozen=True)
class AccessSession:
    id: int
    resident_id: int
    staff_id: int
    practice_id: int
    nmc_pin: str
    purpose: Purpose
    justification: str
    opened_at: datetime
    closed_at: datetime | None
    close_kind: CloseKind | None
    consent_id: int | None
    agreement_id: int | None
    sections: tuple[Section, ...]
    close_reason: str = ""  # why the rules ended it (close kind "ended")
    decided_by_self: bool = False  # stands on a best-interests decision its nurse made
    alerts: tuple[str, ...] = ()  # what the nurse is told as it opens (a review due); not stored


_SESSION_COLUMNS = (
    "id, resident_id, staff_id, practice_id, nmc_pin, purpose, justification, opened_at, "
    "closed_at, close_kind, consent_id, agreement_id, close_reason, decided_by_self"
)


def insert_session(
    conn: Connection,
    *,
    resident_id: int,
    staff_id: int,
    practice_id: int,
    nmc_pin: str,
    purpose: Purpose,
    justification: str,
    opened_at: datetime,
    consent_id: int | None,
    agreement_id: int | None,
    workstation: str,
    decided_by_self: bool,
) -> int:
    cur = conn.execute(
        "INSERT INTO access_session(resident_id, staff_id, practice_id, nmc_pin, purpose, "
        "justification, opened_at, consent_id, agreement_id, workstation, decided_by_self) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            resident_id,
            staff_id,
            practice_id,
            nmc_pin,
            purpose.value,
            justification,
            format_time(opened_at),
            consent_id,
            agreement_id,
            workstation,
            int(decided_by_self),
        ),
    )
    return int(cur.lastrowid)


def get_session(conn: Connection, session_id: int) -> AccessSession | None:
    row = conn.execute(
        f"SELECT {_SESSION_COLUMNS} FROM access_session WHERE id = ?", (session_id,)
    ).fetchone()
    if row is None:
        return None
    viewed = frozenset(
        r[0]
        for r in conn.execute(
            "SELECT section FROM session_section WHERE session_id = ?", (session_id,)
        )
    )
    return AccessSession(
        id=row[0],
        resident_id=row[1],
        staff_id=row[2],
        practice_id=row[3],
        nmc_pin=row[4],
        purpose=Purpose(row[5]),
        justification=row[6],
        opened_at=datetime.fromisoformat(row[7]),
        closed_at=_instant(row[8]),
        close_kind=CloseKind(row[9]) if row[9] else None,
        consent_id=row[10],
        agreement_id=row[11],
        sections=sections_in_order(viewed),
        close_reason=row[12],
        decided_by_self=bool(row[13]),
    )


@functools.cache
def sections_in_order(viewed: frozenset[str | None]) -> tuple[Section, ...]:
    """The sections named in `viewed`, in the record's order. Few distinct sets occur, so each
    is worked out once: a resident's history lists thousands of sessions."""
    return tuple(s for s in Section if s.value in viewed)


def add_sections(
    conn: Connection, session_id: int, sections: list[Section], at: datetime
) -> list[Section]:
    """Record sections as viewed; return the ones not already recorded."""
    added = []
    for section in sections:
        cur = conn.execute(
            "INSERT OR IGNORE INTO session_section(session_id, section, viewed_at) "
            "VALUES (?, ?, ?)",
            (session_id, section.value, format_time(at)),
        )
        if cur.rowcount:
            added.append(section)
    return added


def close_session(
    conn: Connection, session_id: int, at: datetime, kind: CloseKind, reason: str = ""
) -> None:
    conn.execute(
        "UPDATE access_session SET closed_at = ?, close_kind = ?, close_reason = ? "
        "WHERE id = ? AND closed_at IS NULL",
        (format_time(at), kind.value, reason, session_id),
    )


def open_sessions(
    conn: Connection,
    *,
    resident_id: int | None = None,
    staff_id: int | None = None,
    practice_id: int | None = None,
) -> list[AccessSession]:
    """Sessions still open, oldest first: all of them, or those of one resident, member of
    staff or practice (few are ever open at once)."""
    ids = conn.execute(
        "SELECT a.id FROM access_session a JOIN resident r ON r.id = a.resident_id "
        "WHERE a.closed_at IS NULL AND (:resident IS NULL OR a.resident_id = :resident) "
        "AND (:staff IS NULL OR a.staff_id = :staff) "
        "AND (:practice IS NULL OR r.practice_id = :practice) ORDER BY a.opened_at",
        {"resident": resident_id, "staff": staff_id, "practice": practice_id},
    ).fetchall()
    return [s for (i,) in ids if (s := get_session(conn, i)) is not None]


def sessions_for_staff(conn: Connection, staff_id: int, since: datetime) -> list[AccessSession]:
    ids = conn.execute(
        "SELECT id FROM access_session WHERE staff_id = ? AND opened_at >= ? ORDER BY opened_at",
        (staff_id, format_time(since)),
    ).fetchall()
    return [s for (i,) in ids if (s := get_session(conn, i)) is not None]


def insert_refusal(
    conn: Connection,
    *,
    resident_id: int,
    staff_id: int | None,
    practice_id: int,
    role: str,
    purpose: str,
    justification: str,
    at: datetime,
    reasons: Sequence[Reason],
    consent_id: int | None,
    workstation: str,
) -> int:
    texts, codes = reason_columns(reasons)
    cur = conn.execute(
        "INSERT INTO access_refusal(resident_id, staff_id, practice_id, role, purpose, "
        "justification, at, reasons, consent_id, workstation, reason_codes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            resident_id,
            staff_id,
            practice_id,
            role,
            purpose,
            justification,
            format_time(at),
            texts,
            consent_id,
            workstation,
            codes,
        ),
    )
    return int(cur.lastrowid)


def reason_columns(reasons: Sequence[Reason]) -> tuple[str, str]:
    """A refusal's reasons as stored: their words, and their codes in the same order (JSON)."""
    return (
        json.dumps([r.text for r in reasons], ensure_ascii=False),
        json.dumps([r.code.value for r in reasons]),
    )


def insert_gp_contact(
    conn: Connection,
    *,
    resident_id: int,
    staff_id: int,
    practice_id: int,
    at: datetime,
    spoke_to: str,
    reason: str,
    outcome: str,
    refusal_id: int | None,
) -> int:
    cur = conn.execute(
        "INSERT INTO gp_contact(resident_id, staff_id, practice_id, at, spoke_to, reason, outcome, "
        "refusal_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            resident_id,
            staff_id,
            practice_id,
            format_time(at),
            spoke_to,
            reason,
            outcome,
            refusal_id,
        ),
    )
    return int(cur.lastrowid)


def refusal_exists(conn: Connection, refusal_id: int) -> bool:
    return bool(conn.execute("SELECT 1 FROM access_refusal WHERE id = ?", (refusal_id,)).fetchone())


# -- what needs attention ---------------------------------------------------------------------


@dataclass(frozen=True)
class RecentRefusal:
    id: int
    at: datetime
    resident_id: int
    resident_name: str
    staff_id: int | None
    staff_name: str
    reasons: list[str]


def recent_refusals(conn: Connection, since: datetime) -> list[RecentRefusal]:
    rows = conn.execute(
        "SELECT f.id, f.at, f.resident_id, r.given_name || ' ' || r.family_name, f.staff_id, "
        "coalesce(s.full_name, '-'), f.reasons FROM access_refusal f "
        "JOIN resident r ON r.id = f.resident_id LEFT JOIN staff s ON s.id = f.staff_id "
        "WHERE f.at >= ? ORDER BY f.at DESC",
        (format_time(since),),
    ).fetchall()
    return [
        RecentRefusal(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5], json.loads(r[6]))
        for r in rows
    ]


# Sessions opened since a moment, with their resident and member of staff: read for each member
# of staff from the moment on (index session_staff). The CROSS JOIN keeps that order; joined
# the other way, SQLite reads every session ever opened (0.75 s among a million).
_SESSIONS_SINCE = (
    "FROM staff s CROSS JOIN access_session a JOIN resident r ON r.id = a.resident_id "
    "WHERE a.staff_id = s.id AND a.opened_at >= ?"
)


@dataclass(frozen=True)
class SelfDecidedSession:
    id: int
    opened_at: datetime
    resident_id: int
    resident_name: str
    staff_id: int
    staff_name: str


def recent_self_decided_sessions(conn: Connection, since: datetime) -> list[SelfDecidedSession]:
    """Sessions since a moment that stand on a best-interests decision their own nurse made."""
    rows = conn.execute(
        "SELECT a.id, a.opened_at, a.resident_id, r.given_name || ' ' || r.family_name, "
        f"a.staff_id, s.full_name {_SESSIONS_SINCE} AND a.decided_by_self = 1 "
        "ORDER BY a.opened_at DESC",
        (format_time(since),),
    ).fetchall()
    return [SelfDecidedSession(r[0], datetime.fromisoformat(r[1]), *r[2:]) for r in rows]


@dataclass(frozen=True)
class UnusualSession:
    id: int
    opened_at: datetime
    resident_id: int
    resident_name: str
    staff_id: int
    staff_name: str
    minutes: float
    close_kind: CloseKind
    close_reason: str


def recent_unusual_sessions(
    conn: Connection, since: datetime, long_minutes: int
) -> list[UnusualSession]:
    """Sessions since a moment that were auto-closed, ended by a change to the rules, or
    lasted longer than `long_minutes`."""
    rows = conn.execute(
        "SELECT a.id, a.opened_at, a.closed_at, a.close_kind, a.resident_id, "
        "r.given_name || ' ' || r.family_name, a.staff_id, s.full_name, a.close_reason "
        f"{_SESSIONS_SINCE} AND a.closed_at IS NOT NULL ORDER BY a.opened_at DESC",
        (format_time(since),),
    ).fetchall()
    found = []
    for r in rows:
        opened, closed = datetime.fromisoformat(r[1]), datetime.fromisoformat(r[2])
        minutes = (closed - opened).total_seconds() / 60
        kind = CloseKind(r[3])
        if kind is not CloseKind.CLOSED or minutes > long_minutes:
            found.append(UnusualSession(r[0], opened, r[4], r[5], r[6], r[7], minutes, kind, r[8]))
    return found
