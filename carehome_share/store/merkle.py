"""The audit log as a Merkle tree, hashed as Certificate Transparency does (RFC 9162, section 2.1).

Leaf i of the tree is audit entry i + 1: its hash is SHA-256(0x00 || the entry's canonical bytes,
`audit.canonical_bytes`), an inner node's is SHA-256(0x01 || left || right), and the tree of n
leaves splits at the largest power of two below n (MTH, 2.1.1). A tree head (size and root) then
stands for the whole log up to that size, and two kinds of proof, each a short list of hashes,
let someone holding only tree heads check that

- an entry is in the log at its place (inclusion proof, 2.1.3), and
- a log of the later size is the earlier one with entries added at the end: nothing before was
  changed, removed or reordered (consistency proof, 2.1.4).

Everything here but `log_leaf_hashes`, `log_size`, `prove_log`, `cached_chunks` and
`remember_chunks` is pure: lists of 32-byte leaf hashes in, hashes and proofs out, and the two
verifiers need nothing but what a document carries.

Building proofs reads the leaves once, in order, keeping only the tree's right edge (one hash per
level, and the chunk of 4,096 leaves being hashed) and the nodes the proofs need: each proof is
first worked out as ranges of leaves, each range as the perfect subtrees it is made of, and those
are collected as the pass completes them. So one pass over a log of millions of entries yields
the root, an inclusion proof for every entry a report lists and a consistency proof from each
earlier tree head, in memory of the order of the proofs' size. Each entry's leaf hash is stored
with it as it is written (schema 9), so a pass reads 32 bytes an entry; entries written before
are read and hashed, which costs what `verify`'s chain check costs. The tree adds under a
microsecond an entry.

The log is append-only, so a whole chunk, once complete, never changes: `remember_chunks` keeps
the roots a pass hashed (table merkle_chunk), and `prove_log` then reads again only the chunks
a proof goes inside and the entries after the last whole chunk.
"""

import bisect
import hashlib
import itertools
import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from hmac import compare_digest

from carehome_share.store.audit import canonical_bytes, leaf_hash
from carehome_share.store.practice_log import HASHED_COLUMNS, SENT_ACTIONS
from carehome_share.store.vault import Connection

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}), the root of the empty tree
_BATCH = 50_000  # audit rows read at a time, as audit.check_chain does
_CHUNK_LEVEL = 12  # leaves are hashed into trees of 4,096 at a time (see _walk)

Range = tuple[int, int]  # leaves [start, end)
Node = tuple[int, int]  # (level, index): the perfect subtree of leaves [index << level, +2**level)


class MerkleError(ValueError):
    """A proof asked for a tree or leaf that does not exist, or the log has a gap."""


# -- hashing (2.1.1) -----------------------------------------------------------------------------


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def entry_leaf_hash(row: Sequence[object]) -> bytes:
    """The leaf hash of an audit entry row (its first 12 columns, as the log stores them)."""
    return leaf_hash(canonical_bytes(row))


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2): where MTH splits n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of consecutive perfect subtrees, each at most half the size of the one before (the
    shape every range a proof needs has): combined from the right."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


# -- which ranges of leaves a proof is made of ---------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1 as the leaf ranges whose MTH it lists, leaf upwards."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf {index} is not in a tree of {size} leaves")
    start, end, path = 0, size, []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    path.reverse()
    return path


