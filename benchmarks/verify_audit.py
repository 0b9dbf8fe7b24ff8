"""How long `verify` takes over a group-scale audit log, split into its parts (the file checks,
the hash chain, and the record cross-check: every record row and the schema against the log),
against merely reading the same audit rows, and against verify as it was before the record
cross-check (the file checks beside the chain check alone).

    python benchmarks/verify_audit.py [--db GROUP.db]

The 1,000,000-session demo writes about 3.1 million audit entries and 3.3 million record rows;
the figures are also given per million entries. Goals: the chain of 1,000,000 entries checked in
<= 5 s; verify with the record cross-check <= 2x verify without it.
"""

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from group_db import add_arguments, open_group, verdict

from carehome_share.store import audit
from carehome_share.store.audit import VerifyResult
from carehome_share.store.binding import RecordCheck
from carehome_share.store.vault import Connection, Vault


def read_only(conn: Connection) -> int:
    """The floor: fetch every row verify fetches, and do nothing with them."""
    cursor = conn.execute("SELECT * FROM audit_log ORDER BY seq")
    count = 0
    while rows := cursor.fetchmany(50_000):
        count += len(rows)
    return count


def chain_and_records(vault: Vault) -> VerifyResult:
    """The chain check feeding the record cross-check, then the records, in one snapshot."""
    result = VerifyResult()
    with vault.snapshot() as conn:
        records = RecordCheck()
        audit.check_chain(conn, result, records)
        audit.check_records(conn, result, records)
    return result


def verify_without_records(vault: Vault) -> VerifyResult:
    """verify as it was: the file checks on a second connection beside the chain check."""
    result, chain = VerifyResult(), VerifyResult()
    with closing(vault.another()) as second, ThreadPoolExecutor(max_workers=1) as pool:
        checked = pool.submit(audit.check_file, second.conn, result)
        audit.check_chain(vault.conn, chain)
        checked.result()
    return chain


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, residents=10_000, sessions=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carehome-bench-") as folder:
        vault = open_group(args, Path(folder))
        try:
            timed = {}
            records = VerifyResult()
            for name, step in (
                ("read the rows only", lambda: read_only(vault.conn)),
                ("chain check", lambda: audit.check_chain(vault.conn, VerifyResult())),
                (
                    "chain + records",
                    lambda: records.__dict__.update(chain_and_records(vault).__dict__),
                ),
                ("file checks", lambda: audit.check_file(vault.conn, VerifyResult())),
                ("verify, no records", lambda: verify_without_records(vault)),
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
    state = "intact" if result.ok else result.problems
    print(f"audit log of {result.entries:,} entries, {result.rows:,} record rows: {state}")
    for name, seconds in timed.items():
        print(
            f"  {name:20} {seconds:6.1f} s   per 1,000,000 entries {seconds * per_million:5.2f} s"
        )
    chain = timed["chain check"] * per_million
    print(f"  chain check of 1,000,000 entries: {chain:.2f} s {verdict(chain, 5)}")
    cross = timed["chain + records"] - timed["chain check"]
    print(
        f"  record cross-check: {cross:.1f} s for {records.rows:,} rows "
        f"({cross / max(records.rows, 1) * 1e6:.1f} us a row, with the log's bindings read)"
    )
    ratio = timed["verify (all of it)"] / timed["verify, no records"]
    print(f"  verify with / without the record cross-check: {ratio:.2f} {verdict(ratio, 2)}")


if __name__ == "__main__":
    main()
