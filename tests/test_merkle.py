"""The audit log's Merkle tree (RFC 9162): the published test vectors, the RFC's own recursive
definitions as a reference, proofs that verify and tampering that does not, and the tree read
from a real audit log.

The vectors (tests/fixtures/rfc9162-vectors.json) are data from transparency-dev/merkle, the
Go library behind Certificate Transparency and Sigstore's logs, at the commit the file names:
its testdata/inclusion and testdata/consistency probes (valid and invalid proofs), and the
RFC 6962 reference tree of eight leaves with its node hashes and the root of every size from
0 to 8 (RFC 6962 and RFC 9162 hash trees the same way). No code was taken from it.
"""

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carehome_share.store import audit, merkle, practice_log
from carehome_share.store.merkle import MerkleError
from tests.factories import Home

VECTORS = json.loads(
    (Path(__file__).parent / "fixtures" / "rfc9162-vectors.json").read_text(encoding="utf-8")
)
REFERENCE = VECTORS["reference_tree"]
REFERENCE_LEAVES = [merkle.leaf_hash(bytes.fromhex(d)) for d in REFERENCE["leaf_inputs"]]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def leaves_of(n: int, salt: bytes = b"") -> list[bytes]:
    return [merkle.leaf_hash(salt + i.to_bytes(4, "big")) for i in range(n)]


CHUNK_LEVELS = [12, 2, 0]  # the product's chunks of 4,096 leaves; chunks of 4; leaf by leaf


@contextmanager
def chunks_of(level: int) -> Iterator[None]:
    """Leaves hashed in chunks of 2**level, so small trees take the chunked path too."""
    saved = merkle._CHUNK_LEVEL
    merkle._CHUNK_LEVEL = level
    try:
        yield
    finally:
        merkle._CHUNK_LEVEL = saved


# -- the RFC's definitions, written as it words them (recursive; fine for small trees) ----------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (2.1.1)."""
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return merkle.node_hash(rfc_mth(d[:k]), rfc_mth(d[k:]))


def rfc_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (2.1.3.1)."""
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*rfc_path(m, d[:k]), rfc_mth(d[k:])]
    return [*rfc_path(m - k, d[k:]), rfc_mth(d[:k])]


def rfc_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) (2.1.4.1)."""
    n = len(d)
    if m == n:
        return [] if b else [rfc_mth(d)]
    k = _k(n)
    if m <= k:
        return [*rfc_subproof(m, d[:k], b), rfc_mth(d[k:])]
    return [*rfc_subproof(m - k, d[k:], False), rfc_mth(d[:k])]


# -- the published vectors -----------------------------------------------------------------------


def test_the_hasher_matches_rfc_6962() -> None:
    hasher = VECTORS["hasher"]
    assert merkle.EMPTY_ROOT == h(hasher["empty_root"]) == merkle.root_hash([])
    assert merkle.leaf_hash(b"") == h(hasher["empty_leaf"])
    assert merkle.leaf_hash(b"L123456") == h(hasher["leaf_L123456"])
    assert merkle.node_hash(b"N123", b"N456") == h(hasher["node_N123_N456"])


def test_the_reference_tree_has_the_published_root_at_every_size() -> None:
    roots = [h(r) for r in REFERENCE["roots_by_size"]]
    assert [merkle.root_hash(REFERENCE_LEAVES[:n]) for n in range(9)] == roots
    for n in range(1, 9):
        assert merkle.prove(iter(REFERENCE_LEAVES), n).root == roots[n]  # reads no further


def test_the_reference_tree_has_the_published_node_hashes() -> None:
    for level, hashes in enumerate(REFERENCE["node_hashes_by_level"]):
        for index, expected in enumerate(hashes):
            width = 1 << level
            assert merkle.root_hash(REFERENCE_LEAVES[index * width : (index + 1) * width]) == h(
                expected
            )


