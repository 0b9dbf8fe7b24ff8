"""Who may do what, through the services: every action in PERMISSIONS, tried by every role, by
nobody logged in, by accounts deactivated after they logged in, and by accounts still on the
temporary password a manager gave them (good for choosing their own, and nothing else).

A refusal raises PermissionDenied, adds one "denied" audit entry naming the action and the
reasons, and changes nothing else: no row, no key slot, not the key file beside the database.
One home is prepared for the whole module (each login costs an argon2id stretch); every actor
keeps its own Context, logged in once.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import keyring
import pytest

from carehome_share.domain.errors import AccessRefused, PermissionDenied
from carehome_share.domain.model import Resident, Role, Staff
from carehome_share.domain.permissions import PERMISSIONS
from carehome_share.services import (
    access,
    auth,
    backup,
    consent,
    disclosures,
    exceptions,
    fhir_export,
    practices,
    reports,
    residents,
    settings,
    staff,
)
from carehome_share.services import audit as audit_service
from carehome_share.services.context import Context
from carehome_share.store import audit, keyslots
from carehome_share.store.audit import AuditEntry
from carehome_share.store.repo import AccessSession
from carehome_share.store.vault import Vault
from tests.conftest import MemoryKeyring
from tests.factories import ODS, PASSWORD, TEMPORARY_PASSWORD, Home

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
ROLE_ACTORS = [r.value for r in Role]
TEMPORARY_ACTORS = ["temporary-manager", "temporary-nurse"]
ACTORS = [*ROLE_ACTORS, "nobody", "deactivated-manager", "deactivated-nurse", *TEMPORARY_ACTORS]
# All a temporary password may do: choose one's own, and what the app does at any login.
BEFORE_OWN_PASSWORD = {"change_own_password", "close_stale_sessions", "view_settings"}
NEW_OWN_PASSWORD = "my new password 1"
TABLES = (
    "home",
    "settings",
    "staff",
    "practice",
    "agreement",
    "resident",
    "stay",
    "consent_decision",
    "access_session",
    "session_section",
    "access_refusal",
    "gp_contact",
    "key_slot",
    "vault_identity",
    "disclosure_request",
    "disclosure_resident",
    "disclosure_decision",
    "audit_log",
)
KEY_FILE = "key file"  # the key file beside the database, compared like a table


@dataclass
class Actor:
    ctx: Context
    staff: Staff | None  # None: nobody logged in
    role: Role | None
    deactivated: bool = False
    password: str = PASSWORD
    temporary: bool = False  # still on the password the manager set


@dataclass
class World:
    home: Home
    actors: dict[str, Actor]
    target: Staff  # a nurse whose details the manager changes
    leaver: Staff
    resident: Resident  # admitted, with consent
    to_admit: Resident
    to_discharge: Resident
    spare_nhs: str
    spare_agreement_id: int
    session_for_sections: AccessSession  # opened by the nurse actor
    session_to_close: AccessSession
    disclosure_id: int  # a request left undecided: checked and asked about again and again
    spare_practices: dict[str, int]  # unused practices to edit, delete, mark inactive: their ids

    @property
    def conn(self):
        return self.home.ctx.conn

    def actor_of(self, ctx: Context) -> Actor | None:
        return next((a for a in self.actors.values() if a.ctx is ctx), None)

    def password_of(self, ctx: Context) -> str:
        actor = self.actor_of(ctx)
        return actor.password if actor else PASSWORD


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("permissions") / "home.db"
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # never the real keychain, even on a developer's PC
    with pytest.MonkeyPatch.context() as patch:
        # argon2id at its smallest, as conftest does per test (module fixtures come first)
        patch.setattr(keyslots, "PASSWORD_KDF", keyslots.KdfParams(64, 1, 1))
        vault, world = _build_world(path)
    try:
        yield world
    finally:
        vault.close()
        keyring.set_keyring(previous)


def _build_world(path: Path) -> tuple[Vault, World]:
    vault, _code = Vault.create(path, purpose="demo")

    def context(workstation: str) -> Context:
        return Context(vault, clock=lambda: NOW, workstation=workstation)

    home = Home.set_up(context("office"), lambda: NOW)
    actors: dict[str, Actor] = {}
    for role in Role:  # a separate account per role, so the setup manager never acts in a test
        member = home.add_staff([role.value])
        actors[role.value] = Actor(context(f"{role.value}-pc"), member, role)
    actors["deactivated-manager"] = Actor(context("old-pc-1"), home.add_staff(["manager"]), None)
    actors["deactivated-nurse"] = Actor(context("old-pc-2"), home.add_nurse(), None)
    actors["nobody"] = Actor(context("kiosk"), None, None)
    # Added by the manager and logged in with the temporary password, never changed.
    new_manager = staff.add_staff(
        home.ctx, "tara.temp", "Tara Temporary", ["manager"], TEMPORARY_PASSWORD
    )
    new_nurse = staff.add_staff(
        home.ctx,
        "tom.temp",
        "Tom Temporary",
        ["nurse"],
        TEMPORARY_PASSWORD,
        nmc_pin="07A1234E",
        nmc_checked_on="2026-10-01",
        nmc_expires_on="2027-09-30",
    )
    for name, member, pc in (
        ("temporary-manager", new_manager, "new-pc-1"),
        ("temporary-nurse", new_nurse, "new-pc-2"),
    ):
        actors[name] = Actor(context(pc), member, None, password=TEMPORARY_PASSWORD, temporary=True)
    for actor in actors.values():
        if actor.staff is not None:
            actor.role = auth.log_in(actor.ctx, actor.staff.username, actor.password).role

    resident = home.add_resident()
    nurse = actors["nurse"].ctx
    opened = [
        access.open_access_session(nurse, resident.id, "medication_check", "Checking the doses")
        for _ in range(2)
    ]
    spare_agreement = practices.add_agreement(
        home.ctx,
        ODS,
        starts_on="2026-06-01",
        purposes=["care_plan_review"],
        sections=["summary"],
        home_signatory="Mary Manager",
        practice_signatory="Dr Priya Practice",
    )
    world = World(
        home=home,
        actors=actors,
        target=home.add_nurse(),
        leaver=home.add_staff(["carer"]),
        resident=resident,
        to_admit=home.add_resident(admitted=None, consent_by=None),
        to_discharge=home.add_resident(),
        spare_nhs=next(home.numbers),
        spare_agreement_id=spare_agreement.id,
        session_for_sections=opened[0],
        session_to_close=opened[1],
        disclosure_id=disclosures.log_request(home.ctx, **_DISCLOSURE(resident)).id,
        spare_practices={
            use: practices.add_practice(home.ctx, f"{use} Surgery", f"Y0700{n}").id
            for n, use in enumerate(("Edited", "Deleted", "Inactive"))
        },
    )
    # Deactivated after they logged in: their contexts keep the stale Login.
    for name in ("deactivated-manager", "deactivated-nurse"):
        member = actors[name].staff
        assert member is not None
        staff.deactivate_staff(home.ctx, member.id)
        actors[name].deactivated = True
    return vault, world


Call = Callable[[Context, World], object]


def _DISCLOSURE(resident: Resident) -> dict[str, object]:
    return {
        "requester": "relative",
        "organisation": "Private individual",
        "person": "A niece",
        "resident_ids": [resident.id],
        "asked": "How she is settling in",
        "why": "Lives abroad and cannot visit",
        "basis": "consent",
    }


# Each action, called with arguments that are valid in the prepared home. Each call that is
# allowed changes a record no other allowed call depends on, so the tests run in any order.
CALLS: dict[str, Call] = {
    "add_staff": lambda c, w: staff.add_staff(c, "newstarter", "New Starter", ["carer"], PASSWORD),
    "update_staff": lambda c, w: staff.update_staff(c, w.target.id, full_name="Tess Renamed"),
    "record_nmc_check": lambda c, w: staff.record_nmc_check(
        c, w.target.id, "2026-11-20", "2027-11-19"
    ),
    "deactivate_staff": lambda c, w: staff.deactivate_staff(c, w.leaver.id),
    "reset_password": lambda c, w: staff.reset_password(c, w.target.id, "a temporary password"),
    "clear_lockout": lambda c, w: staff.clear_lockout(c, w.target.id),
    "rotate_key": lambda c, w: staff.rotate_key(c),
    "list_staff": lambda c, w: staff.list_staff(c),
    "change_own_password": lambda c, w: auth.change_own_password(
        c, w.password_of(c), NEW_OWN_PASSWORD
    ),
    "change_settings": lambda c, w: settings.change_setting(c, "idle_lock_minutes", 10),
    "add_practice": lambda c, w: practices.add_practice(c, "Hillside Surgery", "Y05678"),
    "update_practice": lambda c, w: practices.update_practice(
        c, w.spare_practices["Edited"], phone="01632 960555"
    ),
    "delete_practice": lambda c, w: practices.delete_practice(c, w.spare_practices["Deleted"]),
    "deactivate_practice": lambda c, w: practices.set_practice_active(
        c, w.spare_practices["Inactive"], False
    ),
    "activate_practice": lambda c, w: practices.set_practice_active(
        c, w.spare_practices["Inactive"], True
    ),
    "add_agreement": lambda c, w: practices.add_agreement(
        c,
        ODS,
        starts_on="2026-11-01",
        purposes=["hospital_transfer"],
        sections=["medications"],
        home_signatory="Mary Manager",
        practice_signatory="Dr Priya Practice",
    ),
    "end_agreement": lambda c, w: practices.end_agreement(c, w.spare_agreement_id, "2026-11-30"),
    "add_resident": lambda c, w: residents.add_resident(
        c, w.spare_nhs, "Nell", "Newcomer", "1941-02-03", ODS, room="14"
    ),
    "update_resident": lambda c, w: residents.update_resident(c, w.resident.id, room="12A"),
    "admit_resident": lambda c, w: residents.admit(c, w.to_admit.id, at="2026-11-20"),
    "discharge_resident": lambda c, w: residents.discharge(c, w.to_discharge.id, at="2026-11-20"),
    "find_residents": lambda c, w: residents.find_residents(c, "Family"),
    "view_consent": lambda c, w: consent.consent_in_force(c, w.resident.id),
    "record_consent": lambda c, w: consent.record_consent(
        c, w.resident.id, "granted", "resident", decided_on="2026-11-20"
    ),
    "record_sections_viewed": lambda c, w: access.record_sections_viewed(
        c, w.session_for_sections.id, ["summary", "medications"]
    ),
    "close_access_session": lambda c, w: access.close_access_session(c, w.session_to_close.id),
    "list_own_sessions": lambda c, w: access.my_sessions_today(c),
    "close_stale_sessions": lambda c, w: access.close_stale_sessions(c),
    "log_gp_contact": lambda c, w: access.log_gp_contact(
        c, w.resident.id, "Practice nurse", "Query about a dose", "GP to call back"
    ),
    "view_audit": lambda c, w: audit_service.audit_entries(c, limit=20),
    "view_settings": lambda c, w: settings.all_settings(c),
    "view_practices": lambda c, w: practices.list_agreements(c, ODS),
    "view_exceptions": lambda c, w: exceptions.needing_attention(c),
    "print_reports": lambda c, w: reports.staff_list(
        c, ODS, "2026-11-01", "2026-11-21", render=lambda document: None
    ),
    "print_consent_form": lambda c, w: reports.consent_form(
        c, w.resident.id, render=lambda document: None
    ),
    "export_fhir": lambda c, w: fhir_export.export_fhir(
        c, "2026-11-01", "2026-11-21", ODS, render=lambda export: None
    ),
    "back_up": lambda c, w: backup.back_up(c, w.home.ctx.vault.path.with_name("backup.db")),
    "log_disclosure_request": lambda c, w: disclosures.log_request(c, **_DISCLOSURE(w.resident)),
    "update_disclosure_request": lambda c, w: disclosures.record_checks(
        c, w.disclosure_id, identity_check="Called her back on the number we hold", in_writing=False
    ),
    "decide_disclosure": lambda c, w: disclosures.decide(
        c, w.disclosure_id, "ask_more", reasons="Asked the resident whether she agrees"
    ),
    "view_disclosures": lambda c, w: disclosures.list_requests(c),
    "print_disclosure_register": lambda c, w: reports.disclosure_register(
        c, "2026-11-01", "2026-11-21", render=lambda document: None
    ),
    "record_print_outcome": lambda c, w: _print_outcome(c),
}


def _print_outcome(ctx: Context) -> None:
    """Make a document first (asking for the last one is refused first to those who may not)."""
    if not reports.document_entry(ctx):
        reports.disclosure_register(ctx, "2026-11-01", "2026-11-21", render=lambda document: None)
    reports.record_print_outcome(ctx, reports.document_entry(ctx), "printed")


# Reads: allowed without an audit entry of their own (only their refusals are recorded).
READS = {
    "list_staff",
    "find_residents",
    "view_consent",
    "list_own_sessions",
    "close_stale_sessions",
    "view_audit",
    "view_settings",
    "view_practices",
    "view_exceptions",
    "print_consent_form",
    "view_disclosures",
}


def snapshot(world: World) -> dict[str, list]:
    """Every row of every table, in order (reading in tests is fine), and the key file."""
    tables: dict[str, list] = {
        table: world.conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
        for table in TABLES
    }
    tables[KEY_FILE] = [keyslots.key_file_path(world.home.ctx.vault.path).read_bytes()]
    return tables


def last_entry(world: World) -> AuditEntry:
    return audit.entries(world.conn, last=1)[0]


def assert_only_audited(before: dict[str, list], after: dict[str, list]) -> None:
    """Nothing changed but one new audit entry."""
    assert {t: rows for t, rows in after.items() if t != "audit_log"} == {
        t: rows for t, rows in before.items() if t != "audit_log"
    }
    assert after["audit_log"][:-1] == before["audit_log"]
    assert len(after["audit_log"]) == len(before["audit_log"]) + 1


def expected_reasons(actor: Actor, action: str) -> list[tuple[str, ...]]:
    """For each reason the refusal must give, the words it must contain."""
    if actor.staff is None:
        return [("nobody is logged in",)]
    assert actor.role is not None
    expected = []
    if actor.deactivated:
        expected.append((f"the account of {actor.staff.full_name} is deactivated",))
    if actor.temporary and action not in BEFORE_OWN_PASSWORD:
        expected.append(
            (f"{actor.staff.full_name} has a temporary password: choose your own password first",)
        )
    if actor.role not in PERMISSIONS[action]:
        label = actor.role.label.lower()
        article = "an" if label[0] in "aeiou" else "a"
        allowed = [r.label.lower() for r in Role if r in PERMISSIONS[action]]
        expected.append(
            (f"{action.replace('_', ' ')} is for the ", f", not {article} {label}", *allowed)
        )
    return expected


def test_every_action_in_permissions_has_a_call() -> None:
    assert set(CALLS) == set(PERMISSIONS)


def test_only_managers_clear_lockouts_and_rotate_the_key() -> None:
    assert PERMISSIONS["clear_lockout"] == {Role.MANAGER}
    assert PERMISSIONS["rotate_key"] == {Role.MANAGER}


# Actions that touch GP-record access, consent or the audit trail: never for carers, volunteers
# or administrators (they may look up non-clinical details only).
CLINICAL = {
    "view_consent",
    "record_consent",
    "record_sections_viewed",
    "close_access_session",
    "list_own_sessions",
    "log_gp_contact",
    "view_audit",
    "print_reports",
    "print_consent_form",
    "export_fhir",
}


def test_no_clinical_action_is_open_to_carers_volunteers_or_administrators() -> None:
    non_clinical = {Role.CARER, Role.VOLUNTEER, Role.ADMIN}
    assert set(PERMISSIONS) >= CLINICAL
    assert {a for a in CLINICAL if PERMISSIONS[a] & non_clinical} == set()
    assert {a for a, roles in PERMISSIONS.items() if roles == {Role.NURSE}} >= {
        "record_sections_viewed",
        "close_access_session",
    }


@pytest.mark.parametrize("actor_name", ACTORS)
@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_permission_matrix(world: World, action: str, actor_name: str) -> None:
    actor = world.actors[actor_name]
    allowed = (
        not actor.deactivated
        and actor.role in PERMISSIONS[action]
        and (not actor.temporary or action in BEFORE_OWN_PASSWORD)
    )
    before = snapshot(world)

    if allowed:
        CALLS[action](actor.ctx, world)
        if action in READS:
            assert snapshot(world) == before, "a read changed something"
        else:
            entry = last_entry(world)
            assert (entry.action, entry.outcome) == (action, "allowed")
            assert actor.staff is not None and entry.actor_username == actor.staff.username
        if action == "change_own_password":
            _after_password_change(world, actor)
        return

    with pytest.raises(PermissionDenied) as refused:
        CALLS[action](actor.ctx, world)
    assert not isinstance(refused.value, AccessRefused)
    assert refused.value.action == action
    reasons = refused.value.reasons
    expected = expected_reasons(actor, action)
    assert len(reasons) == len(expected), reasons
    for reason, words in zip(reasons, expected, strict=True):
        assert all(w in reason for w in words), (reason, words)

    entry = last_entry(world)
    assert (entry.action, entry.outcome) == (action, "denied")
    assert entry.reasons == reasons
    assert entry.actor_username == (actor.staff.username if actor.staff else "-")
    assert entry.actor_role == (actor.role.value if actor.role else "-")
    assert entry.workstation == actor.ctx.workstation
    assert_only_audited(before, snapshot(world))


def _after_password_change(world: World, actor: Actor) -> None:
    """The new password is the one that works now; a temporary actor gets a temporary password
    again from the setup manager, so the other tests see it as they expect in any order."""
    assert actor.staff is not None
    vault = world.home.ctx.vault
    assert vault.unseal(actor.staff.username, NEW_OWN_PASSWORD)
    assert not vault.unseal(actor.staff.username, actor.password)
    if actor.temporary:
        staff.reset_password(world.home.ctx, actor.staff.id, TEMPORARY_PASSWORD)
        assert vault.unseal(actor.staff.username, TEMPORARY_PASSWORD)
    else:
        actor.password = NEW_OWN_PASSWORD


# -- opening a GP record: decided by the access rules -------------------------------------------


@pytest.mark.parametrize("actor_name", [*[r for r in ROLE_ACTORS if r != "nurse"]])
def test_only_a_nurse_may_open_a_gp_record(world: World, actor_name: str) -> None:
    actor = world.actors[actor_name]
    assert actor.staff is not None and actor.role is not None
    before = snapshot(world)

    with pytest.raises(AccessRefused) as refused:
        access.open_access_session(
            actor.ctx, world.resident.id, "medication_check", "Checking the doses"
        )
    reasons = refused.value.reasons
    assert f"working as {actor.role.label}, not as a registered nurse" in reasons

    after = snapshot(world)
    assert after["access_session"] == before["access_session"]
    assert after["access_refusal"][:-1] == before["access_refusal"]
    refusal_row = world.conn.execute(
        "SELECT id, staff_id, role, resident_id FROM access_refusal ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert refusal_row == (
        refused.value.refusal_id,
        actor.staff.id,
        actor.role.value,
        world.resident.id,
    )
    entry = last_entry(world)
    assert (entry.action, entry.outcome) == ("open_access_session", "denied")
    assert entry.reasons == reasons
    assert entry.details["refusal_id"] == refused.value.refusal_id
    assert entry.actor_role == actor.role.value
    unchanged = {t for t in TABLES if t not in ("access_refusal", "audit_log")}
    assert {t: after[t] for t in unchanged} == {t: before[t] for t in unchanged}


def test_a_deactivated_nurse_may_not_open_a_gp_record(world: World) -> None:
    actor = world.actors["deactivated-nurse"]
    before = snapshot(world)
    with pytest.raises(AccessRefused) as refused:
        access.open_access_session(
            actor.ctx, world.resident.id, "medication_check", "Checking the doses"
        )
    assert refused.value.reasons == ["the staff account is deactivated"]
    assert snapshot(world)["access_session"] == before["access_session"]
    assert last_entry(world).outcome == "denied"


def test_a_nurse_with_a_temporary_password_may_not_open_a_gp_record(world: World) -> None:
    actor = world.actors["temporary-nurse"]
    assert actor.staff is not None
    before = snapshot(world)
    with pytest.raises(PermissionDenied) as refused:
        access.open_access_session(
            actor.ctx, world.resident.id, "medication_check", "Checking the doses"
        )
    reason = f"{actor.staff.full_name} has a temporary password: choose your own password first"
    assert refused.value.reasons == [reason]
    entry = last_entry(world)
    assert (entry.action, entry.outcome, entry.reasons) == (
        "open_access_session",
        "denied",
        [reason],
    )
    assert entry.actor_username == actor.staff.username
    assert_only_audited(before, snapshot(world))  # no session, and no refusal to phone about


def test_nobody_logged_in_may_not_open_a_gp_record(world: World) -> None:
    before = snapshot(world)
    with pytest.raises(PermissionDenied) as refused:
        access.open_access_session(
            world.actors["nobody"].ctx, world.resident.id, "medication_check", "Checking the doses"
        )
    assert refused.value.reasons == ["nobody is logged in"]
    entry = last_entry(world)
    assert (entry.action, entry.outcome, entry.actor_username) == (
        "open_access_session",
        "denied",
        "-",
    )
    assert entry.resident_id == world.resident.id
    assert_only_audited(before, snapshot(world))


def test_a_nurse_may_open_a_gp_record(world: World) -> None:
    actor = world.actors["nurse"]
    session = access.open_access_session(
        actor.ctx, world.resident.id, "clinical_assessment", "Assessing a new cough"
    )
    assert actor.staff is not None and session.staff_id == actor.staff.id
    entry = last_entry(world)
    assert (entry.action, entry.outcome) == ("open_access_session", "allowed")
    assert entry.details["session_id"] == session.id


def test_a_role_taken_away_after_login_stops_working_at_once(world: World) -> None:
    moved = world.home.add_nurse()
    ctx = Context(world.home.ctx.vault, clock=lambda: NOW, workstation="ward-pc")
    auth.log_in(ctx, moved.username, PASSWORD)
    assert len(access.my_sessions_today(ctx)) == 0
    staff.update_staff(world.home.ctx, moved.id, roles=["carer"])

    before = snapshot(world)
    with pytest.raises(PermissionDenied) as refused:
        access.my_sessions_today(ctx)
    assert refused.value.reasons == [f"{moved.full_name} no longer holds the nurse role"]
    assert last_entry(world).reasons == refused.value.reasons
    assert_only_audited(before, snapshot(world))


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_former_residents_are_found_only_by_roles_that_may_read_their_records(
    home: Home, role: Role
) -> None:
    """Expected: a manager or a nurse finds current, former and not yet admitted residents; a
    carer, volunteer or administrator finds the current ones only, by name or by NHS number,
    so no former resident's NHS number is shown to them."""
    here = home.add_resident()
    former = home.add_resident(admitted="2026-10-01")
    residents.discharge(home.ctx, former.id, at="2026-11-10")
    expected = home.add_resident(admitted=None, consent_by=None)
    home.log_in(home.add_staff([role.value]), role)
    found = {listing.resident.nhs_number for listing in residents.find_residents(home.ctx, "")}
    by_number = residents.find_residents(home.ctx, former.nhs_number)
    if role in (Role.MANAGER, Role.NURSE):
        assert found == {here.nhs_number, former.nhs_number, expected.nhs_number}
        assert [listing.resident.id for listing in by_number] == [former.id]
    else:
        assert found == {here.nhs_number}
        assert by_number == []
