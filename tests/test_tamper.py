"""The tamper suite: what an insider holding the database key can do to the file, and what
catches it.

Each test builds a home through the services, closes it, opens the SQLCipher file directly with
the recovery code (the raw key, as the `sqlcipher` shell would) and changes it with raw SQL,
dropping triggers where they stand in the way; then it asserts what `verify` says, or, where
verify alone cannot know without an outside reference, what `verify --head` with a chain head
printed earlier says.

| tamper (insider with the key) | `verify` | `verify --head` (an earlier printed head) | `check-report` against the previous report |
|---|---|---|---|
| delete a session, a refusal or a GP-call row | caught: "access_session row 1 was deleted after audit entry N recorded it" | - | - |
| ... and remove the entries that name it, re-hashing all after them | not caught (the log is self-consistent) | caught if the entries lay at or before the head ("differs from the printed chain head") | catches: the log no longer extends the previous report's (consistency proof); after that head, a gap in the practice's running numbers |
| turn a refusal into a granted consent (consent trigger dropped, row edited, trigger put back) | caught: "consent_decision row 2 was changed after audit entry N recorded it" (and the trigger, if left dropped) | - | - |
| make a carer a nurse (staff.roles) | caught: "staff row 3 was changed after ..." | - | - |
| swap two staff members' key slots | caught: "key_slot row 4 was changed after ..." | - | - |
| edit an entry and re-hash every entry after it | caught if a GP access report or export was made after it ("the first N audit entries no longer hash to the tree head a report or export signed"), if its stored leaf was left ("the Merkle tree leaf kept with audit entry N is not its hash"), or if the edit unbinds a row ("... is not in the audit trail"); otherwise not | caught if the entry lies at or before the head | catches (consistency proof), if at or before the previous report's head |
| forge an entry and append it | caught only if it names a row that is not there as it says ("... was deleted after audit entry N recorded it") | not caught | not caught: by design (see below) |
| drop the append-only triggers | caught: "trigger audit_log_no_delete was dropped after audit entry 1 recorded the database's structure" | - | - |
| truncate the tail of the log | caught if a cut entry had bound a row still there ("... was changed after ...", "... is not in the audit trail") | caught if the cut reaches the head ("rolled back: a report printed audit entry N, but this database ends at entry M") | catches: NEW's log does not extend OLD's |

What neither can catch, by design: anything done after the last chain head that left the home
(the last report sent, the last head printed), done consistently: rows edited together with the
entries that bind them, entries forged or removed, the chain re-hashed and the schema record
rewritten. The key is in the insider's hands, and the signing key is inside the database, so the
result is a log the home could have written. Only a head held outside (a report the GP practice
keeps) pins the past; sending reports regularly shortens what is left unpinned.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from carehome_share.domain.errors import AccessRefused
from carehome_share.services import access, auth, consent, reports
from carehome_share.services import audit as audit_service
from carehome_share.services.context import Context
from carehome_share.store import audit, practice_log
from carehome_share.store.audit import Actor, VerifyResult
from carehome_share.store.vault import Connection, Vault
from tests.conftest import Clock
from tests.factories import ODS, PASSWORD, Home


@dataclass
class Facts:
    """The file as the home left it, and what the tests need to know about it."""

    path: Path
    code: str
    printed: tuple[int, str]  # the chain head on a report printed part-way
    nurse: int
    carer: int
    resident: int
    session: int  # a session opened, viewed and closed before the report
    later_session: int  # one after it
    consent_refused: int
    refusal: int
    contact: int


@pytest.fixture
def facts(tmp_path: Path, clock: Clock) -> Facts:
    path = tmp_path / "home.db"
    vault, code = Vault.create(path, purpose="demo")
    ctx = Context(vault, clock=clock, workstation="nurses-station-1")
    home = Home.set_up(ctx, clock)
    nurse = home.add_nurse()
    carer = home.add_staff(["carer"])
    resident = home.add_resident()
    unwilling = home.add_resident(consent_by=None)
    consent.record_consent(
        ctx,
        unwilling.id,
        "refused",
        "resident",
        decided_on="2026-11-01",
        reason="Does not want the home to see her GP record",
    )
    refused_id = vault.conn.execute("SELECT max(id) FROM consent_decision").fetchone()[0]
    home.log_in(nurse)
    session = home.open_session(resident)
    access.record_sections_viewed(ctx, session.id, ["summary", "medications"])
    access.close_access_session(ctx, session.id)
    with pytest.raises(AccessRefused) as refused:
        home.open_session(unwilling)
    contact = access.log_gp_contact(
        ctx,
        unwilling.id,
        "Practice nurse, Riverside Surgery",
        "GP record not available: consent refused",
        "GP will review the medication by phone",
        refusal_id=refused.value.refusal_id,
    )
    printed = audit.head(vault.conn)  # a GP access report is printed here
    clock.advance(hours=2)
    later = home.open_session(resident)
    access.close_access_session(ctx, later.id)
    auth.log_out(ctx)
    vault.close()
    return Facts(
        path,
        code,
        printed,
        nurse.id,
        carer.id,
        resident.id,
        session.id,
        later.id,
        refused_id,
        refused.value.refusal_id,
        contact,
    )


@pytest.fixture
def insider(facts: Facts) -> Iterator[Vault]:
    """The file opened with the key, as someone holding the recovery code could."""
    opened = Vault.open_with_recovery_code(facts.path, facts.code)
    yield opened
    opened.close()


def _verify(vault: Vault, head: tuple[int, str] | None = None) -> VerifyResult:
    text = f"{head[0]}:{head[1]}" if head else None
    return audit_service.verify(Context(vault), text)


def _bound_by(conn: Connection, key: str) -> int:
    """The latest entry binding a row (as verify reads it)."""
    return next(e.seq for e in reversed(audit.entries(conn)) if key in e.binding.get("rows", {}))


def _sql_of(conn: Connection, trigger: str) -> str:
    return str(
        conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (trigger,)).fetchone()[0]
    )


def _unguarded(conn: Connection, *triggers: str) -> "_Unguarded":
    return _Unguarded(conn, triggers)


class _Unguarded:
    """Drop triggers for the edit, and put them back exactly as they were (a careful insider
    leaves the schema as it was)."""

    def __init__(self, conn: Connection, triggers: tuple[str, ...]) -> None:
        self.conn, self.sql = conn, {t: _sql_of(conn, t) for t in triggers}

    def __enter__(self) -> Connection:
        for trigger in self.sql:
            self.conn.execute(f"DROP TRIGGER {trigger}")
        return self.conn

    def __exit__(self, *exc: object) -> None:
        for sql in self.sql.values():
            self.conn.execute(sql)


def _rehash_from(conn: Connection, seq: int) -> None:
    """Recompute prev_hash, hash and the Merkle leaf of every entry from `seq` on."""
    rows = conn.execute(
        f"SELECT {practice_log.HASHED_COLUMNS}, prev_hash FROM audit_log WHERE seq >= ? ORDER BY seq",
        (seq,),
    ).fetchall()
    prev = rows[0][12]
    for row in rows:
        digest = audit.entry_hash(prev, row[:12])
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ?, leaf = ? WHERE seq = ?",
            (prev, digest, audit.leaf_hash(audit.canonical_bytes(row[:12])), row[0]),
        )
        prev = digest


def _details_text(details: dict[str, object]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _append_forged(conn: Connection, action: str, details: dict[str, object]) -> int:
    seq, prev = audit.head(conn)
    actor = Actor("staff1", "Staff Member 1", "nurse", "01A0001E")
    row = audit.entry_row(
        seq + 1, "2026-11-21T13:00:00Z", actor, "nurses-station-1", action, "allowed", 1, (), None
    )
    row = (*row[:11], _details_text(details))
    audit.insert_chained(conn, [row], prev)
    return seq + 1


# -- the record tables ---------------------------------------------------------------------------


def test_an_untouched_file_verifies(facts: Facts, insider: Vault) -> None:
    result = _verify(insider, facts.printed)
    assert result.ok, result.problems
    assert result.rows > 20


def test_deleting_a_session_is_named(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    closed_by = _bound_by(conn, f"access_session:{facts.session}")
    conn.execute("DELETE FROM session_section WHERE session_id = ?", (facts.session,))
    conn.execute("DELETE FROM access_session WHERE id = ?", (facts.session,))
    result = _verify(insider)
    assert result.problems == [
        f"access_session row {facts.session} was deleted after audit entry {closed_by} recorded "
        "it (3 rows disagree with the audit trail: access_session 1, session_section 2)"
    ]
    assert result.first_bad_row == f"access_session:{facts.session}"


def test_deleting_a_refusal_is_named(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    conn.execute("PRAGMA foreign_keys = OFF")  # the GP call still points at it
    conn.execute("DELETE FROM access_refusal WHERE id = ?", (facts.refusal,))
    seq = _bound_by(conn, f"access_refusal:{facts.refusal}")
    assert _verify(insider).problems == [
        f"access_refusal row {facts.refusal} was deleted after audit entry {seq} recorded it"
    ]


def test_deleting_a_gp_call_is_named(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    conn.execute("DELETE FROM gp_contact WHERE id = ?", (facts.contact,))
    seq = _bound_by(conn, f"gp_contact:{facts.contact}")
    assert _verify(insider).problems == [
        f"gp_contact row {facts.contact} was deleted after audit entry {seq} recorded it"
    ]


def test_a_refusal_turned_into_a_granted_consent_is_named(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    with _unguarded(conn, "consent_no_update"):
        conn.execute(
            "UPDATE consent_decision SET kind = 'granted', reason = '' WHERE id = ?",
            (facts.consent_refused,),
        )
    seq = _bound_by(conn, f"consent_decision:{facts.consent_refused}")
    assert _verify(insider).problems == [
        f"consent_decision row {facts.consent_refused} was changed after audit entry {seq} "
        "recorded it"
    ]


def test_a_dropped_consent_trigger_is_named_with_the_row(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    conn.execute("DROP TRIGGER consent_no_update")
    conn.execute(
        "UPDATE consent_decision SET kind = 'granted' WHERE id = ?", (facts.consent_refused,)
    )
    problems = _verify(insider).problems
    assert problems[0] == (
        "trigger consent_no_update was dropped after audit entry 1 recorded the database's "
        "structure"
    )
    assert problems[1].startswith(f"consent_decision row {facts.consent_refused} was changed")


def test_a_carer_made_a_nurse_is_named(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    conn.execute(
        "UPDATE staff SET roles = 'nurse', nmc_pin = '99Z9999Z' WHERE id = ?", (facts.carer,)
    )
    seq = _bound_by(conn, f"staff:{facts.carer}")
    assert _verify(insider).problems == [
        f"staff row {facts.carer} was changed after audit entry {seq} recorded it"
    ]


def test_swapped_key_slots_are_named(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    (manager_row, manager_slot), (carer_row, carer_slot) = (
        conn.execute("SELECT rowid, slot FROM key_slot WHERE username = ?", (name,)).fetchone()
        for name in ("manager", "staff2")
    )
    conn.execute("UPDATE key_slot SET slot = ? WHERE rowid = ?", (carer_slot, manager_row))
    conn.execute("UPDATE key_slot SET slot = ? WHERE rowid = ?", (manager_slot, carer_row))
    first = min(manager_row, carer_row)
    seq = _bound_by(conn, f"key_slot:{first}")
    assert _verify(insider).problems == [
        f"key_slot row {first} was changed after audit entry {seq} recorded it "
        "(2 rows disagree with the audit trail: key_slot 2)"
    ]


def test_a_row_the_log_never_named_is_named(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    conn.execute(
        "INSERT INTO gp_contact(resident_id, staff_id, practice_id, at, spoke_to, reason, "
        "outcome) VALUES (?, ?, 1, '2026-11-21T12:00:00Z', 'Dr Nobody', 'made up', 'made up')",
        (facts.resident, facts.nurse),
    )
    added = conn.execute("SELECT max(id) FROM gp_contact").fetchone()[0]
    assert _verify(insider).problems == [
        f"gp_contact row {added} is not in the audit trail: no audit entry records it"
    ]


# -- the log itself ------------------------------------------------------------------------------


def test_an_entry_edited_and_the_chain_rehashed_is_caught_by_an_earlier_head(
    facts: Facts, insider: Vault
) -> None:
    """verify alone sees a self-consistent log; the head printed after the entry does not match."""
    conn = insider.conn
    seq = next(e.seq for e in audit.entries(conn) if e.outcome == "denied")
    assert seq <= facts.printed[0]
    with _unguarded(conn, "audit_log_no_update"):
        conn.execute("UPDATE audit_log SET reasons = '[]' WHERE seq = ?", (seq,))
        _rehash_from(conn, seq)
    assert _verify(insider).ok  # no outside reference: nothing to compare with
    assert _verify(insider, facts.printed).problems == [
        f"audit entry {facts.printed[0]} differs from the printed chain head: the log was rewritten"
    ]


def test_an_entry_rewritten_to_hide_a_row_leaves_the_row_unbound(
    facts: Facts, insider: Vault
) -> None:
    """Re-hashing makes the chain whole again, but the row the entry bound is then in no entry."""
    conn = insider.conn
    seq = _bound_by(conn, f"gp_contact:{facts.contact}")
    details = json.loads(
        conn.execute("SELECT details FROM audit_log WHERE seq = ?", (seq,)).fetchone()[0]
    )
    del details["rows"]
    with _unguarded(conn, "audit_log_no_update"):
        conn.execute(
            "UPDATE audit_log SET details = ? WHERE seq = ?", (_details_text(details), seq)
        )
        _rehash_from(conn, seq)
    assert _verify(insider).problems == [
        f"gp_contact row {facts.contact} is not in the audit trail: no audit entry records it"
    ]


def test_an_edit_after_the_printed_head_is_caught_by_neither_check(
    facts: Facts, insider: Vault
) -> None:
    """By design: after the last head that left the home, a consistent rewrite stands until a
    later report is compared with it."""
    conn = insider.conn
    seq = audit.head(conn)[0]  # the log_out, after the report
    assert seq > facts.printed[0]
    with _unguarded(conn, "audit_log_no_update"):
        conn.execute("UPDATE audit_log SET workstation = 'office-pc' WHERE seq = ?", (seq,))
        _rehash_from(conn, seq)
    assert _verify(insider, facts.printed).ok


def test_a_forged_entry_naming_a_missing_row_is_named(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    forged = _append_forged(
        conn,
        "open_access_session",
        {"session_id": 99, "rows": {"access_session:99": "ab" * 32}},
    )
    assert _verify(insider).problems == [
        f"access_session row 99 was deleted after audit entry {forged} recorded it"
    ]


def test_a_forged_entry_naming_nothing_passes_both_checks(facts: Facts, insider: Vault) -> None:
    """By design: with the key, an appended entry is one the home could have written."""
    conn = insider.conn
    _append_forged(conn, "log_in", {})
    assert _verify(insider, facts.printed).ok


def test_dropped_append_only_triggers_are_named(facts: Facts, insider: Vault) -> None:
    conn = insider.conn
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    after = "after audit entry 1 recorded the database's structure"
    assert _verify(insider).problems == [
        f"trigger audit_log_no_delete was dropped {after}",
        f"trigger audit_log_no_update was dropped {after}",
    ]


def test_a_truncated_tail_that_bound_rows_is_named(facts: Facts, insider: Vault) -> None:
    """The later session's close is cut off: its row no longer matches what the log says."""
    conn = insider.conn
    closed_by = _bound_by(conn, f"access_session:{facts.later_session}")
    opened_by = max(
        e.seq
        for e in audit.entries(conn)
        if f"access_session:{facts.later_session}" in e.binding.get("rows", {})
        and e.seq < closed_by
    )
    conn.execute("PRAGMA foreign_keys = OFF")  # practice_entry indexes the entries
    with _unguarded(conn, "audit_log_no_delete"):
        conn.execute("DELETE FROM audit_log WHERE seq >= ?", (closed_by,))
    assert _verify(insider).problems == [
        f"access_session row {facts.later_session} was changed after audit entry {opened_by} "
        "recorded it"
    ]


