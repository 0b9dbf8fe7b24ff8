"""The consent and access audit of a period, read for export as a FHIR R4 Bundle.

Read in one snapshot behind the "export_fhir" permission (managers), handed to `render` while
the snapshot is open, and, like a printed report, recorded afterwards as a disclosure carrying
the chain head the export bears. A render that fails discloses nothing and is not recorded.

An export for one practice carries the evidence a GP access report for that practice and period
carries (services/evidence.py), read in the same snapshot, and the home's key to sign it with;
its audit entry records the signed tree head, so the next report or export sent to the practice
proves that the log extends it. An export of every practice carries no per-practice evidence.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Generic, NamedTuple, TypeVar

from carehome_share.domain import validation as v
from carehome_share.domain.consent import in_order_made
from carehome_share.domain.disclosure import DisclosureDecision, DisclosureRequest
from carehome_share.domain.model import (
    Agreement,
    ConsentDecision,
    ConsentKind,
    HomeIds,
    Practice,
    Purpose,
    Resident,
)
from carehome_share.services import reports
from carehome_share.services.context import Context, Tx, collector_paused, perform, read
from carehome_share.services.evidence import Evidence, access_report_evidence
from carehome_share.services.practices import practice_id_for
from carehome_share.services.settings import home_ids
from carehome_share.store import disclosures as disclosure_store
from carehome_share.store import fhir_queries, practice_log, repo, signing
from carehome_share.store import report_queries as q
from carehome_share.store.audit import format_time
from carehome_share.store.fhir_queries import ChainLink
from carehome_share.store.report_queries import ContactLine, RefusalLine, SessionLine
from carehome_share.store.signing import DocumentKey
from carehome_share.store.vault import Connection

T = TypeVar("T")
L = TypeVar("L", SessionLine, RefusalLine, ContactLine)
EXPORT_FHIR = "export_fhir"


@dataclass(frozen=True)
class ExportedConsent:
    decision: ConsentDecision
    resident: Resident
    practice: Practice
    # in force when exported: the latest decision (a refusal, objection or withdrawal stands
    # as much as a consent does), and, a consent, not expired
    in_force: bool
    agreement: Agreement | None  # in force on the decision day
    replaced_by: ConsentDecision | None  # the later decision that ended it, if one did

    @property
    def purposes(self) -> tuple[Purpose, ...]:
        return self.agreement.purposes if self.agreement else ()


class Logged(NamedTuple, Generic[L]):
    """A session, refusal or call with its practice and the audit entries that recorded it,
    oldest first: the one written with it (opened, refused, called), then for a session each
    sections-viewed entry and its close. Empty only if the entries are missing, which `verify`
    reports."""

    practice: Practice
    line: L
    chain: tuple[ChainLink, ...]

    @property
    def link(self) -> ChainLink | None:
        """The entry written with the record (the session opened, the refusal, the call)."""
        return self.chain[0] if self.chain else None


@dataclass(frozen=True)
class FhirExport:
    home_name: str
    home_ids: HomeIds
    at: datetime
    first_day: date
    last_day: date
    head: reports.ChainHead
    practices: tuple[Practice, ...]
    residents: dict[str, Resident]  # by NHS number: everyone named below
    agreements: tuple[Agreement, ...]  # of the practices, in force at some time in the period
    # made in the period, and those the sessions and refusals relied on
    consents: tuple[ExportedConsent, ...]
    sessions: tuple[Logged[SessionLine], ...]
    refusals: tuple[Logged[RefusalLine], ...]
    contacts: tuple[Logged[ContactLine], ...]
    # final decisions on others' requests for residents' information, with their request
    disclosures: tuple[tuple[DisclosureRequest, DisclosureDecision], ...] = ()
    # one practice's export: every audit entry about it made in the period, by running number,
    # as the chain holds them (practice_log.entries); its evidence lists them
    entries: tuple[tuple[Any, ...], ...] = ()
    evidence: Evidence | None = None  # one practice's export: what check-report checks
    key: DocumentKey | None = None  # with the evidence: the home's key, to sign the Bundle

    def totals(self) -> dict[str, int]:
        return {
            "sessions": len(self.sessions),
            "refusals": len(self.refusals),
            "contacts": len(self.contacts),
        }


def export_fhir(
    ctx: Context,
    first_day: object,
    last_day: object,
    ods_code: str | None,
    render: Callable[[FhirExport], T],
) -> T:
    """Consent decisions made, sessions opened, refusals and GP calls on days first..last (UK),
    for every practice or one (then with its evidence). Managers only; recorded as a
    disclosure."""

    def work(tx: Tx) -> tuple[FhirExport, T]:
        export = collect(tx.conn, tx.now, first_day, last_day, ods_code)
        if ods_code:
            export = with_evidence(tx.conn, export)
        return export, render(export)

    with collector_paused():
        export, result = read(ctx, EXPORT_FHIR, work)
    details: dict[str, object] = {
        "document": "fhir_bundle",
        "ods_code": export.practices[0].ods_code if ods_code else None,
        "first_day": str(export.first_day),
        "last_day": str(export.last_day),
        "consents": len(export.consents),
        "sessions": len(export.sessions),
        "refusals": len(export.refusals),
        "contacts": len(export.contacts),
        "head_seq": export.head.seq,
        "head_hash": export.head.hash,
    }
    if export.evidence is not None:  # the next report or export proves it extends this head
        details.update(tree_head=export.evidence.head.to_json(), numbers=export.evidence.numbers)
    perform(ctx, EXPORT_FHIR, lambda tx: tx.details.update(details))
    return result


def collect(
    conn: Connection, now: datetime, first_day: object, last_day: object, ods_code: str | None
) -> FhirExport:
    """What an export of days first..last (UK) holds, for every practice or one; read inside
    the caller's snapshot (the export, or a GP access report's attached Bundle)."""
    first, last, start, end = reports.report_period(first_day, last_day)
    only = practice_id_for(conn, ods_code) if ods_code else None
    practices = tuple(p for p in repo.list_practices(conn) if only in (None, p.id))
    # one practice's entries of the period: its evidence lists them, its chain links are theirs
    entries = () if only is None else tuple(practice_log.entries(conn, only, start, end))
    links = fhir_queries.chain_links(conn, start, end, None if only is None else (only, entries))
    residents: dict[str, Resident] = {}

    def logged(kind: str, practice: Practice, lines: list[L]) -> list[Logged[L]]:
        for line in lines:
            if line.nhs_number not in residents:
                found = repo.find_resident_by_nhs(conn, line.nhs_number)
                assert found is not None
                residents[line.nhs_number] = found
        return [Logged(practice, line, links.get((kind, line.id), ())) for line in lines]

    sessions, refusals, contacts = [], [], []
    for p in practices:
        sessions += logged("session", p, list(q.practice_sessions(conn, p.id, start, end)))
        refusals += logged("refusal", p, list(q.practice_refusals(conn, p.id, start, end)))
        contacts += logged("contact", p, list(q.practice_contacts(conn, p.id, start, end)))
    relied_on = {x.line.consent.id for x in (*sessions, *refusals) if x.line.consent is not None}
    # decisions on others' requests for residents' information (domain/disclosure.py) are not
    # about a practice: the export of every practice carries those made in the period
    decided = [
        (request, d)
        for request in ([] if only else disclosure_store.requests(conn))
        for d in request.decisions
        if d.outcome.final and start <= d.decided_at < end
    ]
    for request, _decision in decided:
        for rid in request.resident_ids:
            resident = repo.get_resident(conn, rid)
            assert resident is not None
            residents.setdefault(resident.nhs_number, resident)
    agreements = {p.id: repo.list_agreements(conn, p.id) for p in practices}
    relied_agreements = {s.line.agreement_id for s in sessions}
    return FhirExport(
        home_name=repo.home_name(conn) or "",
        home_ids=home_ids(conn),
        at=now,
        first_day=first,
        last_day=last,
        head=reports.chain_head(conn),
        practices=practices,
        residents=residents,
        agreements=tuple(
            a
            for p in practices
            for a in agreements[p.id]
            if a.id in relied_agreements
            or (a.starts_on <= last and (a.ends_on is None or a.ends_on >= first))
        ),
        consents=_consents(
            conn, first, last, only, practices, residents, agreements, relied_on, v.uk_date(now)
        ),
        sessions=tuple(sessions),
        refusals=tuple(refusals),
        contacts=tuple(contacts),
        disclosures=tuple(decided),
        entries=entries,
    )


def with_evidence(conn: Connection, export: FhirExport) -> FhirExport:
    """The export of one practice with the evidence its GP access report would carry, read in
    the same snapshot, and an inclusion proof in the same signed tree for each entry its
    sessions name that was made after the period (a session closed the next morning), which
    the evidence, listing the period's entries, does not hold."""
    (practice,) = export.practices
    key = signing.document_key(conn)  # one certificate for the signature and the data it names
    _first, _last, start, end = reports.report_period(export.first_day, export.last_day)
    after = format_time(end)
    later = {link.seq for s in export.sessions for link in s.chain[1:] if link.at >= after}
    evidence = access_report_evidence(
        conn,
        key,
        practice,
        (str(export.first_day), str(export.last_day)),
        (start, end),
        export.totals(),
        export.at,
        export.entries,
        also=later,
    )
    return replace(export, evidence=evidence, key=key)


