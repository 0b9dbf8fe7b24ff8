"""The access rules at their edges, through the services with the clock set: dates and times
out of range or that UK clocks skip or repeat; end dates; decisions entered late; sessions that
outlive the rules; alerts; the same person deciding and looking."""

from datetime import UTC, datetime

import pytest

from carehome_share.domain.errors import AccessRefused, ValidationError
from carehome_share.domain.model import CloseKind, Role
from carehome_share.domain.rules import SELF_DECIDED_ALERT
from carehome_share.services import access, consent, exceptions, practices, residents, staff
from carehome_share.services import audit as audit_service
from carehome_share.store import audit, repo
from carehome_share.store.repo import AccessSession
from tests.conftest import Clock
from tests.factories import TWO_STAGE_TEST, Home
from tests.test_reports import access_report, flat


def _access_refused(home: Home, resident) -> list[str]:
    with pytest.raises(AccessRefused) as refused:
        home.open_session(resident)
    return refused.value.reasons


def _refused(call, field: str) -> str:
    with pytest.raises(ValidationError) as refused:
        call()
    assert refused.value.field == field
    return str(refused.value)


# -- dates and instants: in range, and times UK clocks show once -----------------------------


def test_a_uk_time_the_clocks_skip_is_refused_and_one_they_repeat_needs_its_offset(
    home: Home,
) -> None:
    resident = home.add_resident(admitted=None)
    admit = residents.admit

    skipped = _refused(lambda: admit(home.ctx, resident.id, "2026-03-29T01:30"), "admitted_at")
    assert "01:30 on 29/03/2026 does not" in skipped
    twice = _refused(lambda: admit(home.ctx, resident.id, "2026-10-25T01:30"), "admitted_at")
    assert "happens twice" in twice and "+01:00" in twice and "+00:00" in twice
    assert residents.resident_details(home.ctx, resident.id).record.stays == ()

    second = admit(home.ctx, resident.id, "2026-10-25T01:30+00:00")  # GMT: the second 01:30
    assert second.admitted_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    first = "2026-10-25T01:45+01:00"  # BST: the first 01:45, before the second 01:30
    discharge = residents.discharge
    assert "after the admission" in _refused(
        lambda: discharge(home.ctx, resident.id, first), "discharged_at"
    )


@pytest.mark.parametrize("typed", ["0026-11-29", "0026-11-29T10:00", "9999-12-31", "1899-12-31"])
def test_a_moment_outside_1900_to_2100_is_refused_naming_the_field(home: Home, typed) -> None:
    resident = home.add_resident(admitted=None)
    head = audit.head(home.ctx.conn)
    message = _refused(lambda: residents.admit(home.ctx, resident.id, typed), "admitted_at")
    assert "from 1900 to 2100" in message
    assert audit.head(home.ctx.conn) == head, "nothing written"


def test_instants_are_stored_with_four_digit_years(home: Home) -> None:
    resident = home.add_resident(admitted="1900-01-01T00:00+00:00")
    stored = home.ctx.conn.execute(
        "SELECT admitted_at FROM stay WHERE resident_id = ?", (resident.id,)
    ).fetchone()[0]
    assert stored == "1900-01-01T00:00:00Z"
    assert (
        residents.resident_details(home.ctx, resident.id).record.stays[0].admitted_at.year == 1900
    )


# -- every end date is the last day it holds ---------------------------------------------------


def test_every_end_date_holds_through_its_last_day_then_all_end_together(
    home: Home, clock: Clock
) -> None:
    """An agreement's last day, an NMC registration's and a consent's mean the same: in force
    to the end of that UK day (in summer, 23:00 UTC)."""
    agreement = practices.list_agreements(home.ctx)[0]
    practices.end_agreement(home.ctx, agreement.id, "2027-07-31")
    resident = home.add_resident(consent_by=None)
    consent.record_consent(home.ctx, resident.id, "granted", "resident", expires_on="2027-07-31")
    nurse = home.add_nurse(nmc_expires_on="2027-07-31")
    home.log_in(nurse)
    clock.set("2027-07-31T22:59:59")
    home.open_session(resident)
    clock.set("2027-07-31T23:00:00")
    refused = _access_refused(home, resident)
    assert refused == [
        "the NMC registration is not current",
        "no data sharing agreement with the GP practice is in force",
        "consent expired: its last day was 31/07/2027",
    ]


