"""The audit log: an append-only hash chain, and the check that it is whole.

Each entry's hash is SHA-256(previous hash || canonical entry), so editing, deleting, inserting or
reordering any entry breaks every hash after it, and a printed chain head (sequence and hash)
shows whether a database file was later rolled back to an earlier copy.

Each entry also binds the record rows written in its transaction, and the schema is recorded in
the chain (`binding`): `verify` checks every record row and the schema against the log.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from carehome_share.store import binding, practice_log
from carehome_share.store.binding import RecordCheck
from carehome_share.store.practice_log import ENTRY_COLUMNS, HASHED_COLUMNS
from carehome_share.store.vault import (
    Connection,
    DatabaseError,
    Vault,
    VaultError,
    format_time,
    page_problems,
)

if TYPE_CHECKING:
    from carehome_share.store import merkle

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something, as they were at that moment."""

    username: str
    name: str
    role: str
    nmc_pin: str = ""


@dataclass(frozen=True)
class AuditEntry:
    """An entry as read back. `details` are what the action recorded; `binding` is what the
    store added to them (`binding.BINDING_KEYS`: the rows bound, a schema record). Both are
    part of the hashed details."""

    seq: int
    at: str
    actor_username: str
    actor_name: str
    actor_role: str
    actor_nmc_pin: str
    workstation: str
    action: str
    resident_id: int | None
    outcome: str
    reasons: list[str]
    details: dict[str, object]
    hash: str
    binding: dict[str, object] = field(default_factory=dict)


# Built once: the demo writes millions of entries. The canonical JSON of an entry is what
# json.dumps(..., ensure_ascii=False, separators=(",", ":")) writes; the helpers below build the
# same text directly for the parts that are only text and whole numbers.
_SORTED_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
_quote = json.encoder.encode_basestring  # the C string escaper behind ensure_ascii=False


def canonical_text(row: Sequence[object]) -> str:
    """The entry's first 12 columns as a canonical JSON array (only text, whole numbers and null
    occur), without the encoder's per-call set-up: verify runs this for every entry. reasons
    and details are stored as canonical JSON text already."""
    q = _quote
    resident = "null" if row[8] is None else row[8]
    return (
        f"[{row[0]},{q(row[1])},{q(row[2])},{q(row[3])},{q(row[4])},{q(row[5])},"
        f"{q(row[6])},{q(row[7])},{resident},{q(row[9])},{q(row[10])},{q(row[11])}]"
    )


def canonical_bytes(row: Sequence[object]) -> bytes:
    """The bytes hashed for an entry: its canonical text in UTF-8."""
    return canonical_text(row).encode()


def _text_list(texts: Iterable[str]) -> str:
    """A list of texts as canonical JSON."""
    return f"[{','.join(map(_quote, texts))}]"


def entry_hash(prev_hash: str, row: tuple[object, ...]) -> str:
    return _chain_hash(prev_hash, canonical_bytes(row))


def _chain_hash(prev_hash: str, data: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + data).hexdigest()


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 leaf hash (2.1.1) of an entry's canonical bytes: its leaf in the Merkle
    tree over the log (store/merkle.py), stored with the entry as it is written."""
    return hashlib.sha256(b"\x00" + data).digest()


def head(conn: Connection) -> tuple[int, str]:
    """The last entry's sequence number and hash: (0, GENESIS) for an empty log."""
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def entry_row(
    seq: int,
    at: str,
    actor: Actor,
    workstation: str,
    action: str,
    outcome: str,
    resident_id: int | None,
    reasons: Iterable[str],
    details: Mapping[str, object] | None,
) -> tuple[object, ...]:
    """An entry as stored and hashed: the one layout every writer of the log uses."""
    return (
        seq,
        at,
        actor.username,
        actor.name,
        actor.role,
        actor.nmc_pin,
        workstation,
        action,
        resident_id,
        outcome,
        _text_list(reasons),
        _SORTED_JSON.encode(details) if details else "{}",
    )


def insert_chained(
    conn: Connection, rows: Iterable[tuple[object, ...]], prev_hash: str
) -> tuple[int, str]:
    """Chain entry rows onto `prev_hash` and insert them; return the new head."""
    chained = []
    seq = 0
    for row in rows:
        data = canonical_bytes(row)
        digest = _chain_hash(prev_hash, data)
        chained.append((*row, prev_hash, digest, leaf_hash(data)))
        seq, prev_hash = int(row[0]), digest  # type: ignore[call-overload]
    conn.executemany(
        f"INSERT INTO audit_log ({HASHED_COLUMNS}, prev_hash, hash, leaf) VALUES ({', '.join('?' * 15)})",
        chained,
    )
    return seq, prev_hash


