"""The access rules through the services, on a real encrypted file, with the clock moved."""

import pytest

from carehome_share.domain.errors import AccessRefused, NotFound, ValidationError
from carehome_share.services import access, consent, practices, residents, staff
from carehome_share.store import audit, repo
from tests.conftest import Clock
from tests.factories import Home


@pytest.fixture
def ward(home: Home):
    """A consented current resident and a nurse with a current NMC registration."""
    resident = home.add_resident()
    nurse = home.add_nurse()
    return home, resident, nurse


def _last_entry(home: Home) -> audit.AuditEntry:
    return audit.entries(home.ctx.conn, last=1)[0]


def _refused(
    home: Home,
    resident,
    purpose: str = "medication_check",
    why: str = "Checking medication before the round",
) -> AccessRefused:
    with pytest.raises(AccessRefused) as refused:
        access.open_access_session(home.ctx, resident.id, purpose, why)
    return refused.value


def test_all_conditions_hold_session_opens_and_is_audited(ward) -> None:
    home, resident, nurse = ward
    home.log_in(nurse)
    session = home.open_session(resident)
    assert session.closed_at is None and session.nmc_pin == nurse.nmc_pin
    assert session.consent_id is not None and session.agreement_id is not None
    entry = _last_entry(home)
    assert (entry.action, entry.outcome, entry.resident_id) == (
        "open_access_session",
        "allowed",
        resident.id,
    )
    assert entry.details["session_id"] == session.id
    assert entry.details["consent_basis"] == "resident"


def test_nurse_ticks_sections_and_closes(ward, clock: Clock) -> None:
    home, resident, nurse = ward
    home.log_in(nurse)
    session = home.open_session(resident)
    clock.advance(minutes=4)
    access.record_sections_viewed(home.ctx, session.id, ["medications", "allergies"])
    closed = access.close_access_session(home.ctx, session.id)
    assert [s.value for s in closed.sections] == ["medications", "allergies"]
    assert closed.close_kind.value == "closed"
    assert (closed.closed_at - closed.opened_at).total_seconds() == 240
    assert [s.id for s in access.my_sessions_today(home.ctx)] == [session.id]


def test_sections_outside_the_agreement_are_refused(ward) -> None:
    home, resident, nurse = ward
    home.log_in(nurse)
    session = home.open_session(resident)
    with pytest.raises(ValidationError) as bad:
        access.record_sections_viewed(home.ctx, session.id, ["test_results"])
    assert bad.value.field == "sections" and "summary" in str(bad.value)
    assert access.close_access_session(home.ctx, session.id).sections == ()


def test_another_nurses_session_cannot_be_touched(ward) -> None:
    home, resident, nurse = ward
    other = home.add_nurse()
    home.log_in(nurse)
    session = home.open_session(resident)
    home.log_in(other)
    with pytest.raises(NotFound):
        access.close_access_session(home.ctx, session.id)


# -- each condition failing alone -------------------------------------------------------------


def test_wrong_role_alone(ward) -> None:
    home, resident, _ = ward
    dual = home.add_staff(["manager", "nurse"])
    home.log_in(dual, role="manager")
    refusal = _refused(home, resident)
    assert refusal.reasons == ["working as Registered manager, not as a registered nurse"]


def test_nmc_registration_expired_alone(ward, clock: Clock) -> None:
    home, resident, nurse = ward
    home.log_in(nurse)
    clock.set("2027-09-30T20:00")  # last day of the registration (UK evening, BST ended)
    home.open_session(resident)
    clock.set("2027-10-01T00:30")
    assert _refused(home, resident).reasons == ["the NMC registration is not current"]


def test_not_resident_alone_after_discharge(ward, clock: Clock) -> None:
    home, resident, nurse = ward
    residents.discharge(home.ctx, resident.id, at="2026-11-21T09:00")
    home.log_in(nurse)
    refusal = _refused(home, resident)
    assert refusal.reasons == ["not currently resident (outside any admission)"]
    refusal_row = home.ctx.conn.execute(
        "SELECT reasons, staff_id FROM access_refusal WHERE id = ?", (refusal.refusal_id,)
    ).fetchone()
    assert "not currently resident" in refusal_row[0] and refusal_row[1] == nurse.id
    entry = _last_entry(home)
    assert (entry.outcome, entry.reasons) == ("denied", refusal.reasons)


