"""Upgrades keep the data: a database made by each release opens in this version, is brought up
to the current schema, and its records and audit chain are intact. Add the next release's file
beside it when its schema changes (tests/fixtures/release-X.Y.Z.db, made with demo data)."""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from carehome_share import cli
from carehome_share.domain.errors import AccessRefused
from carehome_share.services import (
    audit,
    auth,
    consent,
    exceptions,
    practices,
    residents,
    staff,
)
from carehome_share.services.context import Context
from carehome_share.store import binding, merkle, practice_log
from carehome_share.store.schema import SCHEMA_VERSION
from carehome_share.store.vault import Vault, WrongKey, WrongPassphrase
from tests.factories import MANAGER_PASSWORD, ODS, TEMPORARY_PASSWORD, Home
from tests.test_fhir import export, resources

FIXTURES = Path(__file__).parent / "fixtures"
OLD_DEMO_PASSWORD = "demo-password"  # the demo accounts' password in release 0.1
RELEASES = {
    # file: (passphrase, recovery code, residents) - synthetic demo data only
    "release-0.1.0.db": (
        "release fixture passphrase",
        "XQPS6-V0S1D-JZ31T-H3J88-TAT4S-Q0A1T-XK35S-W1QD5-C6ZB5-67SPR-NKE01-AGYJ2-DE0G2",
        8,
    ),
}


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_a_released_database_opens_upgraded_and_intact(name: str, tmp_path: Path) -> None:
    passphrase, code, resident_count = RELEASES[name]
    copy = tmp_path / name
    shutil.copy2(FIXTURES / name, copy)
    vault = Vault.open_with_old_passphrase(copy, passphrase)
    try:
        assert vault.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert vault.in_transition()
        ctx = Context(vault)
        assert audit.verify(ctx).ok
        auth.log_in(ctx, "manager", OLD_DEMO_PASSWORD)
        assert len(residents.find_residents(ctx, "")) == resident_count
    finally:
        vault.close()
    Vault.open_with_recovery_code(copy, code).close()


def test_a_0_1_database_moves_to_key_slots_and_the_old_key_retires(tmp_path: Path) -> None:
    """Accounts convert as they log in; until the manager rotates the key the old passphrase
    still opens the file, and the unconverted accounts are listed; afterwards only slots and
    the new recovery code open it."""
    passphrase, code, _count = RELEASES["release-0.1.0.db"]
    copy = tmp_path / "release.db"
    shutil.copy2(FIXTURES / "release-0.1.0.db", copy)
    ctx = Context(Vault.open_with_old_passphrase(copy, passphrase))
    auth.log_in(ctx, "manager", OLD_DEMO_PASSWORD)
    waiting = {s.username for s in staff.accounts_without_slot(ctx)}
    assert "manager" not in waiting and "nurse.amira" in waiting
    assert any(a.kind == "key_slot" for a in exceptions.needing_attention(ctx))
    auth.log_out(ctx)
    ctx.vault.close()

    nurse = Vault.open_with_old_passphrase(copy, passphrase)  # the nurse's first login since
    auth.log_in(Context(nurse), "nurse.amira", OLD_DEMO_PASSWORD)
    nurse.close()
    Vault.open_as(copy, "nurse.amira", OLD_DEMO_PASSWORD).close()  # her own slot now

    ctx = Context(Vault.open_as(copy, "manager", OLD_DEMO_PASSWORD))
    auth.log_in(ctx, "manager", OLD_DEMO_PASSWORD)
    new_code = staff.rotate_key(ctx)
    assert not ctx.vault.in_transition()
    auth.log_out(ctx)
    ctx.vault.close()

    with pytest.raises(WrongPassphrase):
        Vault.open_with_old_passphrase(copy, passphrase)
    with pytest.raises(WrongKey):
        Vault.open_with_recovery_code(copy, code)
    Vault.open_with_recovery_code(copy, new_code).close()
    Vault.open_as(copy, "nurse.amira", OLD_DEMO_PASSWORD).close()


