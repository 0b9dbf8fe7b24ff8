"""Reading and checking the audit trail."""

import re

from carehome_share.domain.errors import ValidationError
from carehome_share.domain.validation import MAX_ROW_ID, row_id
from carehome_share.services.context import Context, Tx, read
from carehome_share.store import audit
from carehome_share.store.audit import AuditEntry, VerifyResult


def parse_head(value: str) -> tuple[int, str]:
    """A chain head as printed on a report: SEQ:HASH (spaces in the hash are ignored)."""
    match = re.fullmatch(r"\s*(\d+)\s*:\s*([0-9a-fA-F ]{64,80})\s*", value or "")
    digest = match.group(2).replace(" ", "") if match else ""
    seq = row_id(int(match.group(1))) if match else None
    if seq is None or len(digest) != 64:
        raise ValidationError(
            "head",
            f"SEQ:HASH as printed on a report, e.g. 1234:9f86d08..., SEQ from 1 to {MAX_ROW_ID}",
        )
    return seq, digest.lower()


def verify(ctx: Context, head: str | None = None) -> VerifyResult:
    """The file, the audit chain, every record row against the entry that last wrote it, and
    the schema against the one the chain recorded; with `head` (SEQ:HASH from a printed
    report), also that the log still holds that entry unchanged. Needs only the unlocked
    database, not a login: it shows no personal data (a problem names a table and row number)."""
    return audit.verify(ctx.vault, parse_head(head) if head else None)


def audit_entries(
    ctx: Context, resident_id: int | None = None, limit: int = 500
) -> list[AuditEntry]:
    def work(tx: Tx) -> list[AuditEntry]:
        if resident_id is None:
            return audit.entries(tx.conn, last=limit)
        return audit.entries(tx.conn, resident_id=resident_id)

    return read(ctx, "view_audit", work)
