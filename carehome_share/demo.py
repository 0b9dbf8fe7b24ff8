"""Synthetic demo data: a care home with staff, GP practices, residents, consent histories and
years of GP-record access, all consistent with the access rules.

The set-up (home, staff, practices, agreements, residents, stays, consent decisions) goes through
the real services with a clock we move, so it is validated exactly like a manager's input. The
bulk (access sessions, refusals, GP calls and their audit entries) is planned here from the same
facts and written in batches by store.bulk. Both run on one timeline in time order, so the audit
log's times never go backwards, and everything is committed in a few large transactions.

Nothing here is real: names come from short built-in lists, NHS numbers from the 999 test range,
ODS codes and practice names are made up and marked "(demo)".
"""

import bisect
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from carehome_share.domain.errors import CarehomeError
from carehome_share.domain.identifiers import nhs_numbers_in_test_range
from carehome_share.domain.model import (
    Ability,
    Agreement,
    CloseKind,
    ConsentDecision,
    ConsentKind,
    DecidedBy,
    Practice,
    Purpose,
    Resident,
    ResidentRecord,
    Role,
    Section,
    Staff,
    Stay,
    StayKind,
)
from carehome_share.domain.rules import decide
from carehome_share.domain.validation import day_start, uk_date
from carehome_share.services import auth, consent, practices, residents, staff
from carehome_share.services.context import Context, actor_of
from carehome_share.services.settings import setting
from carehome_share.store import audit, bulk, repo
from carehome_share.store.audit import Actor
from carehome_share.store.bulk import AuditEvent, ContactRow, RefusalRow, SectionRow, SessionRow
from carehome_share.store.vault import Vault

DEMO_PASSWORD = "demo records only"  # every demo account's: it protects only synthetic data
HOME_NAME = "Rose Court Care Home (demo)"

REFUSAL_RATE = 0.04  # refusals per allowed session
AUTO_CLOSE_RATE = 0.025  # sessions left open until the time limit closed them
_ENTRIES_PER_COMMIT = 300_000  # audit entries per transaction: bounds the write-ahead log


@dataclass(frozen=True)
class _StaffSpec:
    username: str
    full_name: str
    roles: tuple[str, ...]
    shows: str
    nmc_pin: str | None = None
    session_weight: float = 0.0  # share of the GP-record sessions this person opens
    lapses: bool = False  # NMC registration runs out a couple of months before today
    leaves: bool = False  # leaves part way through: account deactivated


_STAFF = (
    _StaffSpec(
        "manager",
        "Helen Carter",
        ("manager",),
        "Registered manager: staff, practices, agreements, residents, consent, audit",
    ),
    _StaffSpec(
        "nurse.amira",
        "Amira Hassan",
        ("nurse",),
        "Registered nurse, NMC registration current: opens GP-record sessions",
        "99A1001E",
        1.0,
    ),
    _StaffSpec(
        "nurse.david",
        "David Okafor",
        ("nurse",),
        "Registered nurse, NMC registration current",
        "99B1002E",
        1.0,
    ),
    _StaffSpec(
        "nurse.grace",
        "Grace Mensah",
        ("nurse",),
        "Registered nurse (nights), NMC registration current",
        "99C1003E",
        0.7,
    ),
    _StaffSpec(
        "nurse.tom",
        "Tom Hughes",
        ("nurse",),
        "Nurse whose NMC registration has lapsed: access is refused",
        "99D1004E",
        0.8,
        lapses=True,
    ),
    _StaffSpec(
        "nurse.ruth",
        "Ruth Bailey",
        ("nurse",),
        "Nurse who left: account deactivated, cannot log in",
        "99E1005E",
        1.0,
        leaves=True,
    ),
    _StaffSpec(
        "deputy.sarah",
        "Sarah Lewis",
        ("manager", "nurse"),
        "Deputy manager and nurse: chooses the role at login",
        "99F1006E",
        0.3,
    ),
    _StaffSpec("carer.jo", "Jo Simmons", ("carer",), "Carer: finds residents, no GP records"),
    _StaffSpec("volunteer.pat", "Pat Kelly", ("volunteer",), "Volunteer: no GP records"),
    _StaffSpec("admin.sam", "Sam Price", ("admin",), "Administrator: no GP records"),
)

# (username, roles, what the account shows), for a login screen or the command line
DEMO_ACCOUNTS: list[tuple[str, str, str]] = [
    (s.username, ", ".join(s.roles), s.shows) for s in _STAFF
]


def open_demo(path: Path | str) -> Vault:
    """A demo database, opened as its manager (with the known demo password)."""
    return Vault.open_as(path, _STAFF[0].username, DEMO_PASSWORD)


_ALL_PURPOSES = tuple(Purpose)


@dataclass(frozen=True)
class _PracticeSpec:
    name: str
    share: float  # of the residents registered with it
    purposes: tuple[Purpose, ...]
    sections: tuple[Section, ...]
    expires: bool = False  # a fixed-term agreement that ran out and was not renewed
    review_due: bool = False  # the agreement's review date has passed


_PRACTICES = (
    _PracticeSpec(
        "Larkfield Surgery (demo)",
        0.45,
        _ALL_PURPOSES,
        (
            Section.SUMMARY,
            Section.MEDICATIONS,
            Section.ALLERGIES,
            Section.PROBLEMS,
            Section.TEST_RESULTS,
            Section.CONSULTATIONS,
            Section.CARE_PLANS,
        ),
        review_due=True,
    ),
    _PracticeSpec(  # covers fewer purposes: other purposes are refused
        "Millbrook Medical Centre (demo)",
        0.25,
        (Purpose.MEDICATION_CHECK, Purpose.CLINICAL_ASSESSMENT),
        (Section.SUMMARY, Section.MEDICATIONS, Section.ALLERGIES, Section.PROBLEMS),
    ),
    _PracticeSpec(
        "Elm Tree Health Centre (demo)",
        0.18,
        _ALL_PURPOSES,
        (
            Section.SUMMARY,
            Section.MEDICATIONS,
            Section.ALLERGIES,
            Section.PROBLEMS,
            Section.IMMUNISATIONS,
            Section.CARE_PLANS,
        ),
    ),
    _PracticeSpec(
        "Stonebridge Practice (demo)",
        0.12,
        (
            Purpose.MEDICATION_CHECK,
            Purpose.CLINICAL_ASSESSMENT,
            Purpose.HOSPITAL_TRANSFER,
            Purpose.CARE_PLAN_REVIEW,
        ),
        (
            Section.SUMMARY,
            Section.MEDICATIONS,
            Section.ALLERGIES,
            Section.PROBLEMS,
            Section.TEST_RESULTS,
        ),
        expires=True,
    ),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FEMALE = _words(
    "Margaret Dorothy Joan Betty Doris Jean Eileen Irene Edna Elsie Kathleen Audrey Sheila "
    "Patricia Barbara Joyce Mary Phyllis Vera Winifred Brenda Maureen Pauline Valerie Sylvia "
    "Gwendoline Marjorie Hilda Peggy Rita Shirley Beryl Iris Agnes Nora Bridget Mavis June"
)
_MALE = _words(
    "Arthur Albert Harold Kenneth Ronald Dennis Stanley Frank George Walter Leslie Norman Eric "
    "Geoffrey Derek Raymond Roy Bernard Peter John William Thomas James Alan Brian Colin Donald "
    "Douglas Reginald Cyril Leonard Alfred Gordon Trevor Keith Desmond Clifford Sidney"
)
_FAMILY = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Hughes Edwards Turner Hill "
    "Moore Cooper Ward Morris King Harris Lewis Baker Lee Allen Bennett Shaw Price Griffiths "
    "Kelly Murphy O'Brien Campbell Stewart MacDonald Singh Ahmed Begum Fletcher Holmes Barker "
    "Pearson Atkinson Marsh Dixon Lloyd Chapman Webb Rowe Hartley Sutcliffe Ashworth Pritchard"
)
_RELATIVES = ("Daughter", "Son", "Niece", "Nephew", "Wife", "Husband", "Granddaughter")
_WINGS = ("Rose", "Lavender", "Bluebell", "Primrose", "Heather", "Willow")

