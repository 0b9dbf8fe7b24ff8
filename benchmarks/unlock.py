"""How long unlocking the database takes with the raw key from the keychain, against a
passphrase (SQLCipher's key derivation) and against opening a plaintext SQLite file.

    python benchmarks/unlock.py [--opens 50]

Vault.open as the app calls it, on a set-up home; the keychain is an in-memory keyring backend.
Goal: median <= 100 ms with the raw key.
"""

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keyring
from env_keyring import MemoryKeyring
from group_db import ms, verdict

from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store.vault import Vault

PASSPHRASE = "benchmark passphrase"


def _home(vault: Vault) -> None:
    auth.set_up_home(Context(vault), "Rose Court Care Home", "manager", "Mary", "manager pass 1")
    vault.close()


def _median_open(opens: int, open_once: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(opens):
        started = time.perf_counter()
        opened = open_once()
        times.append(time.perf_counter() - started)
        opened.close()  # type: ignore[attr-defined]
    return ms(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=50)
    args = parser.parse_args(argv)
    keyring.set_keyring(MemoryKeyring())
    with tempfile.TemporaryDirectory(prefix="carehome-bench-") as folder:
        keyed, passphrased, plain = (Path(folder) / n for n in ("key.db", "pass.db", "plain.db"))
        _home(Vault.create(keyed)[0])
        _home(Vault.create(passphrased, PASSPHRASE)[0])
        sqlite3.connect(plain).executescript("CREATE TABLE t(x); INSERT INTO t VALUES (1);")

        def open_plain() -> sqlite3.Connection:
            conn = sqlite3.connect(plain)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn

        raw = _median_open(args.opens, lambda: Vault.open(keyed))
        slow = _median_open(max(3, args.opens // 10), lambda: Vault.open(passphrased, PASSPHRASE))
        bare = _median_open(args.opens, open_plain)
    print(f"unlock, median (p99) of {args.opens} opens:")
    print(f"  raw key from the keychain:  {raw[0]:7.2f} ms ({raw[1]:.2f}) {verdict(raw[0], 100)}")
    print(f"  passphrase (PBKDF2, 256k):  {slow[0]:7.2f} ms ({slow[1]:.2f})")
    print(f"  plain sqlite3 open + read:  {bare[0]:7.2f} ms ({bare[1]:.2f})")


if __name__ == "__main__":
    main()
