"""The access decision and the consent rules, on hand-built records with the clock passed in.

The defaults describe an access that is allowed; each test changes one thing (or a few) and checks
that exactly the matching reason codes come back.
"""

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from carehome_share.domain.consent import check_consent_decision, consent_state
from carehome_share.domain.errors import ValidationError
from carehome_share.domain.identifiers import nhs_numbers_in_test_range
from carehome_share.domain.model import (
    Ability,
    Agreement,
    ConsentDecision,
    ConsentKind,
    DecidedBy,
    Decision,
    Purpose,
    ReasonCode,
    Resident,
    ResidentRecord,
    Role,
    Section,
    Staff,
    Stay,
    StayKind,
)
from carehome_share.domain.rules import MIN_JUSTIFICATION, decide, reason_code_of

# A winter morning: UK time is UTC, so the UK date is the UTC date.
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 21)
JUSTIFICATION = "Checking medication before the round"
NEGATIVE_KINDS = [k for k in ConsentKind if k is not ConsentKind.GRANTED]
_ids = itertools.count(1)


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


def nurse(**changes: Any) -> Staff:
    """A current registered nurse (NMC checked in January 2026, valid until September 2027)."""
    base = Staff(
        id=1,
        username="nina",
        full_name="Nina Nurse",
        roles=frozenset({Role.NURSE}),
        active=True,
        nmc_pin="12A3456E",
        nmc_checked_on=date(2026, 1, 5),
        nmc_expires_on=date(2027, 9, 30),
    )
    return replace(base, **changes)


RESIDENT = Resident(
    id=7,
    nhs_number=next(nhs_numbers_in_test_range()),
    given_name="Edith",
    family_name="Example",
    date_of_birth=date(1938, 5, 17),
    practice_id=3,
    room="12",
)


def stay(admitted: str, discharged: str | None = None, kind: StayKind = StayKind.LONG_TERM) -> Stay:
    return Stay(
        id=next(_ids),
        resident_id=RESIDENT.id,
        kind=kind,
        admitted_at=utc(admitted),
        discharged_at=utc(discharged) if discharged else None,
    )


def agreement(**changes: Any) -> Agreement:
    """In force for 2026-2027, covering medication checks, assessments and care-plan reviews."""
    base = Agreement(
        id=next(_ids),
        practice_id=RESIDENT.practice_id,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 12, 31),
        review_on=None,
        purposes=(Purpose.MEDICATION_CHECK, Purpose.CLINICAL_ASSESSMENT, Purpose.CARE_PLAN_REVIEW),
        sections=(Section.SUMMARY, Section.MEDICATIONS),
        home_signatory="Mary Manager",
        practice_signatory="Dr Priya Practice",
    )
    return replace(base, **changes)


def consent(kind: ConsentKind = ConsentKind.GRANTED, **changes: Any) -> ConsentDecision:
    """The resident's own decision, made on the day of admission."""
    base = ConsentDecision(
        id=next(_ids),
        resident_id=RESIDENT.id,
        kind=kind,
        decided_by=DecidedBy.RESIDENT,
        decided_on=date(2026, 1, 10),
        recorded_at=utc("2026-01-10T12:00"),
        recorded_by="Mary Manager",
    )
    return replace(base, **changes)


DEFAULT_STAY = stay("2026-01-10T12:00")
DEFAULT_AGREEMENT = agreement()
DEFAULT_CONSENT = consent()


def record(**changes: Any) -> ResidentRecord:
    """Resident since January 2026 (still there), one agreement in force, consent given."""
    base = ResidentRecord(
        resident=RESIDENT,
        stays=(DEFAULT_STAY,),
        consents=(DEFAULT_CONSENT,),
        agreements=(DEFAULT_AGREEMENT,),
    )
    return replace(base, **changes)


def check(
    user: Staff | None = None,
    role: Role = Role.NURSE,
    rec: ResidentRecord | None = None,
    purpose: Purpose = Purpose.MEDICATION_CHECK,
    justification: str = JUSTIFICATION,
    now: datetime = NOW,
) -> Decision:
    return decide(user or nurse(), role, rec or record(), purpose, justification, now)


def codes(decision: Decision) -> list[str]:
    return [reason.code.value for reason in decision.reasons]