_JUSTIFICATIONS = {
    Purpose.MEDICATION_CHECK: (
        "Checking repeat medication before the morning round",
        "Reconciling the MAR chart with the GP repeat list",
        "New antibiotic from out of hours: checking allergies and interactions",
        "Confirming the warfarin dose after the INR result",
        "Pharmacy delivery differs from the MAR chart: checking the GP list",
    ),
    Purpose.CLINICAL_ASSESSMENT: (
        "Unwell overnight: checking history before calling NHS 111",
        "Fall this morning: checking anticoagulants and recent history",
        "Raised temperature: checking past UTIs and antibiotics",
        "Checking recent blood results before the GP ward round",
        "New pressure area: checking diabetes and recent reviews",
    ),
    Purpose.HOSPITAL_TRANSFER: (
        "Preparing the transfer information for hospital admission",
        "Back from hospital: reconciling discharge medication",
    ),
    Purpose.CARE_PLAN_REVIEW: (
        "Monthly care plan review",
        "Updating the care plan after the GP visit",
        "Six-monthly review with the family",
    ),
    Purpose.END_OF_LIFE_CARE: (
        "Reviewing anticipatory medicines and the ReSPECT form",
        "End of life care planning meeting with the family",
    ),
}
_PURPOSE_WEIGHTS = {
    Purpose.MEDICATION_CHECK: 45,
    Purpose.CLINICAL_ASSESSMENT: 30,
    Purpose.HOSPITAL_TRANSFER: 8,
    Purpose.CARE_PLAN_REVIEW: 12,
    Purpose.END_OF_LIFE_CARE: 5,
}
# the parts of the record a nurse looks at for each purpose, most likely first
_SECTIONS_FOR = {
    Purpose.MEDICATION_CHECK: (Section.MEDICATIONS, Section.ALLERGIES, Section.SUMMARY),
    Purpose.CLINICAL_ASSESSMENT: (
        Section.SUMMARY,
        Section.PROBLEMS,
        Section.TEST_RESULTS,
        Section.MEDICATIONS,
        Section.CONSULTATIONS,
    ),
    Purpose.HOSPITAL_TRANSFER: (
        Section.SUMMARY,
        Section.MEDICATIONS,
        Section.ALLERGIES,
        Section.PROBLEMS,
    ),
    Purpose.CARE_PLAN_REVIEW: (Section.CARE_PLANS, Section.SUMMARY, Section.PROBLEMS),
    Purpose.END_OF_LIFE_CARE: (Section.CARE_PLANS, Section.MEDICATIONS, Section.SUMMARY),
}
_WORKSTATIONS = ("nurses-station-1", "nurses-station-2", "treatment-room")
_VALUES = {p: p.value for p in Purpose}  # enum .value is slow in the million-session loop
_AGREEMENT_REVIEW_ALERT = "the data sharing agreement is due for review"
_CONSENT_REVIEW_ALERT = "the consent decision is due for review"

# (note, the impairment, what the resident cannot do, the help given first)
_CAPACITY_NOTES = (
    (
        "MCA two-stage test: cannot understand or retain information about sharing GP records.",
        "Alzheimer's disease",
        (Ability.UNDERSTAND, Ability.RETAIN),
        "Explained in short sentences on two mornings, with her glasses and hearing aids.",
    ),
    (
        "Advanced dementia: unable to weigh up the information, even with pictures and time.",
        "Vascular dementia",
        (Ability.WEIGH,),
        "A picture leaflet and a quiet room; her daughter present to reassure her.",
    ),
    (
        "Assessed twice on good days: cannot communicate a decision about record sharing.",
        "Stroke with severe aphasia",
        (Ability.COMMUNICATE,),
        "The speech and language therapist's yes/no cards, and time to answer.",
    ),
)
_KNOWN_WISHES = (
    "Always wanted her nurses to know about her medicines; kept her own list in her handbag.",
    "Said on admission that the home should 'talk to the doctor about whatever is needed'.",
    "No wishes about record sharing are known; her family say she trusted her GP.",
)
_NEGATIVE_REASONS = {
    ConsentKind.REFUSED: (
        "Does not want the home to see GP records; prefers staff to phone the surgery.",
        "Wants medical details kept between them and the GP.",
    ),
    ConsentKind.OBJECTION: (
        "Now objects to electronic access after a family disagreement.",
        "Objects to staff reading the full record; asks for phone calls instead.",
    ),
    ConsentKind.WITHDRAWN: (
        "Withdrew consent after reading the privacy notice; will review with family.",
        "Withdrawn while a complaint is looked into.",
    ),
}
_OBJECTION_WITHOUT_CAPACITY = (
    "Becomes distressed and says no whenever the GP record is mentioned; the objection stands "
    "although the resident lacks capacity for the decision."
)
_CALL_OUTCOMES = (
    "Receptionist read out the current repeat medication; MAR chart matches.",
    "Duty GP called back and confirmed the dose; noted in the care plan.",
    "Practice nurse confirmed allergies and recent results over the phone.",
    "Surgery will email the discharge summary to the home's secure inbox.",
    "Duty GP advised; visit booked for tomorrow's ward round.",
)
_CALL_WHO = ("Reception", "Duty GP", "Practice nurse", "Prescriptions clerk")
# refusal scenarios: (name, weight, chance the nurse then phones the practice)
_REFUSALS = (
    ("blocked", 40, 0.7),  # resident here but consent or agreement not in force
    ("lapsed", 12, 0.8),  # the nurse's NMC registration ran out
    ("purpose", 15, 0.6),  # the agreement does not cover the purpose
    ("role", 10, 0.2),  # the deputy tried while working as manager
    ("left", 13, 0.5),  # tried for a resident who has just left (hospital, discharge)
)

Span = tuple[int, int]  # first and last day (date ordinals), both included
_FAR = date.max.toordinal()


@dataclass(frozen=True)
class DemoSummary:
    residents: int
    current_residents: int
    staff: int
    practices: int
    consent_decisions: int
    sessions: int
    auto_closed: int
    sections_viewed: int
    refusals: int
    contacts: int
    audit_entries: int

    def __str__(self) -> str:
        return (
            f"{self.residents:,} residents ({self.current_residents:,} current), "
            f"{self.staff} staff, {self.practices} GP practices, "
            f"{self.consent_decisions:,} consent decisions; {self.sessions:,} access sessions "
            f"({self.auto_closed:,} auto-closed), {self.refusals:,} refusals, "
            f"{self.contacts:,} GP calls; {self.audit_entries:,} audit entries"
        )


def generate(
    ctx: Context, *, residents: int, sessions: int, seed: int, years: int = 3
) -> DemoSummary:
    """Fill a new, empty database with `years` of synthetic history ending at ctx's now.

    The same seed and the same now give the same data. Nobody is logged in afterwards.
    """
    if residents < 1 or sessions < 0 or years < 1:
        raise ValueError("generate: at least 1 resident and 1 year, and no negative sessions")
    if repo.home_name(ctx.conn) is not None:
        raise CarehomeError("Demo data goes into a new, empty database; this one is set up.")
    return _Demo(ctx, residents, sessions, seed, years).run()


