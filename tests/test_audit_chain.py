"""The audit chain: every action is in it, and tampering or a roll-back is detected."""

import functools
import itertools
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carehome_share.services import audit as audit_service
from carehome_share.store import audit
from carehome_share.store.vault import Vault
from tests.factories import MANAGER_PASSWORD, Home


def _seed(home: Home) -> None:
    nurse = home.add_nurse()
    resident = home.add_resident()
    home.log_in(nurse)
    session = home.open_session(resident)
    from carehome_share.services import access

    access.close_access_session(home.ctx, session.id)
    home.as_manager()


def _drop_guards(vault: Vault) -> None:
    """What an insider with the key would do first: remove the append-only triggers."""
    vault.conn.execute("DROP TRIGGER audit_log_no_update")
    vault.conn.execute("DROP TRIGGER audit_log_no_delete")


def test_intact_chain_verifies(home: Home) -> None:
    _seed(home)
    result = audit_service.verify(home.ctx)
    assert result.ok, result.problems
    assert result.entries == result.head_seq > 10
    assert result.head_hash == audit.head(home.ctx.conn)[1]


def test_each_entry_links_to_the_previous_one(home: Home) -> None:
    _seed(home)
    rows = home.ctx.conn.execute(
        "SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq"
    ).fetchall()
    assert rows[0][1] == audit.GENESIS
    for previous, current in itertools.pairwise(rows):
        assert current[1] == previous[2]
        assert current[0] == previous[0] + 1


def test_actor_is_recorded_as_they_were_then(home: Home) -> None:
    nurse = home.add_nurse(nmc_pin="12A3456E")
    resident = home.add_resident()
    home.log_in(nurse)
    home.open_session(resident)
    home.as_manager()
    from carehome_share.services import staff

    staff.update_staff(home.ctx, nurse.id, full_name="Renamed Later", nmc_pin="98Z7654Y")
    entry = next(e for e in audit.entries(home.ctx.conn) if e.action == "open_access_session")
    assert (entry.actor_name, entry.actor_role, entry.actor_nmc_pin) == (
        nurse.full_name,
        "nurse",
        "12A3456E",
    )
    assert entry.workstation == "nurses-station-1"
    assert entry.resident_id == resident.id
    assert audit_service.verify(home.ctx).ok


def test_the_log_refuses_updates_and_deletes(home: Home) -> None:
    with pytest.raises(Exception, match="append-only"):
        home.ctx.conn.execute("UPDATE audit_log SET outcome = 'allowed'")
    with pytest.raises(Exception, match="append-only"):
        home.ctx.conn.execute("DELETE FROM audit_log")


def test_edited_entry_is_named(home: Home) -> None:
    _seed(home)
    _drop_guards(home.ctx.vault)
    home.ctx.conn.execute("UPDATE audit_log SET actor_username = 'someone.else' WHERE seq = 5")
    result = audit_service.verify(home.ctx)
    assert not result.ok
    assert result.first_bad_seq == 5
    assert "audit entry 5 has been altered" in result.problems


def _deny_entry_4(home: Home, *, leaf_too: bool) -> audit.VerifyResult:
    """Turn entry 4 into a denial and recompute its chain hash (and its leaf, if asked), as an
    insider with the key would; what verify then says."""
    _seed(home)
    _drop_guards(home.ctx.vault)
    conn = home.ctx.conn
    row = conn.execute("SELECT * FROM audit_log WHERE seq = 4").fetchone()
    forged = (*row[:9], "denied", *row[10:12])
    leaf = audit.leaf_hash(audit.canonical_bytes(forged)) if leaf_too else row[14]
    conn.execute(
        "UPDATE audit_log SET outcome = 'denied', hash = ?, leaf = ? WHERE seq = 4",
        (audit.entry_hash(row[12], forged), leaf),
    )
    return audit_service.verify(home.ctx)


def test_edit_with_recomputed_hash_is_named_by_the_leaf_kept_with_it(home: Home) -> None:
    result = _deny_entry_4(home, leaf_too=False)
    assert result.first_bad_seq == 4
    assert "the Merkle tree leaf kept with audit entry 4 is not its hash" in result.problems[0]


def test_edit_with_recomputed_hash_and_leaf_breaks_the_next_link(home: Home) -> None:
    result = _deny_entry_4(home, leaf_too=True)
    assert result.first_bad_seq == 5
    assert "does not follow entry 4" in result.problems[0]


def test_deleted_entry_is_named(home: Home) -> None:
    _seed(home)
    _drop_guards(home.ctx.vault)
    home.ctx.conn.execute("DELETE FROM audit_log WHERE seq = 7")
    result = audit_service.verify(home.ctx)
    assert result.first_bad_seq == 7
    assert "audit entry 7 is missing" in result.problems[0]


def test_swapped_entries_are_detected(home: Home) -> None:
    _seed(home)
    _drop_guards(home.ctx.vault)
    conn = home.ctx.conn
    conn.execute("UPDATE audit_log SET seq = -1 WHERE seq = 8")
    conn.execute("UPDATE audit_log SET seq = 8 WHERE seq = 9")
    conn.execute("UPDATE audit_log SET seq = 9 WHERE seq = -1")
    result = audit_service.verify(home.ctx)
    assert result.first_bad_seq == 8


def test_rolled_back_copy_is_detected_with_a_printed_head(
    home: Home, db_path: Path, tmp_path: Path
) -> None:
    home.add_nurse()
    home.ctx.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    old_copy = tmp_path / "old-copy.db"
    shutil.copy2(db_path, old_copy)
    _seed(home)
    printed = audit_service.verify(home.ctx)
    head = f"{printed.head_seq}:{printed.head_hash}"
    assert audit_service.verify(home.ctx, head).ok

    # Someone puts the older copy back in place of the current file.
    home.ctx.vault.close()
    shutil.copy2(old_copy, db_path)
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    from carehome_share.services.context import Context

    reopened = Context(Vault.open_as(db_path, "manager", MANAGER_PASSWORD))
    result = audit_service.verify(reopened, head)
    reopened.vault.close()
    assert not result.ok
    assert result.problems[-1].startswith(
        f"rolled back: a report printed audit entry {printed.head_seq}"
    )


def test_rewritten_log_differs_from_printed_head(home: Home) -> None:
    _seed(home)
    result = audit_service.verify(home.ctx)
    fake_head = f"{result.head_seq}:{'ab' * 32}"
    checked = audit_service.verify(home.ctx, fake_head)
    assert (
        f"audit entry {result.head_seq} differs from the printed chain head" in checked.problems[0]
    )


_TEXT = st.text(max_size=30)  # any characters: quotes, backslashes, controls, emoji


@given(
    st.integers(min_value=1),
    st.lists(_TEXT, min_size=7, max_size=7),
    st.none() | st.integers(min_value=1),
    st.lists(_TEXT, min_size=3, max_size=3),
)
def test_canonical_entry_is_the_json_encoders_text(
    seq: int, texts: list[str], resident_id: int | None, more: list[str]
) -> None:
    """The fast canonical form is exactly the JSON encoder's text, so the hashes of entries
    written before it was introduced still check."""
    row = (seq, *texts, resident_id, *more)
    canonical = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
    assert audit.canonical_bytes(row) == canonical(row).encode()
    assert audit._text_list(texts) == canonical(texts)
