"""The consent register: each resident with the consent decision in force today, who gave it,
and when it is due for review; the residents without consent in force stand out."""

from collections.abc import Iterator
from typing import BinaryIO

from carehome_share.domain.consent import late_note, overtaken_note
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import ConsentDecision, ConsentKind
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
from carehome_share.reports.rows import LONG, REFUSED, decided_by_text
from carehome_share.reports.signature import signer_of
from carehome_share.reports.table import Column, Row, table
from carehome_share.services.reports import ConsentRegister, RegisterEntry

_COLUMNS = [
    Column("Resident", 0.15),
    Column("NHS number", 0.08),
    Column("Room", 0.05),
    Column("GP practice", 0.12),
    Column("Consent in force", 0.06),
    Column("Decision that stands", 0.10),
    Column("Made by", 0.14),
    Column("Review by", 0.07),
    Column("Valid until", 0.07),
    Column("Needs attention", 0.16),
]


def _row(entry: RegisterEntry, include_former: bool) -> Row:
    line, state = entry
    latest = state.latest
    attention = state.problem.text if state.problem else ""
    if state.review_due:
        attention = "review due"
    attention = "\n".join(note for note in (attention, overtaken_note(state)) if note)
    made_by = decided_by_text(latest.decided_by, latest.representative_name) if latest else "-"
    granted = latest is not None and latest.kind is ConsentKind.GRANTED
    here = "" if line.current or not include_former else "\n(not resident now)"
    return Row(
        [
            f"{line.name}{here}",
            format_nhs_number(line.nhs_number),
            line.room or "-",
            line.practice_name,
            "Yes" if state.in_force else "NO",
            _decision(latest) if latest else "None",
            made_by,
            uk_day(latest.review_on) if granted and latest else "-",
            uk_day(latest.expires_on) if granted and latest else "-",
            attention or "-",
        ],
        REFUSED if not state.in_force else LONG if state.review_due else None,
    )


def _decision(latest: ConsentDecision) -> str:
    made = f"{latest.kind.value.capitalize()} {uk_day(latest.decided_on)}"
    return f"{made}\n({late_note(latest)})" if latest.entered_late else made


def _rows(register: ConsentRegister) -> Iterator[Row]:
    for entry in register.entries:
        yield _row(entry, register.include_former)


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
                "objection or withdrawal holds until a new consent is made. A consent is in force through the end of its last day "
                "(valid until), if it has one; a review date only asks for a review.",
                "Highlighted: no consent in force (red, GP records may not be opened), review due "
                "(yellow).",
            ]
        ),
        spacer(),
        table(_COLUMNS, _rows(register), "No resident is listed."),
        spacer(),
        chain_head(register.head.seq, register.head.hash),
    ]
    return build(out, head, story, LANDSCAPE)
