"""One-off requests for residents' information, through the services with an explicit clock: the
ICO's good practice (identity verified, the request in writing, a trained person deciding, the
reasons kept for every decision) enforced, every step audited and bound to the chain."""

import io
from datetime import date

import pytest

from carehome_share.domain.disclosure import LawfulBasis, Outcome, statutory_due
from carehome_share.domain.errors import PermissionDenied, ValidationError
from carehome_share.domain.model import Resident
from carehome_share.reports.disclosure_register import write_disclosure_register
from carehome_share.reports.history import write_resident_history
from carehome_share.services import disclosures, exceptions, reports
from carehome_share.store import audit
from tests.conftest import Clock
from tests.factories import ODS, Home
from tests.test_fhir import assert_valid_r4, export, resources
from tests.test_reports import flat, pages_of


def debt_collector(home: Home, resident: Resident) -> int:
    return disclosures.log_request(
        home.ctx,
        requester="debt_collector",
        organisation="Swift Recoveries Ltd",
        person="J. Chase",
        resident_ids=[resident.id],
        asked="Current address and date of birth, and whether she has capacity to manage money",
        why="An unpaid mobile phone contract",
        basis="none",
        identity_check="Letter on headed paper; company number checked at Companies House",
        in_writing=True,
    ).id


def police(home: Home, resident: Resident, *, checked: str = "", writing: bool = False) -> int:
    return disclosures.log_request(
        home.ctx,
        requester="police",
        organisation="Anyshire Police",
        person="DC Sam Patel",
        reference="CRIME/2026/4411",
        resident_ids=[resident.id],
        asked="Dates of the resident's stay and the names of staff on duty on 14/11/2026, and "
        "the incident log for that night",
        why="Investigating a theft from the resident's room",
        basis="crime",
        identity_check=checked,
        in_writing=writing,
    ).id


def three_requests(home: Home) -> Resident:
    """A resident asked about three times: the debt collector refused, the police given part of
    what they asked for, and the police asking again, not yet decided."""
    resident = home.add_resident()
    refused = debt_collector(home, resident)
    disclosures.decide(home.ctx, refused, "refuse", reasons="No lawful basis for a debt")
    shared = police(home, resident, checked="Warrant card seen", writing=True)
    disclosures.decide(
        home.ctx,
        shared,
        "disclose_part",
        reasons="Crime exemption; other residents' details withheld",
        disclosed="Admission date and the night's staff rota",
        sent_how="Secure email",
    )
    police(home, resident)
    return resident


def last_entry(home: Home) -> audit.AuditEntry:
    return audit.entries(home.ctx.conn, last=1)[0]


def test_a_debt_collector_with_no_lawful_basis_is_refused_with_the_reason_kept(home: Home) -> None:
    resident = home.add_resident()
    request_id = debt_collector(home, resident)
    logged = last_entry(home)
    assert (logged.action, logged.resident_id) == ("log_disclosure_request", resident.id)

    with pytest.raises(ValidationError, match="a lawful basis to disclose on") as refused:
        disclosures.decide(
            home.ctx, request_id, "disclose", reasons="They asked nicely", disclosed="Address"
        )
    assert refused.value.field == "basis"
    decided = disclosures.decide(
        home.ctx,
        request_id,
        "refuse",
        reasons="No lawful basis: a debt is not a reason to share health or care information, "
        "and she has not consented",
    )
    assert decided.decision is not None and decided.decision.outcome is Outcome.REFUSE
    assert decided.decision.decided_by == "Mary Manager"
    entry = last_entry(home)
    assert (entry.action, entry.outcome) == ("decide_disclosure", "allowed")
    assert entry.details["outcome"] == "refuse" and "No lawful basis" in entry.details["reasons"]
    assert "disclosed" not in entry.details
    assert audit.verify(home.ctx.vault).ok  # every row written is bound to its entry