def assert_allowed(decision: Decision) -> None:
    assert decision.allowed, codes(decision)
    assert decision.reasons == ()


def assert_refused(decision: Decision, *expected: str) -> None:
    assert not decision.allowed
    assert sorted(codes(decision)) == sorted(expected)
    assert all(reason.text for reason in decision.reasons)


# -- everything holds ---------------------------------------------------------------------------


def test_all_conditions_holding_is_allowed_with_its_basis() -> None:
    decision = check()
    assert_allowed(decision)
    assert decision.consent == DEFAULT_CONSENT
    assert decision.agreement == DEFAULT_AGREEMENT
    assert decision.alerts == ()


def test_a_nurse_holding_other_roles_too_is_allowed_working_as_nurse() -> None:
    assert_allowed(check(nurse(roles=frozenset({Role.NURSE, Role.MANAGER}))))


# -- 1. the nurse -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.NURSE])
def test_working_under_another_role_is_refused(role: Role) -> None:
    """Roles are not combined: a nurse logged in as something else may not look."""
    user = nurse(roles=frozenset({Role.NURSE, role}))
    assert_refused(check(user, role=role), "role")


def test_nurse_role_not_held_is_refused() -> None:
    user = nurse(roles=frozenset({Role.CARER}))
    decision = check(user, role=Role.NURSE)
    assert_refused(decision, "role_not_held")
    assert "Nina Nurse" in decision.reasons[0].text


def test_inactive_account_is_refused() -> None:
    assert_refused(check(nurse(active=False)), "account_inactive")


@pytest.mark.parametrize("pin", [None, ""])
def test_no_nmc_pin_is_refused(pin: str | None) -> None:
    assert_refused(check(nurse(nmc_pin=pin)), "nmc_missing")


def test_nmc_check_not_recorded_is_refused() -> None:
    assert_refused(check(nurse(nmc_checked_on=None)), "nmc_unchecked")


def test_nmc_check_dated_in_the_future_is_refused() -> None:
    assert_refused(check(nurse(nmc_checked_on=TODAY + timedelta(days=1))), "nmc_unchecked")
    assert_allowed(check(nurse(nmc_checked_on=TODAY)))


def test_nmc_expiry_is_inclusive_of_its_last_day() -> None:
    assert_allowed(check(nurse(nmc_expires_on=TODAY)))
    assert_refused(check(nurse(nmc_expires_on=TODAY - timedelta(days=1))), "nmc_expired")


def test_nmc_expiry_missing_is_refused() -> None:
    assert_refused(check(nurse(nmc_expires_on=None)), "nmc_expired")


def test_nmc_expiry_follows_uk_midnight_in_summer() -> None:
    """Registration expiring 31 July ends at midnight BST, which is 23:00 UTC on 31 July."""
    user = nurse(nmc_expires_on=date(2026, 7, 31))
    assert_allowed(check(user, now=utc("2026-07-31T22:59:59")))
    assert_refused(check(user, now=utc("2026-07-31T23:00")), "nmc_expired")


# -- 2. resident now ----------------------------------------------------------------------------


def test_before_admission_is_refused() -> None:
    admitted = stay("2026-11-21T10:00")
    rec = record(stays=(admitted,))
    assert_refused(check(rec=rec, now=utc("2026-11-21T09:59:59")), "not_resident")
    assert_allowed(check(rec=rec, now=utc("2026-11-21T10:00")))  # from the moment of admission


def test_after_discharge_is_refused() -> None:
    rec = record(stays=(stay("2026-01-10T12:00", "2026-11-21T09:00"),))
    assert_allowed(check(rec=rec, now=utc("2026-11-21T08:59:59")))
    assert_refused(check(rec=rec, now=utc("2026-11-21T09:00")), "not_resident")
    assert_refused(check(rec=rec), "not_resident")


def test_no_stay_at_all_is_refused() -> None:
    assert_refused(check(rec=record(stays=())), "not_resident")


