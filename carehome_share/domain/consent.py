"""Which consent decision is in force, and what a valid decision must record."""

from dataclasses import dataclass
from datetime import date

from carehome_share.domain.errors import ValidationError
from carehome_share.domain.model import ConsentDecision, ConsentKind, DecidedBy, Reason


@dataclass(frozen=True)
class ConsentState:
    in_force: bool
    latest: ConsentDecision | None
    problem: Reason | None  # why there is no consent in force
    review_due: bool = False


def consent_state(history: tuple[ConsentDecision, ...], today: date) -> ConsentState:
    """The latest decision stands: a refusal, objection or withdrawal wins until a new consent.

    History is oldest first. A consent is in force through the end of its last day (UK time),
    if it has one; a review date only raises an alert.
    Discharge does not touch consent, so it carries over to a readmission.
    """
    if not history:
        return ConsentState(False, None, Reason("no_consent", "no consent decision is recorded"))
    latest = history[-1]
    if latest.kind is not ConsentKind.GRANTED:
        return ConsentState(False, latest, _negative_reason(latest))
    if latest.expires_on is not None and today > latest.expires_on:
        when = latest.expires_on.strftime("%d/%m/%Y")
        return ConsentState(
            False, latest, Reason("consent_expired", f"consent expired: its last day was {when}")
        )
    review_due = latest.review_on is not None and today >= latest.review_on
    return ConsentState(True, latest, None, review_due)


def _negative_reason(decision: ConsentDecision) -> Reason:
    when = decision.decided_on.strftime("%d/%m/%Y")
    who = decision.decided_by.label
    texts = {
        ConsentKind.REFUSED: f"consent was refused by {who} on {when}",
        ConsentKind.OBJECTION: f"an objection was recorded from {who} on {when}",
        ConsentKind.WITHDRAWN: f"consent was withdrawn by {who} on {when}",
    }
    return Reason(f"consent_{decision.kind.value}", texts[decision.kind])


def check_consent_decision(
    *,
    kind: ConsentKind,
    decided_by: DecidedBy,
    decided_on: date,
    today: date,
    lacks_capacity: bool,
    capacity_assessed_on: date | None,
    capacity_assessment: str,
    representative_name: str,
    representative_relationship: str,
    authority_reference: str,
    people_consulted: str,
    review_on: date | None,
    expires_on: date | None,
) -> None:
    """Raise ValidationError, naming the field, when a decision lacks what the law asks of it.

    A decision by an attorney or deputy, or a best-interests decision, stands only on a recorded
    capacity assessment finding that the resident lacks capacity for this decision.
    """
    if decided_on > today:
        raise ValidationError("decided_on", "a date that is not in the future")
    if decided_by is DecidedBy.RESIDENT:
        # Consent needs capacity; a refusal or objection is heard whatever the capacity.
        if lacks_capacity and kind is ConsentKind.GRANTED:
            raise ValidationError(
                "decided_by",
                "a representative or a best-interests decision when the resident lacks capacity",
            )
    else:
        if not lacks_capacity:
            raise ValidationError(
                "lacks_capacity",
                "a capacity assessment finding the resident lacks capacity for this decision "
                f"before a decision by {decided_by.label} can be recorded",
            )
        if capacity_assessed_on is None:
            raise ValidationError("capacity_assessed_on", "the date of the capacity assessment")
        if capacity_assessed_on > decided_on:
            raise ValidationError(
                "capacity_assessed_on", "a date on or before the decision it supports"
            )
        if not capacity_assessment:
            raise ValidationError("capacity_assessment", "a note of the capacity assessment")
        if not representative_name:
            raise ValidationError(
                "representative_name", "the name of the attorney, deputy or decision maker"
            )
    if decided_by in (DecidedBy.LPA_ATTORNEY, DecidedBy.DEPUTY):
        if not representative_relationship:
            raise ValidationError(
                "representative_relationship", "the representative's relationship to the resident"
            )
        if not authority_reference:
            raise ValidationError(
                "authority_reference",
                "the LPA registration number or Court of Protection order reference",
            )
    if decided_by is DecidedBy.BEST_INTERESTS and not people_consulted:
        raise ValidationError(
            "people_consulted", "the people consulted for the best-interests decision"
        )
    if kind is ConsentKind.GRANTED:
        if review_on is not None and review_on <= decided_on:
            raise ValidationError("review_on", "a date after the decision date")
        if expires_on is not None and expires_on < decided_on:
            raise ValidationError("expires_on", "a last day in force on or after the decision date")