def test_no_agreement_in_force_alone(ward, clock: Clock) -> None:
    home, resident, nurse = ward
    practices.end_agreement(home.ctx, 1, "2026-11-20")
    home.log_in(nurse)
    assert _refused(home, resident).reasons == [
        "no data sharing agreement with the GP practice is in force"
    ]


def test_purpose_not_covered_alone(ward) -> None:
    home, resident, nurse = ward
    home.log_in(nurse)
    assert _refused(home, resident, purpose="hospital_transfer").reasons == [
        "the agreement does not cover the purpose 'Hospital admission or discharge'"
    ]


def test_a_short_justification_is_an_input_mistake_and_nothing_is_recorded(ward) -> None:
    home, resident, nurse = ward
    home.log_in(nurse)
    head = audit.head(home.ctx.conn)
    with pytest.raises(ValidationError) as short:
        access.open_access_session(home.ctx, resident.id, "medication_check", "INR  ")
    assert (short.value.field, short.value.expected) == (
        "justification",
        "a justification of at least 10 characters, not counting spaces",
    )
    assert audit.head(home.ctx.conn) == head


@pytest.mark.parametrize(
    "why",
    ["a b c d e f g h i", "meds   \t  \n  check", "\u0301" * 12],
    ids=["spaced", "tabs", "accents"],
)
def test_only_visible_characters_count_towards_a_justification(ward, why: str) -> None:
    """Spaces and accents with no letter under them add up to more than ten characters, but
    fewer than ten show on paper: an input mistake, nothing recorded."""
    home, resident, nurse = ward
    home.log_in(nurse)
    head = audit.head(home.ctx.conn)
    with pytest.raises(ValidationError, match="not counting spaces"):
        access.open_access_session(home.ctx, resident.id, "medication_check", why)
    assert audit.head(home.ctx.conn) == head


def test_no_consent_alone(home: Home) -> None:
    resident = home.add_resident(consent_by=None)
    nurse = home.add_nurse()
    home.log_in(nurse)
    assert _refused(home, resident).reasons == ["no consent decision is recorded"]


def test_every_failure_is_named_together(home: Home) -> None:
    resident = home.add_resident(admitted=None, consent_by=None)
    carer = home.add_staff(["carer"])
    home.log_in(carer)
    reasons = _refused(home, resident, purpose="hospital_transfer").reasons
    assert reasons == [
        "working as Carer, not as a registered nurse",
        "no NMC PIN is recorded",
        "not currently resident (outside any admission)",
        "the agreement does not cover the purpose 'Hospital admission or discharge'",
        "no consent decision is recorded",
    ]


# -- allowed turns to refused at the right instant --------------------------------------------


def test_withdrawal_refuses_from_the_moment_it_is_recorded(ward, clock: Clock) -> None:
    home, resident, nurse = ward
    consent.record_consent(
        home.ctx, resident.id, "withdrawn", "resident", reason="Changed her mind"
    )
    home.log_in(nurse)
    assert _refused(home, resident).reasons == [
        "consent was withdrawn by the resident on 21/11/2026"
    ]
    home.as_manager()
    clock.advance(minutes=5)  # a new consent, made after the withdrawal
    consent.record_consent(home.ctx, resident.id, "granted", "resident", witness="Sam Witness")
    home.log_in(nurse)
    home.open_session(resident)


def test_objection_wins_over_an_earlier_best_interests_consent(home: Home) -> None:
    resident = home.add_resident(consent_by="best_interests")
    nurse = home.add_nurse()
    home.log_in(nurse)
    home.open_session(resident)
    home.as_manager()
    consent.record_consent(
        home.ctx,
        resident.id,
        "objection",
        "resident",
        reason="Resident said no to records being looked at",
    )
    home.log_in(nurse)
    assert "an objection was recorded from the resident" in _refused(home, resident).reasons[0]


def test_discharge_refuses_and_readmission_restores_consent(ward, clock: Clock) -> None:
    home, resident, nurse = ward
    residents.discharge(home.ctx, resident.id, at="2026-11-21T09:59")
    home.log_in(nurse)
    _refused(home, resident)
    home.as_manager()
    clock.advance(days=14)
    residents.admit(home.ctx, resident.id, kind="respite")
    home.log_in(nurse)
    home.open_session(resident)  # consent carried over the discharge