def test_between_stays_including_respite_is_refused() -> None:
    """Respite stays are periods of their own; the gaps between stays allow nothing."""
    stays = (
        stay("2026-01-10T12:00", "2026-06-01T10:00"),
        stay("2026-08-01T10:00", "2026-08-15T10:00", StayKind.RESPITE),
        stay("2026-12-01T10:00"),
    )
    rec = record(stays=stays)
    assert_allowed(check(rec=rec, now=utc("2026-05-31T10:00")))
    assert_refused(check(rec=rec, now=utc("2026-07-01T10:00")), "not_resident")
    assert_allowed(check(rec=rec, now=utc("2026-08-10T10:00")))  # during respite
    assert_refused(check(rec=rec, now=utc("2026-08-20T10:00")), "not_resident")
    assert_refused(check(rec=rec), "not_resident")  # 21 November, before readmission
    assert_allowed(check(rec=rec, now=utc("2026-12-02T10:00")))


# -- 3. agreement -------------------------------------------------------------------------------


def test_no_agreement_is_refused() -> None:
    decision = check(rec=record(agreements=()))
    assert_refused(decision, "no_agreement")
    assert decision.agreement is None


def test_agreement_not_yet_started_is_refused() -> None:
    rec = record(agreements=(agreement(starts_on=TODAY + timedelta(days=1)),))
    assert_refused(check(rec=rec), "no_agreement")
    rec = record(agreements=(agreement(starts_on=TODAY),))
    assert_allowed(check(rec=rec))


def test_agreement_end_is_inclusive_of_its_last_day() -> None:
    rec = record(agreements=(agreement(ends_on=TODAY),))
    assert_allowed(check(rec=rec, now=utc("2026-11-21T23:59:59")))
    assert_refused(check(rec=rec, now=utc("2026-11-22T00:00")), "no_agreement")


def test_agreement_ending_in_summer_ends_at_uk_midnight() -> None:
    """In BST midnight UK is 23:00 UTC the day before: refused from then, not from 00:00 UTC."""
    rec = record(agreements=(agreement(ends_on=date(2026, 7, 31)),))
    assert_allowed(check(rec=rec, now=utc("2026-07-31T22:59:59")))
    assert_refused(check(rec=rec, now=utc("2026-07-31T23:00")), "no_agreement")


def test_open_ended_agreement_is_in_force() -> None:
    assert_allowed(check(rec=record(agreements=(agreement(ends_on=None),))))


# -- 5. purpose and justification ---------------------------------------------------------------


def test_purpose_not_covered_is_refused() -> None:
    decision = check(purpose=Purpose.END_OF_LIFE_CARE)
    assert_refused(decision, "purpose")
    assert "End of life care" in decision.reasons[0].text


def test_the_agreement_covering_the_purpose_is_the_one_returned() -> None:
    narrow = agreement(purposes=(Purpose.CARE_PLAN_REVIEW,))
    wide = agreement(purposes=(Purpose.END_OF_LIFE_CARE, Purpose.HOSPITAL_TRANSFER))
    decision = check(rec=record(agreements=(narrow, wide)), purpose=Purpose.END_OF_LIFE_CARE)
    assert_allowed(decision)
    assert decision.agreement == wide


def test_ended_agreement_covering_the_purpose_does_not_count() -> None:
    old = agreement(ends_on=date(2026, 6, 30), purposes=(Purpose.END_OF_LIFE_CARE,))
    rec = record(agreements=(old, DEFAULT_AGREEMENT))
    assert_refused(check(rec=rec, purpose=Purpose.END_OF_LIFE_CARE), "purpose")


@pytest.mark.parametrize("text", ["", "too short", "   short   ", " " * 20])
def test_short_justification_is_refused(text: str) -> None:
    assert len(text.strip()) < MIN_JUSTIFICATION
    assert_refused(check(justification=text), "justification")


def test_justification_of_the_minimum_length_is_allowed() -> None:
    assert_allowed(check(justification="x" * MIN_JUSTIFICATION))
    assert_allowed(check(justification="  " + "x" * MIN_JUSTIFICATION + "  "))


# -- 4. consent ---------------------------------------------------------------------------------


