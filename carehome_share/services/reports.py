"""What the printed documents show, read behind the same permission checks as every screen.

Each document is read in one snapshot and handed to `render` (which lays out the PDF) while the
snapshot is still open, so the long lists are streamed from the database instead of being held
in memory, and every figure on a document comes from one consistent moment.

Printing a GP access report, a resident's access history, a register, the staff list, an
agreement, a DPIA pack (PDF or editable DOCX) or the recovery sheet is a disclosure, so it is
audited ("print_reports"). The chain head printed is
the one at the moment the data was read; the print entry is appended after `render` succeeds and
carries that head in its details, so the log shows exactly which head each printed copy bears.
A render that fails discloses nothing and is not recorded. A consent form only shows what a nurse
may already view, so it is an ordinary read.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from carehome_share.domain import validation as v
from carehome_share.domain.consent import ConsentState, consent_state
from carehome_share.domain.disclosure import DisclosureRequest
from carehome_share.domain.errors import NotFound, ValidationError
from carehome_share.domain.model import (
    Agreement,
    CloseKind,
    ConsentDecision,
    HomeIds,
    Practice,
    Purpose,
    ReasonCode,
    Resident,
    ResidentRecord,
    Role,
    Section,
    Staff,
    Stay,
)
from carehome_share.domain.permissions import PERMISSIONS
from carehome_share.domain.rules import MIN_JUSTIFICATION, decide
from carehome_share.services.context import (
    Context,
    Tx,
    collector_paused,
    perform,
    read,
    require_resident,
)
from carehome_share.services.evidence import Evidence, access_report_evidence
from carehome_share.services.practices import practice_id_for
from carehome_share.services.settings import SETTINGS, home_ids, setting
from carehome_share.store import audit, keychain, merkle, recovery, repo, signing
from carehome_share.store import disclosures as disclosure_store
from carehome_share.store import report_queries as q
from carehome_share.store.report_queries import (
    ContactLine,
    Disclosure,
    EventLine,
    RefusalLine,
    RegisterLine,
    SessionLine,
    Totals,
)
from carehome_share.store.signing import DocumentKey, document_key
from carehome_share.store.vault import Connection

if TYPE_CHECKING:  # fhir_export builds on this module's period and chain-head helpers
    from carehome_share.services.fhir_export import FhirExport

T = TypeVar("T")
PRINT_REPORTS = "print_reports"
PRINT_DISCLOSURE_REGISTER = "print_disclosure_register"
RECORD_PRINT_OUTCOME = "record_print_outcome"
# What became of a document once made: making it is recorded first, then this as its own step.
PRINT_OUTCOMES = ("printed", "cancelled", "failed", "saved as PDF")


class ChainHead(NamedTuple):
    """The last audit entry when a document was read: what `verify --head SEQ:HASH` checks."""

    seq: int
    hash: str


@dataclass(frozen=True)
class Printed:
    """What every document says about its own making."""

    home_name: str
    at: datetime
    by: str  # "Mary Manager (Registered manager)"
    key: DocumentKey  # every document is signed with the home's key (PAdES)
    home_ids: HomeIds

    @property
    def home(self) -> str:
        """The home's name, with its ODS code and CQC location ID when recorded."""
        ids = self.home_ids.text
        return f"{self.home_name} ({ids})" if ids else self.home_name


def _printed(tx: Tx) -> Printed:
    by = f"{tx.staff.full_name} ({tx.role.label})"
    return Printed(
        repo.home_name(tx.conn) or "", tx.now, by, document_key(tx.conn), home_ids(tx.conn)
    )


def chain_head(conn: Connection) -> ChainHead:
    return ChainHead(*audit.head(conn))


def _record(
    ctx: Context,
    document: str,
    head: ChainHead | None,
    resident_id: int | None = None,
    action: str = PRINT_REPORTS,
    **about: object,
) -> None:
    details: dict[str, object] = {"document": document, **about}
    if head is not None:
        details.update(head_seq=head.seq, head_hash=head.hash)
    perform(ctx, action, lambda tx: tx.details.update(details), resident_id=resident_id)


