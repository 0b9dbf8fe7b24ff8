"""Key slots: the database key opens only with a member of staff's password and this PC's device
secret, the files beside the database and the keychain hold no copy of it, and the recovery code
and a key rotation behave as the recovery sheet says."""

import base64
import json
import secrets
import socket
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from carehome_share.domain.errors import AuthenticationFailed
from carehome_share.services import auth, staff
from carehome_share.services.context import Context
from carehome_share.store import audit, keychain, keyslots, recovery
from carehome_share.store.keyslots import KdfParams, KeyFile, WrongSecret
from carehome_share.store.vault import (
    NeedsUnlock,
    NotEnrolled,
    Vault,
    VaultError,
    WrongKey,
    WrongPassword,
)
from tests.conftest import Clock, MemoryKeyring
from tests.factories import MANAGER_PASSWORD, PASSWORD, Home

# Read when this module is imported, before the autouse `quick_password_kdf` fixture lowers it.
PRODUCT_KDF = keyslots.PASSWORD_KDF
DATABASE_KEY = bytes(range(32))
DEVICE_SECRET = bytes(range(100, 132))
CLOSED_FILE = "wrong username or password (tried while the database was closed)"


# -- slots on their own --------------------------------------------------------------------


def _slot(device_secret: bytes | None = DEVICE_SECRET) -> keyslots.Slot:
    return keyslots.new_slot("nurse.jo", "correct horse battery", DATABASE_KEY, device_secret)


def test_a_slot_opens_with_the_password_and_the_device_secret() -> None:
    slot = _slot()
    assert slot.device_bound
    assert keyslots.open_slot(slot, "correct horse battery", DEVICE_SECRET) == DATABASE_KEY


def test_a_wrong_password_opens_nothing() -> None:
    with pytest.raises(WrongSecret):
        keyslots.open_slot(_slot(), "correct horse battery!", DEVICE_SECRET)


@pytest.mark.parametrize("device_secret", [None, bytes(32), secrets.token_bytes(32)])
def test_the_password_without_this_pcs_device_secret_opens_nothing(
    device_secret: bytes | None,
) -> None:
    with pytest.raises(WrongSecret):
        keyslots.open_slot(_slot(), "correct horse battery", device_secret)


def test_a_slot_moved_to_another_name_opens_nothing() -> None:
    moved = replace(_slot(), username="manager")
    with pytest.raises(WrongSecret):
        keyslots.open_slot(moved, "correct horse battery", DEVICE_SECRET)


def test_a_slot_with_a_swapped_public_key_opens_nothing() -> None:
    """A public key put into someone's slot (so that a manager's next sealing of the database
    key goes to it) breaks the slot: the sealed private key is bound to its own public key."""
    slot = _slot()
    other = keyslots.new_slot("nurse.jo", "another password here", DATABASE_KEY, DEVICE_SECRET)
    for swapped in (
        replace(slot, public_key=other.public_key),
        replace(slot, public_key=other.public_key, sealed_database_key=other.sealed_database_key),
    ):
        with pytest.raises(WrongSecret):
            keyslots.open_slot(swapped, "correct horse battery", DEVICE_SECRET)


def test_a_database_key_sealed_to_another_key_pair_opens_nothing() -> None:
    slot = _slot()
    other = keyslots.new_slot("nurse.jo", "another password here", DATABASE_KEY, DEVICE_SECRET)
    with pytest.raises(WrongSecret):
        keyslots.open_slot(
            replace(slot, sealed_database_key=other.sealed_database_key),
            "correct horse battery",
            DEVICE_SECRET,
        )


def test_a_password_only_slot_needs_no_device_secret() -> None:
    slot = _slot(device_secret=None)
    assert not slot.device_bound
    assert keyslots.open_slot(slot, "correct horse battery", None) == DATABASE_KEY
    # A device secret offered anyway changes nothing; the password still has to be right.
    assert keyslots.open_slot(slot, "correct horse battery", DEVICE_SECRET) == DATABASE_KEY
    with pytest.raises(WrongSecret):
        keyslots.open_slot(slot, "correct horse batter", None)


