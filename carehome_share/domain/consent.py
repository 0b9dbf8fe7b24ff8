"""Which consent decision is in force, and what a valid decision must record."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from carehome_share.domain.errors import ValidationError
from carehome_share.domain.model import (
    ConsentDecision,
    ConsentKind,
    DecidedBy,
    Reason,
    ReasonCode,
    Staff,
)
from carehome_share.domain.validation import UK


@dataclass(frozen=True)
class ConsentState:
    in_force: bool
    latest: ConsentDecision | None  # the decision made last: the one that stands
    problem: Reason | None  # why there is no consent in force
    review_due: bool = False
    overtaken: ConsentDecision | None = None  # the last entered, when made before `latest`


_NO_TIME = datetime.min.replace(tzinfo=UTC)


def _made(decision: ConsentDecision) -> tuple[date, int, datetime, bool]:
    """When a decision was made, to order a history by. Its time is known when it was entered
    as it was made; a decision entered later has only its day, read the protective way: a
    consent as made first thing that day, a refusal, objection or withdrawal as made last
    thing. At the same moment, the more protective decision is taken as the later one."""
    protective = decision.kind is not ConsentKind.GRANTED
    if decision.decided_at is not None:
        return decision.decided_on, 1, decision.decided_at, protective
    return decision.decided_on, 2 if protective else 0, _NO_TIME, protective


def in_order_made(history: Iterable[ConsentDecision]) -> list[ConsentDecision]:
    """A history in the order its decisions were made (entries of one moment as entered)."""
    return sorted(history, key=_made)


def consent_state(history: tuple[ConsentDecision, ...], today: date) -> ConsentState:
    """The decision made last stands, however late it was entered: a refusal, objection or
    withdrawal wins until a new consent is made.

    A consent is in force through the end of its last day (UK time), if it has one; a review
    date only raises an alert. Discharge does not touch consent, so it carries over to a
    readmission.
    """
    if not history:
        return ConsentState(
            False, None, Reason(ReasonCode.NO_CONSENT, "no consent decision is recorded")
        )
    latest = in_order_made(history)[-1]
    overtaken = history[-1] if history[-1] is not latest else None
    if latest.kind is not ConsentKind.GRANTED:
        return ConsentState(False, latest, _negative_reason(latest), overtaken=overtaken)
    if latest.expires_on is not None and today > latest.expires_on:
        when = latest.expires_on.strftime("%d/%m/%Y")
        expired = Reason(ReasonCode.CONSENT_EXPIRED, f"consent expired: its last day was {when}")
        return ConsentState(False, latest, expired, overtaken=overtaken)
    review_due = latest.review_on is not None and today >= latest.review_on
    return ConsentState(True, latest, None, review_due, overtaken)


def decided_by_self(decision: ConsentDecision, staff: Staff) -> bool:
    """A best-interests decision whose named decision maker is this member of staff: the same
    person decides and looks. Allowed (a small home may have no one else), but shown."""
    return decision.decided_by is DecidedBy.BEST_INTERESTS and _person(
        decision.representative_name
    ) == _person(staff.full_name)


def _person(name: str) -> str:
    return " ".join(name.casefold().split())


def late_note(decision: ConsentDecision) -> str:
    """How a decision typed in after the day it was made is shown, wherever it is shown."""
    entered = decision.recorded_at.astimezone(UK).strftime("%d/%m/%Y %H:%M")
    return f"entered late: decided {decision.decided_on:%d/%m/%Y}, entered {entered}"


def overtaken_note(state: ConsentState) -> str:
    """Why the decision entered last is not the one in force ("" when it is)."""
    if state.overtaken is None or state.latest is None:
        return ""
    late, standing = state.overtaken, state.latest
    return (
        f"the {_NOUNS[late.kind]} {late_note(late)} does not stand: the "
        f"{_NOUNS[standing.kind]} decided {standing.decided_on:%d/%m/%Y} was made after it"
    )


_NOUNS = {
    ConsentKind.GRANTED: "consent",
    ConsentKind.REFUSED: "refusal",
    ConsentKind.OBJECTION: "objection",
    ConsentKind.WITHDRAWN: "withdrawal",
}


def _negative_reason(decision: ConsentDecision) -> Reason:
    when = decision.decided_on.strftime("%d/%m/%Y")
    who = decision.decided_by.label
    texts = {
        ConsentKind.REFUSED: f"consent was refused by {who} on {when}",
        ConsentKind.OBJECTION: f"an objection was recorded from {who} on {when}",
        ConsentKind.WITHDRAWN: f"consent was withdrawn by {who} on {when}",
    }
    return Reason(ReasonCode(f"consent_{decision.kind.value}"), texts[decision.kind])


def check_consent_decision(d: ConsentDecision, today: date) -> None:
    """Raise ValidationError, naming the field, when a decision lacks what the law asks of it.

    A decision by an attorney or deputy, or a best-interests decision, stands only on a recorded
    capacity assessment finding that the resident lacks capacity for this decision. A consent
    given for the resident, which lets the GP record be opened, also needs what the paper form
    records: the two-stage test, the help given, who assessed, the authority as seen (`_paper`).
    """
    if d.decided_on > today:
        raise ValidationError("decided_on", "a date that is not in the future")
    for name in ("capacity_assessed_on", "lpa_registered_on", "authority_seen_on"):
        day = getattr(d, name)
        if day is not None and day > today:
            raise ValidationError(name, "a date that is not in the future")
    _check_finding(d)
    if d.decided_by is DecidedBy.RESIDENT:
        # Consent needs capacity; a refusal or objection is heard whatever the capacity.
        if d.lacks_capacity and d.kind is ConsentKind.GRANTED:
            raise ValidationError(
                "decided_by",
                "a representative or a best-interests decision when the resident lacks capacity",
            )
    else:
        if not d.lacks_capacity:
            raise ValidationError(
                "lacks_capacity",
                "a capacity assessment finding the resident lacks capacity for this decision "
                f"before a decision by {d.decided_by.label} can be recorded",
            )
        if d.capacity_assessed_on is None:
            raise ValidationError("capacity_assessed_on", "the date of the capacity assessment")
        if d.capacity_assessed_on > d.decided_on:
            raise ValidationError(
                "capacity_assessed_on", "a date on or before the decision it supports"
            )
        if not d.capacity_assessment:
            raise ValidationError("capacity_assessment", "a note of the capacity assessment")
        if not d.representative_name:
            raise ValidationError(
                "representative_name", "the name of the attorney, deputy or decision maker"
            )
    _check_authority(d)
    if d.decided_by is DecidedBy.BEST_INTERESTS and not d.people_consulted:
        raise ValidationError(
            "people_consulted", "the people consulted for the best-interests decision"
        )
    if d.kind is ConsentKind.GRANTED:
        if d.decided_by is not DecidedBy.RESIDENT:
            _check_paper(d)
        if d.review_on is not None and d.review_on <= d.decided_on:
            raise ValidationError("review_on", "a date after the decision date")
        if d.expires_on is not None and d.expires_on < d.decided_on:
            raise ValidationError("expires_on", "a last day in force on or after the decision date")


def _check_finding(d: ConsentDecision) -> None:
    """The two stages and the outcome agree (Mental Capacity Act 2005, sections 2 and 3)."""
    if d.has_capacity and d.lacks_capacity:
        raise ValidationError(
            "has_capacity", "one finding: the resident has capacity, or lacks it, not both"
        )
    if d.unable_to and d.impairment is not True:
        raise ValidationError(
            "unable_to",
            "stage 2 only when stage 1 found an impairment of, or disturbance in, the mind "
            "or brain",
        )
    if d.has_capacity and d.unable_to:
        raise ValidationError(
            "has_capacity",
            "a finding of capacity only when the resident can understand, retain, weigh and "
            "communicate the decision (stage 2 names something they cannot do)",
        )
    if d.lacks_capacity and d.impairment is False:
        raise ValidationError(
            "impairment",
            "an impairment of the mind or brain (stage 1) for a finding that the resident "
            "lacks capacity",
        )


_AUTHORITY_REFERENCES = {
    DecidedBy.LPA_ATTORNEY: "the LPA registration number (Office of the Public Guardian)",
    DecidedBy.DEPUTY: "the Court of Protection order reference",
}


def _check_authority(d: ConsentDecision) -> None:
    """An attorney's or deputy's authority; its details only with an attorney or deputy."""
    reference = _AUTHORITY_REFERENCES.get(d.decided_by)
    if reference is None:
        for name in ("lpa_registered_on", "authority_seen_on", "authority_seen_by"):
            if getattr(d, name):
                raise ValidationError(name, "only for a decision by an attorney or a deputy")
        return
    if not d.representative_relationship:
        raise ValidationError(
            "representative_relationship", "the representative's relationship to the resident"
        )
    if not d.authority_reference:
        raise ValidationError("authority_reference", reference)
    if d.decided_by is DecidedBy.DEPUTY and d.lpa_registered_on is not None:
        raise ValidationError(
            "lpa_registered_on", "only for a health and welfare attorney (LPA), not a deputy"
        )
    if d.lpa_registered_on is not None and d.lpa_registered_on > d.decided_on:
        raise ValidationError(
            "lpa_registered_on",
            "a date on or before the decision: an attorney may act only once the LPA is registered",
        )


def _check_paper(d: ConsentDecision) -> None:
    """What the paper form records for a consent given for the resident."""
    if d.impairment is not True:
        raise ValidationError(
            "impairment",
            "stage 1 of the capacity test: an impairment of, or disturbance in, the mind or brain",
        )
    if not d.unable_to:
        raise ValidationError(
            "unable_to",
            "stage 2 of the capacity test: which of understand, retain, weigh or communicate "
            "the resident cannot do",
        )
    if not d.support_steps:
        raise ValidationError("support_steps", "the steps taken to help the resident decide")
    if not d.capacity_assessed_by:
        raise ValidationError("capacity_assessed_by", "who assessed capacity (name and role)")
    if d.decided_by is DecidedBy.LPA_ATTORNEY and d.lpa_registered_on is None:
        raise ValidationError("lpa_registered_on", "the date the LPA was registered")
    if d.decided_by in _AUTHORITY_REFERENCES:
        document = "LPA" if d.decided_by is DecidedBy.LPA_ATTORNEY else "court order"
        if d.authority_seen_on is None:
            raise ValidationError("authority_seen_on", f"the date the {document} was seen")
        if not d.authority_seen_by:
            raise ValidationError("authority_seen_by", f"who saw the {document} (name and role)")
    if d.decided_by is DecidedBy.BEST_INTERESTS and not d.known_wishes:
        raise ValidationError(
            "known_wishes", "the resident's known wishes and feelings, or that none are known"
        )
