"""The encrypted database: create, unlock, migrate, and run transactions.

The key is a random 256-bit raw key kept in the OS keychain, so opening costs no key derivation.
Without a secure keychain the manager's passphrase protects the file through SQLCipher's own KDF.
Either way the recovery code holds the key SQLCipher actually uses, so it opens the file when
the keychain entry or the passphrase is lost.
"""

import hashlib
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlcipher3 import dbapi2 as sqlcipher

from carehome_share.domain.errors import CarehomeError
from carehome_share.store import keychain, recovery
from carehome_share.store.schema import MIGRATIONS, SCHEMA_VERSION

Connection = sqlcipher.Connection
DatabaseError = sqlcipher.DatabaseError
IntegrityError = sqlcipher.IntegrityError

# SQLCipher 4's defaults, checked against the file itself whenever a recovery code is made.
_KDF_ITERATIONS = 256_000
_SALT_BYTES = 16
_CACHE_KIB = 64 * 1024  # 64 MiB page cache: SQLCipher decrypts on every cache miss


class VaultError(CarehomeError):
    """The database cannot be opened or created as asked; the message says what to do."""


class NeedsUnlock(VaultError):
    def __init__(self) -> None:
        super().__init__(
            "This database is locked with a passphrase, or its key is not in this computer's "
            "keychain. Enter the passphrase, or the recovery code from the recovery sheet."
        )


class WrongKey(VaultError):
    def __init__(self, source: str) -> None:
        super().__init__(
            f"Key mismatch: the {source} does not open this database, or its first page is "
            "damaged. Nothing has been changed. Unlock with the recovery code from the recovery "
            "sheet, or restore the latest backup. Do not create a new database: it would not "
            "hold this home's records."
        )


class DamagedDatabase(WrongKey):
    """The key is right, but pages of the file are damaged or missing. A WrongKey, so every
    unlock screen that offers the recovery code and the backup offers them here too."""

    def __init__(self, problems: list[str]) -> None:
        VaultError.__init__(
            self,
            f"The database file is damaged: {'; '.join(problems)}. Nothing has been changed, and "
            "nothing will be written to it. Restore the latest backup (carehome-share restore "
            "BACKUP_FILE; the recovery code from the recovery sheet unlocks it if the keychain "
            "cannot). Do not create a new database: it would not hold this home's records.",
        )
        self.problems = problems


class DiskFull(VaultError):
    def __init__(self) -> None:
        super().__init__(
            "The disk is full: this change was not saved, and nothing saved before was lost. "
            "Free some space (or ask IT to), then try again."
        )


class NewerDatabase(VaultError):
    def __init__(self, found: int) -> None:
        super().__init__(
            f"This database was written by a newer version of carehome-share (schema {found}; "
            f"this version knows up to {SCHEMA_VERSION}). Install the newer version to open it; "
            "the file has not been changed."
        )


