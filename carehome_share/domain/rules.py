"""The access decision: may this user, under this role, look at this resident's GP record now?"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from carehome_share.domain.consent import consent_state, decided_by_self
from carehome_share.domain.model import (
    CloseKind,
    Decision,
    Purpose,
    Reason,
    ReasonCode,
    ResidentRecord,
    Role,
    Staff,
)
from carehome_share.domain.validation import day_end, uk_date, visible_length

MIN_JUSTIFICATION = 10
SELF_DECIDED_ALERT = (
    "this access stands on a best-interests decision you made yourself: it is shown in Needs "
    "attention and on the GP access report"
)


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
        reasons.append(
            Reason(ReasonCode.ROLE, f"working as {role.label}, not as a registered nurse")
        )
    if role not in user.roles:
        reasons.append(
            Reason(
                ReasonCode.ROLE_NOT_HELD, f"{user.full_name} does not hold the {role.value} role"
            )
        )
    if not user.active:
        reasons.append(Reason(ReasonCode.ACCOUNT_INACTIVE, "the staff account is deactivated"))
    if not user.nmc_pin:
        reasons.append(Reason(ReasonCode.NMC_MISSING, "no NMC PIN is recorded"))
    elif user.nmc_checked_on is None or user.nmc_checked_on > today:
        reasons.append(
            Reason(ReasonCode.NMC_UNCHECKED, "the NMC registration check is not recorded")
        )
    elif user.nmc_expires_on is None or user.nmc_expires_on < today:
        reasons.append(Reason(ReasonCode.NMC_EXPIRED, "the NMC registration is not current"))

    # 2. resident now
    if not any(stay.covers(now) for stay in record.stays):
        reasons.append(
            Reason(ReasonCode.NOT_RESIDENT, "not currently resident (outside any admission)")
        )

    # 3 and 5. an agreement with the registered practice, in force today, covering the purpose
    in_force = [a for a in record.agreements if a.in_force_on(today)]
    covering = [a for a in in_force if purpose in a.purposes]
    agreement = covering[0] if covering else None
    if not in_force:
        reasons.append(
            Reason(
                ReasonCode.NO_AGREEMENT,
                "no data sharing agreement with the GP practice is in force",
            )
        )
    elif agreement is None:
        reasons.append(
            Reason(
                ReasonCode.PURPOSE, f"the agreement does not cover the purpose '{purpose.label}'"
            )
        )
    elif agreement.review_on is not None and agreement.review_on <= today:
        alerts.append("the data sharing agreement is due for review")
    if visible_length(justification) < MIN_JUSTIFICATION:
        reasons.append(
            Reason(
                ReasonCode.JUSTIFICATION,
                f"a justification of at least {MIN_JUSTIFICATION} characters, not counting spaces",
            )
        )

    # 4. a consent decision in force
    consent = consent_state(record.consents, today)
    if not consent.in_force and consent.problem is not None:
        reasons.append(consent.problem)
    if consent.review_due:
        alerts.append("the consent decision is due for review")
    own = consent.latest is not None and decided_by_self(consent.latest, user)
    if own and not reasons:
        alerts.append(SELF_DECIDED_ALERT)

    if reasons:
        return Decision(False, tuple(reasons), consent.latest, agreement, tuple(alerts))
    return Decision(True, (), consent.latest, agreement, tuple(alerts), own)


@dataclass(frozen=True)
class SessionEnd:
    """When and how an open session ended without its nurse closing it."""

    at: datetime
    kind: CloseKind  # AUTO_CLOSED at its time limit, or ENDED when the rules stopped allowing it
    reasons: tuple[Reason, ...] = ()


def session_end(
    staff: Staff,
    record: ResidentRecord,
    purpose: Purpose,
    justification: str,
    opened_at: datetime,
    limit: timedelta,
    now: datetime,
    *,
    change_written: bool = False,
) -> SessionEnd | None:
    """Whether a session opened at `opened_at` may go on at `now`; if not, when and why it ended.

    A session holds only while the rules that let it open hold. A change written since (a
    withdrawal, objection, discharge, deactivation) ends it at the moment it is written, and so
    does everything that fails just after a change (`change_written`). A registration, agreement
    or consent whose last day has passed, or a discharge set for a time now reached, ends it at
    that moment, whenever the app next looks. The time limit ends it first if it came first.
    """
    over = opened_at + limit
    decision = decide(staff, Role.NURSE, record, purpose, justification, now)
    if decision.allowed:
        return SessionEnd(over, CloseKind.AUTO_CLOSED) if over <= now else None
    ran_out = (
        now if change_written else _ran_out(r, staff, record, decision, opened_at, now)
        for r in decision.reasons
    )
    at = min(max(opened_at, min(ran_out)), now)
    if over <= at:
        return SessionEnd(over, CloseKind.AUTO_CLOSED)
    return SessionEnd(at, CloseKind.ENDED, decision.reasons)


def _ran_out(
    reason: Reason,
    staff: Staff,
    record: ResidentRecord,
    decision: Decision,
    opened_at: datetime,
    now: datetime,
) -> datetime:
    """When a rule that held at opened_at stopped holding by itself: the end of a last day, or
    a discharge time reached. Anything else changed when it was written: now."""
    if reason.code is ReasonCode.NMC_EXPIRED and staff.nmc_expires_on is not None:
        return day_end(staff.nmc_expires_on)
    if (
        reason.code is ReasonCode.CONSENT_EXPIRED
        and decision.consent
        and decision.consent.expires_on
    ):
        return day_end(decision.consent.expires_on)
    if reason.code in (ReasonCode.NO_AGREEMENT, ReasonCode.PURPOSE):
        opened_on = uk_date(opened_at)
        ends = [
            day_end(a.ends_on) for a in record.agreements if a.ends_on and a.in_force_on(opened_on)
        ]
        return max(ends, default=now)
    if reason.code is ReasonCode.NOT_RESIDENT:
        left = [s.discharged_at for s in record.stays if s.covers(opened_at) and s.discharged_at]
        return max(left, default=now)
    return now


# The words each reason has been given since the first release, for refusals stored before
# their codes were (schema 8): a text that matches none is ReasonCode.OTHER.
_WORDING = (
    (ReasonCode.ROLE, r"working as .+, not as a registered nurse"),
    (ReasonCode.ROLE_NOT_HELD, r".+ does not hold the \w+ role"),
    (ReasonCode.ACCOUNT_INACTIVE, r"the staff account is deactivated"),
    (ReasonCode.NMC_MISSING, r"no NMC PIN is recorded"),
    (ReasonCode.NMC_UNCHECKED, r"the NMC registration check is not recorded"),
    (ReasonCode.NMC_EXPIRED, r"the NMC registration is not current"),
    (ReasonCode.NOT_RESIDENT, r"not currently resident.*"),
    (ReasonCode.NO_AGREEMENT, r"no data sharing agreement with the GP practice is in force"),
    (ReasonCode.PURPOSE, r"the agreement does not cover the purpose .+"),
    (ReasonCode.JUSTIFICATION, r"a justification of at least \d+ characters.*"),
    (ReasonCode.NO_CONSENT, r"no consent decision is recorded"),
    (ReasonCode.CONSENT_EXPIRED, r"consent expired.*"),
    (ReasonCode.CONSENT_REFUSED, r"consent was refused by .+"),
    (ReasonCode.CONSENT_OBJECTION, r"an objection was recorded from .+"),
    (ReasonCode.CONSENT_WITHDRAWN, r"consent was withdrawn by .+"),
)


def reason_code_of(text: str) -> ReasonCode:
    """The code of a refusal reason known only by its words."""
    return next(
        (code for code, words in _WORDING if re.fullmatch(words, text, re.DOTALL)),
        ReasonCode.OTHER,
    )
