"""The consent register: each resident with the consent decision in force today, who gave it,
and when it is due for review; the residents without consent in force stand out."""

from collections.abc import Iterator
from datetime import date
from typing import BinaryIO

from carehome_share.domain.consent import late_note, overtaken_note
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import ConsentDecision, ConsentKind, ReasonCode
from carehome_share.reports.page import (
    LANDSCAPE,
    TITLE,
    Letterhead,
    build,
    bullets,
    chain_head,
    facts,
    para,
    spacer,
    uk_day,
)
from carehome_share.reports.rows import FLAG, LONG, REFUSED, decided_by_text
from carehome_share.reports.signature import signer_of
from carehome_share.reports.table import Column, Row, table
from carehome_share.services.reports import ConsentRegister, RegisterEntry

_COLUMNS = [
    Column("Resident", 0.13),
    Column("NHS number", 0.09),
    Column("Room", 0.06),
    Column("GP practice", 0.11),
    Column("Consent in force", 0.09),
    Column("Decision that stands", 0.11),
    Column("Made by", 0.13),
    Column("Review by", 0.08),
    Column("Valid until", 0.08),
    Column("Needs attention", 0.12),
]


def _overdue(since: date, today: date) -> str:
    """How long ago a date passed, in the largest whole unit: "3 months", "12 days"."""
    days = (today - since).days
    months = (today.year - since.year) * 12 + today.month - since.month - (today.day < since.day)
    if months >= 1:
        return f"{months} month{'s' * (months != 1)}"
    return f"{days} day{'s' * (days != 1)}"


def _attention(entry: RegisterEntry, today: date) -> str:
    """What needs doing, in a few words: the decision itself is in its own columns."""
    state, agreement = entry.state, entry.agreement
    notes = []
    if not entry.agreement_in_force:
        notes.append(
            f"Agreement ended {uk_day(agreement.ends_on)}"
            if agreement and agreement.ends_on
            else "No agreement with the practice"
        )
    if state.problem is not None:
        expired = state.problem.code is ReasonCode.CONSENT_EXPIRED
        notes.append("Consent expired" if expired else "No consent")
    elif state.review_due and state.latest is not None and state.latest.review_on:
        notes.append(f"Review overdue by {_overdue(state.latest.review_on, today)}")
    return "\n".join(notes)


def _row(entry: RegisterEntry, include_former: bool, today: date) -> Row:
    line, state = entry.resident, entry.state
    latest = state.latest
    attention = "\n".join(
        note for note in (_attention(entry, today), overtaken_note(state)) if note
    )
    made_by = decided_by_text(latest.decided_by, latest.representative_name) if latest else "-"
    granted = latest is not None and latest.kind is ConsentKind.GRANTED
    here = "" if line.current or not include_former else "\n(not resident now)"
    closed = not state.in_force or not entry.agreement_in_force
    in_force = "Yes" if state.in_force else "NO"
    if state.in_force and not entry.agreement_in_force:
        in_force = "Yes, but may NOT open"
    return Row(
        [
            f"{FLAG} {line.name}{here}" if attention else f"{line.name}{here}",
            format_nhs_number(line.nhs_number),
            line.room or "-",
            line.practice_name,
            in_force,
            _decision(latest) if latest else "None",
            made_by,
            uk_day(latest.review_on) if granted and latest else "-",
            uk_day(latest.expires_on) if granted and latest else "-",
            attention or "-",
        ],
        REFUSED if closed else LONG if state.review_due else None,
    )


def _decision(latest: ConsentDecision) -> str:
    made = f"{latest.kind.value.capitalize()} {uk_day(latest.decided_on)}"
    return f"{made}\n({late_note(latest)})" if latest.entered_late else made


def _rows(register: ConsentRegister) -> Iterator[Row]:
    for entry in register.entries:
        yield _row(entry, register.include_former, register.today)


def write_consent_register(register: ConsentRegister, out: BinaryIO) -> int:
    who = "everyone ever resident" if register.include_former else "residents here today"
    head = Letterhead(
        register.printed.home_name,
        f"Consent register on {uk_day(register.today)}",
        register.printed.at,
        signer=signer_of(register.printed),
    )
    story = [
        para(f"Consent register on {uk_day(register.today)}", TITLE),
        facts(
            [
                ("Who is listed", who.capitalize()),
                ("Prepared by", f"{register.printed.by} at {register.printed.home_name}"),
            ]
        ),
        *bullets(
            [
                "The decision made last stands, however late it was entered: a refusal, "
                "objection or withdrawal holds until a new consent is made. A consent is in "
                "force through the end of its last day (valid until), if it has one; a review "
                "date only asks for a review.",
                "GP records may be opened only with a consent decision in force and a data "
                "sharing agreement in force with the resident's practice.",
                f"Rows marked {FLAG} need attention; shaded for colour prints: the GP record "
                "may not be opened (red), review overdue (yellow).",
            ]
        ),
        spacer(),
        table(_COLUMNS, _rows(register), "No resident is listed."),
        spacer(),
        chain_head(register.head.seq, register.head.hash),
    ]
    return build(out, head, story, LANDSCAPE)
