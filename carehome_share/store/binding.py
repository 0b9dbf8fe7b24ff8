"""Every record row bound to the audit chain, and the database's structure with it.

An audit entry's details name the record rows its transaction wrote: `"rows"` maps
`"<table>:<rowid>"` to the SHA-256 of the row's canonical content (all its columns in table
order as canonical JSON, BLOBs as hex), or to null for a row it deleted. The details are hashed
into the chain, so a row changed, deleted or added later, without an entry saying so, disagrees
with the log, and `verify` names it (`RecordCheck`).

How the rows are found: each connection gets TEMP triggers on every record table that note
(table, rowid) in a TEMP table whenever a row is inserted, updated or deleted (`track`, from
`vault._configure`); `audit.append` takes the notes and adds the rows' digests to the entry it
writes in the same transaction (`take`). TEMP objects belong to the connection: they are not
in the file, and a rolled-back change takes its notes with it. The demo's batched writer,
which writes millions of rows, pauses the triggers (`untracked`) and binds the rows it writes
itself (`row_digest`).

The structure: the first entry of a log, and an entry `schema_migrated` at the end of each
migration, record the schema version and a fingerprint of `sqlite_master` (every table, index
and trigger, with its SQL); `verify` compares the schema to the latest one recorded and names
what differs. The migration that first meets a log without bindings (a file made before them)
binds every row as it then is, in `rows_bound` entries.

Which tables: all of `RECORD_TABLES`, which is every table of the schema except the log itself
(the chain), `practice_entry` (schema 4: an index of each GP practice's running numbers, which
the hashed entries about that practice carry themselves) and `merkle_chunk` (schema 4: a cache of
the Merkle tree's completed subtrees; a stale one fails the proofs built on it). Rows are named by rowid: the id for
every table with an integer id; `settings` and `session_section` have no integer key, and keep
their rowids because the app never runs VACUUM and its backups copy pages. The two tables whose
rows the app deletes, `practice` and `key_slot`, never give an id again (schema 10), so a
deleted row's key names only it. Deleting rows by REPLACE fires delete triggers
(`recursive_triggers` is on), so a replaced key slot's old row is noted too.
"""

import hashlib
import json
import re
import socket
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlcipher3 import dbapi2 as sqlcipher

Connection = Any  # a SQLCipher connection (vault.Connection), or sqlite3's for a plain copy

RECORD_TABLES = (
    "home",
    "settings",
    "staff",
    "practice",
    "agreement",
    "resident",
    "stay",
    "consent_decision",
    "access_session",
    "session_section",
    "access_refusal",
    "gp_contact",
    "key_slot",
    "vault_identity",
    "disclosure_request",
    "disclosure_resident",
    "disclosure_decision",
)
_RECORD_SET = frozenset(RECORD_TABLES)
# What the binding adds to an entry's details (`audit.AuditEntry.binding` when read back)
BINDING_KEYS = ("rows", "schema", "schema_sha256", "schema_version")
SCHEMA_ACTION = "schema_migrated"
ROWS_BOUND_ACTION = "rows_bound"
UPGRADE_ACTOR_NAME = "carehome-share (database upgrade)"
_ROWS_PER_ENTRY = 5_000  # a rows_bound entry's share of a large file: about 450 KB of details
_NOTED = "binding_noted"


# -- canonical content ----------------------------------------------------------------------


