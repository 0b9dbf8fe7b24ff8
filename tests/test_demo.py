"""The demo generator: the sizes asked for, a whole audit chain, and data the access rules agree
with at every moment it claims an access happened."""

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from carehome_share import demo
from carehome_share.domain.consent import consent_state
from carehome_share.domain.errors import AccessRefused, AuthenticationFailed, CarehomeError
from carehome_share.domain.identifiers import parse_nhs_number
from carehome_share.domain.model import (
    ConsentKind,
    DecidedBy,
    Purpose,
    Resident,
    ResidentRecord,
    Role,
    Staff,
)
from carehome_share.domain.rules import decide
from carehome_share.domain.validation import uk_date
from carehome_share.services import access, auth
from carehome_share.services.context import Context
from carehome_share.store import audit, bulk, repo
from carehome_share.store.audit import Actor, AuditEntry
from carehome_share.store.repo import AccessSession
from carehome_share.store.vault import Vault
from tests.conftest import Clock

RESIDENTS, SESSIONS = 30, 300


@pytest.fixture
def summary(ctx: Context) -> demo.DemoSummary:
    return demo.generate(ctx, residents=RESIDENTS, sessions=SESSIONS, seed=1)


def all_residents(ctx: Context) -> list[Resident]:
    found = [repo.get_resident(ctx.conn, i) for i in range(1, RESIDENTS + 1)]
    assert repo.get_resident(ctx.conn, RESIDENTS + 1) is None
    return [r for r in found if r is not None]


def all_sessions(ctx: Context, count: int) -> list[AccessSession]:
    found = [repo.get_session(ctx.conn, i) for i in range(1, count + 1)]
    assert repo.get_session(ctx.conn, count + 1) is None
    return [s for s in found if s is not None]


def staff_as_at(ctx: Context, entries: list[AuditEntry], staff_id: int, at: datetime) -> Staff:
    """A staff record as the rules saw it then, rebuilt from the audit trail."""
    staff = repo.get_staff(ctx.conn, staff_id)
    assert staff is not None
    checked = expires = None
    active = True
    moment = audit.format_time(at)
    for e in entries:
        if e.at > moment or e.details.get("staff_id") != staff_id:
            continue
        if e.action == "record_nmc_check":
            checked = date.fromisoformat(str(e.details["checked_on"]))
            expires = date.fromisoformat(str(e.details["expires_on"]))
        elif e.action == "deactivate_staff":
            active = False
    return replace(staff, nmc_checked_on=checked, nmc_expires_on=expires, active=active)


def record_as_at(ctx: Context, resident_id: int, at: datetime) -> ResidentRecord:
    """A resident's record with only the consent decisions recorded by then."""
    record = repo.resident_record(ctx.conn, resident_id)
    assert record is not None
    return replace(record, consents=tuple(c for c in record.consents if c.recorded_at <= at))


def test_gives_the_sizes_asked_for(ctx: Context, summary: demo.DemoSummary) -> None:
    assert summary.residents == RESIDENTS
    assert len(all_residents(ctx)) == RESIDENTS
    assert summary.sessions == SESSIONS
    assert len(all_sessions(ctx, SESSIONS)) == SESSIONS
    assert 0.6 <= summary.current_residents / RESIDENTS <= 0.7
    assert 0.03 <= summary.refusals / SESSIONS <= 0.05
    assert 0 < summary.contacts < summary.refusals
    assert 0 < summary.auto_closed < SESSIONS // 10
    assert summary.staff == len(demo.DEMO_ACCOUNTS) == len(repo.list_staff(ctx.conn))
    assert 2 <= summary.practices == len(repo.list_practices(ctx.conn)) <= 4
    assert repo.home_name(ctx.conn) == demo.HOME_NAME
    assert ctx.login is None  # nobody is left logged in