def test_a_police_request_under_the_crime_exemption_is_disclosed_in_part(home: Home) -> None:
    resident = home.add_resident()
    request_id = police(home, resident)
    # asked for more first: not verified, not in writing
    with pytest.raises(ValidationError, match="identity is not verified and the request is not"):
        disclosures.decide(
            home.ctx, request_id, "disclose_part", reasons="Needed", disclosed="Dates of stay",
            sent_how="Secure email",
        )  # fmt: skip
    disclosures.decide(
        home.ctx, request_id, "ask_more", reasons="Asked for the request on force letterhead"
    )
    disclosures.record_checks(
        home.ctx,
        request_id,
        identity_check="Warrant card seen; called the force switchboard to confirm DC Patel",
        in_writing=True,
    )
    decided = disclosures.decide(
        home.ctx,
        request_id,
        "disclose_part",
        reasons="Crime exemption applies to the stay dates and staff rota; the incident log "
        "names other residents and is withheld until a court order",
        disclosed="Admission date 01/11/2026; staff rota for the night of 14/11/2026",
        sent_how="Secure email to the force's cjsm.net address",
        sent_on="2026-11-21",
    )
    assert [d.outcome for d in decided.decisions] == [Outcome.ASK_MORE, Outcome.DISCLOSE_PART]
    assert decided.decision is not None and "staff rota" in decided.decision.disclosed
    entry = last_entry(home)
    assert entry.details["basis"] == "crime"
    assert entry.details["disclosed"].startswith("Admission date 01/11/2026")
    actions = [e.action for e in audit.entries(home.ctx.conn) if e.details.get("request_id")]
    assert actions == [
        "log_disclosure_request",
        "decide_disclosure",
        "update_disclosure_request",
        "decide_disclosure",
    ]
    with pytest.raises(ValidationError, match="request 1 is already decided"):
        disclosures.decide(home.ctx, request_id, "refuse", reasons="Changed my mind")
    assert audit.verify(home.ctx.vault).ok


def test_an_emergency_under_vital_interests_may_go_before_the_checks_with_its_reason(
    home: Home,
) -> None:
    resident = home.add_resident()
    request_id = disclosures.log_request(
        home.ctx,
        requester="other",
        organisation="North West Ambulance Service",
        person="Paramedic on scene at the resident's daughter's house",
        resident_ids=[resident.id],
        asked="Current medication and allergies",
        why="The resident collapsed on a visit out; the crew needs her medicines list",
        basis="vital_interests",
    ).id
    with pytest.raises(ValidationError) as missing:
        disclosures.decide(
            home.ctx, request_id, "disclose", reasons="Life at risk", disclosed="MAR chart",
            sent_how="Read out by phone",
        )  # fmt: skip
    assert missing.value.field == "emergency"
    decided = disclosures.decide(
        home.ctx,
        request_id,
        "disclose",
        reasons="Life at risk",
        emergency="Unconscious, crew on scene; no time to verify in writing. Called back on "
        "999 control's number to confirm the crew",
        disclosed="Medication administration record and allergy list",
        sent_how="Read out by phone to the crew",
    )
    assert decided.decision is not None and decided.decision.emergency.startswith("Unconscious")


def test_whoever_receives_a_request_logs_it_only_deciders_see_and_decide(home: Home) -> None:
    resident = home.add_resident()
    nurse = home.add_nurse()
    ig_lead = home.add_staff(["ig_lead"])
    home.log_in(nurse)
    request_id = debt_collector(home, resident)
    for attempt in (
        lambda: disclosures.decide(home.ctx, request_id, "refuse", reasons="No basis"),
        lambda: disclosures.list_requests(home.ctx),
    ):
        with pytest.raises(PermissionDenied, match="information governance lead"):
            attempt()
        assert last_entry(home).outcome == "denied"
    home.log_in(ig_lead)
    assert [r.id for r in disclosures.list_requests(home.ctx)] == [request_id]
    disclosures.decide(home.ctx, request_id, "refuse", reasons="No lawful basis")
    assert last_entry(home).actor_role == "ig_lead"


def test_a_subject_access_request_is_due_within_a_month_and_named_when_late(
    home: Home, clock: Clock
) -> None:
    assert statutory_due(LawfulBasis.SUBJECT_ACCESS, date(2027, 1, 31)) == date(2027, 2, 28)
    assert statutory_due(LawfulBasis.SUBJECT_ACCESS, date(2026, 12, 15)) == date(2027, 1, 15)
    assert statutory_due(LawfulBasis.CRIME, date(2026, 12, 15)) is None
    resident = home.add_resident()
    request = disclosures.log_request(
        home.ctx,
        requester="resident",
        organisation="Private individual",
        person="The resident's son, under a property and affairs LPA",
        resident_ids=[resident.id],
        asked="A copy of her care records",
        why="Subject access request",
        basis="subject_access",
        received_on="2026-11-02",
    )
    assert request.due_on == date(2026, 12, 2)
    clock.set("2026-12-05T10:00:00")
    (item,) = [a for a in exceptions.needing_attention(home.ctx) if a.kind == "disclosure"]
    assert "reply overdue by 3 days (02/12/2026), not decided yet" in item.text
    assert item.resident_id == resident.id


def test_a_request_left_waiting_is_listed_after_the_setting(home: Home, clock: Clock) -> None:
    resident = home.add_resident()
    debt_collector(home, resident)
    clock.set("2026-11-27T10:00:00")  # six days
    assert not [a for a in exceptions.needing_attention(home.ctx) if a.kind == "disclosure"]
    clock.set("2026-11-28T10:00:00")
    (item,) = [a for a in exceptions.needing_attention(home.ctx) if a.kind == "disclosure"]
    assert "received 21/11/2026, is waiting for a decision" in item.text