def _hex(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError(f"{type(value).__name__} is not a database value")


_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_hex)
# The C encoder behind it, made once: verify encodes every record row (the same text).
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_ENCODE = (
    _c_make_encoder(None, _hex, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    if _c_make_encoder
    else None
)


def canonical_row(values: Sequence[object]) -> bytes:
    """A row's columns in table order as canonical JSON: text, whole numbers, reals, null, and
    BLOBs as lower-case hex."""
    text = "".join(_ENCODE(values, 0)) if _ENCODE else _ROW_ENCODER.encode(list(values))
    return text.encode("utf-8", "surrogatepass")


def row_digest(values: Sequence[object]) -> str:
    """SHA-256 (hex) of a row's canonical content: what an entry binds the row to."""
    return hashlib.sha256(canonical_row(values)).hexdigest()


def row_key(table: str, rowid: int) -> str:
    return f"{table}:{rowid}"


# -- noticing writes ------------------------------------------------------------------------


def _trigger_sql(table: str) -> list[str]:
    note = f"INSERT OR IGNORE INTO {_NOTED} VALUES ('{table}', "
    on = f'ON main."{table}" BEGIN'
    return [
        f"CREATE TEMP TRIGGER IF NOT EXISTS binding_{table}_insert AFTER INSERT {on} "
        f"{note}NEW.rowid); END",
        f"CREATE TEMP TRIGGER IF NOT EXISTS binding_{table}_update AFTER UPDATE {on} "
        f"{note}OLD.rowid), ('{table}', NEW.rowid); END",
        f"CREATE TEMP TRIGGER IF NOT EXISTS binding_{table}_delete AFTER DELETE {on} "
        f"{note}OLD.rowid); END",
    ]


def _tables(conn: Connection) -> list[str]:
    """The record tables the file has."""
    present = {
        name for (name,) in conn.execute("SELECT name FROM main.sqlite_master WHERE type='table'")
    }
    return [t for t in RECORD_TABLES if t in present]


def _tracked(conn: Connection) -> set[str]:
    """The record tables whose three triggers this connection has."""
    rows = conn.execute(
        "SELECT tbl_name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE 'binding\\_%' "
        "ESCAPE '\\'"
    ).fetchall()
    counts: dict[str, int] = {}
    for (table,) in rows:
        counts[table] = counts.get(table, 0) + 1
    return {table for table, count in counts.items() if count == 3}


def track(conn: Connection) -> None:
    """Note every write to a record table on this connection (once per connection, and again
    after a migration adds tables)."""
    conn.execute("PRAGMA recursive_triggers = ON")  # a REPLACE's deleted row is noted too
    conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_NOTED} (tbl TEXT NOT NULL, rid INTEGER NOT NULL, "
        "PRIMARY KEY (tbl, rid)) WITHOUT ROWID"
    )
    for table in _tables(conn):
        for sql in _trigger_sql(table):
            conn.execute(sql)