def append(
    conn: Connection,
    *,
    at: datetime,
    actor: Actor,
    workstation: str,
    action: str,
    outcome: str,
    resident_id: int | None = None,
    reasons: Iterable[str] = (),
    details: dict[str, object] | None = None,
) -> int:
    """Add one entry inside the caller's transaction; return its sequence number. The entry
    binds the record rows written on this connection since the last one (`binding.take`), and
    an entry about a GP practice carries that practice's next running number (`practice_log`)."""
    last_seq, last_hash = head(conn)
    bound = binding.entry_rows(conn, first=last_seq == 0)
    numbered, number = practice_log.numbered(conn, resident_id, details)
    row = entry_row(
        last_seq + 1,
        format_time(at),
        actor,
        workstation,
        action,
        outcome,
        resident_id,
        reasons,
        binding.merged(numbered, bound) if bound else numbered,
    )
    seq = insert_chained(conn, [row], last_hash)[0]
    if number is not None:
        practice_log.index(conn, [(*number, seq)])
    return seq


def entries(
    conn: Connection, resident_id: int | None = None, last: int | None = None
) -> list[AuditEntry]:
    """Entries oldest first: all of them, one resident's, or the last few."""
    where, params = ("WHERE resident_id = ?", (resident_id,)) if resident_id else ("", ())
    if last is not None:
        where = f"WHERE seq > (SELECT coalesce(max(seq), 0) FROM audit_log) - {int(last)}"
    rows = conn.execute(
        f"SELECT {ENTRY_COLUMNS} FROM audit_log a {where} ORDER BY seq", params
    ).fetchall()
    return [_entry(r) for r in rows]


def entry(conn: Connection, seq: int) -> AuditEntry | None:
    row = conn.execute(f"SELECT {ENTRY_COLUMNS} FROM audit_log a WHERE seq = ?", (seq,)).fetchone()
    return _entry(row) if row else None


def latest_by(conn: Connection, username: str, workstation: str, actions: Iterable[str]) -> int:
    """The sequence number of this person's latest allowed entry at this workstation for one
    of `actions`, or 0. Read from the end: it is usually among the last few."""
    wanted = tuple(actions)
    row = conn.execute(
        "SELECT seq FROM audit_log WHERE actor_username = ? AND workstation = ? AND outcome = "
        f"'allowed' AND action IN ({', '.join('?' * len(wanted))}) ORDER BY at DESC, seq DESC "
        "LIMIT 1",
        (username, workstation, *wanted),
    ).fetchone()
    return int(row[0]) if row else 0


def _entry(row: Sequence[Any]) -> AuditEntry:
    """An entry read as the chain holds it (ENTRY_COLUMNS)."""
    details = json.loads(row[11])
    bound = {key: details.pop(key) for key in binding.BINDING_KEYS if key in details}
    return AuditEntry(*row[:10], json.loads(row[10]), details, row[13], bound)


def restores_since(conn: Connection, since: datetime) -> list[AuditEntry]:
    """The "restore" entries written on or after `since`: each is a file put back from a backup."""
    return [_entry(r) for r in practice_log.restores_since(conn, since)]


@dataclass
class VerifyResult:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None
    rows: int = 0  # record rows checked against the log
    first_bad_row: str | None = None  # "table:rowid" of the first that disagrees

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(vault: Vault, expected_head: tuple[int, str] | None = None) -> VerifyResult:
    """Check the file's pages, the database structure, every link of the audit chain, every
    record row against the entry that last wrote it, and the schema against the one the chain
    last recorded.

    With `expected_head` (from a printed report) also detect a file rolled back behind it, or
    a log rewritten before it.
    """
    result = VerifyResult()
    # The file checks read every page; the chain check reads every entry and the record check
    # every record row. SQLite lets go of the GIL while it works, so on a second connection the
    # file checks run beside the others on a second core.
    try:
        second = vault.another()
    except VaultError as exc:
        result.problems.append(f"the database file is damaged: {exc.__cause__ or exc}")
        return result
    with closing(second), ThreadPoolExecutor(max_workers=1) as pool:
        file_checked = pool.submit(check_file, second.conn, result)
        chain = VerifyResult()
        try:
            with _one_moment(vault) as conn:  # the log and the records as of one moment
                from carehome_share.store import merkle  # built on this module

                records, tree = RecordCheck(), merkle.TreeCheck.of(conn)
                check_chain(conn, chain, records, tree)
                check_records(conn, chain, records)
                chain.problems.extend(tree.problems)
                if expected_head is not None:
                    _check_head(conn, chain, expected_head)
        except DatabaseError as exc:
            chain.problems.append(f"the database file is damaged: {exc}")
        if not file_checked.result():
            return result
    result.problems.extend(chain.problems)
    result.entries, result.first_bad_seq = chain.entries, chain.first_bad_seq
    result.head_seq, result.head_hash = chain.head_seq, chain.head_hash
    result.rows, result.first_bad_row = chain.rows, chain.first_bad_row
    return result


