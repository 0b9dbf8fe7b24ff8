"""The disclosure register: every one-off request for residents' information received in a
period, who asked and why, the checks made, and each decision with its reasons and what was
disclosed (the seventh golden rule of information sharing). For the IG lead and the inspector."""

from collections.abc import Iterator
from typing import BinaryIO

from carehome_share.domain.disclosure import DisclosureRequest
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import Resident
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
from carehome_share.reports.rows import LONG, REFUSED, decision_text
from carehome_share.reports.signature import signer_of
from carehome_share.reports.table import Column, Row, table
from carehome_share.services.reports import DisclosureRegister

_COLUMNS = [
    Column("No. / received", 0.08),
    Column("From", 0.14),
    Column("About", 0.12),
    Column("Asked for, and why", 0.19),
    Column("Basis claimed; checks", 0.14),
    Column("Decisions, reasons, what was disclosed", 0.33),
]


def _about(request: DisclosureRequest, residents: dict[int, Resident]) -> str:
    named = [residents[rid] for rid in request.resident_ids if rid in residents]
    return "\n".join(f"{r.full_name}\nNHS {format_nhs_number(r.nhs_number)}" for r in named)


def _checks(request: DisclosureRequest) -> str:
    identity = (
        f"Identity: {request.identity_check}" if request.identity_check else "Identity NOT verified"
    )
    kept = f" (kept: {request.document_name})" if request.document_name else ""
    writing = f"In writing{kept}" if request.in_writing else "NOT in writing"
    return f"{request.basis.label}\n{identity}\n{writing}"


def _row(request: DisclosureRequest, residents: dict[int, Resident]) -> Row:
    decided = request.decision
    due = f"\ndue {uk_day(request.due_on)}" if request.due_on else ""
    reference = f"\nref. {request.reference}" if request.reference else ""
    decisions = "\n\n".join(decision_text(d) for d in request.decisions)
    if decided is None:
        decisions = (decisions + "\n\n" if decisions else "") + "AWAITING A DECISION"
    return Row(
        [
            f"{request.id}\n{uk_day(request.received_on)}{due}",
            f"{request.requester.label}\n{request.organisation}\n{request.person}{reference}",
            _about(request, residents),
            f"{request.asked}\n\nWhy: {request.why}",
            _checks(request),
            decisions,
        ],
        LONG if decided is None else REFUSED if not decided.outcome.discloses else None,
    )


def _rows(register: DisclosureRegister) -> Iterator[Row]:
    for request in register.requests:
        yield _row(request, register.residents)


def write_disclosure_register(register: DisclosureRegister, out: BinaryIO) -> int:
    period = f"{uk_day(register.first_day)} to {uk_day(register.last_day)}"
    head = Letterhead(
        register.printed.home_name,
        f"Disclosure register, {period}",
        register.printed.at,
        signer=signer_of(register.printed),
    )
    decided = [r.decision for r in register.requests if r.decision is not None]
    disclosed = sum(1 for d in decided if d.outcome.discloses)
    story = [
        para(f"Disclosure register: requests received {period}", TITLE),
        facts(
            [
                ("Requests received", str(len(register.requests))),
                ("Disclosed (in full or in part)", str(disclosed)),
                ("Refused", str(len(decided) - disclosed)),
                ("Awaiting a decision", str(register.undecided)),
                ("Prepared by", f"{register.printed.by} at {register.printed.home_name}"),
            ]
        ),
        *bullets(
            [
                "One-off requests from outside the data sharing agreement with the GP practices "
                "(police, councils, solicitors, relatives, insurers and others). Each is decided "
                "by the registered manager or the information governance lead, on the "
                "requester's verified identity and a written request, unless someone's life was "
                "at risk (the reason is then shown).",
                "Every decision, to share or not, is listed with its reasons and exactly what was "
                "disclosed, how and when. Each step is an entry in the home's audit log.",
                "Shaded: awaiting a decision (yellow), refused (red). The words in each row say "
                "the same for a black-and-white printer.",
            ]
        ),
        spacer(),
        table(_COLUMNS, _rows(register), "No request was received in this period.", size=8),
        spacer(),
        chain_head(register.head.seq, register.head.hash),
    ]
    return build(out, head, story, LANDSCAPE)