def test_no_consent_is_refused() -> None:
    decision = check(rec=record(consents=()))
    assert_refused(decision, "no_consent")
    assert decision.consent is None


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (ConsentKind.REFUSED, "consent_refused"),
        (ConsentKind.OBJECTION, "consent_objection"),
        (ConsentKind.WITHDRAWN, "consent_withdrawn"),
    ],
)
def test_a_negative_decision_alone_is_refused(kind: ConsentKind, code: str) -> None:
    decision = check(rec=record(consents=(consent(kind),)))
    assert_refused(decision, code)


def test_consent_is_in_force_through_its_last_day() -> None:
    """expires_on is the last day the consent is in force, as every end date is."""
    rec = record(consents=(consent(expires_on=TODAY),))
    assert_allowed(check(rec=rec))
    assert_allowed(check(rec=rec, now=utc("2026-11-21T23:59:59")))
    assert_refused(check(rec=rec, now=utc("2026-11-22T00:00")), "consent_expired")
    yesterday = TODAY - timedelta(days=1)
    assert_refused(check(rec=record(consents=(consent(expires_on=yesterday),))), "consent_expired")


def test_consent_expiry_follows_uk_midnight_in_summer() -> None:
    rec = record(consents=(consent(expires_on=date(2026, 7, 31)),))
    assert_allowed(check(rec=rec, now=utc("2026-07-31T22:59:59")))
    assert_refused(check(rec=rec, now=utc("2026-07-31T23:00")), "consent_expired")


def test_grant_after_withdrawal_allows_again() -> None:
    regranted = consent(decided_on=date(2026, 11, 1))
    history = (DEFAULT_CONSENT, consent(ConsentKind.WITHDRAWN), regranted)
    decision = check(rec=record(consents=history))
    assert_allowed(decision)
    assert decision.consent == regranted


@pytest.mark.parametrize(
    "kind", [ConsentKind.WITHDRAWN, ConsentKind.OBJECTION, ConsentKind.REFUSED]
)
def test_negative_decision_after_grant_refuses(kind: ConsentKind) -> None:
    """There is no override: the latest decision stands."""
    latest = consent(kind, decided_on=date(2026, 11, 1))
    decision = check(rec=record(consents=(DEFAULT_CONSENT, latest)))
    assert_refused(decision, f"consent_{kind.value}")
    assert decision.consent == latest


def test_consent_review_date_only_adds_an_alert() -> None:
    due = record(consents=(consent(review_on=TODAY),))
    decision = check(rec=due)
    assert_allowed(decision)
    assert any("consent" in alert for alert in decision.alerts)
    not_yet = check(rec=record(consents=(consent(review_on=TODAY + timedelta(days=1)),)))
    assert_allowed(not_yet)
    assert not_yet.alerts == ()


def test_agreement_review_date_only_adds_an_alert() -> None:
    decision = check(rec=record(agreements=(agreement(review_on=TODAY),)))
    assert_allowed(decision)
    assert any("agreement" in alert for alert in decision.alerts)


def test_consent_survives_discharge_and_readmission() -> None:
    """Discharge does not touch consent: given in January, it still stands after readmission."""
    stays = (stay("2026-01-10T12:00", "2026-06-01T10:00"), stay("2026-09-01T10:00"))
    decision = check(rec=record(stays=stays))
    assert_allowed(decision)
    assert decision.consent == DEFAULT_CONSENT


# -- several at once ----------------------------------------------------------------------------


def test_every_failure_is_named() -> None:
    user = nurse(roles=frozenset({Role.CARER}), active=False, nmc_pin=None)
    rec = record(stays=(), agreements=(), consents=(consent(ConsentKind.OBJECTION),))
    decision = check(user, role=Role.CARER, rec=rec, justification="hmm")
    # The user holds the carer role they work under, so role_not_held is not among them.
    assert_refused(
        decision,
        "role",
        "account_inactive",
        "nmc_missing",
        "not_resident",
        "no_agreement",
        "justification",
        "consent_objection",
    )


