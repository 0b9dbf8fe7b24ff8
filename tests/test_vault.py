"""The encrypted file: unreadable without the key, opened through a member of staff's key slot
(password + this PC's device secret), refused with the wrong key, recoverable with the code."""

import os
import shutil
import sqlite3
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.backends import chainer, fail

from carehome_share.domain.errors import ValidationError
from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store import keychain, keyslots, recovery
from carehome_share.store.schema import SCHEMA_VERSION
from carehome_share.store.vault import (
    NeedsUnlock,
    NewerDatabase,
    NotEnrolled,
    Vault,
    VaultError,
    WrongKey,
    WrongPassword,
)
from tests.conftest import MemoryKeyring
from tests.factories import MANAGER_PASSWORD


def _make(db_path: Path, **kwargs: str) -> str:
    """A database with its home set up (manager / MANAGER_PASSWORD) and one practice."""
    vault, code = Vault.create(db_path, **kwargs)
    auth.set_up_home(Context(vault), "Rose Court", "manager", "Mary Manager", MANAGER_PASSWORD)
    with vault.transaction() as conn:
        conn.execute("INSERT INTO practice(name, ods_code) VALUES ('Riverside Surgery', 'Y01234')")
    vault.close()
    return code


def _open(db_path: Path) -> Vault:
    return Vault.open_as(db_path, "manager", MANAGER_PASSWORD)


def _practices(vault: Vault) -> list[str]:
    return [r[0] for r in vault.conn.execute("SELECT ods_code FROM practice")]


def test_file_cannot_be_read_by_plain_sqlite(db_path: Path) -> None:
    _make(db_path)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(db_path).execute("SELECT * FROM sqlite_master").fetchall()
    assert b"Riverside" not in db_path.read_bytes()


def test_keychain_holds_one_device_secret_per_home_and_never_the_key(
    db_path: Path, memory_keyring: MemoryKeyring
) -> None:
    code = _make(db_path)
    other = db_path.with_name("other.db")
    other_code = _make(other)
    key_files = [keyslots.read_key_file(keyslots.key_file_path(p)) for p in (db_path, other)]
    home_ids = {key_file.home_id for key_file in key_files if key_file is not None}
    assert len(home_ids) == 2
    stored = memory_keyring.entries
    assert set(stored) == {(keychain.SERVICE, keychain.device_entry(h)) for h in home_ids}
    assert all(len(bytes.fromhex(v)) == 32 for v in stored.values())
    keys = {recovery.decode(code).hex(), recovery.decode(other_code).hex()}
    assert not keys & set(stored.values())  # the keychain alone opens nothing
    vault = _open(db_path)
    assert vault.opened_by == "password:manager"
    assert _practices(vault) == ["Y01234"]
    vault.close()