def inclusion_subtrees(indices: Iterable[int], size: int) -> dict[Range, Node | None]:
    """Every range on the inclusion path of any leaf in `indices`, each once (the union of
    `inclusion_ranges`), with the perfect subtree it is, or None for one along the tree's right
    edge (made of several). Found a level at a time from the leaves up: the path of a leaf
    holds, at each level, the sibling of its ancestor there. A left sibling is always whole; a
    right one may reach past the last leaf (then it is cut there) or begin after it (then the
    ancestor has no sibling at that level and is itself a child higher up)."""
    ancestors = set(indices)
    if ancestors and not (min(ancestors) >= 0 and max(ancestors) < size):
        bad = min(ancestors) if min(ancestors) < 0 else max(ancestors)
        raise MerkleError(f"leaf {bad} is not in a tree of {size} leaves")
    ranges: dict[Range, Node | None] = {}
    level = 0
    while 1 << level < size:
        width = 1 << level
        for a in ancestors:
            if a & 1:
                ranges[(a - 1) << level, a << level] = (level, a - 1)
            elif (start := (a + 1) << level) < size:
                if start + width <= size:
                    ranges[start, start + width] = (level, a + 1)
                else:
                    ranges[start, size] = None
        ancestors = {a >> 1 for a in ancestors}
        level += 1
    return ranges


def consistency_ranges(first: int, second: int) -> list[Range]:
    """PROOF(m, D[n]) of RFC 9162 2.1.4.1 as leaf ranges: empty when the sizes are equal."""
    if not 0 < first <= second:
        raise MerkleError(f"no consistency proof from a tree of {first} to one of {second}")
    start, end, known, path = 0, second, True, []
    # SUBPROOF(m, D[start:end], known), where m = first - start, down to m == end - start
    while first != end:
        k = _split(end - start)
        if first <= start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
            known = False
    if not known:
        path.append((start, end))
    path.reverse()
    return path


def _perfect_parts(start: int, end: int) -> list[Node]:
    """The perfect subtrees MTH(D[start:end]) is built from, largest (leftmost) first. Every
    range of a proof, and every prefix of the log, splits this way into nodes of the tree."""
    parts = []
    while True:
        n = end - start
        size = n if n & (n - 1) == 0 else _split(n)
        level = size.bit_length() - 1
        if start % size:  # not a node of the tree; no proof asks for one
            raise MerkleError(f"leaves {start} to {end} do not form a subtree")
        parts.append((level, start >> level))
        if size == n:
            return parts
        start += size


# -- one pass, many proofs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Proofs:
    """A tree head and the proofs asked for. Leaf i is audit entry i + 1."""

    size: int
    root: bytes
    # MTH of every range on the inclusion path of a leaf asked for: the proofs share them
    subtrees: dict[Range, bytes] = field(default_factory=dict)
    consistency: dict[int, list[bytes]] = field(default_factory=dict)  # by earlier size
    roots: dict[int, bytes] = field(default_factory=dict)  # each earlier size's root
    # the root of each whole chunk of 2**_CHUNK_LEVEL leaves this pass hashed and was not
    # given: what `remember_chunks` keeps, so the next pass need not read those leaves again
    chunks: dict[int, bytes] = field(default_factory=dict, compare=False)

    def inclusion(self, index: int) -> list[bytes]:
        """The inclusion proof of leaf `index`: one of those asked for."""
        return [self.subtrees[r] for r in inclusion_ranges(index, self.size)]

    def for_entry(self, seq: int) -> list[bytes]:
        """The inclusion proof of audit entry `seq`."""
        return self.inclusion(seq - 1)


