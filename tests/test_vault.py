"""The encrypted file: unreadable without the key, refused with the wrong key, recoverable."""

import os
import sqlite3
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from carehome_share.domain.errors import ValidationError
from carehome_share.store import keychain, recovery
from carehome_share.store.schema import SCHEMA_VERSION
from carehome_share.store.vault import NeedsUnlock, NewerDatabase, Vault, VaultError, WrongKey

PASSPHRASE = "a long test passphrase"


def _make(db_path: Path, **kwargs: str) -> str:
    vault, code = Vault.create(db_path, **kwargs)
    with vault.transaction() as conn:
        conn.execute("INSERT INTO practice(name, ods_code) VALUES ('Riverside Surgery', 'Y01234')")
    vault.close()
    return code


def _practices(vault: Vault) -> list[str]:
    return [r[0] for r in vault.conn.execute("SELECT ods_code FROM practice")]


def test_file_cannot_be_read_by_plain_sqlite(db_path: Path) -> None:
    _make(db_path)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(db_path).execute("SELECT * FROM sqlite_master").fetchall()
    assert b"Riverside" not in db_path.read_bytes()


def test_keychain_holds_one_raw_key_per_database(db_path: Path, memory_keyring) -> None:
    _make(db_path)
    other = db_path.with_name("other.db")
    _make(other)
    stored = memory_keyring.entries
    assert set(stored) == {
        (keychain.SERVICE, keychain.entry_name(str(db_path))),
        (keychain.SERVICE, keychain.entry_name(str(other))),
    }
    assert all(len(bytes.fromhex(v)) == 32 for v in stored.values())
    vault = Vault.open(db_path)
    assert vault.key_mode == "keychain"
    assert _practices(vault) == ["Y01234"]
    vault.close()


def test_key_never_written_beside_the_data(db_path: Path, memory_keyring) -> None:
    _make(db_path)
    key_hex = next(iter(memory_keyring.entries.values()))
    for f in db_path.parent.iterdir():
        content = f.read_bytes()
        assert bytes.fromhex(key_hex) not in content
        assert key_hex.encode() not in content


def test_wrong_key_is_refused_without_offering_a_new_database(
    db_path: Path, memory_keyring
) -> None:
    _make(db_path)
    before = db_path.read_bytes()
    entry = next(iter(memory_keyring.entries))
    memory_keyring.entries[entry] = "11" * 32
    with pytest.raises(WrongKey) as refused:
        Vault.open(db_path)
    message = str(refused.value)
    assert "Key mismatch" in message and "recovery code" in message
    assert "Do not create a new database" in message
    assert db_path.read_bytes() == before


def test_recovery_code_reopens_and_restores_the_keychain_entry(
    db_path: Path, memory_keyring
) -> None:
    code = _make(db_path)
    memory_keyring.entries.clear()
    with pytest.raises(NeedsUnlock):
        Vault.open(db_path)
    vault = Vault.open(db_path, recovery_code=code)
    assert _practices(vault) == ["Y01234"]
    vault.close()
    assert len(memory_keyring.entries) == 1
    Vault.open(db_path).close()  # the keychain works again without the code


def test_mistyped_recovery_code_names_the_group(db_path: Path) -> None:
    code = _make(db_path)
    groups = code.split("-")
    groups[3] = groups[3][:2] + ("Z" if groups[3][2] != "Z" else "Y") + groups[3][3:]
    with pytest.raises(ValidationError, match="group 4"):
        Vault.open(db_path, recovery_code="-".join(groups))


def test_recovery_code_of_another_database_is_a_key_mismatch(db_path: Path) -> None:
    _make(db_path)
    other_code = _make(db_path.with_name("other.db"))
    with pytest.raises(WrongKey):
        Vault.open(db_path, recovery_code=other_code)


def test_no_keychain_means_passphrase_mode(db_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    assert not keychain.available()
    with pytest.raises(VaultError, match="no secure keychain"):
        Vault.create(db_path)
    assert not db_path.exists()
    code = _make(db_path, passphrase=PASSPHRASE)
    with pytest.raises(NeedsUnlock):
        Vault.open(db_path)
    with pytest.raises(WrongKey):
        Vault.open(db_path, passphrase="not the passphrase at all")
    vault = Vault.open(db_path, passphrase=PASSPHRASE)
    assert vault.key_mode == "passphrase" and _practices(vault) == ["Y01234"]
    vault.close()
    # The recovery code opens it too, typed into the passphrase box or given as such.
    Vault.open(db_path, passphrase=code).close()
    Vault.open(db_path, recovery_code=code).close()


def test_plaintext_keyring_backends_count_as_no_keychain(monkeypatch) -> None:
    class PlaintextKeyring(keyring.backend.KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service, username):  # type: ignore[no-untyped-def]
            return None

        def set_password(self, service, username, password):  # type: ignore[no-untyped-def]
            raise AssertionError("a key must never go to a plaintext keyring")

        def delete_password(self, service, username):  # type: ignore[no-untyped-def]
            pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    keyring.set_keyring(PlaintextKeyring())
    assert not keychain.available()
    assert "passphrase" in keychain.describe()


def test_short_passphrase_refused(db_path: Path) -> None:
    with pytest.raises(VaultError, match="12 characters"):
        Vault.create(db_path, passphrase="short")
    assert not db_path.exists()


def test_existing_file_is_never_overwritten(db_path: Path) -> None:
    _make(db_path)
    with pytest.raises(VaultError, match="already exists"):
        Vault.create(db_path)


def test_database_from_a_newer_version_is_refused_unchanged(db_path: Path) -> None:
    _make(db_path)
    vault = Vault.open(db_path)
    vault.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    vault.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    vault.close()
    before = db_path.read_bytes()
    with pytest.raises(NewerDatabase, match="newer version"):
        Vault.open(db_path)
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
    vault = Vault.open(db_path)
    assert vault.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert vault.conn.execute("SELECT email FROM practice").fetchall() == [("",)]
    vault.close()
    # The copy taken before the upgrade is the old schema, and the same key opens it.
    copy = db_path.with_name(f"{db_path.name}.before-schema-{SCHEMA_VERSION + 1}.bak")
    monkeypatch.undo()
    backup = Vault.open(copy, recovery_code=code)
    assert backup.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    backup.close()


def test_failed_upgrade_changes_nothing(db_path: Path, monkeypatch) -> None:
    _make(db_path)
    _add_migration(
        monkeypatch,
        "ALTER TABLE practice ADD COLUMN email TEXT; INSERT INTO no_such_table VALUES (1);",
    )
    with pytest.raises(Exception, match="no_such_table"):
        Vault.open(db_path)
    monkeypatch.undo()
    vault = Vault.open(db_path)
    assert vault.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = [r[1] for r in vault.conn.execute("PRAGMA table_info(practice)")]
    assert "email" not in columns and _practices(vault) == ["Y01234"]
    vault.close()


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_database_file_is_private_to_its_owner(db_path: Path) -> None:
    _make(db_path)
    assert db_path.stat().st_mode & 0o077 == 0