# -- the plan ----------------------------------------------------------------------------------


@dataclass(eq=False)
class _Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(eq=False)
class _Person:
    spec: _StaffSpec
    staff: Staff
    checks: list[tuple[datetime, date, date]] = field(default_factory=list)  # NMC register
    leaves_at: datetime | None = None
    _actors: dict[Role, Actor] = field(default_factory=dict)

    def actor(self, role: Role) -> Actor:
        """Who acted, for the audit log; made once per role (name and PIN do not change)."""
        if role not in self._actors:
            self._actors[role] = actor_of(self.staff, role)
        return self._actors[role]

    def as_at(self, moment: datetime) -> Staff:
        """The account as the access rules saw it at a moment."""
        checked_on = expires_on = None
        for recorded_at, checked, expires in self.checks:
            if recorded_at <= moment:
                checked_on, expires_on = checked, expires
        active = self.leaves_at is None or moment < self.leaves_at
        return replace(
            self.staff, nmc_checked_on=checked_on, nmc_expires_on=expires_on, active=active
        )


@dataclass(eq=False)
class _Practice:
    spec: _PracticeSpec
    practice: Practice
    agreement: Agreement
    purposes: list[Purpose]
    purpose_cum_weights: list[int]
    # for each purpose, the sets of sections a nurse might tick: (in order ticked, as listed)
    section_choices: dict[Purpose, list[tuple[list[str], list[str]]]]


@dataclass(eq=False)
class _PlannedStay:
    kind: StayKind
    admitted_at: datetime
    discharged_at: datetime | None
    id: int = 0


@dataclass(eq=False)
class _PlannedConsent:
    day: int
    at: datetime
    kind: ConsentKind
    decided_by: DecidedBy
    review_on: date | None = None
    expires_on: date | None = None
    extra: dict[str, object] = field(default_factory=dict)
    decision: ConsentDecision | None = None  # once its id is known


@dataclass(eq=False)
class _PlannedResident:
    given_name: str
    family_name: str
    born: date
    practice: _Practice
    category: str
    stays: list[_PlannedStay]
    representative: tuple[str, str]  # (name, relationship) of the family member
    room: str = ""
    consents: list[_PlannedConsent] = field(default_factory=list)
    resident: Resident | None = None  # once its id and NHS number are known
    id: int = 0
    stay_records: tuple[Stay, ...] = ()

    def record_at(self, moment: datetime) -> ResidentRecord:
        """What the access rules knew about this resident at a moment."""
        assert self.resident is not None
        return ResidentRecord(
            resident=self.resident,
            stays=self.stay_records,
            consents=tuple(c.decision for c in self.consents if c.at <= moment),  # type: ignore[misc]
            agreements=(self.practice.agreement,),
            practice=self.practice.practice,
        )


@dataclass(eq=False)
class _Action:
    """One thing the manager does through the services, at a moment on the timeline."""

    at: datetime
    order: int
    kind: str  # register, admit, discharge, consent, nmc_check, deactivate
    resident: _PlannedResident | None = None
    stay: _PlannedStay | None = None
    consent: _PlannedConsent | None = None
    person: _Person | None = None
    dates: tuple[date, date] | None = None


@dataclass(eq=False)
class _Access:
    """A resident whose GP record may be opened on whole days, and the consent in force."""

    resident: _PlannedResident
    consent: ConsentDecision


class _Pool:
    """Items to draw from at random, with O(1) add and remove as days go by."""

    def __init__(self) -> None:
        self.items: list[object] = []
        self._where: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: object) -> None:
        self._where[id(item)] = len(self.items)
        self.items.append(item)

    def remove(self, item: object) -> None:
        index = self._where.pop(id(item))
        last = self.items.pop()
        if last is not item:
            self.items[index] = last
            self._where[id(last)] = index

    def pick(self, rng: random.Random) -> object:
        return self.items[int(rng.random() * len(self.items))]  # randrange is slower