@dataclass(frozen=True)
class _Plan:
    """What a set of proofs is made of: each proof as leaf ranges, each range as nodes."""

    size: int
    subtrees: Collection[Range]
    steps: dict[int, list[Range]]
    earlier: list[int]
    parts: dict[Range, list[Node]]
    wanted: frozenset[Node]

    @classmethod
    def of(cls, size: int, inclusion: Iterable[int], consistency_from: Iterable[int]) -> "_Plan":
        if size < 0:
            raise MerkleError(f"a tree cannot have {size} leaves")
        earlier = sorted(set(consistency_from))
        subtrees = inclusion_subtrees(inclusion, size)
        steps = {m: consistency_ranges(m, size) for m in earlier}
        parts = {r: [node] if node else _perfect_parts(*r) for r, node in subtrees.items()}
        for r in itertools.chain(*steps.values(), ((0, m) for m in earlier)):
            parts[r] = _perfect_parts(*r)
        wanted = frozenset(node for nodes in parts.values() for node in nodes)
        return cls(size, subtrees, steps, earlier, parts, wanted)

    def chunks_to_read(self) -> set[int]:
        """The whole chunks holding a wanted node below a chunk's root (a leaf whose inclusion
        is asked, or the edge of a range inside the chunk): their leaves must be read."""
        level = _CHUNK_LEVEL
        whole = self.size >> level
        below = {index >> (level - lv) for lv, index in self.wanted if lv < level}
        return {chunk for chunk in below if chunk < whole}

    def proofs(self, found: "_Walked") -> Proofs:
        def mth(r: Range) -> bytes:
            nodes = self.parts[r]
            if len(nodes) == 1:  # a perfect subtree: nearly every range asked for
                return found.nodes[nodes[0]]
            return _fold([found.nodes[node] for node in nodes])

        return Proofs(
            size=self.size,
            root=found.root,
            subtrees={r: mth(r) for r in self.subtrees},
            consistency={m: [mth(r) for r in path] for m, path in self.steps.items()},
            roots={m: mth((0, m)) for m in self.earlier},
            chunks=found.chunks,
        )


def prove(
    leaves: Iterable[bytes],
    size: int,
    inclusion: Iterable[int] = (),
    consistency_from: Iterable[int] = (),
) -> Proofs:
    """The root of the tree of the first `size` leaves, an inclusion proof for each leaf index
    in `inclusion` and a consistency proof from each earlier size in `consistency_from`, all
    from one pass over `leaves` (an iterator is read no further than `size`)."""
    plan = _Plan.of(size, inclusion, consistency_from)
    return plan.proofs(_walk(_pieces(leaves, size), size, plan.wanted))


# a whole chunk as (its root if already known, its leaves if read), then the leaves after the
# last whole chunk as (None, leaves)
Piece = tuple[bytes | None, list[bytes] | None]


def _pieces(leaves: Iterable[bytes], size: int) -> Iterator[Piece]:
    """The first `size` leaves cut into whole chunks and the rest, none known beforehand."""
    leaves = iter(leaves)
    width, count = 1 << _CHUNK_LEVEL, 0
    for _ in range(size >> _CHUNK_LEVEL):
        layer = _checked(list(itertools.islice(leaves, width)), count)
        if len(layer) < width:
            raise MerkleError(_too_few(size, count + len(layer)))
        yield None, layer
        count += width
    rest = _checked(list(itertools.islice(leaves, size - count)), count)
    if len(rest) < size - count:
        raise MerkleError(_too_few(size, count + len(rest)))
    yield None, rest


@dataclass
class _Walked:
    root: bytes
    nodes: dict[Node, bytes]
    chunks: dict[int, bytes]  # the whole chunks hashed here whose root was not given


