"""How long `verify` takes over a group-scale audit log, split into its two parts (the file
checks and the hash chain), against merely reading the same audit rows.

    python benchmarks/verify_audit.py [--db GROUP.db]

The 1,000,000-session demo writes about 3.1 million audit entries; the figures are also given
per million entries. Goal: the chain of 1,000,000 entries checked in <= 5 s.
"""

import argparse
import tempfile
import time
from pathlib import Path

from group_db import add_arguments, open_group, verdict

from carehome_share.store import audit
from carehome_share.store.audit import VerifyResult
from carehome_share.store.vault import Connection


def read_only(conn: Connection) -> int:
    """The floor: fetch every row verify fetches, and do nothing with them."""
    cursor = conn.execute("SELECT * FROM audit_log ORDER BY seq")
    count = 0
    while rows := cursor.fetchmany(50_000):
        count += len(rows)
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, residents=10_000, sessions=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carehome-bench-") as folder:
        vault = open_group(args, Path(folder))
        try:
            timed = {}
            for name, step in (
                ("read the rows only", lambda: read_only(vault.conn)),
                ("chain check", lambda: audit.check_chain(vault.conn, VerifyResult())),
                ("file checks", lambda: audit.check_file(vault.conn, VerifyResult())),
            ):
                started = time.perf_counter()
                step()
                timed[name] = time.perf_counter() - started
            started = time.perf_counter()
            result = audit.verify(vault)
            timed["verify (all of it)"] = time.perf_counter() - started
        finally:
            vault.close()
    per_million = 1_000_000 / max(result.entries, 1)
    print(f"audit log of {result.entries:,} entries: {'intact' if result.ok else result.problems}")
    for name, seconds in timed.items():
        print(
            f"  {name:20} {seconds:6.1f} s   per 1,000,000 entries {seconds * per_million:5.2f} s"
        )
    chain = timed["chain check"] * per_million
    print(f"  chain check of 1,000,000 entries: {chain:.2f} s {verdict(chain, 5)}")


if __name__ == "__main__":
    main()
