"""How quickly a resident is found among 10,000, and one resident's history with 10,000 sessions
is read, on the encrypted database against the same code on a plaintext copy of it.

    python benchmarks/search_history.py [--db GROUP.db] [--repeats 30]

Search: services.residents.find_residents with typical queries (a surname fragment, a room, an
NHS number prefix, nothing typed). History: what the manager sees for a resident: the resident
history read-model (sessions with sections and consent, refusals, GP calls, other events;
services.reports.resident_history) and the resident's audit entries (services.audit). The busy
resident's 10,000 sessions are added with store.bulk first, each opened and closed in the audit log.
Goals: search <= 30 ms; history <= 50 ms (medians).
"""

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from group_db import PlainVault, add_arguments, ms, open_group, verdict

from carehome_share import demo
from carehome_share.domain.model import Purpose, Role
from carehome_share.services import audit, auth, reports, residents
from carehome_share.services.context import Context, actor_of
from carehome_share.store import bulk, repo
from carehome_share.store.audit import format_time
from carehome_share.store.vault import Vault

HISTORY_SESSIONS = 10_000


def add_busy_resident(vault: Vault, sessions: int) -> int:
    """Give one resident `sessions` more access sessions, audited, after the log's last entry."""
    conn = vault.conn
    resident_id, practice_id = conn.execute(  # the quietest, so that reruns do not add up
        "SELECT id, practice_id FROM resident r ORDER BY "
        "(SELECT count(*) FROM access_session a WHERE a.resident_id = r.id), id LIMIT 1"
    ).fetchone()
    nurse = repo.find_staff(conn, "nurse.amira")
    assert nurse is not None and nurse.nmc_pin
    actor = actor_of(nurse, Role.NURSE)
    last = conn.execute("SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()[0]
    start = datetime.fromisoformat(last)
    with vault.transaction():
        first = bulk.next_id(conn, "access_session")
        rows, events = [], []
        for n in range(sessions):
            opened = format_time(start + timedelta(seconds=2 * n))
            closed = format_time(start + timedelta(seconds=2 * n + 1))
            session_id = first + n
            rows.append(
                bulk.SessionRow(
                    session_id,
                    resident_id,
                    nurse.id,
                    practice_id,
                    nurse.nmc_pin,
                    Purpose.MEDICATION_CHECK.value,
                    "benchmark",
                    opened,
                    closed,
                    "closed",
                    None,
                    None,
                    "benchmark",
                )
            )
            for at, action in ((opened, "open_access_session"), (closed, "close_access_session")):
                events.append(
                    bulk.AuditEvent(
                        at,
                        actor,
                        "benchmark",
                        action,
                        "allowed",
                        resident_id,
                        details={"session_id": session_id},
                    )
                )
        bulk.insert_sessions(conn, rows)
        bulk.append_audit(conn, events)
    return resident_id


def _times(repeats: int, call: Callable[[], object]) -> tuple[float, float]:
    call()  # the first read warms the page cache, as the screen before it would have
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return ms(times)


def measure(vault: Vault, resident_id: int, repeats: int) -> dict[str, tuple[float, float]]:
    ctx = Context(vault, workstation="benchmark")
    auth.log_in(ctx, "manager", demo.DEMO_PASSWORD, Role.MANAGER)
    sample = repo.get_resident(vault.conn, resident_id + 1) or repo.get_resident(
        vault.conn, resident_id
    )
    assert sample is not None
    queries = {
        f"surname '{sample.family_name[:4]}'": sample.family_name[:4],
        f"room '{sample.room}'": sample.room,
        f"NHS '{sample.nhs_number[:4]}'": sample.nhs_number[:4],
        "nothing typed": "",
    }
    figures = {
        f"search {label}": _times(repeats, lambda q=q: residents.find_residents(ctx, q))
        for label, q in queries.items()
    }

    def history() -> None:
        def read_all(h: reports.ResidentHistory) -> None:
            for lines in (h.sessions, h.refusals, h.contacts, h.events):
                list(lines)

        reports.resident_history(ctx, resident_id, read_all)

    figures["history read-model"] = _times(repeats, history)
    figures["its audit entries (all)"] = _times(
        repeats, lambda: audit.audit_entries(ctx, resident_id)
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, residents=10_000, sessions=1_000_000)
    parser.add_argument("--history-sessions", type=int, default=HISTORY_SESSIONS)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carehome-bench-") as folder:
        encrypted = open_group(args, Path(folder))
        resident_id = add_busy_resident(encrypted, args.history_sessions)
        plain = PlainVault.copy_of(encrypted, Path(folder) / "plain.db")
        try:
            found = {
                name: measure(v, resident_id, args.repeats)
                for name, v in (("encrypted", encrypted), ("plain", plain))
            }
        finally:
            encrypted.close()
            plain.close()
    residents_count = args.residents if not args.db else "all"
    print(
        f"medians (p99) over {args.repeats} repeats; {residents_count} residents, "
        f"busy resident with {args.history_sessions:,} sessions:"
    )
    for label, (median, p99) in found["encrypted"].items():
        plain_median = found["plain"][label][0]
        goal = 30 if label.startswith("search") else 50
        print(
            f"  {label:28} {median:7.2f} ms ({p99:6.2f})  plain {plain_median:7.2f} ms  "
            f"ratio {median / plain_median:4.2f} {verdict(median, goal)}"
        )


if __name__ == "__main__":
    main()