def document_entry(ctx: Context) -> int:
    """The audit entry of the document this person last made here (0 if none): what its
    print outcome refers to. Read on the connection that made it, straight after."""

    def work(tx: Tx) -> int:
        documents = (PRINT_REPORTS, PRINT_DISCLOSURE_REGISTER)
        return audit.latest_by(tx.conn, tx.staff.username, ctx.workstation, documents)

    return read(ctx, RECORD_PRINT_OUTCOME, work)


def record_print_outcome(ctx: Context, document_seq: int, outcome: str) -> None:
    """Record what became of a document made earlier (its entry `document_seq`): printed,
    cancelled (the print or save dialog, or the preview closed unprinted), failed (no printer,
    or the file not written), or saved as PDF. Only for one's own documents."""

    def work(tx: Tx) -> None:
        made = audit.entry(tx.conn, document_seq) if isinstance(document_seq, int) else None
        if (
            made is None
            or made.action not in (PRINT_REPORTS, PRINT_DISCLOSURE_REGISTER)
            or made.actor_username != tx.staff.username
        ):
            raise NotFound("document_seq", "the audit entry of a document you made")
        if outcome not in PRINT_OUTCOMES:
            raise ValidationError("outcome", f"one of: {', '.join(PRINT_OUTCOMES)}")
        tx.resident_id = made.resident_id
        tx.details.update(
            document_seq=made.seq, document=made.details.get("document"), outcome=outcome
        )

    perform(ctx, RECORD_PRINT_OUTCOME, work)


def report_period(first_day: object, last_day: object) -> tuple[date, date, datetime, datetime]:
    """UK calendar days, both included, and the UTC instants [start, end) they span."""
    first = v.as_date("first_day", first_day)
    last = v.as_date("last_day", last_day)
    assert first is not None and last is not None
    if last < first:
        raise ValidationError("last_day", "a date on or after the first day")
    return first, last, v.day_start(first), v.day_start(last + timedelta(days=1))


def _agreements_during(
    conn: Connection, practice_id: int, first: date, last: date
) -> tuple[Agreement, ...]:
    return tuple(
        a
        for a in repo.list_agreements(conn, practice_id)
        if a.starts_on <= last and (a.ends_on is None or a.ends_on >= first)
    )


# -- GP access report --------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessSummary:
    sessions: int
    auto_closed: int
    long: int  # closed normally but open longer than `long_minutes`
    ended: int  # ended when the rules stopped allowing them (a withdrawal, a discharge...)
    decided_by_self: int  # on a best-interests decision the nurse who looked made herself
    refusals: int
    contacts: int
    residents: int
    nurses: int


@dataclass(frozen=True)
class AccessReport:
    printed: Printed
    practice: Practice
    agreements: tuple[Agreement, ...]
    first_day: date
    last_day: date
    head: ChainHead
    long_minutes: int
    summary: AccessSummary
    weeks: tuple[tuple[date, int], ...]  # (Monday, sessions opened that week)
    sessions: Iterator[SessionLine]  # the iterators are read while `render` runs
    refusals: Iterator[RefusalLine]
    contacts: Iterator[ContactLine]
    resident_totals: list[Totals]
    nurse_totals: list[Totals]
    restores: tuple[str, ...] = ()  # the database put back from a backup since the period began
    evidence: Evidence | None = None  # what the reader checks (domain/evidence.py), attached
    fhir: "FhirExport | None" = None  # exactly the rows printed, attached as a FHIR Bundle
    # each resident whose record was opened, refused or asked about, with their stays
    # overlapping the period: the reader checks "only while resident"
    residencies: tuple[tuple[Resident, tuple[Stay, ...]], ...] = ()
    refusal_pins: dict[int, str] = field(default_factory=dict)  # NMC PIN as the log has it
    followed_up: frozenset[int] = frozenset()  # refusals a call to the practice followed

    @property
    def today(self) -> date:
        return v.uk_date(self.printed.at)


def _uk(stamp: str) -> str:
    """An audit entry's UTC time as UK local time, dd/mm/yyyy hh:mm."""
    instant = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return instant.astimezone(v.UK).strftime("%d/%m/%Y %H:%M")