def test_the_product_password_cost_is_at_least_64_mib_and_3_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert PRODUCT_KDF.memory_kib >= 64 * 1024
    assert PRODUCT_KDF.iterations >= 3
    assert PRODUCT_KDF.lanes >= 1
    # A slot records the cost it was made with, and the key file keeps it.
    monkeypatch.setattr(keyslots, "PASSWORD_KDF", PRODUCT_KDF)
    slot = _slot()
    assert slot.kdf == PRODUCT_KDF
    assert keyslots.slot_from_json(keyslots.slot_json(slot)).kdf == PRODUCT_KDF
    assert keyslots.open_slot(slot, "correct horse battery", DEVICE_SECRET) == DATABASE_KEY


def test_a_slot_opens_with_its_own_recorded_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    slot = _slot()
    monkeypatch.setattr(keyslots, "PASSWORD_KDF", KdfParams(128, 2, 1))  # the cost moved on
    assert keyslots.open_slot(slot, "correct horse battery", DEVICE_SECRET) == DATABASE_KEY


# -- the journal of logins that failed while the file was closed ---------------------------


def test_journal_lines_open_only_with_the_homes_private_key(tmp_path: Path) -> None:
    db = tmp_path / "carehome.db"
    private_key, public_key = keyslots.new_home_key_pair()
    other_private, _other_public = keyslots.new_home_key_pair()
    record = {"at": "2026-11-21T10:00:00Z", "username": "nurse.jo", "workstation": "pc-1"}
    keyslots.journal_failure(db, public_key, record)
    text = keyslots.journal_path(db).read_bytes()
    assert b"nurse.jo" not in text and b"pc-1" not in text  # sealed, not just encoded
    assert keyslots.read_journal(db, other_private) == [None]
    assert keyslots.read_journal(db, private_key) == [record]  # the line waits to be imported
    keyslots.clear_journal(db)
    assert keyslots.read_journal(db, private_key) == []


def test_a_forged_journal_line_reads_as_none(tmp_path: Path) -> None:
    db = tmp_path / "carehome.db"
    private_key, public_key = keyslots.new_home_key_pair()
    _other_private, other_public = keyslots.new_home_key_pair()
    genuine = {"at": "2026-11-21T10:00:00Z", "username": "manager", "workstation": "pc-1"}
    keyslots.journal_failure(db, other_public, {"username": "manager", "at": "x"})  # not ours
    keyslots.journal_failure(db, public_key, genuine)
    with keyslots.journal_path(db).open("ab") as journal:
        journal.write(b"bm90IHNlYWxlZA==\n")  # base64, but not sealed
        journal.write(b"not base64 at all\n")
        journal.write(base64.b64encode(json.dumps(genuine).encode()) + b"\n")  # plain JSON
        journal.write(b"\xff\xfe\n")  # not even text
    assert keyslots.read_journal(db, private_key) == [None, genuine, None, None, None, None]


# -- the key file --------------------------------------------------------------------------


def _key_file() -> KeyFile:
    _private, public_key = keyslots.new_home_key_pair()
    slots = [
        keyslots.new_slot("manager", "manager password 1", DATABASE_KEY, DEVICE_SECRET),
        keyslots.new_slot("nurse.jo", "staff password 1", DATABASE_KEY, None),
    ]
    return KeyFile("home-1", public_key, {s.username: s for s in slots})


def test_the_key_file_round_trips(tmp_path: Path) -> None:
    key_file = _key_file()
    path = keyslots.key_file_path(tmp_path / "carehome.db")
    assert path.name == "carehome.db.keys"
    keyslots.write_key_file(path, key_file)
    assert keyslots.read_key_file(path) == key_file
    read = keyslots.read_key_file(path)
    assert read is not None
    assert keyslots.open_slot(read.slots["nurse.jo"], "staff password 1", None) == DATABASE_KEY