def _consents(
    conn: Connection,
    first: date,
    last: date,
    practice_id: int | None,
    practices: tuple[Practice, ...],
    residents: dict[str, Resident],
    agreements: dict[int, list[Agreement]],
    relied_on: set[int],
    today: date,
) -> tuple[ExportedConsent, ...]:
    by_id = {p.id: p for p in practices}
    made = fhir_queries.consent_ids(conn, first, last, practice_id)
    exported = []
    for consent_id in [*made, *sorted(relied_on.difference(made))]:
        decision = repo.get_consent(conn, consent_id)
        assert decision is not None
        resident = repo.get_resident(conn, decision.resident_id)
        assert resident is not None
        residents.setdefault(resident.nhs_number, resident)
        # the decision made last stands (domain/consent.py): any made later ended this one;
        # a consent holds through its last day
        history = in_order_made(repo.consents(conn, resident.id))
        later = history[[d.id for d in history].index(consent_id) + 1 :]
        expired = decision.kind is ConsentKind.GRANTED and (
            decision.expires_on is not None and today > decision.expires_on
        )
        covering = [
            a for a in agreements[resident.practice_id] if a.in_force_on(decision.decided_on)
        ]
        exported.append(
            ExportedConsent(
                decision,
                resident,
                by_id[resident.practice_id],
                in_force=not later and not expired,
                agreement=covering[-1] if covering else None,
                replaced_by=later[0] if later else None,
            )
        )
    return tuple(exported)
