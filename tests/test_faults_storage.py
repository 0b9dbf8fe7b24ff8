"""Storage faults (issue 7): damaged and truncated files, a wrong or lost key, backups taken
while another process writes, and restoring them. Each test's docstring states the outcome.

Covered elsewhere, not repeated here:
- a copy rolled back behind a printed chain head: test_audit_chain.py,
  test_rolled_back_copy_is_detected_with_a_printed_head (and below, for a restored backup);
- audit rows edited, deleted or swapped with the real key: test_audit_chain.py,
  test_edited_entry_is_named, test_deleted_entry_is_named, test_swapped_entries_are_detected;
- the keychain returning a different key, and the recovery code re-storing a lost entry:
  test_vault.py (extended below through the command line and through restore).
"""

import contextlib
import errno
import hashlib
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from carehome_share import cli
from carehome_share.services import backup as backup_service
from carehome_share.services.context import Context
from carehome_share.store import audit, backup
from carehome_share.store.vault import DamagedDatabase, NeedsUnlock, Vault, WrongKey
from tests.conftest import Clock, MemoryKeyring
from tests.factories import MANAGER_PASSWORD, PASSWORD, Home

PAGE = 4096
PASSPHRASE = "a long test passphrase"
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
    """A home with residents, a nurse's sessions and their audit entries, in keychain mode."""
    path = tmp_path / "home.db"
    vault, code = Vault.create(path)
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


@pytest.mark.parametrize("mode", ["keychain", "passphrase"])
def test_backup_is_encrypted_checked_and_opens_with_the_same_key(tmp_path: Path, mode: str) -> None:
    """Expected: the backup's header is not "SQLite format 3"; it opens with the database's key
    (keychain key or passphrase) and with the recovery code; SQLCipher's page check gives no
    rows, SQLite's structure check 'ok', and its audit chain verifies to the same head."""
    path = tmp_path / "home.db"
    vault, code = Vault.create(path, passphrase=PASSPHRASE if mode == "passphrase" else None)
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
    assert sorted(p.name for p in target.parent.iterdir()) == ["home-backup.db"]
    unlocks = [{"recovery_code": code}]
    unlocks.append({"passphrase": PASSPHRASE} if mode == "passphrase" else {})
    if mode == "keychain":  # the keychain holds the key under the database's name only
        with pytest.raises(NeedsUnlock):
            Vault.open(target)
    for unlock in unlocks:
        copy = Vault.open(target, **unlock) if unlock else None
        if copy is None:
            continue
        assert copy.conn.execute("PRAGMA cipher_integrity_check").fetchall() == []
        assert copy.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        result = audit.verify(copy)
        assert result.ok and result.head_hash == live.head_hash
        copy.close()