def test_role_not_held_and_not_nurse_together() -> None:
    user = nurse(roles=frozenset({Role.CARER}))
    assert_refused(check(user, role=Role.MANAGER), "role", "role_not_held")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"nmc_pin": None, "nmc_checked_on": None, "nmc_expires_on": None}, "nmc_missing"),
        ({"nmc_pin": None, "nmc_expires_on": date(2020, 1, 1)}, "nmc_missing"),
        ({"nmc_checked_on": None, "nmc_expires_on": None}, "nmc_unchecked"),
        ({"nmc_checked_on": TODAY + timedelta(days=1), "nmc_expires_on": None}, "nmc_unchecked"),
    ],
)
def test_nmc_problems_name_the_first_one_only(changes: dict[str, Any], code: str) -> None:
    """The NMC checks are a chain: no PIN, then no check, then expired; only the first is named."""
    assert_refused(check(nurse(**changes)), code)


def test_purpose_and_consent_and_residency_failures_together() -> None:
    rec = record(
        stays=(stay("2026-01-10T12:00", "2026-02-01T12:00"),),
        consents=(consent(expires_on=date(2026, 3, 1)),),
    )
    decision = check(rec=rec, purpose=Purpose.HOSPITAL_TRANSFER)
    assert_refused(decision, "not_resident", "purpose", "consent_expired")
    assert decision.agreement is None


# -- consent_state ------------------------------------------------------------------------------


def test_consent_state_of_an_empty_history() -> None:
    state = consent_state((), TODAY)
    assert not state.in_force
    assert state.latest is None
    assert state.problem is not None and state.problem.code.value == "no_consent"


def test_consent_state_latest_is_the_last_made() -> None:
    withdrawn = consent(ConsentKind.WITHDRAWN, decided_on=date(2026, 11, 1))
    state = consent_state((DEFAULT_CONSENT, withdrawn), TODAY)
    assert not state.in_force
    assert state.latest == withdrawn
    assert state.problem is not None
    assert state.problem.code.value == "consent_withdrawn"
    assert "01/11/2026" in state.problem.text


def test_a_decision_entered_late_does_not_reverse_one_made_after_it() -> None:
    """Granted 01/05, withdrawn 19/05, then the paper form of a grant made on 02/05 typed in
    on 25/05: the withdrawal was made last, so it stands."""
    granted = consent(decided_on=date(2026, 5, 1), decided_at=utc("2026-05-01T10:00"))
    withdrawn = consent(
        ConsentKind.WITHDRAWN, decided_on=date(2026, 5, 19), decided_at=utc("2026-05-19T09:00")
    )
    paper = consent(decided_on=date(2026, 5, 2), recorded_at=utc("2026-05-25T14:00"))
    state = consent_state((granted, withdrawn, paper), TODAY)
    assert state.latest == withdrawn and state.problem.code.value == "consent_withdrawn"
    assert state.overtaken == paper and paper.entered_late and not withdrawn.entered_late


@pytest.mark.parametrize("kind", NEGATIVE_KINDS)
def test_at_the_same_moment_the_more_protective_decision_stands(kind: ConsentKind) -> None:
    moment = {"decided_on": date(2026, 11, 20), "decided_at": utc("2026-11-20T10:00")}
    granted, negative = consent(**moment), consent(kind, **moment)
    for history in ((granted, negative), (negative, granted)):
        assert consent_state(history, TODAY).latest == negative


@pytest.mark.parametrize("kind", NEGATIVE_KINDS)
def test_a_day_without_a_time_is_read_the_protective_way(kind: ConsentKind) -> None:
    """A decision entered late has only its day: a consent counts as made first thing, a
    refusal, objection or withdrawal as made last thing."""
    day = date(2026, 11, 20)
    timed_grant = consent(decided_on=day, decided_at=utc("2026-11-20T15:00"))
    dated_negative = consent(kind, decided_on=day)
    assert consent_state((timed_grant, dated_negative), TODAY).latest == dated_negative
    timed_negative = consent(kind, decided_on=day, decided_at=utc("2026-11-20T08:00"))
    dated_grant = consent(decided_on=day)
    assert consent_state((timed_negative, dated_grant), TODAY).latest == timed_negative
    assert consent_state((dated_negative, dated_grant), TODAY).latest == dated_negative


def test_consent_state_review_due() -> None:
    state = consent_state((consent(review_on=TODAY),), TODAY)
    assert state.in_force and state.review_due and state.problem is None
    state = consent_state((consent(review_on=TODAY),), TODAY - timedelta(days=1))
    assert state.in_force and not state.review_due


# -- check_consent_decision ---------------------------------------------------------------------


