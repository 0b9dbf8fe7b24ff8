"""Backups: an encrypted copy taken from the open database, and putting one back.

A backup is made with SQLite's backup API from a second connection, into a new file keyed with
the same key and the same salt, so the manager's passphrase and the recovery code open it just
as they open the database. It is checked, then renamed into place: a failure leaves no file
under the backup's name. SQLCipher's backup copies encrypted to encrypted only; nothing here
ever writes a page in plaintext.

Restoring happens before anyone logs in (the database may be the thing that is broken), so it
is a store operation unlocked with the keychain's key, the passphrase or the recovery code. The
backup is copied next to the database and checked there (both file checks and the whole audit
chain), the current file is copied aside, and the checked copy is renamed over it.
"""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from carehome_share.store import audit, keychain, recovery
from carehome_share.store.schema import SCHEMA_VERSION
from carehome_share.store.vault import (
    Connection,
    DatabaseError,
    NeedsUnlock,
    NewerDatabase,
    Vault,
    VaultError,
    _connect,
    _passphrase_pragma,
    _raw_key_pragma,
    _unlock,
)

PLAINTEXT_HEADER = b"SQLite format 3\x00"


class BackupError(VaultError):
    """A backup could not be made or put back; the database itself is unchanged."""


@dataclass(frozen=True)
class Checked:
    """What a checked copy holds: its audit entries and chain head."""

    path: Path
    entries: int
    head_seq: int
    head_hash: str


@dataclass(frozen=True)
class Restored(Checked):
    previous: Path | None  # where the file it replaced was copied, if there was one


@contextmanager
def _temporary_beside(target: Path) -> Iterator[Path]:
    """A fresh name in the target's folder (so the final rename is atomic); removed, with its
    WAL files, unless the block renamed it into place."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    os.unlink(name)  # SQLCipher starts the database itself
    temp = Path(name)
    try:
        yield temp
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{temp}{suffix}")


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    if os.name == "posix":  # the rename itself reaches the disk
        _sync(folder)


def _refuse_plaintext(path: Path) -> None:
    with path.open("rb") as f:
        if f.read(len(PLAINTEXT_HEADER)) == PLAINTEXT_HEADER:
            raise BackupError(f"{path.name} is not encrypted: it is refused.")


def check_copy(conn: Connection, path: Path, name: str = "") -> Checked:
    """Encrypted, SQLCipher's page check clean, SQLite's structure check 'ok', a schema this
    version knows, and every audit entry linked: else BackupError naming what is wrong."""
    _refuse_plaintext(path)
    result = audit.VerifyResult()
    try:
        readable = audit.check_file(conn, result)
        if readable:
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise NewerDatabase(found)
            audit.check_chain(conn, result)
    except DatabaseError as exc:
        result.problems.append(f"the file is damaged: {exc}")
    if result.problems:
        shown = name or path.name
        raise BackupError(f"{shown} failed its checks: {'; '.join(result.problems)}")
    return Checked(path, result.entries, result.head_seq, result.head_hash)


def back_up(vault: Vault, target: Path | str) -> Checked:
    """Copy the open database into `target`, encrypted with the same key and salt, checked.

    Other connections and processes may go on writing: the copy is one consistent snapshot.
    """
    target = Path(target).resolve()
    if target in {vault.path, *(Path(f"{vault.path}{s}") for s in ("-wal", "-shm"))}:
        raise BackupError("A backup cannot be written over the database itself.")
    if not target.parent.is_dir():
        raise BackupError(f"There is no folder {target.parent} to put the backup in.")
    try:
        source = vault.another()  # leaves the caller's connection and transaction alone
        with closing(source), _temporary_beside(target) as temp:
            salt = source.conn.execute("PRAGMA cipher_salt").fetchone()[0]
            dest = _connect(temp, source._key_pragma)
            with closing(dest):
                dest.execute(f"PRAGMA cipher_salt = \"x'{salt}'\"")  # the recovery code opens it
                dest.execute("PRAGMA temp_store = MEMORY")
                source.conn.backup(dest)  # all pages in one step: one snapshot
                dest.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                checked = check_copy(dest, temp, target.name)
            if os.name == "posix":
                temp.chmod(0o600)
            _sync(temp)
            os.replace(temp, target)
    except OSError as exc:  # a full disk, most often, met at the write or the fsync
        raise BackupError(
            f"The backup could not be written to {target.parent}: {exc.strerror or exc}. "
            "The database and any earlier backup there are unchanged."
        ) from exc
    _sync_folder(target.parent)
    return Checked(target, checked.entries, checked.head_seq, checked.head_hash)


def _key_pragma_for(db_path: Path, passphrase: str | None, recovery_code: str | None) -> str:
    """The key to try on a backup of the database at `db_path`."""
    if passphrase and recovery.looks_like_code(passphrase):
        passphrase, recovery_code = None, passphrase
    if recovery_code:
        return _raw_key_pragma(recovery.decode(recovery_code))
    if passphrase:
        return _passphrase_pragma(passphrase)
    key = keychain.load_key(str(db_path))
    if key is None:
        raise NeedsUnlock()
    return _raw_key_pragma(key)


def restore(
    backup_file: Path | str,
    db_path: Path | str,
    *,
    passphrase: str | None = None,
    recovery_code: str | None = None,
) -> Restored:
    """Put a backup in place of the database at `db_path`, which must not be open anywhere.

    The backup must open with the database's key (from the keychain, the passphrase or the
    recovery code) and pass both file checks and the audit chain check. The current file, if
    any, is copied aside first; the checked copy then replaces it in one rename.
    """
    backup_file, db_path = Path(backup_file).resolve(), Path(db_path).resolve()
    if not backup_file.is_file():
        raise BackupError(f"There is no backup at {backup_file}.")
    if backup_file == db_path:
        raise BackupError("That is the database itself, not a backup of it.")
    key_pragma = _key_pragma_for(db_path, passphrase, recovery_code)
    db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _temporary_beside(db_path) as temp:
        _refuse_plaintext(backup_file)
        shutil.copyfile(backup_file, temp)
        source = "recovery code" if recovery_code else "passphrase" if passphrase else "key"
        conn = _unlock(temp, key_pragma, source)  # WrongKey / DamagedDatabase say what to do
        with closing(conn):
            checked = check_copy(conn, temp, backup_file.name)
            conn.execute("PRAGMA journal_mode = DELETE")  # the copy leaves no WAL behind
        if os.name == "posix":
            temp.chmod(0o600)
        _sync(temp)
        previous = _copy_aside(db_path)
        for suffix in ("-wal", "-shm"):  # the old file's log must never replay onto the copy
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{db_path}{suffix}")
        os.replace(temp, db_path)
    _sync_folder(db_path.parent)
    return Restored(db_path, checked.entries, checked.head_seq, checked.head_hash, previous)


def _copy_aside(db_path: Path) -> Path | None:
    """Keep the file being replaced (with its write-ahead log) under a dated name."""
    if not db_path.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = db_path.with_name(f"{db_path.name}.before-restore-{stamp}.bak")
    shutil.copy2(db_path, aside)
    if Path(f"{db_path}-wal").exists():
        shutil.copy2(f"{db_path}-wal", f"{aside}-wal")
    return aside