@contextmanager
def _one_moment(vault: Vault) -> Iterator[Connection]:
    """One read transaction (the caller's own, if it is inside one)."""
    if vault.conn.in_transaction:
        yield vault.conn
    else:
        with vault.snapshot() as conn:
            yield conn


def _check_head(conn: Connection, result: VerifyResult, expected_head: tuple[int, str]) -> None:
    seq, digest = expected_head
    found = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
    if found is None:
        result.problems.append(
            f"rolled back: a report printed audit entry {seq}, but this database ends at "
            f"entry {result.head_seq}"
        )
    elif found[0] != digest.lower():
        result.problems.append(
            f"audit entry {seq} differs from the printed chain head: the log was rewritten"
        )


def check_records(conn: Connection, result: VerifyResult, records: RecordCheck) -> None:
    """After `check_chain` fed `records` every entry: the schema against the latest one
    recorded, then every record row against the latest entry naming it."""
    result.problems.extend(records.check_schema(conn))
    records.check_rows(conn)
    result.problems.extend(records.row_problems())
    result.rows, result.first_bad_row = records.rows, records.first_row


def check_file(conn: Connection, result: VerifyResult) -> bool:
    """SQLCipher's page check and SQLite's structure check; False if the file cannot be read."""
    try:
        pages = [problem for (problem,) in conn.execute("PRAGMA cipher_integrity_check")]
        result.problems.extend(f"encryption check: {p}" for p in page_problems(pages))
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except DatabaseError as exc:
        result.problems.append(f"the database file is damaged: {exc}")
        return False
    if integrity != ["ok"]:
        result.problems.extend(f"structure check: {p}" for p in integrity)
    return True


def check_chain(
    conn: Connection,
    result: VerifyResult,
    records: RecordCheck | None = None,
    tree: "merkle.TreeCheck | None" = None,
) -> None:
    """Every entry present, linked to the one before, and hashing to its stored hash; the first
    break is reported, and the rest only counted. `records` is given every entry, to check the
    record rows against afterwards (`check_records`); `tree` the leaf of each entry up to the
    first break, to rebuild the log's Merkle tree."""
    prev_hash, expected_seq = GENESIS, 1
    last = (0, GENESIS)
    cursor = conn.execute(
        f"SELECT {HASHED_COLUMNS}, prev_hash, hash, leaf FROM audit_log ORDER BY seq"
    )
    while rows := cursor.fetchmany(50_000):  # big batches: the per-row work is the cost
        result.entries += len(rows)
        last = (rows[-1][0], rows[-1][13])
        if records is not None:
            records.note(rows)
        if result.first_bad_seq is not None:
            continue
        for row in rows:
            seq = row[0]
            try:
                data = canonical_bytes(row)
                chained = row[12] == prev_hash and _chain_hash(prev_hash, data) == row[13]
                # the tree's leaf kept with it (NULL before schema 9) must be this entry's
                leaf = leaf_hash(data)
                leaf_ok = row[14] in (None, leaf)
            except TypeError:  # a number or BLOB where the app writes text
                chained = leaf_ok = False
            if seq != expected_seq or not (chained and leaf_ok):
                _report_break(result, row, expected_seq, prev_hash, leaf_only=chained)
                break
            if tree is not None:
                tree.add(leaf)
            prev_hash, expected_seq = row[13], seq + 1
    result.head_seq, result.head_hash = last


def _report_break(
    result: VerifyResult,
    row: tuple[object, ...],
    expected_seq: int,
    prev_hash: str,
    *,
    leaf_only: bool,
) -> None:
    seq = row[0]
    result.first_bad_seq = expected_seq
    if seq != expected_seq:
        problem = f"audit entry {expected_seq} is missing (next found is {seq})"
    elif row[12] != prev_hash:
        problem = f"audit entry {expected_seq} does not follow entry {expected_seq - 1}"
    elif leaf_only:
        problem = f"the Merkle tree leaf kept with audit entry {expected_seq} is not its hash"
    else:
        problem = f"audit entry {expected_seq} has been altered"
    result.problems.append(problem)