@pytest.mark.parametrize("probe", VECTORS["inclusion"], ids=lambda p: p["file"])
def test_inclusion_vectors(probe: dict[str, Any]) -> None:
    verdict = merkle.verify_inclusion(
        h(probe["leaf_hash"]),
        probe["leaf_index"],
        probe["tree_size"],
        [h(p) for p in probe["proof"]],
        h(probe["root"]),
    )
    assert verdict is probe["valid"]


@pytest.mark.parametrize("probe", VECTORS["consistency"], ids=lambda p: p["file"])
def test_consistency_vectors(probe: dict[str, Any]) -> None:
    verdict = merkle.verify_consistency(
        probe["size1"],
        probe["size2"],
        h(probe["root1"]),
        h(probe["root2"]),
        [h(p) for p in probe["proof"]],
    )
    assert verdict is probe["valid"]


def test_the_vectors_hold_valid_and_invalid_proofs_of_both_kinds() -> None:
    for kind in ("inclusion", "consistency"):
        valid = [p["valid"] for p in VECTORS[kind]]
        assert valid.count(True) >= 6 and valid.count(False) >= 80, kind


def test_proofs_built_for_the_reference_tree_are_the_published_ones() -> None:
    """Each valid vector over the reference tree is the proof this module builds."""
    roots = [h(r) for r in REFERENCE["roots_by_size"]]
    matched = 0
    for probe in VECTORS["inclusion"]:
        size, index = probe["tree_size"], probe["leaf_index"]
        if probe["valid"] and size <= 8 and h(probe["root"]) == roots[size]:
            assert REFERENCE_LEAVES[index] == h(probe["leaf_hash"])
            built = merkle.inclusion_proof(REFERENCE_LEAVES, index, size)
            assert built == [h(p) for p in probe["proof"]]
            matched += 1
    for probe in VECTORS["consistency"]:
        first, second = probe["size1"], probe["size2"]
        if probe["valid"] and second <= 8 and h(probe["root2"]) == roots[second]:
            built = merkle.consistency_proof(REFERENCE_LEAVES, first, second)
            assert built == [h(p) for p in probe["proof"]]
            matched += 1
    assert matched >= 8


# -- against the RFC's definitions --------------------------------------------------------------


@cache
def _small(n: int) -> list[bytes]:
    return leaves_of(n, b"small")


@pytest.mark.parametrize("level", CHUNK_LEVELS)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33])
def test_every_proof_of_a_small_tree_is_the_rfcs(n: int, level: int) -> None:
    leaves = _small(n)
    with chunks_of(level):
        proofs = merkle.prove(leaves, n, inclusion=range(n), consistency_from=range(1, n + 1))
    assert proofs.root == rfc_mth(leaves)
    for m in range(n):
        assert proofs.inclusion(m) == rfc_path(m, leaves), m
        assert merkle.verify_inclusion(leaves[m], m, n, proofs.inclusion(m), proofs.root)
    for first in range(1, n + 1):
        assert proofs.roots[first] == rfc_mth(leaves[:first])
        assert proofs.consistency[first] == rfc_subproof(first, leaves, True), first
        assert merkle.verify_consistency(
            first, n, proofs.roots[first], proofs.root, proofs.consistency[first]
        )


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 100, 4097])
def test_the_shared_subtrees_are_exactly_those_on_the_paths(n: int) -> None:
    """A report stores each subtree hash once: the table holds every range on the path of each
    leaf asked for, and nothing more; each named as the perfect subtree it is, but for those
    cut short by the tree's right edge."""
    for wanted in ([], [0], [n - 1], list(range(0, n, 3)), list(range(n))):
        on_paths = {r for m in wanted for r in merkle.inclusion_ranges(m, n)}
        found = merkle.inclusion_subtrees(wanted, n)
        assert found.keys() == on_paths, wanted
        for (start, end), node in found.items():
            if node is None:
                assert end == n
            else:
                level, index = node
                assert (start, end) == (index << level, (index + 1) << level)
    with pytest.raises(merkle.MerkleError, match=f"leaf {n} is not in a tree of {n} leaves"):
        merkle.inclusion_subtrees([0, n], n)


