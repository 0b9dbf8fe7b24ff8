"""The evidence a GP access report carries (format: domain/evidence.py): every audit entry about
the practice in the period with its inclusion proof, the signed tree head of the whole log, and
the consistency proof from the head on the previous report or FHIR export sent to the same
practice. A FHIR export for one practice carries the same evidence (services/fhir_export.py).

Read inside the document's snapshot, so the head, the entries and the proofs are of one log.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization

from carehome_share.domain.evidence import EVIDENCE_FORMAT
from carehome_share.domain.model import Practice
from carehome_share.store import audit, merkle, practice_log, signing
from carehome_share.store.signing import SignedTreeHead, SigningKey
from carehome_share.store.vault import Connection

REPORT_DOCUMENT = "gp_access_report"
EXPORT_DOCUMENT = "fhir_bundle"
# what a practice was sent: (audit action, its details' "document"), each recording its head
_SENT = (("print_reports", REPORT_DOCUMENT), ("export_fhir", EXPORT_DOCUMENT))


@dataclass(frozen=True)
class Evidence:
    data: dict[str, Any]
    head: SignedTreeHead
    numbers: dict[str, int | None]  # {"first", "last"}: the running numbers covered
    proofs: dict[int, list[bytes]] = field(default_factory=dict)  # by seq: the `also` asked for
    tree: merkle.Proofs | None = None  # its new subtree roots are kept for the next report

    def to_bytes(self) -> bytes:
        """Compact UTF-8 JSON, as fhir.encode writes it."""
        return orjson.dumps(self.data)


def _entry(row: tuple[object, ...]) -> dict[str, Any]:
    return {"seq": row[0], "entry": audit.canonical_text(row)}


def previous_report(conn: Connection, practice_id: int) -> dict[str, Any] | None:
    """What the last GP access report or FHIR export with evidence made for this practice
    recorded: its signed tree head and the running numbers it covered."""
    for sent in practice_log.sent_newest_first(conn, practice_id):
        details = orjson.loads(sent.details)
        if (sent.action, details.get("document")) in _SENT and "tree_head" in details:
            return details
    return None


def access_report_evidence(
    conn: Connection,
    key: signing.DocumentKey,
    practice: Practice,
    period: tuple[str, str],
    span: tuple[datetime, datetime],
    totals: dict[str, int],
    at: datetime,
    rows: Sequence[tuple[object, ...]],
    also: Iterable[int] = (),
) -> Evidence:
    """The evidence for a report on `practice` covering days `period`, instants `span`: `rows`
    are its entries of the period (`practice_log.entries`, read once for the evidence and the
    Bundle). With inclusion proofs, in the same signed tree, of the entries `also` names
    (`Evidence.proofs`)."""
    also = sorted(set(also))
    ends = [practice_log.number_of(row) for row in rows[:1] + rows[-1:]]  # in number order
    previous = previous_report(conn, practice.id)
    earlier = SignedTreeHead.from_json(previous["tree_head"]) if previous else None
    restores = practice_log.restores_since(conn, earlier.head.at if earlier else span[0])
    proofs = merkle.prove_log(
        conn,
        entries=[*(_seq(r) for r in [*rows, *restores]), *also],
        consistency_from=[earlier.head.size] if earlier and _extends(earlier, conn) else [],
    )
    home_id = str(conn.execute("SELECT home_id FROM vault_identity").fetchone()[0])
    head = signing.sign_proofs(SigningKey(key.private_key), home_id, proofs, at)
    data: dict[str, Any] = {
        "format": EVIDENCE_FORMAT,
        "document": REPORT_DOCUMENT,
        "home": {
            "name": str(conn.execute("SELECT name FROM home WHERE id = 1").fetchone()[0]),
            "home_id": home_id,
            "certificate": key.certificate.public_bytes(serialization.Encoding.PEM).decode(),
            "fingerprint": SigningKey(key.private_key).fingerprint,
        },
        "practice": {"ods_code": practice.ods_code, "name": practice.name},
        "period": {"first_day": period[0], "last_day": period[1]},
        "tree_head": head.to_json(),
        "entries": [_entry(r) for r in rows],
        "subtrees": [[*r, h.hex()] for r, h in sorted(proofs.subtrees.items())],
        "numbers": {"first": min(ends, default=None), "last": max(ends, default=None)},
        "totals": totals,
        "previous": None,
        "restores": [_entry(r) for r in restores],
    }
    if earlier is not None and previous is not None:
        data["previous"] = {
            "tree_head": previous["tree_head"],
            "proof": [h.hex() for h in proofs.consistency.get(earlier.head.size, [])],
            "numbers": previous.get("numbers", {"first": None, "last": None}),
        }
    also_proofs = {seq: proofs.for_entry(seq) for seq in also}
    return Evidence(data, head, data["numbers"], also_proofs, proofs)


def _extends(earlier: SignedTreeHead, conn: Connection) -> bool:
    """A log at least as long as the previous report's: a consistency proof exists. Shorter (a
    restore of an older backup) has none; the reader is told of the restore instead."""
    return 0 < earlier.head.size <= merkle.log_size(conn)


def _seq(row: tuple[object, ...]) -> int:
    return int(str(row[0]))
