"""Backing up the database: a manager's action, recorded in the audit trail.

Restoring is not here: it happens before anyone can log in (the database may be the broken
thing), so it is `carehome_share.store.backup.restore`, unlocked with the key, passphrase or
recovery code, and the command line's `restore`.
"""

from pathlib import Path

from carehome_share.services.context import Context, Tx, perform, read
from carehome_share.store import backup as store_backup


def back_up(ctx: Context, target: Path | str) -> store_backup.Checked:
    """Write a checked, encrypted copy of the database to `target` (managers only).

    The permission is checked (a refusal audited) before any copying; the copy is taken while
    others go on working; then an audit entry records where it went and the chain head it holds.
    """
    checked = read(ctx, "back_up", lambda tx: store_backup.back_up(ctx.vault, target))

    def record(tx: Tx) -> store_backup.Checked:
        tx.details.update(file=str(checked.path), entries=checked.entries, head=checked.head_hash)
        return checked

    return perform(ctx, "back_up", record)