def _restore_notes(conn: Connection, since: datetime) -> tuple[str, ...]:
    """Each restore since `since` in words: the entries it set aside are not in this report."""
    notes = []
    for entry in audit.restores_since(conn, since):
        d = entry.details
        replaced = d.get("replaced_head", "unknown")
        count = d.get("replaced_entries")
        held = f"{count} audit entries, head {replaced}" if count is not None else str(replaced)
        notes.append(
            f"{_uk(entry.at)}: {entry.actor_name} restored the database from the backup "
            f"{d.get('backup')} (audit head {d.get('backup_head')}, audit entry {entry.seq} "
            f"records it). The file it replaced held {held}; anything recorded after the "
            "backup was made is not in this database or in this report."
        )
    return tuple(notes)


def _residencies(
    conn: Connection, residents: Iterable[Resident], start: datetime, end: datetime
) -> tuple[tuple[Resident, tuple[Stay, ...]], ...]:
    """Each resident with the stays that overlap [start, end), by name."""
    found = [
        (
            r,
            tuple(
                s
                for s in repo.stays(conn, r.id)
                if s.admitted_at < end and (s.discharged_at is None or s.discharged_at > start)
            ),
        )
        for r in residents
    ]
    return tuple(sorted(found, key=lambda x: (x[0].family_name.casefold(), x[0].id)))


