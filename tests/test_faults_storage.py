"""Storage faults (issue 7): damaged and truncated files, a wrong or lost key, backups taken
while another process writes, and restoring them. Each test's docstring states the outcome.

Covered elsewhere, not repeated here:
- a copy rolled back behind a printed chain head: test_audit_chain.py,
  test_rolled_back_copy_is_detected_with_a_printed_head (and below, for a restored backup);
- audit rows edited, deleted or swapped with the real key: test_audit_chain.py,
  test_edited_entry_is_named, test_deleted_entry_is_named, test_swapped_entries_are_detected;
- another home's key file beside the database, a lost key file, and the recovery code enrolling
  a PC whose keychain lost the device secret: test_vault.py (extended below through the command
  line and through restore).

Restoring opens the *backup* (a manager's password through the backup's own key file, or the
recovery code), refuses another home's backup, and records itself in the restored file's audit
chain: tests at the end of this file.
"""

import contextlib
import errno
import hashlib
import io
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from sqlcipher3 import dbapi2 as sqlcipher

from carehome_share import cli
from carehome_share.domain.errors import PermissionDenied
from carehome_share.services import auth
from carehome_share.services import backup as backup_service
from carehome_share.services.context import Context
from carehome_share.store import audit, backup, keychain, keyslots
from carehome_share.store import vault as vault_module
from carehome_share.store.vault import (
    DamagedDatabase,
    NeedsUnlock,
    NotEnrolled,
    Vault,
    WrongKey,
    WrongPassword,
)
from tests.conftest import Clock, MemoryKeyring
from tests.factories import MANAGER_PASSWORD, PASSWORD, Home

PAGE = 4096
REPO = Path(__file__).resolve().parents[1]


@dataclass
class Opened:
    home: Home
    path: Path
    code: str

    @property
    def vault(self) -> Vault:
        return self.home.ctx.vault


@pytest.fixture
def opened(tmp_path: Path, clock: Clock) -> Iterator[Opened]:
    """A home with residents, a nurse's sessions and their audit entries; its slots are bound to
    this PC's device secret (in the tests' in-memory keychain)."""
    path = tmp_path / "home.db"
    vault, code = Vault.create(path, purpose="demo")
    home = Home.set_up(Context(vault, clock=clock, workstation="office"), clock)
    nurse = home.add_nurse()
    residents = [home.add_resident() for _ in range(3)]
    home.log_in(nurse)
    from carehome_share.services import access

    for resident in residents:
        session = home.open_session(resident)
        access.close_access_session(home.ctx, session.id)
    home.as_manager()
    yield Opened(home, path, code)
    with contextlib.suppress(Exception):
        home.ctx.vault.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _as_manager(path: Path) -> Vault:
    return Vault.open_as(path, "manager", MANAGER_PASSWORD)


def _openers(opened: Opened) -> dict[str, Callable[[], Vault]]:
    """Every way to open the home's file: the manager's password, and the recovery code."""
    return {
        "password": lambda: _as_manager(opened.path),
        "recovery code": lambda: Vault.open_with_recovery_code(opened.path, opened.code),
    }


def _close(opened: Opened) -> bytes:
    """Close the database (the WAL is folded into the file) and return its bytes."""
    opened.vault.close()
    assert not Path(f"{opened.path}-wal").exists()
    return opened.path.read_bytes()


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _counts(vault: Vault) -> dict[str, int]:
    return {
        table: vault.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("resident", "staff", "access_session", "audit_log")
    }


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.run(list(argv))
    return code, out.getvalue(), err.getvalue()


# -- backup and restore ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["keychain", "no keychain"])
def test_backup_is_encrypted_checked_and_opens_with_the_same_key(tmp_path: Path, mode: str) -> None:
    """Expected: the backup's header is not "SQLite format 3"; its key file is written beside it
    (`<backup>.keys`), so the manager's password opens it (with this PC's device secret, or, with
    no keychain, the password alone), and so does the recovery code; without its key file no
    password opens it. SQLCipher's page check gives no rows, SQLite's structure check 'ok', and
    its audit chain verifies to the same head."""
    if mode == "no keychain":
        keyring.set_keyring(fail.Keyring())
    assert keychain.available() == (mode == "keychain")
    path = tmp_path / "home.db"
    vault, code = Vault.create(path, purpose="demo")
    clock = Clock()
    home = Home.set_up(Context(vault, clock=clock, workstation="office"), clock)
    home.add_resident()
    target = tmp_path / "backups" / "home-backup.db"
    target.parent.mkdir()
    checked = backup.back_up(vault, target)
    live = audit.verify(vault)
    vault.close()

    assert target.read_bytes()[:16] != b"SQLite format 3\x00"
    assert b"Rose Court" not in target.read_bytes()
    assert (checked.entries, checked.head_hash) == (live.entries, live.head_hash)
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "home-backup.db",
        "home-backup.db.keys",
    ]
    key_file = keyslots.read_key_file(keyslots.key_file_path(target))
    assert key_file is not None and set(key_file.slots) == {"manager"}
    assert key_file.slots["manager"].device_bound == (mode == "keychain")

    bare = tmp_path / "bare.db"  # the backup without its key file
    bare.write_bytes(target.read_bytes())
    with pytest.raises(NeedsUnlock, match="key file"):
        _as_manager(bare)
    with pytest.raises(WrongPassword):
        Vault.open_as(target, "manager", "not the manager's password at all")

    for open_copy in (
        lambda: _as_manager(target),
        lambda: Vault.open_with_recovery_code(target, code),
    ):
        copy = open_copy()
        assert copy.conn.execute("PRAGMA cipher_integrity_check").fetchall() == []
        assert copy.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        result = audit.verify(copy)
        assert result.ok and result.head_hash == live.head_hash
        copy.close()


