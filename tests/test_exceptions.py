"""The manager's "needs attention" list."""

from carehome_share.services import exceptions, reports
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