def test_a_truncated_tail_with_its_rows_is_caught_by_an_earlier_head(
    facts: Facts, insider: Vault
) -> None:
    """Cut back to before the report, the rows written since removed too: verify alone sees a
    whole (shorter) log; the printed head says what is missing."""
    conn = insider.conn
    entries = audit.entries(conn)
    cut = next(e.seq for e in entries if e.outcome == "denied") - 1
    assert [e.action for e in entries if cut < e.seq <= facts.printed[0]] == [
        "open_access_session",  # refused
        "log_gp_contact",
    ]  # the refusal and the GP call go, with their entries and all after them
    named = [
        key
        for e in audit.entries(conn)
        if e.seq > cut
        for key in e.binding.get("rows", {})
        if not any(key in f.binding.get("rows", {}) for f in audit.entries(conn) if f.seq <= cut)
    ]
    conn.execute("PRAGMA foreign_keys = OFF")
    for key in named:
        table, rowid = key.split(":")
        conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (int(rowid),))
    with _unguarded(conn, "audit_log_no_delete"):
        conn.execute("DELETE FROM audit_log WHERE seq > ?", (cut,))
    assert _verify(insider).ok
    assert _verify(insider, facts.printed).problems == [
        f"rolled back: a report printed audit entry {facts.printed[0]}, but this database ends "
        f"at entry {cut}"
    ]


