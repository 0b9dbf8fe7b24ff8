"""Logging in: argon2id hashes, one role at a time, lockout after repeated wrong passwords."""

import pytest
from argon2 import extract_parameters

from carehome_share.domain.errors import AuthenticationFailed, CarehomeError, ValidationError
from carehome_share.domain.model import Role
from carehome_share.services import auth, settings, staff
from carehome_share.store import audit
from tests.conftest import Clock
from tests.factories import PASSWORD, Home


def _denied_logins(home: Home, username: str) -> list[audit.AuditEntry]:
    return [
        e
        for e in audit.entries(home.ctx.conn)
        if e.action == "log_in" and e.outcome == "denied" and e.actor_username == username
    ]


def test_passwords_are_stored_as_argon2id(home: Home) -> None:
    nurse = home.add_nurse()
    stored = home.ctx.conn.execute(
        "SELECT password_hash FROM staff WHERE id = ?", (nurse.id,)
    ).fetchone()[0]
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2
    assert PASSWORD not in stored


def test_wrong_password_and_unknown_user_look_the_same_and_are_logged(home: Home) -> None:
    nurse = home.add_nurse()
    auth.log_out(home.ctx)
    for username in (nurse.username, "nobody.here"):
        with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
            auth.log_in(home.ctx, username, "not the password")
        assert len(_denied_logins(home, username)) == 1
    assert home.ctx.login is None


def test_role_is_chosen_at_login_when_several_are_held(home: Home) -> None:
    dual = home.add_staff(["manager", "nurse"])
    auth.log_out(home.ctx)
    with pytest.raises(ValidationError) as choose:
        auth.log_in(home.ctx, dual.username, PASSWORD)
    assert choose.value.field == "role" and "manager, nurse" in str(choose.value)
    login = auth.log_in(home.ctx, dual.username, PASSWORD, "nurse")
    assert login.role is Role.NURSE
    with pytest.raises(ValidationError, match="roles this account holds"):
        auth.log_in(home.ctx, dual.username, PASSWORD, "carer")


def test_repeated_failures_lock_the_account_for_a_period(home: Home, clock: Clock) -> None:
    nurse = home.add_nurse()
    auth.log_out(home.ctx)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.log_in(home.ctx, nurse.username, "guessing wrong")
    with pytest.raises(AuthenticationFailed, match="locked until"):
        auth.log_in(home.ctx, nurse.username, PASSWORD)  # even the right password
    assert len(_denied_logins(home, nurse.username)) == 6
    assert any(e.action == "lock_account" for e in audit.entries(home.ctx.conn))
    clock.advance(minutes=16)
    assert auth.log_in(home.ctx, nurse.username, PASSWORD).staff.id == nurse.id


def test_failures_spread_over_time_do_not_lock(home: Home, clock: Clock) -> None:
    nurse = home.add_nurse()
    auth.log_out(home.ctx)
    for _ in range(8):
        with pytest.raises(AuthenticationFailed):
            auth.log_in(home.ctx, nurse.username, "guessing wrong")
        clock.advance(minutes=2)
    assert auth.log_in(home.ctx, nurse.username, PASSWORD)


def test_manager_reset_unlocks_and_forces_a_new_password(home: Home) -> None:
    nurse = home.add_nurse()
    settings.change_setting(home.ctx, "lockout_failures", 3)
    auth.log_out(home.ctx)
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            auth.log_in(home.ctx, nurse.username, "guessing wrong")
    home.as_manager()
    staff.reset_password(home.ctx, nurse.id, "temporary password 9")
    auth.log_out(home.ctx)
    auth.log_in(home.ctx, nurse.username, "temporary password 9")
    assert auth.must_change_password(home.ctx)
    auth.change_own_password(home.ctx, "temporary password 9", "my own password 22")
    assert not auth.must_change_password(home.ctx)


def test_deactivated_account_cannot_log_in(home: Home) -> None:
    nurse = home.add_nurse()
    staff.deactivate_staff(home.ctx, nurse.id)
    auth.log_out(home.ctx)
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        auth.log_in(home.ctx, nurse.username, PASSWORD)


def test_home_is_set_up_once(home: Home) -> None:
    with pytest.raises(CarehomeError, match="already set up"):
        auth.set_up_home(home.ctx, "Another Home", "boss", "Another Boss", "a long password")


def test_weak_password_names_the_field(home: Home) -> None:
    with pytest.raises(ValidationError) as weak:
        staff.add_staff(home.ctx, "new.carer", "New Carer", ["carer"], "short")
    assert weak.value.field == "password" and "10 characters" in str(weak.value)


def test_login_and_logout_are_audited(home: Home) -> None:
    nurse = home.add_nurse()
    home.log_in(nurse)
    auth.log_out(home.ctx)
    actions = [(e.action, e.actor_username) for e in audit.entries(home.ctx.conn, last=2)]
    assert actions == [("log_in", nurse.username), ("log_out", nurse.username)]