def test_failed_backup_leaves_no_file_under_the_final_name(
    opened: Opened, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: a backup whose check fails raises BackupError; no file appears under the
    target's name, an older backup there is untouched, and no temporary file is left."""
    folder = tmp_path / "backups"
    folder.mkdir()
    target = folder / "nightly.db"
    backup.back_up(opened.vault, target)
    before = _sha(target)

    def failing_check(conn: object, path: Path, name: str = "") -> backup.Checked:
        raise backup.BackupError("simulated: the copy failed its checks")

    monkeypatch.setattr(backup, "check_copy", failing_check)
    with pytest.raises(backup.BackupError, match="simulated"):
        backup.back_up(opened.vault, target)
    with pytest.raises(backup.BackupError, match="simulated"):
        backup.back_up(opened.vault, folder / "new.db")
    assert _sha(target) == before
    assert sorted(p.name for p in folder.iterdir()) == ["nightly.db"]


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
    ctx = Context(Vault.open(db, recovery_code=code),
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
    code, the keychain entry being gone) gives the same counts and chain head as the backup's
    own verify; the replaced file is kept aside; nothing the writer committed is lost there."""
    nurse = opened.home.add_nurse()
    resident = opened.home.add_resident()
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    # The writer must not touch a real keychain: the recovery code unlocks it.
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
        copy = Vault.open(checked.path, recovery_code=opened.code)
        own = audit.verify(copy)
        assert own.ok, own.problems
        assert (own.entries, own.head_seq, own.head_hash) == (
            checked.entries,
            checked.head_seq,
            checked.head_hash,
        )
        expected.append((_counts(copy), own.head_seq, own.head_hash))
        copy.close()
    memory_keyring.entries.clear()  # the keychain entry is gone as well

    restored = backup.restore(backups[1].path, opened.path, recovery_code=opened.code)
    assert restored.previous is not None and restored.previous.exists()
    vault = Vault.open(opened.path, recovery_code=opened.code)  # re-stores the keychain entry
    result = audit.verify(vault)
    assert result.ok
    assert (_counts(vault), result.head_seq, result.head_hash) == expected[1]
    vault.close()
    Vault.open(opened.path).close()  # the keychain works again

    kept = Vault.open(restored.previous, recovery_code=opened.code)
    assert audit.verify(kept).ok and _counts(kept) == live_counts  # nothing committed was lost
    kept.close()


def test_restore_refuses_a_damaged_or_foreign_backup_and_changes_nothing(
    opened: Opened, tmp_path: Path
) -> None:
    """Expected: a backup with a damaged page, one made by another database (another key) and
    one not encrypted at all are each refused with a message saying why; the database file is
    unchanged and no file is copied aside."""
    good = backup.back_up(opened.vault, tmp_path / "good.db").path
    before = _close(opened)
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(good.read_bytes())
    _flip(damaged, damaged.stat().st_size - PAGE + 200)
    other_path = tmp_path / "other.db"
    other, _code = Vault.create(other_path)
    other.close()
    plain = tmp_path / "plain.db"
    import sqlite3

    with contextlib.closing(sqlite3.connect(plain)) as conn:
        conn.execute("CREATE TABLE t(x)")
        conn.commit()

    with pytest.raises(
        backup.BackupError, match=r"damaged\.db failed its checks: .*page \d+ is damaged"
    ):
        backup.restore(damaged, opened.path)
    with pytest.raises(WrongKey, match="Key mismatch"):
        backup.restore(other_path, opened.path)
    with pytest.raises(backup.BackupError, match=r"plain\.db is not encrypted"):
        backup.restore(plain, opened.path)
    assert opened.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if "before-restore" in p.name) == []
    assert not [p for p in opened.path.parent.iterdir() if p.name.endswith(".part")]


def test_restoring_an_old_backup_is_caught_by_the_printed_head(
    opened: Opened, tmp_path: Path
) -> None:
    """Expected: after restoring a backup older than a printed chain head, verify --head reports
    the roll-back (the general case is test_audit_chain's rolled-back copy test)."""
    old = backup.back_up(opened.vault, tmp_path / "old.db").path
    opened.home.add_resident()
    printed = audit.verify(opened.vault)
    _close(opened)
    backup.restore(old, opened.path)
    vault = Vault.open(opened.path)
    result = audit.verify(vault, (printed.head_seq, printed.head_hash))
    vault.close()
    assert result.problems[-1].startswith(
        f"rolled back: a report printed audit entry {printed.head_seq}"
    )


# -- damaged files ---------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [100, 2000, PAGE - 100])
def test_flipped_byte_in_page_1_is_named_and_offers_restore(opened: Opened, offset: int) -> None:
    """Expected: opening fails with DamagedDatabase naming page 1 (not "key mismatch": the other
    pages verify with this key); the message offers the backup and the recovery code and never
    a new database; the file is unchanged by the attempt."""
    _close(opened)
    _flip(opened.path, offset)
    before = _sha(opened.path)
    for unlock in ({}, {"recovery_code": opened.code}):
        with pytest.raises(DamagedDatabase) as failed:
            Vault.open(opened.path, **unlock)
        message = str(failed.value)
        assert "page 1 is damaged" in message
        assert "Restore the latest backup" in message and "recovery code" in message
        assert "Do not create a new database" in message
        assert _sha(opened.path) == before


def test_flipped_byte_in_a_later_page_is_named_by_verify(opened: Opened) -> None:
    """Expected: the database opens (page 1 is sound) but `verify` reports the damaged page by
    number and exits 1; the page-check lines read as "page N is damaged"."""
    size = len(_close(opened))
    last_page = size // PAGE
    _flip(opened.path, (last_page - 1) * PAGE + 300)
    vault = Vault.open(opened.path)
    result = audit.verify(vault)
    vault.close()
    assert not result.ok
    assert any(f"page {last_page}" in p for p in result.problems), result.problems
    from carehome_share.store.vault import page_problems

    lines = [p.removeprefix("encryption check: ") for p in result.problems]
    assert f"page {last_page} is damaged (it fails its checksum)" in page_problems(lines)
    code, out, _err = _cli("verify", "--db", str(opened.path))
    assert code == 1 and f"page {last_page}" in out


@pytest.mark.parametrize("cut", [PAGE // 2, PAGE * 3 + 1000])
def test_file_truncated_mid_page_is_reported_and_writes_refused(opened: Opened, cut: int) -> None:
    """Expected: a file cut part-way through a page (near its end, or early) is refused at open
    with DamagedDatabase naming the short page; nothing can be written; the file keeps its
    truncated bytes exactly (it is not "repaired" by SQLite)."""
    data = _close(opened)
    short = data[: len(data) - cut] if cut < PAGE else data[:cut]
    opened.path.write_bytes(short)
    for unlock in ({}, {"recovery_code": opened.code}):
        with pytest.raises(DamagedDatabase, match=r"page \d+ is cut short .*truncated"):
            Vault.open(opened.path, **unlock)
    code, _out, err = _cli("verify", "--db", str(opened.path))
    assert code == cli.EXIT_LOCKED and "truncated" in err
    assert opened.path.read_bytes() == short


def test_wrong_keychain_key_through_the_command_line_changes_nothing(
    opened: Opened, memory_keyring: MemoryKeyring
) -> None:
    """Expected: with a different key in the keychain, `verify` and a logged-in command exit 4
    with "Key mismatch"; the database file hash before equals the hash after (extends
    test_vault's wrong-key test to the command line)."""
    _close(opened)
    before = _sha(opened.path)
    entry = next(iter(memory_keyring.entries))
    memory_keyring.entries[entry] = "22" * 32
    code, _out, err = _cli("verify", "--db", str(opened.path))
    assert code == cli.EXIT_LOCKED and "Key mismatch" in err
    os.environ["CAREHOME_SHARE_PASSWORD"] = MANAGER_PASSWORD
    try:
        code, _out, err = _cli("--db", str(opened.path), "--user", "manager", "staff", "list")
    finally:
        del os.environ["CAREHOME_SHARE_PASSWORD"]
    assert code == cli.EXIT_LOCKED and "Key mismatch" in err
    assert _sha(opened.path) == before


def test_command_line_backup_damage_and_restore(
    opened: Opened, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: `backup --out` (as the manager) writes a checked copy; after a page is damaged
    `verify` fails; `restore BACKUP` puts the copy back and `verify` passes again with the
    backup's chain head."""
    monkeypatch.setenv("CAREHOME_SHARE_PASSWORD", MANAGER_PASSWORD)
    db = str(opened.path)
    _close(opened)
    target = tmp_path / "nightly.db"
    code, out, err = _cli("--db", db, "--user", "manager", "backup", "--out", str(target))
    assert code == 0, err
    assert "Backed up to" in out and target.exists()
    head = out.split("chain head ")[1].split()[0]

    size = opened.path.stat().st_size
    _flip(opened.path, size - PAGE + 500)
    assert _cli("verify", "--db", db)[0] == 1

    code, out, err = _cli("restore", str(target), "--db", db)
    assert code == 0, err
    assert f"chain head {head}" in out and "kept as" in out
    code, out, _err = _cli("verify", "--db", db, "--head", head)
    assert code == 0 and "OK" in out


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

    def disk_full(_path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backup, "_sync", disk_full)
    with pytest.raises(backup.BackupError, match=r"No space left on device.*unchanged"):
        backup.back_up(opened.vault, target)
    assert _sha(target) == before
    assert sorted(p.name for p in folder.iterdir()) == ["nightly.db"]
    assert audit.head(opened.vault.conn) == head and audit.verify(opened.vault).ok