def test_agreement_expires_at_uk_midnight(ward, clock: Clock) -> None:
    home, resident, nurse = ward
    practices.end_agreement(home.ctx, 1, "2026-11-30")
    home.log_in(nurse)
    clock.set("2026-11-30T23:59")  # GMT: UK midnight is 00:00 UTC
    home.open_session(resident)
    clock.set("2026-12-01T00:00")
    assert _refused(home, resident).reasons[0].startswith("no data sharing agreement")


def test_consent_expiry_ends_it_and_review_only_alerts(home: Home, clock: Clock) -> None:
    resident = home.add_resident(consent_by=None)
    consent.record_consent(
        home.ctx,
        resident.id,
        "granted",
        "resident",
        review_on="2026-11-25",
        expires_on="2026-12-01",
    )
    nurse = home.add_nurse()
    home.log_in(nurse)
    clock.set("2026-11-26T10:00")
    home.open_session(resident)
    assert _last_entry(home).details["alerts"] == ["the consent decision is due for review"]
    clock.set("2026-12-01T23:59")
    home.open_session(resident)  # its last day, to the end of it
    clock.set("2026-12-02T00:00")
    assert _refused(home, resident).reasons == ["consent expired: its last day was 01/12/2026"]


def test_deactivated_nurse_is_refused_even_if_still_logged_in(ward) -> None:
    home, resident, nurse = ward
    nurse_login = home.log_in(nurse)
    home.as_manager()
    staff.deactivate_staff(home.ctx, nurse.id)
    home.ctx.login = nurse_login  # the nurse's screen was never locked
    assert "the staff account is deactivated" in _refused(home, resident).reasons


# -- auto-close and the phone fallback --------------------------------------------------------


def test_sessions_left_open_are_auto_closed_at_the_limit(ward, clock: Clock) -> None:
    home, resident, nurse = ward
    home.log_in(nurse)
    session = home.open_session(resident)
    clock.advance(minutes=29)
    assert access.close_stale_sessions(home.ctx) == []
    clock.advance(minutes=2)
    with pytest.raises(ValidationError, match="auto-closed at 21/11/2026 10:30: its time limit"):
        access.record_sections_viewed(home.ctx, session.id, ["summary"])  # closed as it is touched
    assert access.close_stale_sessions(home.ctx) == []
    closed = repo.get_session(home.ctx.conn, session.id)
    assert closed.close_kind.value == "auto_closed"
    assert (closed.closed_at - closed.opened_at).total_seconds() == 30 * 60
    assert _last_entry(home).action == "auto_close_session"
    with pytest.raises(ValidationError, match="auto-closed"):
        access.close_access_session(home.ctx, session.id)


def test_refused_nurse_logs_a_call_to_the_gp(home: Home) -> None:
    resident = home.add_resident(consent_by=None)
    nurse = home.add_nurse()
    home.log_in(nurse)
    refusal = _refused(home, resident)
    contact_id = access.log_gp_contact(
        home.ctx,
        resident.id,
        "Dr Priya Practice",
        "Needed current warfarin dose",
        "GP read out the dose; INR due Monday",
        refusal.refusal_id,
    )
    row = home.ctx.conn.execute(
        "SELECT refusal_id, staff_id FROM gp_contact WHERE id = ?", (contact_id,)
    ).fetchone()
    assert row == (refusal.refusal_id, nurse.id)
    entry = _last_entry(home)
    assert (entry.action, entry.resident_id, entry.details["refusal_id"]) == (
        "log_gp_contact",
        resident.id,
        refusal.refusal_id,
    )


def test_preview_names_what_would_refuse_before_any_justification_and_records_nothing(
    ward,
) -> None:
    home, resident, nurse = ward
    home.log_in(nurse)
    assert access.preview_decision(home.ctx, resident.id) == ()
    home.as_manager()
    staff.record_nmc_check(home.ctx, nurse.id, "2025-11-01", "2026-11-20")
    home.log_in(nurse)
    head = audit.head(home.ctx.conn)
    assert access.preview_decision(home.ctx, resident.id) == (
        "the NMC registration is not current",
    )
    assert audit.head(home.ctx.conn) == head