def _intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    out = []
    for lo, hi in a:
        for b_lo, b_hi in b:
            if b_hi < lo or b_lo > hi:
                continue
            if b_lo > lo:
                out.append((lo, b_lo - 1))
            lo = b_hi + 1
            if lo > hi:
                break
        if lo <= hi:
            out.append((lo, hi))
    return out


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Whole numbers in proportion to the weights that add up to exactly `total`."""
    whole = sum(weights)
    if total and not whole:
        raise ValueError("no day on which a nurse could open a session: ask for more residents")
    if not total:
        return [0] * len(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


class _Demo:
    def __init__(self, ctx: Context, residents: int, sessions: int, seed: int, years: int) -> None:
        self.vault = ctx.vault
        self.rng = random.Random(seed)
        self.n_residents = residents
        self.n_sessions = sessions
        self.now = ctx.now()
        today = uk_date(self.now)
        self.last = today.toordinal() - 1  # the last whole day of history
        self.first = today.toordinal() - 365 * years  # the day the home starts using the app
        self.set_up_at = day_start(date.fromordinal(self.first)) + timedelta(hours=9)
        self.clock = _Clock(self.set_up_at)
        # the services run inside our transactions, each as a savepoint, at our clock's time
        self.work = Context(
            bulk.NestedVault.inside(ctx.vault), clock=self.clock, workstation=ctx.workstation
        )
        self.people: list[_Person] = []
        self.practices: list[_Practice] = []
        self.residents: list[_PlannedResident] = []
        self.actions: list[_Action] = []
        self.eligible, self.blocked, self.leavers, self.nurses = _Pool(), _Pool(), _Pool(), _Pool()
        self.changes: dict[int, list[tuple[_Pool, object, bool]]] = {}
        self.pending: list[AuditEvent] = []
        self.session_rows: list[SessionRow] = []
        self.section_rows: list[SectionRow] = []
        self.refusal_rows: list[RefusalRow] = []
        self.contact_rows: list[ContactRow] = []
        self.counts = dict(sessions=0, auto_closed=0, sections=0, refusals=0, contacts=0)
        self.entries_since_commit = 0
        # set once the home exists: the next row ids and the session time limit
        self.next_session = self.next_refusal = self.next_contact = self.next_section = 0
        self.limit = timedelta(0)
        self.session_counts: list[int] = []
        self.refusal_counts: list[int] = []

    # -- running it ------------------------------------------------------------------------

    def run(self) -> DemoSummary:
        with self.vault.transaction():
            self._set_up_home()
            conn = self.vault.conn
            self.next_session = bulk.next_id(conn, "access_session")
            self.next_refusal = bulk.next_id(conn, "access_refusal")
            self.next_contact = bulk.next_id(conn, "gp_contact")
            self.next_section = bulk.next_id(conn, "session_section")
            self.limit = timedelta(minutes=setting(conn, "session_limit_minutes"))
        self._plan_staff_changes()
        self._plan_residents()
        self._number_in_time_order()
        self._plan_pools()

        days = iter(range(self.first, self.last + 1))
        next_action, finished = 0, False
        while not finished:
            with self.vault.transaction():
                finished = True
                for day in days:
                    next_action = self._run_day(day, next_action)
                    if self.entries_since_commit >= _ENTRIES_PER_COMMIT:
                        finished = False
                        break
                self._flush_audit(None)
                self._write_rows()
                self.entries_since_commit = 0
        assert next_action == len(self.actions), "every planned action falls on a day"
        with self.vault.transaction():
            self.clock.now = self.now
            auth.log_out(self.work)
            head_seq, _ = audit.head(self.vault.conn)

        return DemoSummary(
            residents=len(self.residents),
            current_residents=sum(1 for r in self.residents if r.stays[-1].discharged_at is None),
            staff=len(self.people),
            practices=len(self.practices),
            consent_decisions=sum(len(r.consents) for r in self.residents),
            sessions=self.counts["sessions"],
            auto_closed=self.counts["auto_closed"],
            sections_viewed=self.counts["sections"],
            refusals=self.counts["refusals"],
            contacts=self.counts["contacts"],
            audit_entries=head_seq,
        )

    def _run_day(self, day: int, next_action: int) -> int:
        """The day's sessions and refusals, with the manager's actions in between, in order."""
        self._generate_day(day)
        while next_action < len(self.actions):
            action = self.actions[next_action]
            if uk_date(action.at).toordinal() > day:
                break
            self._flush_audit(audit.format_time(action.at))
            self._perform(action)
            next_action += 1
        if len(self.session_rows) >= 20_000:
            self._write_rows()  # after the day's actions, so every row they name exists
        return next_action

    def _flush_audit(self, until: str | None) -> None:
        """Chain the generated entries up to a moment (all of them with None)."""
        count = (
            len(self.pending)
            if until is None
            else bisect.bisect_right(self.pending, until, key=lambda e: e.at)
        )
        if count:
            bulk.append_audit(self.vault.conn, self.pending[:count])
            del self.pending[:count]
            self.entries_since_commit += count

    def _write_rows(self) -> None:
        conn = self.vault.conn
        bulk.insert_sessions(conn, self.session_rows)
        bulk.insert_sections(conn, self.section_rows)
        bulk.insert_refusals(conn, self.refusal_rows)
        bulk.insert_gp_contacts(conn, self.contact_rows)
        for rows in (self.session_rows, self.section_rows, self.refusal_rows, self.contact_rows):
            rows.clear()

    # -- set-up through the services -------------------------------------------------------

    def _set_up_home(self) -> None:
        rng, work, conn = self.rng, self.work, self.vault.conn
        first_day = date.fromordinal(self.first)
        manager_spec = _STAFF[0]
        manager = auth.set_up_home(
            work, HOME_NAME, manager_spec.username, manager_spec.full_name, DEMO_PASSWORD
        )
        self.people.append(_Person(manager_spec, manager))
        auth.log_in(work, manager_spec.username, DEMO_PASSWORD)
        for spec in _STAFF[1:]:
            person = staff.add_staff(
                work,
                spec.username,
                spec.full_name,
                list(spec.roles),
                DEMO_PASSWORD,
                nmc_pin=spec.nmc_pin,
                confidentiality_signed_on=first_day - timedelta(days=rng.randint(0, 60)),
                ig_training_on=first_day - timedelta(days=rng.randint(0, 200)),
            )
            # demo accounts log in with the listed password, without the first-login change
            credentials = repo.get_credentials(conn, person.id)
            repo.set_password(conn, person.id, credentials.password_hash, must_change=False)
            self.people.append(_Person(spec, person))
        for person in self.people:
            if person.spec.nmc_pin:
                self._first_nmc_check(person)

        codes: list[str] = []
        while len(codes) < len(_PRACTICES):
            code = f"Y0{rng.randrange(10_000):04d}"
            if code not in codes:
                codes.append(code)
        days_of_history = self.last - self.first
        for spec, code in zip(_PRACTICES, codes, strict=True):
            practice = practices.add_practice(
                work, spec.name, code, f"01632 960{rng.randrange(1000):03d}"
            )
            starts = first_day - timedelta(days=rng.randint(30, 400))
            ends = date.fromordinal(self.last - max(30, days_of_history // 4))
            review = self.last - 45 if spec.review_due else self.last + rng.randint(60, 300)
            agreement = practices.add_agreement(
                work,
                code,
                starts_on=starts,
                ends_on=ends if spec.expires else None,
                review_on=date.fromordinal(review),
                purposes=[p.value for p in spec.purposes],
                sections=[s.value for s in spec.sections],
                home_signatory=manager_spec.full_name,
                practice_signatory=f"Dr {rng.choice(_FAMILY)}, GP partner",
            )
            self.practices.append(self._practice(spec, practice, agreement))

    def _practice(self, spec: _PracticeSpec, practice: Practice, agreement: Agreement) -> _Practice:
        choices: dict[Purpose, list[tuple[list[str], list[str]]]] = {}
        for purpose in _ALL_PURPOSES:
            wanted = [s for s in _SECTIONS_FOR[purpose] if s in agreement.sections]
            ticked = [wanted[:n] for n in range(1, len(wanted) + 1)] or [[agreement.sections[0]]]
            choices[purpose] = [
                ([s.value for s in Section if s in t], sorted(s.value for s in t)) for t in ticked
            ]
        return _Practice(
            spec,
            practice,
            agreement,
            list(agreement.purposes),
            list(itertools.accumulate(_PURPOSE_WEIGHTS[p] for p in agreement.purposes)),
            choices,
        )

    def _first_nmc_check(self, person: _Person) -> None:
        """The manager checks each nurse on the NMC register when the home starts."""
        rng = self.rng
        if person.spec.lapses:  # renewed yearly until it lapses a couple of months ago
            expires = self.last - rng.randint(45, 90)
            while expires - 365 > self.first + 30:
                expires -= 365
        else:
            expires = self.first + rng.randint(30, 364)
        self._nmc_check(person, self.set_up_at, date.fromordinal(expires))

    def _nmc_check(self, person: _Person, at: datetime, expires: date) -> None:
        checked = uk_date(at)
        staff.record_nmc_check(self.work, person.staff.id, checked, expires)
        person.checks.append((at, checked, expires))

    def _perform(self, action: _Action) -> None:
        """Do one planned action through the services, at its moment."""
        self.clock.now = action.at
        work = self.work
        if action.kind == "register":
            r = action.resident
            assert r is not None and r.resident is not None
            added = residents.add_resident(
                work,
                r.resident.nhs_number,
                r.given_name,
                r.family_name,
                r.born,
                r.practice.practice.ods_code,
                room=r.room,
            )
            _same_id("resident", added.id, r.resident.id)
        elif action.kind == "admit":
            assert action.resident is not None and action.stay is not None
            stay = action.stay
            added_stay = residents.admit(work, action.resident.id, stay.admitted_at, stay.kind)
            _same_id("stay", added_stay.id, stay.id)
        elif action.kind == "discharge":
            assert action.resident is not None and action.stay is not None
            residents.discharge(work, action.resident.id, action.stay.discharged_at)
        elif action.kind == "consent":
            assert action.resident is not None and action.consent is not None
            c = action.consent
            assert c.decision is not None
            recorded = consent.record_consent(
                work,
                action.resident.id,
                c.kind,
                c.decided_by,
                decided_on=c.decision.decided_on,
                review_on=c.review_on,
                expires_on=c.expires_on,
                **c.extra,  # type: ignore[arg-type]
            )
            _same_id("consent decision", recorded.id, c.decision.id)
        elif action.kind == "nmc_check":
            assert action.person is not None and action.dates is not None
            staff.record_nmc_check(work, action.person.staff.id, *action.dates)
        elif action.kind == "deactivate":
            assert action.person is not None
            staff.deactivate_staff(work, action.person.staff.id)
        else:
            raise AssertionError(f"unknown action {action.kind}")

    # -- planning --------------------------------------------------------------------------

    def _act(self, at: datetime, kind: str, **what: object) -> None:
        self.actions.append(_Action(at, len(self.actions), kind, **what))  # type: ignore[arg-type]

    def _moment(self, day: int, from_hour: int, to_hour: int) -> datetime:
        """A time to the minute between two hours of a UK day."""
        minutes = self.rng.randrange(from_hour * 60, to_hour * 60)
        return day_start(date.fromordinal(day)) + timedelta(minutes=minutes)

    def _plan_staff_changes(self) -> None:
        """Yearly NMC register checks until today (or until it lapses), and one leaver."""
        rng = self.rng
        leave_day = self.first + (self.last - self.first) * 45 // 100
        for person in self.people:
            if person.spec.leaves:
                person.leaves_at = self._moment(leave_day, 16, 18)
                self._act(person.leaves_at, "deactivate", person=person)
            if not person.checks:
                continue
            expires = person.checks[-1][2].toordinal()
            while True:
                renew_day = expires - rng.randint(3, 25)
                if renew_day > self.last:
                    break
                if person.spec.lapses and expires + 365 > self.last:
                    break  # this renewal was never made: the registration lapsed
                if person.leaves_at and renew_day >= leave_day:
                    break
                at = self._moment(renew_day, 9, 17)
                dates = (date.fromordinal(renew_day), date.fromordinal(expires + 365))
                person.checks.append((at, *dates))
                self._act(at, "nmc_check", person=person, dates=dates)
                expires += 365

    def _plan_residents(self) -> None:
        rng, n = self.rng, self.n_residents
        n_current = round(n * 0.65)
        n_recent = max(1, round(n_current * 0.03)) if n_current >= 10 else 0
        n_respite = round(n_current * 0.08)
        n_before = round(n_current * 0.35)
        n_former_long = round((n - n_current) * 0.6)
        categories = (
            ["current_recent"] * n_recent
            + ["current_respite"] * n_respite
            + ["current_before"] * n_before
            + ["current"] * (n_current - n_recent - n_respite - n_before)
            + ["former_long"] * n_former_long
            + ["former_respite"] * (n - n_current - n_former_long)
        )
        rng.shuffle(categories)
        weights = [p.spec.share for p in self.practices]
        for category in categories:
            female = rng.random() < 0.68
            family = rng.choice(_FAMILY)
            relative = rng.choice(_RELATIVES)
            relative_given = rng.choice(
                _FEMALE if relative in ("Daughter", "Niece", "Wife", "Granddaughter") else _MALE
            )
            self.residents.append(
                _PlannedResident(
                    given_name=rng.choice(_FEMALE if female else _MALE),
                    family_name=family,
                    born=date.fromordinal(
                        rng.randint(date(1925, 1, 1).toordinal(), date(1950, 12, 31).toordinal())
                    ),
                    practice=rng.choices(self.practices, weights)[0],
                    category=category,
                    stays=self._plan_stays(category),
                    representative=(f"{relative_given} {family}", relative),
                )
            )
        self._give_rooms()
        kinds = self._consent_kinds()
        for resident, kind in zip(self.residents, kinds, strict=True):
            self._plan_consents(resident, kind)
        for r in self.residents:
            first = r.stays[0]
            registered = max(first.admitted_at, self.set_up_at)
            self._act(registered, "register", resident=r)
            for stay in r.stays:
                self._act(max(stay.admitted_at, self.set_up_at), "admit", resident=r, stay=stay)
                if stay.discharged_at is not None:
                    self._act(stay.discharged_at, "discharge", resident=r, stay=stay)
            for c in r.consents:
                self._act(c.at, "consent", resident=r, consent=c)

    def _stay(self, kind: StayKind, admitted: int, discharged: int | None) -> _PlannedStay:
        return _PlannedStay(
            kind,
            self._moment(admitted, 10, 17),
            None if discharged is None else self._moment(discharged, 9, 14),
        )

    def _plan_stays(self, category: str) -> list[_PlannedStay]:
        rng, first, last = self.rng, self.first, self.last
        long_term, respite = StayKind.LONG_TERM, StayKind.RESPITE
        if category == "current_before":  # living here before the home started using the app
            return [self._stay(long_term, first - rng.randint(30, 1500), None)]
        if category == "current_respite":
            return [self._stay(respite, max(first + 1, last - rng.randint(1, 20)), None)]
        if category == "current_recent":  # consent not yet recorded
            return [self._stay(long_term, max(first + 1, last - rng.randint(0, 5)), None)]
        if category == "current":
            admitted = rng.randint(first + 1, max(first + 1, last - 10))
            roll = rng.random()
            if roll < 0.15:  # came for respite first
                ends = admitted - rng.randint(14, 120)
                starts = ends - rng.randint(7, 21)
                if starts > first:
                    return [
                        self._stay(respite, starts, ends),
                        self._stay(long_term, admitted, None),
                    ]
            elif roll < 0.3:  # readmitted after a spell in hospital
                left = admitted - rng.randint(3, 30)
                came = left - rng.randint(20, 300)
                if left > first + 1:
                    return [
                        self._stay(long_term, came, left),
                        self._stay(long_term, admitted, None),
                    ]
            return [self._stay(long_term, admitted, None)]
        if category == "former_long":
            admitted = rng.randint(first - 600, last - 40)
            left = admitted + rng.randint(20, 900)
            if left <= first + 1:
                left = first + rng.randint(2, 200)
            left = min(left, last - 1)
            stays = [self._stay(long_term, admitted, left)]
            back = left + rng.randint(3, 40)
            if rng.random() < 0.25 and back < last - 25:  # readmitted, then left again
                stays.append(
                    self._stay(long_term, back, min(back + rng.randint(14, 300), last - 1))
                )
            return stays
        stays = []  # former respite: one to three short stays
        starts = rng.randint(first + 1, max(first + 1, last - 60))
        for _ in range(rng.randint(1, 3)):
            ends = starts + rng.randint(7, 28)
            if ends >= last:
                break
            stays.append(self._stay(respite, starts, ends))
            starts = ends + rng.randint(30, 200)
        return stays or [self._stay(respite, last - 40, last - 26)]

    def _give_rooms(self) -> None:
        """Current residents each have their own room; former residents had one of them."""
        current = [r for r in self.residents if r.stays[-1].discharged_at is None]
        rooms = [f"{_WINGS[i % len(_WINGS)]} {i // len(_WINGS) + 1}" for i in range(len(current))]
        self.rng.shuffle(rooms)
        for resident, room in zip(current, rooms, strict=True):
            resident.room = room
        for resident in self.residents:
            if not resident.room:
                resident.room = self.rng.choice(rooms) if rooms else f"{_WINGS[0]} 1"

    def _consent_kinds(self) -> list[str]:
        """Every kind of consent history at least once, on residents here long enough to show it."""
        rng = self.rng
        kinds = rng.choices(
            (
                "resident",
                "review_due",
                "lpa",
                "deputy",
                "best_interests",
                "refused",
                "objection",
                "withdrawn",
                "expired",
            ),
            (38, 8, 14, 4, 14, 4, 5, 6, 7),
            k=len(self.residents),
        )
        showcase = [
            "lpa",
            "best_interests",
            "refused",
            "objection",
            "withdrawn",
            "expired",
            "review_due",
            "deputy",
            "resident",
        ]
        long_stayers = sorted(
            (
                i
                for i, r in enumerate(self.residents)
                if r.category in ("current_before", "current")
            ),
            key=lambda i: self.residents[i].stays[0].admitted_at,
        )
        for i, kind in zip(long_stayers, showcase, strict=False):
            kinds[i] = kind
        for i, r in enumerate(self.residents):
            if r.category == "current_recent":
                kinds[i] = "none"
        return kinds

    def _present_days(self, r: _PlannedResident) -> list[Span]:
        """Whole days the resident spent here since the home started using the app."""
        spans = []
        for stay in r.stays:
            lo = uk_date(stay.admitted_at).toordinal() + 1
            hi = (
                self.last
                if stay.discharged_at is None
                else uk_date(stay.discharged_at).toordinal() - 1
            )
            spans.append((lo, hi))
        return _intersect(spans, [(self.first + 1, self.last)])

    def _day_from(self, present: list[Span], day: int) -> int | None:
        """The first day on or after `day` that the resident is here."""
        for lo, hi in present:
            if hi >= day:
                return max(lo, day)
        return None

    def _random_day_after(self, present: list[Span], day: int) -> int | None:
        later = _intersect(present, [(day + 1, _FAR)])
        total = sum(hi - lo + 1 for lo, hi in later)
        if not total:
            return None
        n = self.rng.randrange(total)
        for lo, hi in later:
            if n <= hi - lo:
                return lo + n
            n -= hi - lo + 1
        raise AssertionError("unreachable")

    def _plan_consents(self, r: _PlannedResident, kind: str) -> None:
        """A consent history of the given kind, recorded on days the resident is here."""
        rng = self.rng
        present = self._present_days(r)
        if kind == "none" or not present:
            return
        start = self.first + 1 + rng.randint(0, 9) if r.category == "current_before" else 0
        first = self._day_from(present, max(start, present[0][0] + rng.randint(0, 3)))
        first = first or present[0][0]
        granted, resident = ConsentKind.GRANTED, DecidedBy.RESIDENT

        def add(day: int, kind: ConsentKind, by: DecidedBy, **dates: date | None) -> None:
            on = date.fromordinal(day)
            extra = self._decider_details(r, by, on)
            if kind is not granted:
                extra["reason"] = rng.choice(_NEGATIVE_REASONS[kind])
            r.consents.append(
                _PlannedConsent(day, self._moment(day, 9, 17), kind, by, extra=extra, **dates)
            )

        def grant(day: int, by: DecidedBy, review_days: int | None = 365) -> None:
            review = date.fromordinal(day + review_days) if review_days else None
            add(day, granted, by, review_on=review)

        def renew_at_reviews(by: DecidedBy, review_days: int) -> None:
            while (review := r.consents[-1].review_on) is not None:
                day = self._day_from(present, review.toordinal() + rng.randint(0, 21))
                if day is None:
                    return
                grant(day, by, review_days)

        if kind in ("resident", "lpa", "deputy", "best_interests"):
            by = {
                "resident": resident,
                "lpa": DecidedBy.LPA_ATTORNEY,
                "deputy": DecidedBy.DEPUTY,
                "best_interests": DecidedBy.BEST_INTERESTS,
            }[kind]
            review_days = 180 if by is DecidedBy.BEST_INTERESTS else 365
            grant(first, by, review_days)
            renew_at_reviews(by, review_days)
        elif kind == "review_due":  # granted, but nobody reviewed it when due
            grant(first, resident, rng.randint(90, 200))
        elif kind == "refused":
            add(first, ConsentKind.REFUSED, resident)
        elif kind == "objection":  # by the resident, even one an attorney decides for
            by = resident if rng.random() < 0.5 else DecidedBy.LPA_ATTORNEY
            grant(first, by, None)
            if (day := self._random_day_after(present, first + 14)) is not None:
                add(day, ConsentKind.OBJECTION, resident)
                if by is not resident:  # an objection is heard whatever the capacity
                    r.consents[-1].extra.update(
                        lacks_capacity=True,
                        capacity_assessed_on=date.fromordinal(day - rng.randint(0, 7)),
                        capacity_assessment=rng.choice(_CAPACITY_NOTES)[0],
                        reason=_OBJECTION_WITHOUT_CAPACITY,
                    )
        elif kind == "withdrawn":
            grant(first, resident, None)
            if (day := self._random_day_after(present, first + 14)) is not None:
                add(day, ConsentKind.WITHDRAWN, resident)
                again = self._day_from(present, day + rng.randint(14, 60))
                if again is not None and rng.random() < 0.5:  # a new explicit consent
                    grant(again, resident)
        elif kind == "expired":
            expires = first + rng.randint(60, 200)
            add(first, granted, resident, expires_on=date.fromordinal(expires))
            renewed = self._day_from(present, expires + rng.randint(5, 40))
            if renewed is not None and rng.random() < 0.6:
                grant(renewed, resident)
        else:
            raise AssertionError(f"unknown consent history {kind}")

    def _decider_details(self, r: _PlannedResident, by: DecidedBy, on: date) -> dict[str, object]:
        """What the law asks a decision to record, for who made it."""
        rng = self.rng
        if by is DecidedBy.RESIDENT:
            nurse = rng.choice([p for p in self.people if p.spec.nmc_pin])
            return {"witness": nurse.staff.full_name if rng.random() < 0.5 else ""}
        name, relationship = r.representative
        note, impairment, unable_to, steps = rng.choice(_CAPACITY_NOTES)
        assessor = rng.choice([p for p in self.people if p.spec.nmc_pin]).staff.full_name
        manager = self.people[0].staff.full_name
        details: dict[str, object] = {
            "lacks_capacity": True,
            "capacity_assessed_on": on - timedelta(days=rng.randint(0, 7)),
            "capacity_assessment": note,
            "impairment": True,
            "impairment_detail": impairment,
            "unable_to": unable_to,
            "support_steps": steps,
            "capacity_assessed_by": f"{assessor}, registered nurse",
        }
        if by in (DecidedBy.LPA_ATTORNEY, DecidedBy.DEPUTY):
            details.update(authority_seen_on=on, authority_seen_by=f"{manager}, registered manager")
        if by is DecidedBy.LPA_ATTORNEY:
            details.update(
                representative_name=name,
                representative_relationship=relationship,
                authority_reference=f"LPA health and welfare, reg. DEMO-{rng.randrange(10**6):06d}",
                lpa_registered_on=on - timedelta(days=rng.randint(60, 2000)),
            )
        elif by is DecidedBy.DEPUTY:
            details.update(
                representative_name=f"{name} (deputy)",
                representative_relationship=relationship,
                authority_reference=f"Court of Protection order DEMO-{rng.randrange(10**7):07d}T",
            )
        else:
            details.update(
                representative_name=manager,
                people_consulted=f"{name} ({relationship.lower()}); the GP; the named nurse",
                known_wishes=rng.choice(_KNOWN_WISHES),
            )
        return details

    def _number_in_time_order(self) -> None:
        """Sort the actions and give rows the ids the database will give them, in that order.

        Knowing the ids up front lets sessions name their consent decision before the services
        have run; each service call then checks that it got the id planned for it.
        """
        self.actions.sort(key=lambda a: (a.at, a.order))
        numbers = nhs_numbers_in_test_range()
        manager = self.people[0].staff.full_name
        ids = {"resident": 0, "stay": 0, "consent": 0}
        for action in self.actions:
            r = action.resident
            if action.kind == "register":
                assert r is not None
                ids["resident"] += 1
                r.id = ids["resident"]
                r.resident = Resident(
                    ids["resident"],
                    next(numbers),
                    r.given_name,
                    r.family_name,
                    r.born,
                    r.practice.practice.id,
                    r.room,
                )
            elif action.kind == "admit":
                assert action.stay is not None
                ids["stay"] += 1
                action.stay.id = ids["stay"]
            elif action.kind == "consent":
                assert r is not None and action.consent is not None
                ids["consent"] += 1
                c = action.consent
                c.decision = ConsentDecision(
                    id=ids["consent"],
                    resident_id=r.id,
                    kind=c.kind,
                    decided_by=c.decided_by,
                    decided_on=uk_date(c.at),
                    recorded_at=c.at,
                    recorded_by=manager,
                    review_on=c.review_on,
                    expires_on=c.expires_on,
                )
        for r in self.residents:
            r.stay_records = tuple(
                Stay(s.id, r.id, s.kind, s.admitted_at, s.discharged_at) for s in r.stays
            )

    # -- who may be looked at on which days ------------------------------------------------

    def _plan_pools(self) -> None:
        """Spans of whole days on which each resident may (or may not) be looked at, and on
        which each nurse may look; then how many sessions and refusals fall on each day."""
        window = [(self.first, self.last)]
        n_days = self.last - self.first + 1
        eligible_count, nurse_count = [0] * (n_days + 1), [0] * (n_days + 1)

        def during(pool: _Pool, spans: Sequence[Span], item: object, count: list[int] | None):
            for lo, hi in _intersect(spans, window):
                self.changes.setdefault(lo, []).append((pool, item, True))
                self.changes.setdefault(hi + 1, []).append((pool, item, False))
                if count is not None:
                    count[lo - self.first] += 1
                    count[hi + 1 - self.first] -= 1

        for r in self.residents:
            agreement = r.practice.agreement
            agreed = [
                (agreement.starts_on.toordinal(), (agreement.ends_on or date.max).toordinal())
            ]
            here = [
                (
                    uk_date(s.admitted_at).toordinal() + 1,
                    uk_date(s.discharged_at).toordinal() - 1 if s.discharged_at else self.last,
                )
                for s in r.stays
            ]
            decided_days = [(c.day, c.day) for c in r.consents]
            allowed: list[Span] = []
            for i, c in enumerate(r.consents):
                if c.kind is not ConsentKind.GRANTED:
                    continue
                hi = r.consents[i + 1].day - 1 if i + 1 < len(r.consents) else _FAR
                if c.expires_on is not None:  # its last day in force
                    hi = min(hi, c.expires_on.toordinal())
                spans = _intersect(_intersect(here, [(c.day + 1, hi)]), agreed)
                assert c.decision is not None
                during(self.eligible, spans, _Access(r, c.decision), eligible_count)
                allowed.extend(spans)
            during(self.blocked, _subtract(_subtract(here, allowed), decided_days), r, None)
            touched = [
                (
                    uk_date(s.admitted_at).toordinal(),
                    uk_date(s.discharged_at).toordinal() if s.discharged_at else _FAR,
                )
                for s in r.stays
            ]
            for s in r.stays:
                if s.discharged_at is not None:
                    left = uk_date(s.discharged_at).toordinal()
                    during(self.leavers, _subtract([(left + 1, left + 14)], touched), r, None)

        for person in self.people:
            if Role.NURSE not in person.staff.roles or not person.checks:
                continue
            ends = person.checks[-1][2].toordinal()
            if person.leaves_at is not None:
                ends = min(ends, uk_date(person.leaves_at).toordinal() - 1)
            during(
                self.nurses,
                [(uk_date(person.checks[0][0]).toordinal() + 1, ends)],
                person,
                nurse_count,
            )

        weights, eligible, nurses = [], 0, 0
        for i in range(n_days):
            eligible += eligible_count[i]
            nurses += nurse_count[i]
            weekday = date.fromordinal(self.first + i).weekday()
            busy = self.rng.uniform(0.7, 1.3) * (0.75 if weekday >= 5 else 1.0)
            weights.append(eligible * busy if nurses else 0.0)
        self.session_counts = _apportion(self.n_sessions, weights)
        self.refusal_counts = _apportion(round(self.n_sessions * REFUSAL_RATE), weights)
        self.lapsed = next(p for p in self.people if p.spec.lapses)
        self.deputy = next(p for p in self.people if len(p.staff.roles) > 1)

    # -- a day of GP-record access ---------------------------------------------------------

    def _generate_day(self, day: int) -> None:
        for pool, item, add in self.changes.pop(day, ()):
            if add:
                pool.add(item)
            else:
                pool.remove(item)
        index = day - self.first
        n_sessions, n_refusals = self.session_counts[index], self.refusal_counts[index]
        if not n_sessions and not n_refusals:
            return
        rng = self.rng
        midnight = day_start(date.fromordinal(day))
        today = date.fromordinal(day)
        nurses: list[_Person] = self.nurses.items  # type: ignore[assignment]
        weights = [p.spec.session_weight for p in nurses]
        events: list[AuditEvent] = []
        night = 7 * 3600
        day_time = 21 * 3600 - night
        offsets = sorted(  # seconds after midnight: mostly daytime, some at night
            int(rng.random() * night)
            if rng.random() < 0.12
            else night + int(rng.random() * day_time)
            for _ in range(n_sessions)
        )
        for offset, nurse in zip(offsets, rng.choices(nurses, weights, k=n_sessions), strict=True):
            self._session(midnight + timedelta(seconds=offset), today, nurse, events)
        for offset in sorted(rng.randrange(8 * 3600, 20 * 3600) for _ in range(n_refusals)):
            self._refusal(midnight + timedelta(seconds=offset), day, nurses, weights, events)
        events.sort(key=lambda e: e.at)  # stable: a session's own entries keep their order
        self.pending.extend(events)

    def _session(
        self, opened: datetime, today: date, nurse: _Person, events: list[AuditEvent]
    ) -> None:
        """An allowed session: opened, sections ticked, closed (or auto-closed at the limit)."""
        rng = self.rng
        access: _Access = self.eligible.pick(rng)  # type: ignore[assignment]
        r, basis = access.resident, access.consent
        practice = r.practice
        purpose = rng.choices(practice.purposes, cum_weights=practice.purpose_cum_weights)[0]
        justification = rng.choice(_JUSTIFICATIONS[purpose])
        ticked, listed = rng.choice(practice.section_choices[purpose])
        purpose_value = _VALUES[purpose]
        session_id = self.next_session
        self.next_session += 1
        actor = nurse.actor(Role.NURSE)
        workstation = rng.choice(_WORKSTATIONS)
        alerts = []
        if (review := practice.agreement.review_on) is not None and review <= today:
            alerts.append(_AGREEMENT_REVIEW_ALERT)
        if basis.review_on is not None and today >= basis.review_on:
            alerts.append(_CONSENT_REVIEW_ALERT)
        viewed = opened + timedelta(seconds=30 + int(rng.random() * 390))
        opened_at, viewed_at = audit.format_time(opened), audit.format_time(viewed)
        # each entry binds the rows it writes, as the services' entries do: the session as
        # opened, the sections ticked, the session as closed
        row = SessionRow(
            session_id,
            r.id,
            nurse.staff.id,
            practice.practice.id,
            nurse.staff.nmc_pin or "",
            purpose_value,
            justification,
            opened_at,
            None,
            None,
            basis.id,
            practice.agreement.id,
            workstation,
        )
        events.append(
            AuditEvent(
                opened_at,
                actor,
                workstation,
                "open_access_session",
                "allowed",
                r.id,
                (),
                {
                    "purpose": purpose_value,
                    "justification": justification,
                    "consent_id": basis.id,
                    "consent_basis": basis.decided_by.value,
                    "practice_id": practice.practice.id,
                    "session_id": session_id,
                    "agreement_id": practice.agreement.id,
                    "alerts": alerts,
                    "rows": dict([row.bound()]),
                },
            )
        )
        first_section = self.next_section
        self.next_section += len(ticked)
        sections = [
            SectionRow(session_id, s, viewed_at, first_section + i) for i, s in enumerate(ticked)
        ]
        events.append(
            AuditEvent(
                viewed_at,
                actor,
                workstation,
                "record_sections_viewed",
                "allowed",
                r.id,
                (),
                {
                    "session_id": session_id,
                    "sections": ticked,
                    "rows": dict(section.bound() for section in sections),
                },
            )
        )
        if rng.random() < AUTO_CLOSE_RATE:  # left open: closed at the limit by the next login
            closed = opened + self.limit
            row = row.closed(audit.format_time(closed), CloseKind.AUTO_CLOSED.value)
            noticed = closed + timedelta(seconds=60 + int(rng.random() * 1740))
            events.append(
                AuditEvent(
                    audit.format_time(noticed),
                    actor,
                    workstation,
                    "auto_close_session",
                    "allowed",
                    r.id,
                    (),
                    {
                        "session_id": session_id,
                        "closed_at": row.closed_at,
                        "rows": dict([row.bound()]),
                    },
                )
            )
            self.counts["auto_closed"] += 1
        else:
            closed = viewed + timedelta(seconds=20 + int(rng.random() * 880))
            row = row.closed(audit.format_time(closed), CloseKind.CLOSED.value)
            minutes = round((closed - opened).total_seconds() / 60, 1)
            events.append(
                AuditEvent(
                    row.closed_at,
                    actor,
                    workstation,
                    "close_access_session",
                    "allowed",
                    r.id,
                    (),
                    {
                        "session_id": session_id,
                        "sections": listed,
                        "minutes": minutes,
                        "rows": dict([row.bound()]),
                    },
                )
            )
        self.session_rows.append(row)
        self.section_rows.extend(sections)
        self.counts["sessions"] += 1
        self.counts["sections"] += len(ticked)

    def _refusal(
        self,
        at: datetime,
        day: int,
        nurses: list[_Person],
        weights: list[float],
        events: list[AuditEvent],
    ) -> None:
        """A refused attempt, its reasons given by the real access rules, maybe then a call."""
        rng = self.rng
        scenarios = [s for s in _REFUSALS if self._possible(s[0], day)]
        for _ in range(20):
            name, _, call_chance = rng.choices(scenarios, [s[1] for s in scenarios])[0]
            tried = self._attempt(name, nurses, weights)
            if tried is None:
                continue
            r, person, role, purpose, justification = tried
            decision = decide(person.as_at(at), role, r.record_at(at), purpose, justification, at)
            if not decision.allowed:
                break
        else:
            return  # nobody the rules would refuse today: no attempt is made up
        reasons = [reason.text for reason in decision.reasons]
        refusal_id = self.next_refusal
        self.next_refusal += 1
        basis = decision.consent
        actor = person.actor(role)
        workstation = rng.choice(_WORKSTATIONS)
        at_text = audit.format_time(at)
        practice = r.practice.practice
        refusal = RefusalRow(
            refusal_id,
            r.id,
            person.staff.id,
            practice.id,
            role.value,
            purpose.value,
            justification,
            at_text,
            decision.reasons,
            basis.id if basis else None,
            workstation,
        )
        events.append(
            AuditEvent(
                at_text,
                actor,
                workstation,
                "open_access_session",
                "denied",
                r.id,
                reasons,
                {
                    "purpose": purpose.value,
                    "justification": justification,
                    "consent_id": basis.id if basis else None,
                    "consent_basis": basis.decided_by.value if basis else None,
                    "practice_id": practice.id,
                    "refusal_id": refusal_id,
                    "rows": dict([refusal.bound()]),
                },
            )
        )
        self.refusal_rows.append(refusal)
        self.counts["refusals"] += 1
        if rng.random() < call_chance:
            self._gp_call(at, r, person, role, purpose, reasons[0], refusal_id, events)

    def _possible(self, scenario: str, day: int) -> bool:
        if scenario == "blocked":
            return len(self.blocked) > 0
        if scenario == "left":
            return len(self.leavers) > 0
        if scenario == "lapsed":
            return day > self.lapsed.checks[-1][2].toordinal()
        if scenario == "role":
            return self.deputy in self.nurses.items
        return True

    def _attempt(
        self, scenario: str, nurses: list[_Person], weights: list[float]
    ) -> tuple[_PlannedResident, _Person, Role, Purpose, str] | None:
        """Who tried to look at whose record, why, as the scenario has it (None: not today)."""
        rng = self.rng

        def pick_resident() -> _PlannedResident:
            access: _Access = self.eligible.pick(rng)  # type: ignore[assignment]
            return access.resident

        nurse = rng.choices(nurses, weights)[0]
        purpose = rng.choices(_ALL_PURPOSES, list(_PURPOSE_WEIGHTS.values()))[0]
        justification = rng.choice(_JUSTIFICATIONS[purpose])
        role = Role.NURSE
        if scenario == "blocked":
            r: _PlannedResident = self.blocked.pick(rng)  # type: ignore[assignment]
        elif scenario == "left":
            r = self.leavers.pick(rng)  # type: ignore[assignment]
        elif scenario == "lapsed":
            r, nurse = pick_resident(), self.lapsed
        elif scenario == "role":
            r, nurse, role = pick_resident(), self.deputy, Role.MANAGER
        else:  # purpose: a practice whose agreement covers fewer purposes
            r = pick_resident()
            uncovered = [p for p in _ALL_PURPOSES if p not in r.practice.purposes]
            if not uncovered:
                return None
            purpose = rng.choice(uncovered)
            justification = rng.choice(_JUSTIFICATIONS[purpose])
        return r, nurse, role, purpose, justification

    def _gp_call(
        self,
        refused_at: datetime,
        r: _PlannedResident,
        person: _Person,
        role: Role,
        purpose: Purpose,
        first_reason: str,
        refusal_id: int,
        events: list[AuditEvent],
    ) -> None:
        """The fallback after a refusal: the nurse phones the GP practice and logs the call."""
        rng = self.rng
        at = refused_at + timedelta(minutes=rng.randint(3, 45))
        at_text = audit.format_time(at)
        contact_id = self.next_contact
        self.next_contact += 1
        practice = r.practice.practice
        contact = ContactRow(
            contact_id,
            r.id,
            person.staff.id,
            practice.id,
            at_text,
            f"{rng.choice(_CALL_WHO)}, {practice.name}",
            f"GP record not available in the app ({first_reason}); "
            f"needed for {purpose.label.lower()}.",
            rng.choice(_CALL_OUTCOMES),
            refusal_id,
        )
        self.contact_rows.append(contact)
        events.append(
            AuditEvent(
                at_text,
                person.actor(role),
                rng.choice(_WORKSTATIONS),
                "log_gp_contact",
                "allowed",
                r.id,
                (),
                {
                    "contact_id": contact_id,
                    "refusal_id": refusal_id,
                    "practice_id": practice.id,
                    "rows": dict([contact.bound()]),
                },
            )
        )
        self.counts["contacts"] += 1


def _same_id(what: str, got: int, planned: int) -> None:
    if got != planned:
        raise AssertionError(f"demo plan out of step: {what} got id {got}, planned {planned}")