def _walk(pieces: Iterator[Piece], size: int, wanted: Collection[Node]) -> _Walked:
    """Take the `size` leaves in order, a whole chunk at a time and then the rest, completing
    each perfect subtree as its last leaf arrives, and keep the `wanted` nodes. The right edge
    is a stack of one hash per level.

    A whole chunk of 2**_CHUNK_LEVEL leaves is hashed a level at a time (a list comprehension
    per level, the wanted nodes picked out by range), unless only its root is given; the
    chunk's root then joins the edge. A given root is the one the tree above uses even when the
    chunk's leaves were read too (for a proof inside it): if they no longer hash to it, the
    proofs through them do not verify. The leaves after the last whole chunk join one by one."""
    by_level: list[set[int]] = [set() for _ in range(max(size, 1).bit_length() + 1)]
    for level, index in wanted:
        by_level[level].add(index)
    in_order = [sorted(indices) for indices in by_level]
    nodes: dict[Node, bytes] = {}
    chunks: dict[int, bytes] = {}
    edge: list[bytes] = []
    sha256 = hashlib.sha256
    chunk_level = _CHUNK_LEVEL
    for chunk in range(size >> chunk_level):
        given, layer = next(pieces)
        if layer is not None:
            for level in range(chunk_level + 1):
                if level:
                    layer = [
                        sha256(b"\x01" + a + b).digest()
                        for a, b in zip(layer[::2], layer[1::2], strict=True)
                    ]
                if level < chunk_level and (want := in_order[level]):
                    first = chunk << (chunk_level - level)
                    lo = bisect.bisect_left(want, first)
                    hi = bisect.bisect_left(want, first + len(layer))
                    nodes.update(((level, i), layer[i - first]) for i in want[lo:hi])
            if given is None:
                given = chunks[chunk] = layer[0]
        if given is None:
            raise MerkleError(f"chunk {chunk} was neither read nor known")
        if chunk in by_level[chunk_level]:
            nodes[chunk_level, chunk] = given
        _join(edge, given, chunk, chunk_level, by_level, nodes)
    count = (size >> chunk_level) << chunk_level
    _, rest = next(pieces)
    for leaf in rest or ():
        if count in by_level[0]:
            nodes[0, count] = leaf
        _join(edge, leaf, count, 0, by_level, nodes)
        count += 1
    if count < size:
        raise MerkleError(_too_few(size, count))
    return _Walked(_fold(edge) if edge else EMPTY_ROOT, nodes, chunks)


def _join(
    edge: list[bytes],
    node: bytes,
    index: int,
    level: int,
    by_level: list[set[int]],
    nodes: dict[Node, bytes],
) -> None:
    """Add a completed node to the right edge: while it is a right child, it and its left
    sibling on the edge complete their parent, which is kept if wanted."""
    while index & 1:
        node = hashlib.sha256(b"\x01" + edge.pop() + node).digest()
        index >>= 1
        level += 1
        if index in by_level[level]:
            nodes[level, index] = node
    edge.append(node)


def _checked(leaves: list[bytes], first: int) -> list[bytes]:
    for n, leaf in enumerate(leaves):
        if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
            raise MerkleError(f"leaf {first + n} is not a SHA-256 hash")
    return leaves