# -- the decision made last stands, however late it was entered --------------------------------


def test_a_paper_grant_entered_late_does_not_reverse_a_later_withdrawal(
    home: Home, clock: Clock
) -> None:
    """Granted 02/11, withdrawn 19/11, then the paper form of a grant made on 03/11 typed in on
    25/11: the withdrawal was made last, so it stands, and the late entry says it is one."""
    resident = home.add_resident(consent_by=None)
    nurse = home.add_nurse()
    clock.set("2026-11-02T10:00")
    consent.record_consent(home.ctx, resident.id, "granted", "resident")
    clock.set("2026-11-19T09:00")
    consent.record_consent(home.ctx, resident.id, "withdrawn", "resident", reason="Changed mind")
    clock.set("2026-11-25T14:00")
    paper = consent.record_consent(
        home.ctx, resident.id, "granted", "resident", decided_on="2026-11-03"
    )
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert entry.details["entered_late"] is True
    assert paper.entered_late and paper.decided_at is None

    state = consent.consent_in_force(home.ctx, resident.id)
    assert state.latest.kind.value == "withdrawn" and state.overtaken == paper
    assert entry.details["standing_consent_id"] == state.latest.id
    home.log_in(nurse)
    assert _access_refused(home, resident) == [
        "consent was withdrawn by the resident on 19/11/2026"
    ]


def test_two_decisions_at_one_moment_the_more_protective_stands(home: Home, clock: Clock) -> None:
    resident = home.add_resident(consent_by=None)
    nurse = home.add_nurse()
    consent.record_consent(home.ctx, resident.id, "objection", "resident", reason="Said no")
    consent.record_consent(home.ctx, resident.id, "granted", "resident")  # the same second
    home.log_in(nurse)
    assert "an objection was recorded" in _access_refused(home, resident)[0]
    home.as_manager()
    clock.advance(minutes=1)
    consent.record_consent(home.ctx, resident.id, "granted", "resident")
    home.log_in(nurse)
    home.open_session(resident)


# -- a change to the rules ends the sessions it affects ----------------------------------------


def _stored(home: Home, session) -> AccessSession:
    return repo.get_session(home.ctx.conn, session.id)


