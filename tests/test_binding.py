"""Every record row is bound to the audit entry written in its transaction, the schema is
recorded in the chain, and verify checks both (store/binding.py). The insider's view, with the
key in hand, is in test_tamper.py."""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carehome_share.domain.errors import ValidationError
from carehome_share.services import access, consent, residents, settings
from carehome_share.services.context import Context
from carehome_share.store import audit, binding, bulk, practice_log
from carehome_share.store import vault as vault_module
from carehome_share.store.audit import Actor
from carehome_share.store.vault import Vault
from tests.factories import Home

FIXTURE = Path(__file__).parent / "fixtures" / "release-0.1.0.db"
FIXTURE_PASSPHRASE = "release fixture passphrase"


def _last(conn: object) -> audit.AuditEntry:
    return audit.entries(conn, last=1)[0]  # type: ignore[arg-type]


def _digest(conn: object, table: str, rowid: int) -> str:
    row = conn.execute(f"SELECT * FROM {table} WHERE rowid = ?", (rowid,)).fetchone()  # type: ignore[attr-defined]
    return binding.row_digest(row)


# -- canonical content ---------------------------------------------------------------------------

_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.binary(max_size=40),
)


@given(st.lists(_VALUES, max_size=12))
def test_canonical_row_is_the_json_encoders_text_with_blobs_as_hex(values: list[object]) -> None:
    expected = json.dumps(
        [v.hex() if isinstance(v, bytes) else v for v in values],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert binding.canonical_row(tuple(values)) == expected.encode("utf-8", "surrogatepass")


def test_a_row_digest_is_sha256_of_its_columns_in_table_order() -> None:
    import hashlib

    row = (7, "Given", None, b"\x00\xff", 1.5)
    text = '[7,"Given",null,"00ff",1.5]'
    assert binding.row_digest(row) == hashlib.sha256(text.encode()).hexdigest()


# -- what an entry binds -------------------------------------------------------------------------


def test_each_service_entry_binds_the_rows_it_wrote(home: Home) -> None:
    nurse = home.add_nurse()
    resident = home.add_resident()
    conn = home.ctx.conn
    stay = conn.execute("SELECT id FROM stay WHERE resident_id = ?", (resident.id,)).fetchone()[0]
    admitted = next(e for e in audit.entries(conn) if e.action == "admit_resident")
    assert admitted.binding["rows"] == {f"stay:{stay}": _digest(conn, "stay", stay)}

    home.log_in(nurse)
    session = home.open_session(resident)
    opened = _last(conn)
    assert opened.binding["rows"] == {
        f"access_session:{session.id}": _digest(conn, "access_session", session.id)
    }
    access.record_sections_viewed(home.ctx, session.id, ["summary", "medications"])
    sections = conn.execute(
        "SELECT rowid FROM session_section WHERE session_id = ?", (session.id,)
    ).fetchall()
    assert _last(conn).binding["rows"] == {
        f"session_section:{r}": _digest(conn, "session_section", r) for (r,) in sections
    }
    open_digest = opened.binding["rows"][f"access_session:{session.id}"]
    access.close_access_session(home.ctx, session.id)
    closed = _last(conn).binding["rows"][f"access_session:{session.id}"]
    assert closed == _digest(conn, "access_session", session.id) != open_digest
    assert audit.verify(home.ctx.vault).ok


def test_a_setting_and_a_replaced_key_slot_are_bound_old_row_and_new(home: Home) -> None:
    conn = home.ctx.conn
    settings.change_setting(home.ctx, "session_limit_minutes", 45)
    rowid = conn.execute(
        "SELECT rowid FROM settings WHERE key = 'session_limit_minutes'"
    ).fetchone()[0]
    assert _last(conn).binding["rows"] == {f"settings:{rowid}": _digest(conn, "settings", rowid)}
    settings.change_setting(home.ctx, "session_limit_minutes", 50)  # the row, changed in place
    assert _last(conn).binding["rows"] == {f"settings:{rowid}": _digest(conn, "settings", rowid)}

    before = conn.execute("SELECT rowid FROM key_slot WHERE username = 'manager'").fetchone()[0]
    from carehome_share.services import auth

    auth.change_own_password(home.ctx, "manager password 1", "a much better passphrase 7")
    after = conn.execute("SELECT rowid FROM key_slot WHERE username = 'manager'").fetchone()[0]
    assert after != before  # INSERT OR REPLACE: a new row, and the old one deleted
    rows = _last(conn).binding["rows"]
    assert rows[f"key_slot:{before}"] is None
    assert rows[f"key_slot:{after}"] == _digest(conn, "key_slot", after)
    assert audit.verify(home.ctx.vault).ok


def test_a_leavers_key_slot_row_is_named_by_no_later_slot(home: Home) -> None:
    """The newest slot deleted (its owner left), the next slots get other rowids, so the
    deletion's binding names the leaver's slot alone."""
    conn = home.ctx.conn
    leaver = home.add_nurse()
    (newest,) = conn.execute("SELECT max(rowid) FROM key_slot").fetchone()
    from carehome_share.services import staff

    staff.deactivate_staff(home.ctx, leaver.id)
    deleted = _last(conn)
    assert deleted.binding["rows"][f"key_slot:{newest}"] is None
    home.add_nurse()  # a slot for the temporary password, then one for her own
    later = audit.entries(conn)[deleted.seq :]
    assert any("key_slot" in key for e in later for key in e.binding.get("rows", {}))
    assert not [e.seq for e in later if f"key_slot:{newest}" in e.binding.get("rows", {})]
    assert audit.verify(home.ctx.vault).ok


def test_a_rolled_back_change_binds_nothing(home: Home) -> None:
    conn = home.ctx.conn
    resident = home.add_resident(admitted=None, consent_by=None)
    with pytest.raises(ValidationError):
        residents.admit(home.ctx, resident.id, at="not a date")
    with home.ctx.vault.transaction():
        conn.execute("UPDATE resident SET room = 'gone' WHERE id = ?", (resident.id,))
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
    assert conn.execute(f"SELECT count(*) FROM temp.{binding._NOTED}").fetchone()[0] == 0
    residents.admit(home.ctx, resident.id, at="2026-11-02")
    assert set(_last(conn).binding["rows"]) == {
        f"stay:{conn.execute('SELECT max(id) FROM stay').fetchone()[0]}"
    }
    assert audit.verify(home.ctx.vault).ok


def test_entries_that_write_nothing_carry_no_rows(home: Home) -> None:
    from carehome_share.services import auth

    auth.log_out(home.ctx)
    entry = _last(home.ctx.conn)
    assert entry.action == "log_out" and "rows" not in entry.binding and "rows" not in entry.details


# -- a new file and an upgraded one ----------------------------------------------------------------


def test_a_new_files_first_entry_records_the_schema_and_binds_every_row(
    vault: Vault, ctx: Context
) -> None:
    assert audit.head(vault.conn) == (0, audit.GENESIS)  # creating the file writes no entry
    assert audit.verify(vault).ok  # nothing written yet: only the file's identity
    Home.set_up(ctx, ctx.clock)
    first = audit.entries(vault.conn)[0]
    assert first.action == "set_up_home"
    assert first.binding["schema_version"] == vault_module.SCHEMA_VERSION
    assert "trigger audit_log_no_delete" in first.binding["schema"]
    assert "vault_identity:1" in first.binding["rows"] and "home:1" in first.binding["rows"]
    assert audit.verify(vault).ok


def test_a_0_1_file_has_every_row_bound_when_upgraded(tmp_path: Path) -> None:
    copy = tmp_path / "release.db"
    shutil.copy2(FIXTURE, copy)
    vault = Vault.open_with_old_passphrase(copy, FIXTURE_PASSPHRASE)
    try:
        bound, migrated = audit.entries(vault.conn, last=2)
        assert (bound.action, migrated.action) == ("rows_bound", "schema_migrated")
        assert bound.actor_name == migrated.actor_name == binding.UPGRADE_ACTOR_NAME
        total = sum(
            vault.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in binding.RECORD_TABLES
        )
        assert len(bound.binding["rows"]) == total > 100
        assert migrated.binding["schema_version"] == vault_module.SCHEMA_VERSION
        result = audit.verify(vault)
        assert result.ok, result.problems
        assert result.rows == total
        vault.conn.execute("UPDATE resident SET room = '99' WHERE id = 1")
        assert audit.verify(vault).problems == [
            f"resident row 1 was changed after audit entry {bound.seq} recorded it"
        ]
    finally:
        vault.close()


def test_a_large_upgrade_binds_rows_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(binding, "_ROWS_PER_ENTRY", 40)
    copy = tmp_path / "release.db"
    shutil.copy2(FIXTURE, copy)
    vault = Vault.open_with_old_passphrase(copy, FIXTURE_PASSPHRASE)
    try:
        parts = [e for e in audit.entries(vault.conn) if e.action == "rows_bound"]
        assert len(parts) > 2
        assert [(e.details["part"], e.details["parts"]) for e in parts] == [
            (i, len(parts)) for i in range(1, len(parts) + 1)
        ]
        assert all(len(e.binding["rows"]) <= 40 for e in parts)
        assert audit.verify(vault).ok
    finally:
        vault.close()


def test_a_migration_records_the_schema_and_rebinds_an_altered_table(
    home: Home, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = home.ctx.vault._key
    home.ctx.vault.close()
    altered = (
        "ALTER TABLE staff ADD COLUMN nickname TEXT; CREATE INDEX staff_nick ON staff(nickname);"
    )
    monkeypatch.setattr(vault_module, "MIGRATIONS", (*vault_module.MIGRATIONS, altered))
    monkeypatch.setattr(vault_module, "SCHEMA_VERSION", vault_module.SCHEMA_VERSION + 1)
    conn = vault_module._unlock(db_path, f"PRAGMA key = \"x'{key.hex()}'\"", "key")
    vault_module._migrate(conn, db_path)  # the next release's migration
    reopened = Vault(conn, db_path, key, "key")
    try:
        bound, migrated = audit.entries(conn, last=2)
        assert bound.action == "rows_bound"
        assert set(bound.binding["rows"]) == {
            f"staff:{i}" for (i,) in conn.execute("SELECT id FROM staff")
        }
        assert migrated.action == "schema_migrated"
        assert migrated.binding["schema_version"] == vault_module.SCHEMA_VERSION
        assert "index staff_nick" in migrated.binding["schema"]
        result = audit.verify(reopened)
        assert result.ok, result.problems
    finally:
        conn.close()


# -- what verify says ----------------------------------------------------------------------------


def test_verify_counts_every_row_and_names_only_the_first_that_disagrees(home: Home) -> None:
    nurse = home.add_nurse()
    resident = home.add_resident()
    home.log_in(nurse)
    session = home.open_session(resident)
    conn = home.ctx.conn
    result = audit.verify(home.ctx.vault)
    assert result.ok and result.first_bad_row is None
    total = sum(
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in binding.RECORD_TABLES
    )
    assert result.rows == total

    opened = _last(conn).seq
    conn.execute(
        "UPDATE access_session SET purpose = 'care_plan_review' WHERE id = ?", (session.id,)
    )
    conn.execute("UPDATE resident SET room = '12B' WHERE id = ?", (resident.id,))
    result = audit.verify(home.ctx.vault)
    assert result.first_bad_row == f"resident:{resident.id}"  # record tables in schema order
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"resident row {resident.id} was changed after audit")
    assert (
        "2 rows disagree with the audit trail: resident 1, access_session 1" in result.problems[0]
    )
    assert str(opened) not in result.problems[0].split("(")[0]


def test_a_row_with_a_far_off_rowid_is_named_without_a_huge_array(home: Home) -> None:
    conn = home.ctx.conn
    conn.execute("INSERT INTO settings(rowid, key, value) VALUES (?, 'x', 'y')", (2**62,))
    problems = audit.verify(home.ctx.vault).problems
    assert problems == [
        f"settings row {2**62} is not in the audit trail: no audit entry records it"
    ]


def test_a_row_put_back_after_its_deletion_was_recorded(home: Home) -> None:
    conn = home.ctx.conn
    nurse = home.add_nurse()
    from carehome_share.services import staff

    staff.deactivate_staff(home.ctx, nurse.id)  # removes the key slot
    deleted = next(
        (key, e.seq)
        for e in reversed(audit.entries(conn))
        for key, digest in e.binding.get("rows", {}).items()
        if key.startswith("key_slot:") and digest is None
    )
    rowid = int(deleted[0].split(":")[1])
    conn.execute("INSERT INTO key_slot(rowid, username, slot) VALUES (?, 'ghost', '{}')", (rowid,))
    assert audit.verify(home.ctx.vault).problems == [
        f"key_slot row {rowid} exists, but audit entry {deleted[1]} recorded its deletion"
    ]


def test_a_row_the_log_names_that_is_gone_is_named_deleted(home: Home) -> None:
    resident = home.add_resident(admitted=None, consent_by=None)
    conn = home.ctx.conn
    seq = _last(conn).seq
    conn.execute("DELETE FROM resident WHERE id = ?", (resident.id,))
    assert audit.verify(home.ctx.vault).problems == [
        f"resident row {resident.id} was deleted after audit entry {seq} recorded it"
    ]


def test_schema_changes_are_named(home: Home) -> None:
    conn = home.ctx.conn
    conn.execute("DROP TRIGGER consent_no_delete")
    conn.execute("CREATE INDEX staff_by_name ON staff(full_name)")
    conn.execute("DROP TRIGGER consent_no_update")
    conn.execute(
        "CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent_decision "
        "WHEN 0 BEGIN SELECT RAISE(ABORT, 'the consent history is append-only'); END"
    )
    after = "after audit entry 1 recorded the database's structure"
    assert audit.verify(home.ctx.vault).problems == [
        f"trigger consent_no_delete was dropped {after}",
        f"index staff_by_name was added {after}",
        f"trigger consent_no_update was changed {after}",
    ]


def test_a_log_without_a_schema_record_is_named(home: Home) -> None:
    """The schema record cut out of the first entry (and the chain re-hashed): verify says the
    trail has none, rather than passing the schema unchecked."""
    conn = home.ctx.conn
    conn.execute("DROP TRIGGER audit_log_no_update")
    rows = conn.execute(
        f"SELECT {practice_log.HASHED_COLUMNS} FROM audit_log ORDER BY seq"
    ).fetchall()
    prev = audit.GENESIS
    for row in rows:
        details = json.loads(row[11])
        for key in ("schema", "schema_sha256", "schema_version"):
            details.pop(key, None)
        row = (
            *row[:11],
            json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        )
        digest = audit.entry_hash(prev, row)
        leaf = audit.leaf_hash(audit.canonical_bytes(row))
        conn.execute(
            "UPDATE audit_log SET details = ?, prev_hash = ?, hash = ?, leaf = ? WHERE seq = ?",
            (row[11], prev, digest, leaf, row[0]),
        )
        prev = digest
    conn.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )
    problems = audit.verify(home.ctx.vault).problems
    assert problems == [
        "the audit trail holds no record of the database's structure (schema), so changes to "
        "its tables and safeguards cannot be checked"
    ]