def test_current_residents_are_admitted_now(ctx: Context, summary: demo.DemoSummary) -> None:
    now = ctx.now()
    current = [
        r for r in all_residents(ctx) if any(s.covers(now) for s in repo.stays(ctx.conn, r.id))
    ]
    assert len(current) == summary.current_residents
    assert len({r.room for r in current}) == len(current)  # one room each
    assert any(len(repo.stays(ctx.conn, r.id)) > 1 for r in all_residents(ctx))  # readmissions


def test_audit_chain_is_whole_and_in_time_order(ctx: Context, summary: demo.DemoSummary) -> None:
    result = audit.verify(ctx.vault)
    assert result.ok, result.problems
    assert result.head_seq == result.entries == summary.audit_entries
    entries = audit.entries(ctx.conn)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert entries[-1].at <= audit.format_time(ctx.now())

    by_session: dict[object, list[str]] = {}
    for e in entries:
        if e.outcome == "allowed" and "session_id" in e.details:
            by_session.setdefault(e.details["session_id"], []).append(e.action)
    assert len(by_session) == SESSIONS
    endings = {"close_access_session", "auto_close_session"}
    for actions in by_session.values():
        assert actions[:2] == ["open_access_session", "record_sections_viewed"]
        assert len(actions) == 3 and actions[2] in endings
    denied = [e for e in entries if e.action == "open_access_session" and e.outcome == "denied"]
    assert len(denied) == summary.refusals
    assert sum(e.action == "log_gp_contact" for e in entries) == summary.contacts


def test_same_seed_gives_the_same_residents(tmp_path: Path, clock: Clock) -> None:
    def people(name: str, seed: int) -> list[tuple[object, ...]]:
        vault, _code = Vault.create(tmp_path / name, purpose="demo")
        try:
            ctx = Context(vault, clock=clock, workstation="office")
            demo.generate(ctx, residents=RESIDENTS, sessions=100, seed=seed)
            return [
                (r.nhs_number, r.given_name, r.family_name, r.date_of_birth, r.room, r.practice_id)
                for r in all_residents(ctx)
            ]
        finally:
            vault.close()

    first = people("a.db", seed=7)
    assert people("b.db", seed=7) == first
    assert people("c.db", seed=8) != first


def test_nhs_numbers_only_from_the_test_range(ctx: Context, summary: demo.DemoSummary) -> None:
    for resident in all_residents(ctx):
        assert resident.nhs_number.startswith("999")
        assert parse_nhs_number(resident.nhs_number, test_range=True) == resident.nhs_number
        assert 1925 <= resident.date_of_birth.year <= 1950


def test_every_session_was_allowed_by_the_rules_then(
    ctx: Context, summary: demo.DemoSummary
) -> None:
    entries = audit.entries(ctx.conn)
    for session in all_sessions(ctx, SESSIONS):
        assert session.closed_at is not None and session.closed_at > session.opened_at
        stays = repo.stays(ctx.conn, session.resident_id)
        assert any(s.covers(session.opened_at) and s.covers(session.closed_at) for s in stays)

        record = record_as_at(ctx, session.resident_id, session.opened_at)
        state = consent_state(record.consents, uk_date(session.opened_at))
        assert state.in_force and state.latest is not None
        assert state.latest.kind is ConsentKind.GRANTED
        assert state.latest.id == session.consent_id

        nurse = staff_as_at(ctx, entries, session.staff_id, session.opened_at)
        decision = decide(
            nurse, Role.NURSE, record, session.purpose, session.justification, session.opened_at
        )
        assert decision.allowed, decision.reasons
        assert decision.agreement is not None and decision.agreement.id == session.agreement_id
        assert session.nmc_pin == nurse.nmc_pin
        assert session.sections and set(session.sections) <= set(decision.agreement.sections)


