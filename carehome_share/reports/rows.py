"""Rows of sessions, refusals and calls, as the GP access report and a resident's access
history print them (the history leaves out the resident column), and the exception colours."""

from datetime import datetime

from reportlab.lib import colors

from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import Agreement, CloseKind, DecidedBy
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
# The mark on a session that stands on a best-interests decision its own nurse made.
DECIDED_BY_SELF = "DECIDED AND LOOKED: the nurse made this best-interests decision"


def decided_by_text(decided_by: DecidedBy, representative_name: str) -> str:
    """Who made a consent decision: "The resident", "Best-interests decision: Helen Carter"."""
    who = decided_by.label[0].upper() + decided_by.label[1:]
    return f"{who}: {representative_name}" if representative_name else who


def consent_text(basis: ConsentBasis | None) -> str:
    """The decision in force when the access was decided, and who made it."""
    if basis is None:
        return "None recorded"
    who = decided_by_text(basis.decided_by, basis.representative_name)
    return f"{basis.kind.value.capitalize()} {uk_day(basis.decided_on)}\n{who}"


def agreement_text(a: Agreement) -> str:
    ends = f"to {uk_day(a.ends_on)} (its last day)" if a.ends_on else "(no end date)"
    return (
        f"In force from {uk_day(a.starts_on)} {ends}; signed by {a.home_signatory} for the home and "
        f"{a.practice_signatory} for the practice. Purposes: "
        f"{', '.join(p.label.lower() for p in a.purposes)}. Parts of the record: "
        f"{', '.join(s.label.lower() for s in a.sections)}."
    )


def _at(instant: datetime) -> str:
    moment = uk_time(instant)
    return f"{moment[:10]}\n{moment[-5:]}"


def _resident(name: str, nhs_number: str, with_resident: bool) -> list[str]:
    return [f"{name}\n{format_nhs_number(nhs_number)}"] if with_resident else []


def _minutes(s: SessionLine, long_minutes: int) -> str:
    minutes = s.minutes
    if minutes is None:
        return "open"
    flag = "\nLONG" if s.close_kind is CloseKind.CLOSED and minutes > long_minutes else ""
    return f"{minutes:.0f}{flag}"


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
    minutes = s.minutes
    return LONG if minutes is not None and minutes > long_minutes else None


def session_columns(with_resident: bool = True) -> list[Column]:
    resident = [Column("Resident", 0.12)] if with_resident else []
    return [
        Column("No.", 0.04),
        Column("When", 0.075),
        Column("Min", 0.04),
        *resident,
        Column("Nurse, NMC PIN", 0.11),
        Column("Purpose", 0.085),
        Column("Justification", 0.19 if with_resident else 0.25),
        Column("Sections viewed", 0.12 if with_resident else 0.18),
        Column("How closed", 0.075),
        Column("Consent in force then", 0.145),
    ]


def session_row(s: SessionLine, long_minutes: int, with_resident: bool = True) -> Row:
    closed = f"-{uk_time(s.closed_at)[-5:]}" if s.closed_at else ""
    return Row(
        [
            str(s.id),
            f"{_at(s.opened_at)}{closed}",
            _minutes(s, long_minutes),
            *_resident(s.resident_name, s.nhs_number, with_resident),
            f"{s.nurse_name}\n{s.nmc_pin}",
            s.purpose.label,
            s.justification,
            ", ".join(x.label.lower() for x in s.sections) or "none ticked",
            _closed(s),
            consent_text(s.consent) + (f"\n{DECIDED_BY_SELF}" if s.decided_by_self else ""),
        ],
        _shade(s, long_minutes),
    )


def refusal_columns(with_resident: bool = True) -> list[Column]:
    resident = [Column("Resident", 0.12)] if with_resident else []
    return [
        Column("No.", 0.04),
        Column("When", 0.07),
        *resident,
        Column("Who tried", 0.12),
        Column("Purpose", 0.09),
        Column("Justification", 0.17 if with_resident else 0.22),
        Column("Why it was refused", 0.25 if with_resident else 0.32),
        Column("Consent then", 0.14),
    ]


def refusal_row(f: RefusalLine, with_resident: bool = True) -> Row:
    return Row(
        [
            str(f.id),
            _at(f.at),
            *_resident(f.resident_name, f.nhs_number, with_resident),
            f"{f.staff_name}\nas {f.role.label.lower()}",
            f.purpose.label,
            f.justification,
            "\n".join(f"- {r}" for r in f.reasons),
            consent_text(f.consent),
        ],
        REFUSED,
    )


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
