"""The kept roots of whole chunks of the audit log's tree (store/merkle.py, table merkle_chunk):
proofs built from them are byte for byte those built from every entry, only the chunks a proof
goes inside are read again, nothing is written while proving, and an entry changed after its
chunk's root was kept gets an inclusion proof that does not verify.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carehome_share.services.context import NOBODY
from carehome_share.store import audit, merkle, practice_log
from carehome_share.store.vault import Connection, Vault
from tests.test_merkle import chunks_of

CHUNK = 4096
ENTRIES = 2 * CHUNK + 300  # two whole chunks of the product's size and a part of a third


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    """A vault whose audit log has ENTRIES entries (those beyond its own written directly:
    the tree hashes what the entries say, not the chain), as an old log has them: with no leaf
    hash stored (NULL, written before schema 9)."""
    path: Path = tmp_path_factory.mktemp("cache") / "cache.db"
    opened, _code = Vault.create(path, purpose="demo")
    first = merkle.log_size(opened.conn) + 1
    rows = [
        (seq, f"2026-01-01T00:00:{seq % 60:02d}+00:00", "nurse", "A Nurse", "nurse", "12A3456B",
         "office", "view_section", seq % 7 or None, "allowed", "[]", f'{{"n": {seq}}}', "", "", None)
        for seq in range(first, ENTRIES + 1)
    ]  # fmt: skip
    with opened.transaction() as conn:
        conn.executemany(f"INSERT INTO audit_log VALUES ({', '.join('?' * 15)})", rows)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def all_leaves(vault: Vault) -> list[bytes]:
    """Every entry's leaf hash, from its bytes."""
    sql = f"SELECT {practice_log.HASHED_COLUMNS} FROM audit_log ORDER BY seq"
    return [merkle.entry_leaf_hash(row) for row in vault.conn.execute(sql)]


def _forget(conn: Connection) -> None:
    conn.execute("DELETE FROM merkle_chunk")


def _keep(conn: Connection, roots: dict[int, bytes]) -> None:
    conn.executemany(
        "INSERT INTO merkle_chunk (level, idx, hash) VALUES (?, ?, ?)",
        [(merkle._CHUNK_LEVEL, i, h) for i, h in roots.items()],
    )


def _same(cached: merkle.Proofs, pure: merkle.Proofs) -> None:
    assert cached.size == pure.size
    assert cached.root == pure.root
    assert cached.subtrees == pure.subtrees
    assert cached.consistency == pure.consistency
    assert cached.roots == pure.roots


@contextmanager
def counting_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many audit entries the log's tree reads and hashes."""
    read = [0]
    real = merkle.canonical_bytes

    def counted(row: Any) -> bytes:
        read[0] += 1
        return real(row)

    monkeypatch.setattr(merkle, "canonical_bytes", counted)
    yield read
    monkeypatch.setattr(merkle, "canonical_bytes", real)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), level=st.sampled_from([1, 2, 3]))
def test_proofs_from_kept_chunks_are_the_proofs_from_every_entry(
    vault: Vault, all_leaves: list[bytes], data: Any, level: int
) -> None:
    conn = vault.conn
    size = data.draw(st.integers(0, 90), "size")
    leaves = all_leaves[:size]
    entries = data.draw(st.sets(st.integers(1, size)) if size else st.just(set()), "entries")
    earlier = data.draw(st.sets(st.integers(1, size)) if size else st.just(set()), "earlier")
    with chunks_of(level):
        pure = merkle.prove(leaves, size, [s - 1 for s in entries], earlier)
        whole = size >> level
        assert sorted(pure.chunks) == list(range(whole))
        kept = data.draw(st.sets(st.integers(0, max(whole - 1, 0))), "kept") if whole else set()
        beyond = data.draw(st.booleans(), "a kept root beyond the tree asked for")
        _forget(conn)
        _keep(conn, {i: pure.chunks[i] for i in kept})
        if beyond:  # kept from a longer tree: not part of this one
            _keep(conn, {whole + 1: b"\xff" * 32})
        with vault.snapshot() as snap:
            before = snap.total_changes
            cached = merkle.prove_log(snap, size, entries, earlier)
            assert snap.total_changes == before  # proving writes nothing
    _same(cached, pure)
    assert cached.chunks == {i: h for i, h in pure.chunks.items() if i not in kept}
    for seq in entries:
        assert merkle.verify_inclusion(
            leaves[seq - 1], seq - 1, size, cached.for_entry(seq), cached.root
        )


