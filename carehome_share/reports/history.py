"""A resident's access history, for a subject access request: who opened their GP record, when,
why and on what consent; every refusal and call; their consent decisions and stays; and the other
recorded events about them, including earlier copies of this document."""

from typing import BinaryIO

from reportlab.platypus import Flowable

from carehome_share.domain.consent import in_order_made, late_note
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import ConsentDecision
from carehome_share.reports.page import (
    LANDSCAPE,
    TITLE,
    Letterhead,
    build,
    bullets,
    chain_head,
    facts,
    heading,
    para,
    spacer,
    uk_day,
    uk_time,
)
from carehome_share.reports.rows import (
    contact_columns,
    contact_row,
    decided_by_text,
    decision_text,
    refusal_columns,
    refusal_row,
    session_columns,
    session_row,
)
from carehome_share.reports.signature import signer_of
from carehome_share.reports.table import Column, Row, table
from carehome_share.services.reports import ResidentHistory


def _capacity(c: ConsentDecision) -> str:
    """The capacity assessment as the form records it: the outcome, the two stages, the help
    given, who assessed and when ("-" when none is recorded)."""
    outcome = "Lacks capacity" if c.lacks_capacity else "Has capacity" if c.has_capacity else ""
    if not outcome:
        return "-"
    when = f" (assessed {uk_day(c.capacity_assessed_on)})" if c.capacity_assessed_on else ""
    stage_1 = "" if c.impairment is None else "yes" if c.impairment else "no"
    lines = [
        f"{outcome}{when}" + (f": {c.capacity_assessment}" if c.capacity_assessment else ""),
        stage_1
        and "Impairment of mind or brain: "
        + (f"{stage_1}, {c.impairment_detail}" if c.impairment_detail else stage_1),
        c.unable_to and "Unable to: " + ", ".join(a.value for a in c.unable_to),
        c.support_steps and f"Help given: {c.support_steps}",
        c.capacity_assessed_by and f"Assessed by {c.capacity_assessed_by}",
    ]
    return "\n".join(line for line in lines if line)


def _consent_rows(history: ResidentHistory) -> list[Row]:
    rows = []
    for c in in_order_made(history.consents):
        by = decided_by_text(c.decided_by, c.representative_name)
        for extra in (
            c.representative_relationship,
            c.authority_reference and f"Ref. {c.authority_reference}",
            c.lpa_registered_on and f"LPA registered {uk_day(c.lpa_registered_on)}",
            c.authority_seen_on and f"Document seen {uk_day(c.authority_seen_on)}",
            c.authority_seen_by and f"Seen by {c.authority_seen_by}",
        ):
            by += f"\n{extra}" if extra else ""
        capacity = _capacity(c)
        notes = [
            c.people_consulted and f"Consulted: {c.people_consulted}",
            c.known_wishes and f"Known wishes: {c.known_wishes}",
            c.reason and f"Reason: {c.reason}",
            c.witness and f"Witness: {c.witness}",
            c.review_on and f"Review by {uk_day(c.review_on)}",
            c.expires_on and f"Valid until {uk_day(c.expires_on)} (its last day)",
        ]
        rows.append(
            Row(
                [
                    uk_day(c.decided_on),
                    c.kind.value.capitalize(),
                    by,
                    capacity,
                    "\n".join(n for n in notes if n) or "-",
                    f"{c.recorded_by}\n{uk_time(c.recorded_at)}"
                    + (f"\n{late_note(c).upper()}" if c.entered_late else ""),
                ]
            )
        )
    return rows


_OUTCOMES = {"allowed": "Done", "denied": "Refused"}
_DOCUMENTS = {
    "gp_access_report": "GP access report (PDF)",
    "fhir_bundle": "Data export (FHIR), for the practice",
}


def _article_15(history: ResidentHistory) -> list[Flowable]:
    """What a response to a subject access request must also say (UK GDPR Article 15(1))."""
    home = history.printed.home_name
    practice = history.practice.name if history.practice else "the resident's GP practice"
    return [
        *heading("Your right of access: what the home does with this information"),
        *bullets(
            [
                f"Who holds it: {home} is the controller of this record of access.",
                "Why: so that nurses can check the GP record for your care (medication checks, "
                "clinical assessments, hospital admission and discharge, care-plan reviews), "
                "only with your consent or a lawful decision made for you, and so that every "
                "look can be checked afterwards.",
                f"Who receives it: {practice}, in the access reports and data exports it is "
                "sent to review the home's access; nobody else, unless the law requires it.",
                "How long it is kept: the access log cannot be edited or deleted, and is kept "
                "while the home keeps your care record, as the home's retention schedule says "
                "(commonly 8 years after care ends).",
                "Your rights: to a copy (this document), to have wrong information corrected, "
                "to object, and to withdraw consent at any time (tell the manager; access "
                "stops from then). Access also stops when you leave the home.",
                "Where it came from: the home's own staff, recorded as they worked.",
                "To complain: first to the home's manager; you may also complain to the "
                "Information Commissioner's Office, ico.org.uk/make-a-complaint, 0303 123 1113.",
            ]
        ),
    ]