class Vault:
    """One open SQLCipher database. Writes go through `transaction()`, one at a time."""

    def __init__(self, conn: Connection, path: Path, key_mode: str, key_pragma: str) -> None:
        self.conn = conn
        self.path = path
        self.key_mode = key_mode  # "keychain" or "passphrase"
        self._key_pragma = key_pragma  # kept only in memory, to open a second connection
        self._lock = threading.RLock()

    # -- creating and opening ------------------------------------------------------------

    @classmethod
    def create(cls, path: Path | str, passphrase: str | None = None) -> tuple["Vault", str]:
        """Make a new encrypted database; return it with its recovery code (shown once).

        With no passphrase the key goes into the OS keychain, which must be a secure one.
        """
        path = Path(path).resolve()
        if path.exists():
            raise VaultError(f"{path} already exists; open it instead of creating a new one.")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if passphrase is None:
            if not keychain.available():
                raise VaultError(
                    "There is no secure keychain on this computer. Choose a passphrase to "
                    "protect the database instead."
                )
            key = secrets.token_bytes(32)
            key_pragma = _raw_key_pragma(key)
            mode = "keychain"
        else:
            if len(passphrase) < 12:
                raise VaultError("passphrase: at least 12 characters")
            key_pragma = _passphrase_pragma(passphrase)
            mode = "passphrase"
        conn = _connect(path, key_pragma)
        try:
            _configure(conn)
            if os.name == "posix":
                path.chmod(0o600)  # encrypted anyway; still nobody else's business
            _migrate(conn, path)
            conn.execute("INSERT INTO settings(key, value) VALUES ('key_mode', ?)", (mode,))
            if mode == "keychain":
                keychain.store_key(str(path), key)
            else:
                key = _derived_key(path, passphrase or "")
                _check_key_opens(path, key)
        except BaseException:
            conn.close()
            _remove_database_files(path)
            raise
        return cls(conn, path, mode, key_pragma), recovery.encode(key)

    @classmethod
    def open(
        cls, path: Path | str, passphrase: str | None = None, recovery_code: str | None = None
    ) -> "Vault":
        """Unlock an existing database with the keychain, a passphrase or a recovery code."""
        path = Path(path).resolve()
        if not path.exists():
            raise VaultError(f"There is no database at {path}.")
        if passphrase and recovery.looks_like_code(passphrase):
            passphrase, recovery_code = None, passphrase
        if recovery_code:
            key = recovery.decode(recovery_code)
            key_pragma = _raw_key_pragma(key)
            conn = _unlock(path, key_pragma, "recovery code")
            vault = cls(conn, path, _key_mode(conn), key_pragma)
            if vault.key_mode == "keychain" and keychain.available():
                keychain.store_key(str(path), key)  # the entry was lost: put it back
        elif passphrase:
            key_pragma = _passphrase_pragma(passphrase)
            vault = cls(_unlock(path, key_pragma, "passphrase"), path, "passphrase", key_pragma)
        else:
            key_from_keychain = keychain.load_key(str(path))
            if key_from_keychain is None:
                raise NeedsUnlock()
            key_pragma = _raw_key_pragma(key_from_keychain)
            conn = _unlock(path, key_pragma, "key in the keychain")
            vault = cls(conn, path, "keychain", key_pragma)
        try:
            _migrate(vault.conn, path)
        except BaseException:
            vault.close()
            raise
        return vault

    def another(self) -> "Vault":
        """A second connection to the same file, for work on another thread (WAL lets readers
        run beside a writer)."""
        return Vault(
            _unlock(self.path, self._key_pragma, "key"), self.path, self.key_mode, self._key_pragma
        )

    def close(self) -> None:
        self.conn.close()

    # -- using it --------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One all-or-nothing change: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any error."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlcipher.OperationalError) and "full" in str(exc):
                    raise DiskFull() from exc
                raise

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A consistent read that does not hold up writers: BEGIN (deferred), then COMMIT."""
        with self._lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")

    def setting(self, key: str, default: str) -> str:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default


# -- helpers ---------------------------------------------------------------------------------


def _raw_key_pragma(key: bytes) -> str:
    return f"PRAGMA key = \"x'{key.hex()}'\""


def _passphrase_pragma(passphrase: str) -> str:
    return "PRAGMA key = '{}'".format(passphrase.replace("'", "''"))


def _connect(path: Path, key_pragma: str) -> Connection:
    conn = sqlcipher.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is reported by us, not stderr
    conn.execute(key_pragma)
    return conn


def _configure(conn: Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")  # an audit entry is on disk before we say "done"
    conn.execute("PRAGMA temp_store = MEMORY")  # sorts never spill personal data to temp files
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")


def _unlock(path: Path, key_pragma: str, source: str) -> Connection:
    conn = _connect(path, key_pragma)
    try:
        if path.stat().st_size % _page_size(conn):
            raise DatabaseError("the file ends part-way through a page")  # never written to
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _configure(conn)
    except DatabaseError as exc:
        damage = _damage(conn, path)
        conn.close()
        if damage:
            raise DamagedDatabase(damage) from exc
        raise WrongKey(source) from exc
    return conn


def _page_size(conn: Connection) -> int:
    return int(conn.execute("PRAGMA cipher_page_size").fetchone()[0])


_HMAC_FAILED = re.compile(r"HMAC verification failed for page (\d+)")
_SHORT_PAGE = re.compile(r"page (\d+) has an invalid size of (\d+) bytes \(expected (\d+)")


def page_problems(reported: list[str]) -> list[str]:
    """SQLCipher's cipher_integrity_check lines in words: which page, and what is wrong."""
    problems = []
    for line in reported:
        if match := _HMAC_FAILED.search(line):
            problems.append(f"page {match[1]} is damaged (it fails its checksum)")
        elif match := _SHORT_PAGE.search(line):
            problems.append(
                f"page {match[1]} is cut short ({match[2]} of {match[3]} bytes): "
                "the file was truncated"
            )
        else:
            problems.append(line)
    return problems


def _damage(conn: Connection, path: Path) -> list[str]:
    """After a failed unlock: the damaged pages when the key is right (some pages verify), or
    nothing when every page fails, which is what a wrong key looks like."""
    try:
        reported = [row[0] for row in conn.execute("PRAGMA cipher_integrity_check")]
    except DatabaseError:
        return []
    whole_pages = path.stat().st_size // _page_size(conn)
    if sum(1 for line in reported if _HMAC_FAILED.search(line)) >= whole_pages:
        return []
    return page_problems(reported)


def _key_mode(conn: Connection) -> str:
    row = conn.execute("SELECT value FROM settings WHERE key = 'key_mode'").fetchone()
    return row[0] if row else "keychain"


def _derived_key(path: Path, passphrase: str) -> bytes:
    """The raw key SQLCipher derives from a passphrase and the salt at the start of the file."""
    with path.open("rb") as f:
        salt = f.read(_SALT_BYTES)
    return hashlib.pbkdf2_hmac("sha512", passphrase.encode(), salt, _KDF_ITERATIONS, 32)


def _check_key_opens(path: Path, key: bytes) -> None:
    """A recovery code is only handed out once it has been seen to open the file."""
    probe = _unlock(path, _raw_key_pragma(key), "recovery code")
    probe.close()


def _migrate(conn: Connection, path: Path) -> None:
    """Bring the schema up to date in one transaction, after copying the file aside."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise NewerDatabase(found)
    if found == SCHEMA_VERSION:
        return
    if found > 0:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        copy = path.with_name(f"{path.name}.before-schema-{SCHEMA_VERSION}.bak")
        shutil.copy2(path, copy)
    script = "".join(MIGRATIONS[found:])
    try:
        conn.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {SCHEMA_VERSION};")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _remove_database_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            os.remove(candidate)
