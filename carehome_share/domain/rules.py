"""The access decision: may this user, under this role, look at this resident's GP record now?"""

from datetime import datetime

from carehome_share.domain.consent import consent_state
from carehome_share.domain.model import (
    Decision,
    Purpose,
    Reason,
    ResidentRecord,
    Role,
    Staff,
)
from carehome_share.domain.validation import uk_date, visible_length

MIN_JUSTIFICATION = 10


def decide(
    user: Staff,
    role: Role,
    record: ResidentRecord,
    purpose: Purpose,
    justification: str,
    now: datetime,
) -> Decision:
    """Check every condition of the data sharing agreement and name each one that fails."""
    today = uk_date(now)
    reasons: list[Reason] = []
    alerts: list[str] = []

    # 1. a registered nurse, working as one, with a current NMC registration
    if role is not Role.NURSE:
        reasons.append(Reason("role", f"working as {role.label}, not as a registered nurse"))
    if role not in user.roles:
        reasons.append(
            Reason("role_not_held", f"{user.full_name} does not hold the {role.value} role")
        )
    if not user.active:
        reasons.append(Reason("account_inactive", "the staff account is deactivated"))
    if not user.nmc_pin:
        reasons.append(Reason("nmc_missing", "no NMC PIN is recorded"))
    elif user.nmc_checked_on is None or user.nmc_checked_on > today:
        reasons.append(Reason("nmc_unchecked", "the NMC registration check is not recorded"))
    elif user.nmc_expires_on is None or user.nmc_expires_on < today:
        reasons.append(Reason("nmc_expired", "the NMC registration is not current"))

    # 2. resident now
    if not any(stay.covers(now) for stay in record.stays):
        reasons.append(Reason("not_resident", "not currently resident (outside any admission)"))

    # 3 and 5. an agreement with the registered practice, in force today, covering the purpose
    in_force = [a for a in record.agreements if a.in_force_on(today)]
    covering = [a for a in in_force if purpose in a.purposes]
    agreement = covering[0] if covering else None
    if not in_force:
        reasons.append(
            Reason("no_agreement", "no data sharing agreement with the GP practice is in force")
        )
    elif agreement is None:
        reasons.append(
            Reason("purpose", f"the agreement does not cover the purpose '{purpose.label}'")
        )
    elif agreement.review_on is not None and agreement.review_on <= today:
        alerts.append("the data sharing agreement is due for review")
    if visible_length(justification) < MIN_JUSTIFICATION:
        reasons.append(
            Reason(
                "justification",
                f"a justification of at least {MIN_JUSTIFICATION} characters, not counting spaces",
            )
        )

    # 4. a consent decision in force
    consent = consent_state(record.consents, today)
    if not consent.in_force and consent.problem is not None:
        reasons.append(consent.problem)
    if consent.review_due:
        alerts.append("the consent decision is due for review")

    if reasons:
        return Decision(False, tuple(reasons), consent.latest, agreement, tuple(alerts))
    return Decision(True, (), consent.latest, agreement, tuple(alerts))
