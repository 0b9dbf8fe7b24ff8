"""How long a nurse waits for an access decision, audit entry written and synced (FULL), on the
encrypted database against the same code on a plaintext copy of it (standard sqlite3).

    python benchmarks/access_decision.py [--db GROUP.db] [--calls 2000]

Each call is services.access.open_access_session for a consented current resident, then
close_access_session (timed apart). The two databases take turns in rounds of 100 calls, so both
see the same machine load. Goals: median <= 5 ms; encrypted / plain <= 1.25.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from group_db import PlainVault, add_arguments, ms, open_group, verdict

from carehome_share import demo
from carehome_share.domain.model import Purpose, Role
from carehome_share.domain.rules import decide
from carehome_share.services import access, auth
from carehome_share.services.context import Context
from carehome_share.store import repo
from carehome_share.store.vault import Vault

NURSE = "nurse.amira"
ROUND = 100
WHY = "benchmark: repeated access decision"


def allowed_access(ctx: Context) -> tuple[int, Purpose]:
    """A current resident the logged-in nurse may look up now, and a purpose that is allowed."""
    assert ctx.login is not None
    conn, now = ctx.conn, ctx.now()
    rows = conn.execute("SELECT resident_id FROM stay WHERE discharged_at IS NULL ORDER BY id")
    for (resident_id,) in rows.fetchall():
        record = repo.resident_record(conn, resident_id)
        assert record is not None
        for purpose in Purpose:
            if decide(ctx.login.staff, Role.NURSE, record, purpose, WHY, now).allowed:
                return resident_id, purpose
    raise SystemExit("no current resident with consent and an agreement in force")


def _nurse(vault: Vault) -> Context:
    ctx = Context(vault, workstation="benchmark")
    auth.log_in(ctx, NURSE, demo.DEMO_PASSWORD, Role.NURSE)
    return ctx


def run(vaults: dict[str, Vault], calls: int) -> dict[str, tuple[list[float], list[float]]]:
    """(open times, close times) for each database, in seconds."""
    contexts = {name: _nurse(v) for name, v in vaults.items()}
    targets = {name: allowed_access(ctx) for name, ctx in contexts.items()}
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in vaults}
    for done in range(0, calls, ROUND):
        for name, ctx in contexts.items():
            resident_id, purpose = targets[name]
            opened, closed = times[name]
            for _ in range(min(ROUND, calls - done)):
                started = time.perf_counter()
                session = access.open_access_session(ctx, resident_id, purpose, WHY)
                middle = time.perf_counter()
                access.close_access_session(ctx, session.id)
                opened.append(middle - started)
                closed.append(time.perf_counter() - middle)
    return times


def sync_cost(folder: Path, times: int = 200) -> float:
    """Median ms for this disk to write and fsync one page: what FULL sync waits for."""
    spent = []
    with open(folder / "sync-probe", "wb") as f:
        for _ in range(times):
            started = time.perf_counter()
            f.write(os.urandom(4096))
            os.fsync(f.fileno())
            spent.append(time.perf_counter() - started)
    return ms(spent)[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, residents=10_000, sessions=1_000_000)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carehome-bench-") as folder:
        encrypted = open_group(args, Path(folder))
        started = time.perf_counter()
        plain = PlainVault.copy_of(encrypted, Path(folder) / "plain.db")
        print(f"plaintext copy made in {time.perf_counter() - started:.1f} s", flush=True)
        try:
            times = run({"encrypted": encrypted, "plain": plain}, args.calls)
            fsync = sync_cost(Path(folder))
        finally:
            encrypted.close()
            plain.close()
    (e_open, e_p99), (p_open, p_p99) = ms(times["encrypted"][0]), ms(times["plain"][0])
    print(
        f"{args.calls} access decisions each (synchronous = FULL, WAL); "
        f"one page write + fsync on this disk: {fsync:.3f} ms"
    )
    for name, (opened, closed) in times.items():
        (o50, o99), (c50, c99) = ms(opened), ms(closed)
        print(
            f"  {name:9}  open: median {o50:5.2f} ms, p99 {o99:5.2f} ms;  "
            f"close: median {c50:5.2f} ms, p99 {c99:5.2f} ms"
        )
    print(f"  encrypted open median {e_open:.2f} ms {verdict(e_open, 5)}")
    ratio = e_open / p_open
    print(
        f"  encrypted / plain: median {ratio:.2f} {verdict(ratio, 1.25)}, p99 {e_p99 / p_p99:.2f}"
    )


if __name__ == "__main__":
    main()