def test_the_written_request_is_kept_inside_the_database_and_reading_it_is_audited(
    home: Home,
) -> None:
    resident = home.add_resident()
    request_id = police(home, resident, checked="Warrant card seen")
    letter = b"%PDF-1.4 a letter on force letterhead"
    kept = disclosures.attach_request_document(home.ctx, request_id, "police-letter.pdf", letter)
    assert kept.in_writing and kept.document_name == "police-letter.pdf"
    assert disclosures.request_document(home.ctx, request_id) == ("police-letter.pdf", letter)
    assert last_entry(home).details["document"] == "police-letter.pdf"
    too_big = b"x" * (disclosures.MAX_DOCUMENT_BYTES + 1)
    with pytest.raises(ValidationError, match="at most 5 MB"):
        disclosures.attach_request_document(home.ctx, request_id, "scan.tiff", too_big)
    assert audit.verify(home.ctx.vault).ok


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resident_ids": []}, "resident_ids"),
        ({"resident_ids": [999]}, "resident_id"),
        ({"basis": "because"}, "basis"),
        ({"requester": "journalist"}, "requester"),
        ({"asked": "  "}, "asked"),
        ({"received_on": "2026-12-01"}, "received_on"),
    ],
)
def test_a_bad_request_names_the_field_and_writes_nothing(
    home: Home, change: dict[str, object], field: str
) -> None:
    resident = home.add_resident()
    given: dict[str, object] = {
        "requester": "solicitor",
        "organisation": "Smith & Co",
        "person": "A. Smith",
        "resident_ids": [resident.id],
        "asked": "Her will",
        "why": "Probate",
        "basis": "consent",
        **change,
    }
    before = len(audit.entries(home.ctx.conn))
    with pytest.raises(ValidationError) as error:
        disclosures.log_request(home.ctx, **given)  # type: ignore[arg-type]
    assert error.value.field == field
    assert len(audit.entries(home.ctx.conn)) == before
    assert home.ctx.conn.execute("SELECT count(*) FROM disclosure_request").fetchone()[0] == 0


def test_the_register_and_the_residents_history_list_each_decision_with_what_was_disclosed(
    home: Home,
) -> None:
    resident = three_requests(home)
    out = io.BytesIO()
    reports.disclosure_register(
        home.ctx, "2026-11-01", "2026-11-30", lambda r: write_disclosure_register(r, out)
    )
    text = flat(pages_of(out.getvalue()))
    assert "Disclosure register: requests received 01/11/2026 to 30/11/2026" in text
    assert (
        "Requests received 3 Disclosed (in full or in part) 1 Refused 1 Awaiting a decision 1"
        in text
    )
    assert "REFUSED 21/11/2026 by Mary Manager" in text and "No lawful basis for a debt" in text
    assert (
        "DISCLOSED IN PART" in text
        and "Disclosed: Admission date and the night's staff rota" in text
    )
    assert "AWAITING A DECISION" in text and "Identity NOT verified" in text
    assert resident.full_name in text
    printed = last_entry(home)
    assert (printed.action, printed.details["document"]) == (
        "print_disclosure_register",
        "disclosure_register",
    )

    out = io.BytesIO()
    reports.resident_history(home.ctx, resident.id, lambda h: write_resident_history(h, out))
    history = flat(pages_of(out.getvalue()))
    assert "Requests for their information from others (disclosures)" in history
    assert "Swift Recoveries Ltd" in history and "Anyshire Police" in history
    assert "Awaiting a decision" in history


def test_the_fhir_export_of_every_practice_carries_each_decision_as_an_export_event(
    home: Home,
) -> None:
    resident = three_requests(home)  # the third, undecided, has nothing to export yet
    bundle = export(home.ctx, "2026-11-01", "2026-11-30")
    assert_valid_r4(bundle)
    events = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "AuditEvent"
        and e["resource"]["type"]["code"] == "110106"
    ]
    assert [(e["outcome"], e["purposeOfEvent"][0]["coding"][0]["code"]) for e in events] == [
        ("4", "none"),
        ("0", "crime"),
    ]
    shared_event = events[1]
    assert shared_event["agent"][0]["who"]["display"] == "DC Sam Patel, Anyshire Police"
    (entity,) = shared_event["entity"]
    assert entity["what"]["identifier"]["value"] == resident.nhs_number
    assert {
        "type": "disclosed",
        "valueString": "Admission date and the night's staff rota (sent: Secure email)",
    } in entity["detail"]
    one_practice = export(home.ctx, "2026-11-01", "2026-11-30", ODS)  # about the practice only
    assert not [r for r in resources(one_practice, "AuditEvent") if r["type"]["code"] == "110106"]