def test_a_second_report_reads_only_the_chunks_its_proofs_go_inside(
    vault: Vault, all_leaves: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = vault.conn
    _forget(conn)
    entries = [5, CHUNK + 7, ENTRIES]
    pure = merkle.prove(all_leaves, ENTRIES, [s - 1 for s in entries], [CHUNK, 3000])
    with counting_reads(monkeypatch) as read, vault.snapshot() as snap:
        cold = merkle.prove_log(snap, entries=entries, consistency_from=[CHUNK, 3000])
    assert read[0] == ENTRIES  # nothing kept yet: every entry
    _same(cold, pure)
    assert set(cold.chunks) == {0, 1}
    with vault.transaction() as tx:
        assert merkle.remember_chunks(tx, cold) == 2
    with vault.transaction() as tx:
        assert merkle.remember_chunks(tx, cold) == 0  # kept once

    with counting_reads(monkeypatch) as read, vault.snapshot() as snap:
        warm = merkle.prove_log(snap, entries=[ENTRIES - 1], consistency_from=[CHUNK])
    assert read[0] == ENTRIES - 2 * CHUNK  # only the entries after the last whole chunk
    assert warm.chunks == {}
    _same(warm, merkle.prove(all_leaves, ENTRIES, [ENTRIES - 2], [CHUNK]))

    with counting_reads(monkeypatch) as read, vault.snapshot() as snap:
        warm = merkle.prove_log(snap, consistency_from=[3000])
    assert read[0] == ENTRIES - CHUNK  # chunk 0, where the earlier tree ends, and the rest
    _same(warm, merkle.prove(all_leaves, ENTRIES, [], [3000]))

    with counting_reads(monkeypatch) as read, vault.snapshot() as snap:
        warm = merkle.prove_log(snap, entries=[CHUNK + 1], consistency_from=[CHUNK])
    assert read[0] == ENTRIES - CHUNK  # chunk 1, where the entry is, and the rest
    _same(warm, merkle.prove(all_leaves, ENTRIES, [CHUNK], [CHUNK]))


def test_an_entry_changed_after_its_chunk_was_kept_has_a_proof_that_fails(
    tmp_path: Path, all_leaves: list[bytes]
) -> None:
    vault, _code = Vault.create(tmp_path / "tampered.db", purpose="demo")
    try:
        conn = vault.conn
        first = merkle.log_size(conn) + 1
        n = CHUNK + 500
        with vault.transaction() as tx:
            tx.executemany(
                f"INSERT INTO audit_log VALUES ({', '.join('?' * 15)})",
                [
                    (s, "2026-01-01T00:00:00+00:00", "nurse", "A Nurse", "nurse", "12A3456B",
                     "office", "view_section", 1, "allowed", "[]", f'{{"n": {s}}}', "", "", None)
                    for s in range(first, n + 1)
                ],
            )  # fmt: skip
        with vault.snapshot() as snap:
            before = merkle.prove_log(snap)
        with vault.transaction() as tx:
            merkle.remember_chunks(tx, before)
        changed, neighbour, elsewhere = 100, 101, CHUNK + 50  # 100 and 101 in chunk 0
        conn.execute("DROP TRIGGER audit_log_no_update")  # as an insider with the key would
        conn.execute('UPDATE audit_log SET details = \'{"n": "edited"}\' WHERE seq = ?', (changed,))
        leaves = list(merkle.log_leaf_hashes(conn))
        with vault.snapshot() as snap:
            after = merkle.prove_log(snap, entries=[changed, neighbour, elsewhere])
        # the tree above the chunk is the kept one: the root has not moved ...
        assert after.root == before.root
        # ... so the changed entry's proof, hashed from the log, no longer reaches it
        assert not merkle.verify_inclusion(
            leaves[changed - 1], changed - 1, n, after.for_entry(changed), after.root
        )
        # nor does its neighbour's (its path goes through the changed leaf)
        assert not merkle.verify_inclusion(
            leaves[neighbour - 1], neighbour - 1, n, after.for_entry(neighbour), after.root
        )
        # an entry in another chunk still proves
        assert merkle.verify_inclusion(
            leaves[elsewhere - 1], elsewhere - 1, n, after.for_entry(elsewhere), after.root
        )
        # built from every entry instead, the changed log would prove itself under a new root
        rebuilt = merkle.prove(leaves, n, [changed - 1])
        assert rebuilt.root != before.root
        assert merkle.verify_inclusion(
            leaves[changed - 1], changed - 1, n, rebuilt.inclusion(changed - 1), rebuilt.root
        )
        # an entry gone from a part that is read still stops the tree
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE seq = ?", (n - 10,))
        with pytest.raises(merkle.MerkleError, match=f"audit entry {n - 10} is missing"):
            merkle.prove_log(conn)
    finally:
        vault.close()


def test_a_kept_root_that_is_not_a_hash_is_read_again(
    vault: Vault, all_leaves: list[bytes]
) -> None:
    conn = vault.conn
    _forget(conn)
    pure = merkle.prove(all_leaves, ENTRIES)
    conn.execute(
        "INSERT INTO merkle_chunk (level, idx, hash) VALUES (?, 0, ?)",
        (merkle._CHUNK_LEVEL, b"short"),
    )
    with vault.snapshot() as snap:
        proofs = merkle.prove_log(snap)
    assert proofs.root == pure.root
    assert set(proofs.chunks) == {0, 1}
    _forget(conn)


def test_only_the_kept_roots_of_the_tree_asked_for_are_read(vault: Vault) -> None:
    conn = vault.conn
    _forget(conn)
    digest = hashlib.sha256(b"").digest()
    assert merkle.cached_chunks(conn) == {}
    with vault.transaction() as tx:
        tx.execute(
            "INSERT INTO merkle_chunk (level, idx, hash) VALUES (?, 0, ?)",
            (merkle._CHUNK_LEVEL, digest),
        )
    assert merkle.cached_chunks(conn) == {0: digest}
    assert merkle.cached_chunks(conn, CHUNK - 1) == {}
    _forget(conn)


def test_entries_the_app_writes_carry_their_leaf_and_the_tree_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh, _code = Vault.create(tmp_path / "fresh.db", purpose="demo")
    try:
        with fresh.transaction() as conn:
            for n in range(40):
                audit.append(conn, at=datetime.now(UTC), actor=NOBODY, workstation="w",
                             action=f"a{n}", outcome="allowed")  # fmt: skip
        sql = f"SELECT {practice_log.HASHED_COLUMNS}, leaf FROM audit_log ORDER BY seq"
        rows = fresh.conn.execute(sql).fetchall()
        assert len(rows) == 40 and all(row[12] == merkle.entry_leaf_hash(row) for row in rows)
        with counting_reads(monkeypatch) as read, fresh.snapshot() as snap:
            proofs = merkle.prove_log(snap, entries=[3, len(rows)])
        assert read[0] == 0  # no entry hashed again
        _same(proofs, merkle.prove([row[12] for row in rows], len(rows), [2, len(rows) - 1]))
    finally:
        fresh.close()


def test_the_tree_rebuilt_by_verify_names_a_stale_kept_root_and_a_head_it_no_longer_has(
    all_leaves: list[bytes],
) -> None:
    size = 2 * CHUNK + 10
    good = merkle.prove(all_leaves, size, consistency_from=[100, size])
    intact = merkle.TreeCheck({100: good.roots[100]}, dict(good.chunks))
    for leaf in all_leaves[:size]:
        intact.add(leaf)
    assert intact.problems == []

    stale = merkle.TreeCheck({}, {0: good.chunks[0], 1: b"\x00" * 32})
    for leaf in all_leaves[:size]:
        stale.add(leaf)
    assert stale.problems == [
        f"the kept Merkle subtree of audit entries {CHUNK + 1} to {2 * CHUNK} is not theirs: "
        "an entry there was changed after it was hashed"
    ]

    rewritten = merkle.TreeCheck({100: good.roots[100]}, {})
    for leaf in [*all_leaves[:50], merkle.leaf_hash(b"edited"), *all_leaves[51:size]]:
        rewritten.add(leaf)
    assert rewritten.problems == [
        "the first 100 audit entries no longer hash to the tree head a report or export signed: "
        "an entry among them was changed after it was sent"
    ]