def test_refusals_name_the_reasons_the_rules_give(ctx: Context, summary: demo.DemoSummary) -> None:
    entries = audit.entries(ctx.conn)
    refusals = [e for e in entries if e.action == "open_access_session" and e.outcome == "denied"]
    assert refusals
    staff_ids = {s.username: s.id for s in repo.list_staff(ctx.conn)}
    for e in refusals:
        assert e.reasons and all(e.reasons)
        assert repo.refusal_exists(ctx.conn, int(e.details["refusal_id"]))  # type: ignore[call-overload]
        at = datetime.fromisoformat(e.at)
        assert e.resident_id is not None
        decision = decide(
            staff_as_at(ctx, entries, staff_ids[e.actor_username], at),
            Role(e.actor_role),
            record_as_at(ctx, e.resident_id, at),
            Purpose(e.details["purpose"]),
            str(e.details["justification"]),
            at,
        )
        assert [r.text for r in decision.reasons] == e.reasons
    refused_ids = {e.details["refusal_id"] for e in refusals}
    calls = [e for e in entries if e.action == "log_gp_contact"]
    assert calls and all(c.details["refusal_id"] in refused_ids for c in calls)


def test_every_kind_of_consent_history(ctx: Context, summary: demo.DemoSummary) -> None:
    today = uk_date(ctx.now())
    histories = [repo.consents(ctx.conn, r.id) for r in all_residents(ctx)]
    decisions = [c for history in histories for c in history]
    granted_by = {c.decided_by for c in decisions if c.kind is ConsentKind.GRANTED}
    assert granted_by == set(DecidedBy)
    assert {c.kind for c in decisions} == set(ConsentKind)
    for c in decisions:
        if c.decided_by is not DecidedBy.RESIDENT:
            assert c.lacks_capacity and c.capacity_assessed_on and c.capacity_assessment
    assert any(c.expires_on is not None and c.expires_on <= today for c in decisions)
    states = [consent_state(history, today) for history in histories]
    assert any(s.review_due for s in states)
    assert any(s.problem and s.problem.code.value == "no_consent" for s in states)


def test_demo_accounts_log_in_with_the_demo_password(
    ctx: Context, summary: demo.DemoSummary
) -> None:
    login = auth.log_in(ctx, "nurse.amira", demo.DEMO_PASSWORD)
    assert login.role is Role.NURSE
    assert not auth.must_change_password(ctx)
    auth.log_out(ctx)
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        auth.log_in(ctx, "nurse.ruth", demo.DEMO_PASSWORD)
    assert auth.log_in(ctx, "deputy.sarah", demo.DEMO_PASSWORD, "nurse").role is Role.NURSE
    auth.log_out(ctx)

    # the nurse whose NMC registration lapsed is refused, whoever the resident
    latest = all_sessions(ctx, SESSIONS)[-1]
    auth.log_in(ctx, "nurse.tom", demo.DEMO_PASSWORD)
    with pytest.raises(AccessRefused) as refused:
        access.open_access_session(
            ctx, latest.resident_id, "medication_check", "Checking the repeat medication"
        )
    assert "the NMC registration is not current" in refused.value.reasons
    assert audit.verify(ctx.vault).ok


def test_only_fills_an_empty_database(ctx: Context, summary: demo.DemoSummary) -> None:
    with pytest.raises(CarehomeError, match="empty"):
        demo.generate(ctx, residents=5, sessions=10, seed=1)


def test_batched_audit_entries_chain_on_and_never_go_back(ctx: Context) -> None:
    nurse = Actor("nurse.amira", "Amira Hassan", "nurse", "99A1001E")
    later = bulk.AuditEvent("2026-11-21T10:00:00Z", nurse, "ws", "log_in", "allowed", None)
    earlier = later._replace(at="2026-11-21T09:59:59Z")
    with ctx.vault.transaction() as conn:
        assert bulk.append_audit(conn, [later, later])[0] == 2
        with pytest.raises(ValueError, match="would follow"):
            bulk.append_audit(conn, [earlier])
    result = audit.verify(ctx.vault)
    assert result.ok and result.entries == 2
