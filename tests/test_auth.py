"""Logging in: the password opens the person's key slot (argon2id), one role at a time, lockout
after repeated wrong passwords (cleared by time or by a manager), hard-to-guess passwords only,
and a temporary password good for nothing but choosing one's own."""

from pathlib import Path

import pytest

from carehome_share.domain.errors import (
    AuthenticationFailed,
    CarehomeError,
    PermissionDenied,
    RoleNeeded,
    ValidationError,
)
from carehome_share.domain.model import Role, Staff
from carehome_share.services import auth, residents, settings, staff
from carehome_share.services.context import Context
from carehome_share.store import audit, keyslots
from carehome_share.store.vault import Vault
from tests.conftest import Clock
from tests.factories import MANAGER_PASSWORD, PASSWORD, TEMPORARY_PASSWORD, Home

TEMPORARY = "has a temporary password: choose your own password first"
WEAK_PASSWORDS = ["1234567890", "password12"]


def _locked_out_nurse(home: Home) -> Staff:
    """A nurse after three wrong passwords, with lockout set at three; nobody logged in."""
    nurse = home.add_nurse()
    settings.change_setting(home.ctx, "lockout_failures", 3)
    auth.log_out(home.ctx)
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            auth.log_in(home.ctx, nurse.username, "guessing wrong")
    return nurse


def _denied_logins(home: Home, username: str) -> list[audit.AuditEntry]:
    return [
        e
        for e in audit.entries(home.ctx.conn)
        if e.action == "log_in" and e.outcome == "denied" and e.actor_username == username
    ]


def test_a_password_is_kept_only_as_its_key_slot(home: Home) -> None:
    nurse = home.add_nurse()
    vault = home.ctx.vault
    stored = home.ctx.conn.execute(
        "SELECT password_hash FROM staff WHERE id = ?", (nurse.id,)
    ).fetchone()[0]
    assert stored == ""  # no password hash: the slot is the only check

    slots = vault.slots()
    slot = slots[nurse.username]
    assert slot.kdf == keyslots.PASSWORD_KDF  # argon2id, at the cost in force when it was made
    assert len(slot.salt) == 16 and slot.salt != slots["manager"].salt
    assert vault.unseal(nurse.username, PASSWORD)
    assert not vault.unseal(nurse.username, TEMPORARY_PASSWORD)  # replaced at first login
    assert not vault.unseal(nurse.username, PASSWORD + " ")
    key_file = keyslots.key_file_path(vault.path).read_bytes()
    assert nurse.username.encode() in key_file
    assert PASSWORD.encode() not in key_file and TEMPORARY_PASSWORD.encode() not in key_file


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
    with pytest.raises(RoleNeeded) as choose:
        auth.log_in(home.ctx, dual.username, PASSWORD)
    assert choose.value.field == "role" and choose.value.roles == [Role.MANAGER, Role.NURSE]
    assert choose.value.expected == (  # as people call the roles, not the app's internal names
        "you hold several roles: choose one to work as (Registered manager or Registered nurse)"
    )
    login = auth.log_in(home.ctx, dual.username, PASSWORD, "nurse")
    assert login.role is Role.NURSE
    with pytest.raises(ValidationError) as not_held:
        auth.log_in(home.ctx, dual.username, PASSWORD, "carer")
    assert not_held.value.expected == (
        "this account does not hold the role Carer; it holds Registered manager and "
        "Registered nurse"
    )


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
    nurse = _locked_out_nurse(home)
    home.as_manager()
    staff.reset_password(home.ctx, nurse.id, "temporary password 9")
    assert not home.ctx.vault.unseal(nurse.username, PASSWORD)  # the old one opens nothing now
    auth.log_out(home.ctx)
    auth.log_in(home.ctx, nurse.username, "temporary password 9")
    assert auth.must_change_password(home.ctx)
    with pytest.raises(PermissionDenied) as refused:
        residents.find_residents(home.ctx, "")
    assert refused.value.reasons == [f"{nurse.full_name} {TEMPORARY}"]
    auth.change_own_password(home.ctx, "temporary password 9", "my own password 22")
    assert not auth.must_change_password(home.ctx)
    assert residents.find_residents(home.ctx, "") == []