@pytest.mark.parametrize("level", CHUNK_LEVELS)
def test_many_proofs_from_one_pass_are_the_single_proofs(level: int) -> None:
    n = 4096 * 2 + 1000
    leaves = leaves_of(n)
    wanted = [0, 1, 4095, 4096, 5000, 8191, 8192, n - 1]
    with chunks_of(level):
        proofs = merkle.prove(iter(leaves), n, inclusion=wanted, consistency_from=[1, 4096, 8000])
    for index in wanted:
        assert proofs.inclusion(index) == rfc_path(index, leaves)
        assert merkle.verify_inclusion(
            leaves[index], index, n, proofs.inclusion(index), proofs.root
        )
    for first in (1, 4096, 8000):
        assert proofs.consistency[first] == merkle.consistency_proof(leaves, first)
        assert proofs.roots[first] == merkle.root_hash(leaves[:first])


# -- properties: every proof verifies, and a changed leaf does not ------------------------------

sizes = st.integers(min_value=1, max_value=300)
levels = st.sampled_from(CHUNK_LEVELS)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=sizes, level=levels)
def test_every_inclusion_proof_verifies_and_a_changed_leaf_does_not(
    data: Any, n: int, level: int
) -> None:
    leaves = _small(n)
    index = data.draw(st.integers(0, n - 1), "index")
    changed = data.draw(st.integers(0, n - 1), "changed")
    tampered = list(leaves)
    tampered[changed] = merkle.leaf_hash(b"edited entry")
    with chunks_of(level):
        root = merkle.root_hash(leaves)
        proof = merkle.inclusion_proof(leaves, index)
        changed_proof = merkle.inclusion_proof(leaves, changed)
        rebuilt_root = merkle.root_hash(tampered)
        rebuilt_proof = merkle.inclusion_proof(tampered, index)
    assert merkle.verify_inclusion(leaves[index], index, n, proof, root)
    # The edited entry is not in the tree the root stands for...
    assert not merkle.verify_inclusion(tampered[changed], changed, n, changed_proof, root)
    # ...and the tree rebuilt around it has another root: no entry's new proof fits the old one.
    assert rebuilt_root != root
    assert not merkle.verify_inclusion(tampered[index], index, n, rebuilt_proof, root)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=sizes, level=levels)
def test_every_consistency_proof_verifies_and_a_rewritten_past_does_not(
    data: Any, n: int, level: int
) -> None:
    leaves = _small(n)
    first = data.draw(st.integers(1, n), "first")
    # An insider edits an entry before the earlier head and rebuilds the tree: no proof the
    # rebuilt log can give links it to the head a practice already holds.
    changed = data.draw(st.integers(0, first - 1), "changed")
    rewritten = list(leaves)
    rewritten[changed] = merkle.leaf_hash(b"edited entry")
    with chunks_of(level):
        first_root = merkle.root_hash(leaves[:first])
        proof = merkle.consistency_proof(leaves, first)
        root = merkle.root_hash(leaves)
        rebuilt_root = merkle.root_hash(rewritten)
        rebuilt_proof = merkle.consistency_proof(rewritten, first)
    assert merkle.verify_consistency(first, n, first_root, root, proof)
    assert not merkle.verify_consistency(first, n, first_root, rebuilt_root, rebuilt_proof)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(min_value=2, max_value=200))
def test_a_proof_with_any_hash_changed_or_cut_fails(data: Any, n: int) -> None:
    leaves = _small(n)
    index = data.draw(st.integers(0, n - 1), "index")
    root = merkle.root_hash(leaves)
    proof = merkle.inclusion_proof(leaves, index)
    spot = data.draw(st.integers(0, len(proof) - 1), "spot")
    flipped = [*proof[:spot], bytes([proof[spot][0] ^ 1]) + proof[spot][1:], *proof[spot + 1 :]]
    assert not merkle.verify_inclusion(leaves[index], index, n, flipped, root)
    assert not merkle.verify_inclusion(leaves[index], index, n, proof[:-1], root)
    assert not merkle.verify_inclusion(leaves[index], index, n, [*proof, root], root)

    first = data.draw(st.integers(1, n - 1), "first")
    step = merkle.consistency_proof(leaves, first)
    first_root = merkle.root_hash(leaves[:first])
    spot = data.draw(st.integers(0, len(step) - 1), "step spot")
    flipped = [*step[:spot], bytes([step[spot][0] ^ 1]) + step[spot][1:], *step[spot + 1 :]]
    assert not merkle.verify_consistency(first, n, first_root, root, flipped)
    assert not merkle.verify_consistency(first, n, first_root, root, step[:-1])
    assert not merkle.verify_consistency(first, n, root, first_root, step)  # roots swapped