def test_key_never_written_beside_the_data(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    code = _make(db_path)
    _open(db_path).close()
    key = recovery.decode(code)
    names = sorted(f.name for f in db_path.parent.iterdir())
    assert f"{db_path.name}.keys" in names
    for f in db_path.parent.iterdir():
        content = f.read_bytes()
        assert key not in content
        assert key.hex().encode() not in content
        assert code.encode() not in content
    assert key.hex() not in memory_keyring.entries.values()


def test_wrong_password_and_unknown_name_open_nothing(db_path: Path) -> None:
    _make(db_path)
    before = db_path.read_bytes()
    with pytest.raises(WrongPassword, match="Wrong username or password"):
        Vault.open_as(db_path, "manager", "not the manager's password at all")
    with pytest.raises(WrongPassword, match="Wrong username or password"):
        Vault.open_as(db_path, "nobody", MANAGER_PASSWORD)
    assert db_path.read_bytes() == before
    assert keyslots.journal_path(db_path).exists()  # sealed, for the next login's audit
    # The name is not case-sensitive, and the right password still opens it.
    vault = Vault.open_as(db_path, " Manager ", MANAGER_PASSWORD)
    assert _practices(vault) == ["Y01234"]
    vault.close()


def test_wrong_key_is_refused_without_offering_a_new_database(db_path: Path) -> None:
    """Another home's key file beside the database: the manager's password opens that home's
    slot, and the key it gives does not open this file."""
    _make(db_path)
    other = db_path.with_name("other.db")
    _make(other)
    before = db_path.read_bytes()
    shutil.copyfile(keyslots.key_file_path(other), keyslots.key_file_path(db_path))
    with pytest.raises(WrongKey) as refused:
        _open(db_path)
    message = str(refused.value)
    assert "Key mismatch" in message and "recovery code" in message
    assert "Do not create a new database" in message
    assert db_path.read_bytes() == before


def test_recovery_code_reopens_and_enrols_this_computer(
    db_path: Path, memory_keyring: MemoryKeyring
) -> None:
    code = _make(db_path)
    memory_keyring.entries.clear()  # a new or rebuilt PC: no device secret here
    with pytest.raises(NotEnrolled, match="recovery code"):
        _open(db_path)
    vault = Vault.open_with_recovery_code(db_path, code)
    assert vault.opened_by == "recovery code"
    assert _practices(vault) == ["Y01234"]
    vault.close()
    assert len(memory_keyring.entries) == 1
    _open(db_path).close()  # the password works again without the code


def test_recovery_code_rebuilds_a_lost_key_file(db_path: Path) -> None:
    code = _make(db_path)
    keyslots.key_file_path(db_path).unlink()
    with pytest.raises(NeedsUnlock, match="key file"):
        _open(db_path)
    Vault.open_with_recovery_code(db_path, code).close()
    assert keyslots.key_file_path(db_path).exists()
    vault = _open(db_path)
    assert _practices(vault) == ["Y01234"]
    vault.close()


def test_mistyped_recovery_code_names_the_group(db_path: Path) -> None:
    code = _make(db_path)
    groups = code.split("-")
    groups[3] = groups[3][:2] + ("Z" if groups[3][2] != "Z" else "Y") + groups[3][3:]
    with pytest.raises(ValidationError, match="group 4"):
        Vault.open_with_recovery_code(db_path, "-".join(groups))


def test_recovery_code_of_another_database_is_a_key_mismatch(db_path: Path) -> None:
    _make(db_path)
    other_code = _make(db_path.with_name("other.db"))
    before = db_path.read_bytes()
    with pytest.raises(WrongKey, match="recovery code"):
        Vault.open_with_recovery_code(db_path, other_code)
    assert db_path.read_bytes() == before


def test_no_keychain_means_password_only_slots(db_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    assert not keychain.available()
    code = _make(db_path)
    key_file = keyslots.read_key_file(keyslots.key_file_path(db_path))
    assert key_file is not None and set(key_file.slots) == {"manager"}
    assert not key_file.slots["manager"].device_bound
    with pytest.raises(WrongPassword):
        Vault.open_as(db_path, "manager", "not the manager's password at all")
    vault = _open(db_path)  # the password alone opens it: there is no device secret to need
    assert _practices(vault) == ["Y01234"]
    vault.close()
    # The recovery code opens it too; enrolling stores nothing, as there is nowhere to keep it.
    Vault.open_with_recovery_code(db_path, code).close()
    _open(db_path).close()


def test_plaintext_keyring_backends_count_as_no_keychain(db_path: Path) -> None:
    class PlaintextKeyring(keyring.backend.KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service, username):  # type: ignore[no-untyped-def]
            return None

        def set_password(self, service, username, password):  # type: ignore[no-untyped-def]
            raise AssertionError("a secret must never go to a plaintext keyring")

        def delete_password(self, service, username):  # type: ignore[no-untyped-def]
            pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    keyring.set_keyring(PlaintextKeyring())
    assert not keychain.available()
    assert "password alone" in keychain.describe()
    _make(db_path)  # the device secret is not offered to it
    key_file = keyslots.read_key_file(keyslots.key_file_path(db_path))
    assert key_file is not None and not key_file.slots["manager"].device_bound
    _open(db_path).close()


def test_weak_manager_password_refused_and_no_slot_made(db_path: Path) -> None:
    """(Replaces the short-passphrase test: a database no longer has a passphrase of its own;
    the first manager's password is what protects it.)"""
    vault, _code = Vault.create(db_path)
    ctx = Context(vault)
    for weak in ("short", "password123", "rose court care home"):
        with pytest.raises(ValidationError, match="password"):
            auth.set_up_home(ctx, "Rose Court Care Home", "manager", "Mary Manager", weak)
    assert vault.slots() == {}
    assert vault.conn.execute("SELECT count(*) FROM home").fetchone()[0] == 0
    vault.close()
    key_file = keyslots.read_key_file(keyslots.key_file_path(db_path))
    assert key_file is not None and key_file.slots == {}
    with pytest.raises(WrongPassword):
        Vault.open_as(db_path, "manager", "short")


def test_existing_file_is_never_overwritten(db_path: Path) -> None:
    _make(db_path)
    before = db_path.read_bytes()
    with pytest.raises(VaultError, match="already exists"):
        Vault.create(db_path)
    assert db_path.read_bytes() == before


def test_database_from_a_newer_version_is_refused_unchanged(db_path: Path) -> None:
    _make(db_path)
    vault = _open(db_path)
    vault.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    vault.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    vault.close()
    before = db_path.read_bytes()
    with pytest.raises(NewerDatabase, match="newer version"):
        _open(db_path)
    assert db_path.read_bytes() == before


def test_settings_that_protect_the_data(vault: Vault) -> None:
    pragma = lambda name: vault.conn.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL
    assert pragma("temp_store") == 2  # MEMORY
    assert pragma("foreign_keys") == 1
    assert pragma("user_version") == SCHEMA_VERSION
    assert pragma("cipher_version").startswith("4.")


def test_a_failed_transaction_leaves_nothing(vault: Vault) -> None:
    with pytest.raises(RuntimeError), vault.transaction() as conn:
        conn.execute("INSERT INTO practice(name, ods_code) VALUES ('A', 'Y00001')")
        raise RuntimeError("power cut")
    assert vault.conn.execute("SELECT count(*) FROM practice").fetchone()[0] == 0


def test_recovery_codes_are_distinct_and_well_formed(tmp_path: Path) -> None:
    codes = {_make(tmp_path / f"{n}.db") for n in range(3)}
    assert len(codes) == 3
    assert all(recovery.looks_like_code(c) for c in codes)


def _add_migration(monkeypatch, sql: str) -> None:
    from carehome_share.store import schema, vault

    migrations = (*schema.MIGRATIONS, sql)
    monkeypatch.setattr(vault, "MIGRATIONS", migrations)
    monkeypatch.setattr(vault, "SCHEMA_VERSION", len(migrations))


def test_upgrade_copies_the_file_first_then_migrates(db_path: Path, monkeypatch) -> None:
    code = _make(db_path)
    _add_migration(monkeypatch, "ALTER TABLE practice ADD COLUMN email TEXT NOT NULL DEFAULT '';")
    vault = _open(db_path)
    assert vault.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert vault.conn.execute("SELECT email FROM practice").fetchall() == [("",)]
    vault.close()
    # The copy taken before the upgrade is the old schema, and the same key opens it.
    copy = db_path.with_name(f"{db_path.name}.before-schema-{SCHEMA_VERSION + 1}.bak")
    monkeypatch.undo()
    backup = Vault.open_with_recovery_code(copy, code)
    assert backup.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert _practices(backup) == ["Y01234"]
    backup.close()


def test_failed_upgrade_changes_nothing(db_path: Path, monkeypatch) -> None:
    _make(db_path)
    _add_migration(
        monkeypatch,
        "ALTER TABLE practice ADD COLUMN email TEXT; INSERT INTO no_such_table VALUES (1);",
    )
    with pytest.raises(Exception, match="no_such_table"):
        _open(db_path)
    monkeypatch.undo()
    vault = _open(db_path)
    assert vault.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = [r[1] for r in vault.conn.execute("PRAGMA table_info(practice)")]
    assert "email" not in columns and _practices(vault) == ["Y01234"]
    vault.close()


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_database_file_is_private_to_its_owner(db_path: Path) -> None:
    _make(db_path)
    assert db_path.stat().st_mode & 0o077 == 0
    assert keyslots.key_file_path(db_path).stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("module", "said"),
    [
        ("keyring.backends.SecretService", "the system keychain (GNOME Keyring / Secret Service)"),
        ("keyring.backends.kwallet", "the system keychain (KDE Wallet)"),
        ("keyring.backends.macOS", "the macOS Keychain"),
        ("keyring.backends.Windows", "Windows Credential Manager"),
        ("some_plugin.backend", "the system keychain"),
    ],
)
def test_the_keychain_is_named_as_people_know_it(module: str, said: str) -> None:
    """Not keyring's class name ("SecretService Keyring"), on the wizard and in the DPIA."""
    backend = type("Keychain", (MemoryKeyring,), {"__module__": module})()
    keyring.set_keyring(backend)
    assert keychain.describe() == said
    # as keyring picks on a desktop: a chain of backends, of which the first that works is used
    chain = type("Chain", (chainer.ChainerBackend,), {"backends": [fail.Keyring(), backend]})
    keyring.set_keyring(chain())
    assert keychain.describe() == said
