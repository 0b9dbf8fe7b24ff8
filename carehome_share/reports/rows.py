"""Rows of sessions, refusals and calls, as the GP access report and a resident's access
history print them (the history leaves out the resident column), decisions on disclosure
requests as the register and the history print them, and the exception colours."""

import re
from datetime import date, datetime

from reportlab.lib import colors

from carehome_share.domain.disclosure import DisclosureDecision
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import Agreement, CloseKind, DecidedBy
from carehome_share.domain.validation import uk_date
from carehome_share.reports.page import uk_day, uk_time
from carehome_share.reports.table import Column, Row
from carehome_share.store.report_queries import (
    ConsentBasis,
    ContactLine,
    RefusalLine,
    SessionLine,
)

AUTO_CLOSED = colors.HexColor("#FFD9A0")
ENDED = colors.HexColor("#E4DAF2")
LONG = colors.HexColor("#FFF1C9")
REFUSED = colors.HexColor("#F9D6D5")
# Shading is lost on a black-and-white printer: a flagged row also starts with this mark
FLAG = "(!)"
# The mark on a session that stands on a best-interests decision its own nurse made.
DECIDED_BY_SELF = "DECIDED AND LOOKED: the nurse made this best-interests decision"


def decided_by_text(decided_by: DecidedBy, representative_name: str) -> str:
    """Who made a consent decision: "The resident", "Best-interests decision: Helen Carter"."""
    who = decided_by.label[0].upper() + decided_by.label[1:]
    return f"{who}: {representative_name}" if representative_name else who


def review_overdue(basis: ConsentBasis | None, on: date) -> bool:
    """The consent's review date had passed on `on` (it stays in force: a review only alerts)."""
    return basis is not None and basis.review_on is not None and on >= basis.review_on


def consent_text(basis: ConsentBasis | None, at: datetime | None = None) -> str:
    """The decision in force when the access was decided, and who made it; with `at`, whether
    its review was overdue then, as the nurse was warned."""
    if basis is None:
        return "None recorded"
    who = decided_by_text(basis.decided_by, basis.representative_name)
    text = f"{basis.kind.value.capitalize()} {uk_day(basis.decided_on)}\n{who}"
    if at is not None and review_overdue(basis, uk_date(at)):
        text += f"\nREVIEW OVERDUE (due {uk_day(basis.review_on)})"
    return text


def agreement_text(a: Agreement, today: date) -> str:
    ends = f"to {uk_day(a.ends_on)} (its last day)" if a.ends_on else "(no end date)"
    review = ""
    if a.review_on:
        overdue = " - REVIEW OVERDUE" if today >= a.review_on else ""
        review = f" Review due {uk_day(a.review_on)}{overdue}."
    return (
        f"In force from {uk_day(a.starts_on)} {ends}; signed by {a.home_signatory} for the home and "
        f"{a.practice_signatory} for the practice. Purposes: "
        f"{', '.join(p.label.lower() for p in a.purposes)}. Parts of the record: "
        f"{', '.join(s.label.lower() for s in a.sections)}.{review}"
    )


def _at(instant: datetime) -> str:
    moment = uk_time(instant)
    return f"{moment[:10]}\n{moment[-5:]}"


def _resident(name: str, nhs_number: str, with_resident: bool) -> list[str]:
    return [f"{name}\n{format_nhs_number(nhs_number)}"] if with_resident else []


def _is_long(s: SessionLine, long_minutes: int) -> bool:
    minutes = s.minutes
    return s.close_kind is CloseKind.CLOSED and minutes is not None and minutes > long_minutes


def _minutes(s: SessionLine, long_minutes: int) -> str:
    """How long it was open, as minutes:seconds (15:04 is over 15 minutes, not 15)."""
    minutes = s.minutes
    if minutes is None:
        return "open"
    whole, seconds = divmod(round(minutes * 60), 60)
    flag = "\nLONG" if _is_long(s, long_minutes) else ""
    return f"{whole}:{seconds:02d}{flag}"


def _closed(s: SessionLine) -> str:
    if s.close_kind is CloseKind.AUTO_CLOSED:
        return "AUTO-CLOSED\nleft open"
    if s.close_kind is CloseKind.ENDED:
        return f"ENDED by a change: {s.close_reason}"
    return "Closed by\nthe nurse" if s.close_kind else "Still open"


def _shade(s: SessionLine, long_minutes: int) -> colors.Color | None:
    if s.close_kind is CloseKind.AUTO_CLOSED:
        return AUTO_CLOSED
    if s.close_kind is CloseKind.ENDED:
        return ENDED
    return LONG if _is_long(s, long_minutes) else None


