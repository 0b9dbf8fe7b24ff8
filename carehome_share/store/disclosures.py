"""SQL for one-off disclosure requests (domain/disclosure.py). Callers own the transaction."""

from datetime import date, datetime

from carehome_share.domain.disclosure import (
    DisclosureDecision,
    DisclosureRequest,
    LawfulBasis,
    Outcome,
    Requester,
)
from carehome_share.store.audit import format_time
from carehome_share.store.vault import Connection

_REQUEST = (
    "r.id, r.received_on, r.requester, r.organisation, r.person, r.reference, r.identity_check, "
    "r.in_writing, r.document_name, r.asked, r.why, r.basis, r.due_on, s.full_name, r.logged_at"
)
_DECISION = (
    "d.id, d.request_id, d.outcome, d.basis, d.reasons, d.emergency, d.disclosed, d.sent_how, "
    "d.sent_on, s.full_name, d.decided_at"
)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def insert_request(conn: Connection, r: DisclosureRequest, logged_by: int) -> int:
    cur = conn.execute(
        "INSERT INTO disclosure_request (received_on, requester, organisation, person, "
        "reference, identity_check, in_writing, asked, why, basis, due_on, logged_by, logged_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            r.received_on.isoformat(),
            r.requester.value,
            r.organisation,
            r.person,
            r.reference,
            r.identity_check,
            int(r.in_writing),
            r.asked,
            r.why,
            r.basis.value,
            r.due_on.isoformat() if r.due_on else None,
            logged_by,
            format_time(r.logged_at),
        ),
    )
    request_id = int(cur.lastrowid)
    conn.executemany(
        "INSERT INTO disclosure_resident (request_id, resident_id) VALUES (?, ?)",
        [(request_id, resident_id) for resident_id in r.resident_ids],
    )
    return request_id


def set_checks(conn: Connection, request_id: int, identity_check: str, in_writing: bool) -> None:
    conn.execute(
        "UPDATE disclosure_request SET identity_check = ?, in_writing = ? WHERE id = ?",
        (identity_check, int(in_writing), request_id),
    )


def set_document(conn: Connection, request_id: int, name: str, data: bytes) -> None:
    conn.execute(
        "UPDATE disclosure_request SET document_name = ?, document = ?, in_writing = 1 "
        "WHERE id = ?",
        (name, data, request_id),
    )


def document(conn: Connection, request_id: int) -> tuple[str, bytes] | None:
    row = conn.execute(
        "SELECT document_name, document FROM disclosure_request WHERE id = ? AND document "
        "IS NOT NULL",
        (request_id,),
    ).fetchone()
    return (str(row[0]), bytes(row[1])) if row else None


def insert_decision(conn: Connection, d: DisclosureDecision, decided_by: int) -> int:
    cur = conn.execute(
        "INSERT INTO disclosure_decision (request_id, outcome, basis, reasons, emergency, "
        "disclosed, sent_how, sent_on, decided_by, decided_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            d.request_id,
            d.outcome.value,
            d.basis.value,
            d.reasons,
            d.emergency,
            d.disclosed,
            d.sent_how,
            d.sent_on.isoformat() if d.sent_on else None,
            decided_by,
            format_time(d.decided_at),
        ),
    )
    return int(cur.lastrowid)


def requests(
    conn: Connection,
    *,
    request_id: int | None = None,
    resident_id: int | None = None,
    received: tuple[date, date] | None = None,
) -> list[DisclosureRequest]:
    """Requests, oldest first, each with its residents and decisions: one, those about a
    resident, those received on days first..last, or all."""
    where, params = [], []
    if request_id is not None:
        where.append("r.id = ?")
        params.append(request_id)
    if resident_id is not None:
        where.append("r.id IN (SELECT request_id FROM disclosure_resident WHERE resident_id = ?)")
        params.append(resident_id)
    if received is not None:
        where.append("r.received_on >= ? AND r.received_on <= ?")
        params += [received[0].isoformat(), received[1].isoformat()]
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT {_REQUEST} FROM disclosure_request r JOIN staff s ON s.id = r.logged_by "
        f"{clause} ORDER BY r.received_on, r.id",
        params,
    ).fetchall()
    ids = [row[0] for row in rows]
    marks = ", ".join("?" * len(ids))
    about: dict[int, list[int]] = {i: [] for i in ids}
    decided: dict[int, list[DisclosureDecision]] = {i: [] for i in ids}
    if ids:
        for request, resident in conn.execute(
            f"SELECT request_id, resident_id FROM disclosure_resident WHERE request_id IN "
            f"({marks}) ORDER BY resident_id",
            ids,
        ):
            about[request].append(resident)
        for row in conn.execute(
            f"SELECT {_DECISION} FROM disclosure_decision d JOIN staff s ON s.id = d.decided_by "
            f"WHERE d.request_id IN ({marks}) ORDER BY d.id",
            ids,
        ):
            decided[row[1]].append(_decision(row))
    return [_request(row, tuple(about[row[0]]), tuple(decided[row[0]])) for row in rows]


def _request(
    row: tuple, resident_ids: tuple[int, ...], decisions: tuple[DisclosureDecision, ...]
) -> DisclosureRequest:
    return DisclosureRequest(
        id=row[0],
        received_on=date.fromisoformat(row[1]),
        requester=Requester(row[2]),
        organisation=row[3],
        person=row[4],
        reference=row[5],
        identity_check=row[6],
        in_writing=bool(row[7]),
        document_name=row[8],
        asked=row[9],
        why=row[10],
        basis=LawfulBasis(row[11]),
        due_on=_day(row[12]),
        logged_by=row[13],
        logged_at=datetime.fromisoformat(row[14]),
        resident_ids=resident_ids,
        decisions=decisions,
    )


def _decision(row: tuple) -> DisclosureDecision:
    return DisclosureDecision(
        id=row[0],
        request_id=row[1],
        outcome=Outcome(row[2]),
        basis=LawfulBasis(row[3]),
        reasons=row[4],
        emergency=row[5],
        disclosed=row[6],
        sent_how=row[7],
        sent_on=_day(row[8]),
        decided_by=row[9],
        decided_at=datetime.fromisoformat(row[10]),
    )
