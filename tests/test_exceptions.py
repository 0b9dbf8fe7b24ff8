"""The manager's "needs attention" list."""

import pytest

from carehome_share.domain.errors import AccessRefused, AuthenticationFailed
from carehome_share.services import auth, consent, exceptions, reports
from carehome_share.services.context import Context
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


def test_a_practice_is_due_a_report_once_something_waits_a_month(home: Home, clock: Clock) -> None:
    """What a report proves holds up to the last one the practice holds: the manager is
    reminded when something recorded about its patients has waited longer than the setting
    (31 days) without a report; a quiet practice is not nagged."""
    home.add_resident()  # recorded today, about the practice's patient
    assert "report_due" not in _kinds(home)
    clock.advance(days=32)
    assert _kinds(home)["report_due"] == [
        "GP access report due for Riverside Surgery: what was recorded about its patients "
        "since 21/11/2026 has not been sent to it yet"
    ]
    _send_report(home, "2026-11-01", "2026-12-31")
    assert "report_due" not in _kinds(home)


def test_overdue_first_then_now_then_upcoming_and_a_past_date_said_as_past(
    home: Home, clock: Clock
) -> None:
    """A registration whose last day has passed "expired ... 12 days ago", never "is valid
    until"; overdue items come first, the longest overdue first, then today's, newest first,
    then what is coming, soonest first."""
    lapsed = home.add_nurse(nmc_expires_on="2026-11-25")
    soon = home.add_nurse(nmc_expires_on="2026-12-20")
    resident = home.add_resident(consent_by=None)
    consent.record_consent(home.ctx, resident.id, "granted", "resident", review_on="2026-12-31")
    clock.set("2026-12-07T09:00:00")
    refused = home.add_resident(consent_by=None)
    home.log_in(soon)
    with pytest.raises(AccessRefused):
        home.open_session(refused)
    clock.advance(minutes=5)
    station = Context(home.ctx.vault, clock=clock, workstation="nurses-station-2")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.log_in(station, lapsed.username, "guessing wrong")
    home.as_manager()
    listed = [(a.urgency, a.kind, a.text) for a in exceptions.needing_attention(home.ctx)]
    assert listed == [
        (
            "overdue",
            "nmc",
            f"NMC registration of {lapsed.full_name} expired: its last day was 25/11/2026, "
            "12 days ago",
        ),
        (
            "now",
            "lockout",
            f"{lapsed.full_name} is locked out until 09:20 after repeated wrong passwords: "
            "clear the lockout on the Staff page once you know it was them",
        ),
        (
            "now",
            "refusal",
            f"Access refused to {soon.full_name} for {refused.full_name}: no consent "
            "decision is recorded",
        ),
        (
            "upcoming",
            "nmc",
            f"NMC registration of {soon.full_name} is valid until 20/12/2026 (its last day), "
            "in 13 days",
        ),
        (
            "upcoming",
            "consent_review",
            f"Consent review for {resident.full_name} is due 31/12/2026, in 24 days",
        ),
    ]
    clock.set("2027-01-02T09:00:00")
    (review,) = [a for a in exceptions.needing_attention(home.ctx) if a.kind == "consent_review"]
    assert (review.urgency, review.text) == (
        "overdue",
        f"Consent review for {resident.full_name} was due 31/12/2026, 2 days ago",
    )
