"""Bad input gets a message naming the field and what is expected; nothing is half-written."""

from pathlib import Path

import pytest

from carehome_share.domain.errors import ValidationError
from carehome_share.services import access, auth, consent, practices, residents, staff
from carehome_share.services.context import Context
from carehome_share.store.vault import Vault
from tests.conftest import Clock
from tests.factories import MANAGER_PASSWORD, ODS, Home, nhs_number_starting

ZWSP, RLO = "\u200b", "\u202e"  # zero-width space, right-to-left override

TABLES = (
    "staff",
    "key_slot",
    "practice",
    "agreement",
    "resident",
    "stay",
    "consent_decision",
    "access_session",
    "audit_log",
)


def _counts(home: Home) -> dict[str, object]:
    """Rows in each table, and the key slots themselves (a refused password changes none)."""
    counts: dict[str, object] = {
        t: home.ctx.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES
    }
    counts["slots"] = home.ctx.conn.execute("SELECT * FROM key_slot ORDER BY username").fetchall()
    return counts


CASES = [
    (
        "malformed NHS number",
        lambda h: residents.add_resident(
            h.ctx, "123 456 7890", "Ann", "Example", "1940-01-01", ODS
        ),
        "nhs_number",
        "the last digit does not match the others",
    ),
    (
        "short NHS number",
        lambda h: residents.add_resident(h.ctx, "99900001", "Ann", "Example", "1940-01-01", ODS),
        "nhs_number",
        "10 digits",
    ),
    (
        "NHS number from a range no UK scheme issues",
        lambda h: residents.add_resident(
            h.ctx, nhs_number_starting("5"), "Ann", "Example", "1940-01-01", ODS
        ),
        "nhs_number",
        "Reserved and not issued",
    ),
    (
        "CHI number that is not a date",
        lambda h: residents.add_resident(
            h.ctx, nhs_number_starting("310238"), "Ann", "Example", "1938-02-28", ODS
        ),
        "nhs_number",
        "310238 is not a date",
    ),
    (
        "CHI number with another date of birth",
        lambda h: residents.add_resident(
            h.ctx, nhs_number_starting("170538"), "Ann", "Example", "1938-05-18", ODS
        ),
        "nhs_number",
        "the number starts 170538 (DDMMYY), the date of birth 18/05/1938 gives 180538",
    ),
    (
        "malformed ODS code",
        lambda h: practices.add_practice(h.ctx, "Surgery", "12-34"),
        "ods_code",
        "ODS code",
    ),
    (
        "unknown practice",
        lambda h: residents.add_resident(
            h.ctx, "999 000 0018", "Ann", "Example", "1940-01-01", "Y99999"
        ),
        "ods_code",
        "already added",
    ),
    (
        "malformed NMC PIN",
        lambda h: staff.add_staff(
            h.ctx, "nurse.x", "Nurse X", ["nurse"], "a long password", nmc_pin="1234567"
        ),
        "nmc_pin",
        "NNLNNNNL",
    ),
    (
        "nurse without PIN",
        lambda h: staff.add_staff(h.ctx, "nurse.y", "Nurse Y", ["nurse"], "a long password"),
        "nmc_pin",
        "NMC PIN",
    ),
    (
        "UK-style date",
        lambda h: residents.add_resident(
            h.ctx, "999 000 0018", "Ann", "Example", "01/01/1940", ODS
        ),
        "date_of_birth",
        "YYYY-MM-DD",
    ),
    (
        "impossible date",
        lambda h: residents.add_resident(
            h.ctx, "999 000 0018", "Ann", "Example", "1940-02-30", ODS
        ),
        "date_of_birth",
        "YYYY-MM-DD",
    ),
    (
        "future birth",
        lambda h: residents.add_resident(
            h.ctx, "999 000 0018", "Ann", "Example", "2030-01-01", ODS
        ),
        "date_of_birth",
        "past",
    ),
    (
        "empty name",
        lambda h: residents.add_resident(h.ctx, "999 000 0018", "  ", "Example", "1940-01-01", ODS),
        "given_name",
        "must not be empty",
    ),
    (
        "control characters",
        lambda h: residents.add_resident(
            h.ctx, "999 000 0018", "Ann\x00", "Example", "1940-01-01", ODS
        ),
        "given_name",
        "control characters",
    ),
    (
        "justification of 12 zero-width spaces",
        lambda h: access.open_access_session(h.ctx, h.resident.id, "medication_check", ZWSP * 12),
        "justification",
        "zero-width spaces or right-to-left marks (found U+200B)",
    ),
    (
        "justification of 12 right-to-left overrides",
        lambda h: access.open_access_session(h.ctx, h.resident.id, "medication_check", RLO * 12),
        "justification",
        "found U+202E",
    ),
    (
        "name turned round by a right-to-left override",
        lambda h: residents.add_resident(
            h.ctx, "999 000 0018", "Ann", f"{RLO}elpmaxE", "1940-01-01", ODS
        ),
        "family_name",
        "found U+202E",
    ),
    (
        "practice name with a zero-width space",
        lambda h: practices.add_practice(h.ctx, f"River{ZWSP}side Surgery", "Y05678"),
        "name",
        "invisible formatting characters",
    ),
    (
        "consent reason with a byte-order mark",
        lambda h: consent.record_consent(
            h.ctx, h.resident.id, "refused", "resident", reason="\ufeffPrefers a call"
        ),
        "reason",
        "found U+FEFF",
    ),
    (
        "agreement number beyond SQLite's 64 bits",
        lambda h: practices.end_agreement(h.ctx, 2**64, "2026-12-31"),
        "agreement_id",
        "an existing agreement",
    ),
    (
        "resident number beyond SQLite's 64 bits",
        lambda h: residents.admit(h.ctx, 2**64, at="2026-11-20"),
        "resident_id",
        "an existing resident",
    ),
    (
        "staff number beyond SQLite's 64 bits",
        lambda h: staff.update_staff(h.ctx, -(2**63) - 1, full_name="Tess Renamed"),
        "staff_id",
        "an existing staff member",
    ),
    (
        "refusal number beyond SQLite's 64 bits",
        lambda h: access.log_gp_contact(
            h.ctx, h.resident.id, "Dr Priya Practice", "A dose query", "Call back", 2**63
        ),
        "refusal_id",
        "a recorded refusal",
    ),
    (
        "huge name",
        lambda h: residents.add_resident(
            h.ctx, "999 000 0018", "A" * 10_000, "Example", "1940-01-01", ODS
        ),
        "given_name",
        "at most 80",
    ),
    (
        "easily guessed password (digits)",
        lambda h: staff.add_staff(h.ctx, "x.y", "X Y", ["carer"], "1234567890"),
        "password",
        "hard to guess",
    ),
    (
        "easily guessed password (common word)",
        lambda h: staff.add_staff(h.ctx, "x.y", "X Y", ["carer"], "password12"),
        "password",
        "hard to guess",
    ),
    (
        "easily guessed temporary password",
        lambda h: staff.reset_password(h.ctx, h.manager.id, "password12"),
        "new_password",
        "hard to guess",
    ),
    (
        "easily guessed new password",
        lambda h: auth.change_own_password(h.ctx, MANAGER_PASSWORD, "1234567890"),
        "new_password",
        "hard to guess",
    ),
    (
        "wrong current password",
        lambda h: auth.change_own_password(h.ctx, "not my password", "my own password 22"),
        "current_password",
        "the password you log in with",
    ),
    (
        "unknown role",
        lambda h: staff.add_staff(h.ctx, "x.y", "X Y", ["surgeon"], "a long password"),
        "roles",
        "manager",
    ),
    (
        "unknown resident",
        lambda h: residents.admit(h.ctx, 4242),
        "resident_id",
        "existing resident",
    ),
    (
        "unknown purpose",
        lambda h: practices.add_agreement(
            h.ctx,
            ODS,
            starts_on="2026-01-01",
            purposes=["gossip"],
            sections=["summary"],
            home_signatory="A",
            practice_signatory="B",
        ),
        "purposes",
        "medication_check",
    ),
    (
        "agreement ending before it starts",
        lambda h: practices.add_agreement(
            h.ctx,
            ODS,
            starts_on="2026-06-01",
            ends_on="2026-05-01",
            purposes=["medication_check"],
            sections=["summary"],
            home_signatory="A",
            practice_signatory="B",
        ),
        "ends_on",
        "on or after",
    ),
    (
        "representative without capacity assessment",
        lambda h: consent.record_consent(
            h.ctx,
            h.resident.id,
            "granted",
            "lpa_attorney",
            representative_name="Jo Example",
            representative_relationship="Daughter",
            authority_reference="LPA 7000-1234-5678",
        ),
        "lacks_capacity",
        "capacity assessment",
    ),
    (
        "attorney without authority reference",
        lambda h: consent.record_consent(
            h.ctx,
            h.resident.id,
            "granted",
            "lpa_attorney",
            representative_name="Jo Example",
            representative_relationship="Daughter",
            lacks_capacity=True,
            capacity_assessed_on="2026-11-01",
            capacity_assessment="Cannot weigh information",
        ),
        "authority_reference",
        "LPA registration",
    ),
    (
        "withdrawal without reason",
        lambda h: consent.record_consent(h.ctx, h.resident.id, "withdrawn", "resident"),
        "reason",
        "reason",
    ),
]