def test_the_recovery_code_and_a_staff_password_see_the_same_verdict(
    facts: Facts, insider: Vault
) -> None:
    insider.conn.execute("UPDATE staff SET roles = 'nurse' WHERE id = ?", (facts.carer,))
    insider.close()
    as_nurse = Vault.open_as(facts.path, "staff1", PASSWORD)
    try:
        assert _verify(as_nurse).first_bad_row == f"staff:{facts.carer}"
    finally:
        as_nurse.close()


def test_an_entry_rewritten_before_a_report_is_named_by_the_tree_head_it_signed(
    home: Home,
) -> None:
    """A GP access report records the signed tree head it carried; verify rebuilds the tree as
    it reads the log and names one that no longer hashes to it, with no outside reference,
    however consistently the chain, bindings and leaves were redone."""
    resident = home.add_resident()
    home.log_in(home.add_nurse())
    access.close_access_session(home.ctx, home.open_session(resident).id)
    home.as_manager()
    reports.gp_access_report(home.ctx, ODS, "2026-11-01", "2026-11-30", lambda report: None)
    conn = home.ctx.conn
    (details,) = conn.execute(
        "SELECT details FROM audit_log WHERE action = 'print_reports' ORDER BY seq DESC"
    ).fetchone()
    signed = json.loads(details)["tree_head"]["size"]
    assert audit.verify(home.ctx.vault).ok
    with _unguarded(conn, "audit_log_no_update"):
        conn.execute("UPDATE audit_log SET workstation = 'elsewhere' WHERE seq = 3")
        _rehash_from(conn, 3)
    assert audit.verify(home.ctx.vault).problems == [
        f"the first {signed} audit entries no longer hash to the tree head a report or export "
        "signed: an entry among them was changed after it was sent"
    ]
