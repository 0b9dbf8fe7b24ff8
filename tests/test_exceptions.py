"""The manager's "needs attention" list."""

import pytest

from carehome_share.domain.errors import AccessRefused
from carehome_share.services import access, consent, exceptions, practices, reports
from tests.conftest import Clock
from tests.factories import ODS, Home


def _kinds(home: Home) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in exceptions.needing_attention(home.ctx):
        found.setdefault(item.kind, []).append(item.text)
    return found


def _send_report(home: Home, first: str = "2026-11-01", last: str = "2026-11-30") -> None:
    reports.gp_access_report(home.ctx, ODS, first, last, lambda report: None)


def test_a_quiet_home_needs_no_attention(home: Home) -> None:
    home.add_resident()
    home.add_nurse()
    _send_report(home)
    assert _kinds(home) == {}


def test_a_practice_is_due_a_report_until_one_is_sent(home: Home, clock: Clock) -> None:
    """What a report proves holds up to the last one the practice holds: the manager is
    reminded when none was sent for a month (a setting)."""
    assert _kinds(home)["report_due"] == [
        "GP access report due for Riverside Surgery (none sent yet): send one so the practice "
        "can check nothing since was changed"
    ]
    _send_report(home)
    assert "report_due" not in _kinds(home)
    clock.advance(days=32)
    assert _kinds(home)["report_due"] == [
        "GP access report due for Riverside Surgery (last sent 21/11/2026): send one so the "
        "practice can check nothing since was changed"
    ]


def test_refusals_and_unusual_sessions_are_listed(home: Home, clock: Clock) -> None:
    consented = home.add_resident()
    unconsented = home.add_resident(consent_by=None)
    nurse = home.add_nurse()
    home.log_in(nurse)
    with pytest.raises(AccessRefused):
        home.open_session(unconsented)
    long_one = home.open_session(consented)
    clock.advance(minutes=20)
    access.close_access_session(home.ctx, long_one.id)
    home.open_session(consented)
    clock.advance(minutes=45)
    access.close_stale_sessions(home.ctx)
    home.as_manager()
    kinds = _kinds(home)
    assert kinds["refusal"] == [
        f"Access refused to {nurse.full_name} for {unconsented.full_name}: no consent decision is recorded"
    ]
    assert kinds["long_session"] == [
        f"Session by {nurse.full_name} on {consented.full_name}'s record open 20 minutes"
    ]
    assert kinds["auto_closed"] == [
        f"Session by {nurse.full_name} on {consented.full_name}'s record auto-closed (left open)"
    ]


def test_refusals_older_than_a_week_drop_off(home: Home, clock: Clock) -> None:
    resident = home.add_resident(consent_by=None)
    home.log_in(home.add_nurse())
    with pytest.raises(AccessRefused):
        home.open_session(resident)
    home.as_manager()
    clock.advance(days=8)
    assert "refusal" not in _kinds(home)


def test_reviews_checks_and_agreements_coming_due(home: Home) -> None:
    resident = home.add_resident(consent_by=None)
    consent.record_consent(home.ctx, resident.id, "granted", "resident", review_on="2026-12-01")
    home.add_nurse(nmc_expires_on="2026-12-10")
    home.add_nurse(nmc_checked_on="2025-10-01", nmc_expires_on="2027-09-30")
    practices.add_practice(home.ctx, "Hillside Surgery", "Y05678")
    practices.add_agreement(
        home.ctx,
        "Y05678",
        starts_on="2026-01-01",
        ends_on="2026-12-31",
        purposes=["medication_check"],
        sections=["summary"],
        home_signatory="Mary Manager",
        practice_signatory="Dr Hill",
    )
    kinds = _kinds(home)
    assert kinds["consent_review"] == [f"Consent review due for {resident.full_name} on 01/12/2026"]
    assert len(kinds["nmc"]) == 2
    assert any("expires 10/12/2026" in t for t in kinds["nmc"])
    assert any("register check due" in t for t in kinds["nmc"])
    assert kinds["agreement"] == ["Data sharing agreement with Hillside Surgery ends 31/12/2026"]