def _damaged_versions(text: str) -> dict[str, str | bytes | None]:
    data = json.loads(text)
    wrong_format = {**data, "format": "carehome-share key file 99"}
    no_slots = {k: v for k, v in data.items() if k != "slots"}
    bad_base64 = {**data, "home_public_key": "%%% not base64 %%%"}
    bad_slot = {**data, "slots": [{**data["slots"][0], "argon2id": [65536, 3]}]}
    slot_not_object = {**data, "slots": ["manager"]}
    return {
        "missing": None,
        "empty": "",
        "cut short": text[: len(text) // 2],
        "not text": b"\xff\xfe\x00garbage",
        "wrong format": json.dumps(wrong_format),
        "no slots": json.dumps(no_slots),
        "bad base64": json.dumps(bad_base64),
        "bad cost": json.dumps(bad_slot),
        "slot not an object": json.dumps(slot_not_object),
    }


def test_a_damaged_key_file_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "carehome.db.keys"
    keyslots.write_key_file(path, _key_file())
    for what, content in _damaged_versions(path.read_text()).items():
        path.unlink(missing_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content)
        assert keyslots.read_key_file(path) is None, what


@pytest.mark.parametrize("content", ["[]", "null", "1", '"text"'])
def test_a_key_file_that_is_json_but_not_an_object_reads_as_none(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "carehome.db.keys"
    path.write_text(content)
    assert keyslots.read_key_file(path) is None


DAMAGED_FIELDS = {
    "not an object": lambda data: [],
    "home public key cut short": lambda data: {**data, "home_public_key": "AAAA"},
    "salt empty": lambda data: _with_slot(data, salt=""),
    "sealed private key cut short": lambda data: _with_slot(data, sealed_private_key="AA=="),
    "no memory cost": lambda data: _with_slot(data, argon2id=[0, 0, 0]),
}


def _with_slot(data: dict[str, object], **fields: object) -> dict[str, object]:
    (slot,) = data["slots"]  # type: ignore[misc]
    return {**data, "slots": [{**slot, **fields}]}


@pytest.mark.parametrize("damage", DAMAGED_FIELDS)
def test_a_key_file_with_damaged_fields_is_a_vault_error(db_path: Path, damage: str) -> None:
    """What the login window can report ("the key file is damaged: use the recovery code"),
    not a crash. A wrong password is tried first: the journal needs the home's public key."""
    _set_up(db_path)[0].close()
    path = keyslots.key_file_path(db_path)
    path.write_text(json.dumps(DAMAGED_FIELDS[damage](json.loads(path.read_text()))))
    with pytest.raises(VaultError):
        Vault.open_as(db_path, "manager", "manager password 2")


# -- the vault: files, keychain, logins ----------------------------------------------------


def _set_up(db_path: Path) -> tuple[Vault, Context, str]:
    """A home on the real clock (the login journal records real times), its manager logged in."""
    vault, code = Vault.create(db_path)
    ctx = Context(vault, workstation="office-pc")
    auth.set_up_home(ctx, "Rose Court Care Home", "manager", "Mary Manager", MANAGER_PASSWORD)
    auth.log_in(ctx, "manager", MANAGER_PASSWORD)
    return vault, ctx, code


def _forms_of(key: bytes) -> list[bytes]:
    return [
        key,
        key.hex().encode(),
        key.hex().upper().encode(),
        base64.b64encode(key),
        base64.urlsafe_b64encode(key),
        recovery.encode(key).encode(),
    ]


def _files_beside(db_path: Path) -> list[Path]:
    return [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]


def test_no_file_and_no_table_holds_the_database_key(
    db_path: Path, clock: Clock, memory_keyring: MemoryKeyring
) -> None:
    vault, code = Vault.create(db_path)
    ctx = Context(vault, clock=clock, workstation="office-pc")
    home = Home.set_up(ctx, clock)
    home.add_nurse()
    key = recovery.decode(code)
    assert vault.matches(key)
    forms = _forms_of(key)
    # Everything inside the database, read with the key: no value holds it.
    tables = [r[0] for r in vault.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert "key_slot" in tables
    for table in tables:
        for row in vault.conn.execute(f'SELECT * FROM "{table}"'):
            for value in row:
                raw = value if isinstance(value, bytes) else str(value).encode()
                assert not any(form in raw for form in forms), table
    vault.close()
    # The files on disk: the database, its write-ahead log, the key file, the journal.
    with pytest.raises(WrongPassword):
        Vault.open_as(db_path, "manager", "a wrong password here")
    files = _files_beside(db_path)
    names = {p.name for p in files}
    assert {"carehome.db", "carehome.db.keys", "carehome.db.logins"} <= names
    for path in files:
        data = path.read_bytes()
        assert not any(form in data for form in forms), path.name
    # And the keychain: nothing there is the key.
    assert not any(
        form in value.encode() for value in memory_keyring.entries.values() for form in forms
    )


def test_the_keychain_holds_only_the_device_secret(
    db_path: Path, memory_keyring: MemoryKeyring
) -> None:
    vault, _ctx, code = _set_up(db_path)
    home_id, _public, _private, device_secret = vault.identity()
    assert memory_keyring.entries == {
        (keychain.SERVICE, keychain.device_entry(home_id)): device_secret.hex()
    }
    assert device_secret != recovery.decode(code)
    vault.close()
    # The device secret alone, as a raw key, does not open the file.
    with pytest.raises(WrongKey):
        Vault.open_with_recovery_code(db_path, recovery.encode(device_secret))


def test_the_key_file_lists_every_slot_bound_to_this_pc(db_path: Path) -> None:
    vault, _ctx, _code = _set_up(db_path)
    key_file = keyslots.read_key_file(keyslots.key_file_path(db_path))
    assert key_file is not None
    assert key_file.home_id == vault.home_id
    assert set(key_file.slots) == {"manager"}
    assert key_file.slots["manager"].device_bound
    vault.close()


def test_the_managers_password_opens_the_database(db_path: Path) -> None:
    _set_up(db_path)[0].close()
    vault = Vault.open_as(db_path, " Manager ", MANAGER_PASSWORD)
    try:
        ctx = Context(vault, workstation="office-pc")
        login = auth.log_in(ctx, "manager", MANAGER_PASSWORD)
        assert login.staff.username == "manager"
        assert audit.entries(vault.conn)[-1].action == "log_in"
    finally:
        vault.close()


def test_a_wrong_password_is_journaled_and_the_next_login_audits_it(db_path: Path) -> None:
    _set_up(db_path)[0].close()
    with pytest.raises(WrongPassword):
        Vault.open_as(db_path, "manager", "manager password 2")
    with pytest.raises(WrongPassword):
        Vault.open_as(db_path, "nobody", "manager password 1")  # unknown names too
    assert len(keyslots.journal_path(db_path).read_bytes().splitlines()) == 2
    vault = Vault.open_as(db_path, "manager", MANAGER_PASSWORD)
    try:
        auth.log_in(Context(vault, workstation="office-pc"), "manager", MANAGER_PASSWORD)
        entries = audit.entries(vault.conn)
        denied = [e for e in entries if e.action == "log_in" and e.outcome == "denied"]
        assert [(e.actor_username, e.actor_name) for e in denied] == [
            ("manager", "Mary Manager"),
            ("nobody", "unknown user"),
        ]
        assert all(e.reasons == [CLOSED_FILE] for e in denied)
        assert all(e.workstation == socket.gethostname() for e in denied)
        assert entries[-1].action == "log_in" and entries[-1].outcome == "allowed"
        assert not keyslots.journal_path(db_path).exists()
        assert not [e for e in entries if e.action == "log_in_journal"]  # nothing forged
        assert audit.verify(vault).ok
    finally:
        vault.close()


def test_five_wrong_passwords_while_the_file_is_closed_lock_the_account(db_path: Path) -> None:
    _set_up(db_path)[0].close()
    for _ in range(5):
        with pytest.raises(WrongPassword):
            Vault.open_as(db_path, "manager", "manager password 2")
    vault = Vault.open_as(db_path, "manager", MANAGER_PASSWORD)  # the file opens...
    try:
        ctx = Context(vault, workstation="office-pc")
        with pytest.raises(AuthenticationFailed, match="locked"):  # ...the account does not
            auth.log_in(ctx, "manager", MANAGER_PASSWORD)
        locks = [e for e in audit.entries(vault.conn) if e.action == "lock_account"]
        assert len(locks) == 1 and locks[0].actor_username == "manager"
    finally:
        vault.close()


def test_four_wrong_passwords_do_not_lock_the_account(db_path: Path) -> None:
    _set_up(db_path)[0].close()
    for _ in range(4):
        with pytest.raises(WrongPassword):
            Vault.open_as(db_path, "manager", "manager password 2")
    vault = Vault.open_as(db_path, "manager", MANAGER_PASSWORD)
    try:
        auth.log_in(Context(vault, workstation="office-pc"), "manager", MANAGER_PASSWORD)
    finally:
        vault.close()


def test_the_recovery_code_opens_on_a_new_pc_and_enrols_it(
    db_path: Path, memory_keyring: MemoryKeyring
) -> None:
    vault, _ctx, code = _set_up(db_path)
    home_id = vault.home_id
    vault.close()
    memory_keyring.entries.clear()  # another PC (or user account): an empty keychain
    with pytest.raises(NotEnrolled):
        Vault.open_as(db_path, "manager", MANAGER_PASSWORD)
    assert not keyslots.journal_path(db_path).exists()  # not a wrong password
    vault = Vault.open_with_recovery_code(db_path, code.lower().replace("-", " "))
    vault.close()
    assert set(memory_keyring.entries) == {(keychain.SERVICE, keychain.device_entry(home_id))}
    vault = Vault.open_as(db_path, "manager", MANAGER_PASSWORD)
    try:
        auth.log_in(Context(vault), "manager", MANAGER_PASSWORD)
    finally:
        vault.close()


def test_the_recovery_code_rewrites_a_lost_key_file(db_path: Path) -> None:
    vault, _ctx, code = _set_up(db_path)
    vault.close()
    key_file = keyslots.key_file_path(db_path)
    key_file.unlink()
    with pytest.raises(NeedsUnlock):
        Vault.open_as(db_path, "manager", MANAGER_PASSWORD)
    Vault.open_with_recovery_code(db_path, code).close()
    assert key_file.exists()
    Vault.open_as(db_path, "manager", MANAGER_PASSWORD).close()


def test_rotating_the_key_retires_the_old_code_and_keeps_every_account(
    db_path: Path, clock: Clock
) -> None:
    clock.now = datetime.now(UTC)
    vault, old_code = Vault.create(db_path)
    ctx = Context(vault, clock=clock, workstation="office-pc")
    home = Home.set_up(ctx, clock)
    nurses = [home.add_nurse(), home.add_nurse()]
    carer = home.add_staff(["carer", "admin"])  # several roles: one slot all the same
    leaver = home.add_nurse()
    staff.deactivate_staff(ctx, leaver.id)
    new_code = staff.rotate_key(ctx)
    assert new_code != old_code
    vault.close()

    with pytest.raises(WrongKey):
        Vault.open_with_recovery_code(db_path, old_code)
    Vault.open_with_recovery_code(db_path, new_code).close()
    for username, password in [
        ("manager", MANAGER_PASSWORD),
        *((member.username, PASSWORD) for member in [*nurses, carer]),
    ]:
        opened = Vault.open_as(db_path, username, password)
        try:
            assert opened.matches(recovery.decode(new_code))
            role = "carer" if username == carer.username else None
            auth.log_in(Context(opened, clock=clock), username, password, role)
        finally:
            opened.close()
    with pytest.raises(WrongPassword):  # the leaver's slot went when the account was closed
        Vault.open_as(db_path, leaver.username, PASSWORD)
    assert not keyslots.key_file_path(db_path).with_name("carehome.db.keys.next").exists()
