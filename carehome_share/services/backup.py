"""Backing up and restoring the database: a manager's actions, recorded in the audit trail.

Restoring cannot log in to the current file (it may be the broken thing), so it logs in to the
*backup*: a manager's password through the backup's key file, or the recovery code. The
"restored" entry goes into the restored file's own chain, naming the backup's head and the head
and entry count of the file set aside, so the next GP access report can say a restore happened.
"""

import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from carehome_share.domain.errors import PermissionDenied
from carehome_share.domain.model import Role
from carehome_share.services.context import Context, Tx, actor_of, perform, read, utc_now
from carehome_share.store import audit, repo
from carehome_share.store import backup as store_backup
from carehome_share.store.audit import Actor
from carehome_share.store.vault import Connection

RECOVERY = Actor("-", "holder of the recovery code", "-")


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


def restore(
    backup_file: Path | str,
    db_path: Path | str,
    *,
    username: str | None = None,
    password: str | None = None,
    recovery_code: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    workstation: str | None = None,
) -> tuple[store_backup.Restored, store_backup.Replaced]:
    """Put a checked backup of this home in place of the database.

    Allowed to an active manager *of the backup* (their password opens its key file) or to the
    holder of the recovery code; the restore is recorded in the restored file's audit chain."""

    def admit(
        conn: Connection, backup: store_backup.Checked, replaced: store_backup.Replaced
    ) -> None:
        actor = RECOVERY
        if not recovery_code:
            staff = repo.find_staff(conn, (username or "").strip().lower())
            if staff is None or not staff.active or Role.MANAGER not in staff.roles:
                raise PermissionDenied(
                    "restore", ["restoring a backup is for a registered manager"]
                )
            actor = actor_of(staff, Role.MANAGER)
        replaced_head = (
            f"{replaced.head_seq}:{replaced.head_hash}"
            if replaced.head_seq is not None
            else "unreadable with the backup's key (damaged, or its key was rotated since)"
        )
        conn.execute("BEGIN IMMEDIATE")
        audit.append(
            conn,
            at=clock(),
            actor=actor,
            workstation=workstation or socket.gethostname(),
            action="restore",
            outcome="allowed",
            details={
                "backup": Path(backup_file).name,
                "backup_head": f"{backup.head_seq}:{backup.head_hash}",
                "backup_entries": backup.entries,
                "replaced_head": replaced_head,
                "replaced_entries": replaced.entries,
                "by": "recovery code" if recovery_code else "manager's password",
            },
        )
        conn.execute("COMMIT")

    return store_backup.restore(
        backup_file,
        db_path,
        admit,
        username=username,
        password=password,
        recovery_code=recovery_code,
    )
