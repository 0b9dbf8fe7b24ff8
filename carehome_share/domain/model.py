"""The things the app knows about, as plain values. No database, no Qt, no clock."""

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum

from carehome_share.domain.validation import uk_date


class Role(Enum):
    MANAGER = "manager"
    NURSE = "nurse"
    CARER = "carer"
    VOLUNTEER = "volunteer"
    ADMIN = "admin"
    IG_LEAD = "ig_lead"  # information governance lead: decides one-off disclosure requests

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.MANAGER: "Registered manager",
    Role.NURSE: "Registered nurse",
    Role.CARER: "Carer",
    Role.VOLUNTEER: "Volunteer",
    Role.ADMIN: "Administrator",
    Role.IG_LEAD: "Information governance lead",
}


class Purpose(Enum):
    """Why a nurse looks at a GP record; an agreement lists the purposes it covers."""

    MEDICATION_CHECK = "medication_check"
    CLINICAL_ASSESSMENT = "clinical_assessment"
    HOSPITAL_TRANSFER = "hospital_transfer"
    CARE_PLAN_REVIEW = "care_plan_review"
    END_OF_LIFE_CARE = "end_of_life_care"

    @property
    def label(self) -> str:
        return _PURPOSE_LABELS[self]


_PURPOSE_LABELS = {
    Purpose.MEDICATION_CHECK: "Medication check",
    Purpose.CLINICAL_ASSESSMENT: "Clinical assessment",
    Purpose.HOSPITAL_TRANSFER: "Hospital admission or discharge",
    Purpose.CARE_PLAN_REVIEW: "Care plan review",
    Purpose.END_OF_LIFE_CARE: "End of life care",
}


class Section(Enum):
    """Parts of a GP record; an agreement lists the ones relevant to care."""

    SUMMARY = "summary"
    MEDICATIONS = "medications"
    ALLERGIES = "allergies"
    PROBLEMS = "problems"
    TEST_RESULTS = "test_results"
    CONSULTATIONS = "consultations"
    IMMUNISATIONS = "immunisations"
    CARE_PLANS = "care_plans"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class ConsentKind(Enum):
    GRANTED = "granted"
    REFUSED = "refused"
    OBJECTION = "objection"
    WITHDRAWN = "withdrawn"


class DecidedBy(Enum):
    """Who made a consent decision."""

    RESIDENT = "resident"
    LPA_ATTORNEY = "lpa_attorney"  # health and welfare lasting power of attorney
    DEPUTY = "deputy"  # court-appointed deputy
    BEST_INTERESTS = "best_interests"  # Mental Capacity Act best-interests decision

    @property
    def label(self) -> str:
        return _DECIDED_BY_LABELS[self]


_DECIDED_BY_LABELS = {
    DecidedBy.RESIDENT: "the resident",
    DecidedBy.LPA_ATTORNEY: "health and welfare attorney (LPA)",
    DecidedBy.DEPUTY: "court-appointed deputy",
    DecidedBy.BEST_INTERESTS: "best-interests decision",
}


class Ability(Enum):
    """Stage 2 of the Mental Capacity Act test (section 3): what a person unable to make a
    decision cannot do, even with help. Unable to do any one of them is enough."""

    UNDERSTAND = "understand"
    RETAIN = "retain"
    WEIGH = "weigh"
    COMMUNICATE = "communicate"

    @property
    def label(self) -> str:
        return _ABILITY_LABELS[self]


_ABILITY_LABELS = {
    Ability.UNDERSTAND: "understand the information about the decision",
    Ability.RETAIN: "retain that information long enough to decide",
    Ability.WEIGH: "use or weigh that information as part of deciding",
    Ability.COMMUNICATE: "communicate the decision",
}


class StayKind(Enum):
    LONG_TERM = "long_term"
    RESPITE = "respite"


class CloseKind(Enum):
    CLOSED = "closed"  # the nurse closed it
    AUTO_CLOSED = "auto_closed"  # left open past the limit; flagged as an exception
    ENDED = "ended"  # ended when the rules stopped allowing it (a withdrawal, a discharge...)


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    full_name: str
    roles: frozenset[Role]
    active: bool = True
    nmc_pin: str | None = None
    nmc_checked_on: date | None = None
    nmc_expires_on: date | None = None  # the last day the registration is valid, included
    confidentiality_signed_on: date | None = None
    ig_training_on: date | None = None


@dataclass(frozen=True)
class HomeIds:
    """How the NHS and the regulator know the home: its ODS organisation code and its CQC
    location ID ("" when not recorded)."""

    ods_code: str = ""
    cqc_location_id: str = ""

    @property
    def text(self) -> str:
        """ "ODS code VM123, CQC location 1-123456789", or "" when neither is recorded."""
        parts = (
            self.ods_code and f"ODS code {self.ods_code}",
            self.cqc_location_id and f"CQC location {self.cqc_location_id}",
        )
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Practice:
    id: int
    name: str
    ods_code: str
    phone: str = ""
    active: bool = True  # inactive: not offered for new residents; existing ones keep it

    @property
    def display_name(self) -> str:
        return f"{self.name} ({self.ods_code})"


