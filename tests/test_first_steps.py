"""The manager's first-steps checklist: each step ticked from the records as the home is set
up in order (practice, agreement, nurses with NMC checks, residents, consent), with what is
left beside it, and unticked when what made it true goes."""

from carehome_share.domain.identifiers import nhs_numbers_in_test_range
from carehome_share.services import auth, consent, practices, residents, staff
from carehome_share.services.context import Context
from carehome_share.services.first_steps import first_steps
from tests.factories import MANAGER_PASSWORD, ODS, TEMPORARY_PASSWORD


def _done(ctx: Context) -> list[str]:
    return [step.key for step in first_steps(ctx) if step.done]


def test_each_step_is_ticked_as_the_records_show_it_done(ctx: Context) -> None:
    auth.set_up_home(ctx, "Rose Court Care Home", "manager", "Mary Manager", MANAGER_PASSWORD)
    auth.log_in(ctx, "manager", MANAGER_PASSWORD)
    assert _done(ctx) == []
    riverside = practices.add_practice(ctx, "Riverside Surgery", ODS)
    assert _done(ctx) == ["practice"]
    practices.add_agreement(
        ctx,
        ODS,
        starts_on="2026-11-01",
        purposes=["medication_check"],
        sections=["medications"],
        home_signatory="Mary Manager",
        practice_signatory="Dr Priya Practice",
    )
    assert _done(ctx) == ["practice", "agreement"]

    nurse = staff.add_staff(
        ctx, "nina", "Nina Nurse", ["nurse"], TEMPORARY_PASSWORD, nmc_pin="12A3456E"
    )
    (nurses,) = [s for s in first_steps(ctx) if s.key == "staff"]
    assert (nurses.done, nurses.progress) == (False, "1 nurse, 1 without a current NMC check")
    staff.record_nmc_check(ctx, nurse.id, "2026-11-20", "2027-11-19")
    assert _done(ctx) == ["practice", "agreement", "staff"]
    staff.add_staff(ctx, "nell", "Nell New", ["nurse"], TEMPORARY_PASSWORD, nmc_pin="12A3457E")
    (nurses,) = [s for s in first_steps(ctx) if s.key == "staff"]
    assert (nurses.done, nurses.progress) == (True, "2 nurses, 1 without a current NMC check")

    numbers = nhs_numbers_in_test_range()
    alice = residents.add_resident(ctx, next(numbers), "Alice", "Able", "1938-05-17", ODS)
    assert "residents" not in _done(ctx)  # registered, not yet admitted
    residents.admit(ctx, alice.id, at="2026-11-20")
    bob = residents.add_resident(ctx, next(numbers), "Bob", "Brown", "1939-01-02", ODS)
    residents.admit(ctx, bob.id, at="2026-11-20")
    (decisions,) = [s for s in first_steps(ctx) if s.key == "consent"]
    assert (decisions.done, decisions.progress, decisions.resident_id) == (
        False,
        "0 of 2 with a decision recorded",
        alice.id,  # the first by name
    )
    consent.record_consent(ctx, bob.id, "refused", "resident", reason="Prefers the phone")
    (decisions,) = [s for s in first_steps(ctx) if s.key == "consent"]
    assert (decisions.done, decisions.progress, decisions.resident_id) == (
        True,  # set up: the rest is the daily work
        "1 of 2 with a decision recorded",
        alice.id,
    )
    assert _done(ctx) == ["practice", "agreement", "staff", "residents", "consent"]

    practices.set_practice_active(ctx, riverside.id, False)  # no practice left to offer
    assert "practice" not in _done(ctx)