def _week_counts(
    spans: Iterable[tuple[datetime, datetime | None, CloseKind | None]],
    first: date,
    last: date,
    long_minutes: int,
) -> tuple[tuple[tuple[date, int], ...], int, int]:
    """Sessions per UK week (from Monday) over the period, how many the nurse closed only
    after more than `long_minutes` (auto-closed ones are counted apart), and how many a change
    to the rules ended."""
    monday = first - timedelta(days=first.weekday())
    counts = dict.fromkeys(
        (monday + timedelta(weeks=n) for n in range((last - monday).days // 7 + 1)), 0
    )
    limit = timedelta(minutes=long_minutes)
    long = ended = 0
    for opened, closed, how in spans:
        day = v.uk_date(opened)
        counts[day - timedelta(days=day.weekday())] += 1
        if how is CloseKind.CLOSED and closed is not None and closed - opened > limit:
            long += 1
        ended += how is CloseKind.ENDED
    return tuple(counts.items()), long, ended


def gp_access_report(
    ctx: Context,
    ods_code: str,
    first_day: object,
    last_day: object,
    render: Callable[[AccessReport], T],
) -> T:
    """Every access to one practice's records in a period, every refusal and call, for the
    practice to review and sign. Managers only; recorded as a disclosure."""

    from carehome_share.services import fhir_export  # it imports this module

    def work(tx: Tx) -> tuple[AccessReport, T]:
        conn = tx.conn
        first, last, start, end = report_period(first_day, last_day)
        practice = repo.get_practice(conn, practice_id_for(conn, ods_code))
        assert practice is not None
        long_minutes = setting(conn, "long_session_minutes")
        counts = q.period_counts(conn, practice.id, start, end)
        weeks, long, ended = _week_counts(
            q.session_spans(conn, practice.id, start, end), first, last, long_minutes
        )
        resident_totals = q.resident_totals(conn, practice.id, start, end)
        nurse_totals = q.staff_totals(conn, practice.id, start, end)
        printed = _printed(tx)
        # the attached Bundle is of exactly the rows printed: one read serves both
        fhir = fhir_export.collect(conn, tx.now, first, last, practice.ods_code)
        report = AccessReport(
            printed=printed,
            practice=practice,
            agreements=_agreements_during(conn, practice.id, first, last),
            first_day=first,
            last_day=last,
            head=chain_head(conn),
            long_minutes=long_minutes,
            restores=_restore_notes(conn, start),
            summary=AccessSummary(
                sessions=counts.sessions,
                auto_closed=counts.auto_closed,
                long=long,
                ended=ended,
                decided_by_self=counts.decided_by_self,
                refusals=counts.refusals,
                contacts=counts.contacts,
                residents=sum(1 for t in resident_totals if t.sessions),
                nurses=sum(1 for t in nurse_totals if t.sessions),
            ),
            weeks=weeks,
            residencies=_residencies(
                conn, (fhir.residents[t.identifier] for t in resident_totals), start, end
            ),
            refusal_pins={r.line.id: r.link.actor_nmc_pin for r in fhir.refusals if r.link},
            followed_up=frozenset(
                c.line.refusal_id for c in fhir.contacts if c.line.refusal_id is not None
            ),
            sessions=(s.line for s in fhir.sessions),
            refusals=(r.line for r in fhir.refusals),
            contacts=(c.line for c in fhir.contacts),
            resident_totals=resident_totals,
            nurse_totals=nurse_totals,
            evidence=access_report_evidence(
                conn,
                printed.key,  # one certificate for the signature and the data it names
                practice,
                (str(first), str(last)),
                (start, end),
                {
                    "sessions": counts.sessions,
                    "refusals": counts.refusals,
                    "contacts": counts.contacts,
                },
                tx.now,
                fhir.entries,
            ),
            fhir=fhir,
        )
        return report, render(report)

    with collector_paused():
        report, result = read(ctx, PRINT_REPORTS, work)
    assert report.evidence is not None
    _record(
        ctx,
        "gp_access_report",
        report.head,
        ods_code=report.practice.ods_code,
        first_day=str(report.first_day),
        last_day=str(report.last_day),
        sessions=report.summary.sessions,
        refusals=report.summary.refusals,
        tree_head=report.evidence.head.to_json(),  # the next report proves it extends this
        numbers=report.evidence.numbers,
    )
    assert report.evidence.tree is not None
    with ctx.vault.transaction() as conn:  # a cache: the next report reads less of the log
        merkle.remember_chunks(conn, report.evidence.tree)
    return result


# -- a resident's access history (subject access request) -------------------------------------


@dataclass(frozen=True)
class ResidentHistory:
    printed: Printed
    resident: Resident
    practice: Practice | None
    stays: tuple[Stay, ...]
    consents: tuple[ConsentDecision, ...]  # oldest first
    head: ChainHead
    long_minutes: int
    sessions: Iterator[SessionLine]
    refusals: Iterator[RefusalLine]
    contacts: tuple[ContactLine, ...]  # few: read whole, to flag refusals no call followed
    events: Iterator[EventLine]
    requests: tuple[DisclosureRequest, ...] = ()  # others' requests for their information
    # the GP access reports and exports sent to the practice that covered a day on which the
    # resident's record was opened, refused or asked about, or a consent decision was made
    disclosures: tuple[Disclosure, ...] = ()

    @property
    def followed_up(self) -> frozenset[int]:
        return frozenset(c.refusal_id for c in self.contacts if c.refusal_id is not None)


def _disclosures(conn: Connection, record: ResidentRecord) -> tuple[Disclosure, ...]:
    if record.practice is None:
        return ()
    rid = record.resident.id
    days = {v.uk_date(s.opened_at) for s in q.resident_sessions(conn, rid)}
    days |= {v.uk_date(f.at) for f in q.resident_refusals(conn, rid)}
    days |= {v.uk_date(c.at) for c in q.resident_contacts(conn, rid)}
    days |= {c.decided_on for c in record.consents}
    return tuple(
        d
        for d in q.practice_disclosures(conn, record.practice.id)
        if any(d.first_day <= day <= d.last_day for day in days)
    )


def resident_history(ctx: Context, resident_id: int, render: Callable[[ResidentHistory], T]) -> T:
    """Who looked at a resident's GP record, when and why; every refusal, call, consent decision
    and other recorded event about them. Managers only; recorded as a disclosure."""

    def work(tx: Tx) -> tuple[ResidentHistory, T]:
        conn = tx.conn
        record = repo.resident_record(conn, require_resident(conn, resident_id))
        assert record is not None
        rid = record.resident.id
        history = ResidentHistory(
            disclosures=_disclosures(conn, record),
            printed=_printed(tx),
            resident=record.resident,
            practice=record.practice,
            stays=record.stays,
            consents=record.consents,
            head=chain_head(conn),
            long_minutes=setting(conn, "long_session_minutes"),
            sessions=q.resident_sessions(conn, rid),
            refusals=q.resident_refusals(conn, rid),
            contacts=tuple(q.resident_contacts(conn, rid)),
            events=q.resident_events(conn, rid),
            requests=tuple(disclosure_store.requests(conn, resident_id=rid)),
        )
        return history, render(history)

    history, result = read(ctx, PRINT_REPORTS, work, resident_id=v.row_id(resident_id))
    _record(ctx, "resident_history", history.head, resident_id=history.resident.id)
    return result


# -- consent register ---------------------------------------------------------------------------


class RegisterEntry(NamedTuple):
    resident: RegisterLine
    state: ConsentState
    # the practice's agreement in force today; else the last one, which has ended (or None)
    agreement: Agreement | None
    agreement_in_force: bool


@dataclass(frozen=True)
class ConsentRegister:
    printed: Printed
    today: date
    include_former: bool
    head: ChainHead
    entries: Iterator[RegisterEntry]


def consent_register(
    ctx: Context, render: Callable[[ConsentRegister], T], *, include_former: bool = False
) -> T:
    """Each resident (current ones, or everyone) with the consent decision in force today, who
    gave it, and when it is due for review. Managers only; recorded as a disclosure."""

    def work(tx: Tx) -> tuple[ConsentRegister, T]:
        conn, today = tx.conn, v.uk_date(tx.now)
        agreements: dict[int, tuple[Agreement | None, bool]] = {}  # by practice, few

        def agreement_of(resident_id: int) -> tuple[Agreement | None, bool]:
            resident = repo.get_resident(conn, resident_id)
            assert resident is not None
            if resident.practice_id not in agreements:
                known = repo.list_agreements(conn, resident.practice_id)
                in_force = [a for a in known if a.in_force_on(today)]
                latest = (in_force or [a for a in known if a.starts_on <= today] or [None])[-1]
                agreements[resident.practice_id] = (latest, bool(in_force))
            return agreements[resident.practice_id]

        entries = (
            RegisterEntry(
                line,
                consent_state(repo.consents(conn, line.resident_id), today),
                *agreement_of(line.resident_id),
            )
            for line in q.register_residents(conn, tx.now, include_former)
        )
        register = ConsentRegister(
            _printed(tx), today, include_former, chain_head(tx.conn), entries
        )
        return register, render(register)

    register, result = read(ctx, PRINT_REPORTS, work)
    _record(ctx, "consent_register", register.head, include_former=include_former)
    return result


# -- authorised staff list for a practice ------------------------------------------------------


@dataclass(frozen=True)
class StaffLine:
    staff: Staff
    joined: date
    left: date | None
    not_authorised: tuple[str, ...]  # why the nurse may not open a GP record today; () = may


@dataclass(frozen=True)
class StaffList:
    printed: Printed
    practice: Practice
    agreements: tuple[Agreement, ...]
    first_day: date
    last_day: date
    head: ChainHead
    members: tuple[StaffLine, ...]  # nurses who held an account at any time in the period
    fingerprint: str  # of the home's signing key: the practice records it once

    @property
    def joiners(self) -> tuple[StaffLine, ...]:
        return tuple(m for m in self.members if self.first_day <= m.joined <= self.last_day)

    @property
    def leavers(self) -> tuple[StaffLine, ...]:
        return tuple(
            m for m in self.members if m.left and self.first_day <= m.left <= self.last_day
        )


# The staff conditions of the access rules, asked of `decide` itself so the list cannot drift
# from the check made at the moment of access; the resident and purpose are placeholders.
_STAFF_REASONS = {
    ReasonCode.ROLE_NOT_HELD,
    ReasonCode.ACCOUNT_INACTIVE,
    ReasonCode.NMC_MISSING,
    ReasonCode.NMC_UNCHECKED,
    ReasonCode.NMC_EXPIRED,
}
_ANY_RESIDENT = ResidentRecord(Resident(0, "", "", "", date.min, 0))


def _not_authorised(member: Staff, now: datetime) -> tuple[str, ...]:
    decision = decide(
        member, Role.NURSE, _ANY_RESIDENT, Purpose.MEDICATION_CHECK, "x" * MIN_JUSTIFICATION, now
    )
    return tuple(r.text for r in decision.reasons if r.code in _STAFF_REASONS)


def staff_list(
    ctx: Context,
    ods_code: str,
    first_day: object,
    last_day: object,
    render: Callable[[StaffList], T],
) -> T:
    """The nurses who may open the practice's records, with NMC PINs and check dates, and who
    joined or left in the period. Managers only; recorded as a disclosure."""

    def work(tx: Tx) -> tuple[StaffList, T]:
        conn = tx.conn
        first, last, _start, _end = report_period(first_day, last_day)
        practice = repo.get_practice(conn, practice_id_for(conn, ods_code))
        assert practice is not None
        dates = q.staff_dates(conn)
        members = []
        for member in repo.list_staff(conn):
            joined = v.uk_date(dates[member.id].joined)
            left = dates[member.id].left
            left_on = v.uk_date(left) if left else None
            if Role.NURSE not in member.roles or joined > last or (left_on and left_on < first):
                continue
            members.append(StaffLine(member, joined, left_on, _not_authorised(member, tx.now)))
        staff = StaffList(
            printed=_printed(tx),
            practice=practice,
            agreements=_agreements_during(conn, practice.id, first, last),
            first_day=first,
            last_day=last,
            head=chain_head(conn),
            members=tuple(members),
            fingerprint=signing.SigningKey.of(ctx.vault).fingerprint,
        )
        return staff, render(staff)

    staff, result = read(ctx, PRINT_REPORTS, work)
    _record(
        ctx,
        "staff_list",
        staff.head,
        ods_code=staff.practice.ods_code,
        first_day=str(staff.first_day),
        last_day=str(staff.last_day),
    )
    return result


# -- the disclosure register --------------------------------------------------------------------


@dataclass(frozen=True)
class DisclosureRegister:
    printed: Printed
    first_day: date
    last_day: date
    head: ChainHead
    requests: tuple[DisclosureRequest, ...]  # received in the period, oldest first
    residents: dict[int, Resident]  # those the requests are about, by id

    @property
    def undecided(self) -> int:
        return sum(1 for r in self.requests if r.decision is None)


def disclosure_register(
    ctx: Context, first_day: object, last_day: object, render: Callable[[DisclosureRegister], T]
) -> T:
    """Every one-off request for residents' information received in a period, with each
    decision, its reasons, what was disclosed and how: for the IG lead and the inspector. The
    manager and the IG lead; recorded as a disclosure."""

    def work(tx: Tx) -> tuple[DisclosureRegister, T]:
        first, last, _start, _end = report_period(first_day, last_day)
        found = tuple(disclosure_store.requests(tx.conn, received=(first, last)))
        about = {rid for r in found for rid in r.resident_ids}
        residents = {rid: repo.get_resident(tx.conn, rid) for rid in sorted(about)}
        register = DisclosureRegister(
            _printed(tx),
            first,
            last,
            chain_head(tx.conn),
            found,
            {rid: r for rid, r in residents.items() if r is not None},
        )
        return register, render(register)

    register, result = read(ctx, PRINT_DISCLOSURE_REGISTER, work)
    _record(
        ctx,
        "disclosure_register",
        register.head,
        action=PRINT_DISCLOSURE_REGISTER,
        first_day=str(register.first_day),
        last_day=str(register.last_day),
        requests=len(register.requests),
    )
    return result


# -- the data sharing agreement ------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementRecord:
    """One data sharing agreement as the home holds it, with what the practice keeps from it:
    the fingerprint of the key the home's documents are signed with, and the settings the app
    applies to every access under it."""

    printed: Printed
    practice: Practice
    agreement: Agreement
    head: ChainHead
    fingerprint: str
    settings: dict[str, int]  # the settings the document quotes, by name


def _agreement_of(conn: Connection, agreement_id: int) -> tuple[Agreement, Practice]:
    number = v.row_id(agreement_id)
    agreement = repo.get_agreement(conn, number) if number is not None else None
    if agreement is None:
        raise NotFound("agreement_id", f"an existing agreement (none has id {agreement_id})")
    practice = repo.get_practice(conn, agreement.practice_id)
    assert practice is not None
    return agreement, practice


def agreement_record(ctx: Context, agreement_id: int, render: Callable[[AgreementRecord], T]) -> T:
    """The record of one data sharing agreement, for both parties to keep and for the practice
    to note the home's signing key from. Managers only; recorded as a disclosure."""

    def work(tx: Tx) -> tuple[AgreementRecord, T]:
        agreement, practice = _agreement_of(tx.conn, agreement_id)
        record = AgreementRecord(
            printed=_printed(tx),
            practice=practice,
            agreement=agreement,
            head=chain_head(tx.conn),
            fingerprint=signing.SigningKey.of(ctx.vault).fingerprint,
            settings={name: setting(tx.conn, name) for name in _QUOTED_SETTINGS},
        )
        return record, render(record)

    record, result = read(ctx, PRINT_REPORTS, work)
    _record(
        ctx,
        "data_sharing_agreement",
        record.head,
        ods_code=record.practice.ods_code,
        agreement_id=record.agreement.id,
    )
    return result


_QUOTED_SETTINGS = ("session_limit_minutes", "idle_lock_minutes", "report_due_days")


# -- the DPIA and agreement pack ------------------------------------------------------------------

# What a role may do with the shared data besides opening a record (which the access rules keep to
# registered nurses), as domain/permissions.py grants it.
_DATA_ACTIONS = {
    "view_consent": "see residents' consent decisions",
    "log_gp_contact": "log a call to the GP practice",
    "view_audit": "read the audit trail",
    "print_reports": "print access reports, access histories, registers and staff lists",
    "export_fhir": "export the access audit as FHIR",
}
OPEN_RECORDS = "open a resident's GP record, when every access rule holds"


@dataclass(frozen=True)
class DpiaPack:
    """What the home's own records and settings answer of a data protection impact assessment
    for one agreement; the writer leaves blanks for what only people can answer."""

    printed: Printed
    practice: Practice
    agreement: Agreement
    head: ChainHead
    fingerprint: str
    settings: dict[str, int]  # every setting in force, by name
    roles: tuple[tuple[Role, tuple[str, ...]], ...]  # what each role may do with the data
    nurses: tuple[StaffLine, ...]  # current nurse accounts; `not_authorised` () = may open now
    residents: int  # registered with the practice and resident now
    last_year: q.PeriodCounts  # sessions, refusals and calls in the 365 days to now
    key_slots: int  # staff whose password opens the database
    keychain: str  # where the device secret is kept, or that there is no secure keychain
    device_bound: bool  # a slot needs this PC's device secret as well as the password


def _role_duties() -> tuple[tuple[Role, tuple[str, ...]], ...]:
    return tuple(
        (
            role,
            ((OPEN_RECORDS,) if role is Role.NURSE else ())
            + tuple(text for action, text in _DATA_ACTIONS.items() if role in PERMISSIONS[action]),
        )
        for role in Role
    )


def dpia_pack(
    ctx: Context,
    agreement_id: int,
    render: Callable[[DpiaPack], T],
    *,
    editable: bool = False,
) -> T:
    """A data protection impact assessment for one agreement, pre-filled from the app's own
    configuration, for the home to finish and its DPO or IG lead to sign off. Managers only;
    recorded as a disclosure (it names the authorised nurses), with whether it was the editable
    copy."""

    def work(tx: Tx) -> tuple[DpiaPack, T]:
        conn = tx.conn
        agreement, practice = _agreement_of(conn, agreement_id)
        dates = q.staff_dates(conn)
        nurses = tuple(
            StaffLine(
                member,
                v.uk_date(dates[member.id].joined),
                None,
                _not_authorised(member, tx.now),
            )
            for member in repo.list_staff(conn)
            if Role.NURSE in member.roles and member.active
        )
        pack = DpiaPack(
            printed=_printed(tx),
            practice=practice,
            agreement=agreement,
            head=chain_head(conn),
            fingerprint=signing.SigningKey.of(ctx.vault).fingerprint,
            settings={name: setting(conn, name) for name in SETTINGS},
            roles=_role_duties(),
            nurses=nurses,
            residents=q.residents_now(conn, practice.id, tx.now),
            last_year=q.period_counts(conn, practice.id, tx.now - timedelta(days=365), tx.now),
            key_slots=len(ctx.vault.slots()),
            keychain=keychain.describe(),
            device_bound=ctx.vault.device_secret_here() is not None,
        )
        return pack, render(pack)

    pack, result = read(ctx, PRINT_REPORTS, work)
    _record(
        ctx,
        "dpia_pack",
        pack.head,
        ods_code=pack.practice.ods_code,
        agreement_id=pack.agreement.id,
        editable=editable,
    )
    return result


def home_fingerprint(ctx: Context) -> str:
    """The fingerprint of the key the home signs its reports and audit tree heads with (16
    groups of 4 hex digits). Not secret: each GP practice is given it once, to check the
    signatures with."""
    return read(ctx, "view_settings", lambda tx: signing.SigningKey.of(ctx.vault).fingerprint)


# -- consent form -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentForm:
    printed: Printed
    resident: Resident | None  # None: a blank form
    practice: Practice | None
    agreement: Agreement | None  # the resident's practice's agreement in force today, if any
    # what the agreements in force today allow: the resident's practice's, or for a blank
    # form any practice's; an ended agreement is never offered as current
    purposes: tuple[Purpose, ...]
    sections: tuple[Section, ...]


def consent_form(ctx: Context, resident_id: int | None, render: Callable[[ConsentForm], T]) -> T:
    """A consent form pre-filled for a resident, or blank (resident_id None), listing what may
    be viewed and why. Managers and nurses."""

    def work(tx: Tx) -> T:
        today = v.uk_date(tx.now)
        resident = practice = agreement = None
        if resident_id is not None:
            record = repo.resident_record(tx.conn, require_resident(tx.conn, resident_id))
            assert record is not None
            resident, practice = record.resident, record.practice
            in_force = [a for a in record.agreements if a.in_force_on(today)]
            agreement = in_force[-1] if in_force else None
        else:
            in_force = [
                a
                for p in repo.list_practices(tx.conn)
                for a in repo.list_agreements(tx.conn, p.id)
                if a.in_force_on(today)
            ]
        form = ConsentForm(
            printed=_printed(tx),
            resident=resident,
            practice=practice,
            agreement=agreement,
            purposes=tuple(p for p in Purpose if any(p in a.purposes for a in in_force)),
            sections=tuple(x for x in Section if any(x in a.sections for a in in_force)),
        )
        return render(form)

    return read(ctx, "print_consent_form", work, resident_id=v.row_id(resident_id))


# -- recovery sheet -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoverySheet:
    printed: Printed
    database: str
    device_bound: bool  # passwords open the file together with this PC's keychain
    groups: tuple[str, ...]


def recovery_sheet(ctx: Context, code: str, render: Callable[[RecoverySheet], T]) -> T:
    """The recovery code laid out for the safe. The code is first proved to open this database,
    so a mistyped code never ends up in the safe. Managers only; the printing is recorded, the
    code is not."""

    def work(tx: Tx) -> T:
        key = recovery.decode(code)  # a typing error names the group
        if not ctx.vault.matches(key):
            raise ValidationError(
                recovery.FIELD, "the recovery code of this database (this one does not open it)"
            )
        normalised = recovery.encode(key)
        sheet = RecoverySheet(
            printed=_printed(tx),
            database=str(ctx.vault.path),
            device_bound=ctx.vault.device_secret_here() is not None,
            groups=tuple(normalised.split("-")),
        )
        return render(sheet)

    result = read(ctx, PRINT_REPORTS, work)
    _record(ctx, "recovery_sheet", None)
    return result