def test_failed_backup_leaves_no_file_under_the_final_name(
    opened: Opened, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: a backup whose check fails raises BackupError; no file appears under the
    target's name (nor its key file), an older backup there and its key file are untouched, and
    no temporary file is left."""
    folder = tmp_path / "backups"
    folder.mkdir()
    target = folder / "nightly.db"
    backup.back_up(opened.vault, target)
    before, keys_before = _sha(target), _sha(keyslots.key_file_path(target))

    def failing_check(conn: object, path: Path, name: str = "") -> backup.Checked:
        raise backup.BackupError("simulated: the copy failed its checks")

    monkeypatch.setattr(backup, "check_copy", failing_check)
    with pytest.raises(backup.BackupError, match="simulated"):
        backup.back_up(opened.vault, target)
    with pytest.raises(backup.BackupError, match="simulated"):
        backup.back_up(opened.vault, folder / "new.db")
    assert _sha(target) == before
    assert _sha(keyslots.key_file_path(target)) == keys_before
    assert sorted(p.name for p in folder.iterdir()) == ["nightly.db", "nightly.db.keys"]


def test_backup_refuses_to_overwrite_the_database(opened: Opened) -> None:
    """Expected: backing up onto the database's own name is refused; the file is unchanged."""
    with pytest.raises(backup.BackupError, match="over the database itself"):
        backup.back_up(opened.vault, opened.path)
    assert audit.verify(opened.vault).ok


def test_backup_service_is_audited(opened: Opened, tmp_path: Path) -> None:
    """Expected: a manager's backup adds one 'back_up' entry naming the file and the chain head
    the backup holds (the entry itself comes after it)."""
    target = tmp_path / "copy.db"
    checked = backup_service.back_up(opened.home.ctx, target)
    entry = audit.entries(opened.vault.conn, last=1)[0]
    assert (entry.action, entry.outcome, entry.actor_username) == ("back_up", "allowed", "manager")
    assert entry.details == {
        "file": str(target),
        "entries": checked.entries,
        "head": checked.head_hash,
    }
    assert entry.seq == checked.head_seq + 1


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from carehome_share.services import access, auth
    from carehome_share.services.context import Context
    from carehome_share.store.vault import Vault

    db, code, username, password, resident_id, stop, ready = sys.argv[1:8]
    start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    ticks = iter(range(10**6))
    ctx = Context(Vault.open_with_recovery_code(db, code),
                  clock=lambda: start + timedelta(seconds=next(ticks)), workstation="writer")
    auth.log_in(ctx, username, password)
    written = 0
    while written < 3000 and not Path(stop).exists():
        session = access.open_access_session(
            ctx, int(resident_id), "medication_check", "Checking the doses")
        access.close_access_session(ctx, session.id)
        written += 1
        if written == 5:
            Path(ready).touch()
    Path(ready).touch()
    ctx.vault.close()
    print(written)
    """
)


def test_backup_taken_while_another_process_writes_restores_exactly(
    opened: Opened, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    """Expected: backups taken while a second process opens and closes sessions in a loop are
    encrypted and pass both file checks and the chain check; restoring one (with the recovery
    code, this PC's device secret being gone from the keychain) gives the same counts and chain
    as the backup's own verify, plus one "restore" entry naming the backup's head and the
    replaced file's head and entry count; the replaced file is kept aside; nothing the writer
    committed is lost there."""
    nurse = opened.home.add_nurse()
    resident = opened.home.add_resident()
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    # The writer must not touch a real keychain: the recovery code unlocks it (its slot is bound
    # to a device secret that no keychain of the writer's holds).
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    args = [PASSWORD, str(resident.id), str(stop), str(ready)]
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(opened.path), opened.code, nurse.username, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not ready.exists() and writer.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                writer.wait(0.05)
        backups = [
            backup_service.back_up(opened.home.ctx, tmp_path / f"during-{n}.db") for n in range(3)
        ]
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    written = int(out)
    assert written >= 5

    live = audit.verify(opened.vault)
    assert live.ok
    live_counts = _counts(opened.vault)
    _close(opened)
    expected = []
    for checked in backups:
        assert checked.path.read_bytes()[:16] != b"SQLite format 3\x00"
        copy = _as_manager(checked.path)  # through the backup's own key file
        own = audit.verify(copy)
        assert own.ok, own.problems
        assert (own.entries, own.head_seq, own.head_hash) == (
            checked.entries,
            checked.head_seq,
            checked.head_hash,
        )
        expected.append((_counts(copy), own.head_seq, own.head_hash))
        copy.close()
    memory_keyring.entries.clear()  # the device secret is gone as well
    with pytest.raises(NotEnrolled):
        _as_manager(opened.path)
    with pytest.raises(NotEnrolled):  # nor can a manager's password open the backup
        backup_service.restore(
            backups[1].path, opened.path, username="manager", password=MANAGER_PASSWORD
        )

    restored, replaced = backup_service.restore(
        backups[1].path, opened.path, recovery_code=opened.code
    )
    assert (restored.entries, restored.head_seq, restored.head_hash) == (
        backups[1].entries,
        backups[1].head_seq,
        backups[1].head_hash,
    )
    assert replaced.aside is not None and replaced.aside.exists()
    assert restored.previous == replaced.aside
    assert (replaced.entries, replaced.head_seq, replaced.head_hash) == (
        live.entries,
        live.head_seq,
        live.head_hash,
    )
    Vault.open_with_recovery_code(opened.path, opened.code).close()  # enrols this PC again
    vault = _as_manager(opened.path)  # the password works again
    result = audit.verify(vault)
    assert result.ok, result.problems
    counts, head_seq, _head_hash = expected[1]
    assert _counts(vault) == {**counts, "audit_log": counts["audit_log"] + 1}
    assert result.head_seq == head_seq + 1
    entry = audit.entries(vault.conn, last=1)[0]
    vault.close()
    assert (entry.action, entry.outcome, entry.actor_username) == ("restore", "allowed", "-")
    assert entry.details == {
        "backup": backups[1].path.name,
        "backup_head": f"{backups[1].head_seq}:{backups[1].head_hash}",
        "backup_entries": backups[1].entries,
        "replaced_head": f"{live.head_seq}:{live.head_hash}",
        "replaced_entries": live.entries,
        "by": "recovery code",
    }

    kept = Vault.open_with_recovery_code(replaced.aside, opened.code)
    assert audit.verify(kept).ok and _counts(kept) == live_counts  # nothing committed was lost
    kept.close()


def test_restore_refuses_a_damaged_or_foreign_backup_and_changes_nothing(
    opened: Opened, tmp_path: Path
) -> None:
    """Expected: a backup with a damaged page (its key file beside it), one made by another
    database (another key) and one not encrypted at all are each refused with a message saying
    why; the database file and its key file are unchanged and no file is copied aside."""
    good = backup.back_up(opened.vault, tmp_path / "good.db").path
    before = _close(opened)
    keys_before = _sha(keyslots.key_file_path(opened.path))
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(good.read_bytes())
    keyslots.key_file_path(damaged).write_bytes(keyslots.key_file_path(good).read_bytes())
    _flip(damaged, damaged.stat().st_size - PAGE + 200)
    other_path = tmp_path / "other.db"
    other, _code = Vault.create(other_path)
    other.close()
    plain = tmp_path / "plain.db"
    import sqlite3

    with contextlib.closing(sqlite3.connect(plain)) as conn:
        conn.execute("CREATE TABLE t(x)")
        conn.commit()

    by_password = {"username": "manager", "password": MANAGER_PASSWORD}
    by_code = {"recovery_code": opened.code}
    for unlock in (by_password, by_code):
        with pytest.raises(
            backup.BackupError, match=r"damaged\.db failed its checks: .*page \d+ is damaged"
        ):
            backup_service.restore(damaged, opened.path, **unlock)
    with pytest.raises(WrongKey, match="Wrong recovery code: it does not open this file"):
        backup_service.restore(other_path, opened.path, **by_code)
    with pytest.raises(backup.BackupError, match=r"plain\.db is not encrypted"):
        backup_service.restore(plain, opened.path, **by_code)
    with pytest.raises(NeedsUnlock, match=r"no key file beside the backup"):
        backup_service.restore(plain, opened.path, **by_password)
    assert opened.path.read_bytes() == before
    assert _sha(keyslots.key_file_path(opened.path)) == keys_before
    assert sorted(p.name for p in tmp_path.iterdir() if "before-restore" in p.name) == []
    assert not [p for p in opened.path.parent.iterdir() if p.name.endswith(".part")]


def test_restoring_an_old_backup_is_caught_by_the_printed_head(
    opened: Opened, tmp_path: Path
) -> None:
    """Expected: after restoring a backup older than a printed chain head, verify --head reports
    the roll-back (the general case is test_audit_chain's rolled-back copy test); the restore
    entry added to the restored file does not hide it."""
    old = backup.back_up(opened.vault, tmp_path / "old.db").path
    opened.home.add_resident()
    printed = audit.verify(opened.vault)
    _close(opened)
    backup_service.restore(old, opened.path, username="manager", password=MANAGER_PASSWORD)
    vault = _as_manager(opened.path)
    result = audit.verify(vault, (printed.head_seq, printed.head_hash))
    vault.close()
    assert result.problems[-1].startswith(
        f"rolled back: a report printed audit entry {printed.head_seq}"
    )


# -- damaged files ---------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [100, 2000, PAGE - 100])
def test_flipped_byte_in_page_1_is_named_and_offers_restore(opened: Opened, offset: int) -> None:
    """Expected: opening fails with DamagedDatabase naming page 1 (not "key mismatch": the other
    pages verify with this key), whether the manager's password or the recovery code gave the
    key; the message offers the backup and the recovery code and never a new database; the file
    is unchanged by the attempt."""
    _close(opened)
    _flip(opened.path, offset)
    before = _sha(opened.path)
    for how, open_it in _openers(opened).items():
        with pytest.raises(DamagedDatabase) as failed:
            open_it()
        message = str(failed.value)
        assert "page 1 is damaged" in message
        assert "Restore the latest backup" in message and "recovery code" in message
        assert "Do not create a new database" in message
        assert _sha(opened.path) == before, how


def test_flipped_byte_in_a_later_page_is_named_by_verify(opened: Opened) -> None:
    """Expected: the database opens with the manager's password (page 1 is sound) but `verify`
    reports the damaged page by number and exits 1 (run with the recovery code, which needs no
    login); the page-check lines read as "page N is damaged"."""
    size = len(_close(opened))
    last_page = size // PAGE
    _flip(opened.path, (last_page - 1) * PAGE + 300)
    vault = _as_manager(opened.path)
    result = audit.verify(vault)
    vault.close()
    assert not result.ok
    assert any(f"page {last_page}" in p for p in result.problems), result.problems
    from carehome_share.store.vault import page_problems

    lines = [p.removeprefix("encryption check: ") for p in result.problems]
    assert f"page {last_page} is damaged (it fails its checksum)" in page_problems(lines)
    code, out, _err = _cli("verify", "--db", str(opened.path), "--recovery-code", opened.code)
    assert code == 1 and f"page {last_page}" in out


def test_flipped_byte_in_the_last_page_is_named_by_verify_as_a_member_of_staff(
    opened: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: `verify --user manager` (a member of staff may check the file) reports the
    damaged last page by number and exits 1 (or 4, refused with the page named), instead of
    failing with an unhandled database error."""
    size = len(_close(opened))
    last_page = size // PAGE
    _flip(opened.path, (last_page - 1) * PAGE + 300)
    monkeypatch.setenv(cli.ENV_PASSWORD, MANAGER_PASSWORD)
    code, out, err = _cli("verify", "--db", str(opened.path), "--user", "manager")
    assert code in (1, cli.EXIT_LOCKED) and f"page {last_page}" in out + err


@pytest.mark.parametrize("cut", [PAGE // 2, PAGE * 3 + 1000])
def test_file_truncated_mid_page_is_reported_and_writes_refused(
    opened: Opened, cut: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: a file cut part-way through a page (near its end, or early) is refused at open
    with DamagedDatabase naming the short page, by the manager's password and by the recovery
    code; nothing can be written; the file keeps its truncated bytes exactly (it is not
    "repaired" by SQLite)."""
    data = _close(opened)
    short = data[: len(data) - cut] if cut < PAGE else data[:cut]
    opened.path.write_bytes(short)
    for open_it in _openers(opened).values():
        with pytest.raises(DamagedDatabase, match=r"page \d+ is cut short .*truncated"):
            open_it()
    code, _out, err = _cli("verify", "--db", str(opened.path), "--recovery-code", opened.code)
    assert code == cli.EXIT_LOCKED and "truncated" in err
    monkeypatch.setenv(cli.ENV_PASSWORD, MANAGER_PASSWORD)
    code, _out, err = _cli("verify", "--db", str(opened.path), "--user", "manager")
    assert code == cli.EXIT_LOCKED and "truncated" in err
    assert opened.path.read_bytes() == short


def test_wrong_device_secret_or_key_through_the_command_line_changes_nothing(
    opened: Opened, tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: with a different device secret in the keychain the manager's password opens
    nothing (it reads as a wrong password, exit 2: the slot key needs both); with another home's
    key file beside the database the key it gives does not fit ("Key mismatch", exit 4). Both
    for `verify` and for a logged-in command; the database file hash before equals the hash
    after (extends test_vault's wrong-key test to the command line)."""
    _close(opened)
    before = _sha(opened.path)
    monkeypatch.setenv(cli.ENV_PASSWORD, MANAGER_PASSWORD)
    db = str(opened.path)
    commands = [("verify", "--db", db, "--user", "manager"), ("--db", db, "--user", "manager")]
    commands[1] += ("staff", "list")

    (entry,) = memory_keyring.entries
    right_secret = memory_keyring.entries[entry]
    memory_keyring.entries[entry] = "22" * 32
    for argv in commands:
        code, _out, err = _cli(*argv)
        assert code == cli.EXIT_INPUT and "Wrong username or password" in err, err
    assert _sha(opened.path) == before
    memory_keyring.entries[entry] = right_secret

    other_path = tmp_path / "other-home.db"
    other, _code = Vault.create(other_path)
    auth.set_up_home(Context(other), "Other Home", "manager", "Mary Manager", MANAGER_PASSWORD)
    other.close()
    keys = keyslots.key_file_path(opened.path)
    keys.write_bytes(keyslots.key_file_path(other_path).read_bytes())
    for argv in commands:
        code, _out, err = _cli(*argv)
        assert code == cli.EXIT_LOCKED and "Key mismatch" in err, err
    assert _sha(opened.path) == before
    # The recovery code still opens it, and writes this home's key file back.
    assert _cli("verify", "--db", db, "--recovery-code", opened.code)[0] == 0
    _as_manager(opened.path).close()


def test_command_line_backup_damage_and_restore(
    opened: Opened, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: `backup --out` (as the manager) writes a checked copy and its key file; after a
    page is damaged `verify` (recovery code) fails; `restore BACKUP --user manager` (the
    manager's password opening the backup) puts the copy back, and `verify` passes again with
    the backup's chain head; the restore is the entry after it."""
    monkeypatch.setenv("CAREHOME_SHARE_PASSWORD", MANAGER_PASSWORD)
    db = str(opened.path)
    _close(opened)
    target = tmp_path / "nightly.db"
    code, out, err = _cli("--db", db, "--user", "manager", "backup", "--out", str(target))
    assert code == 0, err
    assert "Backed up to" in out and target.exists()
    assert keyslots.key_file_path(target).exists()
    head = out.split("chain head ")[1].split()[0]

    size = opened.path.stat().st_size
    _flip(opened.path, size - PAGE + 500)
    assert _cli("verify", "--db", db, "--recovery-code", opened.code)[0] == 1

    code, out, err = _cli("restore", str(target), "--db", db, "--user", "manager")
    assert code == 0, err
    assert f"chain head {head}" in out and "kept as" in out
    code, out, err = _cli("verify", "--db", db, "--head", head, "--user", "manager")
    assert code == 0 and "OK" in out, out + err
    vault = _as_manager(opened.path)
    restore = next(e for e in audit.entries(vault.conn) if e.action == "restore")
    vault.close()
    assert restore.seq == int(head.split(":")[0]) + 1
    details = restore.details or {}
    assert details["backup_head"] == head and details["by"] == "manager's password"


def test_disk_full_during_a_backup_keeps_the_database_and_the_older_backup(
    opened: Opened, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected (issue 7 item 7): the disk fills as the backup is flushed to disk; a BackupError
    says so, the older backup under that name is untouched, no temporary file is left, and the
    database still verifies with the same chain head."""
    folder = tmp_path / "backups"
    folder.mkdir()
    target = folder / "nightly.db"
    backup.back_up(opened.vault, target)
    before, head = _sha(target), audit.head(opened.vault.conn)
    keys_before = _sha(keyslots.key_file_path(target))

    def disk_full(_path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backup, "_sync", disk_full)
    with pytest.raises(backup.BackupError, match=r"No space left on device.*unchanged"):
        backup.back_up(opened.vault, target)
    assert _sha(target) == before
    assert _sha(keyslots.key_file_path(target)) == keys_before
    assert sorted(p.name for p in folder.iterdir()) == ["nightly.db", "nightly.db.keys"]
    assert audit.head(opened.vault.conn) == head and audit.verify(opened.vault).ok


# -- in the way of the file: not a database, another program's lock, a read-only or full disk --


def test_a_folder_a_device_or_an_empty_file_is_not_taken_for_a_database(
    opened: Opened, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: `--db` naming a folder, the null device or an empty file is refused by every way
    in (the recovery code, a password, `init`) with exit 2, saying what the path is; nothing is
    written: the empty file stays empty, and no key file or log appears beside either."""
    _close(opened)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    empty = tmp_path / "empty" / "home.db"
    empty.parent.mkdir()
    empty.touch()
    said = {folder: "is a folder", empty: "exists but is empty (0 bytes)"}
    if os.name == "posix":
        said[Path(os.devnull)] = "is not a file (a device or a pipe)"
    monkeypatch.setenv(cli.ENV_PASSWORD, MANAGER_PASSWORD)
    ways_in = [
        ("verify", "--recovery-code", opened.code),
        ("--user", "manager", "staff", "list"),
        ("init", "--home", "Other Home", "--manager", "mo", "--manager-name", "Mo Other"),
    ]
    for path, what in said.items():
        for argv in ways_in:
            code, _out, err = _cli("--db", str(path), *argv)
            assert code == cli.EXIT_INPUT, err
            assert f"{path} {what}: it is not a carehome-share database" in err
    assert list(folder.iterdir()) == [] and list(empty.parent.iterdir()) == [empty]
    assert empty.stat().st_size == 0


@pytest.mark.parametrize("hold", ["a write", "the whole file"])
def test_a_lock_held_by_another_program_is_named_not_taken_for_a_wrong_key(
    opened: Opened, monkeypatch: pytest.MonkeyPatch, hold: str
) -> None:
    """Expected: while another connection is in the middle of a write, or holds the whole file
    (exclusive locking mode), a command waits, then says the database is locked by another
    program (probably carehome-share open elsewhere), exit 2; never "Key mismatch" or
    "damaged"; nothing was written."""
    head = audit.head(opened.vault.conn)
    _close(opened)
    holder = Vault.open_with_recovery_code(opened.path, opened.code)
    if hold == "the whole file":
        holder.conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.conn.execute("BEGIN IMMEDIATE")
    holder.conn.execute("UPDATE settings SET value = value")
    monkeypatch.setenv(cli.ENV_PASSWORD, MANAGER_PASSWORD)
    try:
        code, _out, err = _cli("--db", str(opened.path), "--user", "manager", "staff", "list")
    finally:
        holder.conn.execute("ROLLBACK")
        holder.close()
    assert code == cli.EXIT_INPUT, err
    assert "locked by another program: probably carehome-share open" in err
    assert "Key mismatch" not in err and "damaged" not in err
    vault = _as_manager(opened.path)
    assert audit.head(vault.conn) == head
    vault.close()


@contextlib.contextmanager
def _small_disk(folder: Path, size_kib: int) -> Iterator[Path]:
    """A RAM disk of `size_kib` mounted on `folder`: a real full or read-only disk for SQLite
    to meet. Only root may mount one; elsewhere the test is skipped."""
    folder.mkdir()
    mounted = (
        shutil.which("mount")
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)],
            capture_output=True,
        ).returncode
        == 0
    )
    if not mounted:
        pytest.skip("mounting a small disk needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def _move_to(opened: Opened, folder: Path) -> Path:
    """The closed database and its key file, copied into `folder`."""
    _close(opened)
    for suffix in ("", ".keys"):
        shutil.copyfile(f"{opened.path}{suffix}", folder / f"{opened.path.name}{suffix}")
    return folder / opened.path.name


def test_a_read_only_disk_is_named(
    opened: Opened, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: the database on a disk mounted read-only: opening it, and creating a new one
    there, say the disk is read-only, exit 2, instead of "Key mismatch"."""
    monkeypatch.setenv(cli.ENV_PASSWORD, MANAGER_PASSWORD)
    with _small_disk(tmp_path / "disk", 4096) as disk:
        db = _move_to(opened, disk)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        for argv in [
            ("--db", str(db), "--user", "manager", "staff", "list"),
            ("--db", str(db), "verify", "--recovery-code", opened.code),
            ("--db", str(disk / "new.db"), "init", "--home", "New Home", "--manager", "mo",
             "--manager-name", "Mo New"),
        ]:  # fmt: skip
            code, _out, err = _cli(*argv)
            assert code == cli.EXIT_INPUT, err
            assert f"The database cannot be written: the disk holding {disk} is read-only" in err
            assert "Key mismatch" not in err


def test_a_full_disk_with_no_room_for_the_working_files_is_named(
    opened: Opened, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: the database on a disk with no room left for its shared-memory file (-shm):
    opening it says the disk is full and names the folder, exit 2, instead of "Key mismatch";
    the file is unchanged."""
    monkeypatch.setenv(cli.ENV_PASSWORD, MANAGER_PASSWORD)
    with _small_disk(tmp_path / "disk", 1024) as disk:
        db = _move_to(opened, disk)
        with contextlib.suppress(OSError), (disk / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * PAGE)
                filler.flush()
        before = _sha(db)
        for argv in [
            ("--user", "manager", "staff", "list"),
            ("verify", "--recovery-code", opened.code),
        ]:
            code, _out, err = _cli("--db", str(db), *argv)
            assert code == cli.EXIT_INPUT, err
            assert f"The disk is full: there is no room in {disk} for the database" in err
            assert "Key mismatch" not in err
        assert _sha(db) == before


@pytest.mark.parametrize("read_only", ["folder", "file", "file-shm"])
def test_what_is_read_only_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_only: str
) -> None:
    """Expected: SQLite's own "attempt to write a readonly database" is put down to the folder,
    the file or a working file beside it (made by another user, say), whichever is read-only.
    Root writes through file permissions, so here the permissions are what `os.access` says."""
    db = tmp_path / "home.db"
    with contextlib.closing(sqlcipher.connect(db)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t(x)")
        reader = sqlcipher.connect(f"file:{db}?mode=ro", uri=True)
        with contextlib.closing(reader), pytest.raises(sqlcipher.OperationalError) as refused:
            reader.execute("INSERT INTO t VALUES (1)")
        names = {"folder": tmp_path, "file": db, "file-shm": Path(f"{db}-shm")}
        locked = str(names[read_only])
        monkeypatch.setattr(os, "access", lambda path, mode: str(path) != locked)
        found = vault_module.obstacle(refused.value, db)
    assert isinstance(found, vault_module.ReadOnly)
    assert f"the {'folder' if read_only == 'folder' else 'file'} {locked} is read-only" in str(
        found
    )


# -- restoring: who may, and from which home ----------------------------------------------------


def _nothing_changed(opened: Opened, before: bytes, keys_before: str) -> None:
    """The database and its key file are as they were; nothing was copied aside or left over."""
    assert opened.path.read_bytes() == before
    assert _sha(keyslots.key_file_path(opened.path)) == keys_before
    folder = opened.path.parent
    assert not [p for p in folder.iterdir() if "before-restore" in p.name or ".part" in p.name]
    assert not Path(f"{opened.path}-wal").exists()


def _residents(vault: Vault) -> int:
    return int(vault.conn.execute("SELECT count(*) FROM resident").fetchone()[0])


def test_a_manager_restores_an_older_backup_and_the_restore_is_audited_in_it(
    opened: Opened, tmp_path: Path
) -> None:
    """Expected: restoring an older backup with a manager's password (through the backup's own
    key file) puts its data back; the restored file's audit chain verifies and ends with one
    "restore" entry by the manager naming the backup's head and entry count and the replaced
    file's head and entry count; the replaced file is kept aside, whole."""
    old = backup.back_up(opened.vault, tmp_path / "old.db")
    opened.home.add_resident()
    opened.home.add_resident()
    live = audit.verify(opened.vault)
    live_counts = _counts(opened.vault)
    _close(opened)

    restored, replaced = backup_service.restore(
        old.path, opened.path, username="manager", password=MANAGER_PASSWORD
    )
    assert (restored.path, restored.entries, restored.head_seq, restored.head_hash) == (
        opened.path,
        old.entries,
        old.head_seq,
        old.head_hash,
    )
    assert (replaced.entries, replaced.head_seq, replaced.head_hash) == (
        live.entries,
        live.head_seq,
        live.head_hash,
    )

    vault = _as_manager(opened.path)
    result = audit.verify(vault)
    assert result.ok, result.problems
    assert result.head_seq == old.head_seq + 1
    assert _counts(vault) == {**live_counts, "resident": 3, "audit_log": old.entries + 1}
    entry = audit.entries(vault.conn, last=1)[0]
    vault.close()
    assert (entry.action, entry.outcome) == ("restore", "allowed")
    assert (entry.actor_username, entry.actor_role) == ("manager", "manager")
    assert entry.details == {
        "backup": "old.db",
        "backup_head": f"{old.head_seq}:{old.head_hash}",
        "backup_entries": old.entries,
        "replaced_head": f"{live.head_seq}:{live.head_hash}",
        "replaced_entries": live.entries,
        "by": "manager's password",
    }
    assert replaced.aside is not None
    kept = Vault.open_with_recovery_code(replaced.aside, opened.code)
    assert _counts(kept) == live_counts and audit.verify(kept).head_hash == live.head_hash
    kept.close()


def test_a_nurse_cannot_restore_and_nothing_changes(opened: Opened, tmp_path: Path) -> None:
    """Expected: a nurse whose password opens the backup's key file (she has a slot in it) is
    refused with PermissionDenied: restoring is for a registered manager; the database file
    and its key file are byte for byte as before, and nothing is copied aside."""
    nurse = opened.home.add_nurse()
    old = backup.back_up(opened.vault, tmp_path / "old.db")
    backup_keys = keyslots.read_key_file(keyslots.key_file_path(old.path))
    assert backup_keys is not None and nurse.username in backup_keys.slots
    opened.home.add_resident()
    before = _close(opened)
    keys_before = _sha(keyslots.key_file_path(opened.path))

    with pytest.raises(PermissionDenied, match="restoring a backup is for a registered manager"):
        backup_service.restore(old.path, opened.path, username=nurse.username, password=PASSWORD)
    _nothing_changed(opened, before, keys_before)
    vault = _as_manager(opened.path)
    assert _residents(vault) == 4 and audit.verify(vault).ok
    vault.close()


def test_a_wrong_password_cannot_restore_and_nothing_changes(
    opened: Opened, tmp_path: Path, clock: Clock
) -> None:
    """Expected: a wrong manager's password (or an unknown name) is WrongPassword; the database
    file and its key file are unchanged; the failed attempts are journaled, sealed to the home,
    and the next login moves them into the audit chain as denied "restore" entries."""
    old = backup.back_up(opened.vault, tmp_path / "old.db")
    opened.home.add_resident()
    before = _close(opened)
    keys_before = _sha(keyslots.key_file_path(opened.path))

    for username in ("manager", "nobody"):
        with pytest.raises(WrongPassword, match="Wrong username or password"):
            backup_service.restore(
                old.path, opened.path, username=username, password="not the right password 7"
            )
    _nothing_changed(opened, before, keys_before)

    ctx = Context(_as_manager(opened.path), clock=clock, workstation="office")
    auth.log_in(ctx, "manager", MANAGER_PASSWORD)
    assert _residents(ctx.vault) == 4
    denied = [e for e in audit.entries(ctx.conn) if e.action == "restore"]
    ctx.vault.close()
    assert [(e.actor_username, e.outcome) for e in denied] == [
        ("manager", "denied"),
        ("nobody", "denied"),
    ]


def test_a_backup_of_another_home_is_refused_even_with_its_own_recovery_code(
    opened: Opened, tmp_path: Path
) -> None:
    """Expected: a second home, set up with the same manager's name and password, is backed up;
    restoring that backup over this home's file is refused with BackupError (another home's
    database), whether its manager's password or its own recovery code opens it; this home's
    file and key file are unchanged, and still open with this home's password."""
    before = _close(opened)
    keys_before = _sha(keyslots.key_file_path(opened.path))
    other_path = tmp_path / "other-home.db"
    other, other_code = Vault.create(other_path)
    auth.set_up_home(Context(other), "Elm House", "manager", "Mary Manager", MANAGER_PASSWORD)
    other_backup = backup.back_up(other, tmp_path / "other-home-backup.db")
    other.close()
    assert other_code != opened.code

    for unlock in (
        {"username": "manager", "password": MANAGER_PASSWORD},
        {"recovery_code": other_code},
    ):
        with pytest.raises(backup.BackupError, match="backup of another home"):
            backup_service.restore(other_backup.path, opened.path, **unlock)
        _nothing_changed(opened, before, keys_before)
    vault = _as_manager(opened.path)
    assert _residents(vault) == 3 and audit.verify(vault).ok
    vault.close()


@pytest.mark.parametrize("where", ["middle", "page 1"])
def test_the_recovery_code_restores_over_a_damaged_file(
    opened: Opened, tmp_path: Path, where: str
) -> None:
    """Expected: with bytes overwritten in the middle of the current file (or in its first page,
    so that it does not open at all), the recovery code restores the backup; the manager's
    password opens the restored file, which holds the backup's data and verifies, ending with a
    "restore" entry by the recovery code's holder naming the backup's head and what could be
    read of the replaced file; the damaged file is kept aside exactly as it was."""
    nightly = backup.back_up(opened.vault, tmp_path / "nightly.db")
    opened.home.add_resident()
    data = bytearray(_close(opened))
    start = len(data) // 2 if where == "middle" else 1000
    data[start : start + 700] = bytes(range(256)) * 2 + bytes(188)
    opened.path.write_bytes(bytes(data))
    if where == "middle":
        vault = Vault.open_with_recovery_code(opened.path, opened.code)
        assert not audit.verify(vault).ok
        vault.close()
    else:
        with pytest.raises(DamagedDatabase, match="page 1 is damaged"):
            Vault.open_with_recovery_code(opened.path, opened.code)
    damaged_bytes = opened.path.read_bytes()

    restored, replaced = backup_service.restore(
        nightly.path, opened.path, recovery_code=opened.code
    )
    assert (restored.head_seq, restored.head_hash) == (nightly.head_seq, nightly.head_hash)
    assert replaced.aside is not None and replaced.aside.read_bytes() == damaged_bytes

    vault = _as_manager(opened.path)
    result = audit.verify(vault)
    assert result.ok, result.problems
    assert _residents(vault) == 3
    assert result.head_seq == nightly.head_seq + 1
    entry = audit.entries(vault.conn, last=1)[0]
    vault.close()
    assert (entry.action, entry.outcome, entry.actor_username) == ("restore", "allowed", "-")
    details = entry.details or {}
    assert details["backup_head"] == f"{nightly.head_seq}:{nightly.head_hash}"
    assert details["backup_entries"] == nightly.entries
    assert details["by"] == "recovery code"
    assert details["replaced_entries"] == replaced.entries
    if replaced.head_seq is None:
        assert str(details["replaced_head"]).startswith("unreadable")
    else:
        assert details["replaced_head"] == f"{replaced.head_seq}:{replaced.head_hash}"
    if where == "page 1":
        assert replaced.entries is None and replaced.head_seq is None


def test_a_backup_of_another_home_is_refused_when_the_current_key_file_is_lost(
    opened: Opened, tmp_path: Path
) -> None:
    """Expected: with this home's key file missing, another home's backup (opened with that
    home's recovery code) is still refused, and this home's file is unchanged."""
    before = _close(opened)
    keyslots.key_file_path(opened.path).unlink()
    other_path = tmp_path / "other-home.db"
    other, other_code = Vault.create(other_path)
    auth.set_up_home(Context(other), "Elm House", "manager", "Mary Manager", MANAGER_PASSWORD)
    other_backup = backup.back_up(other, tmp_path / "other-home-backup.db")
    other.close()
    with pytest.raises(backup.BackupError, match="backup of another home"):
        backup_service.restore(other_backup.path, opened.path, recovery_code=other_code)
    assert opened.path.read_bytes() == before