DECIDED = date(2026, 11, 10)


def valid(decided_by: DecidedBy, kind: ConsentKind = ConsentKind.GRANTED) -> dict[str, Any]:
    """Everything a valid decision by `decided_by` records, and the day it is checked on."""
    fields: dict[str, Any] = {"kind": kind, "decided_by": decided_by, "today": TODAY}
    if decided_by is not DecidedBy.RESIDENT:
        fields.update(
            lacks_capacity=True,
            capacity_assessed_on=DECIDED,
            capacity_assessment="Unable to retain information about record sharing.",
            representative_name="Dora Daughter",
            impairment=True,
            impairment_detail="Vascular dementia",
            unable_to=(Ability.RETAIN,),
            support_steps="Explained in the morning, with her glasses and a large-print leaflet",
            capacity_assessed_by="Nina Nurse, registered nurse",
        )
    if decided_by in (DecidedBy.LPA_ATTORNEY, DecidedBy.DEPUTY):
        fields.update(
            representative_relationship="daughter",
            authority_reference="LPA-123456",
            authority_seen_on=DECIDED,
            authority_seen_by="Mary Manager, registered manager",
        )
    if decided_by is DecidedBy.LPA_ATTORNEY:
        fields.update(lpa_registered_on=DECIDED - timedelta(days=400))
    if decided_by is DecidedBy.BEST_INTERESTS:
        fields.update(
            people_consulted="Daughter; GP; named nurse",
            known_wishes="Always wanted the nurses to know about her medicines",
        )
    return fields


def check_decision(today: date, **fields: Any) -> None:
    check_consent_decision(consent(**{"decided_on": DECIDED, **fields}), today)


def rejected_field(today: date = TODAY, **fields: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        check_decision(today, **fields)
    return caught.value.field


REPRESENTED = [DecidedBy.LPA_ATTORNEY, DecidedBy.DEPUTY, DecidedBy.BEST_INTERESTS]


@pytest.mark.parametrize("decided_by", list(DecidedBy))
@pytest.mark.parametrize("kind", list(ConsentKind))
def test_complete_decisions_are_accepted(decided_by: DecidedBy, kind: ConsentKind) -> None:
    assert check_decision(**valid(decided_by, kind)) is None


def test_best_interests_needs_no_relationship_or_authority() -> None:
    fields = valid(DecidedBy.BEST_INTERESTS)
    assert "representative_relationship" not in fields and "authority_reference" not in fields
    check_decision(**fields)


@pytest.mark.parametrize("decided_by", list(DecidedBy))
def test_future_decision_dates_are_rejected(decided_by: DecidedBy) -> None:
    fields = valid(decided_by) | {"decided_on": TODAY + timedelta(days=1)}
    assert rejected_field(**fields) == "decided_on"
    check_decision(**(valid(decided_by) | {"today": DECIDED}))  # deciding today is fine


def test_a_resident_who_lacks_capacity_cannot_decide_themself() -> None:
    fields = valid(DecidedBy.RESIDENT) | {"lacks_capacity": True}
    assert rejected_field(**fields) == "decided_by"


@pytest.mark.parametrize("decided_by", REPRESENTED)
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lacks_capacity": False}, "lacks_capacity"),
        ({"capacity_assessed_on": None}, "capacity_assessed_on"),
        ({"capacity_assessed_on": DECIDED + timedelta(days=1)}, "capacity_assessed_on"),
        ({"capacity_assessment": ""}, "capacity_assessment"),
        ({"representative_name": ""}, "representative_name"),
    ],
)
def test_representative_decisions_need_a_capacity_assessment_and_a_name(
    decided_by: DecidedBy, change: dict[str, Any], field: str
) -> None:
    assert rejected_field(**(valid(decided_by) | change)) == field


@pytest.mark.parametrize("decided_by", REPRESENTED)
def test_capacity_assessed_before_the_decision_is_accepted(decided_by: DecidedBy) -> None:
    check_decision(**(valid(decided_by) | {"capacity_assessed_on": DECIDED - timedelta(days=30)}))


