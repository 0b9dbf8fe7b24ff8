"""Backups: an encrypted copy taken from the open database, and putting one back.

A backup is made with SQLite's backup API from a second connection, into a new file keyed with
the same key and the same salt, so the recovery code opens it just as it opens the database;
the key file goes beside it (`<backup>.keys`), so the staff who could log in then can open it
with their passwords. It is checked, then renamed into place: a failure leaves no file under the
backup's name. SQLCipher's backup copies encrypted to encrypted only; nothing here ever writes a
page in plaintext.

Restoring happens before anyone can log in to the current file (it may be the thing that is
broken), so it opens the *backup*: with a manager's password through the backup's key file, or
with the recovery code. A backup of another home is refused; the backup is copied next to the
database and checked there (both file checks and the whole audit chain); the caller records who
restored it, from what, and what it replaced, in the copy's own audit chain; the current file
is copied aside, and the checked copy is renamed over it.
"""

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from carehome_share.store import audit, keyslots, recovery
from carehome_share.store.files import part_beside
from carehome_share.store.schema import SCHEMA_VERSION
from carehome_share.store.vault import (
    Connection,
    DatabaseError,
    NeedsUnlock,
    NewerDatabase,
    Vault,
    VaultError,
    WrongPassword,
    _connect,
    _journal_failure,
    _raw_key_pragma,
    _unlock,
    unseal_key_file,
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
    fd, name = part_beside(target)
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
            dest = _connect(temp, source.raw_key_pragma())
            with closing(dest):
                dest.execute(f"PRAGMA cipher_salt = \"x'{salt}'\"")  # the recovery code opens it
                dest.execute("PRAGMA temp_store = MEMORY")
                source.conn.backup(dest)  # all pages in one step: one snapshot
                dest.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                checked = check_copy(dest, temp, target.name)
            if os.name == "posix":
                temp.chmod(0o600)
            _sync(temp)
            keyslots.write_key_file(keyslots.key_file_path(target), vault.key_file())
            os.replace(temp, target)
    except OSError as exc:  # a full disk, most often, met at the write or the fsync
        raise BackupError(
            f"The backup could not be written to {target.parent}: {exc.strerror or exc}. "
            "The database and any earlier backup there are unchanged."
        ) from exc
    _sync_folder(target.parent)
    return Checked(target, checked.entries, checked.head_seq, checked.head_hash)


@dataclass(frozen=True)
class Replaced:
    """The file a restore set aside: where it went, and its audit head when it could be read."""

    aside: Path | None
    entries: int | None
    head_seq: int | None
    head_hash: str | None


# Given the backup copy (open, checked) and what it replaces: refuse by raising, or record the
# restore in the copy's audit chain.
Admit = Callable[[Connection, Checked, Replaced], None]


def _backup_key(
    backup_file: Path, db_path: Path, username: str | None, password: str | None, code: str | None
) -> bytes:
    """The backup's key: from the recovery code, or a manager's slot in the backup's key file."""
    if code:
        return recovery.decode(code)
    key_file = keyslots.read_key_file(keyslots.key_file_path(backup_file))
    if key_file is None:
        raise NeedsUnlock(
            f"There is no key file beside the backup ({backup_file.name}.keys), so no password "
            "can open it."
        )
    if not username or not password:
        raise WrongPassword()
    try:
        return unseal_key_file(key_file, username.strip().lower(), password)
    except keyslots.WrongSecret:
        current = keyslots.read_key_file(keyslots.key_file_path(db_path)) or key_file
        _journal_failure(db_path, current, username.strip().lower(), "restore")
        raise WrongPassword() from None


def home_id_of(conn: Connection) -> str | None:
    """The home a database belongs to (None for a 0.1 file, which predates home ids)."""
    with contextlib.suppress(DatabaseError):
        row = conn.execute("SELECT home_id FROM vault_identity").fetchone()
        return str(row[0]) if row else None
    return None


def _salt(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(16)


def _same_home(
    db_path: Path, current_home: str | None, backup: Path, backup_home: str | None
) -> bool:
    """Home ids where both files have one; else the salt at the start of the file, which a
    database keeps for life and its backups copy (a 0.1 backup, a lost or damaged key file)."""
    if current_home and backup_home:
        return current_home == backup_home
    return not db_path.exists() or _salt(db_path) == _salt(backup)


def _current_file(db_path: Path, key: bytes) -> tuple[str | None, Replaced]:
    """The current file's home id and audit head, when the backup's key still opens it."""
    if not db_path.exists():
        return None, Replaced(None, None, None, None)
    key_file = keyslots.read_key_file(keyslots.key_file_path(db_path))
    home_id = key_file.home_id if key_file else None
    try:
        conn = _unlock(db_path, _raw_key_pragma(key), "key")
    except VaultError:  # damaged, or its key was rotated since the backup
        return home_id, Replaced(None, None, None, None)
    with closing(conn):
        home_id = home_id_of(conn) or home_id
        try:
            seq, digest = audit.head(conn)
            count = int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])
        except DatabaseError:
            return home_id, Replaced(None, None, None, None)
    return home_id, Replaced(None, count, seq, digest)


def restore(
    backup_file: Path | str,
    db_path: Path | str,
    admit: Admit,
    *,
    username: str | None = None,
    password: str | None = None,
    recovery_code: str | None = None,
) -> tuple[Restored, Replaced]:
    """Put a backup in place of the database at `db_path`, which must not be open anywhere.

    The backup must open with a manager's password (its own key file) or the recovery code,
    belong to this home, pass both file checks and the audit chain check, and be admitted by
    `admit`, which records the restore inside it. The current file, if any, is copied aside
    first; the checked copy then replaces it in one rename, with its key file.
    """
    backup_file, db_path = Path(backup_file).resolve(), Path(db_path).resolve()
    if not backup_file.is_file():
        raise BackupError(f"There is no backup at {backup_file}.")
    if backup_file == db_path:
        raise BackupError("That is the database itself, not a backup of it.")
    key = _backup_key(backup_file, db_path, username, password, recovery_code)
    current_home, replaced = _current_file(db_path, key)
    db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _temporary_beside(db_path) as temp:
        _refuse_plaintext(backup_file)
        shutil.copyfile(backup_file, temp)
        source = "recovery code" if recovery_code else "key"
        conn = _unlock(temp, _raw_key_pragma(key), source)  # WrongKey / DamagedDatabase
        with closing(conn):
            checked = check_copy(conn, temp, backup_file.name)
            if not _same_home(db_path, current_home, backup_file, home_id_of(conn)):
                raise BackupError(
                    f"{backup_file.name} is a backup of another home's database (or of a "
                    "database made before this one): it is refused, and nothing has changed."
                )
            admit(conn, checked, replaced)
            conn.execute("PRAGMA journal_mode = DELETE")  # the copy leaves no WAL behind
        if os.name == "posix":
            temp.chmod(0o600)
        _sync(temp)
        aside = _copy_aside(db_path)
        for suffix in ("-wal", "-shm"):  # the old file's log must never replay onto the copy
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{db_path}{suffix}")
        os.replace(temp, db_path)
    _sync_folder(db_path.parent)
    restored = Vault._opened(db_path, key, "restore")  # migrates it, writes its key file
    with closing(restored.conn):
        restored.sync_key_file()
    done = Restored(db_path, checked.entries, checked.head_seq, checked.head_hash, aside)
    return done, Replaced(aside, replaced.entries, replaced.head_seq, replaced.head_hash)


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
