"""The evidence a GP access report carries (format: domain/evidence.py): every audit entry about
the practice in the period with its inclusion proof, the signed tree head of the whole log, and
the consistency proof from the head printed on the previous report sent to the same practice.

Read inside the report's snapshot, so the head, the entries and the proofs are of one log.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization

from carehome_share.domain.evidence import EVIDENCE_FORMAT
from carehome_share.domain.model import Practice
from carehome_share.store import audit, merkle, practice_log, signing
from carehome_share.store.signing import SignedTreeHead, SigningKey
from carehome_share.store.vault import Connection

REPORT_DOCUMENT = "gp_access_report"


@dataclass(frozen=True)
class Evidence:
    data: dict[str, Any]
    head: SignedTreeHead
    numbers: dict[str, int | None]  # {"first", "last"} running numbers covered

    def to_bytes(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, indent=1).encode("utf-8")


def _entry(row: tuple[object, ...], proof: list[bytes]) -> dict[str, Any]:
    return {
        "seq": row[0],
        "entry": audit.canonical_bytes(row).decode("utf-8"),
        "proof": [h.hex() for h in proof],
    }


def previous_report(conn: Connection, practice_id: int) -> dict[str, Any] | None:
    """What the last GP access report made for this practice recorded: its signed tree head
    and the running numbers it covered."""
    for details in practice_log.details_newest_first(conn, practice_id, "print_reports"):
        if details.get("document") == REPORT_DOCUMENT and "tree_head" in details:
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
) -> Evidence:
    """The evidence for a report on `practice` covering days `period`, instants `span`."""
    rows = practice_log.entries(conn, practice.id, *span)
    numbers = [practice_log.number_of(row) for row in rows]
    previous = previous_report(conn, practice.id)
    earlier = SignedTreeHead.from_json(previous["tree_head"]) if previous else None
    restores = practice_log.restores_since(conn, earlier.head.at if earlier else span[0])
    proofs = merkle.prove_log(
        conn,
        entries=[_seq(r) for r in [*rows, *restores]],
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
        "entries": [_entry(r, proofs.for_entry(_seq(r))) for r in rows],
        "numbers": {"first": min(numbers, default=None), "last": max(numbers, default=None)},
        "totals": totals,
        "previous": None,
        "restores": [_entry(r, proofs.for_entry(_seq(r))) for r in restores],
    }
    if earlier is not None and previous is not None:
        data["previous"] = {
            "tree_head": previous["tree_head"],
            "proof": [h.hex() for h in proofs.consistency.get(earlier.head.size, [])],
            "numbers": previous.get("numbers", {"first": None, "last": None}),
        }
    return Evidence(data, head, data["numbers"])


def _extends(earlier: SignedTreeHead, conn: Connection) -> bool:
    """A log at least as long as the previous report's: a consistency proof exists. Shorter (a
    restore of an older backup) has none; the reader is told of the restore instead."""
    return 0 < earlier.head.size <= merkle.log_size(conn)


def _seq(row: tuple[object, ...]) -> int:
    return int(str(row[0]))