def test_what_cannot_be_proven_is_refused() -> None:
    leaves = leaves_of(5)
    with pytest.raises(MerkleError):
        merkle.inclusion_proof(leaves, 5)
    with pytest.raises(MerkleError):
        merkle.consistency_proof(leaves, 0)
    with pytest.raises(MerkleError):
        merkle.consistency_proof(leaves, 6)
    with pytest.raises(MerkleError, match="only 5"):
        merkle.prove(leaves, 6)
    with pytest.raises(MerkleError, match="leaf 2 is not"):
        merkle.root_hash([*leaves[:2], b"short", *leaves[3:]])
    assert merkle.consistency_proof(leaves, 5) == []
    assert merkle.verify_consistency(5, 5, merkle.root_hash(leaves), merkle.root_hash(leaves), [])


# -- the audit log's tree ---------------------------------------------------------------------


def _seeded(home: Home) -> int:
    nurse = home.add_nurse()
    for _ in range(3):
        resident = home.add_resident()
        home.log_in(nurse)
        home.open_session(resident)
        home.as_manager()
    return merkle.log_size(home.ctx.conn)


def test_each_leaf_is_the_hash_of_the_audit_entrys_canonical_bytes(home: Home) -> None:
    """The leaves hash exactly what the chain hashes (audit.canonical_bytes of the stored
    entry), so the columns read here cannot drift from the audit log's."""
    size = _seeded(home)
    conn = home.ctx.conn
    rows = conn.execute(
        f"SELECT {practice_log.HASHED_COLUMNS} FROM audit_log ORDER BY seq"
    ).fetchall()
    expected = [hashlib.sha256(b"\x00" + audit.canonical_bytes(r)).digest() for r in rows]
    assert list(merkle.log_leaf_hashes(conn)) == expected
    assert len(expected) == size == audit.head(conn)[0] > 20
    assert list(merkle.log_leaf_hashes(conn, 7)) == expected[:7]


def test_the_log_proves_its_entries_and_its_growth(home: Home) -> None:
    conn = home.ctx.conn
    earlier = _seeded(home)
    earlier_root = merkle.prove_log(conn).root
    home.add_resident()
    proofs = merkle.prove_log(conn, entries=[1, earlier, earlier + 1], consistency_from=[earlier])
    leaves = list(merkle.log_leaf_hashes(conn))
    assert proofs.size == len(leaves) > earlier
    assert proofs.roots[earlier] == earlier_root
    for seq in (1, earlier, earlier + 1):
        assert merkle.verify_inclusion(
            leaves[seq - 1], seq - 1, proofs.size, proofs.for_entry(seq), proofs.root
        )
    assert merkle.verify_consistency(
        earlier, proofs.size, earlier_root, proofs.root, proofs.consistency[earlier]
    )


def test_a_log_with_an_entry_removed_forms_no_tree(home: Home) -> None:
    size = _seeded(home)
    conn = home.ctx.conn
    conn.execute("DROP TRIGGER audit_log_no_delete")  # as an insider with the key would
    conn.execute("DELETE FROM audit_log WHERE seq = 4")
    with pytest.raises(MerkleError, match="audit entry 4 is missing"):
        merkle.prove_log(conn)
    assert merkle.prove_log(conn, size=3).size == 3
    conn.execute("DELETE FROM audit_log WHERE seq = ?", (size,))
    with pytest.raises(MerkleError, match="only"):
        merkle.prove(merkle.log_leaf_hashes(conn, 3), 4)