@dataclass(frozen=True)
class Agreement:
    """A data sharing agreement between the home and one GP practice."""

    id: int
    practice_id: int
    starts_on: date
    ends_on: date | None  # the last day in force, included (UK time); None = open-ended
    review_on: date | None
    purposes: tuple[Purpose, ...]
    sections: tuple[Section, ...]
    home_signatory: str
    practice_signatory: str

    def in_force_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class Stay:
    """One residency period: admission to discharge. A respite stay is a period of its own."""

    id: int
    resident_id: int
    kind: StayKind
    admitted_at: datetime
    discharged_at: datetime | None = None

    def covers(self, instant: datetime) -> bool:
        return self.admitted_at <= instant and (
            self.discharged_at is None or instant < self.discharged_at
        )


@dataclass(frozen=True)
class Resident:
    id: int
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: date
    practice_id: int
    room: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class ConsentDecision:
    """One entry in a resident's consent history. The history is append-only, and entries may
    come late (a paper form typed in days after): the order that counts is the order the
    decisions were made in (domain/consent.py)."""

    id: int
    resident_id: int
    kind: ConsentKind
    decided_by: DecidedBy
    decided_on: date
    recorded_at: datetime
    recorded_by: str
    representative_name: str = ""
    representative_relationship: str = ""
    authority_reference: str = ""
    lacks_capacity: bool = False
    capacity_assessed_on: date | None = None
    capacity_assessment: str = ""
    people_consulted: str = ""
    witness: str = ""
    reason: str = ""
    review_on: date | None = None
    expires_on: date | None = None  # the last day in force, included (UK time); None = no end
    decided_at: datetime | None = None  # when, if entered as it was made; else only its day
    # What the paper form records besides (schema 8; empty on decisions recorded before).
    # The capacity assessment: stage 1 (None: not recorded), stage 2, the finding of capacity
    # (`lacks_capacity` above is the other finding), the help given to decide, who assessed.
    impairment: bool | None = None  # an impairment of, or disturbance in, the mind or brain
    impairment_detail: str = ""
    unable_to: tuple[Ability, ...] = ()  # in Ability's order
    has_capacity: bool = False
    support_steps: str = ""
    capacity_assessed_by: str = ""  # name and role
    # A representative's authority, as seen: the LPA's registration with the Office of the
    # Public Guardian, and the day the LPA or court order was seen at the home and by whom.
    lpa_registered_on: date | None = None
    authority_seen_on: date | None = None
    authority_seen_by: str = ""
    known_wishes: str = ""  # the resident's past and present wishes and feelings

    @property
    def entered_late(self) -> bool:
        """Typed in on a later day than it was made (a paper form, say)."""
        return uk_date(self.recorded_at) > self.decided_on


@dataclass(frozen=True)
class ResidentRecord:
    """What the access rules need to know about one resident, read in one go."""

    resident: Resident
    stays: tuple[Stay, ...] = ()
    consents: tuple[ConsentDecision, ...] = ()  # oldest first
    agreements: tuple[Agreement, ...] = ()  # of the resident's registered practice
    practice: Practice | None = None


class ReasonCode(Enum):
    """Why an access was refused: one stable code for each rule of `rules.decide`, stored with
    each refusal and exported (FHIR: the refusal-reason CodeSystem)."""

    ROLE = "role"
    ROLE_NOT_HELD = "role_not_held"
    ACCOUNT_INACTIVE = "account_inactive"
    NMC_MISSING = "nmc_missing"
    NMC_UNCHECKED = "nmc_unchecked"
    NMC_EXPIRED = "nmc_expired"
    NOT_RESIDENT = "not_resident"
    NO_AGREEMENT = "no_agreement"
    PURPOSE = "purpose"
    JUSTIFICATION = "justification"
    NO_CONSENT = "no_consent"
    CONSENT_EXPIRED = "consent_expired"
    CONSENT_REFUSED = "consent_refused"
    CONSENT_OBJECTION = "consent_objection"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    OTHER = "other"  # a refusal stored before codes, in words that match no known reason

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    ReasonCode.ROLE: "Not working as a registered nurse",
    ReasonCode.ROLE_NOT_HELD: "Role not held",
    ReasonCode.ACCOUNT_INACTIVE: "Staff account deactivated",
    ReasonCode.NMC_MISSING: "No NMC PIN recorded",
    ReasonCode.NMC_UNCHECKED: "NMC registration check not recorded",
    ReasonCode.NMC_EXPIRED: "NMC registration not current",
    ReasonCode.NOT_RESIDENT: "Not currently resident",
    ReasonCode.NO_AGREEMENT: "No data sharing agreement in force",
    ReasonCode.PURPOSE: "Purpose not covered by the agreement",
    ReasonCode.JUSTIFICATION: "Justification too short",
    ReasonCode.NO_CONSENT: "No consent decision recorded",
    ReasonCode.CONSENT_EXPIRED: "Consent expired",
    ReasonCode.CONSENT_REFUSED: "Consent refused",
    ReasonCode.CONSENT_OBJECTION: "Objection recorded",
    ReasonCode.CONSENT_WITHDRAWN: "Consent withdrawn",
    ReasonCode.OTHER: "Other (recorded before reasons were coded)",
}


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    text: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...] = ()
    consent: ConsentDecision | None = None  # the basis in force, when allowed
    agreement: Agreement | None = None
    alerts: tuple[str, ...] = field(default=())
    decided_by_self: bool = False  # the basis is a best-interests decision this nurse made