# -- the batched writer --------------------------------------------------------------------------


def test_batched_rows_are_bound_by_their_own_entries_and_pending_rows_by_the_first(
    home: Home,
) -> None:
    nurse = home.add_nurse()
    resident = home.add_resident()
    conn = home.ctx.conn
    practice_id = resident.practice_id
    conn.execute("UPDATE resident SET room = '7' WHERE id = ?", (resident.id,))  # no entry yet
    session_id = bulk.next_id(conn, "access_session")
    section_rowid = bulk.next_id(conn, "session_section")
    row = bulk.SessionRow(
        session_id, resident.id, nurse.id, practice_id, nurse.nmc_pin or "", "medication_check",
        "Checking medication before the round", "2026-11-21T10:00:00Z", "2026-11-21T10:05:00Z",
        "closed", None, 1, "ws",
    )  # fmt: skip
    section = bulk.SectionRow(session_id, "summary", "2026-11-21T10:01:00Z", section_rowid)
    actor = Actor(nurse.username, nurse.full_name, "nurse", nurse.nmc_pin or "")
    events = [
        bulk.AuditEvent("2026-11-21T10:00:00Z", actor, "ws", "open_access_session", "allowed",
                        resident.id, (), {"session_id": session_id, "rows": dict([row.bound()])}),
        bulk.AuditEvent("2026-11-21T10:01:00Z", actor, "ws", "record_sections_viewed",
                        "allowed", resident.id, (), {"rows": dict([section.bound()])}),
    ]  # fmt: skip
    with home.ctx.vault.transaction():
        bulk.append_audit(conn, events)
        bulk.insert_sessions(conn, [row])
        bulk.insert_sections(conn, [section])
        assert conn.execute(f"SELECT count(*) FROM temp.{binding._NOTED}").fetchone()[0] == 0
    opened, viewed = audit.entries(conn, last=2)
    assert set(opened.binding["rows"]) == {
        f"access_session:{session_id}",
        f"resident:{resident.id}",
    }
    assert set(viewed.binding["rows"]) == {f"session_section:{section_rowid}"}
    assert audit.verify(home.ctx.vault).ok
    # the triggers are back after the batch
    conn.execute("UPDATE access_session SET workstation = 'x' WHERE id = ?", (session_id,))
    assert conn.execute(f"SELECT count(*) FROM temp.{binding._NOTED}").fetchone()[0] == 1


