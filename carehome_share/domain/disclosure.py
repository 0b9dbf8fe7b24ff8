"""One-off requests for residents' information from outside the data sharing agreement (the
police, a council's safeguarding team, a solicitor, a relative, an insurer, a debt collector),
and what a decision on one must rest on.

The rules follow the ICO's data sharing code (its housing association case): a person trained
in data protection (the manager or the information governance lead) decides case by case; the
requester's identity is verified and the request is in writing, with enough detail to decide;
only what is relevant and necessary is shared; and every decision, to share or not, is recorded
with its reasons (the seventh golden rule of information sharing). An emergency, where someone's
life is at risk (vital interests), may be decided before identity or writing, with the reason
recorded.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from carehome_share.domain.errors import ValidationError


class Requester(Enum):
    """Who is asking."""

    POLICE = "police"
    SAFEGUARDING = "safeguarding"  # a council's adult safeguarding team
    SOLICITOR = "solicitor"
    RELATIVE = "relative"
    THE_RESIDENT = "resident"  # the person asking for their own information
    INSURER = "insurer"
    DEBT_COLLECTOR = "debt_collector"
    REGULATOR = "regulator"  # the CQC, a coroner, the ombudsman
    OTHER = "other"

    @property
    def label(self) -> str:
        return _REQUESTER_LABELS[self]


_REQUESTER_LABELS = {
    Requester.POLICE: "Police",
    Requester.SAFEGUARDING: "Council safeguarding team",
    Requester.SOLICITOR: "Solicitor",
    Requester.RELATIVE: "Relative or friend",
    Requester.THE_RESIDENT: "The resident (or their representative), about themselves",
    Requester.INSURER: "Insurer",
    Requester.DEBT_COLLECTOR: "Debt collector",
    Requester.REGULATOR: "Regulator, coroner or ombudsman",
    Requester.OTHER: "Other",
}


class LawfulBasis(Enum):
    """What the request relies on (UK GDPR Articles 6 and 9, the Data Protection Act 2018)."""

    CONSENT = "consent"
    SUBJECT_ACCESS = "subject_access"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    CRIME = "crime"
    SAFEGUARDING = "safeguarding"
    COURT_ORDER = "court_order"
    NONE = "none"

    @property
    def label(self) -> str:
        return _BASIS_LABELS[self]


_BASIS_LABELS = {
    LawfulBasis.CONSENT: "The resident's explicit consent (or their attorney's or deputy's)",
    LawfulBasis.SUBJECT_ACCESS: "Right of access to one's own data (UK GDPR Article 15)",
    LawfulBasis.LEGAL_OBLIGATION: "A legal obligation on the home (UK GDPR Article 6(1)(c))",
    LawfulBasis.VITAL_INTERESTS: "Vital interests: to protect someone's life (Article 6(1)(d))",
    LawfulBasis.CRIME: "Crime and taxation exemption (DPA 2018 Schedule 2, paragraph 2)",
    LawfulBasis.SAFEGUARDING: "Safeguarding of individuals at risk (DPA 2018 Sch. 1, para. 18)",
    LawfulBasis.COURT_ORDER: "A court order (DPA 2018 Schedule 2, paragraph 5)",
    LawfulBasis.NONE: "No lawful basis given",
}


class Outcome(Enum):
    """What was decided."""

    DISCLOSE = "disclose"  # in full: everything asked for
    DISCLOSE_PART = "disclose_part"
    REFUSE = "refuse"
    ASK_MORE = "ask_more"  # not enough to decide: identity, writing or detail asked for

    @property
    def label(self) -> str:
        return _OUTCOME_LABELS[self]

    @property
    def discloses(self) -> bool:
        return self in (Outcome.DISCLOSE, Outcome.DISCLOSE_PART)

    @property
    def final(self) -> bool:
        return self is not Outcome.ASK_MORE


_OUTCOME_LABELS = {
    Outcome.DISCLOSE: "Disclosed in full",
    Outcome.DISCLOSE_PART: "Disclosed in part",
    Outcome.REFUSE: "Refused",
    Outcome.ASK_MORE: "More information asked for",
}

# A subject access request is answered within one month of receipt (UK GDPR Article 12(3)).
STATUTORY_BASES = frozenset({LawfulBasis.SUBJECT_ACCESS})


@dataclass(frozen=True)
class DisclosureDecision:
    id: int
    request_id: int
    outcome: Outcome
    basis: LawfulBasis  # what the decision relied on
    reasons: str
    emergency: str  # why decided without a verified identity or a written request
    disclosed: str  # what exactly was disclosed
    sent_how: str
    sent_on: date | None
    decided_by: str  # the name, as the staff record had it
    decided_at: datetime


@dataclass(frozen=True)
class DisclosureRequest:
    id: int
    received_on: date
    requester: Requester
    organisation: str
    person: str
    reference: str
    identity_check: str  # how the requester's identity was verified; "" = not verified
    in_writing: bool
    document_name: str  # the written request kept inside the database ("" = none kept)
    asked: str  # what is asked for
    why: str  # why they say they need it
    basis: LawfulBasis  # the basis the requester claims
    due_on: date | None  # a deadline: statutory, or the requester's (a court order's)
    logged_by: str
    logged_at: datetime
    resident_ids: tuple[int, ...] = ()
    decisions: tuple[DisclosureDecision, ...] = ()  # oldest first

    @property
    def decision(self) -> DisclosureDecision | None:
        """The final decision, once made."""
        return next((d for d in reversed(self.decisions) if d.outcome.final), None)


def statutory_due(basis: LawfulBasis, received_on: date) -> date | None:
    """The deadline the law sets: one calendar month for a subject access request (to the same
    day of the next month, or its last day when the next month is shorter)."""
    if basis not in STATUTORY_BASES:
        return None
    year, month = divmod(received_on.month, 12)
    year, month = received_on.year + year, month + 1
    return date(year, month, min(received_on.day, calendar.monthrange(year, month)[1]))


def require_undecided(request: DisclosureRequest) -> None:
    """A decided request is closed: it is not checked, changed or decided again."""
    if request.decision is not None:
        raise ValidationError(
            "request_id", f"an undecided request (request {request.id} is already decided)"
        )


def check_decision(
    request: DisclosureRequest,
    outcome: Outcome,
    basis: LawfulBasis,
    reasons: str,
    emergency: str,
    disclosed: str,
) -> None:
    """Raise ValidationError, naming the field, when a decision lacks what it must rest on.

    Every decision gives its reasons. A request already decided is not decided again. Sharing
    needs a lawful basis, says what was shared, and needs the requester's identity verified and
    the request in writing, unless someone's life is at risk (vital interests) and the
    emergency is recorded."""
    require_undecided(request)
    if not reasons:
        raise ValidationError("reasons", "the reasons for the decision, to be kept on record")
    if not outcome.discloses:
        return
    if basis is LawfulBasis.NONE:
        raise ValidationError("basis", "a lawful basis to disclose on; with none, refuse")
    if not disclosed:
        raise ValidationError("disclosed", "what exactly was disclosed")
    missing = [
        what
        for what, ok in (
            ("the requester's identity is not verified", request.identity_check),
            ("the request is not in writing", request.in_writing),
        )
        if not ok
    ]
    if missing and not (basis is LawfulBasis.VITAL_INTERESTS and emergency):
        raise ValidationError(
            "emergency",
            f"{' and '.join(missing)}: verify and get it in writing first, or record why it "
            "cannot wait (only when someone's life is at risk: vital interests)",
        )