def test_a_new_account_does_nothing_until_it_has_its_own_password(home: Home) -> None:
    member = staff.add_staff(home.ctx, "new.carer", "Nell Carer", ["carer"], TEMPORARY_PASSWORD)
    auth.log_out(home.ctx)
    auth.log_in(home.ctx, member.username, TEMPORARY_PASSWORD)
    assert auth.must_change_password(home.ctx)
    before = len(audit.entries(home.ctx.conn))
    with pytest.raises(PermissionDenied) as refused:
        residents.find_residents(home.ctx, "")
    assert refused.value.reasons == [f"Nell Carer {TEMPORARY}"]
    denied = audit.entries(home.ctx.conn)[before:]
    assert [(e.action, e.outcome, e.actor_username) for e in denied] == [
        ("find_residents", "denied", "new.carer")
    ]
    settings.all_settings(home.ctx)  # what every login does still works

    with pytest.raises(ValidationError) as same:
        auth.change_own_password(home.ctx, TEMPORARY_PASSWORD, TEMPORARY_PASSWORD)
    assert same.value.field == "new_password"
    with pytest.raises(ValidationError) as wrong:
        auth.change_own_password(home.ctx, "not the temporary one", "my own password 22")
    assert wrong.value.field == "current_password"
    auth.change_own_password(home.ctx, TEMPORARY_PASSWORD, "my own password 22")
    assert residents.find_residents(home.ctx, "") == []

    auth.log_out(home.ctx)
    with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
        auth.log_in(home.ctx, member.username, TEMPORARY_PASSWORD)
    assert auth.log_in(home.ctx, member.username, "my own password 22").staff.id == member.id


def test_a_manager_clears_a_lockout_at_once(home: Home) -> None:
    nurse = _locked_out_nurse(home)
    with pytest.raises(AuthenticationFailed, match="locked until"):
        auth.log_in(home.ctx, nurse.username, PASSWORD)

    home.as_manager()
    staff.clear_lockout(home.ctx, nurse.id)
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.outcome, entry.actor_username) == (
        "clear_lockout",
        "allowed",
        "manager",
    )
    assert entry.details["username"] == nurse.username
    assert home.log_in(nurse).staff.id == nurse.id  # no waiting, same password


@pytest.mark.parametrize("how", ["clear_lockout", "reset_password"])
def test_after_a_lockout_is_cleared_one_typo_does_not_lock_again(
    home: Home, clock: Clock, how: str
) -> None:
    nurse = home.add_nurse()
    auth.log_out(home.ctx)
    for _ in range(5):  # the default: five wrong passwords in five minutes
        with pytest.raises(AuthenticationFailed):
            auth.log_in(home.ctx, nurse.username, "guessing wrong")
        clock.advance(seconds=10)
    clock.advance(minutes=1)  # the manager is told, and clears it: the failures still in window
    home.as_manager()
    if how == "reset_password":
        staff.reset_password(home.ctx, nurse.id, TEMPORARY_PASSWORD)
        auth.log_out(home.ctx)
        clock.advance(seconds=30)
        with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
            auth.log_in(home.ctx, nurse.username, "one typo")
        assert auth.log_in(home.ctx, nurse.username, TEMPORARY_PASSWORD).staff.id == nurse.id
        return
    staff.clear_lockout(home.ctx, nurse.id)
    auth.log_out(home.ctx)
    clock.advance(seconds=30)
    with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
        auth.log_in(home.ctx, nurse.username, "one typo")
    assert auth.log_in(home.ctx, nurse.username, PASSWORD).staff.id == nurse.id