def test_a_mistyped_old_passphrase_is_a_wrong_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Expected: an old passphrase typed wrong says "Wrong password" (exit 2 from the command
    line), not "Key mismatch ... or its first page is damaged"; the file is unchanged."""
    passphrase, _code, _count = RELEASES["release-0.1.0.db"]
    copy = tmp_path / "release.db"
    shutil.copy2(FIXTURES / "release-0.1.0.db", copy)
    before = copy.read_bytes()
    with pytest.raises(WrongPassphrase, match=r"^Wrong password: the old passphrase typed"):
        Vault.open_with_old_passphrase(copy, passphrase.upper())
    monkeypatch.setenv(cli.ENV_PASSPHRASE, passphrase.upper())
    monkeypatch.setenv(cli.ENV_PASSWORD, OLD_DEMO_PASSWORD)
    assert cli.run(["--db", str(copy), "--user", "manager", "staff", "list"]) == cli.EXIT_INPUT
    said = capsys.readouterr().err
    assert said.startswith("error: Wrong password") and "Key mismatch" not in said
    assert copy.read_bytes() == before


SCHEMA_8_COLUMNS = {
    "consent_decision": (
        "impairment",
        "impairment_detail",
        "unable_to",
        "has_capacity",
        "support_steps",
        "capacity_assessed_by",
        "lpa_registered_on",
        "authority_seen_on",
        "authority_seen_by",
        "known_wishes",
    ),
    "access_refusal": ("reason_codes",),
}


def back_to_schema_9(vault: Vault) -> None:
    """The file as version 9 left it (as every backup made before schema 10 is): the id of a
    deleted newest practice or key slot is given again. SQLite keeps its sqlite_sequence
    table, empty now, which schema 10 would make."""
    conn = vault.conn
    conn.execute("PRAGMA foreign_keys = OFF")  # residents and agreements refer to practices
    conn.executescript(
        """
        CREATE TABLE practice_9 (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            ods_code TEXT NOT NULL UNIQUE,
            phone TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1
        );
        INSERT INTO practice_9 SELECT * FROM practice;
        DROP TABLE practice;
        ALTER TABLE practice_9 RENAME TO practice;
        CREATE TABLE key_slot_9 (username TEXT PRIMARY KEY COLLATE NOCASE, slot TEXT NOT NULL);
        INSERT INTO key_slot_9(rowid, username, slot) SELECT id, username, slot FROM key_slot;
        DROP TABLE key_slot;
        ALTER TABLE key_slot_9 RENAME TO key_slot;
        PRAGMA user_version = 9;
        """
    )
    conn.execute("PRAGMA foreign_keys = ON")
    binding.track(conn)  # the tables' binding triggers went with them


def back_to_schema_8(vault: Vault) -> None:
    """The file as version 8 left it (as every backup made before schema 9 is): its entries
    have no leaf hash stored."""
    back_to_schema_9(vault)
    for index in ("audit_at", "audit_restores", "audit_sent"):
        vault.conn.execute(f"DROP INDEX {index}")
    vault.conn.execute("ALTER TABLE audit_log DROP COLUMN leaf")
    vault.conn.execute("PRAGMA user_version = 8")


def back_to_schema_7(vault: Vault) -> None:
    """The file as version 7 left it (as every backup made before schema 8 is)."""
    back_to_schema_8(vault)
    for table, columns in SCHEMA_8_COLUMNS.items():
        for column in columns:
            vault.conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    vault.conn.execute("PRAGMA user_version = 7")


def back_to_schema_4(vault: Vault) -> None:
    """The file as version 4 left it (as every backup made before schema 5 is)."""
    back_to_schema_7(vault)
    vault.conn.execute("ALTER TABLE practice DROP COLUMN active")  # schema 7
    for later in ("disclosure_decision", "disclosure_resident", "disclosure_request"):
        vault.conn.execute(f"DROP TABLE {later}")  # schema 6
    vault.conn.execute("ALTER TABLE consent_decision DROP COLUMN decided_at")
    vault.conn.execute("ALTER TABLE access_session DROP COLUMN close_reason")
    vault.conn.execute("ALTER TABLE access_session DROP COLUMN decided_by_self")
    vault.conn.execute("PRAGMA user_version = 4")


def upgraded(home: Home) -> Context:
    """The home's file, closed, opened again by its manager: brought up to date."""
    back_to_schema_4(home.ctx.vault)
    home.ctx.vault.close()
    ctx = Context(Vault.open_as(home.ctx.vault.path, "manager", MANAGER_PASSWORD), home.clock)
    auth.log_in(ctx, "manager", MANAGER_PASSWORD)
    return ctx


def test_schema_5_dates_consent_decisions_as_they_were_meant(home: Home) -> None:
    """An expiry date was the first day a consent was no longer in force; it is now the last
    day it is, so a stored 01/12 (out of force from 01/12) becomes 30/11. A decision entered on
    the day it was made was made then; one entered later keeps only its day."""
    resident = home.add_resident(consent_by=None)
    late = consent.record_consent(
        home.ctx, resident.id, "granted", "resident", decided_on="2026-11-20"
    )
    today = consent.record_consent(
        home.ctx, resident.id, "granted", "resident", expires_on="2026-12-01"
    )
    home.log_in(home.add_nurse())
    home.open_session(resident)  # a table schema 5 alters, with a row in it
    ctx = upgraded(home)
    try:
        history = {c.id: c for c in consent.consent_history(ctx, resident.id)}
        assert history[today.id].expires_on == date(2026, 11, 30)
        assert history[today.id].decided_at == today.recorded_at
        assert history[late.id].decided_at is None and history[late.id].entered_late
        assert audit.verify(ctx).ok
    finally:
        ctx.vault.close()