@pytest.mark.parametrize("decided_by", [DecidedBy.LPA_ATTORNEY, DecidedBy.DEPUTY])
@pytest.mark.parametrize("field", ["representative_relationship", "authority_reference"])
def test_attorney_and_deputy_need_relationship_and_authority(
    decided_by: DecidedBy, field: str
) -> None:
    assert rejected_field(**(valid(decided_by) | {field: ""})) == field


def test_best_interests_needs_the_people_consulted() -> None:
    fields = valid(DecidedBy.BEST_INTERESTS) | {"people_consulted": ""}
    assert rejected_field(**fields) == "people_consulted"


@pytest.mark.parametrize("decided_by", list(DecidedBy))
def test_review_must_come_after_the_decision(decided_by: DecidedBy) -> None:
    for day in (DECIDED, DECIDED - timedelta(days=1)):
        assert rejected_field(**(valid(decided_by) | {"review_on": day})) == "review_on"
    check_decision(**(valid(decided_by) | {"review_on": DECIDED + timedelta(days=1)}))


@pytest.mark.parametrize("decided_by", list(DecidedBy))
def test_the_last_day_may_be_the_day_of_the_decision_not_before(decided_by: DecidedBy) -> None:
    before = DECIDED - timedelta(days=1)
    assert rejected_field(**(valid(decided_by) | {"expires_on": before})) == "expires_on"
    check_decision(**(valid(decided_by) | {"expires_on": DECIDED}))


# -- what the paper form records (schema 8) -----------------------------------------------------


@pytest.mark.parametrize("decided_by", REPRESENTED)
@pytest.mark.parametrize(
    "field",
    ["impairment", "unable_to", "support_steps", "capacity_assessed_by"],
)
def test_a_consent_given_for_the_resident_needs_the_two_stage_test_and_the_assessor(
    decided_by: DecidedBy, field: str
) -> None:
    empty = {"impairment": {"impairment": None, "unable_to": ()}, "unable_to": {field: ()}}
    assert rejected_field(**(valid(decided_by) | empty.get(field, {field: ""}))) == field


@pytest.mark.parametrize(
    ("decided_by", "field"),
    [
        (DecidedBy.LPA_ATTORNEY, "lpa_registered_on"),
        (DecidedBy.LPA_ATTORNEY, "authority_seen_on"),
        (DecidedBy.LPA_ATTORNEY, "authority_seen_by"),
        (DecidedBy.DEPUTY, "authority_seen_on"),
        (DecidedBy.DEPUTY, "authority_seen_by"),
        (DecidedBy.BEST_INTERESTS, "known_wishes"),
    ],
)
def test_a_consent_given_needs_the_authority_as_seen_or_the_known_wishes(
    decided_by: DecidedBy, field: str
) -> None:
    empty = None if field.endswith("_on") else ""
    assert rejected_field(**(valid(decided_by) | {field: empty})) == field


def test_the_messages_name_what_each_kind_of_authority_needs() -> None:
    with pytest.raises(ValidationError, match="Court of Protection order reference"):
        check_decision(**(valid(DecidedBy.DEPUTY) | {"authority_reference": ""}))
    with pytest.raises(ValidationError, match="date the court order was seen"):
        check_decision(**(valid(DecidedBy.DEPUTY) | {"authority_seen_on": None}))
    with pytest.raises(ValidationError, match="date the LPA was registered"):
        check_decision(**(valid(DecidedBy.LPA_ATTORNEY) | {"lpa_registered_on": None}))


@pytest.mark.parametrize("decided_by", REPRESENTED)
@pytest.mark.parametrize("kind", NEGATIVE_KINDS)
def test_a_refusal_or_withdrawal_is_not_held_back_by_missing_paperwork(
    decided_by: DecidedBy, kind: ConsentKind
) -> None:
    """What stops access is recorded with what is known: an attorney's withdrawal typed from
    an earlier record that has none of these."""
    missing = {
        "impairment": None,
        "unable_to": (),
        "support_steps": "",
        "capacity_assessed_by": "",
        "lpa_registered_on": None,
        "authority_seen_on": None,
        "authority_seen_by": "",
        "known_wishes": "",
    }
    check_decision(**(valid(decided_by, kind) | missing))