def session_columns(with_resident: bool = True) -> list[Column]:
    resident = [Column("Resident", 0.12)] if with_resident else []
    return [
        Column("No.", 0.045),
        Column("When", 0.085),
        Column("Min:sec", 0.06),
        *resident,
        Column("Nurse, NMC PIN, workstation", 0.13),
        Column("Purpose", 0.085),
        Column("Justification", 0.14 if with_resident else 0.2),
        Column("Sections viewed (nurse's record)", 0.105 if with_resident else 0.165),
        Column("How closed", 0.08),
        Column("Consent in force then", 0.15),
    ]


def session_row(s: SessionLine, long_minutes: int, with_resident: bool = True) -> Row:
    closed = f"-{uk_time(s.closed_at)[-5:]}" if s.closed_at else ""
    shade = _shade(s, long_minutes)
    flagged = (
        shade is not None or s.decided_by_self or review_overdue(s.consent, uk_date(s.opened_at))
    )
    return Row(
        [
            f"{FLAG}\n{s.id}" if flagged else str(s.id),
            f"{_at(s.opened_at)}{closed}",
            _minutes(s, long_minutes),
            *_resident(s.resident_name, s.nhs_number, with_resident),
            f"{s.nurse_name}\n{s.nmc_pin}\nat {s.workstation}",
            s.purpose.label,
            s.justification,
            ", ".join(x.label.lower() for x in s.sections) or "none ticked",
            _closed(s),
            consent_text(s.consent, s.opened_at)
            + (f"\n{DECIDED_BY_SELF}" if s.decided_by_self else ""),
        ],
        shade,
    )


def refusal_columns(with_resident: bool = True) -> list[Column]:
    resident = [Column("Resident", 0.12)] if with_resident else []
    return [
        Column("No.", 0.045),
        Column("When", 0.085),
        *resident,
        Column("Who tried", 0.13),
        Column("Purpose", 0.09),
        Column("Justification", 0.14 if with_resident else 0.19),
        Column("Why it was refused", 0.2 if with_resident else 0.27),
        Column("Call to the practice", 0.09),
        Column("Consent then", 0.1 if with_resident else 0.13),
    ]


def refusal_row(f: RefusalLine, called: bool, nmc_pin: str = "", with_resident: bool = True) -> Row:
    """A refused attempt, flagged; `called`: a call to the practice followed it."""
    pin = f"\nNMC {nmc_pin}" if nmc_pin else ""
    return Row(
        [
            f"{FLAG}\n{f.id}",
            _at(f.at),
            *_resident(f.resident_name, f.nhs_number, with_resident),
            f"{f.staff_name}\nas {f.role.label.lower()}{pin}\nat {f.workstation}",
            f.purpose.label,
            f.justification,
            "\n".join(f"- {_as_happened(r)}" for r in f.reasons),
            "Yes" if called else "NONE LOGGED",
            consent_text(f.consent),
        ],
        REFUSED,
    )


_RULE_WORDING = re.compile(r"a justification of at least (\d+) characters")


def _as_happened(reason: str) -> str:
    """A refusal reason as what happened: the rule's wording, kept so in the log ("a
    justification of at least 10 characters"), reads as what was missing."""
    return _RULE_WORDING.sub(r"the justification given was shorter than \1 characters", reason)


def contact_columns(with_resident: bool = True) -> list[Column]:
    resident = [Column("Resident", 0.12)] if with_resident else []
    return [
        Column("No.", 0.04),
        Column("When", 0.07),
        *resident,
        Column("Called by", 0.11),
        Column("Spoke to", 0.13),
        Column("Why", 0.2 if with_resident else 0.26),
        Column("Outcome", 0.26 if with_resident else 0.32),
        Column("After refusal", 0.07),
    ]


def contact_row(c: ContactLine, with_resident: bool = True) -> Row:
    return Row(
        [
            str(c.id),
            _at(c.at),
            *_resident(c.resident_name, c.nhs_number, with_resident),
            c.staff_name,
            c.spoke_to,
            c.reason,
            c.outcome,
            f"No. {c.refusal_id}" if c.refusal_id else "-",
        ]
    )


def decision_text(d: DisclosureDecision) -> str:
    """A decision on a disclosure request: what, when, by whom, why, and what was shared."""
    lines = [
        f"{d.outcome.label.upper()} {uk_day(uk_date(d.decided_at))} by {d.decided_by}",
        f"Basis: {d.basis.label}",
        f"Reasons: {d.reasons}",
    ]
    if d.emergency:
        lines.append(f"Before the checks, because: {d.emergency}")
    if d.outcome.discloses:
        sent = f" on {uk_day(d.sent_on)}" if d.sent_on else ""
        lines += [f"Disclosed: {d.disclosed}", f"Sent: {d.sent_how}{sent}"]
    return "\n".join(lines)