@contextmanager
def untracked(conn: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Write to `tables` without noting each row (a batched writer that binds its rows itself);
    inside the caller's transaction, so an error restores the triggers with everything else."""
    for table in tables:
        for kind in ("insert", "update", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS temp.binding_{table}_{kind}")
    try:
        yield
    finally:
        for table in tables:
            for sql in _trigger_sql(table):
                conn.execute(sql)


def _digest_of(conn: Connection, table: str, rowid: int) -> str | None:
    row = conn.execute(f'SELECT * FROM main."{table}" WHERE rowid = ?', (rowid,)).fetchone()
    return None if row is None else row_digest(row)


def take(conn: Connection) -> dict[str, str | None]:
    """The rows written on this connection since the last entry, with their digests (null:
    deleted); the notes are cleared, in the caller's transaction."""
    try:
        noted = conn.execute(f"SELECT tbl, rid FROM temp.{_NOTED}").fetchall()
    except (sqlcipher.OperationalError, _sqlite3_error()):
        return {}  # a connection that does not track (verify will say so)
    if not noted:
        return {}
    conn.execute(f"DELETE FROM temp.{_NOTED}")
    return {
        row_key(table, rowid): _digest_of(conn, table, rowid)
        for table, rowid in noted
        if table in _RECORD_SET
    }


def _sqlite3_error() -> type[Exception]:
    import sqlite3  # a plain copy (benchmarks) runs on the standard module

    return sqlite3.OperationalError


def all_rows(conn: Connection, tables: Sequence[str] | None = None) -> Iterator[tuple[str, str]]:
    """(key, digest) of every row of the record tables, table by table in rowid order."""
    for table in _tables(conn) if tables is None else tables:
        cursor = conn.execute(f'SELECT rowid, * FROM main."{table}" ORDER BY rowid')
        while batch := cursor.fetchmany(10_000):
            for row in batch:
                yield row_key(table, row[0]), row_digest(row[1:])


def entry_rows(conn: Connection, first: bool) -> dict[str, object]:
    """What an entry adds to its details: the rows its transaction wrote, and for the first
    entry of a log the schema and every row there is (a new file's migration writes no entry
    of its own: its record, and its rows, go with the first)."""
    rows: dict[str, str | None] = take(conn)
    extra: dict[str, object] = {}
    if first:
        rows.update(all_rows(conn))
        extra.update(schema_record(conn))
    if rows:
        extra["rows"] = rows
    return extra


def merged(details: Mapping[str, object] | None, extra: Mapping[str, object]) -> dict[str, Any]:
    """The caller's details with the binding added (rows the caller named already stay)."""
    result: dict[str, Any] = dict(details or {})
    for key, value in extra.items():
        if key == "rows" and isinstance(result.get("rows"), Mapping):
            result["rows"] = {**value, **result["rows"]}  # type: ignore[dict-item]
        else:
            result[key] = value
    return result


# -- the structure --------------------------------------------------------------------------


def _schema_rows(conn: Connection) -> list[tuple[str, str, str, str | None]]:
    """Every table, index and trigger of the file (SQLite's planner statistics aside)."""
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM main.sqlite_master "
        "WHERE name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\'"
    ).fetchall()
    return sorted((str(t), str(n), str(tb), s) for t, n, tb, s in rows)


def schema_record(conn: Connection) -> dict[str, object]:
    """The schema version, the SHA-256 of the whole schema, and one digest per object (so a
    difference can be named)."""
    rows = _schema_rows(conn)
    return {
        "schema_version": int(conn.execute("PRAGMA main.user_version").fetchone()[0]),
        "schema_sha256": hashlib.sha256(canonical_row(rows)).hexdigest(),
        "schema": {f"{r[0]} {r[1]}": row_digest(r) for r in rows},
    }


def _latest_schema_record(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT details FROM audit_log WHERE instr(details, '\"schema_sha256\":') > 0 "
        "ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return json.loads(row[0]) if row else None


def after_migration(conn: Connection, found: int) -> None:
    """The end of `vault._migrate`, inside its transaction, after every step: note writes to
    every table from now on, and record the new schema in the chain with the rows the migration
    changed. A file whose log has no schema record yet (made before bindings) has every row
    bound as it is now; a table new or altered by the migration has all its rows bound again."""
    untracked_before = set(_tables(conn)) - _tracked(conn)
    track(conn)
    if found == 0 or conn.execute("SELECT 1 FROM audit_log LIMIT 1").fetchone() is None:
        return  # nothing written yet: the first entry records the schema and binds every row
    previous = _latest_schema_record(conn)
    record = schema_record(conn)
    changed_rows = take(conn)
    if previous is None:
        whole = _tables(conn)
        why = "rows written before records were bound to the audit trail, as they are now"
    else:
        before = previous.get("schema", {})
        now: dict[str, str] = record["schema"]  # type: ignore[assignment]
        whole = [
            t
            for t in _tables(conn)
            if t in untracked_before or before.get(f"table {t}") != now.get(f"table {t}")
        ]
        why = f"rows of tables new or changed in schema {record['schema_version']}"
    _write_upgrade_entries(conn, whole, why, record, changed_rows)


def _write_upgrade_entries(
    conn: Connection,
    whole: Sequence[str],
    why: str,
    record: dict[str, object],
    changed_rows: dict[str, str | None],
) -> None:
    from carehome_share.store import audit  # audit imports vault, which imports this module

    actor = audit.Actor("-", UPGRADE_ACTOR_NAME, "-")
    at, workstation = datetime.now(UTC), socket.gethostname()
    total = sum(conn.execute(f'SELECT count(*) FROM main."{t}"').fetchone()[0] for t in whole)
    parts = -(-total // _ROWS_PER_ENTRY)

    def bind(part: int, rows: dict[str, str | None]) -> None:
        details: dict[str, object] = {"rows": rows, "why": why}
        if parts > 1:
            details.update(part=part, parts=parts)
        audit.append(
            conn,
            at=at,
            actor=actor,
            workstation=workstation,
            action=ROWS_BOUND_ACTION,
            outcome="allowed",
            details=details,
        )

    rows: dict[str, str | None] = {}
    part = 0
    for key, digest in all_rows(conn, whole):  # written part by part: a group's file is large
        rows[key] = digest
        if len(rows) == _ROWS_PER_ENTRY:
            part += 1
            bind(part, rows)
            rows = {}
    if rows:
        bind(part + 1, rows)
    details = dict(record)
    if changed_rows:
        details["rows"] = changed_rows
    audit.append(
        conn,
        at=at,
        actor=actor,
        workstation=workstation,
        action=SCHEMA_ACTION,
        outcome="allowed",
        details=details,
    )


# -- the check ------------------------------------------------------------------------------

# One binding in an entry's details: "table:rowid":"<sha256 hex>" or "table:rowid":null. The
# rows object holds nothing else, and a quote inside any JSON text is escaped, so these cannot
# be mistaken for text typed by a user.
_MENTION = re.compile(r'"([a-z_]+):(-?\d+)":(?:"([0-9a-f]{64})"|null)')
_UNNAMED, _BOUND, _DELETED, _SEEN = 0, 1, 2, 3
_WIDTH = 16  # the first 128 bits of each SHA-256 are kept: no one can make a row to match them


class _Expected:
    """What the log says about one table's rows, by rowid: the latest digest (its first
    `_WIDTH` bytes), whether it was deleted, and the entry that said so. Dense arrays for the
    rowids a table really uses; a far-off rowid goes in `extra` (an insider's rowid 2**62
    costs a dictionary entry, not memory for every number below it)."""

    __slots__ = ("digests", "extra", "seqs", "size", "state")

    def __init__(self) -> None:
        self.size = 0
        self.digests = bytearray()
        self.state = bytearray()
        self.seqs = array("q")
        self.extra: dict[int, tuple[str, int]] = {}  # rowid -> (hex digest or "", seq)

    def grow(self, rowid: int) -> bool:
        """Make room for `rowid` if it lies near the rows so far; False if it is far off."""
        if rowid < 0 or rowid > 2 * self.size + 65_536:
            return False
        added = max(rowid + 1, self.size + self.size // 4) - self.size  # at most 1/4 spare
        self.digests.extend(bytes(_WIDTH * added))
        self.state.extend(bytes(added))
        self.seqs.frombytes(bytes(8 * added))
        self.size += added
        for far in [r for r in self.extra if r < self.size]:
            digest, seq = self.extra.pop(far)
            self.put(far, digest, seq)
        return True

    def put(self, rowid: int, digest: str, seq: int) -> None:
        self.seqs[rowid] = seq
        if digest:
            self.state[rowid] = _BOUND
            self.digests[rowid * _WIDTH : (rowid + 1) * _WIDTH] = bytes.fromhex(digest[:32])
        else:
            self.state[rowid] = _DELETED


class RecordCheck:
    """The record cross-check of `verify`: fed every audit entry by `audit.check_chain`
    (`note`), then reads every record table (`check_rows`) and the schema (`check_schema`).
    Run both on one connection inside one read transaction, so the log and the tables are of
    one moment."""

    def __init__(self) -> None:
        self.expected = {table: _Expected() for table in RECORD_TABLES}
        self.schema_entry: tuple[int, str] | None = None
        self.entries = 0
        self.rows = 0  # record rows checked
        self.first: str | None = None  # the first row that disagrees, in words
        self.first_row: str | None = None  # ... as table:rowid
        self.disagreeing: dict[str, int] = {}  # table -> rows that disagree

    def note(self, rows: Sequence[Sequence[Any]]) -> None:
        """A batch of audit rows as `check_chain` reads them (seq first, action 8th, details
        12th)."""
        expected = self.expected
        mentions = _MENTION.findall
        fromhex = bytes.fromhex
        self.entries += len(rows)
        for row in rows:
            details = row[11]
            if type(details) is not str or type(row[0]) is not int:
                continue  # not an entry the app could write: the chain check names it
            if (row[0] == 1 or row[7] == SCHEMA_ACTION) and '"schema_sha256":' in details:
                self.schema_entry = (row[0], details)
            start = details.find('"rows":{')
            if start < 0:
                continue
            seq = row[0]
            for table, rowid, digest in mentions(details, start, details.find("}", start)):
                known = expected.get(table)
                if known is None:
                    continue  # not a record table: nothing in the file to compare
                r = int(rowid)
                if r >= known.size and not known.grow(r):
                    known.extra[r] = (digest, seq)
                    continue
                if known.extra:
                    known.extra.pop(r, None)
                known.seqs[r] = seq  # put(), inline: this runs for every binding in the log
                if digest:
                    known.state[r] = _BOUND
                    known.digests[r * _WIDTH : (r + 1) * _WIDTH] = fromhex(digest[:32])
                else:
                    known.state[r] = _DELETED

    # -- rows

    def _disagree(self, table: str, rowid: int, words: str) -> None:
        self.disagreeing[table] = self.disagreeing.get(table, 0) + 1
        if self.first is None:
            self.first = f"{table} row {rowid} {words}"
            self.first_row = row_key(table, rowid)

    def check_rows(self, conn: Connection) -> None:
        """Every row of every record table against the latest entry naming it; every row an
        entry binds still there; no row that no entry names."""
        for table in _tables(conn):
            if table == "vault_identity" and not self.entries:
                continue  # a file nobody has written to yet holds only its identity
            self._check_table(conn, table, self.expected[table])

    def _check_table(self, conn: Connection, table: str, known: _Expected) -> None:
        size, state, digests = known.size, known.state, known.digests
        sha256, encode, width = hashlib.sha256, _ENCODE, _WIDTH
        bound_run, seen_run = bytes([_BOUND]) * 20_000, bytes([_SEEN]) * 20_000
        found_far: set[int] = set()
        cursor = conn.execute(f'SELECT rowid, * FROM main."{table}" ORDER BY rowid')
        while batch := cursor.fetchmany(20_000):
            self.rows += len(batch)
            if encode:
                computed = [
                    sha256("".join(encode(row[1:], 0)).encode("utf-8", "surrogatepass")).digest()
                    for row in batch
                ]
            else:
                computed = [sha256(canonical_row(row[1:])).digest() for row in batch]
            # The usual batch: consecutive rowids, every one bound, every digest as bound.
            first, last, n = batch[0][0], batch[-1][0], len(batch)
            if (
                last - first == n - 1
                and first >= 0
                and last < size
                and state[first : last + 1] == bound_run[:n]
                and digests[first * width : (last + 1) * width]
                == b"".join(d[:width] for d in computed)
            ):
                state[first : last + 1] = seen_run[:n]
                continue
            for row, digest in zip(batch, computed, strict=True):
                self._check_row(table, known, row[0], digest[:width], found_far)
        missing = state.find(_BOUND)
        while missing >= 0:
            self._disagree(table, missing, _deleted(known.seqs[missing]))
            missing = state.find(_BOUND, missing + 1)
        for r, (hex_digest, seq) in sorted(known.extra.items()):
            if hex_digest and r not in found_far:
                self._disagree(table, r, _deleted(seq))

    def _check_row(
        self, table: str, known: _Expected, r: int, digest: bytes, found_far: set[int]
    ) -> None:
        if 0 <= r < known.size:
            s = known.state[r]
            seq = known.seqs[r]
            if s == _BOUND:
                known.state[r] = _SEEN
                if known.digests[r * _WIDTH : (r + 1) * _WIDTH] != digest:
                    self._disagree(table, r, _changed(seq))
            elif s == _UNNAMED:
                self._disagree(table, r, _NOT_IN_TRAIL)
            else:
                self._disagree(table, r, _revived(seq))
            return
        found_far.add(r)
        hex_digest, seq = known.extra.get(r, ("", 0))
        if not seq:
            self._disagree(table, r, _NOT_IN_TRAIL)
        elif not hex_digest:
            self._disagree(table, r, _revived(seq))
        elif bytes.fromhex(hex_digest[:32]) != digest:
            self._disagree(table, r, _changed(seq))

    def row_problems(self) -> list[str]:
        if self.first is None:
            return []
        count = sum(self.disagreeing.values())
        if count == 1:
            return [self.first]
        tables = ", ".join(f"{t} {n}" for t, n in self.disagreeing.items())
        return [f"{self.first} ({count} rows disagree with the audit trail: {tables})"]

    # -- the schema

    def check_schema(self, conn: Connection) -> list[str]:
        """The schema now against the latest one the chain recorded: what was dropped, added or
        changed since, by name."""
        if self.schema_entry is None:
            if not self.entries:
                return []
            return [
                "the audit trail holds no record of the database's structure (schema), so "
                "changes to its tables and safeguards cannot be checked"
            ]
        seq, details = self.schema_entry
        now = schema_record(conn)
        try:
            recorded = json.loads(details)
            if not isinstance(recorded, dict) or not isinstance(recorded.get("schema"), dict):
                raise ValueError("no schema")
        except ValueError:
            return [f"audit entry {seq}'s record of the database's structure cannot be read"]
        if now["schema_sha256"] == recorded.get("schema_sha256") and now[
            "schema_version"
        ] == recorded.get("schema_version"):
            return []
        after = f"after audit entry {seq} recorded the database's structure"
        before: dict[str, str] = recorded.get("schema", {})
        current: dict[str, str] = now["schema"]  # type: ignore[assignment]
        problems = [f"{name} was dropped {after}" for name in sorted(before.keys() - current)]
        problems += [f"{name} was added {after}" for name in sorted(current.keys() - before)]
        problems += [
            f"{name} was changed {after}"
            for name in sorted(current.keys() & before.keys())
            if current[name] != before[name]
        ]
        if now["schema_version"] != recorded.get("schema_version"):
            problems.append(
                f"the database says schema version {now['schema_version']}, but audit entry "
                f"{seq} recorded version {recorded.get('schema_version')}"
            )
        return problems or [f"the database's structure differs from the one recorded by {after}"]


_NOT_IN_TRAIL = "is not in the audit trail: no audit entry records it"


def _changed(seq: int) -> str:
    return f"was changed after audit entry {seq} recorded it"


def _deleted(seq: int) -> str:
    return f"was deleted after audit entry {seq} recorded it"


def _revived(seq: int) -> str:
    return f"exists, but audit entry {seq} recorded its deletion"