def test_an_attorney_acts_only_once_the_lpa_is_registered() -> None:
    late = valid(DecidedBy.LPA_ATTORNEY) | {"lpa_registered_on": DECIDED + timedelta(days=1)}
    with pytest.raises(ValidationError, match="only once the LPA is registered") as caught:
        check_decision(**late)
    assert caught.value.field == "lpa_registered_on"


@pytest.mark.parametrize(
    "field", ["capacity_assessed_on", "lpa_registered_on", "authority_seen_on"]
)
def test_dates_of_the_record_are_not_in_the_future(field: str) -> None:
    fields = valid(DecidedBy.LPA_ATTORNEY) | {"decided_on": TODAY, field: TODAY + timedelta(1)}
    with pytest.raises(ValidationError, match="not in the future") as caught:
        check_decision(**fields)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"has_capacity": True}, "has_capacity"),  # and lacks it
        ({"impairment": False}, "unable_to"),  # stage 2 without stage 1
    ],
)
def test_the_two_stages_and_the_finding_must_agree(change: dict[str, Any], field: str) -> None:
    assert rejected_field(**(valid(DecidedBy.BEST_INTERESTS) | change)) == field


def test_a_resident_found_to_have_capacity_decides_with_the_assessment_recorded() -> None:
    assessed = {
        "has_capacity": True,
        "impairment": True,
        "impairment_detail": "Mild cognitive impairment",
        "support_steps": "Asked after breakfast, with her hearing aids in",
        "capacity_assessed_by": "Nina Nurse, registered nurse",
        "capacity_assessed_on": DECIDED,
    }
    check_decision(**(valid(DecidedBy.RESIDENT) | assessed))
    unable = valid(DecidedBy.RESIDENT) | assessed | {"unable_to": (Ability.WEIGH,)}
    assert rejected_field(**unable) == "has_capacity"
    no_impairment = valid(DecidedBy.BEST_INTERESTS) | {"impairment": False, "unable_to": ()}
    assert rejected_field(**no_impairment) == "impairment"


@pytest.mark.parametrize("field", ["lpa_registered_on", "authority_seen_on", "authority_seen_by"])
def test_an_authority_belongs_to_an_attorney_or_deputy(field: str) -> None:
    value = "Mary Manager" if field == "authority_seen_by" else DECIDED
    assert rejected_field(**(valid(DecidedBy.BEST_INTERESTS) | {field: value})) == field
    if field == "lpa_registered_on":
        assert rejected_field(**(valid(DecidedBy.DEPUTY) | {field: value})) == field


# -- refusal reasons by code ----------------------------------------------------------------------


def _every_reason() -> list[tuple[ReasonCode, str]]:
    """Each reason `decide` gives, with its words, from records that fail one rule each."""
    lapsed = agreement(ends_on=date(2026, 6, 30))
    decisions = [
        check(role=Role.CARER, user=nurse(roles=frozenset({Role.NURSE, Role.CARER}))),
        check(role=Role.MANAGER),
        check(user=nurse(active=False)),
        check(user=nurse(nmc_pin=None)),
        check(user=nurse(nmc_checked_on=None)),
        check(user=nurse(nmc_expires_on=date(2026, 1, 31))),
        check(rec=record(stays=())),
        check(rec=record(agreements=(lapsed,))),
        check(purpose=Purpose.HOSPITAL_TRANSFER),
        check(justification="short"),
        check(rec=record(consents=())),
        check(rec=record(consents=(consent(expires_on=date(2026, 2, 1)),))),
        *(check(rec=record(consents=(consent(k, reason="No"),))) for k in NEGATIVE_KINDS),
    ]
    return [(r.code, r.text) for d in decisions for r in d.reasons]


def test_every_reason_has_its_own_code() -> None:
    found = {code for code, _text in _every_reason()}
    assert found == set(ReasonCode) - {ReasonCode.OTHER}


def test_a_stored_reasons_words_give_back_its_code() -> None:
    for code, text in _every_reason():
        assert reason_code_of(text) is code, text
    # as earlier releases worded them
    assert reason_code_of("consent expired on 01/02/2026") is ReasonCode.CONSENT_EXPIRED
    assert reason_code_of("a justification of at least 10 characters") is ReasonCode.JUSTIFICATION
    assert reason_code_of("the moon was full") is ReasonCode.OTHER
