"""What the group-scale benchmarks share: a demo database at care-group size (generated, or an
existing one reused with --db, opened as its manager with the demo password), a plaintext copy
opened through the same Vault code on the standard sqlite3 module, and the figures printed the
same way.

Generating 10,000 residents and 1,000,000 sessions takes about a minute and 2 GB, so make it once
and pass it to each benchmark:

    python benchmarks/demo_scale.py --keep /tmp/group.db
    python benchmarks/access_decision.py --db /tmp/group.db
"""

import argparse
import sqlite3
import statistics
import time
from pathlib import Path

from env_keyring import no_keychain

from carehome_share import demo
from carehome_share.services.context import Context
from carehome_share.store import vault as vault_module
from carehome_share.store.schema import SCHEMA_VERSION
from carehome_share.store.vault import Vault


def add_arguments(parser: argparse.ArgumentParser, residents: int, sessions: int) -> None:
    parser.add_argument("--db", type=Path, help="an existing demo database (it gets written to)")
    parser.add_argument("--residents", type=int, default=residents, help="when generating")
    parser.add_argument("--sessions", type=int, default=sessions, help="when generating")


def open_group(args: argparse.Namespace, folder: Path) -> Vault:
    """The demo database named by --db, or a new one generated in `folder`."""
    if args.db:
        return demo.open_demo(args.db)
    with no_keychain():  # a throwaway file: its device secret stays out of the real keychain
        vault, _code = Vault.create(folder / "group.db", purpose="demo")
        started = time.perf_counter()
        summary = demo.generate(
            Context(vault, workstation="benchmark"),
            residents=args.residents,
            sessions=args.sessions,
            seed=1,
        )
    print(f"generated in {time.perf_counter() - started:.1f} s: {summary}", flush=True)
    return vault


class PlainVault(Vault):
    """The product's Vault code over an unencrypted file and the standard sqlite3 module, with
    the same pragmas: the comparison the encrypted figures are measured against. Benchmark only.

    It keeps the encrypted file's key in memory, as a Vault does: the key slots copied with the
    rows still seal that key, so the demo password logs in to the copy the same way."""

    @classmethod
    def copy_of(cls, vault: Vault, path: Path) -> "PlainVault":
        # sqlcipher_export into an attachment with an empty key writes plaintext: synthetic data
        vault.conn.execute("ATTACH DATABASE ? AS plain KEY ''", (str(path),))
        vault.conn.execute("SELECT sqlcipher_export('plain')").fetchall()
        vault.conn.execute(f"PRAGMA plain.user_version = {SCHEMA_VERSION}")
        vault.conn.execute("DETACH DATABASE plain")
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        vault_module._configure(conn)  # type: ignore[arg-type]
        return cls(conn, path, vault._key, "key")  # type: ignore[arg-type]


def ms(seconds: list[float]) -> tuple[float, float]:
    """Median and 99th percentile, in milliseconds."""
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def verdict(figure: float, goal: float) -> str:
    return f"(goal <= {goal:g}: {'met' if figure <= goal else 'NOT met'})"
