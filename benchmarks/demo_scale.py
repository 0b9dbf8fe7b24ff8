"""How fast the demo generator fills a database at care-group scale.

    python benchmarks/demo_scale.py [--residents 10000] [--sessions 1000000] [--seed 1]
                                    [--keep GROUP.db]

Creates a throwaway demo database in a temporary folder, as on a PC without a keychain (nothing
is written to the real one, and the demo password alone opens it), generates the demo data into
it, checks the audit chain, and prints the timings. With --keep the database is made there
instead and kept, for the other benchmarks' --db.
"""

import argparse
import tempfile
import time
from pathlib import Path

from env_keyring import no_keychain

from carehome_share import demo
from carehome_share.services.context import Context
from carehome_share.store import audit
from carehome_share.store.vault import Vault


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--no-verify", action="store_true", help="skip the audit chain check")
    parser.add_argument("--keep", type=Path, help="make the database here and keep it")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="carehome-demo-") as folder, no_keychain():
        path = args.keep or Path(folder) / "demo.db"
        vault, _code = Vault.create(path, purpose="demo")
        try:
            started = time.perf_counter()
            summary = demo.generate(
                Context(vault, workstation="benchmark"),
                residents=args.residents,
                sessions=args.sessions,
                seed=args.seed,
                years=args.years,
            )
            elapsed = time.perf_counter() - started
            rows = (
                summary.sessions
                + summary.sections_viewed
                + summary.refusals
                + summary.contacts
                + summary.audit_entries
            )
            print(summary)
            print(
                f"generated in {elapsed:.1f} s: {summary.sessions / elapsed:,.0f} sessions/s, "
                f"{rows / elapsed:,.0f} rows/s ({rows:,} rows in sessions, sections viewed, "
                "refusals, GP calls and audit entries)"
            )
            size = sum(p.stat().st_size for p in path.parent.glob(f"{path.name}*"))
            print(f"database files: {size / 2**20:,.0f} MiB")
            if not args.no_verify:
                started = time.perf_counter()
                result = audit.verify(vault)
                status = "intact" if result.ok else "; ".join(result.problems)
                print(
                    f"audit chain of {result.entries:,} entries {status} "
                    f"(verified in {time.perf_counter() - started:.1f} s)"
                )
        finally:
            vault.close()


if __name__ == "__main__":
    main()
