"""How long unlocking the database takes: SQLCipher keyed with the raw key, against opening it
through a member of staff's key slot (password + device secret), with the recovery code, and
against opening a plaintext SQLite file.

    python benchmarks/unlock.py [--opens 50]

On a set-up home; the keychain is an in-memory keyring backend. The raw key is what every
unlock ends in (`Vault.another`: SQLCipher keyed with `x'...'`, first read, pragmas); a key slot
adds argon2id at the product's cost (`Vault.open_as`, see benchmarks/login.py); the recovery code
adds enrolling this PC (keychain entry, key file rewritten). The app no longer has passphrases.
Goals: median <= 100 ms with the raw key; <= 500 ms through a key slot (the whole login).
"""

import argparse
import os
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

USERNAME, PASSWORD = "manager", "manager password 1"


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
    slow_opens = max(3, args.opens // 5)
    keyring.set_keyring(MemoryKeyring())
    with tempfile.TemporaryDirectory(prefix="carehome-bench-") as folder:
        db, plain = Path(folder) / "carehome.db", Path(folder) / "plain.db"
        vault, code = Vault.create(db)
        auth.set_up_home(Context(vault), "Rose Court Care Home", USERNAME, "Mary", PASSWORD)
        sqlite3.connect(plain).executescript("CREATE TABLE t(x); INSERT INTO t VALUES (1);")

        def open_plain() -> sqlite3.Connection:
            conn = sqlite3.connect(plain)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn

        raw = _median_open(args.opens, vault.another)
        vault.close()
        slot = _median_open(slow_opens, lambda: Vault.open_as(db, USERNAME, PASSWORD))
        code_open = _median_open(slow_opens, lambda: Vault.open_with_recovery_code(db, code))
        bare = _median_open(args.opens, open_plain)
    print(f"unlock, median (p99); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores:")
    rows = [
        (f"raw key, SQLCipher only ({args.opens} opens)", raw, verdict(raw[0], 100)),
        (f"key slot, Vault.open_as ({slow_opens} opens)", slot, verdict(slot[0], 500)),
        (f"recovery code + enrolling ({slow_opens} opens)", code_open, ""),
        (f"plain sqlite3 open + read ({args.opens} opens)", bare, ""),
    ]
    width = max(len(label) for label, _figures, _goal in rows) + 1
    for label, (median, p99), goal in rows:
        print(f"  {label + ':':<{width}} {median:8.2f} ms ({p99:.2f}) {goal}".rstrip())


if __name__ == "__main__":
    main()