CHANGES = {
    "withdrawal": lambda h, r, n: consent.record_consent(
        h.ctx, r.id, "withdrawn", "resident", reason="Does not want it looked at"
    ),
    "objection": lambda h, r, n: consent.record_consent(
        h.ctx, r.id, "objection", "resident", reason="Said no"
    ),
    "discharge": lambda h, r, n: residents.discharge(h.ctx, r.id),
    "deactivation": lambda h, r, n: staff.deactivate_staff(h.ctx, n.id),
    "registration found lapsed": lambda h, r, n: staff.record_nmc_check(
        h.ctx, n.id, "2026-11-20", "2026-11-20"
    ),
    "agreement cut short": lambda h, r, n: practices.end_agreement(
        h.ctx, practices.list_agreements(h.ctx)[0].id, "2026-11-20"
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_to_the_rules_ends_the_open_session_at_that_moment(
    home: Home, clock: Clock, change: str
) -> None:
    resident, nurse = home.add_resident(), home.add_nurse()
    home.log_in(nurse)
    session = home.open_session(resident)
    access.record_sections_viewed(home.ctx, session.id, ["medications"])
    clock.advance(minutes=3)
    home.as_manager()
    CHANGES[change](home, resident, nurse)
    ended = _stored(home, session)
    assert (ended.close_kind, ended.closed_at) == (CloseKind.ENDED, clock.now)
    cause, closing = audit.entries(home.ctx.conn, last=2)
    assert closing.action == "auto_close_session" and closing.details["close_kind"] == "ended"
    assert closing.details["session_id"] == session.id and closing.resident_id == resident.id
    assert closing.details["reason"] == ended.close_reason != ""
    assert cause.action != "auto_close_session", "the change first, then what it ended"
    assert audit_service.verify(home.ctx).ok


def test_the_nurse_is_told_her_session_was_ended_and_why(home: Home, clock: Clock) -> None:
    resident, nurse = home.add_resident(), home.add_nurse()
    home.log_in(nurse)
    session = home.open_session(resident)
    clock.advance(minutes=3)
    home.as_manager()
    CHANGES["withdrawal"](home, resident, nurse)
    home.log_in(nurse)
    clock.advance(minutes=1)
    told = "was ended at 21/11/2026 10:03: consent was withdrawn by the resident on 21/11/2026"
    for touch in (access.record_sections_viewed, access.close_access_session):
        args = (["allergies"],) if touch is access.record_sections_viewed else ()
        assert told in _refused(lambda t=touch, a=args: t(home.ctx, session.id, *a), "session_id")
    checked = access.check_session(home.ctx, session.id)
    assert checked.close_kind is CloseKind.ENDED and told.endswith(checked.close_reason)
    assert _stored(home, session).sections == ()


LAPSES = {
    # what runs out by itself (set up by the manager beforehand), when, and the reason given
    "agreement's last day": (
        lambda h, r, n: practices.end_agreement(
            h.ctx, practices.list_agreements(h.ctx)[0].id, "2026-11-21"
        ),
        "2026-11-22T00:00",
        "no data sharing agreement with the GP practice is in force",
    ),
    "registration's last day": (
        lambda h, r, n: staff.record_nmc_check(h.ctx, n.id, "2026-10-01", "2026-11-21"),
        "2026-11-22T00:00",
        "the NMC registration is not current",
    ),
    "consent's last day": (
        lambda h, r, n: consent.record_consent(
            h.ctx, r.id, "granted", "resident", expires_on="2026-11-21"
        ),
        "2026-11-22T00:00",
        "consent expired: its last day was 21/11/2026",
    ),
    "discharge set for later": (
        lambda h, r, n: residents.discharge(h.ctx, r.id, "2026-11-21T23:55"),
        "2026-11-21T23:55",
        "not currently resident (outside any admission)",
    ),
}


@pytest.mark.parametrize("lapse", LAPSES)
@pytest.mark.parametrize("touch", ["sections", "sweep"])
def test_what_runs_out_by_itself_ends_the_session_as_of_that_moment(
    home: Home, clock: Clock, lapse: str, touch: str
) -> None:
    """Nothing is written at midnight: the session is closed as of the lapse when it is next
    touched (sections ticked, or the sweep every login runs)."""
    set_up, moment, reason = LAPSES[lapse]
    resident, nurse = home.add_resident(), home.add_nurse()
    clock.set("2026-11-21T23:40")
    set_up(home, resident, nurse)
    home.log_in(nurse)
    clock.set("2026-11-21T23:45")
    session = home.open_session(resident)
    clock.set("2026-11-22T00:05")
    if touch == "sections":
        told = _refused(
            lambda: access.record_sections_viewed(home.ctx, session.id, ["summary"]), "session_id"
        )
        assert reason in told
    else:
        assert access.close_stale_sessions(home.ctx) == [session.id]
    ended = _stored(home, session)
    assert ended.close_kind is CloseKind.ENDED and ended.close_reason == reason
    assert ended.closed_at == clock.set(moment)


def test_the_time_limit_ends_a_session_first_when_it_comes_first(home: Home, clock: Clock) -> None:
    resident, nurse = home.add_resident(), home.add_nurse()
    practices.end_agreement(home.ctx, practices.list_agreements(home.ctx)[0].id, "2026-11-21")
    home.log_in(nurse)
    clock.set("2026-11-21T23:20")
    session = home.open_session(resident)  # its 30 minutes run out at 23:50, before midnight
    clock.set("2026-11-22T08:00")
    assert access.close_stale_sessions(home.ctx) == [session.id]
    closed = _stored(home, session)
    assert closed.close_kind is CloseKind.AUTO_CLOSED and closed.close_reason == ""
    assert closed.closed_at == clock.set("2026-11-21T23:50")


def test_a_session_ended_by_a_change_is_shown_to_the_manager_and_the_practice(
    home: Home, clock: Clock
) -> None:
    resident, nurse = home.add_resident(), home.add_nurse()
    home.log_in(nurse)
    session = home.open_session(resident)
    clock.advance(minutes=3)
    home.as_manager()
    CHANGES["withdrawal"](home, resident, nurse)
    ended = [a for a in exceptions.needing_attention(home.ctx) if a.kind == "session_ended"]
    assert [a.resident_id for a in ended] == [resident.id]
    assert "ended by a change: consent was withdrawn" in ended[0].text
    report = flat(access_report(home.ctx))
    assert f"{session.id} 21/11/2026 10:00-10:03" in report
    assert "ENDED by a change: consent was withdrawn by the resident on 21/11/2026" in report
    assert "Ended by a change to the rules 1" in report


# -- the nurse is told what the manager is told -------------------------------------------------


def test_a_consent_review_that_has_passed_is_said_to_the_nurse_as_the_session_opens(
    home: Home, clock: Clock
) -> None:
    resident = home.add_resident(consent_by=None)
    consent.record_consent(
        home.ctx,
        resident.id,
        "granted",
        "resident",
        decided_on="2026-11-01",
        review_on="2026-11-20",
    )
    home.log_in(home.add_nurse())
    session = home.open_session(resident)
    assert session.alerts == ("the consent decision is due for review",)
    assert audit.entries(home.ctx.conn, last=1)[0].details["alerts"] == list(session.alerts)


# -- the same person decides and looks ---------------------------------------------------------


def _best_interests(home: Home, resident, decision_maker: str) -> None:
    consent.record_consent(
        home.ctx,
        resident.id,
        "granted",
        "best_interests",
        decided_on="2026-11-20",
        lacks_capacity=True,
        capacity_assessed_on="2026-11-20",
        capacity_assessment="Could not retain the information (MCA stage 2).",
        representative_name=decision_maker,
        people_consulted="Son; GP",
        known_wishes="None known",
        **TWO_STAGE_TEST,
    )


def test_a_manager_nurse_may_look_on_her_own_best_interests_decision_and_it_shows(
    home: Home, clock: Clock
) -> None:
    both = home.add_staff(["manager", "nurse"])
    resident = home.add_resident(consent_by=None)
    home.log_in(both, Role.MANAGER)
    _best_interests(home, resident, f"  {both.full_name.upper()} ")  # as typed on the form
    home.log_in(both, Role.NURSE)
    session = home.open_session(resident)
    assert session.decided_by_self and SELF_DECIDED_ALERT in session.alerts
    assert audit.entries(home.ctx.conn, last=1)[0].details["decided_by_self"] is True

    home.as_manager()
    flagged = [a for a in exceptions.needing_attention(home.ctx) if a.kind == "decided_by_self"]
    assert [(a.resident_id, a.staff_id) for a in flagged] == [(resident.id, both.id)]
    report = flat(access_report(home.ctx))
    assert "DECIDED AND LOOKED: the nurse made this best-interests decision" in report
    assert "On the nurse's own best-interests decision 1" in report


def test_a_best_interests_decision_by_someone_else_is_not_marked(home: Home) -> None:
    resident = home.add_resident(consent_by=None)
    _best_interests(home, resident, "Dr Priya Practice")
    home.log_in(home.add_nurse())
    session = home.open_session(resident)
    assert not session.decided_by_self and session.alerts == ()