def _too_few(size: int, count: int) -> str:
    return f"a tree of {size} leaves was asked for, but there are only {count}"


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH of all the leaves."""
    return prove(leaves, len(leaves)).root


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """The inclusion proof of leaf `index` in the tree of the first `size` leaves (all)."""
    return prove(leaves, len(leaves) if size is None else size, inclusion=[index]).inclusion(index)


def consistency_proof(
    leaves: Sequence[bytes], first: int, second: int | None = None
) -> list[bytes]:
    """The consistency proof from the tree of the first `first` leaves to the first `second`."""
    size = len(leaves) if second is None else second
    return prove(leaves, size, consistency_from=[first]).consistency[first]


# -- verifying: what a reader holding only the document runs (2.1.3.2, 2.1.4.2) ----------------


def _hashes(*values: bytes) -> bool:
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when `proof` shows the leaf with hash `leaf` at `index` in the tree of `size`
    leaves whose root is `root` (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size or not _hashes(leaf, root, *proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and compare_digest(r, root)


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True when `proof` shows the tree of `second` leaves with root `second_root` extends the
    tree of `first` leaves with root `first_root` (RFC 9162 2.1.4.2). A proof from the empty
    tree proves nothing and is refused; equal sizes need equal roots and an empty proof."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and compare_digest(first_root, second_root)
    if not proof or not _hashes(first_root, second_root, *proof):
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # the old root is a node of the new tree: the proof omits it
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and compare_digest(fr, first_root) and compare_digest(sr, second_root)


# -- the audit log's tree ---------------------------------------------------------------------


class TreeCheck:
    """The log's tree rebuilt leaf by leaf as `verify` reads the log, and held against what was
    kept or signed before: each kept chunk root (merkle_chunk), and the root at each tree head
    a report or export signed and the log recorded. Proofs use the kept roots in place of the
    entries beneath them, so an entry changed under one (its chain, bindings and leaf redone
    with the key) would pass every other check while the tree signed next still describes it
    as it was: this names it. The right edge is a stack of one hash per level, as in `_walk`."""

    def __init__(self, heads: dict[int, bytes], kept: dict[int, bytes]) -> None:
        self.heads, self.kept = heads, kept
        self.edge: list[bytes] = []
        self.count = 0
        self.problems: list[str] = []

    @classmethod
    def of(cls, conn: Connection) -> "TreeCheck":
        """Against the heads the log records (sizes it reaches) and the chunk roots kept."""
        size, heads = log_size(conn), {}
        rows = conn.execute(f"SELECT details FROM audit_log WHERE action IN {SENT_ACTIONS}")
        for (details,) in rows:
            head = json.loads(details).get("tree_head")
            try:
                if 0 < head["size"] <= size:  # a head past a restore's log is not in it
                    heads[head["size"]] = bytes.fromhex(head["root"])
            except (KeyError, TypeError, ValueError):
                continue  # not a head the app wrote: the chain check names a changed entry
        return cls(heads, cached_chunks(conn, size))

    def add(self, leaf: bytes) -> None:
        node, index, level = leaf, self.count, 0
        while index & 1:
            node = node_hash(self.edge.pop(), node)
            index, level = index >> 1, level + 1
            if level == _CHUNK_LEVEL and self.kept.get(index, node) != node:
                first = index << _CHUNK_LEVEL
                self._problem(
                    f"the kept Merkle subtree of audit entries {first + 1} to "
                    f"{first + (1 << _CHUNK_LEVEL)} is not theirs: an entry there was changed "
                    "after it was hashed"
                )
        self.edge.append(node)
        self.count += 1
        if self.count in self.heads and _fold(self.edge) != self.heads[self.count]:
            self._problem(
                f"the first {self.count} audit entries no longer hash to the tree head a report "
                "or export signed: an entry among them was changed after it was sent"
            )

    def _problem(self, text: str) -> None:
        if not self.problems:  # the first: the rest follow from it
            self.problems.append(text)


def log_leaf_hashes(conn: Connection, size: int | None = None) -> Iterator[bytes]:
    """The leaf hash of each audit entry, oldest first, up to entry `size` (all without it),
    read in batches. A missing entry stops the tree: leaf i must be entry i + 1."""
    return _log_leaves(conn, 1, size)


def _log_leaves(conn: Connection, first: int, last: int | None) -> Iterator[bytes]:
    """The leaf hashes of audit entries `first` to `last` (to the end without it): as stored
    with each entry, or (entries written before schema 9) hashed from the entry."""
    limit = "" if last is None else f"AND seq <= {int(last)}"
    cursor = conn.execute(
        f"SELECT seq, leaf FROM audit_log WHERE seq >= ? {limit} ORDER BY seq", (first,)
    )
    expected = first
    while rows := cursor.fetchmany(_BATCH):
        # seq is the table's integer key: the first and last in order mean none between is gone
        if rows[0][0] != expected or rows[-1][0] != expected + len(rows) - 1:
            missing = next(expected + n for n, row in enumerate(rows) if row[0] != expected + n)
            raise MerkleError(f"audit entry {missing} is missing: the log cannot form a tree")
        expected += len(rows)
        unstored = [seq for seq, leaf in rows if leaf is None]
        hashed = _hashed_leaves(conn, unstored[0], unstored[-1]) if unstored else {}
        yield from [hashed[seq] if leaf is None else leaf for seq, leaf in rows]


def _hashed_leaves(conn: Connection, first: int, last: int) -> dict[int, bytes]:
    """The leaf hash of each entry `first` to `last` that has none stored, from its bytes."""
    rows = conn.execute(
        f"SELECT {HASHED_COLUMNS} FROM audit_log WHERE seq BETWEEN ? AND ? AND leaf IS NULL",
        (first, last),
    )
    return {row[0]: entry_leaf_hash(row) for row in rows}


def log_size(conn: Connection) -> int:
    """The number of entries the tree over the whole log has: the last sequence number."""
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM audit_log").fetchone()[0])


def prove_log(
    conn: Connection,
    size: int | None = None,
    entries: Iterable[int] = (),
    consistency_from: Iterable[int] = (),
) -> Proofs:
    """The tree over the audit log's first `size` entries (all of them without it), with an
    inclusion proof for each audit entry (sequence number) in `entries` and a consistency proof
    from each earlier tree size. Run it inside a snapshot, so the log cannot grow part-way.

    The roots of whole chunks kept by `remember_chunks` stand for their entries: only the
    chunks not kept, those holding an entry whose inclusion is asked or an earlier size's edge,
    and the entries after the last whole chunk are read. The proofs are those `prove` makes
    from every entry, as long as no kept chunk's entries were changed since; if one was, the
    inclusion proof of each of its entries asked for no longer verifies (its leaves are hashed
    from the log, the path above them from the kept root), and `audit.verify`, which reads the
    whole log and none of this, finds the change. Nothing is written here: the new chunk
    roots are returned in `Proofs.chunks`, for the caller to keep with `remember_chunks` in a
    write transaction once the snapshot is over."""
    size = log_size(conn) if size is None else size
    plan = _Plan.of(size, [seq - 1 for seq in entries], consistency_from)
    known = cached_chunks(conn, size)
    read = plan.chunks_to_read() | (set(range(size >> _CHUNK_LEVEL)) - known.keys())
    return plan.proofs(_walk(_log_pieces(conn, size, read, known), size, plan.wanted))


def _log_pieces(
    conn: Connection, size: int, read: Collection[int], known: dict[int, bytes]
) -> Iterator[Piece]:
    """The log's whole chunks, each read (one query for each run of chunks to read) or only
    its kept root, then the entries after the last whole chunk."""
    width, whole = 1 << _CHUNK_LEVEL, size >> _CHUNK_LEVEL
    leaves: Iterator[bytes] = iter(())
    run_end = -1  # the last chunk of the run being read (whole: the rest)
    for chunk in range(whole + 1):
        if chunk < whole and chunk not in read:
            yield known[chunk], None
            continue
        if chunk > run_end:
            run_end = chunk
            while run_end < whole and (run_end + 1 in read or run_end + 1 == whole):
                run_end += 1
            leaves = _log_leaves(conn, chunk * width + 1, min((run_end + 1) * width, size))
        want = width if chunk < whole else size - whole * width
        layer = list(itertools.islice(leaves, want))
        if len(layer) < want:
            raise MerkleError(_too_few(size, chunk * width + len(layer)))
        yield known.get(chunk), layer


def cached_chunks(conn: Connection, size: int | None = None) -> dict[int, bytes]:
    """The kept roots of whole chunks (of the tree of `size` leaves; all without it)."""
    limit = "" if size is None else f"AND idx < {int(size) >> _CHUNK_LEVEL}"
    rows = conn.execute(
        f"SELECT idx, hash FROM merkle_chunk WHERE level = ? {limit}", (_CHUNK_LEVEL,)
    ).fetchall()
    return {
        int(idx): bytes(root)
        for idx, root in rows
        if isinstance(root, bytes) and len(root) == HASH_SIZE
    }


def remember_chunks(conn: Connection, proofs: Proofs) -> int:
    """Keep the new chunk roots of `proofs` (from `prove_log`) for the next proofs: run it in a
    write transaction (`Vault.transaction`), not in the read snapshot the proofs were built
    in. A chunk's entries never change (the log is append-only), so a kept root is never
    replaced. Returns how many were new."""
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO merkle_chunk (level, idx, hash) VALUES (?, ?, ?)",
        [(_CHUNK_LEVEL, idx, root) for idx, root in sorted(proofs.chunks.items())],
    )
    return conn.total_changes - before
