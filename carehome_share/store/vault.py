"""The encrypted database: create, open as a member of staff, migrate, and run transactions.

The key is a random 256-bit raw key that is never stored whole on the PC: each member of staff
opens it through their key slot (password plus the PC's device secret, `keyslots`), and the
recovery code, which *is* the key written for typing, opens it anywhere and enrols a new PC.
A database from version 0.1 (key in the keychain, or a passphrase) keeps opening the old way
while its staff move to key slots; rotating the key ends that.
"""

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlcipher3 import dbapi2 as sqlcipher

from carehome_share.domain.errors import CarehomeError
from carehome_share.domain.rules import reason_code_of
from carehome_share.domain.validation import uk_date
from carehome_share.store import binding, keychain, keyslots, recovery, signing
from carehome_share.store.keyslots import KeyFile, Slot
from carehome_share.store.schema import CONSENT_NO_UPDATE, MIGRATIONS, SCHEMA_VERSION

Connection = sqlcipher.Connection
DatabaseError = sqlcipher.DatabaseError
IntegrityError = sqlcipher.IntegrityError

# SQLCipher 4's defaults, for version 0.1's passphrase-protected files.
_KDF_ITERATIONS = 256_000
_SALT_BYTES = 16
_CACHE_KIB = 64 * 1024  # 64 MiB page cache: SQLCipher decrypts on every cache miss


class VaultError(CarehomeError):
    """The database cannot be opened or created as asked; the message says what to do."""


class NeedsUnlock(VaultError):
    def __init__(self, why: str = "") -> None:
        super().__init__(
            (why or "This database cannot be opened with a staff password on this computer.")
            + " Enter the recovery code from the recovery sheet (kept in the safe)."
        )


class NotEnrolled(NeedsUnlock):
    """The slot needs this PC's device secret, and the keychain does not hold it."""

    def __init__(self) -> None:
        where = (
            "This computer's keychain does not hold this home's device secret (a new or "
            "rebuilt computer, or another user account), so a password alone cannot open it."
            if keychain.available()
            else "This computer has no secure keychain to hold this home's device secret, so "
            "a password alone cannot open the database here."
        )
        super().__init__(where + " The recovery code opens it once and enrols this computer.")


class NeedsOldPassphrase(NeedsUnlock):
    """A 0.1 file moving to key slots, and this account has none yet: its old passphrase opens
    the file once, and the login gives the account its slot."""

    def __init__(self) -> None:
        VaultError.__init__(
            self,
            "This account has not logged in since carehome-share was upgraded. Enter the "
            "database's old passphrase once (or the recovery code), then your own password.",
        )


class WrongPassword(VaultError):
    def __init__(self) -> None:
        super().__init__("Wrong username or password.")


class WrongPassphrase(WrongPassword):
    """The old passphrase typed for a 0.1 file does not open it: every page fails its check,
    which is what a wrong key looks like (a damaged file fails on some pages only)."""

    def __init__(self) -> None:
        VaultError.__init__(
            self,
            "Wrong password: the old passphrase typed does not open this database (or no longer "
            "does, once its staff have their own passwords). Nothing has been changed. Type it "
            "again, or use the recovery code from the recovery sheet.",
        )


class WrongKey(VaultError):
    def __init__(self, source: str) -> None:
        super().__init__(
            f"Key mismatch: the {source} does not open this database, or its first page is "
            "damaged. Nothing has been changed. Unlock with the recovery code from the recovery "
            "sheet, or restore the latest backup. Do not create a new database: it would not "
            "hold this home's records."
        )