def _story(history: ResidentHistory) -> list[Flowable]:
    r = history.resident
    practice = history.practice
    return [
        para(f"GP record access history: {r.full_name}", TITLE),
        facts(
            [
                ("Resident", r.full_name),
                ("NHS number", format_nhs_number(r.nhs_number)),
                ("Date of birth", uk_day(r.date_of_birth)),
                ("Room", r.room or "-"),
                ("GP practice", f"{practice.name} ({practice.ods_code})" if practice else "-"),
                ("Prepared by", f"{history.printed.by} at {history.printed.home_name}"),
            ]
        ),
        spacer(),
        *bullets(
            [
                "Everything the home has recorded about access to this person's GP record, for a "
                "subject access request: each time a nurse opened it, why, what they viewed and "
                "the consent in force at that moment; each refused attempt and each call made to "
                "the GP practice instead.",
                "This covers access to the GP record only. The rest of the care record (care "
                "plans, daily notes, medicines given at the home) is not in it: ask the home for "
                "it separately if you want it.",
                "Times are UK local time. Rows marked (!) and shaded need a second look: "
                "AUTO-CLOSED means the nurse left the record open and the app closed it after "
                f"the time limit; LONG means it was open for more than {history.long_minutes} "
                "minutes; ENDED means the app closed it when the rules stopped allowing it (a "
                "consent withdrawn, a discharge); a refused attempt is one where the app did not "
                'open the record, with what was missing. "Sections viewed" are what the nurse '
                "recorded looking at.",
            ]
        ),
        *_article_15(history),
        spacer(),
        chain_head(history.head.seq, history.head.hash),
        *heading("Stays at the home"),
        table(
            [Column("Kind", 0.15), Column("Admitted", 0.2), Column("Discharged", 0.2)],
            (
                Row(
                    [
                        s.kind.value.replace("_", " "),
                        uk_time(s.admitted_at),
                        uk_time(s.discharged_at, "still here"),
                    ]
                )
                for s in history.stays
            ),
            "No stay is recorded.",
        ),
        *heading("Consent decisions, in the order decided (the last decided stands)"),
        table(
            [
                Column("Decided on", 0.08),
                Column("Decision", 0.08),
                Column("By", 0.2),
                Column("Capacity", 0.22),
                Column("Details", 0.29),
                Column("Recorded by", 0.13),
            ],
            _consent_rows(history),
            "No consent decision is recorded.",
        ),
        *heading("Times the GP record was opened"),
        table(
            session_columns(with_resident=False),
            (session_row(s, history.long_minutes, with_resident=False) for s in history.sessions),
            "The GP record was never opened.",
        ),
        *heading("Refused attempts"),
        table(
            refusal_columns(with_resident=False),
            (
                refusal_row(f, f.id in history.followed_up, with_resident=False)
                for f in history.refusals
            ),
            "No attempt was refused.",
        ),
        *heading("Calls to the GP practice instead"),
        table(
            contact_columns(with_resident=False),
            (contact_row(c, with_resident=False) for c in history.contacts),
            "No call to the GP practice is recorded.",
        ),
        *heading("Sent to the GP practice"),
        para(
            "The GP access reports printed and the data exports made for the resident's GP "
            "practice that cover a day on which their record was opened, an attempt was "
            "refused, the practice was called about them or a consent decision was made: each "
            "carries those records to the practice."
        ),
        table(
            [
                Column("Entry", 0.07),
                Column("When", 0.12),
                Column("What", 0.3),
                Column("Period covered", 0.2),
                Column("Made by", 0.25),
            ],
            (
                Row(
                    [
                        str(d.seq),
                        uk_time(d.at),
                        _DOCUMENTS[d.document],
                        f"{uk_day(d.first_day)} to {uk_day(d.last_day)}",
                        d.actor_name,
                    ]
                )
                for d in history.disclosures
            ),
            "Nothing about this resident has been sent to the GP practice.",
        ),
        *heading("Requests for their information from others (disclosures)"),
        table(
            [
                Column("Received", 0.08),
                Column("From", 0.2),
                Column("Asked for, and why", 0.3),
                Column("Decision", 0.42),
            ],
            (
                Row(
                    [
                        uk_day(r.received_on),
                        f"{r.requester.label}\n{r.organisation}\n{r.person}",
                        f"{r.asked}\nWhy: {r.why}",
                        "\n\n".join(decision_text(d) for d in r.decisions) or "Awaiting a decision",
                    ]
                )
                for r in history.requests
            ),
            "No one outside the home has asked for this resident's information.",
        ),
        *heading("Other recorded events about this resident"),
        table(
            [
                Column("Entry", 0.07),
                Column("When", 0.12),
                Column("Who", 0.3),
                Column("What", 0.3),
                Column("Outcome", 0.1),
            ],
            (
                Row(
                    [
                        str(e.seq),
                        uk_time(e.at),
                        f"{e.actor_name} ({e.actor_role})",
                        e.action.replace("_", " ").capitalize(),
                        _OUTCOMES.get(e.outcome, e.outcome),
                    ]
                )
                for e in history.events
            ),
            "No other event is recorded.",
        ),
    ]


def write_resident_history(history: ResidentHistory, out: BinaryIO) -> int:
    head = Letterhead(
        history.printed.home_name,
        f"GP record access history: {history.resident.full_name}",
        history.printed.at,
        signer=signer_of(history.printed),
    )
    return build(out, head, _story(history), LANDSCAPE)