def test_schema_7_keeps_every_practice_offered(home: Home) -> None:
    """Practices added before they could be marked inactive are all active, and the practice
    rows, bound again with their new column, agree with the audit trail."""
    resident = home.add_resident()
    ctx = upgraded(home)
    try:
        assert [p.active for p in practices.list_practices(ctx)] == [True]
        residents.add_resident(ctx, next(home.numbers), "New", "Person", "1940-01-01", ODS)
        assert residents.resident_details(ctx, resident.id).record.practice.active
        assert audit.verify(ctx).ok
    finally:
        ctx.vault.close()


def test_schema_8_codes_the_reasons_of_earlier_refusals(home: Home) -> None:
    """A refusal stored before reasons had codes gets the code its words match, or "other";
    the FHIR export carries them coded."""
    resident = home.add_resident(consent_by=None)
    home.log_in(home.add_nurse())
    with pytest.raises(AccessRefused):
        home.open_session(resident)
    back_to_schema_7(home.ctx.vault)
    worded = ["no consent decision is recorded", "a rule of an early release"]
    home.ctx.conn.execute("UPDATE access_refusal SET reasons = ?", (json.dumps(worded),))
    home.ctx.vault.close()
    ctx = Context(Vault.open_as(home.ctx.vault.path, "manager", MANAGER_PASSWORD), home.clock)
    auth.log_in(ctx, "manager", MANAGER_PASSWORD)
    try:
        (codes,) = ctx.conn.execute("SELECT reason_codes FROM access_refusal").fetchone()
        assert json.loads(codes) == ["no_consent", "other"]
        assert audit.verify(ctx).ok
        (refusal,) = resources(export(ctx, "2026-11-21", "2026-11-21"), "AuditEvent")
        coded = [
            x["valueCodeableConcept"] for x in refusal["extension"] if "valueCodeableConcept" in x
        ]
        assert [(c["coding"][0]["code"], c["text"]) for c in coded] == list(
            zip(["no_consent", "other"], worded, strict=True)
        )
    finally:
        ctx.vault.close()


def test_schema_9_stores_the_leaf_of_each_new_entry(home: Home) -> None:
    """Entries written before keep no leaf hash and are hashed when read; those written after
    carry theirs; the tree is the same either way, and verify checks both kinds."""
    back_to_schema_8(home.ctx.vault)
    home.ctx.vault.close()
    ctx = Context(Vault.open_as(home.ctx.vault.path, "manager", MANAGER_PASSWORD), home.clock)
    auth.log_in(ctx, "manager", MANAGER_PASSWORD)
    try:
        sql = f"SELECT {practice_log.HASHED_COLUMNS}, leaf FROM audit_log ORDER BY seq"
        rows = ctx.conn.execute(sql).fetchall()
        assert rows[0][12] is None and rows[-1][12] == merkle.entry_leaf_hash(rows[-1])
        with ctx.vault.snapshot() as snap:
            root = merkle.prove_log(snap).root
        assert root == merkle.root_hash([merkle.entry_leaf_hash(row) for row in rows])
        assert audit.verify(ctx).ok
    finally:
        ctx.vault.close()


def test_schema_10_gives_no_deleted_id_again(home: Home) -> None:
    """A practice and a leaver's key slot deleted under schema 9, each the newest (whose id
    schema 9 would give again): the rest is kept as it was, the trail checks out, and the
    practice and the slot added next get ids of their own."""
    mistake = practices.add_practice(home.ctx, "Hillside Surgery", "Y05687")
    leaver = home.add_nurse()
    slot_id, newest = home.ctx.conn.execute(
        "SELECT id, username FROM key_slot ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert newest == leaver.username
    back_to_schema_9(home.ctx.vault)
    practices.delete_practice(home.ctx, mistake.id)
    staff.deactivate_staff(home.ctx, leaver.id)
    kept = {
        "practice": home.ctx.conn.execute("SELECT * FROM practice").fetchall(),
        "key_slot": home.ctx.conn.execute("SELECT rowid, * FROM key_slot").fetchall(),
    }
    home.ctx.vault.close()
    ctx = Context(Vault.open_as(home.ctx.vault.path, "manager", MANAGER_PASSWORD), home.clock)
    auth.log_in(ctx, "manager", MANAGER_PASSWORD)
    try:
        assert ctx.conn.execute("SELECT * FROM practice").fetchall() == kept["practice"]
        assert ctx.conn.execute("SELECT * FROM key_slot").fetchall() == kept["key_slot"]
        result = audit.verify(ctx)
        assert result.ok, result.problems
        added = practices.add_practice(ctx, "Hillside Surgery", "Y05678")
        assert added.id == mistake.id + 1
        staff.add_staff(ctx, "joiner", "Jo Iner", ["carer"], TEMPORARY_PASSWORD)
        (joiner_slot,) = ctx.conn.execute(
            "SELECT id FROM key_slot WHERE username = 'joiner'"
        ).fetchone()
        assert joiner_slot == slot_id + 1
        assert audit.verify(ctx).ok
    finally:
        ctx.vault.close()