@pytest.mark.parametrize(
    ("call", "field", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_naming_the_field(home: Home, call, field: str, expected: str) -> None:
    home.resident = home.add_resident(consent_by=None)  # type: ignore[attr-defined]
    before = _counts(home)
    with pytest.raises(ValidationError) as bad:
        call(home)
    assert bad.value.field == field
    assert expected in str(bad.value)
    assert str(bad.value).startswith(f"{field}: ")
    assert _counts(home) == before


def test_discharge_before_admission_is_refused_and_the_stay_kept(home: Home) -> None:
    resident = home.add_resident(admitted="2026-11-10")
    before = _counts(home)
    with pytest.raises(ValidationError) as bad:
        residents.discharge(home.ctx, resident.id, at="2026-11-09")
    assert bad.value.field == "discharged_at" and "after the admission" in str(bad.value)
    assert _counts(home) == before
    assert residents.resident_details(home.ctx, resident.id).current_stay is not None


def test_overlapping_admission_is_refused(home: Home) -> None:
    resident = home.add_resident(admitted="2026-11-10")
    with pytest.raises(ValidationError, match="discharge of the current stay"):
        residents.admit(home.ctx, resident.id, at="2026-11-12")
    residents.discharge(home.ctx, resident.id, at="2026-11-15")
    with pytest.raises(ValidationError, match="after the end"):
        residents.admit(home.ctx, resident.id, at="2026-11-14")


def test_duplicate_nhs_number_and_username_are_refused(home: Home) -> None:
    resident = home.add_resident()
    with pytest.raises(ValidationError, match="already registered"):
        residents.add_resident(home.ctx, resident.nhs_number, "Other", "Person", "1940-01-01", ODS)
    nurse = home.add_nurse()
    with pytest.raises(ValidationError, match="already in use"):
        staff.add_staff(
            home.ctx, nurse.username.upper(), "Someone Else", ["carer"], "a long password"
        )


def test_names_in_any_script_are_kept_exactly(home: Home) -> None:
    resident = residents.add_resident(
        home.ctx, "999 000 0018", "Siobhán", "Ó Briain-Nguyễn 李", "1940-01-01", ODS
    )
    listing = residents.find_residents(home.ctx, "Nguyễn")
    assert [r.resident.family_name for r in listing] == ["Ó Briain-Nguyễn 李"]
    assert resident.nhs_number == "9990000018"


def test_a_home_database_takes_real_numbers_and_refuses_the_test_range(
    tmp_path: Path, clock: Clock
) -> None:
    """Expected: a home's database (not a demo or training one) refuses 999 numbers, saying
    where they belong, and takes numbers from England's and Scotland's ranges; a CHI number's
    date of birth cannot be corrected away from the number. Nothing is written by a refusal."""
    vault, _code = Vault.create(tmp_path / "home.db")
    home = Home.set_up(Context(vault, clock=clock), clock)
    try:
        before = _counts(home)
        with pytest.raises(ValidationError) as caught:
            residents.add_resident(home.ctx, "999 000 0018", "Ann", "Example", "1940-01-01", ODS)
        assert caught.value.field == "nhs_number"
        assert "999 numbers are for testing, accepted in a demo or training database" in str(
            caught.value
        )
        assert _counts(home) == before
        england = nhs_number_starting("4")
        assert (
            residents.add_resident(
                home.ctx, england, "Ann", "Example", "1940-01-01", ODS
            ).nhs_number
            == england
        )
        chi = residents.add_resident(
            home.ctx, nhs_number_starting("170538"), "Bea", "Example", "1938-05-17", ODS
        )
        before = _counts(home)
        with pytest.raises(ValidationError) as caught:
            residents.update_resident(home.ctx, chi.id, date_of_birth="1938-05-18")
        assert caught.value.field == "date_of_birth" and "starts 170538" in str(caught.value)
        assert _counts(home) == before
    finally:
        vault.close()