def test_only_a_manager_clears_a_lockout(home: Home) -> None:
    nurse = home.add_nurse()
    other = home.add_nurse()
    home.log_in(nurse)
    with pytest.raises(PermissionDenied, match="clear lockout is for the registered manager"):
        staff.clear_lockout(home.ctx, other.id)


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


@pytest.mark.parametrize("weak", WEAK_PASSWORDS)
def test_an_easily_guessed_password_is_refused_everywhere_naming_the_field(
    home: Home, weak: str
) -> None:
    def refused(field: str, call) -> None:
        with pytest.raises(ValidationError) as bad:
            call()
        assert bad.value.field == field
        assert str(bad.value).startswith(f"{field}: a password that is hard to guess")

    nurse = home.add_nurse()
    slots = home.ctx.vault.slots()
    refused("password", lambda: auth.check_password_strength("password", weak))
    refused("password", lambda: staff.add_staff(home.ctx, "new.carer", "N C", ["carer"], weak))
    refused("new_password", lambda: staff.reset_password(home.ctx, nurse.id, weak))
    home.log_in(nurse)
    refused("new_password", lambda: auth.change_own_password(home.ctx, PASSWORD, weak))
    assert home.ctx.vault.slots() == slots  # no slot added or changed


def test_a_password_made_of_the_persons_own_name_is_refused(home: Home) -> None:
    with pytest.raises(ValidationError) as weak:
        staff.add_staff(home.ctx, "priya.patel", "Priya Patel", ["carer"], "Priya Patel 2026")
    assert weak.value.field == "password" and "hard to guess" in str(weak.value)
    # The same password is fine for somebody else: it is the name that makes it guessable.
    staff.add_staff(home.ctx, "olive.other", "Olive Other", ["carer"], "Priya Patel 2026")


def test_login_and_logout_are_audited(home: Home) -> None:
    nurse = home.add_nurse()
    home.log_in(nurse)
    auth.log_out(home.ctx)
    actions = [(e.action, e.actor_username) for e in audit.entries(home.ctx.conn, last=2)]
    assert actions == [("log_in", nurse.username), ("log_out", nurse.username)]


def test_the_recovery_code_lifts_a_managers_lockout_for_one_login_only(
    home: Home, db_path: Path, clock: Clock
) -> None:
    """Once the code has let the locked-out manager in, the login window does not stay a way
    round the lockout: the next person at it is locked out as before."""
    auth.log_out(home.ctx)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.log_in(home.ctx, "manager", "guessing wrong")
    code = home.ctx.vault.rotate_key()  # the test's own recovery code: the sheet in the safe
    home.ctx.vault.close()

    recovered = Context(Vault.open_with_recovery_code(db_path, code), clock=clock)
    with pytest.raises(AuthenticationFailed):  # a mistyped password spends the code's turn
        auth.log_in(recovered, "manager", "x" * 12)
    with pytest.raises(AuthenticationFailed, match="locked until"):
        auth.log_in(recovered, "manager", MANAGER_PASSWORD)
    recovered.vault.close()

    again = Context(Vault.open_with_recovery_code(db_path, code), clock=clock)
    assert auth.log_in(again, "manager", MANAGER_PASSWORD).role is Role.MANAGER
    cleared = [e for e in audit.entries(again.conn) if e.action == "clear_lockout"]
    assert [e.details for e in cleared] == [{"by": "recovery code"}]
    again.vault.close()


def test_opening_with_a_password_proves_that_password_only(home: Home, db_path: Path) -> None:
    """The login after opening skips the slot check only for the very password that opened."""
    auth.log_out(home.ctx)
    home.ctx.vault.close()
    ctx = Context(Vault.open_as(db_path, "manager", MANAGER_PASSWORD))
    with pytest.raises(AuthenticationFailed):
        auth.log_in(ctx, "manager", "anything at all, not the password")
    assert auth.log_in(ctx, "manager", MANAGER_PASSWORD).role is Role.MANAGER
    ctx.vault.close()