class WrongRecoveryCode(WrongKey):
    """A well-formed recovery code (its check characters catch a typo) that does not open the
    file: every page fails its check, so it is another key, not damage (see WrongPassphrase)."""

    def __init__(self) -> None:
        VaultError.__init__(
            self,
            "Wrong recovery code: it does not open this file. It may be another home's code, or "
            "one from before the database was given a new key. Nothing has been changed. Use "
            "this home's latest recovery sheet.",
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


class FileUnusable(VaultError):
    """Something other than the key or the records stops the file being used: what the path
    names, the disk or folder it is on, or another program. The message names the cause."""


class NotADatabaseFile(FileUnusable):
    def __init__(
        self, path: Path, what: str, advice: str = "choose the database file itself"
    ) -> None:
        super().__init__(
            f"{path} {what}: it is not a carehome-share database, and nothing was written to it. "
            f"{advice[0].upper()}{advice[1:]}."
        )


class DiskFull(FileUnusable):
    def __init__(
        self, what: str = "this change was not saved, and nothing saved before was lost"
    ) -> None:
        super().__init__(
            f"The disk is full: {what}. Free some space (or ask IT to), then try again."
        )


class InUse(FileUnusable):
    def __init__(self) -> None:
        super().__init__(
            "The database is locked by another program: probably carehome-share open on another "
            "computer or in another window, in the middle of a change or holding the file for "
            "itself. Nothing has been changed. Close it there, or wait a moment, then try again."
        )


class ReadOnly(FileUnusable):
    def __init__(self, where: str) -> None:
        super().__init__(
            f"The database cannot be written: {where}. carehome-share records every opening in "
            "the file and keeps working files (-wal, -shm) beside it, so it needs to write there "
            "even to read. Nothing has been changed. Give yourself write access (or ask IT to), "
            "or move the database and its .keys file to a folder you can write to."
        )


class CannotUse(FileUnusable):
    def __init__(self, path: Path, error: DatabaseError) -> None:
        super().__init__(
            f"The database file {path} could not be read or written ({error}). Nothing has been "
            "changed. Check the disk it is on (or ask IT to), then try again."
        )


class NewerDatabase(VaultError):
    def __init__(self, found: int) -> None:
        super().__init__(
            f"This database was written by a newer version of carehome-share (schema {found}; "
            f"this version knows up to {SCHEMA_VERSION}). Install the newer version to open it; "
            "the file has not been changed."
        )


class Vault:
    """One open SQLCipher database. Writes go through `transaction()`, one at a time.

    `opened_by` says how: "password:<username>" (a key slot), "recovery code", or "old key"
    (a 0.1 file during its move to key slots). The login that follows reads it once
    (`take_proof`)."""

    def __init__(self, conn: Connection, path: Path, key: bytes, opened_by: str) -> None:
        self.conn = conn
        self.path = path
        self.opened_by = opened_by
        self._key = key  # kept only in memory: second connections, new slots, backups
        once = opened_by.startswith("password:") or opened_by == "recovery code"
        self._proof: str | None = opened_by if once else None
        self._proof_digest = b""  # of the password that opened the slot, salted per process
        self._lock = threading.RLock()

    # -- creating and opening ------------------------------------------------------------

    @classmethod
    def create(cls, path: Path | str, purpose: str = "home") -> tuple["Vault", str]:
        """Make a new encrypted database; return it with its recovery code (shown once).

        Its identity (home id, the home's key pair, the device secret) is made with it; the
        device secret goes into the OS keychain when there is a secure one. The first manager's
        key slot is added when the home is set up.
        """
        path = Path(path).resolve()
        if path.exists():
            _check_is_database_file(path)  # a folder or an empty file: say so first
            raise VaultError(f"{path} already exists; open it instead of creating a new one.")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        with _obstacles_named(path, opening=True):
            conn = _connect(path, _raw_key_pragma(key))
            try:
                _configure(conn)
                if os.name == "posix":
                    path.chmod(0o600)  # encrypted anyway; still nobody else's business
                _migrate(conn, path, purpose)
                vault = cls(conn, path, key, "created")
                vault.enrol_this_computer()
            except BaseException:
                conn.close()
                _remove_database_files(path)
                raise
        return vault, recovery.encode(key)

    @classmethod
    def open_as(cls, path: Path | str, username: str, password: str) -> "Vault":
        """Open with a member of staff's password through their key slot.

        A wrong password opens nothing; it is journaled (sealed to the home) for the audit
        chain. A 0.1 file whose key is still in the keychain opens the old way, and the login
        that follows checks the password against the staff record.
        """
        path = _existing(path)
        key_files = [kf for kf in map(keyslots.read_key_file, _key_file_candidates(path)) if kf]
        name = username.strip().lower()
        if not key_files or name not in key_files[0].slots:
            legacy = keychain.load(keychain.legacy_entry(str(path)))
            if legacy is not None:  # a 0.1 file still moving to slots; log_in checks the hash
                return cls._opened(path, legacy, "old key")
            if key_files and key_files[0].in_transition:
                raise NeedsOldPassphrase()
            if not key_files:
                raise NeedsUnlock(
                    f"The key file beside the database ({keyslots.key_file_path(path).name}) is "
                    "missing or damaged, so no password can open it."
                )
        mismatch: WrongKey | None = None
        for attempt, key_file in enumerate(key_files):  # a second: a rotation cut short
            if attempt and name not in key_file.slots:
                continue
            try:
                key = unseal_key_file(key_file, name, password)
            except keyslots.WrongSecret:
                _journal_failure(path, key_files[0], name)
                raise WrongPassword() from None
            try:
                vault = cls._opened(path, key, f"password:{name}")
            except WrongKey as exc:
                mismatch = exc
                continue
            vault._proof_digest = vault._digest(password)
            if attempt:
                vault.sync_key_file()  # the finished rotation's key file takes the usual name
            return vault
        raise mismatch or WrongPassword()

    @classmethod
    def open_with_recovery_code(cls, path: Path | str, code: str) -> "Vault":
        """Open with the recovery code, on any PC, and enrol this PC: its keychain receives the
        device secret, and the key file is rebuilt from the database."""
        path = _existing(path)
        key = recovery.decode(code)
        vault = cls._opened(path, key, "recovery code", "recovery code")
        try:
            vault.enrol_this_computer()
        except BaseException:
            vault.close()
            raise
        return vault

    @classmethod
    def open_with_old_passphrase(cls, path: Path | str, passphrase: str) -> "Vault":
        """A 0.1 file protected by a passphrase, during its move to key slots."""
        path = _existing(path)
        return cls._opened(path, _derived_key(path, passphrase), "old key", "passphrase")

    @classmethod
    def _opened(cls, path: Path, key: bytes, opened_by: str, source: str = "key") -> "Vault":
        conn = _unlock(path, _raw_key_pragma(key), source)
        try:
            with _obstacles_named(path, opening=True):
                _migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        vault = cls(conn, path, key, opened_by)
        if opened_by == "old key":
            if not vault.in_transition():
                vault.close()  # the move to key slots has ended: the old key is retired
                raise WrongPassphrase() if source == "passphrase" else WrongPassword()
            vault.enrol_this_computer()  # the device secret and key file the new slots need
        return vault

    def another(self) -> "Vault":
        """A second connection to the same file, for work on another thread (WAL lets readers
        run beside a writer)."""
        conn = _unlock(self.path, _raw_key_pragma(self._key), "key")
        return Vault(conn, self.path, self._key, "key")

    def close(self) -> None:
        self.conn.close()

    # -- identity, key slots and the key file ------------------------------------------------

    def identity(self) -> tuple[str, bytes, bytes, bytes]:
        """(home id, home public key, home private key, device secret)."""
        row = self.conn.execute(
            "SELECT home_id, public_key, private_key, device_secret FROM vault_identity"
        ).fetchone()
        return str(row[0]), bytes(row[1]), bytes(row[2]), bytes(row[3])

    @property
    def home_id(self) -> str:
        return self.identity()[0]

    def signing_key(self) -> bytes:
        """The home's signing key, PKCS#8 DER (store/signing.py reads it)."""
        return bytes(self.conn.execute("SELECT signing_key FROM vault_identity").fetchone()[0])

    @property
    def purpose(self) -> str:
        """ "home", or "demo" for a database of synthetic residents made by `demo`."""
        return str(self.conn.execute("SELECT purpose FROM vault_identity").fetchone()[0])

    def in_transition(self) -> bool:
        """True while a 0.1 file's old key (keychain entry or passphrase) still opens it."""
        return bool(self.conn.execute("SELECT key_transition FROM vault_identity").fetchone()[0])

    def device_secret_here(self) -> bytes | None:
        """The device secret when this PC's keychain can hold it, else None (password alone)."""
        return self.identity()[3] if keychain.available() else None

    def enrol_this_computer(self) -> None:
        """Give this PC's keychain the device secret, and write the key file."""
        home_id, _public, _private, device_secret = self.identity()
        if keychain.available():
            keychain.store(keychain.device_entry(home_id), device_secret)
        self.sync_key_file()

    def _digest(self, password: str) -> bytes:
        return hashlib.sha256(self._key + password.encode("utf-8", "surrogatepass")).digest()

    def take_proof(self, password: str) -> str | None:
        """How the file was just opened, for the first login after it only: "password:<name>"
        when that person's slot opened it with this very password (the login need not pay for
        the password check again), or "recovery code" (that login may lift a manager's
        lockout; later ones at the same window may not)."""
        proof, digest = self._proof, self._proof_digest
        self._proof, self._proof_digest = None, b""
        if proof and proof.startswith("password:"):
            return proof if secrets.compare_digest(digest, self._digest(password)) else None
        return proof

    def slots(self) -> dict[str, Slot]:
        rows = self.conn.execute("SELECT username, slot FROM key_slot").fetchall()
        return {name: keyslots.slot_from_json(json.loads(text)) for name, text in rows}

    def put_slot(self, conn: Connection, slot: Slot) -> None:
        """Store a slot inside the caller's transaction; `sync_key_file` then writes the key
        file before the change commits (a failed write rolls it back)."""
        stored = keyslots.slot_json(slot)
        stored.pop("sealed_database_key")  # made afresh from the key whenever the file is written
        conn.execute(
            "INSERT OR REPLACE INTO key_slot(username, slot) VALUES (?, ?)",
            (slot.username, json.dumps(stored, sort_keys=True)),
        )

    def remove_slot(self, conn: Connection, username: str) -> None:
        conn.execute("DELETE FROM key_slot WHERE username = ?", (username,))

    def new_slot(self, username: str, password: str) -> Slot:
        return keyslots.new_slot(username, password, self._key, self.device_secret_here())

    def unseal(self, username: str, password: str) -> bool:
        """True when `password` opens `username`'s slot (a password check on an open file)."""
        slot = self.slots().get(username.strip().lower())
        if slot is None:
            keyslots.equalise_timing(password)
            return False
        try:
            private_key = keyslots.private_key_of(slot, password, self.identity()[3])
        except keyslots.WrongSecret:
            return False
        return private_key.public_key().public_bytes_raw() == slot.public_key

    def key_file(self, key: bytes | None = None) -> KeyFile:
        """The key file as the database says it should be, with the database key sealed to
        each slot's public key."""
        home_id, public_key, _private, _device = self.identity()
        key = key or self._key
        slots = {}
        for name, slot in self.slots().items():
            sealed = keyslots.seal_database_key(slot.public_key, key)
            slots[name] = keyslots.Slot(**{**slot.__dict__, "sealed_database_key": sealed})
        return KeyFile(home_id, public_key, slots, self.in_transition(), self.purpose)

    def sync_key_file(self) -> None:
        """Write the key file from the database (atomic); a stale rotation file goes."""
        keyslots.write_key_file(keyslots.key_file_path(self.path), self.key_file())
        _pending_key_file(self.path).unlink(missing_ok=True)

    def rotate_key(self) -> str:
        """A new database key: every slot sealed to it, the file re-encrypted (PRAGMA rekey),
        the old key's pages gone from the write-ahead log, a 0.1 file's old key retired.
        Returns the new recovery code. Call with no other connection to the file open.

        The new key file is written first under a second name, so a crash part-way leaves a
        file that one of the two key files opens."""
        new_key = secrets.token_bytes(32)
        pending = _pending_key_file(self.path)
        with self._lock:
            keyslots.write_key_file(pending, self.key_file(new_key))
            self.conn.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._key = new_key
            self.conn.execute("UPDATE vault_identity SET key_transition = 0")
        os.replace(pending, keyslots.key_file_path(self.path))
        keychain.delete(keychain.legacy_entry(str(self.path)))
        return recovery.encode(new_key)

    def journaled_failures(self) -> list[dict[str, str] | None]:
        """Logins that failed while the file was closed; cleared with `clear_journal`."""
        return keyslots.read_journal(self.path, self.identity()[2])

    def clear_journal(self) -> None:
        keyslots.clear_journal(self.path)

    def matches(self, key: bytes) -> bool:
        return secrets.compare_digest(key, self._key)

    def raw_key_pragma(self) -> str:
        """For a backup keyed like this file (store only)."""
        return _raw_key_pragma(self._key)

    # -- using it --------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One all-or-nothing change: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any error."""
        with self._lock, _obstacles_named(self.path):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    self.conn.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A consistent read that does not hold up writers: BEGIN (deferred), then COMMIT."""
        with self._lock, _obstacles_named(self.path):
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")

    def setting(self, key: str, default: str) -> str:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default


# -- helpers ---------------------------------------------------------------------------------


def format_time(at: datetime) -> str:
    """An instant as stored: UTC to the second, YYYY-MM-DDTHH:MM:SSZ, which sorts as time does
    (isoformat pads every year to four digits, as strftime does not everywhere)."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _raw_key_pragma(key: bytes) -> str:
    return f"PRAGMA key = \"x'{key.hex()}'\""


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
    binding.track(conn)  # every write to a record table is bound to its audit entry


def _unlock(path: Path, key_pragma: str, source: str) -> Connection:
    conn = _connect(path, key_pragma)
    try:
        if path.stat().st_size % _page_size(conn):
            raise DatabaseError("the file ends part-way through a page")  # never written to
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _configure(conn)
    except DatabaseError as exc:
        found = obstacle(exc, path, opening=True)
        damage = [] if found else _damage(conn, path)
        conn.close()
        if found:
            raise found from exc
        if damage:
            raise DamagedDatabase(damage) from exc
        if source == "passphrase":  # typed by a person: every page failing means a typo
            raise WrongPassphrase() from exc
        if source == "recovery code":
            raise WrongRecoveryCode() from exc
        raise WrongKey(source) from exc
    return conn


# SQLite's primary result codes for what stands in the way of a file rather than what is in it
# (a wrong key or a damaged page is SQLITE_NOTADB or SQLITE_CORRUPT).
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _FULL, _CANTOPEN = 3, 5, 6, 8, 10, 13, 14


def obstacle(exc: DatabaseError, path: Path, opening: bool = False) -> FileUnusable | None:
    """What stops SQLite using the file at `path` when neither the key nor the pages are at
    fault: another program's lock, a full disk, something read-only. None for other errors."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (_BUSY, _LOCKED):
        return InUse()
    if code not in (_PERM, _READONLY, _IOERR, _FULL, _CANTOPEN):
        return None
    folder = path.parent
    if code == _FULL or shutil.disk_usage(folder).free == 0:
        if opening:
            return DiskFull(
                f"there is no room in {folder} for the database and its working files (-wal, "
                "-shm). Nothing has been changed"
            )
        return DiskFull()
    if hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY:
        return ReadOnly(f"the disk holding {folder} is read-only")
    if not os.access(folder, os.W_OK):
        return ReadOnly(f"the folder {folder} is read-only")
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists() and not os.access(name, os.W_OK):
            return ReadOnly(f"the file {name} is read-only (perhaps made by another user)")
    return CannotUse(path, exc)


@contextmanager
def _obstacles_named(path: Path, opening: bool = False) -> Iterator[None]:
    """An error from a lock, a full disk or something read-only, raised as what it is."""
    try:
        yield
    except DatabaseError as exc:
        found = obstacle(exc, path, opening)
        if found is None:
            raise
        raise found from exc


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


def _existing(path: Path | str) -> Path:
    path = Path(path).resolve()
    if not path.exists():
        raise VaultError(f"There is no database at {path}.")
    _check_is_database_file(path)
    return path


def _check_is_database_file(path: Path) -> None:
    """Refuse what cannot be a database before SQLite sees it: SQLite would take an empty file
    for a new database and write a schema into it."""
    if path.is_dir():
        raise NotADatabaseFile(path, "is a folder", "give the database file inside it")
    if not path.is_file():
        raise NotADatabaseFile(path, "is not a file (a device or a pipe)")
    if path.stat().st_size == 0:
        raise NotADatabaseFile(
            path,
            "exists but is empty (0 bytes)",
            "choose the database file itself; if creating a new database was cut short, delete "
            "this empty file and create it again",
        )


def unseal_key_file(key_file: KeyFile, username: str, password: str) -> bytes:
    """The database key from `username`'s slot in `key_file` (the database's or a backup's):
    NotEnrolled when the slot needs a device secret this PC's keychain lacks, WrongSecret for a
    wrong password or an unknown name (which costs the same time)."""
    slot = key_file.slots.get(username)
    if slot is None:
        keyslots.equalise_timing(password)
        raise keyslots.WrongSecret()
    device_secret = None
    if slot.device_bound:
        device_secret = keychain.load(keychain.device_entry(key_file.home_id))
        if device_secret is None:
            raise NotEnrolled()
    return keyslots.open_slot(slot, password, device_secret)


def _pending_key_file(path: Path) -> Path:
    return path.with_name(f"{path.name}.keys.next")


def _key_file_candidates(path: Path) -> list[Path]:
    return [keyslots.key_file_path(path), _pending_key_file(path)]


def _journal_failure(path: Path, key_file: KeyFile, username: str, action: str = "log_in") -> None:
    """A wrong password while the file is closed: sealed to the home, for the next opening."""
    keyslots.journal_failure(
        path,
        key_file.home_public_key,
        {
            "at": format_time(datetime.now(UTC)),
            "username": username[:40] or "-",
            "workstation": socket.gethostname(),
            "action": action,
        },
    )


def _derived_key(path: Path, passphrase: str) -> bytes:
    """The raw key SQLCipher derives from a passphrase and the salt at the start of the file."""
    with path.open("rb") as f:
        salt = f.read(_SALT_BYTES)
    return hashlib.pbkdf2_hmac("sha512", passphrase.encode(), salt, _KDF_ITERATIONS, 32)


def _give_identity(conn: Connection, found: int, purpose: str) -> None:
    """Schema 3: the home's id, key pair and device secret; a file from before key slots is
    marked as moving to them."""
    private_key, public_key = keyslots.new_home_key_pair()
    conn.execute(
        "INSERT INTO vault_identity(id, home_id, public_key, private_key, device_secret, "
        "key_transition, purpose) VALUES (1, ?, ?, ?, ?, ?, ?)",
        (
            str(uuid.uuid4()),
            public_key,
            private_key,
            secrets.token_bytes(32),
            int(found > 0),
            purpose,
        ),
    )


def _consent_times_and_end_dates(conn: Connection, found: int, purpose: str) -> None:
    """Schema 5: a decision entered on the day it was made was made when it was entered (the
    app's default); one entered later keeps only its day. A consent's expiry date was the
    first day it was no longer in force; it becomes the last day it is, as every end date is."""
    conn.execute("DROP TRIGGER IF EXISTS consent_no_update")
    rows = conn.execute("SELECT id, decided_on, recorded_at FROM consent_decision").fetchall()
    conn.executemany(
        "UPDATE consent_decision SET decided_at = recorded_at WHERE id = ?",
        [(i,) for i, on, at in rows if uk_date(datetime.fromisoformat(at)).isoformat() == on],
    )
    conn.execute(
        "UPDATE consent_decision SET expires_on = date(expires_on, '-1 day') "
        "WHERE expires_on IS NOT NULL"
    )
    conn.execute(CONSENT_NO_UPDATE)


def _refusal_reason_codes(conn: Connection, found: int, purpose: str) -> None:
    """Schema 8: each refusal stored before keeps the code of each reason its words match, or
    "other" (the codes of new refusals are stored as they are made)."""
    rows = conn.execute("SELECT id, reasons FROM access_refusal").fetchall()
    conn.executemany(
        "UPDATE access_refusal SET reason_codes = ? WHERE id = ?",
        [
            (json.dumps([reason_code_of(text).value for text in json.loads(reasons)]), i)
            for i, reasons in rows
        ],
    )


# Data fix-ups that SQL cannot do, by the schema version that needs them (calibre's
# upgrade_version_N): each runs after all the SQL, in the same transaction, oldest first.
_FIXUPS: dict[int, Callable[[Connection, int, str], None]] = {
    3: _give_identity,
    4: signing.give_signing_key,
    5: _consent_times_and_end_dates,
    8: _refusal_reason_codes,
}


def _migrate(conn: Connection, path: Path, purpose: str = "home") -> None:
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
    # A table rebuilt (schema 10) is dropped while rows still refer to it, so foreign keys are
    # off meanwhile (SQLite's way; it cannot switch them inside a transaction). The rebuilt
    # table keeps every id, so every reference still holds afterwards.
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        conn.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {SCHEMA_VERSION};")
        for version in sorted(v for v in _FIXUPS if v > found):
            _FIXUPS[version](conn, found, purpose)
        binding.after_migration(conn, found)  # the new schema and changed rows, in the chain
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


def _remove_database_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            os.remove(candidate)