def test_the_demo_binds_every_row_it_writes(vault: Vault, clock: object) -> None:
    from carehome_share import demo

    ctx = Context(vault, workstation="demo-test")
    summary = demo.generate(ctx, residents=8, sessions=60, seed=3)
    result = audit.verify(vault)
    assert result.ok, result.problems
    assert result.entries == summary.audit_entries
    counted = sum(
        vault.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in binding.RECORD_TABLES
    )
    assert result.rows == counted > summary.sessions + summary.sections_viewed


def test_a_connection_that_does_not_track_writes_unbound_rows_and_verify_says_so(
    home: Home,
) -> None:
    conn = home.ctx.conn
    for table in binding.RECORD_TABLES:
        for kind in ("insert", "update", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS temp.binding_{table}_{kind}")
    residents.add_resident(
        home.ctx, "9990000026", "Untracked", "Person", "1940-01-01", "Y01234", room="3"
    )
    added = conn.execute("SELECT max(id) FROM resident").fetchone()[0]
    assert audit.verify(home.ctx.vault).problems == [
        f"resident row {added} is not in the audit trail: no audit entry records it"
    ]
    binding.track(conn)


def test_consent_decisions_stay_bound_through_the_service(home: Home) -> None:
    resident = home.add_resident(consent_by=None)
    consent.record_consent(
        home.ctx,
        resident.id,
        "refused",
        "resident",
        decided_on=date(2026, 11, 3),
        reason="Does not want the home to see her GP record",
    )
    conn = home.ctx.conn
    decision = conn.execute("SELECT max(id) FROM consent_decision").fetchone()[0]
    assert _last(conn).binding["rows"] == {
        f"consent_decision:{decision}": _digest(conn, "consent_decision", decision)
    }
    assert audit.verify(home.ctx.vault).ok


def test_values_the_app_never_writes_are_named_not_crashed_on(home: Home) -> None:
    """A number where the log holds text, a negative sequence number: verify names the entry."""
    conn = home.ctx.conn
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET details = 42 WHERE seq = 3")
    result = audit.verify(home.ctx.vault)
    assert result.problems[0] == "audit entry 3 has been altered"
    conn.execute("UPDATE audit_log SET seq = -5 WHERE seq = 4")
    assert audit.verify(home.ctx.vault).problems[0] == "audit entry 1 is missing (next found is -5)"


def test_an_unreadable_schema_record_is_named(home: Home) -> None:
    conn = home.ctx.conn
    conn.execute("DROP TRIGGER audit_log_no_update")
    details = json.loads(conn.execute("SELECT details FROM audit_log WHERE seq = 1").fetchone()[0])
    details["schema"] = "gone"
    conn.execute(
        "UPDATE audit_log SET details = ? WHERE seq = 1",
        (json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":")),),
    )
    problems = audit.verify(home.ctx.vault).problems
    assert "audit entry 1's record of the database's structure cannot be read" in problems
